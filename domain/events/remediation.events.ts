import { type Static, Type } from '@sinclair/typebox';
import type { Event } from '../messages.ts';
import {
  ActionParams,
  ActionSpec,
  ActionType,
  Actor,
  Count,
  defineEvent,
  Id,
  IsoInstant,
  RemediationSource,
  ResourceRef,
  ShortText,
  strictObject,
  Text,
} from './common.schema.ts';

export const RemediationStatus = {
  None: 'None',
  Pending: 'Pending',
  WaitingApproval: 'WaitingApproval',
  Snapshotting: 'Snapshotting',
  Executing: 'Executing',
  Verifying: 'Verifying',
  RollingBack: 'RollingBack',
  Completed: 'Completed',
  RolledBack: 'RolledBack',
  Failed: 'Failed',
} as const;
export type RemediationStatus = (typeof RemediationStatus)[keyof typeof RemediationStatus];

/** What made a remediation roll back. */
export const RollbackTrigger = {
  ActionFailed: 'action_failed',
  ActionRefused: 'action_refused',
  VerificationFailed: 'verification_failed',
  AgenticStepBudgetExhausted: 'agentic_step_budget_exhausted',
  AgenticDeadlineExceeded: 'agentic_deadline_exceeded',
  /** The AI said nothing it could still try would help. */
  AgenticGaveUp: 'agentic_gave_up',
} as const;
export type RollbackTrigger = (typeof RollbackTrigger)[keyof typeof RollbackTrigger];

/** Why a remediation ended in Failed (nothing to restore, or the restore itself failed). */
export const RemediationFailureReason = {
  ApprovalRefused: 'approval_refused',
  ApprovalExpired: 'approval_expired',
  SnapshotFailed: 'snapshot_failed',
  ActionRefused: 'action_refused',
  RollbackFailed: 'rollback_failed',
  Cancelled: 'cancelled',
} as const;
export type RemediationFailureReason = (typeof RemediationFailureReason)[keyof typeof RemediationFailureReason];

const NamespacedName = {
  namespace: Type.String({ maxLength: 63 }),
  name: Type.String({ minLength: 1, maxLength: 253 }),
};

/** What one planned action would take down, assessed from the cluster before the plan was made. */
export const ActionBlastRadius = strictObject({
  actionId: Id,
  type: ActionType,
  /** Pods the action deletes, evicts, restarts or scales away. */
  pods: Count,
  replicas: Type.Optional(strictObject({ before: Count, after: Count })),
  pdbViolations: Type.Array(strictObject({ ...NamespacedName, disruptionsAllowed: Count, podsTaken: Count }), {
    maxItems: 32,
  }),
  servicesEmptied: Type.Array(strictObject({ ...NamespacedName, readyEndpoints: Count }), { maxItems: 32 }),
  quotaOverflows: Type.Array(
    strictObject({
      ...NamespacedName,
      resource: Type.String({ maxLength: 253 }),
      used: Type.Number(),
      added: Type.Number(),
      hard: Type.Number(),
    }),
    { maxItems: 32 },
  ),
});
export type ActionBlastRadius = Static<typeof ActionBlastRadius>;

/** The plan's blast radius: each action's, and the workloads that depend on the target (from the dependency graph). */
export const PlanBlastRadius = strictObject({
  actions: Type.Array(ActionBlastRadius, { maxItems: 50 }),
  dependants: Type.Array(ResourceRef, { maxItems: 64 }),
});
export type PlanBlastRadius = Static<typeof PlanBlastRadius>;

export const RemediationPlanCreatedSchema = strictObject({
  remediationId: Id,
  issueId: Id,
  attempt: Type.Integer({ minimum: 1 }),
  source: Type.Enum(RemediationSource),
  target: ResourceRef,
  /** Empty for an agentic plan: the AI decides each action as it goes. */
  actions: Type.Array(ActionSpec, { maxItems: 50 }),
  runbook: Type.Optional(Type.String({ minLength: 1, maxLength: 253 })),
  doNotRepeat: Type.Array(ShortText),
  approval: strictObject({
    required: Type.Boolean(),
    requiredApprovals: Type.Integer({ minimum: 1, maximum: 10 }),
    timeoutSeconds: Type.Integer({ minimum: 1, maximum: 7 * 24 * 3600 }),
    /** When set, only approvers in one of these groups count. */
    groups: Type.Optional(Type.Array(Type.String({ minLength: 1, maxLength: 63 }), { maxItems: 16 })),
    /** The ApprovalPolicy (`namespace/name`) and rule that asked for it. */
    policy: Type.Optional(Type.String({ minLength: 1, maxLength: 320 })),
    rule: Type.Optional(Type.String({ minLength: 1, maxLength: 253 })),
    reason: Type.Optional(ShortText),
  }),
  /** The plan may not start before its change window opens: the deadline, recorded with the plan. */
  changeWindow: Type.Optional(strictObject({ opensAt: IsoInstant, reason: ShortText })),
  verificationTimeoutSeconds: Type.Integer({ minimum: 1, maximum: 3_600 }),
  agentic: Type.Optional(
    strictObject({
      maxSteps: Type.Integer({ minimum: 1, maximum: 100 }),
      timeLimitSeconds: Type.Integer({ minimum: 1, maximum: 24 * 3600 }),
    }),
  ),
  /** Assessed before the plan; absent on plans recorded before it was, and when the disruption guard is off. */
  blastRadius: Type.Optional(PlanBlastRadius),
});
export type RemediationPlanCreatedData = Static<typeof RemediationPlanCreatedSchema>;
export type RemediationPlanCreated = Event<'RemediationPlanCreated', RemediationPlanCreatedData>;

export const ApprovalRequestedSchema = strictObject({
  requestId: Id,
  requiredApprovals: Type.Integer({ minimum: 1, maximum: 10 }),
  expiresAt: IsoInstant,
});
export type ApprovalRequestedData = Static<typeof ApprovalRequestedSchema>;
export type ApprovalRequested = Event<'ApprovalRequested', ApprovalRequestedData>;

export const ApprovalGrantedSchema = strictObject({
  requestId: Id,
  approver: Actor,
  /** Approvals so far, this one included. */
  approvals: Type.Integer({ minimum: 1 }),
  quorumReached: Type.Boolean(),
});
export type ApprovalGrantedData = Static<typeof ApprovalGrantedSchema>;
export type ApprovalGranted = Event<'ApprovalGranted', ApprovalGrantedData>;

export const ApprovalRefusedSchema = strictObject({
  requestId: Id,
  approver: Actor,
  reason: Type.Optional(ShortText),
});
export type ApprovalRefusedData = Static<typeof ApprovalRefusedSchema>;
export type ApprovalRefused = Event<'ApprovalRefused', ApprovalRefusedData>;

export const ApprovalExpiredSchema = strictObject({ requestId: Id, approvals: Count, expiresAt: IsoInstant });
export type ApprovalExpiredData = Static<typeof ApprovalExpiredSchema>;
export type ApprovalExpired = Event<'ApprovalExpired', ApprovalExpiredData>;

/** The change window a plan waited for opened: it may start (once approved, if it needs approval). */
export const ChangeWindowOpenedSchema = strictObject({ opensAt: IsoInstant });
export type ChangeWindowOpenedData = Static<typeof ChangeWindowOpenedSchema>;
export type ChangeWindowOpened = Event<'ChangeWindowOpened', ChangeWindowOpenedData>;

export const SnapshotStartedSchema = strictObject({ snapshotId: Id, target: ResourceRef });
export type SnapshotStartedData = Static<typeof SnapshotStartedSchema>;
export type SnapshotStarted = Event<'SnapshotStarted', SnapshotStartedData>;

/** The snapshot content lives in the event: a rollback after a restart must not depend on process memory. */
export const SnapshotTakenSchema = strictObject({
  snapshotId: Id,
  target: ResourceRef,
  resourceVersion: Type.Optional(Type.String({ maxLength: 64 })),
  captured: Type.Record(Type.String(), Type.Unknown()),
});
export type SnapshotTakenData = Static<typeof SnapshotTakenSchema>;
export type SnapshotTaken = Event<'SnapshotTaken', SnapshotTakenData>;

export const ActionStartedSchema = strictObject({
  actionId: Id,
  type: ActionType,
  params: ActionParams,
  /** Position in the plan (standard) or in the agentic history. */
  index: Count,
  step: Type.Optional(Type.Integer({ minimum: 1 })),
});
export type ActionStartedData = Static<typeof ActionStartedSchema>;
export type ActionStarted = Event<'ActionStarted', ActionStartedData>;

export const ActionSucceededSchema = strictObject({
  actionId: Id,
  type: ActionType,
  result: ShortText,
  /** A rollback's: the revision (template hash) it left, which the revision ledger then records as bad. */
  revisionLeft: Type.Optional(Type.String({ minLength: 1, maxLength: 253 })),
});
export type ActionSucceededData = Static<typeof ActionSucceededSchema>;
export type ActionSucceeded = Event<'ActionSucceeded', ActionSucceededData>;

export const ActionFailedSchema = strictObject({ actionId: Id, type: ActionType, error: ShortText });
export type ActionFailedData = Static<typeof ActionFailedSchema>;
export type ActionFailed = Event<'ActionFailed', ActionFailedData>;

export const ActionRefusedByPolicySchema = strictObject({
  actionId: Id,
  type: ActionType,
  params: ActionParams,
  /** `do-not-repeat` is decided here; the executor's safety checks name their own policy. */
  policy: Type.String({ minLength: 1, maxLength: 128 }),
  reason: ShortText,
});
export type ActionRefusedByPolicyData = Static<typeof ActionRefusedByPolicySchema>;
export type ActionRefusedByPolicy = Event<'ActionRefusedByPolicy', ActionRefusedByPolicyData>;

export const VerificationStartedSchema = strictObject({ deadline: IsoInstant });
export type VerificationStartedData = Static<typeof VerificationStartedSchema>;
export type VerificationStarted = Event<'VerificationStarted', VerificationStartedData>;

export const VerificationPassedSchema = strictObject({ detail: ShortText });
export type VerificationPassedData = Static<typeof VerificationPassedSchema>;
export type VerificationPassed = Event<'VerificationPassed', VerificationPassedData>;

export const VerificationFailedSchema = strictObject({ reason: ShortText, timedOut: Type.Boolean() });
export type VerificationFailedData = Static<typeof VerificationFailedSchema>;
export type VerificationFailed = Event<'VerificationFailed', VerificationFailedData>;

export const RollbackStartedSchema = strictObject({
  snapshotId: Id,
  trigger: Type.Enum(RollbackTrigger),
  reason: ShortText,
});
export type RollbackStartedData = Static<typeof RollbackStartedSchema>;
export type RollbackStarted = Event<'RollbackStarted', RollbackStartedData>;

export const RollbackCompletedSchema = strictObject({ snapshotId: Id, detail: ShortText });
export type RollbackCompletedData = Static<typeof RollbackCompletedSchema>;
export type RollbackCompleted = Event<'RollbackCompleted', RollbackCompletedData>;

export const RollbackFailedSchema = strictObject({ snapshotId: Id, error: ShortText });
export type RollbackFailedData = Static<typeof RollbackFailedSchema>;
export type RollbackFailed = Event<'RollbackFailed', RollbackFailedData>;

export const RemediationCompletedSchema = strictObject({
  actionsSucceeded: Count,
  durationSeconds: Type.Number({ minimum: 0 }),
});
export type RemediationCompletedData = Static<typeof RemediationCompletedSchema>;
export type RemediationCompleted = Event<'RemediationCompleted', RemediationCompletedData>;

export const RemediationRolledBackSchema = strictObject({ trigger: Type.Enum(RollbackTrigger), reason: ShortText });
export type RemediationRolledBackData = Static<typeof RemediationRolledBackSchema>;
export type RemediationRolledBack = Event<'RemediationRolledBack', RemediationRolledBackData>;

export const RemediationFailedSchema = strictObject({
  reason: Type.Enum(RemediationFailureReason),
  detail: ShortText,
});
export type RemediationFailedData = Static<typeof RemediationFailedSchema>;
export type RemediationFailed = Event<'RemediationFailed', RemediationFailedData>;

/** What the AI concludes when it declares the problem resolved; feeds the PostMortem. */
export const AgenticConclusion = strictObject({
  summary: Text,
  rootCause: Text,
  impact: Text,
  lessonsLearned: Type.Array(ShortText, { maxItems: 50 }),
  preventionActions: Type.Array(ShortText, { maxItems: 50 }),
});
export type AgenticConclusion = Static<typeof AgenticConclusion>;

export const AgenticStepDecidedSchema = strictObject({
  step: Type.Integer({ minimum: 1 }),
  reasoning: Text,
  resolved: Type.Boolean(),
  /** Absent when the step only observes, or when `resolved`. */
  action: Type.Optional(ActionSpec),
  conclusion: Type.Optional(AgenticConclusion),
  /** What the step's action would take down, assessed when it was decided; absent when nothing was assessed. */
  blastRadius: Type.Optional(ActionBlastRadius),
});
export type AgenticStepDecidedData = Static<typeof AgenticStepDecidedSchema>;
export type AgenticStepDecided = Event<'AgenticStepDecided', AgenticStepDecidedData>;

export const AgenticStepObservedSchema = strictObject({ step: Type.Integer({ minimum: 1 }), observation: Text });
export type AgenticStepObservedData = Static<typeof AgenticStepObservedSchema>;
export type AgenticStepObserved = Event<'AgenticStepObserved', AgenticStepObservedData>;

export const remediationEventDefinitions = [
  defineEvent('RemediationPlanCreated', RemediationPlanCreatedSchema, { audited: true }),
  defineEvent('ApprovalRequested', ApprovalRequestedSchema, { audited: true }),
  defineEvent('ApprovalGranted', ApprovalGrantedSchema, { audited: true }),
  defineEvent('ApprovalRefused', ApprovalRefusedSchema, { audited: true }),
  defineEvent('ApprovalExpired', ApprovalExpiredSchema, { audited: true }),
  defineEvent('ChangeWindowOpened', ChangeWindowOpenedSchema, { audited: true }),
  defineEvent('SnapshotStarted', SnapshotStartedSchema, { audited: false }),
  defineEvent('SnapshotTaken', SnapshotTakenSchema, { audited: true }),
  defineEvent('ActionStarted', ActionStartedSchema, { audited: true }),
  defineEvent('ActionSucceeded', ActionSucceededSchema, { audited: true }),
  defineEvent('ActionFailed', ActionFailedSchema, { audited: true }),
  defineEvent('ActionRefusedByPolicy', ActionRefusedByPolicySchema, { audited: true }),
  defineEvent('VerificationStarted', VerificationStartedSchema, { audited: false }),
  defineEvent('VerificationPassed', VerificationPassedSchema, { audited: true }),
  defineEvent('VerificationFailed', VerificationFailedSchema, { audited: true }),
  defineEvent('RollbackStarted', RollbackStartedSchema, { audited: true }),
  defineEvent('RollbackCompleted', RollbackCompletedSchema, { audited: true }),
  defineEvent('RollbackFailed', RollbackFailedSchema, { audited: true }),
  defineEvent('RemediationCompleted', RemediationCompletedSchema, { audited: true }),
  defineEvent('RemediationRolledBack', RemediationRolledBackSchema, { audited: true }),
  defineEvent('RemediationFailed', RemediationFailedSchema, { audited: true }),
  defineEvent('AgenticStepDecided', AgenticStepDecidedSchema, { audited: true }),
  defineEvent('AgenticStepObserved', AgenticStepObservedSchema, { audited: false }),
] as const;
