import { type Static, Type } from '@sinclair/typebox';
import type { Event } from '../messages.ts';
import {
  defineEvent,
  Id,
  IsoInstant,
  ResourceRef,
  Sha256Hex,
  ShortText,
  SignalName,
  strictObject,
} from './common.schema.ts';

/** The first anomaly on a workload with no open Issue: an Issue with this id is to be detected. */
export const CorrelationIssueOpenedSchema = strictObject({
  issueId: Id,
  anomalyId: Id,
  signal: SignalName,
  workload: ResourceRef,
});
export type CorrelationIssueOpenedData = Static<typeof CorrelationIssueOpenedSchema>;
export type CorrelationIssueOpened = Event<'CorrelationIssueOpened', CorrelationIssueOpenedData>;

export const AnomalyJoinedIssueSchema = strictObject({
  issueId: Id,
  anomalyId: Id,
  signal: SignalName,
  workload: ResourceRef,
});
export type AnomalyJoinedIssueData = Static<typeof AnomalyJoinedIssueSchema>;
export type AnomalyJoinedIssue = Event<'AnomalyJoinedIssue', AnomalyJoinedIssueData>;

/** The Issue ended; its dedup keys are dropped so a recurrence is detected at once, not 2 hours later. */
export const CorrelationIssueClosedSchema = strictObject({
  issueId: Id,
  outcome: Type.Enum({ Resolved: 'resolved', Escalated: 'escalated' } as const),
  invalidatedDedupKeys: Type.Array(Sha256Hex),
});
export type CorrelationIssueClosedData = Static<typeof CorrelationIssueClosedSchema>;
export type CorrelationIssueClosed = Event<'CorrelationIssueClosed', CorrelationIssueClosedData>;

export const CascadeMember = strictObject({ issueId: Id, workload: ResourceRef, detectedAt: IsoInstant });
export type CascadeMember = Static<typeof CascadeMember>;

/** Recorded on an Issue that belongs to a cross-service cascade; the chain is ordered, root cause first. */
export const IssueCascadeCorrelatedSchema = strictObject({
  rootIssueId: Id,
  chain: Type.Array(CascadeMember, { minItems: 2, maxItems: 100 }),
  windowMinutes: Type.Integer({ minimum: 1, maximum: 1_440 }),
});
export type IssueCascadeCorrelatedData = Static<typeof IssueCascadeCorrelatedSchema>;
export type IssueCascadeCorrelated = Event<'IssueCascadeCorrelated', IssueCascadeCorrelatedData>;

/**
 * The Issue's remediation waits: it is a dependant in a cascade whose root is still open, and fixing the root is
 * expected to fix it too. No plan starts for it until the hold is released.
 */
export const IssueRemediationDeferredSchema = strictObject({
  rootIssueId: Id,
  /** The analysis whose plan waits. */
  insightId: Id,
  /** The root's workload, as `Kind namespace/name`, and why this Issue depends on it. */
  reason: ShortText,
});
export type IssueRemediationDeferredData = Static<typeof IssueRemediationDeferredSchema>;
export type IssueRemediationDeferred = Event<'IssueRemediationDeferred', IssueRemediationDeferredData>;

export const HoldReleaseReason = {
  /** The root was fixed; if this Issue persists, it is remediated on its own. */
  RootResolved: 'root_resolved',
  /** The root went to people without a fix: nothing upstream will fix this one. */
  RootEscalated: 'root_escalated',
  /** The cascade changed and this Issue is no longer anyone's dependant (it is the root now, or stands alone). */
  NoLongerDependant: 'no_longer_dependant',
} as const;
export type HoldReleaseReason = (typeof HoldReleaseReason)[keyof typeof HoldReleaseReason];

export const IssueRemediationReleasedSchema = strictObject({
  rootIssueId: Id,
  reason: Type.Enum(HoldReleaseReason),
  detail: Type.Optional(ShortText),
});
export type IssueRemediationReleasedData = Static<typeof IssueRemediationReleasedSchema>;
export type IssueRemediationReleased = Event<'IssueRemediationReleased', IssueRemediationReleasedData>;

/**
 * The root of the Issue's cascade was resolved; the held plan still waits until `dueAt` (a grace for readiness to come
 * back), when the Issue's workload is checked: healthy, it resolved with its root; still failing, its plan goes ahead.
 */
export const IssueRecoveryCheckScheduledSchema = strictObject({ rootIssueId: Id, dueAt: IsoInstant });
export type IssueRecoveryCheckScheduledData = Static<typeof IssueRecoveryCheckScheduledSchema>;
export type IssueRecoveryCheckScheduled = Event<'IssueRecoveryCheckScheduled', IssueRecoveryCheckScheduledData>;

/** The dependant's workload was healthy once its root was fixed: the Issue resolves with no plan of its own. */
export const IssueRecoveredWithRootSchema = strictObject({
  rootIssueId: Id,
  /** What the health check saw (replicas available, no pod still showing the signals). */
  detail: ShortText,
});
export type IssueRecoveredWithRootData = Static<typeof IssueRecoveredWithRootSchema>;
export type IssueRecoveredWithRoot = Event<'IssueRecoveredWithRoot', IssueRecoveredWithRootData>;

export const correlationEventDefinitions = [
  defineEvent('CorrelationIssueOpened', CorrelationIssueOpenedSchema, { audited: false }),
  defineEvent('AnomalyJoinedIssue', AnomalyJoinedIssueSchema, { audited: false }),
  defineEvent('CorrelationIssueClosed', CorrelationIssueClosedSchema, { audited: false }),
  defineEvent('IssueCascadeCorrelated', IssueCascadeCorrelatedSchema, { audited: false }),
  defineEvent('IssueRemediationDeferred', IssueRemediationDeferredSchema, { audited: true }),
  defineEvent('IssueRemediationReleased', IssueRemediationReleasedSchema, { audited: true }),
  defineEvent('IssueRecoveryCheckScheduled', IssueRecoveryCheckScheduledSchema, { audited: false }),
  defineEvent('IssueRecoveredWithRoot', IssueRecoveredWithRootSchema, { audited: true }),
] as const;
