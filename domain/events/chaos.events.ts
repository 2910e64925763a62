import { type Static, Type } from '@sinclair/typebox';
import type { Event } from '../messages.ts';
import { Count, defineEvent, Id, IsoInstant, ShortText, strictObject } from './common.schema.ts';

/**
 * One ChaosExperiment's runs (`chaos-<namespace>.<name>`). A run is decided before anything changes: the planned
 * injection, with everything needed to take it back, is recorded first; the injection, its removal and what Cairn
 * did meanwhile follow as they happen, so a restarted operator takes back any fault a run left injected.
 */

const Run = Type.Integer({ minimum: 1 });
const Seconds = Type.Number({ minimum: 0 });

export const ChaosTargetSchema = strictObject({
  kind: Type.Union([
    Type.Literal('Deployment'),
    Type.Literal('StatefulSet'),
    Type.Literal('DaemonSet'),
    Type.Literal('Node'),
  ]),
  /** Empty for a Node. */
  namespace: Type.String({ maxLength: 63 }),
  name: Id,
});
export type ChaosTarget = Static<typeof ChaosTargetSchema>;

export const ChaosCheckSchema = strictObject({
  name: Type.String({ minLength: 1, maxLength: 64 }),
  passed: Type.Boolean(),
  detail: ShortText,
});
export type ChaosCheck = Static<typeof ChaosCheckSchema>;

export const ChaosTrigger = { Created: 'created', Edited: 'edited', Schedule: 'schedule' } as const;
export const RecoveryExpectation = { WorkloadReady: 'WorkloadReady', IssueResolved: 'IssueResolved' } as const;

export const ChaosRunStartedSchema = strictObject({
  run: Run,
  trigger: Type.Enum(ChaosTrigger),
  generation: Type.Integer({ minimum: 0 }),
  fault: strictObject({ type: Type.String({ minLength: 1, maxLength: 64 }), count: Type.Integer({ minimum: 1 }) }),
  target: ChaosTargetSchema,
  durationSeconds: Seconds,
  recovery: strictObject({
    expect: Type.Enum(RecoveryExpectation),
    withinSeconds: Seconds,
    slo: Type.Optional(Id),
  }),
  dryRun: Type.Boolean(),
  checks: Type.Array(ChaosCheckSchema, { maxItems: 16 }),
});
export type ChaosRunStartedData = Static<typeof ChaosRunStartedSchema>;

/** A check failed (or the fault cannot be produced here): nothing was changed. */
export const ChaosRunRefusedSchema = strictObject({ run: Run, code: Id, message: ShortText });

/**
 * The change about to be made and how to take it back: recorded before the change, so a fault can always be
 * reverted from the log alone. `plan` is the injector's own record (images, replicas, labels, pods).
 */
export const ChaosInjectionPlannedSchema = strictObject({
  run: Run,
  summary: ShortText,
  plan: Type.Record(Type.String(), Type.Unknown()),
  /** When the fault is taken back at the latest (the run's duration). */
  revertAt: IsoInstant,
  /** When the recovery assertion must hold (the run's deadline). */
  recoverBy: IsoInstant,
});
export type ChaosInjectionPlannedData = Static<typeof ChaosInjectionPlannedSchema>;

export const ChaosFaultInjectedSchema = strictObject({ run: Run, podsAffected: Count, summary: ShortText });
export const ChaosInjectionFailedSchema = strictObject({ run: Run, error: ShortText });

export const ChaosRevertReason = {
  Recovered: 'recovered',
  DurationElapsed: 'duration_elapsed',
  ExperimentDeleted: 'experiment_deleted',
  Disabled: 'disabled',
  SafetyCheckFailed: 'safety_check_failed',
  OperatorRestarted: 'operator_restarted',
  Replaced: 'replaced',
  InjectionFailed: 'injection_failed',
} as const;
export type ChaosRevertReason = (typeof ChaosRevertReason)[keyof typeof ChaosRevertReason];

export const ChaosRevertRequestedSchema = strictObject({
  run: Run,
  reason: Type.Enum(ChaosRevertReason),
  detail: ShortText,
});
export const ChaosFaultRevertedSchema = strictObject({
  run: Run,
  /** False when nothing was left to take back (Cairn or someone else had already undone it). */
  changed: Type.Boolean(),
  summary: ShortText,
});
export const ChaosRevertFailedSchema = strictObject({
  run: Run,
  error: ShortText,
  attempt: Type.Integer({ minimum: 1 }),
});

export const ChaosObservation = {
  /** The target was seen unhealthy after the injection. */
  FaultVisible: 'fault_visible',
  IssueDetected: 'issue_detected',
  PlanCreated: 'plan_created',
  IssueResolved: 'issue_resolved',
  IssueEscalated: 'issue_escalated',
  TargetRecovered: 'target_recovered',
} as const;
export type ChaosObservation = (typeof ChaosObservation)[keyof typeof ChaosObservation];

/** Something the run watches for happened; `at` is when it happened, not when it was noticed. */
export const ChaosObservedSchema = strictObject({
  run: Run,
  what: Type.Enum(ChaosObservation),
  at: IsoInstant,
  issueId: Type.Optional(Id),
  remediationId: Type.Optional(Id),
  /** issue_resolved: `remediated` or `manual`. */
  resolution: Type.Optional(Type.String({ maxLength: 32 })),
  detail: Type.Optional(ShortText),
});
export type ChaosObservedData = Static<typeof ChaosObservedSchema>;

export const ChaosOutcome = { Passed: 'passed', Failed: 'failed', Aborted: 'aborted', DryRun: 'dry_run' } as const;
export type ChaosOutcome = (typeof ChaosOutcome)[keyof typeof ChaosOutcome];

export const ChaosRunCompletedSchema = strictObject({
  run: Run,
  outcome: Type.Enum(ChaosOutcome),
  reason: ShortText,
  timeToDetectSeconds: Type.Optional(Seconds),
  timeToPlanSeconds: Type.Optional(Seconds),
  timeToRecoverSeconds: Type.Optional(Seconds),
  remediatedByCairn: Type.Boolean(),
  issueId: Type.Optional(Id),
});
export type ChaosRunCompletedData = Static<typeof ChaosRunCompletedSchema>;

export type ChaosRunStarted = Event<'ChaosRunStarted', ChaosRunStartedData>;
export type ChaosRunRefused = Event<'ChaosRunRefused', Static<typeof ChaosRunRefusedSchema>>;
export type ChaosInjectionPlanned = Event<'ChaosInjectionPlanned', ChaosInjectionPlannedData>;
export type ChaosFaultInjected = Event<'ChaosFaultInjected', Static<typeof ChaosFaultInjectedSchema>>;
export type ChaosInjectionFailed = Event<'ChaosInjectionFailed', Static<typeof ChaosInjectionFailedSchema>>;
export type ChaosRevertRequested = Event<'ChaosRevertRequested', Static<typeof ChaosRevertRequestedSchema>>;
export type ChaosFaultReverted = Event<'ChaosFaultReverted', Static<typeof ChaosFaultRevertedSchema>>;
export type ChaosRevertFailed = Event<'ChaosRevertFailed', Static<typeof ChaosRevertFailedSchema>>;
export type ChaosObserved = Event<'ChaosObserved', ChaosObservedData>;
export type ChaosRunCompleted = Event<'ChaosRunCompleted', ChaosRunCompletedData>;

export type ChaosEvent =
  | ChaosRunStarted
  | ChaosRunRefused
  | ChaosInjectionPlanned
  | ChaosFaultInjected
  | ChaosInjectionFailed
  | ChaosRevertRequested
  | ChaosFaultReverted
  | ChaosRevertFailed
  | ChaosObserved
  | ChaosRunCompleted;

// Changes to the cluster (planned, made, taken back) are audited; observations and verdicts are not.
export const chaosEventDefinitions = [
  defineEvent('ChaosRunStarted', ChaosRunStartedSchema, { audited: true }),
  defineEvent('ChaosRunRefused', ChaosRunRefusedSchema, { audited: false }),
  defineEvent('ChaosInjectionPlanned', ChaosInjectionPlannedSchema, { audited: true }),
  defineEvent('ChaosFaultInjected', ChaosFaultInjectedSchema, { audited: true }),
  defineEvent('ChaosInjectionFailed', ChaosInjectionFailedSchema, { audited: true }),
  defineEvent('ChaosRevertRequested', ChaosRevertRequestedSchema, { audited: true }),
  defineEvent('ChaosFaultReverted', ChaosFaultRevertedSchema, { audited: true }),
  defineEvent('ChaosRevertFailed', ChaosRevertFailedSchema, { audited: true }),
  defineEvent('ChaosObserved', ChaosObservedSchema, { audited: false }),
  defineEvent('ChaosRunCompleted', ChaosRunCompletedSchema, { audited: false }),
] as const;
