import { describe, expect, it } from 'vitest';
import { deciderSpec, metaAt } from '../testing/decider.spec.ts';
import type { IssueCommand } from './issue.commands.ts';
import { type IssueEvent, issueDecider } from './issue.decider.ts';

const spec = deciderSpec(issueDecider);
const web = { kind: 'Deployment', name: 'web', namespace: 'shop' };

const ev = <T extends IssueEvent['type']>(type: T, data: Extract<IssueEvent, { type: T }>['data'], m = 0) =>
  ({ type, data, metadata: metaAt(m) }) as Extract<IssueEvent, { type: T }>;
const cmd = <T extends IssueCommand['type']>(type: T, data: Extract<IssueCommand, { type: T }>['data'], m = 5) =>
  ({ type, data, metadata: metaAt(m) }) as Extract<IssueCommand, { type: T }>;

const detected = ev('IssueDetected', {
  issueId: 'iss-web',
  workload: web,
  resource: web,
  signal: 'pod_not_ready',
  source: 'watcher',
  anomalyId: 'an-1',
  description: 'pods not ready',
  signals: ['pod_not_ready'],
  riskScore: 20,
  severity: 'low',
  maxAttempts: 5,
});
const requested = ev('AnalysisRequested', { insightId: 'ins-1', attempt: 1, previousFailures: [], doNotRepeat: [] }, 1);
const completed = ev(
  'AnalysisCompleted',
  {
    insightId: 'ins-1',
    attempt: 1,
    analysis: 'pods not ready',
    confidence: 0.7,
    recommendations: [],
    suggestedActions: [{ name: 'restart', type: 'RestartDeployment', description: 'restart', params: {} }],
    provider: 'rules',
    model: 'rules-v1',
  },
  2,
);
const analysed = [detected, requested, completed] as const;
const defer = (rootIssueId = 'iss-api', insightId = 'ins-1') =>
  cmd('DeferRemediationToRoot', { rootIssueId, insightId, reason: 'Deployment shop/api, which it calls' });
const deferred = (rootIssueId = 'iss-api', m = 3) =>
  ev('IssueRemediationDeferred', { rootIssueId, insightId: 'ins-1', reason: 'Deployment shop/api, which it calls' }, m);

describe('remediation deferred to the root of a cascade', () => {
  it('records the wait once, and no plan starts while it lasts', () => {
    spec
      .given(...analysed)
      .when(defer())
      .expectEvents([
        {
          type: 'IssueRemediationDeferred',
          data: { rootIssueId: 'iss-api', insightId: 'ins-1', reason: 'Deployment shop/api, which it calls' },
        },
      ]);
    spec
      .given(...analysed, deferred())
      .when(defer())
      .expectNoEvents();
    spec
      .given(...analysed, deferred())
      .when(cmd('StartRemediation', { remediationId: 'ins-1-plan', source: 'ai-runbook' }))
      .expectRefusal('issue.remediation_deferred');
  });

  it('follows a root that changes, keeping when the wait began', () => {
    const events = spec
      .given(...analysed, deferred('iss-api', 3))
      .when(defer('iss-db'))
      .events();
    expect(events.map((e) => e.type)).toEqual(['IssueRemediationDeferred']);
    const state = spec.given(...analysed, deferred('iss-api', 3), ...events).state();
    expect(state.remediationDeferral).toMatchObject({ rootIssueId: 'iss-db', since: metaAt(3).occurredAt });
  });

  it('releases only a wait for the root named, and then lets the plan start', () => {
    spec
      .given(...analysed, deferred())
      .when(cmd('ReleaseRemediation', { rootIssueId: 'iss-other', reason: 'root_resolved' }))
      .expectNoEvents();
    spec
      .given(...analysed)
      .when(cmd('ReleaseRemediation', { rootIssueId: 'iss-api', reason: 'root_resolved' }))
      .expectNoEvents();
    const released = spec
      .given(...analysed, deferred())
      .when(cmd('ReleaseRemediation', { rootIssueId: 'iss-api', reason: 'root_escalated', detail: 'no fix' }))
      .expectEvents([
        {
          type: 'IssueRemediationReleased',
          data: { rootIssueId: 'iss-api', reason: 'root_escalated', detail: 'no fix' },
        },
      ]);
    spec
      .given(...analysed, deferred(), ...released)
      .when(cmd('StartRemediation', { remediationId: 'ins-1-plan', source: 'ai-runbook' }))
      .expectEvents([
        { type: 'RemediationStarted', data: { remediationId: 'ins-1-plan', attempt: 1, source: 'ai-runbook' } },
      ]);
  });

  it('defers only an analysed plan that has not started, never to the Issue itself', () => {
    spec.given(detected, requested).when(defer()).expectRefusal('issue.nothing_to_defer');
    spec
      .given(
        ...analysed,
        ev('RemediationStarted', { remediationId: 'ins-1-plan', attempt: 1, source: 'ai-runbook' }, 3),
      )
      .when(defer())
      .expectRefusal('issue.nothing_to_defer');
    spec
      .given(...analysed)
      .when(defer('iss-api', 'ins-0'))
      .expectRefusal('issue.insight_mismatch');
    spec
      .given(...analysed)
      .when(defer('iss-web'))
      .expectRefusal('issue.defer_to_self');
  });

  it('forgets the wait once the Issue ends', () => {
    const state = spec
      .given(
        ...analysed,
        deferred(),
        ev('IssueResolved', { resolution: 'manual', resolvedBy: 'ann', attempts: 0, durationSeconds: 60 }, 4),
      )
      .state();
    expect(state.remediationDeferral).toBeNull();
  });
});

describe('a dependant that recovers with its root', () => {
  const check = (rootIssueId = 'iss-api', m = 6) =>
    ev('IssueRecoveryCheckScheduled', { rootIssueId, dueAt: '2026-01-01T00:10:00.000Z' }, m);

  it('schedules one check for the root it waits for, and keeps the plan waiting until then', () => {
    spec
      .given(...analysed, deferred())
      .when(cmd('ScheduleRecoveryCheck', { rootIssueId: 'iss-api', dueAt: '2026-01-01T00:10:00.000Z' }))
      .expectEvents([
        { type: 'IssueRecoveryCheckScheduled', data: { rootIssueId: 'iss-api', dueAt: '2026-01-01T00:10:00.000Z' } },
      ]);
    // Again, or for a root it no longer waits for: nothing.
    spec
      .given(...analysed, deferred(), check())
      .when(cmd('ScheduleRecoveryCheck', { rootIssueId: 'iss-api', dueAt: '2026-01-01T00:20:00.000Z' }))
      .expectNoEvents();
    spec
      .given(...analysed, deferred())
      .when(cmd('ScheduleRecoveryCheck', { rootIssueId: 'iss-db', dueAt: '2026-01-01T00:10:00.000Z' }))
      .expectNoEvents();
    spec
      .given(...analysed, deferred())
      .when(cmd('ScheduleRecoveryCheck', { rootIssueId: 'iss-api', dueAt: 'soon' }))
      .expectRefusal('command.invalid_instant');
    spec
      .given(...analysed, deferred(), check())
      .when(cmd('StartRemediation', { remediationId: 'ins-1-plan', source: 'ai-runbook' }))
      .expectRefusal('issue.remediation_deferred');
  });

  it('resolves as recovered with its root, with no plan, and says so', () => {
    const events = spec
      .given(...analysed, deferred(), check())
      .when(cmd('ResolveRecoveredWithRoot', { rootIssueId: 'iss-api', detail: '2 of 2 replicas available' }, 7))
      .expectEvents([
        { type: 'IssueRecoveredWithRoot', data: { rootIssueId: 'iss-api', detail: '2 of 2 replicas available' } },
        {
          type: 'IssueResolved',
          data: {
            resolution: 'recovered_with_root',
            resolvedBy: 'operator',
            note: 'recovered with the root of its cascade, Issue iss-api',
            attempts: 0,
            durationSeconds: 420,
          },
        },
      ]);
    const state = spec.given(...analysed, deferred(), check(), ...events).state();
    expect(state.status).toBe('Resolved');
    expect(state.recoveredWithRoot).toEqual({ rootIssueId: 'iss-api', detail: '2 of 2 replicas available' });
    expect(state.remediationDeferral).toBeNull();
  });

  it('does not resolve an Issue whose plan was released or that waits for another root', () => {
    spec
      .given(
        ...analysed,
        deferred(),
        ev('IssueRemediationReleased', { rootIssueId: 'iss-api', reason: 'no_longer_dependant' }, 4),
      )
      .when(cmd('ResolveRecoveredWithRoot', { rootIssueId: 'iss-api', detail: 'healthy' }))
      .expectNoEvents();
    spec
      .given(...analysed, deferred('iss-db'))
      .when(cmd('ResolveRecoveredWithRoot', { rootIssueId: 'iss-api', detail: 'healthy' }))
      .expectNoEvents();
    spec
      .given(...analysed, deferred(), ev('IssueEscalated', { reason: 'manual', attempts: 0 }, 4))
      .when(cmd('ResolveRecoveredWithRoot', { rootIssueId: 'iss-api', detail: 'healthy' }))
      .expectRefusal('issue.already_escalated');
  });
});
