import { describe, expect, it } from 'vitest';
import { routesFor } from '../../domain/notification/notification.routing.ts';
import { durationSeconds, validatePolicy } from './policy.validation.ts';

const meta = { namespace: 'shop', name: 'team', generation: 3 };
const spec = (extra: Record<string, unknown> = {}) => ({
  channels: [
    { name: 'pager', type: 'pagerduty', secretRef: { name: 'pd', key: 'routingKey' } },
    { name: 'hooks', type: 'webhook', url: 'https://hooks.example.com/cairn' },
  ],
  rules: [{ name: 'all', channels: ['pager', 'hooks'] }],
  ...extra,
});
const problem = (s: unknown) => {
  const result = validatePolicy(meta, s, 'cairn-system');
  return result.ok ? undefined : `${result.problem.field}: ${result.problem.message}`;
};

describe('NotificationPolicy validation', () => {
  it("fills in Alertmanager's defaults and keeps a team's policy to its own namespace", () => {
    const result = validatePolicy(meta, spec(), 'cairn-system');
    expect(result.ok && result.policy.routing).toMatchObject({
      clusterWide: false,
      groupBy: ['namespace', 'signal'],
      grouping: { groupWaitSeconds: 30, groupIntervalSeconds: 300, repeatIntervalSeconds: 14_400 },
    });
    expect(result.ok && result.policy.channels.get('hooks')?.timeoutMs).toBe(10_000);
  });

  it.each([
    [
      'a rule naming an undeclared channel',
      spec({ rules: [{ name: 'all', channels: ['pager', 'mail'] }] }),
      'spec.rules[0].channels[1]: channel mail is not declared in spec.channels',
    ],
    [
      'a Slack URL written in the spec',
      spec({
        channels: [{ name: 'chat', type: 'slack', url: 'https://hooks.slack.com/services/T/B/X' }],
        rules: [{ name: 'r', channels: ['chat'] }],
      }),
      'spec.channels[0].url: a Slack webhook URL is a credential',
    ],
    [
      'a repeat interval shorter than the group interval',
      spec({ grouping: { groupInterval: '10m', repeatInterval: '5m' } }),
      'spec.grouping.repeatInterval: must be at least groupInterval',
    ],
    [
      'an In selector without values',
      spec({
        rules: [
          {
            name: 'all',
            channels: ['pager'],
            match: { labelSelector: { matchExpressions: [{ key: 'tier', operator: 'In' }] } },
          },
        ],
      }),
      'spec.rules[0].match.labelSelector.matchExpressions[0].values: In needs values',
    ],
    ['a field of the wrong type', spec({ enabled: 'yes' }), 'spec.enabled'],
  ])('names the field of %s', (_, s, expected) => {
    expect(problem(s)).toContain(expected);
  });

  it('reads Go durations', () => {
    expect(durationSeconds('1h30m')).toBe(5_400);
    expect(durationSeconds('250ms')).toBe(0.25);
    expect(durationSeconds('5 m')).toBeUndefined();
  });
});

describe('routing', () => {
  const issue = {
    issueId: 'i1',
    name: 'web-i1',
    severity: 'high' as const,
    signal: 'pod_restart',
    riskScore: 60,
    workload: { kind: 'Deployment', name: 'web', namespace: 'shop' },
    state: 'Detected',
    summary: 's',
    detectedAt: '2026-01-05T10:00:00.000Z',
  };
  const policy = (match: Record<string, unknown>, namespace = 'cairn-system') => {
    const result = validatePolicy(
      { namespace, name: 'p', generation: 1 },
      spec({ rules: [{ name: 'r', channels: ['pager'], match }] }),
      'cairn-system',
    );
    if (!result.ok) throw new Error(result.problem.message);
    return result.policy.routing;
  };

  it('matches on severity, signal, namespace, kind and workload labels', () => {
    const labels = { tier: 'frontend' };
    const hit = policy({
      severities: ['high'],
      signals: ['pod_restart'],
      namespaces: ['shop'],
      resourceKinds: ['Deployment'],
      labelSelector: {
        matchLabels: { tier: 'frontend' },
        matchExpressions: [{ key: 'team', operator: 'DoesNotExist' }],
      },
    });
    expect(routesFor([hit], issue, labels, 'detected')).toHaveLength(1);
    expect(routesFor([policy({ severities: ['critical'] })], issue, labels, 'detected')).toHaveLength(0);
    expect(
      routesFor([policy({ labelSelector: { matchLabels: { tier: 'db' } } })], issue, labels, 'detected'),
    ).toHaveLength(0);
  });

  it('routes resolutions of a rule that asked only for detections, as follow-ups', () => {
    const routes = routesFor([policy({ transitions: ['detected'] })], issue, {}, 'resolved');
    expect(routes.map((r) => r.subscribed)).toEqual([false]);
    expect(routesFor([policy({ transitions: ['detected'] })], issue, {}, 'escalated')).toHaveLength(0);
  });

  it("hears of other namespaces only from Cairn's own namespace", () => {
    expect(routesFor([policy({}, 'team-a')], issue, {}, 'detected')).toHaveLength(0);
    expect(routesFor([policy({}, 'shop')], issue, {}, 'detected')).toHaveLength(1);
  });
});

describe('NotificationPolicy validation of Teams, Opsgenie, email and Alertmanager channels', () => {
  const one = (channel: Record<string, unknown>, extra: Record<string, unknown> = {}) => ({
    channels: [channel],
    rules: [{ name: 'r', channels: [channel.name] }],
    ...extra,
  });
  const mail = { host: 'smtp.example.com', from: 'cairn@example.com', to: ['oncall@example.com'] };

  it.each([
    [
      'a Teams URL written in the spec',
      one({ name: 'chat', type: 'teams', url: 'https://example.logic.azure.com/workflows/x' }),
      'spec.channels[0].secretRef: a Teams workflow URL is a credential: put it in a Secret and name it in secretRef, never in the spec',
    ],
    [
      'an Opsgenie channel without its key',
      one({ name: 'genie', type: 'opsgenie', url: 'https://api.eu.opsgenie.com' }),
      'spec.channels[0].secretRef: an Opsgenie channel needs its API key in a Secret',
    ],
    [
      'an email channel without a server',
      one({ name: 'mail', type: 'email' }),
      'spec.channels[0].email: an email channel needs email (host, from, to)',
    ],
    [
      'email settings on a Slack channel',
      one({ name: 'chat', type: 'slack', secretRef: { name: 's', key: 'url' }, email: mail }),
      'spec.channels[0].email: only email channels take email settings',
    ],
    [
      'an email password in secretRef instead of authSecretRef',
      one({ name: 'mail', type: 'email', email: mail, secretRef: { name: 'smtp', key: 'password' } }),
      'spec.channels[0].secretRef: an email channel reads its credentials from email.authSecretRef',
    ],
    [
      'an SMTP login over a plain connection',
      one({ name: 'mail', type: 'email', email: { ...mail, tls: 'none', authSecretRef: { name: 'smtp-auth' } } }),
      'spec.channels[0].email.tls: a login is sent only over TLS: use starttls or implicit with authSecretRef',
    ],
    [
      'an alertmanager channel with nowhere to send',
      one({ name: 'am', type: 'alertmanager' }),
      'spec.channels[0].url: an alertmanager channel needs url (or secretRef) naming the Alertmanager',
    ],
  ])('refuses %s', (_, s, expected) => {
    expect(problem(s)).toBe(expected);
  });

  it('keeps firing alerts alive: a policy with an alertmanager channel repeats at most every 12h', () => {
    const am = { name: 'am', type: 'alertmanager', url: 'http://alertmanager:9093' };
    expect(problem(one(am, { grouping: { repeatInterval: '13h' } }))).toMatch(
      /^spec\.grouping\.repeatInterval: must be at most 12h with an alertmanager channel \(am\)/,
    );
    expect(problem(one(am, { grouping: { repeatInterval: '12h' } }))).toBeUndefined();
  });

  it('refuses an incidentUrl that has nowhere to put the Issue', () => {
    const hooks = { name: 'hooks', type: 'webhook', url: 'https://hooks.example.com' };
    expect(problem(one(hooks, { incidentUrl: 'https://cairn.example.com/incidents' }))).toMatch(/^spec\.incidentUrl: /);
    const result = validatePolicy(
      meta,
      one(hooks, { incidentUrl: 'https://cairn.example.com/api/v1/incidents/{issueId}' }),
      'cairn-system',
    );
    expect(result.ok && result.policy.incidentUrl).toBe('https://cairn.example.com/api/v1/incidents/{issueId}');
  });

  it('fills in SMTP defaults and reads the login and CA from the Secrets named', () => {
    const result = validatePolicy(
      meta,
      one({
        name: 'mail',
        type: 'email',
        email: { ...mail, authSecretRef: { name: 'smtp-auth' }, caSecretRef: { name: 'smtp-ca', key: 'ca.crt' } },
      }),
      'cairn-system',
    );
    expect(result.ok && result.policy.channels.get('mail')?.email).toEqual({
      ...mail,
      port: 587,
      tls: 'starttls',
      usernameRef: { name: 'smtp-auth', key: 'username' },
      passwordRef: { name: 'smtp-auth', key: 'password' },
      caRef: { name: 'smtp-ca', key: 'ca.crt' },
    });
  });
});
