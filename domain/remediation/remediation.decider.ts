import { assertNever, clip, withoutUndefined } from '../decision.ts';
import { type ActionSpec, RemediationSource, type ResourceRef } from '../events/common.schema.ts';
import {
  type ActionFailed,
  type ActionRefusedByPolicy,
  type ActionStarted,
  type ActionSucceeded,
  type AgenticStepDecided,
  type AgenticStepObserved,
  type ApprovalExpired,
  type ApprovalGranted,
  type ApprovalRefused,
  type ApprovalRequested,
  type ChangeWindowOpened,
  type PlanBlastRadius,
  type RemediationCompleted,
  type RemediationFailed,
  RemediationFailureReason,
  type RemediationPlanCreated,
  type RemediationRolledBack,
  RemediationStatus,
  type RollbackCompleted,
  type RollbackFailed,
  type RollbackStarted,
  RollbackTrigger,
  type SnapshotStarted,
  type SnapshotTaken,
  type VerificationFailed,
  type VerificationPassed,
  type VerificationStarted,
} from '../events/remediation.events.ts';
import type { Decider, MessageMetadata } from '../messages.ts';
import { invalid, notFound, refuse } from '../refusals.ts';
import { epochMs, plusMs, requireInstant, secondsBetween } from '../time.ts';
import { actionFingerprint } from './action.fingerprint.ts';
import { type RemediationCommand, RemediationDefaults } from './remediation.commands.ts';

export type RemediationEvent =
  | RemediationPlanCreated
  | ApprovalRequested
  | ApprovalGranted
  | ApprovalRefused
  | ApprovalExpired
  | ChangeWindowOpened
  | SnapshotStarted
  | SnapshotTaken
  | ActionStarted
  | ActionSucceeded
  | ActionFailed
  | ActionRefusedByPolicy
  | AgenticStepDecided
  | AgenticStepObserved
  | VerificationStarted
  | VerificationPassed
  | VerificationFailed
  | RollbackStarted
  | RollbackCompleted
  | RollbackFailed
  | RemediationCompleted
  | RemediationRolledBack
  | RemediationFailed;

export const CheckpointStatus = {
  Started: 'started',
  Succeeded: 'succeeded',
  Failed: 'failed',
  Refused: 'refused',
} as const;
export type CheckpointStatus = (typeof CheckpointStatus)[keyof typeof CheckpointStatus];

export interface ActionCheckpoint {
  readonly status: CheckpointStatus;
  readonly detail: string;
}

export interface AgenticStepRecord {
  readonly step: number;
  readonly resolved: boolean;
  readonly actionId: string | null;
  readonly observed: boolean;
}

export interface RemediationState {
  readonly status: RemediationStatus;
  readonly remediationId: string;
  readonly issueId: string;
  readonly attempt: number;
  readonly source: RemediationSource | null;
  readonly target: ResourceRef | null;
  readonly createdAt: string | null;
  /** The plan's actions, or for an agentic plan the actions decided so far, in order. */
  readonly actions: readonly ActionSpec[];
  /** By actionId: an action with no checkpoint was never started; `started` means its outcome is unknown. */
  readonly checkpoints: Readonly<Record<string, ActionCheckpoint>>;
  readonly doNotRepeat: readonly string[];
  readonly approval: {
    readonly required: boolean;
    readonly requiredApprovals: number;
    readonly timeoutSeconds: number;
    readonly requestId: string | null;
    readonly expiresAt: string | null;
    readonly approvers: readonly string[];
    readonly granted: boolean;
    /** When not empty, only approvers in one of these groups count. */
    readonly groups: readonly string[];
  };
  /** Who asked for the plan (the actor that created it): never one of its approvers. */
  readonly requestedBy: string | null;
  /** The change window the plan waits for, if any. */
  readonly window: { readonly opensAt: string; readonly reason: string; readonly opened: boolean } | null;
  readonly snapshotId: string | null;
  readonly verificationTimeoutSeconds: number;
  readonly verificationDeadline: string | null;
  readonly agentic: {
    readonly maxSteps: number;
    readonly timeLimitSeconds: number;
    /** Set when execution starts: time spent waiting for approval does not count. */
    readonly deadline: string | null;
    readonly steps: readonly AgenticStepRecord[];
  } | null;
  readonly rollback: { readonly trigger: RollbackTrigger; readonly reason: string } | null;
  /** What the plan's actions would take down, as recorded when it was made; null when nothing was assessed. */
  readonly blastRadius: PlanBlastRadius | null;
}

export const initialRemediationState = (): RemediationState => ({
  status: RemediationStatus.None,
  remediationId: '',
  issueId: '',
  attempt: 0,
  source: null,
  target: null,
  createdAt: null,
  actions: [],
  checkpoints: {},
  doNotRepeat: [],
  approval: {
    required: false,
    requiredApprovals: RemediationDefaults.requiredApprovals,
    timeoutSeconds: RemediationDefaults.approvalTimeoutSeconds,
    requestId: null,
    expiresAt: null,
    approvers: [],
    granted: false,
    groups: [],
  },
  requestedBy: null,
  window: null,
  snapshotId: null,
  verificationTimeoutSeconds: RemediationDefaults.verificationTimeoutSeconds,
  verificationDeadline: null,
  agentic: null,
  rollback: null,
  blastRadius: null,
});

export const checkpointOf = (state: RemediationState, actionId: string): ActionCheckpoint | undefined =>
  Object.hasOwn(state.checkpoints, actionId) ? state.checkpoints[actionId] : undefined;

/** The action whose start is recorded but whose outcome is not: after a restart, reconcile it, never re-run it. */
export const inFlightAction = (state: RemediationState): ActionSpec | null =>
  state.actions.find((action) => checkpointOf(state, action.actionId)?.status === CheckpointStatus.Started) ?? null;

export const completedActionIds = (state: RemediationState): readonly string[] =>
  state.actions
    .filter((action) => {
      const status = checkpointOf(state, action.actionId)?.status;
      return status !== undefined && status !== CheckpointStatus.Started;
    })
    .map((action) => action.actionId);

/** The one action that may start now, if any: plans run in order; an agentic loop runs its latest step's action. */
export const nextAction = (state: RemediationState): ActionSpec | null => {
  if (inFlightAction(state) !== null) return null;
  if (state.agentic === null) {
    return state.actions.find((action) => checkpointOf(state, action.actionId) === undefined) ?? null;
  }
  const actionId = state.agentic.steps.at(-1)?.actionId;
  if (actionId === undefined || actionId === null || checkpointOf(state, actionId) !== undefined) return null;
  return state.actions.find((action) => action.actionId === actionId) ?? null;
};

const succeededCount = (state: RemediationState): number =>
  Object.values(state.checkpoints).filter((checkpoint) => checkpoint.status === CheckpointStatus.Succeeded).length;

const setCheckpoint = (state: RemediationState, actionId: string, checkpoint: ActionCheckpoint): RemediationState => ({
  ...state,
  checkpoints: { ...state.checkpoints, [actionId]: checkpoint },
});

export const evolveRemediation = (state: RemediationState, event: RemediationEvent): RemediationState => {
  switch (event.type) {
    case 'RemediationPlanCreated': {
      const d = event.data;
      return {
        ...state,
        status: RemediationStatus.Pending,
        remediationId: d.remediationId,
        issueId: d.issueId,
        attempt: d.attempt,
        source: d.source,
        target: d.target,
        createdAt: event.metadata.occurredAt,
        actions: d.actions,
        doNotRepeat: d.doNotRepeat,
        approval: {
          ...state.approval,
          required: d.approval.required,
          requiredApprovals: d.approval.requiredApprovals,
          timeoutSeconds: d.approval.timeoutSeconds,
          groups: d.approval.groups ?? [],
        },
        requestedBy: event.metadata.actor ?? null,
        window: d.changeWindow ? { ...d.changeWindow, opened: false } : null,
        verificationTimeoutSeconds: d.verificationTimeoutSeconds,
        agentic: d.agentic === undefined ? null : { ...d.agentic, deadline: null, steps: [] },
        blastRadius: d.blastRadius ?? null,
      };
    }
    case 'ApprovalRequested':
      return {
        ...state,
        status: RemediationStatus.WaitingApproval,
        approval: { ...state.approval, requestId: event.data.requestId, expiresAt: event.data.expiresAt },
      };
    case 'ApprovalGranted': {
      const approval = {
        ...state.approval,
        approvers: [...state.approval.approvers, event.data.approver],
        granted: event.data.quorumReached,
      };
      // Back to Pending, now cleared to start: the snapshot is the executor's next move, as for any plan.
      return { ...state, approval, status: event.data.quorumReached ? RemediationStatus.Pending : state.status };
    }
    case 'ChangeWindowOpened':
      return state.window === null ? state : { ...state, window: { ...state.window, opened: true } };
    case 'SnapshotStarted':
      return { ...state, status: RemediationStatus.Snapshotting, snapshotId: event.data.snapshotId };
    case 'SnapshotTaken': {
      const agentic =
        state.agentic === null
          ? null
          : { ...state.agentic, deadline: plusMs(event.metadata.occurredAt, state.agentic.timeLimitSeconds * 1000) };
      return { ...state, status: RemediationStatus.Executing, agentic };
    }
    case 'ActionStarted':
      return setCheckpoint(state, event.data.actionId, { status: CheckpointStatus.Started, detail: '' });
    case 'ActionSucceeded':
      return setCheckpoint(state, event.data.actionId, {
        status: CheckpointStatus.Succeeded,
        detail: event.data.result,
      });
    case 'ActionFailed':
      return setCheckpoint(state, event.data.actionId, { status: CheckpointStatus.Failed, detail: event.data.error });
    case 'ActionRefusedByPolicy':
      return setCheckpoint(state, event.data.actionId, {
        status: CheckpointStatus.Refused,
        detail: `${event.data.policy}: ${event.data.reason}`,
      });
    case 'AgenticStepDecided': {
      if (state.agentic === null) return state;
      const { step, resolved, action } = event.data;
      return {
        ...state,
        actions: action === undefined ? state.actions : [...state.actions, action],
        agentic: {
          ...state.agentic,
          steps: [...state.agentic.steps, { step, resolved, actionId: action?.actionId ?? null, observed: false }],
        },
      };
    }
    case 'AgenticStepObserved': {
      if (state.agentic === null) return state;
      const steps = state.agentic.steps.map((record) =>
        record.step === event.data.step ? { ...record, observed: true } : record,
      );
      return { ...state, agentic: { ...state.agentic, steps } };
    }
    case 'VerificationStarted':
      return { ...state, status: RemediationStatus.Verifying, verificationDeadline: event.data.deadline };
    case 'RollbackStarted':
      return {
        ...state,
        status: RemediationStatus.RollingBack,
        rollback: { trigger: event.data.trigger, reason: event.data.reason },
      };
    case 'RemediationCompleted':
      return { ...state, status: RemediationStatus.Completed };
    case 'RemediationRolledBack':
      return { ...state, status: RemediationStatus.RolledBack };
    case 'RemediationFailed':
      return { ...state, status: RemediationStatus.Failed };
    // These record what happened; the outcome event that follows them moves the state.
    case 'ApprovalRefused':
    case 'ApprovalExpired':
    case 'VerificationPassed':
    case 'VerificationFailed':
    case 'RollbackCompleted':
    case 'RollbackFailed':
      return state;
    default:
      return state;
  }
};

const TERMINAL: Readonly<Partial<Record<RemediationStatus, string>>> = {
  [RemediationStatus.Completed]: 'remediation.already_completed',
  [RemediationStatus.RolledBack]: 'remediation.already_rolled_back',
  [RemediationStatus.Failed]: 'remediation.already_failed',
};

export const isTerminal = (state: RemediationState): boolean => TERMINAL[state.status] !== undefined;

const requireStatus = (
  state: RemediationState,
  command: RemediationCommand,
  expected: RemediationStatus,
  code: string,
): void => {
  if (state.status !== expected) {
    throw refuse(code, `${command.type}: remediation ${state.remediationId} is ${state.status}, not ${expected}`);
  }
};

const requireAgentic = (
  state: RemediationState,
  command: RemediationCommand,
): NonNullable<RemediationState['agentic']> => {
  requireStatus(state, command, RemediationStatus.Executing, 'remediation.not_executing');
  if (state.agentic === null) {
    throw refuse('remediation.not_agentic', `${command.type}: remediation ${state.remediationId} is not agentic`);
  }
  return state.agentic;
};

const findAction = (state: RemediationState, actionId: string): ActionSpec => {
  const action = state.actions.find((candidate) => candidate.actionId === actionId);
  if (action === undefined) {
    throw notFound('remediation.unknown_action', `remediation ${state.remediationId} has no action ${actionId}`);
  }
  return action;
};

/** Checks shared by starting an action and refusing it: it must be the one action that may start now. */
const requireStartable = (state: RemediationState, command: RemediationCommand, actionId: string): ActionSpec => {
  requireStatus(state, command, RemediationStatus.Executing, 'remediation.not_executing');
  const action = findAction(state, actionId);
  const checkpoint = checkpointOf(state, actionId);
  if (checkpoint?.status === CheckpointStatus.Started) {
    throw refuse(
      'remediation.action_in_flight',
      `action ${actionId} has started; record its outcome, do not re-run it`,
    );
  }
  if (checkpoint !== undefined) {
    throw refuse('remediation.action_already_completed', `action ${actionId} already ${checkpoint.status}`);
  }
  const inFlight = inFlightAction(state);
  if (inFlight !== null) {
    throw refuse('remediation.action_in_flight', `action ${inFlight.actionId} is still running`);
  }
  if (nextAction(state)?.actionId !== actionId) {
    throw refuse('remediation.action_out_of_order', `action ${actionId} is not the next action to run`);
  }
  return action;
};

const requireInFlight = (state: RemediationState, command: RemediationCommand, actionId: string): ActionSpec => {
  requireStatus(state, command, RemediationStatus.Executing, 'remediation.not_executing');
  const action = findAction(state, actionId);
  const checkpoint = checkpointOf(state, actionId);
  if (checkpoint === undefined) throw refuse('remediation.action_not_started', `action ${actionId} was never started`);
  if (checkpoint.status !== CheckpointStatus.Started) {
    throw refuse('remediation.action_already_completed', `action ${actionId} already ${checkpoint.status}`);
  }
  return action;
};

const rollbackStarted = (
  state: RemediationState,
  trigger: RollbackTrigger,
  reason: string,
  metadata: MessageMetadata,
): RollbackStarted => ({
  type: 'RollbackStarted',
  // Executing and later states always have a snapshot: SnapshotTaken is the only way into Executing.
  data: { snapshotId: state.snapshotId ?? 'none', trigger, reason: clip(reason) },
  metadata,
});

const failed = (reason: RemediationFailureReason, detail: string, metadata: MessageMetadata): RemediationFailed => ({
  type: 'RemediationFailed',
  data: { reason, detail: clip(detail) },
  metadata,
});

/**
 * After a refused action: an agentic loop hears about it at its next step; a plan stops, restoring the snapshot
 * only if an earlier action changed something.
 */
const afterRefusal = (state: RemediationState, reason: string, metadata: MessageMetadata): RemediationEvent[] => {
  if (state.agentic !== null) return [];
  return succeededCount(state) > 0
    ? [rollbackStarted(state, RollbackTrigger.ActionRefused, reason, metadata)]
    : [failed(RemediationFailureReason.ActionRefused, reason, metadata)];
};

export const decideRemediation = (
  command: RemediationCommand,
  state: RemediationState,
): readonly RemediationEvent[] => {
  const metadata = command.metadata;
  const at = requireInstant(metadata.occurredAt, 'metadata.occurredAt');

  if (command.type === 'CreateRemediationPlan') return createPlan(command, state);
  if (state.status === RemediationStatus.None) {
    throw notFound('remediation.not_found', `${command.type}: no remediation plan exists in this stream`);
  }
  const terminal = TERMINAL[state.status];
  if (terminal !== undefined) {
    throw refuse(terminal, `${command.type}: remediation ${state.remediationId} is already ${state.status}`);
  }

  switch (command.type) {
    case 'RequestApproval': {
      requireStatus(state, command, RemediationStatus.Pending, 'remediation.not_pending');
      if (!state.approval.required) {
        throw refuse('remediation.approval_not_required', `remediation ${state.remediationId} needs no approval`);
      }
      if (state.approval.granted) {
        throw refuse('remediation.already_approved', `remediation ${state.remediationId} is already approved`);
      }
      const expiresAt = plusMs(metadata.occurredAt, state.approval.timeoutSeconds * 1000) ?? metadata.occurredAt;
      const { requiredApprovals } = state.approval;
      return [
        {
          type: 'ApprovalRequested',
          data: { requestId: command.data.requestId, requiredApprovals, expiresAt },
          metadata,
        },
      ];
    }

    case 'GrantApproval': {
      const { requestId, approver } = command.data;
      requireOpenRequest(state, command, requestId);
      if (at >= epochMs(state.approval.expiresAt ?? '')) {
        throw refuse(
          'remediation.approval_expired',
          `approval request ${requestId} expired at ${state.approval.expiresAt}`,
        );
      }
      if (state.approval.approvers.includes(approver)) {
        throw refuse(
          'remediation.duplicate_approver',
          `${approver} has already approved; a quorum needs distinct people`,
        );
      }
      if (approver === state.requestedBy) {
        throw refuse('remediation.self_approval', `${approver} asked for this plan and cannot approve it`);
      }
      const groups = state.approval.groups;
      if (groups.length > 0 && !(command.data.groups ?? []).some((g) => groups.includes(g))) {
        throw refuse(
          'remediation.approver_not_in_group',
          `only approvers in ${groups.join(', ')} count toward this request; ${approver} is in none of them`,
        );
      }
      const approvals = state.approval.approvers.length + 1;
      const quorumReached = approvals >= state.approval.requiredApprovals;
      return [{ type: 'ApprovalGranted', data: { requestId, approver, approvals, quorumReached }, metadata }];
    }

    case 'RefuseApproval': {
      const { requestId, approver, reason } = command.data;
      requireOpenRequest(state, command, requestId);
      return [
        { type: 'ApprovalRefused', data: withoutUndefined({ requestId, approver, reason }), metadata },
        failed(
          RemediationFailureReason.ApprovalRefused,
          `refused by ${approver}${reason ? `: ${reason}` : ''}`,
          metadata,
        ),
      ];
    }

    case 'ExpireApproval': {
      const { requestId } = command.data;
      requireOpenRequest(state, command, requestId);
      const expiresAt = state.approval.expiresAt ?? metadata.occurredAt;
      if (at < epochMs(expiresAt)) {
        throw refuse('remediation.approval_not_expired', `approval request ${requestId} runs until ${expiresAt}`);
      }
      const approvals = state.approval.approvers.length;
      return [
        { type: 'ApprovalExpired', data: { requestId, approvals, expiresAt }, metadata },
        failed(RemediationFailureReason.ApprovalExpired, `no quorum before ${expiresAt}`, metadata),
      ];
    }

    case 'OpenChangeWindow': {
      if (state.status !== RemediationStatus.Pending && state.status !== RemediationStatus.WaitingApproval) {
        throw refuse('remediation.not_waiting_window', `remediation ${state.remediationId} is ${state.status}`);
      }
      if (state.window === null || state.window.opened) {
        throw refuse('remediation.not_waiting_window', `remediation ${state.remediationId} waits for no window`);
      }
      if (at < epochMs(state.window.opensAt)) {
        throw refuse('remediation.window_not_open', `the change window opens at ${state.window.opensAt}`);
      }
      return [{ type: 'ChangeWindowOpened', data: { opensAt: state.window.opensAt }, metadata }];
    }

    case 'StartSnapshot': {
      requireStatus(state, command, RemediationStatus.Pending, 'remediation.not_pending');
      if (state.approval.required && !state.approval.granted) {
        throw refuse('remediation.approval_required', `remediation ${state.remediationId} has not been approved`);
      }
      if (state.window !== null && !state.window.opened) {
        throw refuse('remediation.waiting_for_window', `the change window opens at ${state.window.opensAt}`);
      }
      return [
        { type: 'SnapshotStarted', data: { snapshotId: command.data.snapshotId, target: state.target! }, metadata },
      ];
    }

    case 'RecordSnapshot': {
      const { snapshotId, captured, resourceVersion } = command.data;
      requireSnapshot(state, command, snapshotId);
      return [
        {
          type: 'SnapshotTaken',
          data: withoutUndefined({ snapshotId, target: state.target!, resourceVersion, captured: { ...captured } }),
          metadata,
        },
      ];
    }

    case 'FailSnapshot': {
      requireSnapshot(state, command, command.data.snapshotId);
      // Without a snapshot nothing could be restored, so nothing is attempted.
      return [failed(RemediationFailureReason.SnapshotFailed, command.data.error, metadata)];
    }

    case 'StartAction': {
      const action = requireStartable(state, command, command.data.actionId);
      const fingerprint = actionFingerprint(action);
      if (state.doNotRepeat.includes(fingerprint)) {
        const reason = `${fingerprint} already failed on this Issue`;
        return [
          {
            type: 'ActionRefusedByPolicy',
            data: {
              actionId: action.actionId,
              type: action.type,
              params: action.params,
              policy: 'do-not-repeat',
              reason,
            },
            metadata,
          },
          ...afterRefusal(state, reason, metadata),
        ];
      }
      const step = state.agentic?.steps.at(-1)?.step;
      return [
        {
          type: 'ActionStarted',
          data: withoutUndefined({
            actionId: action.actionId,
            type: action.type,
            params: action.params,
            index: state.actions.indexOf(action),
            step,
          }),
          metadata,
        },
      ];
    }

    case 'RecordActionSucceeded': {
      const action = requireInFlight(state, command, command.data.actionId);
      return [
        {
          type: 'ActionSucceeded',
          data: {
            actionId: action.actionId,
            type: action.type,
            result: clip(command.data.result),
            ...(command.data.revisionLeft === undefined ? {} : { revisionLeft: command.data.revisionLeft }),
          },
          metadata,
        },
      ];
    }

    case 'RecordActionFailed': {
      const action = requireInFlight(state, command, command.data.actionId);
      const error = clip(command.data.error);
      const recorded: ActionFailed = {
        type: 'ActionFailed',
        data: { actionId: action.actionId, type: action.type, error },
        metadata,
      };
      // In an agentic loop a failed action is an observation for the next step; in a plan it ends the run.
      if (state.agentic !== null) return [recorded];
      return [
        recorded,
        rollbackStarted(state, RollbackTrigger.ActionFailed, `${action.type} failed: ${error}`, metadata),
      ];
    }

    case 'RefuseAction': {
      const action = requireStartable(state, command, command.data.actionId);
      const { policy } = command.data;
      const reason = clip(command.data.reason);
      return [
        {
          type: 'ActionRefusedByPolicy',
          data: { actionId: action.actionId, type: action.type, params: action.params, policy, reason },
          metadata,
        },
        ...afterRefusal(state, `${action.type} refused by ${policy}: ${reason}`, metadata),
      ];
    }

    case 'DecideAgenticStep': {
      const agentic = requireAgentic(state, command);
      const { step, reasoning, resolved, action, conclusion, blastRadius } = command.data;
      const last = agentic.steps.at(-1);
      if (last?.resolved) {
        throw refuse('remediation.agentic_already_resolved', `step ${last.step} already declared the problem resolved`);
      }
      if (last !== undefined && !last.observed) {
        throw refuse('remediation.agentic_step_unobserved', `step ${last.step} has not been observed yet`);
      }
      if (step !== agentic.steps.length + 1) {
        throw refuse('remediation.agentic_step_out_of_order', `expected step ${agentic.steps.length + 1}, got ${step}`);
      }
      const exhausted = budgetExhaustion(state, agentic, at);
      if (exhausted !== null) {
        throw refuse(`remediation.${exhausted}`, `step ${step} is beyond the agentic budget; stop the loop`);
      }
      if (resolved && action !== undefined) {
        throw invalid('remediation.resolved_step_with_action', `step ${step} is resolved yet names an action`);
      }
      if (!resolved && conclusion !== undefined) {
        throw invalid('remediation.conclusion_without_resolution', `step ${step} concludes without resolving`);
      }
      if (action !== undefined && state.actions.some((known) => known.actionId === action.actionId)) {
        throw invalid('remediation.duplicate_action_id', `action id ${action.actionId} is already used`);
      }
      if (blastRadius !== undefined && blastRadius.actionId !== action?.actionId) {
        throw invalid(
          'remediation.blast_radius_unknown_action',
          `step ${step}'s blast radius is for action ${blastRadius.actionId}, not the step's own`,
        );
      }
      return [
        {
          type: 'AgenticStepDecided',
          data: withoutUndefined({ step, reasoning, resolved, action, conclusion, blastRadius }),
          metadata,
        },
      ];
    }

    case 'ObserveAgenticStep': {
      const agentic = requireAgentic(state, command);
      const { step, observation } = command.data;
      const last = agentic.steps.at(-1);
      if (last === undefined || last.step !== step) {
        throw refuse('remediation.agentic_step_mismatch', `step ${step} is not the latest agentic step`);
      }
      if (last.observed) throw refuse('remediation.agentic_step_already_observed', `step ${step} is already observed`);
      if (last.resolved) throw refuse('remediation.agentic_already_resolved', `step ${step} resolved the problem`);
      if (last.actionId !== null) {
        const checkpoint = checkpointOf(state, last.actionId);
        if (checkpoint === undefined) {
          throw refuse('remediation.action_not_started', `step ${step}'s action ${last.actionId} has not run`);
        }
        if (checkpoint.status === CheckpointStatus.Started) {
          throw refuse('remediation.action_in_flight', `step ${step}'s action ${last.actionId} is still running`);
        }
      }
      return [{ type: 'AgenticStepObserved', data: { step, observation: clip(observation, 20_000) }, metadata }];
    }

    case 'StopAgenticLoop': {
      const agentic = requireAgentic(state, command);
      const inFlight = inFlightAction(state);
      if (inFlight !== null) {
        throw refuse('remediation.action_in_flight', `action ${inFlight.actionId} must finish before the loop stops`);
      }
      const gaveUp = command.data.gaveUp;
      if (gaveUp !== undefined) {
        const reason = `the AI gave up after ${agentic.steps.length} step(s): ${gaveUp.reasoning}`;
        return [rollbackStarted(state, RollbackTrigger.AgenticGaveUp, reason, metadata)];
      }
      const exhausted = budgetExhaustion(state, agentic, at);
      if (exhausted === null) {
        throw refuse('remediation.agentic_budget_remaining', `the agentic loop still has steps and time left`);
      }
      const trigger =
        exhausted === 'agentic_deadline_exceeded'
          ? RollbackTrigger.AgenticDeadlineExceeded
          : RollbackTrigger.AgenticStepBudgetExhausted;
      const reason =
        trigger === RollbackTrigger.AgenticDeadlineExceeded
          ? `no resolution before ${agentic.deadline}`
          : `no resolution in ${agentic.maxSteps} steps`;
      return [rollbackStarted(state, trigger, reason, metadata)];
    }

    case 'StartVerification': {
      requireStatus(state, command, RemediationStatus.Executing, 'remediation.not_executing');
      if (state.agentic === null) {
        const remaining = state.actions.filter(
          (action) => checkpointOf(state, action.actionId)?.status !== CheckpointStatus.Succeeded,
        );
        if (remaining.length > 0) {
          throw refuse('remediation.actions_remaining', `${remaining.length} action(s) have not succeeded yet`);
        }
      } else if (state.agentic.steps.at(-1)?.resolved !== true) {
        throw refuse('remediation.agentic_not_resolved', 'the agentic loop has not declared the problem resolved');
      }
      const deadline = plusMs(metadata.occurredAt, state.verificationTimeoutSeconds * 1000) ?? metadata.occurredAt;
      return [{ type: 'VerificationStarted', data: { deadline }, metadata }];
    }

    case 'PassVerification': {
      requireStatus(state, command, RemediationStatus.Verifying, 'remediation.not_verifying');
      // A pass reported after the deadline is too late to count: the executor must fail it and roll back.
      if (at >= epochMs(state.verificationDeadline ?? '')) {
        throw refuse('remediation.verification_timed_out', `verification ran out at ${state.verificationDeadline}`);
      }
      return [
        { type: 'VerificationPassed', data: { detail: clip(command.data.detail) }, metadata },
        {
          type: 'RemediationCompleted',
          data: {
            actionsSucceeded: succeededCount(state),
            durationSeconds: secondsBetween(state.createdAt ?? metadata.occurredAt, metadata.occurredAt),
          },
          metadata,
        },
      ];
    }

    case 'FailVerification': {
      requireStatus(state, command, RemediationStatus.Verifying, 'remediation.not_verifying');
      const reason = clip(command.data.reason);
      const timedOut = at >= epochMs(state.verificationDeadline ?? '');
      return [
        { type: 'VerificationFailed', data: { reason, timedOut }, metadata },
        rollbackStarted(state, RollbackTrigger.VerificationFailed, `verification failed: ${reason}`, metadata),
      ];
    }

    case 'CompleteRollback': {
      requireStatus(state, command, RemediationStatus.RollingBack, 'remediation.not_rolling_back');
      const rollback = state.rollback ?? { trigger: RollbackTrigger.ActionFailed, reason: 'unknown' };
      return [
        {
          type: 'RollbackCompleted',
          data: { snapshotId: state.snapshotId ?? 'none', detail: clip(command.data.detail) },
          metadata,
        },
        { type: 'RemediationRolledBack', data: { trigger: rollback.trigger, reason: rollback.reason }, metadata },
      ];
    }

    case 'FailRollback': {
      requireStatus(state, command, RemediationStatus.RollingBack, 'remediation.not_rolling_back');
      const error = clip(command.data.error);
      return [
        { type: 'RollbackFailed', data: { snapshotId: state.snapshotId ?? 'none', error }, metadata },
        failed(RemediationFailureReason.RollbackFailed, `rollback to the snapshot failed: ${error}`, metadata),
      ];
    }

    case 'CancelRemediation': {
      const cancellable: readonly RemediationStatus[] = [
        RemediationStatus.Pending,
        RemediationStatus.WaitingApproval,
        RemediationStatus.Snapshotting,
      ];
      if (!cancellable.includes(state.status)) {
        throw refuse('remediation.already_executing', `remediation ${state.remediationId} is ${state.status}`);
      }
      return [failed(RemediationFailureReason.Cancelled, command.data.reason, metadata)];
    }

    default:
      return assertNever(command, 'Remediation command');
  }
};

const createPlan = (
  command: Extract<RemediationCommand, { type: 'CreateRemediationPlan' }>,
  state: RemediationState,
): readonly RemediationEvent[] => {
  if (state.status !== RemediationStatus.None) {
    throw refuse('remediation.already_created', `remediation ${state.remediationId} already has a plan`);
  }
  const d = command.data;
  const agentic = d.source === RemediationSource.Agentic;
  if (agentic && d.actions.length > 0) {
    throw invalid('remediation.agentic_plan_with_actions', 'an agentic plan decides its actions step by step');
  }
  if (!agentic && d.actions.length === 0) {
    throw invalid('remediation.no_actions', `a ${d.source} plan needs at least one action`);
  }
  if (!agentic && d.agentic !== undefined) {
    throw invalid('remediation.agentic_options_without_agentic', `agentic limits do not apply to a ${d.source} plan`);
  }
  const ids = new Set(d.actions.map((action) => action.actionId));
  if (ids.size !== d.actions.length) {
    throw invalid('remediation.duplicate_action_id', 'action ids must be unique within a plan');
  }
  const strays = (d.blastRadius?.actions ?? []).filter((a) => !ids.has(a.actionId)).map((a) => a.actionId);
  if (strays.length > 0) {
    throw invalid(
      'remediation.blast_radius_unknown_action',
      `the blast radius names actions the plan does not have: ${strays.join(', ')}`,
    );
  }
  const doNotRepeat = [...(d.doNotRepeat ?? [])];
  const repeated = d.actions.map(actionFingerprint).filter((fingerprint) => doNotRepeat.includes(fingerprint));
  if (repeated.length > 0) {
    // Refused whole, before anything runs: half a plan followed by a rollback helps nobody.
    throw invalid(
      'remediation.repeats_failed_action',
      `the plan repeats actions that already failed: ${repeated.join(', ')}`,
      {
        repeated,
      },
    );
  }
  return [
    {
      type: 'RemediationPlanCreated',
      data: withoutUndefined({
        remediationId: d.remediationId,
        issueId: d.issueId,
        attempt: d.attempt,
        source: d.source,
        target: d.target,
        actions: [...d.actions],
        runbook: d.runbook,
        doNotRepeat,
        approval: withoutUndefined({
          required: d.approval?.required ?? false,
          requiredApprovals: d.approval?.requiredApprovals ?? RemediationDefaults.requiredApprovals,
          timeoutSeconds: d.approval?.timeoutSeconds ?? RemediationDefaults.approvalTimeoutSeconds,
          groups: d.approval?.groups && d.approval.groups.length > 0 ? [...d.approval.groups] : undefined,
          policy: d.approval?.policy,
          rule: d.approval?.rule,
          reason: d.approval?.reason === undefined ? undefined : clip(d.approval.reason),
        }),
        changeWindow: d.changeWindow
          ? { opensAt: requireIsoOpening(d.changeWindow.opensAt), reason: clip(d.changeWindow.reason) }
          : undefined,
        verificationTimeoutSeconds: d.verificationTimeoutSeconds ?? RemediationDefaults.verificationTimeoutSeconds,
        agentic: agentic
          ? {
              maxSteps: d.agentic?.maxSteps ?? RemediationDefaults.agenticMaxSteps,
              timeLimitSeconds: d.agentic?.timeLimitSeconds ?? RemediationDefaults.agenticTimeLimitSeconds,
            }
          : undefined,
        blastRadius: d.blastRadius
          ? {
              actions: d.blastRadius.actions.map((a) => ({ ...a })),
              dependants: d.blastRadius.dependants.map((r) => ({ ...r })),
            }
          : undefined,
      }),
      metadata: command.metadata,
    },
  ];
};

const requireIsoOpening = (opensAt: string): string => {
  requireInstant(opensAt, 'changeWindow.opensAt');
  return new Date(epochMs(opensAt)).toISOString();
};

const requireOpenRequest = (state: RemediationState, command: RemediationCommand, requestId: string): void => {
  requireStatus(state, command, RemediationStatus.WaitingApproval, 'remediation.not_waiting_approval');
  if (requestId !== state.approval.requestId) {
    throw refuse('remediation.approval_request_mismatch', `open approval request is ${state.approval.requestId}`);
  }
};

const requireSnapshot = (state: RemediationState, command: RemediationCommand, snapshotId: string): void => {
  requireStatus(state, command, RemediationStatus.Snapshotting, 'remediation.not_snapshotting');
  if (snapshotId !== state.snapshotId) {
    throw refuse('remediation.snapshot_mismatch', `the snapshot in progress is ${state.snapshotId}, not ${snapshotId}`);
  }
};

/** Which agentic limit is spent at `at`, if any; the deadline wins when both are. */
export const budgetExhaustion = (
  state: RemediationState,
  agentic: NonNullable<RemediationState['agentic']>,
  at: number,
): 'agentic_deadline_exceeded' | 'agentic_step_budget_exhausted' | null => {
  if (state.status !== RemediationStatus.Executing) return null;
  if (agentic.deadline !== null && at >= epochMs(agentic.deadline)) return 'agentic_deadline_exceeded';
  if (agentic.steps.length >= agentic.maxSteps) return 'agentic_step_budget_exhausted';
  return null;
};

export const remediationDecider: Decider<RemediationState, RemediationCommand, RemediationEvent> = {
  initialState: initialRemediationState,
  evolve: evolveRemediation,
  decide: decideRemediation,
};
