import { type Static, Type } from '@sinclair/typebox';
import type { Event } from '../messages.ts';
import {
  Actor,
  AnomalySource,
  Count,
  defineEvent,
  FailureEvidence,
  Id,
  IsoInstant,
  RemediationSource,
  ResourceRef,
  RiskScore,
  SeveritySchema,
  ShortText,
  SignalName,
  strictObject,
  Text,
} from './common.schema.ts';

export const IssueStatus = {
  None: 'None',
  Detected: 'Detected',
  Analyzing: 'Analyzing',
  Remediating: 'Remediating',
  Resolved: 'Resolved',
  Escalated: 'Escalated',
} as const;
export type IssueStatus = (typeof IssueStatus)[keyof typeof IssueStatus];

export const EscalationReason = {
  AttemptsExhausted: 'attempts_exhausted',
  AnalysisFailed: 'analysis_failed',
  NoRemediation: 'no_remediation',
  SlaBreached: 'sla_breached',
  Manual: 'manual',
  /** An approval request nobody decided in time: fail closed, people take over. */
  ApprovalExpired: 'approval_expired',
} as const;
export type EscalationReason = (typeof EscalationReason)[keyof typeof EscalationReason];

const Signals = Type.Array(SignalName, { maxItems: 64 });

export const IssueDetectedSchema = strictObject({
  issueId: Id,
  workload: ResourceRef,
  resource: ResourceRef,
  signal: SignalName,
  source: Type.Enum(AnomalySource),
  anomalyId: Id,
  description: Text,
  signals: Signals,
  riskScore: RiskScore,
  severity: SeveritySchema,
  maxAttempts: Type.Integer({ minimum: 1, maximum: 20 }),
});
export type IssueDetectedData = Static<typeof IssueDetectedSchema>;
export type IssueDetected = Event<'IssueDetected', IssueDetectedData>;

export const IssueAnomalyAttachedSchema = strictObject({
  anomalyId: Id,
  signal: SignalName,
  /** False when the signal was already counted: the risk score did not move. */
  newSignal: Type.Boolean(),
  signals: Signals,
  riskScore: RiskScore,
  severity: SeveritySchema,
  previousSeverity: SeveritySchema,
});
export type IssueAnomalyAttachedData = Static<typeof IssueAnomalyAttachedSchema>;
export type IssueAnomalyAttached = Event<'IssueAnomalyAttached', IssueAnomalyAttachedData>;

export const RemediationStartedSchema = strictObject({
  remediationId: Id,
  attempt: Type.Integer({ minimum: 1 }),
  source: Type.Enum(RemediationSource),
});
export type RemediationStartedData = Static<typeof RemediationStartedSchema>;
export type RemediationStarted = Event<'RemediationStarted', RemediationStartedData>;

export const ReanalysisRequestedSchema = strictObject({
  insightId: Id,
  /** The attempt the new analysis is for. */
  attempt: Type.Integer({ minimum: 2 }),
  failure: FailureEvidence,
  /** Every failure so far, oldest first, this one included. */
  previousFailures: Type.Array(FailureEvidence),
  /** Fingerprints of actions that already failed on this Issue (see actionFingerprint). */
  doNotRepeat: Type.Array(ShortText),
});
export type ReanalysisRequestedData = Static<typeof ReanalysisRequestedSchema>;
export type ReanalysisRequested = Event<'ReanalysisRequested', ReanalysisRequestedData>;

export const IssueResolvedSchema = strictObject({
  resolution: Type.Enum({
    Remediated: 'remediated',
    Manual: 'manual',
    RecoveredWithRoot: 'recovered_with_root',
  } as const),
  remediationId: Type.Optional(Id),
  resolvedBy: Type.Optional(Actor),
  note: Type.Optional(ShortText),
  attempts: Count,
  durationSeconds: Type.Number({ minimum: 0 }),
});
export type IssueResolvedData = Static<typeof IssueResolvedSchema>;
export type IssueResolved = Event<'IssueResolved', IssueResolvedData>;

export const IssueEscalatedSchema = strictObject({
  reason: Type.Enum(EscalationReason),
  attempts: Count,
  detail: Type.Optional(ShortText),
  lastFailure: Type.Optional(FailureEvidence),
  escalatedBy: Type.Optional(Actor),
});
export type IssueEscalatedData = Static<typeof IssueEscalatedSchema>;
export type IssueEscalated = Event<'IssueEscalated', IssueEscalatedData>;

export const IssueAcknowledgedSchema = strictObject({ acknowledgedBy: Actor, note: Type.Optional(ShortText) });
export type IssueAcknowledgedData = Static<typeof IssueAcknowledgedSchema>;
export type IssueAcknowledged = Event<'IssueAcknowledged', IssueAcknowledgedData>;

export const IssueSnoozedSchema = strictObject({
  until: IsoInstant,
  snoozedBy: Actor,
  reason: Type.Optional(ShortText),
});
export type IssueSnoozedData = Static<typeof IssueSnoozedSchema>;
export type IssueSnoozed = Event<'IssueSnoozed', IssueSnoozedData>;

export const IssueUnsnoozedSchema = strictObject({ unsnoozedBy: Actor });
export type IssueUnsnoozedData = Static<typeof IssueUnsnoozedSchema>;
export type IssueUnsnoozed = Event<'IssueUnsnoozed', IssueUnsnoozedData>;

/**
 * An automatic escalation that waits: the Issue is acknowledged (a person owns it) or snoozed. An acknowledged Issue
 * is escalated only by a person; a snoozed one when the snooze ends (ReleaseEscalation), unless acknowledged by then.
 */
export const IssueEscalationPausedSchema = strictObject({
  reason: Type.Enum(EscalationReason),
  attempts: Count,
  detail: Type.Optional(ShortText),
  heldBecause: Type.Enum({ Acknowledged: 'acknowledged', Snoozed: 'snoozed' } as const),
  until: Type.Optional(IsoInstant),
  lastFailure: Type.Optional(FailureEvidence),
});
export type IssueEscalationPausedData = Static<typeof IssueEscalationPausedSchema>;
export type IssueEscalationPaused = Event<'IssueEscalationPaused', IssueEscalationPausedData>;

/**
 * Where a proposed action was turned down. Derived from the refusal's code (see refusalStage), so a new code of a
 * known family needs no change here.
 */
export const RefusalStage = {
  /** The answer could not be read as an action: unknown type, malformed parameters, not the expected JSON. */
  Parser: 'parser',
  /** A known action that was not among those offered for this target. */
  OfferedTypes: 'offered_types',
  /** The remediation policy: allowed types, protected namespaces, blast radius, budgets. */
  Policy: 'policy',
  /** The sanity bounds of an action's parameters. */
  Envelope: 'envelope',
  /** The action's own safety checks (parameters, target kind). */
  ActionCheck: 'action_check',
  /** It already failed, or was already refused, on this Issue. */
  DoNotRepeat: 'do_not_repeat',
  /** People refused the plan, or let the approval expire. */
  Approval: 'approval',
} as const;
export type RefusalStage = (typeof RefusalStage)[keyof typeof RefusalStage];

/** A proposed action as it was turned down. The type is what was proposed, which may name no action at all. */
export const RefusedAction = strictObject({
  type: Type.String({ minLength: 1, maxLength: 128 }),
  params: Type.Record(Type.String({ maxLength: 128 }), Type.String({ maxLength: 4_096 }), { maxProperties: 32 }),
});
export type RefusedAction = Static<typeof RefusedAction>;

/**
 * A proposal that never ran, and why. Its fingerprint joins the Issue's do-not-repeat list, so a re-analysis or an
 * agentic step cannot bring the same action back.
 */
export const ProposalRefusedSchema = strictObject({
  /** Unique within the Issue; recording the same refusal again adds nothing. */
  refusalId: Id,
  /** The analysis round the proposal belongs to. */
  insightId: Id,
  /** Set when the refusal happened inside a remediation (the executor's admission, approval, an agentic step). */
  remediationId: Type.Optional(Id),
  step: Type.Optional(Type.Integer({ minimum: 1 })),
  stage: Type.Enum(RefusalStage),
  /** Absent when there was no action to name (an answer that was not JSON, an approval of an agentic plan). */
  action: Type.Optional(RefusedAction),
  code: Type.String({ minLength: 1, maxLength: 128 }),
  reason: ShortText,
  /** What joined the do-not-repeat list (see actionFingerprint). */
  fingerprint: Type.Optional(ShortText),
});
export type ProposalRefusedData = Static<typeof ProposalRefusedSchema>;
export type ProposalRefused = Event<'ProposalRefused', ProposalRefusedData>;

export const issueEventDefinitions = [
  defineEvent('IssueDetected', IssueDetectedSchema, { audited: true }),
  defineEvent('IssueAnomalyAttached', IssueAnomalyAttachedSchema, { audited: false }),
  defineEvent('RemediationStarted', RemediationStartedSchema, { audited: true }),
  defineEvent('ReanalysisRequested', ReanalysisRequestedSchema, { audited: true }),
  defineEvent('IssueResolved', IssueResolvedSchema, { audited: true }),
  defineEvent('IssueEscalated', IssueEscalatedSchema, { audited: true }),
  defineEvent('IssueAcknowledged', IssueAcknowledgedSchema, { audited: true }),
  defineEvent('IssueSnoozed', IssueSnoozedSchema, { audited: true }),
  defineEvent('IssueUnsnoozed', IssueUnsnoozedSchema, { audited: true }),
  defineEvent('IssueEscalationPaused', IssueEscalationPausedSchema, { audited: true }),
  defineEvent('ProposalRefused', ProposalRefusedSchema, { audited: true }),
] as const;
