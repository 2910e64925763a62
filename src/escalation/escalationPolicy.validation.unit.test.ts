import { describe, expect, it } from 'vitest';
import { escalationDecider } from '../../domain/escalation/escalation.decider.ts';
import { deciderSpec } from '../../domain/testing/decider.spec.ts';
import type { ValidPolicy } from '../notifications/policy.validation.ts';
import { pageMessage } from './escalationOutbox.ts';
import { channelProblems, escalationReady } from './escalationPolicies.informer.ts';
import { validateEscalationPolicy } from './escalationPolicy.validation.ts';
import { escalationsOfPolicy } from './escalationPolicyStatus.ts';

const meta = { namespace: 'cairn-system', name: 'platform', generation: 3 };
const spec = (extra: Record<string, unknown> = {}) => ({
  notificationPolicyRef: { name: 'on-call' },
  levels: [
    { name: 'primary', escalateAfter: '15m', channels: ['pager', 'chat'] },
    { name: 'secondary', channels: ['pager-2'] },
  ],
  ...extra,
});
const validate = (s: unknown, namespace = 'cairn-system') =>
  validateEscalationPolicy({ ...meta, namespace }, s, 'cairn-system');
const problem = (s: unknown, namespace?: string) => {
  const outcome = validate(s, namespace);
  return outcome.ok ? undefined : `${outcome.problem.field}: ${outcome.problem.message}`;
};

describe('EscalationPolicy validation', () => {
  it('turns a valid spec into levels with their timeouts in seconds', () => {
    const outcome = validate(spec({ repeatLastLevelEvery: '1h', default: true, severities: ['critical'] }));
    expect(outcome.ok && outcome.policy).toMatchObject({
      generation: 3,
      isDefault: true,
      clusterWide: true,
      severities: ['critical'],
      notificationPolicy: 'on-call',
      levels: [
        { name: 'primary', channels: ['pager', 'chat'], escalateAfterSeconds: 900 },
        { name: 'secondary', channels: ['pager-2'] },
      ],
      repeatLastLevelEverySeconds: 3600,
    });
  });

  it('names the field at fault', () => {
    expect(
      problem(
        spec({
          levels: [
            { name: 'primary', channels: ['pager'] },
            { name: 'secondary', channels: ['x'] },
          ],
        }),
      ),
    ).toBe('spec.levels[0].escalateAfter: is required: a level follows this one');
    expect(problem(spec({ levels: [{ name: 'only', escalateAfter: '5m', channels: ['pager'] }] }))).toMatch(
      /^spec\.levels\[0\]\.escalateAfter: the last level has no level after it/,
    );
    expect(problem(spec({ repeatLastLevelEvery: '0s' }))).toMatch(/^spec\.repeatLastLevelEvery: must be a duration/);
    expect(problem(spec({ levels: [] }))).toMatch(/^spec\.levels/);
    expect(problem({ levels: spec().levels })).toMatch(/notificationPolicyRef/);
    expect(
      problem(
        spec({
          levels: [
            { name: 'primary', escalateAfter: '1m', channels: ['pager', 'pager'] },
            { name: 'secondary', channels: ['x'] },
          ],
        }),
      ),
    ).toMatch(/^spec\.levels\[0\]\.channels/);
    expect(problem(spec({ labelSelector: { matchExpressions: [{ key: 'tier', operator: 'In' }] } }))).toBe(
      'spec.labelSelector.matchExpressions[0].values: In needs values',
    );
  });

  it('a policy outside Cairn’s namespace sees only its own namespace', () => {
    expect(validate(spec(), 'shop').ok && validate(spec(), 'shop')).toMatchObject({ policy: { clusterWide: false } });
    expect(problem(spec({ namespaces: ['payments'] }), 'shop')).toMatch(/^spec\.namespaces: /);
  });

  it('Ready names what is wrong, and which generation still takes Issues', () => {
    const outcome = validate(spec());
    const active = outcome.ok ? outcome.policy : undefined;
    expect(escalationReady({ ok: false, problem: { field: 'spec.levels', message: 'bad' } }, true, active, [])).toEqual(
      {
        status: 'False',
        reason: 'InvalidSpec',
        message: 'spec.levels: bad; new escalations still follow generation 3',
      },
    );
    expect(escalationReady({ ok: true }, false, undefined, []).reason).toBe('Disabled');
    const notification = {
      channels: new Map([['pager', {}]]),
    } as unknown as ValidPolicy;
    const problems = channelProblems(active!, notification);
    expect(problems).toEqual([
      'spec.levels[0].channels[1]: NotificationPolicy cairn-system/on-call has no channel chat',
      'spec.levels[1].channels[0]: NotificationPolicy cairn-system/on-call has no channel pager-2',
    ]);
    expect(escalationReady({ ok: true }, true, active, problems)).toMatchObject({
      status: 'False',
      reason: 'ChannelNotFound',
    });
    expect(channelProblems(active!, undefined)[0]).toMatch(/^spec\.notificationPolicyRef\.name: /);
  });
});

const spec2 = deciderSpec(escalationDecider);
const history = spec2.history(
  {
    type: 'StartEscalation',
    data: {
      issueId: 'iss-1',
      policy: { namespace: 'cairn-system', name: 'platform', generation: 1 },
      notificationPolicy: { namespace: 'cairn-system', name: 'on-call' },
      levels: [
        {
          name: 'primary',
          channels: [
            { name: 'pager', type: 'pagerduty' },
            { name: 'chat', type: 'slack' },
          ],
          escalateAfterSeconds: 60,
        },
        { name: 'secondary', channels: [{ name: 'pager-2', type: 'pagerduty' }] },
      ],
      trigger: 'detected',
      issue: {
        issueId: 'iss-1',
        name: 'deployment-shop-web-iss-1',
        severity: 'high',
        signal: 'crashloop',
        riskScore: 60,
        workload: { kind: 'Deployment', namespace: 'shop', name: 'web' },
        state: 'Detected',
        summary: 'web crash-loops',
        detectedAt: '2026-12-07T10:00:00.000Z',
      },
    },
    metadata: { occurredAt: '2026-12-07T10:00:00.000Z', actor: 'system:escalation' },
  },
  {
    type: 'FireEscalationDeadline',
    data: { deadline: '2026-12-07T10:01:00.000Z' },
    metadata: { occurredAt: '2026-12-07T10:01:00.000Z', actor: 'system:escalation' },
  },
);
const state = history.reduce(escalationDecider.evolve, escalationDecider.initialState());

describe('what an escalation shows and sends', () => {
  it('a page is a channel message naming the level, with the paging action for PagerDuty', () => {
    const pages = Object.values(state.deliveries).sort((a, b) => a.sequence - b.sequence);
    const messages = pages.map((p) => pageMessage(state, p)!);
    expect(messages.map((m) => [m.delivery.channel.name, m.delivery.pagingAction, m.policy.rule])).toEqual([
      ['pager', 'trigger', 'primary'],
      ['chat', undefined, 'primary'],
      ['pager-2', 'trigger', 'secondary'],
    ]);
    expect(messages[2]?.groupKey).toBe('escalation level 2/2 (secondary) of EscalationPolicy cairn-system/platform');
    expect(messages[2]?.delivery.issues[0]).toMatchObject({ issue: { issueId: 'iss-1' }, transition: 'escalated' });
    expect(messages[0]?.policy).toMatchObject({ namespace: 'cairn-system', name: 'on-call' });
  });

  it("the policy's status lists the running escalation with its level, and counts it", () => {
    expect(escalationsOfPolicy([state], 'cairn-system', 'platform')).toEqual({
      totalEscalations: 1,
      active: [
        {
          issue: 'web-iss-1',
          issueId: 'iss-1',
          level: 2,
          levelName: 'secondary',
          state: 'exhausted',
          since: '2026-12-07T10:01:00.000Z',
        },
      ],
    });
    expect(escalationsOfPolicy([state], 'cairn-system', 'other')).toEqual({ totalEscalations: 0, active: [] });
  });
});
