import { Value } from '@sinclair/typebox/value';
import {
  type ApprovalMode,
  type ApprovalPolicyModel,
  DEFAULT_EXPIRY_SECONDS,
  type PolicyRule,
} from '../../domain/approval/approvalPolicy.ts';
import {
  type ChangeWindows,
  type FreezePeriod,
  isTimeZone,
  overlappingRanges,
  parseClock,
  type WeeklyRange,
} from '../../domain/approval/changeWindow.ts';
import type { Severity } from '../../domain/events/common.schema.ts';
import type { LabelSelector } from '../../domain/notification/notification.routing.ts';
import { actionTypes } from '../adapters/kubernetes/api/actionTypes.ts';
import { type ApprovalPolicySpec, ApprovalPolicySpecSchema } from '../adapters/kubernetes/api/approvalPolicy.kind.ts';
import { durationSeconds } from '../notifications/policy.validation.ts';

/** Why a policy cannot be used: the first field at fault, in the path `kubectl explain` would show. */
export interface PolicyProblem {
  readonly field: string;
  readonly message: string;
}

export type PolicyValidation = { ok: true; policy: ApprovalPolicyModel } | { ok: false; problem: PolicyProblem };

const knownActions = new Set<string>(actionTypes);
const MAX_EXPIRY_SECONDS = 7 * 24 * 3_600;

/**
 * Checks what the API server's schema cannot (unknown action types, an empty quorum, overlapping windows, an unknown
 * time zone, a freeze that ends before it starts) and turns the spec into the form Cairn decides with.
 */
export function validateApprovalPolicy(
  meta: { readonly namespace: string; readonly name: string; readonly generation: number },
  spec: unknown,
  operatorNamespace: string,
): PolicyValidation {
  const fail = (field: string, message: string) => ({ ok: false as const, problem: { field, message } });
  if (!Value.Check(ApprovalPolicySpecSchema, spec)) {
    const first = Value.Errors(ApprovalPolicySpecSchema, spec).First();
    const path = (first?.path ?? '').split('/').filter(Boolean);
    const field = `spec${path.map((p) => (/^\d+$/.test(p) ? `[${p}]` : `.${p}`)).join('')}`;
    return fail(field, first?.message ?? 'is invalid');
  }
  const s = spec as ApprovalPolicySpec;
  const rules: PolicyRule[] = [];
  const names = new Set<string>();
  for (const [i, r] of s.rules.entries()) {
    const at = `spec.rules[${i}]`;
    if (names.has(r.name)) return fail(`${at}.name`, `rule ${r.name} is declared twice`);
    names.add(r.name);
    const m = r.match ?? {};
    for (const [j, type] of (m.actionTypes ?? []).entries()) {
      if (!knownActions.has(type)) {
        return fail(`${at}.match.actionTypes[${j}]`, `unknown action type ${JSON.stringify(type)}`);
      }
    }
    let labelSelector: LabelSelector | undefined;
    if (m.labelSelector !== undefined) {
      const expressions = m.labelSelector.matchExpressions ?? [];
      for (const [k, e] of expressions.entries()) {
        const withValues = e.operator === 'In' || e.operator === 'NotIn';
        if (withValues !== (e.values !== undefined && e.values.length > 0)) {
          return fail(
            `${at}.match.labelSelector.matchExpressions[${k}].values`,
            withValues ? `${e.operator} needs values` : `${e.operator} takes no values`,
          );
        }
      }
      labelSelector = {
        matchLabels: m.labelSelector.matchLabels ?? {},
        matchExpressions: expressions.map((e) => ({ key: e.key, operator: e.operator, values: e.values ?? [] })),
      };
    }
    const mode = r.mode as ApprovalMode;
    let required = 0;
    if (mode === 'quorum') {
      if (r.requiredApprovers === undefined || r.requiredApprovers < 2) {
        return fail(
          `${at}.requiredApprovers`,
          r.requiredApprovers === undefined || r.requiredApprovers === 0
            ? 'a quorum needs requiredApprovers of at least 2 (an empty quorum would let anything through)'
            : 'a quorum of 1 is mode single: use it, or ask for at least 2',
        );
      }
      required = r.requiredApprovers;
    } else if (mode === 'single') {
      if (r.requiredApprovers !== undefined && r.requiredApprovers !== 1) {
        return fail(`${at}.requiredApprovers`, 'mode single takes one approver: use mode quorum for more');
      }
      required = 1;
    } else if (r.requiredApprovers !== undefined) {
      return fail(`${at}.requiredApprovers`, `mode ${mode} has no approvers`);
    }
    if (r.groups !== undefined && (mode === 'auto' || mode === 'deny')) {
      return fail(`${at}.groups`, `mode ${mode} has no approvers to draw from groups`);
    }
    if (r.groups !== undefined && r.groups.length === 0) {
      return fail(`${at}.groups`, 'an empty list of groups lets nobody approve: leave it out to let any operator');
    }
    const expiry = durationSeconds(r.expiry ?? '30m');
    if (expiry === undefined || expiry < 1 || expiry > MAX_EXPIRY_SECONDS) {
      return fail(`${at}.expiry`, 'must be a duration of at least 1s and at most 168h');
    }
    rules.push({
      name: r.name,
      match: {
        ...(m.namespaces ? { namespaces: m.namespaces } : {}),
        ...(labelSelector ? { labelSelector } : {}),
        ...(m.severities ? { severities: m.severities as Severity[] } : {}),
        ...(m.minRiskScore === undefined ? {} : { minRiskScore: m.minRiskScore }),
        ...(m.actionTypes ? { actionTypes: m.actionTypes } : {}),
        ...(m.destructive === undefined ? {} : { destructive: m.destructive }),
      },
      mode,
      requiredApprovers: required,
      groups: r.groups ?? [],
      expirySeconds: r.expiry === undefined ? DEFAULT_EXPIRY_SECONDS : Math.round(expiry),
    });
  }
  let windows: ChangeWindows | undefined;
  if (s.changeWindows !== undefined) {
    const w = s.changeWindows;
    const timeZone = w.timeZone ?? 'UTC';
    if (!isTimeZone(timeZone)) {
      return fail(
        'spec.changeWindows.timeZone',
        `unknown time zone ${JSON.stringify(timeZone)} (an IANA name such as Europe/Paris)`,
      );
    }
    const weekly: WeeklyRange[] = [];
    for (const [i, range] of (w.weekly ?? []).entries()) {
      const at = `spec.changeWindows.weekly[${i}]`;
      const start = parseClock(range.start);
      if (start === undefined)
        return fail(`${at}.start`, `${JSON.stringify(range.start)} is not HH:MM (00:00 to 23:59)`);
      const end = parseClock(range.end, true);
      if (end === undefined) return fail(`${at}.end`, `${JSON.stringify(range.end)} is not HH:MM (00:00 to 24:00)`);
      if (end === start) return fail(`${at}.end`, 'a window that ends when it starts is empty');
      weekly.push({ days: range.days, startMinute: start, endMinute: end === 1_440 ? 0 : end });
    }
    const overlap = overlappingRanges(weekly);
    if (overlap) {
      return fail(
        `spec.changeWindows.weekly[${overlap[1]}]`,
        `overlaps spec.changeWindows.weekly[${overlap[0]}]: merge them into one window`,
      );
    }
    const freezes: FreezePeriod[] = [];
    for (const [i, f] of (w.freezes ?? []).entries()) {
      if (Date.parse(f.end) <= Date.parse(f.start)) {
        return fail(`spec.changeWindows.freezes[${i}].end`, 'a freeze must end after it starts');
      }
      freezes.push({ start: f.start, end: f.end, ...(f.reason ? { reason: f.reason } : {}) });
    }
    windows = { timeZone, weekly, freezes, outsideWindow: w.outsideWindow ?? 'wait' };
  }
  return {
    ok: true,
    policy: {
      namespace: meta.namespace,
      name: meta.name,
      generation: meta.generation,
      clusterWide: meta.namespace === operatorNamespace,
      rules,
      ...(windows ? { windows } : {}),
    },
  };
}
