import type { AnalysisWaitCause, ChangeEvidence, SuggestedAction } from '../events/analysis.events.ts';
import type {
  ActionCall,
  AnomalySource,
  FailureEvidence,
  RemediationSource,
  ResourceRef,
  Severity,
} from '../events/common.schema.ts';
import type { CascadeMember, HoldReleaseReason } from '../events/correlation.events.ts';
import type { EscalationReason } from '../events/issue.events.ts';
import type { Command } from '../messages.ts';

export const DEFAULT_MAX_ATTEMPTS = 5;

export type DetectIssue = Command<
  'DetectIssue',
  {
    readonly issueId: string;
    readonly workload: ResourceRef;
    readonly resource: ResourceRef;
    readonly signal: string;
    readonly source: AnomalySource;
    readonly anomalyId: string;
    readonly description: string;
    /** Defaults to DEFAULT_MAX_ATTEMPTS. */
    readonly maxAttempts?: number;
    /** The least severity the anomaly asks for (see severityFloorOf), whatever the risk score says. */
    readonly severityFloor?: Severity;
  }
>;

export type AttachAnomaly = Command<
  'AttachAnomaly',
  { readonly anomalyId: string; readonly signal: string; readonly severityFloor?: Severity }
>;

export type RequestAnalysis = Command<'RequestAnalysis', { readonly insightId: string }>;

/** One proposal turned down before it ran, as the stage that refused it reports it. */
export interface ProposalRefusal {
  /** Derived from what caused it, so reporting the same refusal again is recognised. */
  readonly refusalId: string;
  /** Absent when there is no action to name. */
  readonly action?: { readonly type: string; readonly params: Readonly<Record<string, string>> };
  /** `policy.…`, `envelope.…`, `action.…`, `parser.…`, `offered.…`, `approval.…` or `do-not-repeat`. */
  readonly code: string;
  readonly reason: string;
  readonly step?: number;
}

export type CompleteAnalysis = Command<
  'CompleteAnalysis',
  {
    readonly insightId: string;
    readonly analysis: string;
    readonly confidence: number;
    readonly recommendations: readonly string[];
    readonly suggestedActions: readonly SuggestedAction[];
    readonly provider: string;
    readonly model: string;
    /** What the provider read in the answer but could not turn into a usable action. */
    readonly refusedProposals?: readonly ProposalRefusal[];
    /** The GitOps state and suspected commits the context found, recorded with the analysis. */
    readonly change?: ChangeEvidence;
  }
>;

/**
 * Proposals refused on the way to running: by the policy before a plan, by the executor inside one, by people.
 * The refusals belong to the Issue's current analysis round.
 */
export type RecordProposalRefusals = Command<
  'RecordProposalRefusals',
  { readonly remediationId?: string; readonly refusals: readonly ProposalRefusal[] }
>;

export type FailAnalysis = Command<
  'FailAnalysis',
  { readonly insightId: string; readonly reason: string; readonly provider?: string }
>;

/** The analysis server cannot answer now; the analysis stays pending and is asked again. */
export type DeferAnalysis = Command<
  'DeferAnalysis',
  {
    readonly insightId: string;
    readonly server: string;
    readonly cause: AnalysisWaitCause;
    readonly reason: string;
  }
>;

export type StartRemediation = Command<
  'StartRemediation',
  { readonly remediationId: string; readonly source: RemediationSource }
>;

/** Sent when the Remediation ends; a failure carries what the next analysis needs to know. */
export type RecordRemediationOutcome = Command<
  'RecordRemediationOutcome',
  | { readonly remediationId: string; readonly outcome: 'completed' }
  | {
      readonly remediationId: string;
      readonly outcome: FailureEvidence['outcome'];
      readonly reason: string;
      readonly attemptedActions: readonly ActionCall[];
      readonly failedAction?: FailureEvidence['failedAction'];
      readonly observations: readonly string[];
      /** The AIInsight that re-analysis will fill, should attempts remain. */
      readonly insightId: string;
    }
>;

export type ResolveIssue = Command<'ResolveIssue', { readonly note?: string }>;

export type EscalateIssue = Command<
  'EscalateIssue',
  { readonly reason: Exclude<EscalationReason, 'attempts_exhausted'>; readonly detail?: string }
>;

export type AcknowledgeIssue = Command<'AcknowledgeIssue', { readonly note?: string }>;

export type SnoozeIssue = Command<'SnoozeIssue', { readonly until: string; readonly reason?: string }>;

export type UnsnoozeIssue = Command<'UnsnoozeIssue', Record<string, never>>;

/** Escalates an Issue whose held escalation no longer has a reason to wait (its snooze has ended). */
export type ReleaseEscalation = Command<'ReleaseEscalation', Record<string, never>>;

export type CorrelateCascade = Command<
  'CorrelateCascade',
  { readonly rootIssueId: string; readonly chain: readonly CascadeMember[]; readonly windowMinutes: number }
>;

/** Holds the Issue's plan while the root of its cascade is being dealt with (see IssueRemediationDeferred). */
export type DeferRemediationToRoot = Command<
  'DeferRemediationToRoot',
  { readonly rootIssueId: string; readonly insightId: string; readonly reason: string }
>;

/** Lets the held plan go: the root ended, or this Issue no longer depends on it. */
export type ReleaseRemediation = Command<
  'ReleaseRemediation',
  { readonly rootIssueId: string; readonly reason: HoldReleaseReason; readonly detail?: string }
>;

/** The root was resolved: the held plan waits until `dueAt`, when the Issue's workload is checked. */
export type ScheduleRecoveryCheck = Command<
  'ScheduleRecoveryCheck',
  { readonly rootIssueId: string; readonly dueAt: string }
>;

/** The workload was found healthy after its root was fixed: the Issue resolves with it, without a plan. */
export type ResolveRecoveredWithRoot = Command<
  'ResolveRecoveredWithRoot',
  { readonly rootIssueId: string; readonly detail: string }
>;

export type IssueCommand =
  | DetectIssue
  | AttachAnomaly
  | RequestAnalysis
  | CompleteAnalysis
  | FailAnalysis
  | DeferAnalysis
  | StartRemediation
  | RecordRemediationOutcome
  | ResolveIssue
  | EscalateIssue
  | AcknowledgeIssue
  | SnoozeIssue
  | UnsnoozeIssue
  | ReleaseEscalation
  | CorrelateCascade
  | DeferRemediationToRoot
  | ReleaseRemediation
  | ScheduleRecoveryCheck
  | ResolveRecoveredWithRoot
  | RecordProposalRefusals;
