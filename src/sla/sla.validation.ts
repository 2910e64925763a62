import { Value } from '@sinclair/typebox/value';
import type { Severity } from '../../domain/events/common.schema.ts';
import type { SlaCalendarData, SlaTargetKind } from '../../domain/events/sla.events.ts';
import { type BusinessCalendar, calendarProblem, dueAt, MAX_SEARCH_DAYS } from '../../domain/sla/businessHours.ts';
import type { MeasuringSla } from '../../domain/sla/sla.matching.ts';
import { type IncidentSLASpec, IncidentSLASpecSchema } from '../adapters/kubernetes/api/incidentSla.kind.ts';
import { durationSeconds } from '../notifications/policy.validation.ts';

/** Why an IncidentSLA cannot be used: the first field at fault, as `kubectl explain` names it. */
export interface SlaProblem {
  readonly field: string;
  readonly message: string;
}

export const DEFAULT_WARNING_AT = 0.8;

/** A reference instant for checking that a target can be reached at all: any Monday will do. */
const PROBE = '2026-01-05T00:00:00.000Z';

/**
 * Checks what the API server's schema cannot (an unknown zone, an empty range, a date that is not one) or what an
 * older installed CRD may have let through, and turns the spec into what the SLA clocks measure with.
 */
export function validateSla(
  meta: {
    readonly namespace: string;
    readonly name: string;
    readonly generation: number;
    readonly createdAt: string;
  },
  spec: unknown,
  operatorNamespace: string,
): { ok: true; sla: MeasuringSla } | { ok: false; problem: SlaProblem } {
  const fail = (field: string, message: string) => ({ ok: false as const, problem: { field, message } });
  if (!Value.Check(IncidentSLASpecSchema, spec)) {
    const first = Value.Errors(IncidentSLASpecSchema, spec).First();
    const path = (first?.path ?? '').split('/').filter(Boolean);
    const field = `spec${path.map((p) => (/^\d+$/.test(p) ? `[${p}]` : `.${p}`)).join('')}`;
    return fail(field, first?.message ?? 'is invalid');
  }
  const s = spec as IncidentSLASpec;
  let calendar: SlaCalendarData | undefined;
  if (s.businessHours !== undefined) {
    calendar = {
      timeZone: s.businessHours.timeZone,
      ranges: s.businessHours.ranges.map((r) => ({ days: [...r.days], start: r.start, end: r.end })),
      holidays: [...(s.holidays ?? [])],
    };
    const problem = calendarProblem(calendar as BusinessCalendar);
    if (problem !== undefined) {
      const field = problem.field.startsWith('holidays')
        ? `spec.${problem.field}`
        : `spec.businessHours.${problem.field}`;
      return fail(field, problem.message);
    }
  } else if (s.holidays !== undefined && s.holidays.length > 0) {
    return fail('spec.holidays', 'holidays need businessHours: their dates are read in its time zone');
  }
  const targets = new Map<Severity, { responseSeconds: number; resolutionSeconds: number }>();
  for (const [i, t] of s.targets.entries()) {
    const at = `spec.targets[${i}]`;
    if (targets.has(t.severity)) return fail(`${at}.severity`, `severity ${t.severity} has two entries`);
    const response = durationSeconds(t.response);
    const resolution = durationSeconds(t.resolution);
    if (response === undefined || response <= 0) return fail(`${at}.response`, 'must be a duration above 0, e.g. 15m');
    if (resolution === undefined || resolution <= 0) {
      return fail(`${at}.resolution`, 'must be a duration above 0, e.g. 4h');
    }
    if (response > resolution) return fail(`${at}.response`, 'cannot be longer than resolution');
    if (calendar !== undefined && dueAt(PROBE, resolution, calendar as BusinessCalendar) === undefined) {
      return fail(
        `${at}.resolution`,
        `the business hours do not add up to ${t.resolution} within ${Math.floor(MAX_SEARCH_DAYS / 365)} years`,
      );
    }
    targets.set(t.severity, { responseSeconds: response, resolutionSeconds: resolution });
  }
  const warningAt = s.warningAt ?? DEFAULT_WARNING_AT;
  if (!(warningAt > 0 && warningAt < 1)) return fail('spec.warningAt', 'must be between 0 and 1, both excluded');
  return {
    ok: true,
    sla: {
      namespace: meta.namespace,
      name: meta.name,
      generation: meta.generation,
      createdAt: meta.createdAt,
      clusterWide: meta.namespace === operatorNamespace,
      targets,
      terms: {
        ...(calendar === undefined ? {} : { calendar }),
        warningAt,
        escalateOn: [...(s.escalateOn ?? [])] as SlaTargetKind[],
        ...(s.notificationPolicyRef === undefined
          ? {}
          : { notificationPolicy: { namespace: meta.namespace, name: s.notificationPolicyRef.name } }),
      },
    },
  };
}
