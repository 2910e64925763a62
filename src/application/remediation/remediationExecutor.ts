import type { ActionSpec, ResourceRef } from '../../../domain/events/common.schema.ts';
import { type IssueEvent, issueDecider } from '../../../domain/issue/issue.decider.ts';
import type { MessageMetadata, RecordedEvent } from '../../../domain/messages.ts';
import type { RemediationCommand } from '../../../domain/remediation/remediation.commands.ts';
import {
  checkpointOf,
  type RemediationEvent,
  type RemediationState,
  remediationDecider,
} from '../../../domain/remediation/remediation.decider.ts';
import { nextStep } from '../../../domain/remediation/remediation.progress.ts';
import { StreamCategory, streamName } from '../../../domain/streams.ts';
import type { EventStore } from '../../ports/eventStore.ts';
import { createCommandHandler } from '../commandHandler.ts';
import type { Reactor } from '../reactor.ts';
import type { AgenticLoop, AgenticStepCommand } from './agenticLoop.ts';

/**
 * What remediation does to the cluster, behind one port so the executor stays a loop over the decider's
 * `nextStep`. The Kubernetes adapter implements it with the action registry, snapshots and the policy.
 */
export interface RemediationEffects {
  /**
   * Captures every resource the plan may touch; what it returns goes into the SnapshotTaken event, so its
   * secret-bearing values must already be sealed (the ids name the data key).
   */
  snapshot(
    target: ResourceRef,
    plan: readonly ActionSpec[],
    ids: { readonly snapshotId: string; readonly remediationId: string; readonly issueId: string },
  ): Promise<{ captured: Record<string, unknown>; resourceVersion?: string }>;
  /** Puts the captured resources back; returns a line for the log. */
  restore(target: ResourceRef, captured: Record<string, unknown>): Promise<string>;
  /** The policy layer and the action's own safety checks; a refusal means nothing was touched. */
  admit(
    action: ActionSpec,
    target: ResourceRef,
    plan: readonly ActionSpec[],
    context: AdmissionContext,
  ): Promise<{ policy: string; reason: string } | null>;
  /** Performs the action; throws when it fails. Returns what it did. */
  run(action: ActionSpec, target: ResourceRef): Promise<string | ActionOutcome>;
  /** After a crash between "started" and "done": does the cluster show the action applied? */
  wasApplied(action: ActionSpec, target: ResourceRef, startedAt: string): Promise<boolean>;
  /** Healthy workload and the triggering signals gone. */
  verify(target: ResourceRef, signals: readonly string[]): Promise<{ healthy: boolean; detail: string }>;
}

/** What an action did; a rollback also names the revision it left, which is then known bad. */
export interface ActionOutcome {
  readonly detail: string;
  readonly revisionLeft?: string;
}

/** What the policy needs to know beyond the plan: whether people approved it, and what the Issue did before. */
export interface AdmissionContext {
  readonly approved: boolean;
  /** Actions that earlier remediations of the same Issue started, with their targets. */
  readonly earlier: readonly {
    readonly target: ResourceRef;
    readonly type: string;
    readonly params: Readonly<Record<string, string>>;
  }[];
}

export interface ExecutorDeps {
  readonly store: EventStore;
  readonly effects: RemediationEffects;
  readonly now: () => Date;
  readonly newId: () => string;
  /** Signals the Issue had, for verification; read from the Issue by the caller. */
  readonly signalsOf: (issueId: string) => Promise<readonly string[]>;
  readonly pollIntervalMs?: number;
  readonly log?: (line: string) => void;
  /** Decides and observes the steps of agentic plans; without it an agentic plan waits where it is. */
  readonly agentic?: AgenticLoop;
}

/** The approval request of a plan has one id per plan, so asking twice (after a restart) asks for nothing new. */
export const approvalRequestId = (remediationId: string) => `${remediationId}-approval`;

/**
 * What the policy judges an action against: a plan's actions, or for an agentic loop the actions that ran so far
 * plus this one, so "one destructive action per plan" spans the whole loop and a refused proposal costs nothing.
 */
const judgedWith = (state: RemediationState, action: ActionSpec): readonly ActionSpec[] =>
  state.agentic === null
    ? state.actions
    : state.actions.filter((a) => {
        const status = checkpointOf(state, a.actionId)?.status;
        return a.actionId === action.actionId || status === 'succeeded' || status === 'failed';
      });

const message = (error: unknown) => (error instanceof Error ? error.message : String(error)).slice(0, 2000);

/**
 * Drives one remediation to a terminal state. It never remembers where it was: every turn folds the stream and
 * asks the decider what comes next, so a restart resumes exactly at the last checkpoint, never repeating a
 * completed action, and an action that started but has no outcome is reconciled from the cluster.
 */
export function createRemediationExecutor(deps: ExecutorDeps) {
  const decide = createCommandHandler(deps.store, remediationDecider, { maxAttempts: 5 });
  const pollIntervalMs = deps.pollIntervalMs ?? 1000;
  const log = deps.log ?? (() => {});

  const fold = async (stream: string): Promise<RemediationState> => {
    const history = (await deps.store.readStream(stream)) as unknown as RecordedEvent<RemediationEvent>[];
    return history.reduce(remediationDecider.evolve, remediationDecider.initialState());
  };

  return async function execute(stream: string): Promise<RemediationState> {
    for (;;) {
      const state = await fold(stream);
      const at = deps.now().toISOString();
      const metadata: MessageMetadata = { occurredAt: at, actor: 'system:executor' };
      const send = (command: Omit<RemediationCommand, 'metadata'>) =>
        decide(stream, { ...command, metadata } as RemediationCommand);
      const target = state.target!;
      const step = nextStep(state, at);
      switch (step.kind) {
        case 'none':
          return state;
        case 'start-snapshot':
          await send({ type: 'StartSnapshot', data: { snapshotId: `${state.remediationId}-snapshot` } });
          break;
        case 'take-snapshot':
          try {
            const snap = await deps.effects.snapshot(target, state.actions, {
              snapshotId: step.snapshotId,
              remediationId: state.remediationId,
              issueId: state.issueId,
            });
            await send({ type: 'RecordSnapshot', data: { snapshotId: step.snapshotId, ...snap } });
          } catch (error) {
            await send({ type: 'FailSnapshot', data: { snapshotId: step.snapshotId, error: message(error) } });
          }
          break;
        case 'start-action': {
          const refusal = await deps.effects.admit(step.action, target, judgedWith(state, step.action), {
            approved: state.approval.required && state.approval.granted,
            earlier: await earlierActions(state),
          });
          if (refusal) {
            log(`refused ${step.action.type}: ${refusal.reason}`);
            await send({ type: 'RefuseAction', data: { actionId: step.action.actionId, ...refusal } });
            break;
          }
          const start = await send({ type: 'StartAction', data: { actionId: step.action.actionId } });
          // The decider may record a refusal instead (an action that already failed on this Issue): then the
          // action must not touch the cluster.
          if (start.newEvents.some((event) => event.type === 'ActionStarted')) {
            await runAction(send, step.action, target);
          }
          break;
        }
        case 'reconcile-action':
          // Started before a crash: if the cluster already shows it, record it; otherwise run it now.
          if (await deps.effects.wasApplied(step.action, target, await startedAt(stream, step.action.actionId))) {
            await send({
              type: 'RecordActionSucceeded',
              data: { actionId: step.action.actionId, result: 'found applied after a restart' },
            });
          } else {
            await runAction(send, step.action, target);
          }
          break;
        case 'start-verification':
          await send({ type: 'StartVerification', data: {} });
          break;
        case 'verify': {
          const result = await deps.effects.verify(target, await deps.signalsOf(state.issueId));
          if (result.healthy) await send({ type: 'PassVerification', data: { detail: result.detail } });
          else await new Promise((r) => setTimeout(r, pollIntervalMs));
          break;
        }
        case 'fail-verification': {
          const result = await deps.effects.verify(target, await deps.signalsOf(state.issueId));
          await send({ type: 'FailVerification', data: { reason: `not healthy by the deadline: ${result.detail}` } });
          break;
        }
        case 'roll-back': {
          const captured = state.snapshotId ? await snapshotContent(stream, state.snapshotId) : undefined;
          try {
            if (!captured) throw new Error('no snapshot was taken, nothing to restore');
            const detail = await deps.effects.restore(target, captured);
            await send({ type: 'CompleteRollback', data: { detail } });
          } catch (error) {
            await send({ type: 'FailRollback', data: { error: message(error) } });
          }
          break;
        }
        case 'request-approval':
          await send({ type: 'RequestApproval', data: { requestId: approvalRequestId(state.remediationId) } });
          log(`plan ${state.remediationId} waits for ${state.approval.requiredApprovals} approval(s)`);
          break;
        case 'await-approval':
          // Nothing runs until people decide: a grant brings the plan back here, expiry is the approvals' timer.
          return state;
        case 'await-window':
          // The window sweeper records the opening (ChangeWindowOpened), which brings the plan back here.
          log(`plan ${state.remediationId} waits for its change window (${step.opensAt})`);
          return state;
        case 'expire-approval':
          await send({ type: 'ExpireApproval', data: { requestId: step.requestId } });
          break;
        case 'decide-agentic-step': {
          if (!deps.agentic) return state;
          const command = await deps.agentic.decide(stream, state, step.step, at);
          log(`agentic step ${step.step} of ${state.remediationId}: ${describeStep(command)}`);
          await decide(stream, {
            ...command,
            metadata: { ...metadata, occurredAt: deps.now().toISOString() },
          } as RemediationCommand);
          break;
        }
        case 'observe-agentic-step': {
          if (!deps.agentic) return state;
          const observation = await deps.agentic.observe(stream, state, step.step);
          await decide(stream, {
            type: 'ObserveAgenticStep',
            data: { step: step.step, observation },
            metadata: { ...metadata, occurredAt: deps.now().toISOString() },
          });
          break;
        }
        case 'stop-agentic-loop':
          await send({ type: 'StopAgenticLoop', data: {} });
          break;
        default:
          return state;
      }
    }
  };

  async function runAction(
    send: (command: Omit<RemediationCommand, 'metadata'>) => Promise<unknown>,
    action: ActionSpec,
    target: ResourceRef,
  ) {
    try {
      const ran = await deps.effects.run(action, target);
      const { detail, revisionLeft } = typeof ran === 'string' ? { detail: ran, revisionLeft: undefined } : ran;
      log(`${action.type} on ${target.kind}/${target.name}: ${detail}`);
      await send({
        type: 'RecordActionSucceeded',
        data: { actionId: action.actionId, result: detail.slice(0, 2000), ...(revisionLeft ? { revisionLeft } : {}) },
      });
    } catch (error) {
      log(`${action.type} on ${target.kind}/${target.name} failed: ${message(error)}`);
      await send({ type: 'RecordActionFailed', data: { actionId: action.actionId, error: message(error) } });
    }
  }

  /** The actions earlier remediations of this Issue started (the Issue's failures name them). */
  async function earlierActions(state: RemediationState): Promise<AdmissionContext['earlier']> {
    const issue = (await deps.store.readStream(
      streamName(StreamCategory.Issue, state.issueId),
    )) as unknown as RecordedEvent<IssueEvent>[];
    const { failures } = issue.reduce(issueDecider.evolve, issueDecider.initialState());
    const earlier: AdmissionContext['earlier'][number][] = [];
    for (const remediationId of new Set(failures.map((f) => f.remediationId))) {
      if (remediationId === state.remediationId) continue;
      const history = await deps.store.readStream(streamName(StreamCategory.Remediation, remediationId));
      const target = (history.find((e) => e.type === 'RemediationPlanCreated')?.data as { target?: ResourceRef })
        ?.target;
      if (!target) continue;
      for (const e of history) {
        if (e.type !== 'ActionStarted') continue;
        const d = e.data as { type: string; params: Record<string, string> };
        earlier.push({ target, type: d.type, params: d.params });
      }
    }
    return earlier;
  }

  async function startedAt(stream: string, actionId: string) {
    const started = (await deps.store.readStream(stream)).findLast(
      (e) => e.type === 'ActionStarted' && (e.data as { actionId: string }).actionId === actionId,
    );
    return started?.metadata.occurredAt ?? new Date(0).toISOString();
  }

  async function snapshotContent(stream: string, snapshotId: string) {
    const taken = (await deps.store.readStream(stream)).find(
      (e) => e.type === 'SnapshotTaken' && (e.data as { snapshotId: string }).snapshotId === snapshotId,
    );
    return (taken?.data as { captured?: Record<string, unknown> } | undefined)?.captured;
  }
}

/**
 * Runs each plan as it is created, one at a time, and holds the checkpoint until the plan ends: after a restart the
 * plan that was running is delivered again and the executor resumes it from its last checkpoint.
 */
export function remediationExecutorReactor(execute: (stream: string) => Promise<RemediationState>): Reactor {
  return {
    name: 'remediation-executor',
    // A plan resumes when its approval reaches the quorum or its change window opens; refusal and expiry end it.
    filter: { eventTypes: ['RemediationPlanCreated', 'ApprovalGranted', 'ChangeWindowOpened'] },
    handle: async (event) => {
      if (event.type === 'ApprovalGranted' && !(event.data as { quorumReached: boolean }).quorumReached) return;
      await execute(event.streamId);
    },
  };
}

const describeStep = (command: AgenticStepCommand): string => {
  if (command.type === 'StopAgenticLoop') return `gives up: ${command.data.gaveUp?.reasoning ?? ''}`;
  const d = command.data;
  return d.resolved ? 'resolved' : d.action ? `${d.action.type} ${JSON.stringify(d.action.params)}` : 'observe';
};
