import type { ActionSpec, RemediationSource, ResourceRef } from '../events/common.schema.ts';
import type { ActionBlastRadius, AgenticConclusion, PlanBlastRadius } from '../events/remediation.events.ts';
import type { Command } from '../messages.ts';

export const RemediationDefaults = {
  /** The reference operator verifies for 90 s; a plan may ask for less or more. */
  verificationTimeoutSeconds: 90,
  approvalTimeoutSeconds: 3_600,
  requiredApprovals: 1,
  agenticMaxSteps: 10,
  agenticTimeLimitSeconds: 600,
} as const;

export type CreateRemediationPlan = Command<
  'CreateRemediationPlan',
  {
    readonly remediationId: string;
    readonly issueId: string;
    readonly attempt: number;
    readonly source: RemediationSource;
    readonly target: ResourceRef;
    /** Must be empty for an agentic plan and non-empty otherwise. */
    readonly actions: readonly ActionSpec[];
    readonly runbook?: string;
    /** From the Issue: fingerprints of actions that already failed; a plan containing one is refused. */
    readonly doNotRepeat?: readonly string[];
    readonly approval?: {
      readonly required: boolean;
      readonly requiredApprovals?: number;
      readonly timeoutSeconds?: number;
      readonly groups?: readonly string[];
      readonly policy?: string;
      readonly rule?: string;
      readonly reason?: string;
    };
    /** The plan waits for its change window: it may not start before `opensAt`. */
    readonly changeWindow?: { readonly opensAt: string; readonly reason: string };
    readonly verificationTimeoutSeconds?: number;
    /** Only for an agentic plan. */
    readonly agentic?: { readonly maxSteps?: number; readonly timeLimitSeconds?: number };
    /** What the plan's actions would take down, assessed before it was made; each entry names one of `actions`. */
    readonly blastRadius?: PlanBlastRadius;
  }
>;

export type RequestApproval = Command<'RequestApproval', { readonly requestId: string }>;
/** The approver is the authenticated caller, passed in explicitly: an approval is worth only who gave it. */
export type GrantApproval = Command<
  'GrantApproval',
  {
    readonly requestId: string;
    readonly approver: string;
    /** The approver's groups, from its API key; needed when the request names groups. */
    readonly groups?: readonly string[];
  }
>;
export type RefuseApproval = Command<
  'RefuseApproval',
  { readonly requestId: string; readonly approver: string; readonly reason?: string }
>;
export type ExpireApproval = Command<'ExpireApproval', { readonly requestId: string }>;
/** Sent by the window sweeper once `opensAt` has passed; refused before, and once the window is open. */
export type OpenChangeWindow = Command<'OpenChangeWindow', Record<string, never>>;

export type StartSnapshot = Command<'StartSnapshot', { readonly snapshotId: string }>;
export type RecordSnapshot = Command<
  'RecordSnapshot',
  {
    readonly snapshotId: string;
    readonly captured: Readonly<Record<string, unknown>>;
    readonly resourceVersion?: string;
  }
>;
export type FailSnapshot = Command<'FailSnapshot', { readonly snapshotId: string; readonly error: string }>;

export type StartAction = Command<'StartAction', { readonly actionId: string }>;
export type RecordActionSucceeded = Command<
  'RecordActionSucceeded',
  {
    readonly actionId: string;
    readonly result: string;
    /** A rollback's: the revision (template hash) the workload ran before it, now known bad. */
    readonly revisionLeft?: string;
  }
>;
export type RecordActionFailed = Command<'RecordActionFailed', { readonly actionId: string; readonly error: string }>;
/** The executor's safety checks (PDB, last pod, scale to zero...) said no before the action touched anything. */
export type RefuseAction = Command<
  'RefuseAction',
  { readonly actionId: string; readonly policy: string; readonly reason: string }
>;

export type DecideAgenticStep = Command<
  'DecideAgenticStep',
  {
    readonly step: number;
    readonly reasoning: string;
    readonly resolved: boolean;
    readonly action?: ActionSpec;
    readonly conclusion?: AgenticConclusion;
    /** What `action` would take down, assessed when the step was decided. */
    readonly blastRadius?: ActionBlastRadius;
  }
>;
export type ObserveAgenticStep = Command<'ObserveAgenticStep', { readonly step: number; readonly observation: string }>;
/**
 * Ends an agentic loop: when its step budget or deadline is spent (refused while budget remains), or at once when
 * the AI gives up (`gaveUp`, with its reasoning), since asking again for what it says it does not have helps nobody.
 */
export type StopAgenticLoop = Command<'StopAgenticLoop', { readonly gaveUp?: { readonly reasoning: string } }>;

export type StartVerification = Command<'StartVerification', Record<string, never>>;
export type PassVerification = Command<'PassVerification', { readonly detail: string }>;
export type FailVerification = Command<'FailVerification', { readonly reason: string }>;

export type CompleteRollback = Command<'CompleteRollback', { readonly detail: string }>;
export type FailRollback = Command<'FailRollback', { readonly error: string }>;

/** Only before anything has touched the cluster; afterwards the way out is rollback. */
export type CancelRemediation = Command<'CancelRemediation', { readonly reason: string }>;

export type RemediationCommand =
  | CreateRemediationPlan
  | RequestApproval
  | GrantApproval
  | RefuseApproval
  | ExpireApproval
  | OpenChangeWindow
  | StartSnapshot
  | RecordSnapshot
  | FailSnapshot
  | StartAction
  | RecordActionSucceeded
  | RecordActionFailed
  | RefuseAction
  | DecideAgenticStep
  | ObserveAgenticStep
  | StopAgenticLoop
  | StartVerification
  | PassVerification
  | FailVerification
  | CompleteRollback
  | FailRollback
  | CancelRemediation;
