import { describe, expect, it } from 'vitest';
import type { ChaosEvent } from '../events/chaos.events.ts';
import { type ChaosCommand, type ChaosState, chaosDecider, RunPhase } from './chaos.decider.ts';

const T0 = Date.parse('2026-12-07T10:00:00Z');
const at = (seconds: number) => new Date(T0 + seconds * 1000).toISOString();

const start = (
  overrides: Partial<Extract<ChaosCommand, { type: 'StartRun' }>['data']> = {},
  seconds = 0,
): ChaosCommand => ({
  type: 'StartRun',
  data: {
    trigger: 'created',
    generation: 1,
    fault: { type: 'image_pull', count: 1 },
    target: { kind: 'Deployment', namespace: 'shop', name: 'web' },
    durationSeconds: 120,
    recovery: { expect: 'IssueResolved', withinSeconds: 180 },
    dryRun: false,
    checks: [{ name: 'target', passed: true, detail: 'Deployment shop/web exists' }],
    plan: { summary: 'set the image of web to web:1-nonexistent', plan: { version: 1 } },
    ...overrides,
  },
  metadata: { occurredAt: at(seconds), actor: 'system:chaos' },
});

const cmd = <T extends ChaosCommand['type']>(
  type: T,
  data: Extract<ChaosCommand, { type: T }>['data'],
  seconds: number,
) => ({ type, data, metadata: { occurredAt: at(seconds), actor: 'system:chaos' } }) as ChaosCommand;

/** Runs commands through decide + evolve as the command handler does, returning the state and every event. */
function play(commands: ChaosCommand[]): { state: ChaosState; events: ChaosEvent[] } {
  let state = chaosDecider.initialState();
  const events: ChaosEvent[] = [];
  for (const c of commands) {
    const produced = chaosDecider.decide(c, state);
    events.push(...produced);
    state = produced.reduce(chaosDecider.evolve, state);
  }
  return { state, events };
}

describe('a chaos run', () => {
  it('is refused with the failed check and changes nothing', () => {
    const { state, events } = play([
      start({ refusal: { code: 'too_many_pods', message: 'the fault reaches every replica' } }),
    ]);
    expect(events.map((e) => e.type)).toEqual(['ChaosRunStarted', 'ChaosRunRefused']);
    expect(state.current?.phase).toBe(RunPhase.Refused);
    // A refused run is over: the next one may start.
    expect(play([start({ refusal: { code: 'x', message: 'y' } }), start({}, 5)]).state.current?.run).toBe(2);
  });

  it('as a dry run records what it would do and injects nothing', () => {
    const { events, state } = play([start({ dryRun: true })]);
    expect(events.map((e) => e.type)).toEqual(['ChaosRunStarted', 'ChaosRunCompleted']);
    expect(state.current?.completed).toMatchObject({ outcome: 'dry_run' });
    expect(state.current?.completed?.reason).toContain('would set the image of web');
  });

  it('records the plan with its deadlines before the change, then refuses a second run while it is under way', () => {
    const { events, state } = play([start()]);
    expect(events[1]).toMatchObject({ type: 'ChaosInjectionPlanned', data: { revertAt: at(120), recoverBy: at(180) } });
    expect(() => chaosDecider.decide(start({}, 1), state)).toThrow(/still under way/);
  });

  it('passes when Cairn resolves the Issue and the target recovers: the fault is taken back first, figures from the injection', () => {
    const { events, state } = play([
      start(),
      cmd('RecordInjection', { run: 1, podsAffected: 3, summary: 'injected' }, 1),
      cmd('Observe', { run: 1, what: 'fault_visible', at: at(2) }, 2),
      cmd('Observe', { run: 1, what: 'issue_detected', at: at(4), issueId: 'iss-1' }, 4),
      cmd('Observe', { run: 1, what: 'plan_created', at: at(5), issueId: 'iss-1', remediationId: 'rem-1' }, 5),
      cmd('Observe', { run: 1, what: 'target_recovered', at: at(9) }, 9),
      cmd('Judge', { run: 1 }, 9),
    ]);
    // Recovered but no resolved Issue yet: IssueResolved waits.
    expect(events.at(-1)?.type).toBe('ChaosObserved');
    const after = play([
      ...[start(), cmd('RecordInjection', { run: 1, podsAffected: 3, summary: 'injected' }, 1)],
      cmd('Observe', { run: 1, what: 'fault_visible', at: at(2) }, 2),
      cmd('Observe', { run: 1, what: 'issue_detected', at: at(4), issueId: 'iss-1' }, 4),
      cmd('Observe', { run: 1, what: 'plan_created', at: at(5), issueId: 'iss-1', remediationId: 'rem-1' }, 5),
      cmd('Observe', { run: 1, what: 'target_recovered', at: at(9) }, 9),
      cmd('Observe', { run: 1, what: 'issue_resolved', at: at(10), issueId: 'iss-1', resolution: 'remediated' }, 10),
      cmd('Judge', { run: 1 }, 10),
      cmd('RecordRevert', { run: 1, changed: false, summary: 'nothing left to take back' }, 11),
      cmd('Judge', { run: 1 }, 11),
    ]);
    expect(state.current?.phase).toBe(RunPhase.Injected);
    expect(after.events.find((e) => e.type === 'ChaosRevertRequested')?.data).toMatchObject({ reason: 'recovered' });
    expect(after.state.current?.completed).toMatchObject({
      outcome: 'passed',
      timeToDetectSeconds: 3,
      timeToPlanSeconds: 4,
      timeToRecoverSeconds: 8,
      remediatedByCairn: true,
      issueId: 'iss-1',
    });
  });

  it('takes the fault back when its duration ends, and passes WorkloadReady without crediting Cairn', () => {
    const { state, events } = play([
      start({ recovery: { expect: 'WorkloadReady', withinSeconds: 300 } }),
      cmd('RecordInjection', { run: 1, podsAffected: 1, summary: 'injected' }, 1),
      cmd('Observe', { run: 1, what: 'fault_visible', at: at(2) }, 2),
      cmd('Judge', { run: 1 }, 119),
      cmd('Judge', { run: 1 }, 120),
      cmd('RecordRevert', { run: 1, changed: true, summary: 'image restored' }, 121),
      cmd('Observe', { run: 1, what: 'target_recovered', at: at(130) }, 130),
      cmd('Judge', { run: 1 }, 130),
    ]);
    expect(events.filter((e) => e.type === 'ChaosRevertRequested').map((e) => e.data)).toEqual([
      expect.objectContaining({ reason: 'duration_elapsed' }),
    ]);
    expect(state.current?.completed).toMatchObject({
      outcome: 'passed',
      remediatedByCairn: false,
      timeToRecoverSeconds: 129,
    });
  });

  it('fails when the deadline passes without recovery', () => {
    const { state } = play([
      start({ durationSeconds: 600, recovery: { expect: 'IssueResolved', withinSeconds: 60 } }),
      cmd('RecordInjection', { run: 1, podsAffected: 1, summary: 'injected' }, 1),
      cmd('Judge', { run: 1 }, 60),
      cmd('RecordRevert', { run: 1, changed: true, summary: 'image restored' }, 61),
      cmd('Judge', { run: 1 }, 61),
    ]);
    expect(state.current?.completed).toMatchObject({ outcome: 'failed' });
    expect(state.current?.completed?.reason).toMatch(/not recovered by .*an Issue resolved by remediation/);
  });

  it('is aborted, not judged, when it is taken back for deletion, a restart or a failed safety check', () => {
    for (const reason of ['experiment_deleted', 'operator_restarted', 'safety_check_failed'] as const) {
      const { state } = play([
        start(),
        cmd('RecordInjection', { run: 1, podsAffected: 1, summary: 'injected' }, 1),
        cmd('RequestRevert', { run: 1, reason, detail: 'because' }, 3),
        cmd('RequestRevert', { run: 1, reason: 'disabled', detail: 'twice' }, 3),
        cmd('RecordRevert', { run: 1, changed: true, summary: 'restored' }, 4),
        cmd('Judge', { run: 1 }, 4),
      ]);
      expect(state.current?.completed).toMatchObject({ outcome: 'aborted' });
      expect(state.current?.completed?.reason).toContain(reason);
    }
  });

  it('keeps retrying a failed revert, counting attempts, and never completes with the fault still in', () => {
    const { state } = play([
      start(),
      cmd('RecordInjection', { run: 1, podsAffected: 1, summary: 'injected' }, 1),
      cmd('RequestRevert', { run: 1, reason: 'experiment_deleted', detail: 'deleted' }, 2),
      cmd('RecordRevertFailure', { run: 1, error: 'connection refused' }, 3),
      cmd('RecordRevertFailure', { run: 1, error: 'connection refused' }, 4),
      cmd('Judge', { run: 1 }, 999),
    ]);
    expect(state.current).toMatchObject({
      phase: RunPhase.Reverting,
      revertFailures: 2,
      lastRevertError: 'connection refused',
    });
  });

  it('a failed injection is taken back (whatever part of it was made) and the run aborted', () => {
    const { events } = play([
      start(),
      cmd('RecordInjectionFailure', { run: 1, error: 'forbidden' }, 1),
      cmd('RecordRevert', { run: 1, changed: false, summary: 'nothing to take back' }, 2),
      cmd('Judge', { run: 1 }, 2),
    ]);
    expect(events.map((e) => e.type)).toEqual([
      'ChaosRunStarted',
      'ChaosInjectionPlanned',
      'ChaosInjectionFailed',
      'ChaosRevertRequested',
      'ChaosFaultReverted',
      'ChaosRunCompleted',
    ]);
    expect(events.at(-1)?.data).toMatchObject({ outcome: 'aborted' });
  });

  it('ignores what happened before the run, records each observation once, and refuses commands for another run', () => {
    const { events } = play([
      start({}, 10),
      cmd('RecordInjection', { run: 1, podsAffected: 1, summary: 'injected' }, 11),
      cmd('Observe', { run: 1, what: 'issue_detected', at: at(5), issueId: 'old' }, 12),
      cmd('Observe', { run: 1, what: 'issue_detected', at: at(12), issueId: 'new' }, 12),
      cmd('Observe', { run: 1, what: 'issue_detected', at: at(13), issueId: 'again' }, 13),
    ]);
    expect(
      events.filter((e) => e.type === 'ChaosObserved').map((e) => (e.data as { issueId?: string }).issueId),
    ).toEqual(['new']);
    expect(() => play([start(), cmd('Judge', { run: 7 }, 1)])).toThrow(/not this experiment's current run/);
  });
});
