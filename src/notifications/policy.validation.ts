import { Value } from '@sinclair/typebox/value';
import type { Severity } from '../../domain/events/common.schema.ts';
import type { ChannelType, NotificationTransition } from '../../domain/events/notification.events.ts';
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
import type { SmtpSettings } from './channels/email.channel.ts';

type SecretKey = { readonly name: string; readonly key: string };

/** A channel as the delivery needs it; credentials stay in their Secret until the moment of sending. */
export interface ChannelSpec {
  readonly name: string;
  readonly type: ChannelType;
  readonly url?: string;
  readonly secretRef?: SecretKey;
  readonly signingSecretRef?: SecretKey;
  /** email channels: the server and addresses; the username and password come from authSecret at send time. */
  readonly email?: SmtpSettings & {
    readonly usernameRef?: SecretKey;
    readonly passwordRef?: SecretKey;
    readonly caRef?: SecretKey;
  };
  readonly timeoutMs: number;
}

/** Every Secret key a channel reads, with the field that names it, for Ready to say which one is missing. */
export function channelSecretRefs(channel: ChannelSpec): [field: string, ref: SecretKey][] {
  const refs: [string, SecretKey | undefined][] = [
    ['secretRef', channel.secretRef],
    ['signingSecretRef', channel.signingSecretRef],
    ['email.authSecretRef', channel.email?.usernameRef],
    ['email.authSecretRef', channel.email?.passwordRef],
    ['email.caSecretRef', channel.email?.caRef],
  ];
  return refs.filter((r): r is [string, SecretKey] => r[1] !== undefined);
}

/** What a policy with an alertmanager channel may repeat at most, so its alerts never lapse while firing. */
export const ALERTMANAGER_MAX_REPEAT_SECONDS = 12 * 3600;

export interface ValidPolicy {
  readonly routing: RoutingPolicy;
  readonly channels: ReadonlyMap<string, ChannelSpec>;
  /** Where incidents are seen, with `{issueId}` / `{issue}` to fill in; see ChannelMessage.incidentUrl. */
  readonly incidentUrl?: string;
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
    if (c.type === 'teams' && c.secretRef === undefined) {
      return fail(
        `${at}.secretRef`,
        'a Teams workflow URL is a credential: put it in a Secret and name it in secretRef, never in the spec',
      );
    }
    if (c.type === 'opsgenie' && c.secretRef === undefined) {
      return fail(`${at}.secretRef`, 'an Opsgenie channel needs its API key in a Secret');
    }
    if (c.type === 'alertmanager' && c.url === undefined && c.secretRef === undefined) {
      return fail(`${at}.url`, 'an alertmanager channel needs url (or secretRef) naming the Alertmanager');
    }
    if (c.type === 'email' && c.email === undefined) {
      return fail(`${at}.email`, 'an email channel needs email (host, from, to)');
    }
    if (c.type !== 'email' && c.email !== undefined) {
      return fail(`${at}.email`, 'only email channels take email settings');
    }
    if (c.type === 'email' && c.secretRef !== undefined) {
      return fail(`${at}.secretRef`, 'an email channel reads its credentials from email.authSecretRef');
    }
    if (c.type === 'email' && c.url !== undefined) {
      return fail(`${at}.url`, 'an email channel takes its server from email.host and email.port');
    }
    if (c.email?.authSecretRef !== undefined && c.email.tls === 'none') {
      return fail(`${at}.email.tls`, 'a login is sent only over TLS: use starttls or implicit with authSecretRef');
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
      ...(c.email === undefined
        ? {}
        : {
            email: {
              host: c.email.host,
              port: c.email.port ?? 587,
              tls: c.email.tls ?? 'starttls',
              from: c.email.from,
              to: c.email.to,
              ...(c.email.authSecretRef === undefined
                ? {}
                : {
                    usernameRef: { name: c.email.authSecretRef.name, key: 'username' },
                    passwordRef: { name: c.email.authSecretRef.name, key: 'password' },
                  }),
              ...(c.email.caSecretRef === undefined
                ? {}
                : { caRef: { name: c.email.caSecretRef.name, key: c.email.caSecretRef.key ?? 'ca.crt' } }),
            },
          }),
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
  const alertmanager = [...channels.values()].find((c) => c.type === 'alertmanager');
  if (alertmanager !== undefined && seconds.repeatInterval! > ALERTMANAGER_MAX_REPEAT_SECONDS) {
    return fail(
      'spec.grouping.repeatInterval',
      `must be at most 12h with an alertmanager channel (${alertmanager.name}): Cairn re-sends firing alerts at this interval and Alertmanager ends them a day after the last`,
    );
  }
  return {
    ok: true,
    policy: {
      channels,
      ...(s.incidentUrl === undefined ? {} : { incidentUrl: s.incidentUrl }),
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
