import { assertNever, clip, withoutUndefined } from '../decision.ts';
import {
  type ChaosEvent,
  type ChaosInjectionPlannedData,
  ChaosObservation,
  type ChaosObservedData,
  ChaosOutcome,
  ChaosRevertReason,
  type ChaosRunCompletedData,
  type ChaosRunStartedData,
  RecoveryExpectation,
} from '../events/chaos.events.ts';
import type { Command, Decider } from '../messages.ts';
import { refuse } from '../refusals.ts';
import { plusMs, requireInstant, secondsBetween } from '../time.ts';

/**
 * One ChaosExperiment's runs. A run is: started (with its safety checks) → refused, or completed at once as a dry
 * run, or planned (the change and how to take it back) → injected → revert requested → reverted → completed with
 * its verdict and figures. The decider never touches the cluster: the module makes the change an event asks for
 * and records what happened, and asks `Judge` on every tick, which is where deadlines and the verdict are decided.
 */

export const RunPhase = {
  Refused: 'refused',
  Planned: 'planned',
  Injected: 'injected',
  Reverting: 'reverting',
  Reverted: 'reverted',
  Completed: 'completed',
} as const;
export type RunPhase = (typeof RunPhase)[keyof typeof RunPhase];

export interface ChaosRun {
  readonly run: number;
  readonly started: ChaosRunStartedData;
  readonly startedAt: string;
  readonly phase: RunPhase;
  readonly refusal?: { readonly code: string; readonly message: string };
  readonly planned?: ChaosInjectionPlannedData;
  readonly injectedAt?: string;
  readonly podsAffected?: number;
  readonly injectionError?: string;
  readonly revertReason?: ChaosRevertReason;
  readonly revertDetail?: string;
  readonly revertRequestedAt?: string;
  readonly revertedAt?: string;
  readonly revertChanged?: boolean;
  readonly revertFailures: number;
  readonly lastRevertError?: string;
  readonly observed: Readonly<Partial<Record<ChaosObservation, ChaosObservedData>>>;
  readonly completed?: ChaosRunCompletedData;
  readonly completedAt?: string;
}

export interface ChaosState {
  readonly runs: number;
  /** The latest run, finished or not. */
  readonly current: ChaosRun | null;
}

export const initialChaosState = (): ChaosState => ({ runs: 0, current: null });

/** A run that may still have a fault in the cluster, or whose verdict is still open. */
export const isActive = (run: ChaosRun | null): run is ChaosRun =>
  run !== null && run.phase !== RunPhase.Completed && run.phase !== RunPhase.Refused;

/** A run whose fault may be in the cluster: planned (the change may have been made) and not yet taken back. */
export const mayBeInjected = (run: ChaosRun | null): run is ChaosRun =>
  run !== null &&
  (run.phase === RunPhase.Planned || run.phase === RunPhase.Injected || run.phase === RunPhase.Reverting);

type Meta = Command['metadata'];
export type ChaosCommand =
  | Command<
      'StartRun',
      Omit<ChaosRunStartedData, 'run'> & {
        readonly refusal?: { readonly code: string; readonly message: string };
        readonly plan?: { readonly summary: string; readonly plan: Record<string, unknown> };
      }
    >
  | Command<'RecordInjection', { readonly run: number; readonly podsAffected: number; readonly summary: string }>
  | Command<'RecordInjectionFailure', { readonly run: number; readonly error: string }>
  | Command<'RequestRevert', { readonly run: number; readonly reason: ChaosRevertReason; readonly detail: string }>
  | Command<'RecordRevert', { readonly run: number; readonly changed: boolean; readonly summary: string }>
  | Command<'RecordRevertFailure', { readonly run: number; readonly error: string }>
  | Command<'Observe', Omit<ChaosObservedData, 'run'> & { readonly run: number }>
  | Command<'Judge', { readonly run: number }>;

const event = <T extends ChaosEvent['type']>(type: T, data: Extract<ChaosEvent, { type: T }>['data'], metadata: Meta) =>
  ({ type, data, metadata }) as Extract<ChaosEvent, { type: T }>;

const updateRun = (state: ChaosState, run: number, change: (r: ChaosRun) => ChaosRun): ChaosState =>
  state.current !== null && state.current.run === run ? { ...state, current: change(state.current) } : state;

export const evolveChaos = (state: ChaosState, e: ChaosEvent): ChaosState => {
  const at = e.metadata.occurredAt;
  switch (e.type) {
    case 'ChaosRunStarted':
      return {
        runs: Math.max(state.runs, e.data.run),
        current: {
          run: e.data.run,
          started: e.data,
          startedAt: at,
          phase: RunPhase.Planned,
          revertFailures: 0,
          observed: {},
        },
      };
    case 'ChaosRunRefused':
      return updateRun(state, e.data.run, (r) => ({
        ...r,
        phase: RunPhase.Refused,
        refusal: { code: e.data.code, message: e.data.message },
        completedAt: at,
      }));
    case 'ChaosInjectionPlanned':
      return updateRun(state, e.data.run, (r) => ({ ...r, phase: RunPhase.Planned, planned: e.data }));
    case 'ChaosFaultInjected':
      return updateRun(state, e.data.run, (r) => ({
        ...r,
        phase: RunPhase.Injected,
        injectedAt: at,
        podsAffected: e.data.podsAffected,
      }));
    case 'ChaosInjectionFailed':
      return updateRun(state, e.data.run, (r) => ({ ...r, injectionError: e.data.error }));
    case 'ChaosRevertRequested':
      return updateRun(state, e.data.run, (r) => ({
        ...r,
        phase: RunPhase.Reverting,
        revertReason: e.data.reason,
        revertDetail: e.data.detail,
        revertRequestedAt: at,
      }));
    case 'ChaosFaultReverted':
      return updateRun(state, e.data.run, (r) => ({
        ...r,
        phase: RunPhase.Reverted,
        revertedAt: at,
        revertChanged: e.data.changed,
      }));
    case 'ChaosRevertFailed':
      return updateRun(state, e.data.run, (r) => ({
        ...r,
        revertFailures: e.data.attempt,
        lastRevertError: e.data.error,
      }));
    case 'ChaosObserved':
      return updateRun(state, e.data.run, (r) =>
        r.observed[e.data.what] ? r : { ...r, observed: { ...r.observed, [e.data.what]: e.data } },
      );
    case 'ChaosRunCompleted':
      return updateRun(state, e.data.run, (r) => ({
        ...r,
        phase: RunPhase.Completed,
        completed: e.data,
        completedAt: at,
      }));
    default:
      return assertNever(e, 'chaos event');
  }
};

const seconds = (from: string | undefined, to: string | undefined): number | undefined =>
  from === undefined || to === undefined ? undefined : Math.round(secondsBetween(from, to) * 1000) / 1000;

/** Whether the run's recovery assertion holds on what has been observed. Pure. */
export const recoveryHolds = (run: ChaosRun): boolean => {
  const recovered = run.observed[ChaosObservation.TargetRecovered] !== undefined;
  if (run.started.recovery.expect === RecoveryExpectation.WorkloadReady) return recovered;
  return recovered && run.observed[ChaosObservation.IssueResolved]?.resolution === 'remediated';
};

/** The figures of a run, from the injection: detection, first plan, recovery; and whether Cairn's fix did it. */
export const runFigures = (run: ChaosRun) => {
  const from = run.injectedAt;
  const recovered = run.observed[ChaosObservation.TargetRecovered];
  const resolved = run.observed[ChaosObservation.IssueResolved];
  // Cairn did it when its remediation resolved the Issue and the target was back before the fault was taken back.
  const beforeRevert =
    recovered !== undefined &&
    (run.revertRequestedAt === undefined || run.revertReason === ChaosRevertReason.Recovered);
  return withoutUndefined({
    timeToDetectSeconds: seconds(from, run.observed[ChaosObservation.IssueDetected]?.at),
    timeToPlanSeconds: seconds(from, run.observed[ChaosObservation.PlanCreated]?.at),
    timeToRecoverSeconds: seconds(from, recovered?.at),
    remediatedByCairn: beforeRevert && resolved?.resolution === 'remediated',
    issueId: run.observed[ChaosObservation.IssueDetected]?.issueId,
  });
};

const abortReasons: readonly ChaosRevertReason[] = [
  ChaosRevertReason.ExperimentDeleted,
  ChaosRevertReason.Disabled,
  ChaosRevertReason.SafetyCheckFailed,
  ChaosRevertReason.OperatorRestarted,
  ChaosRevertReason.Replaced,
  ChaosRevertReason.InjectionFailed,
];

/** What `Judge` decides for an active run at `now`: a revert that is due, the verdict, or nothing yet. */
function judge(run: ChaosRun, now: string, metadata: Meta): ChaosEvent[] {
  const planned = run.planned;
  if (planned === undefined) return [];
  const nowMs = requireInstant(now, 'Judge time');
  const holds = recoveryHolds(run);
  const overdue = nowMs >= Date.parse(planned.recoverBy);
  if (run.phase === RunPhase.Injected) {
    if (holds) {
      return [
        event(
          'ChaosRevertRequested',
          { run: run.run, reason: ChaosRevertReason.Recovered, detail: 'the recovery assertion holds' },
          metadata,
        ),
      ];
    }
    if (nowMs >= Date.parse(planned.revertAt) || overdue) {
      const detail = overdue
        ? `the recovery deadline ${planned.recoverBy} passed with the fault still injected`
        : `the fault has been injected for its whole duration (${run.started.durationSeconds}s)`;
      return [
        event('ChaosRevertRequested', { run: run.run, reason: ChaosRevertReason.DurationElapsed, detail }, metadata),
      ];
    }
    return [];
  }
  if (run.phase !== RunPhase.Reverted) return [];
  const figures = runFigures(run);
  const complete = (outcome: ChaosOutcome, reason: string) => [
    event('ChaosRunCompleted', { run: run.run, outcome, reason: clip(reason), ...figures }, metadata),
  ];
  if (run.revertReason !== undefined && abortReasons.includes(run.revertReason)) {
    return complete(ChaosOutcome.Aborted, `aborted (${run.revertReason}): ${run.revertDetail ?? ''}`.trim());
  }
  if (holds) {
    const how = figures.remediatedByCairn
      ? "Cairn's remediation brought it back"
      : 'it came back without Cairn remediating it';
    const after =
      figures.timeToRecoverSeconds === undefined ? '' : ` ${figures.timeToRecoverSeconds}s after the injection`;
    return complete(ChaosOutcome.Passed, `recovered${after}: ${how}`);
  }
  if (overdue) {
    const expected =
      run.started.recovery.expect === RecoveryExpectation.IssueResolved
        ? 'an Issue resolved by remediation and the target healthy'
        : 'the target healthy';
    return complete(ChaosOutcome.Failed, `not recovered by ${planned.recoverBy}: expected ${expected}`);
  }
  return [];
}

const refuseNoRun = (run: number): never => {
  throw refuse('chaos.no_such_run', `run ${run} is not this experiment's current run`, { run });
};

export function decideChaos(command: ChaosCommand, state: ChaosState): ChaosEvent[] {
  const m = command.metadata;
  const current = state.current;
  if (command.type === 'StartRun') {
    if (isActive(current)) {
      throw refuse('chaos.run_active', `run ${current.run} is still under way`, { run: current.run });
    }
    const at = requireInstant(m.occurredAt, 'StartRun time');
    const { refusal, plan, ...started } = command.data;
    const run = state.runs + 1;
    const events: ChaosEvent[] = [event('ChaosRunStarted', { ...started, run }, m)];
    if (refusal !== undefined) {
      events.push(event('ChaosRunRefused', { run, code: refusal.code, message: clip(refusal.message) }, m));
      return events;
    }
    if (plan === undefined) throw refuse('chaos.no_plan', 'a run that is not refused needs the injection plan');
    if (started.dryRun) {
      events.push(
        event(
          'ChaosRunCompleted',
          {
            run,
            outcome: ChaosOutcome.DryRun,
            reason: clip(`dry run, nothing injected; would ${plan.summary}`),
            remediatedByCairn: false,
          },
          m,
        ),
      );
      return events;
    }
    const iso = new Date(at).toISOString();
    events.push(
      event(
        'ChaosInjectionPlanned',
        {
          run,
          summary: clip(plan.summary),
          plan: plan.plan,
          revertAt: plusMs(iso, started.durationSeconds * 1000) ?? iso,
          recoverBy: plusMs(iso, started.recovery.withinSeconds * 1000) ?? iso,
        },
        m,
      ),
    );
    return events;
  }
  const run = current !== null && current.run === command.data.run ? current : refuseNoRun(command.data.run);
  switch (command.type) {
    case 'RecordInjection':
      return run.phase === RunPhase.Planned
        ? [
            event(
              'ChaosFaultInjected',
              { run: run.run, podsAffected: command.data.podsAffected, summary: clip(command.data.summary) },
              m,
            ),
          ]
        : [];
    case 'RecordInjectionFailure':
      if (run.phase !== RunPhase.Planned) return [];
      return [
        event('ChaosInjectionFailed', { run: run.run, error: clip(command.data.error) }, m),
        event(
          'ChaosRevertRequested',
          { run: run.run, reason: ChaosRevertReason.InjectionFailed, detail: clip(command.data.error) },
          m,
        ),
      ];
    case 'RequestRevert':
      return run.phase === RunPhase.Planned || run.phase === RunPhase.Injected
        ? [
            event(
              'ChaosRevertRequested',
              { run: run.run, reason: command.data.reason, detail: clip(command.data.detail) },
              m,
            ),
          ]
        : [];
    case 'RecordRevert':
      return run.phase === RunPhase.Reverting
        ? [
            event(
              'ChaosFaultReverted',
              { run: run.run, changed: command.data.changed, summary: clip(command.data.summary) },
              m,
            ),
          ]
        : [];
    case 'RecordRevertFailure':
      return run.phase === RunPhase.Reverting
        ? [
            event(
              'ChaosRevertFailed',
              { run: run.run, error: clip(command.data.error), attempt: run.revertFailures + 1 },
              m,
            ),
          ]
        : [];
    case 'Observe': {
      if (!isActive(run) || run.planned === undefined || run.observed[command.data.what] !== undefined) return [];
      // Only what happened once the fault was decided belongs to the run (the plan is recorded just before the change).
      if (Date.parse(command.data.at) < Date.parse(run.startedAt)) return [];
      return [event('ChaosObserved', withoutUndefined({ ...command.data, run: run.run }), m)];
    }
    case 'Judge':
      return isActive(run) ? judge(run, m.occurredAt, m) : [];
    default:
      return assertNever(command, 'chaos command');
  }
}

export const chaosDecider: Decider<ChaosState, ChaosCommand, ChaosEvent> = {
  initialState: initialChaosState,
  evolve: evolveChaos,
  decide: decideChaos,
};
