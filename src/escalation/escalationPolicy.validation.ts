import { Value } from '@sinclair/typebox/value';
import type { SelectablePolicy } from '../../domain/escalation/escalation.selection.ts';
import type { Severity } from '../../domain/events/common.schema.ts';
import type { LabelSelector } from '../../domain/notification/notification.routing.ts';
import {
  type EscalationPolicySpec,
  EscalationPolicySpecSchema,
} from '../adapters/kubernetes/api/escalationPolicy.kind.ts';
import { durationSeconds } from '../notifications/policy.validation.ts';

/** An EscalationPolicy as Cairn runs it: validated, durations in seconds. */
export interface ValidEscalationPolicy extends SelectablePolicy {
  readonly generation: number;
  readonly notificationPolicy: string;
  readonly levels: readonly {
    readonly name: string;
    readonly channels: readonly string[];
    readonly escalateAfterSeconds?: number;
  }[];
  readonly repeatLastLevelEverySeconds?: number;
}

export interface EscalationPolicyProblem {
  readonly field: string;
  readonly message: string;
}

/** The longest timeout or repeat interval: 30 days, the event schema's bound. */
const MAX_SECONDS = 2_592_000;

const seconds = (text: string): number | undefined => {
  const value = durationSeconds(text);
  return value === undefined ? undefined : Math.round(value);
};

/**
 * What the API server's schema cannot check (or an older installed CRD let through), the first problem named by its
 * field. Channels are checked against the NotificationPolicy separately: it may be created after this policy.
 */
export function validateEscalationPolicy(
  meta: { readonly namespace: string; readonly name: string; readonly generation: number },
  spec: unknown,
  operatorNamespace: string,
): { ok: true; policy: ValidEscalationPolicy } | { ok: false; problem: EscalationPolicyProblem } {
  const fail = (field: string, message: string) => ({ ok: false as const, problem: { field, message } });
  if (!Value.Check(EscalationPolicySpecSchema, spec)) {
    const first = Value.Errors(EscalationPolicySpecSchema, spec).First();
    const path = (first?.path ?? '').split('/').filter(Boolean);
    const field = `spec${path.map((p) => (/^\d+$/.test(p) ? `[${p}]` : `.${p}`)).join('')}`;
    return fail(field, first?.message ?? 'is invalid');
  }
  const s = spec as EscalationPolicySpec;
  const names = new Set<string>();
  const levels: ValidEscalationPolicy['levels'][number][] = [];
  for (const [i, level] of s.levels.entries()) {
    const at = `spec.levels[${i}]`;
    if (names.has(level.name)) return fail(`${at}.name`, `level ${level.name} is declared twice`);
    names.add(level.name);
    if (new Set(level.channels).size !== level.channels.length) {
      return fail(`${at}.channels`, 'names a channel twice');
    }
    const last = i === s.levels.length - 1;
    if (level.escalateAfter === undefined) {
      if (!last) return fail(`${at}.escalateAfter`, 'is required: a level follows this one');
      levels.push({ name: level.name, channels: level.channels });
      continue;
    }
    if (last) {
      return fail(
        `${at}.escalateAfter`,
        'the last level has no level after it: remove it, or set spec.repeatLastLevelEvery to page it again',
      );
    }
    const after = seconds(level.escalateAfter);
    if (after === undefined || after < 1 || after > MAX_SECONDS) {
      return fail(`${at}.escalateAfter`, 'must be a duration from 1s to 720h, such as 90s or 15m');
    }
    levels.push({ name: level.name, channels: level.channels, escalateAfterSeconds: after });
  }
  let repeat: number | undefined;
  if (s.repeatLastLevelEvery !== undefined) {
    repeat = seconds(s.repeatLastLevelEvery);
    if (repeat === undefined || repeat < 1 || repeat > MAX_SECONDS) {
      return fail('spec.repeatLastLevelEvery', 'must be a duration from 1s to 720h, such as 30m');
    }
  }
  let labelSelector: LabelSelector | undefined;
  if (s.labelSelector !== undefined) {
    const expressions = s.labelSelector.matchExpressions ?? [];
    for (const [k, e] of expressions.entries()) {
      const withValues = e.operator === 'In' || e.operator === 'NotIn';
      if (withValues !== (e.values !== undefined && e.values.length > 0)) {
        return fail(
          `spec.labelSelector.matchExpressions[${k}].values`,
          withValues ? `${e.operator} needs values` : `${e.operator} takes no values`,
        );
      }
    }
    labelSelector = {
      matchLabels: s.labelSelector.matchLabels ?? {},
      matchExpressions: expressions.map((e) => ({ key: e.key, operator: e.operator, values: e.values ?? [] })),
    };
  }
  const clusterWide = meta.namespace === operatorNamespace;
  if (!clusterWide && s.namespaces?.some((n) => n !== meta.namespace)) {
    return fail(
      'spec.namespaces',
      `a policy outside Cairn's namespace (${operatorNamespace}) only sees Issues of its own namespace, ${meta.namespace}`,
    );
  }
  return {
    ok: true,
    policy: {
      namespace: meta.namespace,
      name: meta.name,
      generation: meta.generation,
      isDefault: s.default === true,
      clusterWide,
      ...(s.severities ? { severities: s.severities as Severity[] } : {}),
      ...(s.namespaces ? { namespaces: s.namespaces } : {}),
      ...(labelSelector ? { labelSelector } : {}),
      notificationPolicy: s.notificationPolicyRef.name,
      levels,
      ...(repeat === undefined ? {} : { repeatLastLevelEverySeconds: repeat }),
    },
  };
}
