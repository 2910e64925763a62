import { Value } from '@sinclair/typebox/value';
import type { Severity } from '../../domain/events/common.schema.ts';
import type { NotificationTransition } from '../../domain/events/notification.events.ts';
import type {
  GroupLabel,
  LabelSelector,
  RoutingPolicy,
  RoutingRule,
} from '../../domain/notification/notification.routing.ts';
import {
  type NotificationPolicySpec,
  NotificationPolicySpecSchema,
} from '../adapters/kubernetes/api/notificationPolicy.kind.ts';

/** A channel as the delivery needs it; credentials stay in their Secret until the moment of sending. */
export interface ChannelSpec {
  readonly name: string;
  readonly type: 'slack' | 'pagerduty' | 'webhook';
  readonly url?: string;
  readonly secretRef?: { readonly name: string; readonly key: string };
  readonly signingSecretRef?: { readonly name: string; readonly key: string };
  readonly timeoutMs: number;
}

export interface ValidPolicy {
  readonly routing: RoutingPolicy;
  readonly channels: ReadonlyMap<string, ChannelSpec>;
}

/** Why a policy cannot be used: the first field at fault, in the path `kubectl explain` would show. */
export interface PolicyProblem {
  readonly field: string;
  readonly message: string;
}

export const DEFAULT_GROUPING = { groupWait: '30s', groupInterval: '5m', repeatInterval: '4h' } as const;
export const DEFAULT_GROUP_BY: readonly GroupLabel[] = ['namespace', 'signal'];

const units: Record<string, number> = { ms: 0.001, s: 1, m: 60, h: 3600 };

/** A Go duration (`90s`, `1h30m`, `250ms`) in seconds; undefined when it is not one. */
export function durationSeconds(text: string): number | undefined {
  const part = /(\d+(?:\.\d+)?)(ms|s|m|h)/gy;
  let total = 0;
  let matched = 0;
  for (let m = part.exec(text); m !== null; m = part.exec(text)) {
    total += Number(m[1]) * units[m[2]!]!;
    matched = part.lastIndex;
  }
  return matched === text.length && text.length > 0 ? total : undefined;
}

/**
 * Checks what the API server's schema cannot (or what an older installed CRD may have let through) and turns the
 * spec into the form Cairn routes with. The first problem is named by its field.
 */
export function validatePolicy(
  meta: { readonly namespace: string; readonly name: string; readonly generation: number },
  spec: unknown,
  operatorNamespace: string,
): { ok: true; policy: ValidPolicy } | { ok: false; problem: PolicyProblem } {
  const fail = (field: string, message: string) => ({ ok: false as const, problem: { field, message } });
  if (!Value.Check(NotificationPolicySpecSchema, spec)) {
    const first = Value.Errors(NotificationPolicySpecSchema, spec).First();
    const path = (first?.path ?? '').split('/').filter(Boolean);
    const field = `spec${path.map((p) => (/^\d+$/.test(p) ? `[${p}]` : `.${p}`)).join('')}`;
    return fail(field, first?.message ?? 'is invalid');
  }
  const s = spec as NotificationPolicySpec;
  const channels = new Map<string, ChannelSpec>();
  for (const [i, c] of s.channels.entries()) {
    const at = `spec.channels[${i}]`;
    if (channels.has(c.name)) return fail(`${at}.name`, `channel ${c.name} is declared twice`);
    if (c.type === 'slack' && c.secretRef === undefined) {
      return fail(
        `${at}.url`,
        'a Slack webhook URL is a credential: put it in a Secret and name it in secretRef, never in the spec',
      );
    }
    if (c.type === 'pagerduty' && c.secretRef === undefined) {
      return fail(`${at}.secretRef`, 'a PagerDuty channel needs its routing key in a Secret');
    }
    if (c.type === 'webhook' && c.url === undefined && c.secretRef === undefined) {
      return fail(`${at}.url`, 'a webhook channel needs url or secretRef');
    }
    if (c.type !== 'webhook' && c.signingSecretRef !== undefined) {
      return fail(`${at}.signingSecretRef`, 'only webhook channels are signed');
    }
    const timeout = durationSeconds(c.timeout ?? '10s');
    if (timeout === undefined || timeout <= 0 || timeout > 120) {
      return fail(`${at}.timeout`, 'must be a duration above 0 and at most 2m');
    }
    channels.set(c.name, {
      name: c.name,
      type: c.type,
      ...(c.url === undefined ? {} : { url: c.url }),
      ...(c.secretRef === undefined ? {} : { secretRef: { name: c.secretRef.name, key: c.secretRef.key ?? 'url' } }),
      ...(c.signingSecretRef === undefined
        ? {}
        : { signingSecretRef: { name: c.signingSecretRef.name, key: c.signingSecretRef.key ?? 'signingKey' } }),
      timeoutMs: Math.round(timeout * 1000),
    });
  }
  const rules: RoutingRule[] = [];
  for (const [i, r] of s.rules.entries()) {
    const at = `spec.rules[${i}]`;
    for (const [j, name] of r.channels.entries()) {
      if (!channels.has(name)) return fail(`${at}.channels[${j}]`, `channel ${name} is not declared in spec.channels`);
    }
    const m = r.match ?? {};
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
    rules.push({
      name: r.name,
      channels: r.channels,
      ...(m.severities ? { severities: m.severities as Severity[] } : {}),
      ...(m.signals ? { signals: m.signals } : {}),
      ...(m.namespaces ? { namespaces: m.namespaces } : {}),
      ...(m.resourceKinds ? { resourceKinds: m.resourceKinds } : {}),
      ...(m.transitions ? { transitions: m.transitions as NotificationTransition[] } : {}),
      ...(labelSelector ? { labelSelector } : {}),
    });
  }
  const g = s.grouping ?? {};
  const seconds: Record<string, number> = {};
  for (const key of ['groupWait', 'groupInterval', 'repeatInterval'] as const) {
    const value = durationSeconds(g[key] ?? DEFAULT_GROUPING[key]);
    if (value === undefined) return fail(`spec.grouping.${key}`, 'must be a duration such as 30s or 5m');
    seconds[key] = Math.round(value);
  }
  if (seconds.groupWait! > 86_400) return fail('spec.grouping.groupWait', 'must be at most 24h');
  if (seconds.groupInterval! < 1 || seconds.groupInterval! > 604_800) {
    return fail('spec.grouping.groupInterval', 'must be between 1s and 168h');
  }
  if (seconds.repeatInterval! < seconds.groupInterval! || seconds.repeatInterval! > 2_592_000) {
    return fail('spec.grouping.repeatInterval', 'must be at least groupInterval and at most 720h');
  }
  return {
    ok: true,
    policy: {
      channels,
      routing: {
        namespace: meta.namespace,
        name: meta.name,
        generation: meta.generation,
        clusterWide: meta.namespace === operatorNamespace,
        channels: [...channels.values()].map((c) => ({ name: c.name, type: c.type })),
        rules,
        groupBy: (g.groupBy as GroupLabel[] | undefined) ?? DEFAULT_GROUP_BY,
        grouping: {
          groupWaitSeconds: seconds.groupWait!,
          groupIntervalSeconds: seconds.groupInterval!,
          repeatIntervalSeconds: seconds.repeatInterval!,
        },
      },
    },
  };
}
