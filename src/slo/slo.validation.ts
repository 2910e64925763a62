import { Value } from '@sinclair/typebox/value';
import type { ResourceRef, Severity } from '../../domain/events/common.schema.ts';
import { type BurnRateRule, DefaultBurnRateRules, parseWindow, type Urgency } from '../../domain/slo/burnRate.ts';
import {
  type ServiceLevelObjectiveSpec,
  ServiceLevelObjectiveSpecSchema,
} from '../adapters/kubernetes/api/serviceLevelObjective.kind.ts';

/** Why a ServiceLevelObjective cannot be evaluated: the first field at fault, as `kubectl explain` names it. */
export interface SloProblem {
  readonly field: string;
  readonly message: string;
}

export interface SloRule extends BurnRateRule {
  readonly severity: Severity;
}

/** What the evaluator works from: one valid generation of a ServiceLevelObjective. */
export interface EvaluatedSlo {
  readonly namespace: string;
  readonly name: string;
  readonly generation: number;
  readonly good: string;
  readonly total: string;
  /** Percent, strictly between 0 and 100. */
  readonly target: number;
  /** The SLO window, seconds. */
  readonly windowSeconds: number;
  readonly rules: readonly SloRule[];
  readonly workload: ResourceRef;
  readonly enabled: boolean;
}

export const WINDOW_PLACEHOLDER = '$window';

/** Page for critical and high alerts, ticket for the rest. */
export const urgencyOf = (severity: Severity): Urgency =>
  severity === 'critical' || severity === 'high' ? 'page' : 'ticket';

const DEFAULT_SEVERITY: Record<Urgency, Severity> = { page: 'critical', ticket: 'medium' };

/**
 * Checks what the API server's schema cannot (or what an older installed CRD let through) and turns the spec into
 * what the evaluator queries. Whether Prometheus can parse the PromQL is checked against Prometheus itself.
 */
export function validateSlo(
  meta: { readonly namespace: string; readonly name: string; readonly generation: number },
  spec: unknown,
): { ok: true; slo: EvaluatedSlo } | { ok: false; problem: SloProblem } {
  const fail = (field: string, message: string) => ({ ok: false as const, problem: { field, message } });
  if (spec !== null && typeof spec === 'object') {
    const target = (spec as { target?: unknown }).target;
    if (target === 100) return fail('spec.target', 'a target of 100% leaves no error budget to burn; use e.g. 99.9');
  }
  if (!Value.Check(ServiceLevelObjectiveSpecSchema, spec)) {
    const first = Value.Errors(ServiceLevelObjectiveSpecSchema, spec).First();
    const path = (first?.path ?? '').split('/').filter(Boolean);
    const field = `spec${path.map((p) => (/^\d+$/.test(p) ? `[${p}]` : `.${p}`)).join('')}`;
    return fail(field, first?.message ?? 'is invalid');
  }
  const s = spec as ServiceLevelObjectiveSpec;
  for (const key of ['good', 'total'] as const) {
    if (!s.indicator[key]!.includes(WINDOW_PLACEHOLDER)) {
      return fail(`spec.indicator.${key}`, `must use ${WINDOW_PLACEHOLDER} as its range, e.g. [${WINDOW_PLACEHOLDER}]`);
    }
  }
  if (s.workload === undefined) {
    return fail('spec.workload', 'names the workload a burn alert is recorded on, e.g. {kind: Deployment, name: web}');
  }
  const windowSeconds = parseWindow(s.window ?? '30d');
  if (windowSeconds === undefined) return fail('spec.window', `${s.window} is not a window such as 30d`);
  const rules: SloRule[] = [];
  if (s.alerting?.burnRates === undefined) {
    for (const r of DefaultBurnRateRules) rules.push({ ...r, severity: DEFAULT_SEVERITY[r.urgency] });
  } else {
    for (const [i, r] of s.alerting.burnRates.entries()) {
      const shortWindow = parseWindow(r.shortWindow);
      const longWindow = parseWindow(r.longWindow);
      if (shortWindow === undefined || !Number.isInteger(shortWindow)) {
        return fail(
          `spec.alerting.burnRates[${i}].shortWindow`,
          `${r.shortWindow}: use whole seconds, minutes or hours`,
        );
      }
      if (longWindow === undefined) {
        return fail(`spec.alerting.burnRates[${i}].longWindow`, `${r.longWindow}: use whole seconds, minutes or hours`);
      }
      if (shortWindow >= longWindow) {
        return fail(`spec.alerting.burnRates[${i}].shortWindow`, 'must be shorter than longWindow');
      }
      rules.push({
        name: r.name,
        shortWindow,
        longWindow,
        factor: r.factor,
        urgency: urgencyOf(r.severity),
        severity: r.severity,
      });
    }
  }
  return {
    ok: true,
    slo: {
      namespace: meta.namespace,
      name: meta.name,
      generation: meta.generation,
      good: s.indicator.good,
      total: s.indicator.total,
      target: s.target,
      windowSeconds,
      rules,
      workload: {
        kind: s.workload.kind,
        name: s.workload.name,
        namespace: s.workload.namespace ?? meta.namespace,
      },
      enabled: s.enabled !== false,
    },
  };
}

/** The PromQL of one window: every `$window` replaced by the range. */
export const queryFor = (expr: string, range: string): string => expr.split(WINDOW_PLACEHOLDER).join(range);
