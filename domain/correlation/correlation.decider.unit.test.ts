import { describe, expect, it } from 'vitest';
import { ErrorCategory } from '../errors.ts';
import { deciderSpec, metaAt, minutesAfterBase } from '../testing/decider.spec.ts';
import type { RecordAnomaly } from './correlation.commands.ts';
import { type CorrelationEvent, correlationDecider } from './correlation.decider.ts';

const spec = deciderSpec(correlationDecider);
const workload = { kind: 'Deployment', name: 'checkout', namespace: 'shop' };
const pod = { kind: 'Pod', name: 'checkout-7d9f-abcde', namespace: 'shop' };
// Stand-ins for SHA-256 digests the application computes from dedupKeyInput.
const OOM_KEY = 'a'.repeat(64);
const RESTART_KEY = 'b'.repeat(64);
const HOURS = 60;

const record = (anomalyId: string, minute: number, overrides: Partial<RecordAnomaly['data']> = {}): RecordAnomaly => ({
  type: 'RecordAnomaly',
  data: {
    anomalyId,
    dedupKey: OOM_KEY,
    signal: 'oom_kill',
    source: 'watcher',
    resource: pod,
    workload,
    message: 'container app was OOMKilled',
    observedAt: minutesAfterBase(minute),
    issueIdIfNew: `iss-for-${anomalyId}`,
    ...overrides,
  },
  metadata: metaAt(minute, 'system:watcher'),
});

const close = (issueId: string, minute: number, outcome: 'resolved' | 'escalated' = 'resolved') =>
  ({ type: 'CloseCorrelatedIssue', data: { issueId, outcome }, metadata: metaAt(minute) }) as const;

const run = spec.history;

describe('Correlation decider', () => {
  it('records the first anomaly of a workload and opens an Issue for it', () => {
    spec
      .given()
      .when(record('an-1', 0))
      .expectEvents([
        {
          type: 'AnomalyDetected',
          data: {
            anomalyId: 'an-1',
            dedupKey: OOM_KEY,
            signal: 'oom_kill',
            source: 'watcher',
            resource: pod,
            workload,
            message: 'container app was OOMKilled',
            observedAt: minutesAfterBase(0),
            dedupExpiresAt: minutesAfterBase(2 * HOURS),
          },
        },
        {
          type: 'CorrelationIssueOpened',
          data: { issueId: 'iss-for-an-1', anomalyId: 'an-1', signal: 'oom_kill', workload },
        },
      ]);
  });

  it('joins a new signal on the same workload to its open Issue', () => {
    const events = spec
      .given(...run(record('an-1', 0)))
      .when(record('an-2', 5, { dedupKey: RESTART_KEY, signal: 'pod_restart' }))
      .events();
    expect(events.map((event) => event.type)).toEqual(['AnomalyDetected', 'AnomalyJoinedIssue']);
    expect(events[0]?.data).toMatchObject({ anomalyId: 'an-2', dedupKey: RESTART_KEY, signal: 'pod_restart' });
    expect(events[1]?.data).toEqual({ issueId: 'iss-for-an-1', anomalyId: 'an-2', signal: 'pod_restart', workload });
  });

  it('deduplicates the same signal on the same workload within 2 hours', () => {
    const history = run(record('an-1', 0));
    spec
      .given(...history)
      .when(record('an-2', 2 * HOURS - 1))
      .expectEvents([
        {
          type: 'AnomalyDeduplicated',
          data: {
            anomalyId: 'an-2',
            dedupKey: OOM_KEY,
            signal: 'oom_kill',
            workload,
            duplicateOf: 'an-1',
            dedupExpiresAt: minutesAfterBase(2 * HOURS),
            issueId: 'iss-for-an-1',
          },
        },
      ]);
  });

  it('records the same signal again once the 2-hour window has passed, joining the still-open Issue', () => {
    const events = spec
      .given(...run(record('an-1', 0)))
      .when(record('an-2', 2 * HOURS))
      .events();
    expect(events.map((event) => event.type)).toEqual(['AnomalyDetected', 'AnomalyJoinedIssue']);
    expect(events[0]?.data).toMatchObject({ dedupExpiresAt: minutesAfterBase(4 * HOURS) });
  });

  it('ignores the same anomaly recorded twice (a retried command)', () => {
    spec
      .given(...run(record('an-1', 0)))
      .when(record('an-1', 1))
      .expectNoEvents();
  });

  it('records an anomaly id once: the same alert firing delivered again after its Issue resolved opens nothing', () => {
    // Alertmanager re-sends a firing it already sent (same fingerprint and start, so the same id) every repeat
    // interval; recording it twice put its Anomaly twice on one Issue, which the API server refuses.
    spec
      .given(...run(record('alert-1', 0), close('iss-for-alert-1', 30)))
      .when(record('alert-1', 31, { issueIdIfNew: 'iss-second' }))
      .expectNoEvents();
  });

  it('records an anomaly id once, even after its dedup window has passed', () => {
    spec
      .given(...run(record('alert-1', 0)))
      .when(record('alert-1', 3 * HOURS))
      .expectNoEvents();
  });

  it('reports a duplicate once: delivering it again appends nothing more', () => {
    spec
      .given(...run(record('an-1', 0), record('an-2', 1)))
      .when(record('an-2', 2))
      .expectNoEvents();
  });

  it('a new firing of the same alert after resolution (a new id) is a new anomaly and a new Issue', () => {
    const events = spec
      .given(...run(record('alert-1', 0), close('iss-for-alert-1', 30)))
      .when(record('alert-2', 40))
      .events();
    expect(events.map((event) => event.type)).toEqual(['AnomalyDetected', 'CorrelationIssueOpened']);
  });

  it('closes a resolved Issue, invalidating every dedup key of the workload', () => {
    const history = run(record('an-1', 0), record('an-2', 1, { dedupKey: RESTART_KEY, signal: 'pod_restart' }));
    const when = spec.given(...history).when(close('iss-for-an-1', 30, 'resolved'));
    when.expectEvents([
      {
        type: 'CorrelationIssueClosed',
        data: { issueId: 'iss-for-an-1', outcome: 'resolved', invalidatedDedupKeys: [OOM_KEY, RESTART_KEY] },
      },
    ]);
    expect(when.stateAfter()).toMatchObject({ workload, openIssueId: null, dedup: {} });
  });

  it('closes an escalated Issue but keeps its dedup keys: the same fault does not reopen, another signal does', () => {
    const history = run(record('an-1', 0), close('iss-for-an-1', 30, 'escalated'));
    const same = spec
      .given(...history)
      .when(record('an-3', 31))
      .events();
    expect(same).toMatchObject([{ type: 'AnomalyDeduplicated', data: { anomalyId: 'an-3', duplicateOf: 'an-1' } }]);
    const other = spec
      .given(...history)
      .when(record('an-4', 32, { dedupKey: RESTART_KEY, signal: 'pod_restart' }))
      .events();
    expect(other.map((event) => event.type)).toEqual(['AnomalyDetected', 'CorrelationIssueOpened']);
  });

  it('detects a recurrence right after the Issue ends, opening a new Issue', () => {
    const history = run(record('an-1', 0), close('iss-for-an-1', 30));
    const events = spec
      .given(...history)
      .when(record('an-3', 31))
      .events();
    expect(events.map((event) => event.type)).toEqual(['AnomalyDetected', 'CorrelationIssueOpened']);
    expect(events[1]?.data).toMatchObject({ issueId: 'iss-for-an-3' });
  });

  it('reports a duplicate without an Issue when none is open', () => {
    // Anomalies recorded with no open Issue cannot happen through decide, but history written by hand can.
    const history = run(record('an-1', 0));
    const withoutIssue = history.filter((event) => event.type === 'AnomalyDetected');
    const [event] = spec
      .given(...withoutIssue)
      .when(record('an-2', 1))
      .events();
    expect(event?.type).toBe('AnomalyDeduplicated');
    expect(event?.data).not.toHaveProperty('issueId');
  });

  it('prunes expired dedup entries as new anomalies arrive', () => {
    const history = run(record('an-1', 0), record('an-2', 3 * HOURS, { dedupKey: RESTART_KEY, signal: 'pod_restart' }));
    expect(Object.keys(spec.given(...history).state().dedup)).toEqual([RESTART_KEY]);
  });

  it('refuses a dedup key that is not a SHA-256 hex digest', () => {
    spec
      .given()
      .when(record('an-1', 0, { dedupKey: 'oom_kill|Deployment|checkout|shop' }))
      .expectRefusal('correlation.invalid_dedup_key', ErrorCategory.Validation);
  });

  it('refuses an anomaly for another workload than the stream', () => {
    spec
      .given(...run(record('an-1', 0)))
      .when(record('an-2', 1, { workload: { ...workload, name: 'payments' } }))
      .expectRefusal('correlation.workload_mismatch', ErrorCategory.Validation);
  });

  it('refuses to close an Issue that is not the open one', () => {
    spec.given().when(close('iss-x', 1)).expectRefusal('correlation.issue_not_open', ErrorCategory.IllegalState);
    spec
      .given(...run(record('an-1', 0)))
      .when(close('iss-x', 1))
      .expectRefusal('correlation.issue_not_open');
    spec
      .given(...run(record('an-1', 0), close('iss-for-an-1', 2)))
      .when(close('iss-for-an-1', 3))
      .expectRefusal('correlation.issue_not_open');
  });

  it('refuses a command whose time cannot be read', () => {
    spec
      .given()
      .when({ ...record('an-1', 0), metadata: { occurredAt: 'soon' } })
      .expectRefusal('command.invalid_instant');
  });

  it('ignores events it does not know', () => {
    const state = spec.given(...run(record('an-1', 0))).state();
    const stranger = { type: 'IssueDetected', data: {}, metadata: metaAt(0) } as unknown as CorrelationEvent;
    expect(correlationDecider.evolve(state, stranger)).toBe(state);
  });
});
