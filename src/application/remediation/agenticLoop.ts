import { ErrorCategory, isCairnError } from '../../../domain/errors.ts';
import type { ActionSpec } from '../../../domain/events/common.schema.ts';
import type { ActionBlastRadius } from '../../../domain/events/remediation.events.ts';
import type { IssueEvent, IssueState } from '../../../domain/issue/issue.decider.ts';
import { issueDecider } from '../../../domain/issue/issue.decider.ts';
import type { RecordedEvent } from '../../../domain/messages.ts';
import type { DecideAgenticStep, StopAgenticLoop } from '../../../domain/remediation/remediation.commands.ts';
import type { RemediationState } from '../../../domain/remediation/remediation.decider.ts';
import { StreamCategory, streamName } from '../../../domain/streams.ts';
import { epochMs } from '../../../domain/time.ts';
import {
  AgenticActionOutcome,
  AgenticDecision,
  type AgenticHistoryEntry,
  type AgenticInsight,
  type AgenticProvider,
  type AgenticStepRequest,
  type AgenticStepResult,
  type AvailableAction,
  symptomsOf,
} from '../../analysis/agentic.ts';
import type { RefusedProposal } from '../../analysis/provider.ts';
import type { KubernetesContext, WorkloadRef } from '../../analysis/workloadFacts.ts';
import type { EventStore } from '../../ports/eventStore.ts';
import { createCommandHandler } from '../commandHandler.ts';

/** The history of an agentic loop, oldest step first, read from its remediation stream. */
export const agenticHistory = (events: readonly RecordedEvent[]): AgenticHistoryEntry[] => {
  const entries: AgenticHistoryEntry[] = [];
  const byAction = new Map<string, number>();
  const set = (index: number, patch: Partial<AgenticHistoryEntry>) => {
    entries[index] = { ...(entries[index] as AgenticHistoryEntry), ...patch };
  };
  for (const event of events) {
    const data = event.data as Record<string, unknown>;
    switch (event.type) {
      case 'AgenticStepDecided': {
        const action = data.action as ActionSpec | undefined;
        if (action) byAction.set(action.actionId, entries.length);
        entries.push({
          step: data.step as number,
          reasoning: data.reasoning as string,
          ...(action
            ? {
                action: {
                  type: action.type,
                  params: action.params,
                  ...(action.description ? { description: action.description } : {}),
                },
              }
            : {}),
        });
        break;
      }
      case 'ActionSucceeded':
      case 'ActionFailed':
      case 'ActionRefusedByPolicy': {
        const index = byAction.get(data.actionId as string);
        if (index === undefined) break;
        const outcome =
          event.type === 'ActionSucceeded'
            ? AgenticActionOutcome.Succeeded
            : event.type === 'ActionFailed'
              ? AgenticActionOutcome.Failed
              : AgenticActionOutcome.Refused;
        const result =
          event.type === 'ActionRefusedByPolicy'
            ? `refused by ${data.policy}: ${data.reason}`
            : String(data.result ?? data.error ?? '');
        set(index, { outcome, result });
        break;
      }
      case 'AgenticStepObserved': {
        const index = entries.findIndex((e) => e.step === data.step);
        if (index >= 0) set(index, { observation: data.observation as string });
        break;
      }
      default:
        break;
    }
  }
  return entries;
};

/** What one reconcile of the loop sends: a decided step, or the end of the loop. */
export type AgenticStepCommand = Omit<DecideAgenticStep, 'metadata'> | Omit<StopAgenticLoop, 'metadata'>;

/** The command that records a provider's answer; a give-up ends the loop at once. */
export const commandForStep = (step: number, result: AgenticStepResult): AgenticStepCommand => {
  const reasoning = `${result.reasoning} (${result.provider}, confidence ${result.confidence})`.slice(0, 20_000);
  switch (result.decision) {
    case AgenticDecision.Action:
      return {
        type: 'DecideAgenticStep',
        data: {
          step,
          reasoning,
          resolved: false,
          action: {
            actionId: `step-${step}-${result.action.type.toLowerCase()}`,
            type: result.action.type,
            params: { ...result.action.params },
            ...(result.action.description ? { description: result.action.description.slice(0, 2000) } : {}),
          },
        },
      };
    case AgenticDecision.Observe:
      return { type: 'DecideAgenticStep', data: { step, reasoning, resolved: false } };
    case AgenticDecision.Resolved:
      return { type: 'DecideAgenticStep', data: { step, reasoning, resolved: true, conclusion: result.conclusion } };
    case AgenticDecision.GiveUp:
      return { type: 'StopAgenticLoop', data: { gaveUp: { reasoning: result.reasoning.slice(0, 1500) } } };
  }
};

/** What the cluster looks like after a step, in one paragraph for the history. */
export const observationOf = (context: KubernetesContext, entry: AgenticHistoryEntry | undefined): string => {
  const symptoms = symptomsOf(context.facts);
  const action = entry?.action
    ? `${entry.action.type} ${entry.outcome ?? 'pending'}${entry.result ? `: ${entry.result}` : ''}. `
    : 'No action. ';
  const state = symptoms.length === 0 ? 'The workload looks healthy.' : `Still: ${symptoms.join('; ')}.`;
  return `${action}${state}`.slice(0, 20_000);
};

export interface AgenticLoopDeps {
  readonly store: EventStore;
  readonly provider: AgenticProvider;
  /** Reads the workload again for each step. */
  readonly context: (workload: WorkloadRef) => Promise<KubernetesContext>;
  /** The action types the policy lets run on this kind of target, with their parameters. */
  readonly availableActions: (target: WorkloadRef) => readonly AvailableAction[];
  /**
   * What a step's action would take down, recorded with the step; none when absent or when it returns undefined.
   * The policy judges the action again before it runs, whatever this says.
   */
  readonly assess?: (action: ActionSpec, target: WorkloadRef) => Promise<ActionBlastRadius | undefined>;
  /** How long to let the cluster react to an action before observing it; 3 s by default. */
  readonly settleMs?: number;
  readonly timeoutMs?: number;
}

/** The executor's agentic half: asks the provider for a step, and observes what a step did. */
export function createAgenticLoop(deps: AgenticLoopDeps) {
  const settleMs = deps.settleMs ?? 3_000;

  const issues = createCommandHandler(deps.store, issueDecider);

  /** The step's proposal, refused before it became an action, goes on the Issue's record like any refusal. */
  const recordRefusal = async (remediation: RemediationState, step: number, refused: RefusedProposal, at: string) => {
    try {
      await issues(streamName(StreamCategory.Issue, remediation.issueId), {
        type: 'RecordProposalRefusals',
        data: {
          remediationId: remediation.remediationId,
          refusals: [
            {
              refusalId: `${remediation.remediationId}/step-${step}`,
              ...(refused.action ? { action: refused.action } : {}),
              code: refused.code,
              reason: refused.reason,
              step,
            },
          ],
        },
        metadata: { occurredAt: at, actor: 'system:agentic' },
      });
    } catch (error) {
      // An Issue that has ended (or a plan run without one) takes no record; the step is observed all the same.
      if (
        !(
          isCairnError(error) &&
          (error.category === ErrorCategory.IllegalState || error.category === ErrorCategory.NotFound)
        )
      ) {
        throw error;
      }
    }
  };

  const issueOf = async (issueId: string) => {
    const events = (await deps.store.readStream(
      streamName(StreamCategory.Issue, issueId),
    )) as unknown as RecordedEvent<IssueEvent>[];
    const state = events.reduce(issueDecider.evolve, issueDecider.initialState());
    const analysis = events.findLast((e) => e.type === 'AnalysisCompleted')?.data as AgenticInsight | undefined;
    return { state, analysis };
  };

  const request = async (
    stream: string,
    remediation: RemediationState,
    issue: IssueState,
    insight: AgenticInsight | undefined,
    step: number,
    at: string,
  ): Promise<AgenticStepRequest> => {
    const workload = remediation.target as WorkloadRef;
    const agentic = remediation.agentic as NonNullable<RemediationState['agentic']>;
    const remainingSeconds =
      agentic.deadline === null
        ? agentic.timeLimitSeconds
        : Math.max(0, (epochMs(agentic.deadline) - epochMs(at)) / 1000);
    return {
      issueId: issue.issueId,
      remediationId: remediation.remediationId,
      namespace: workload.namespace,
      workload: { kind: workload.kind, name: workload.name, namespace: workload.namespace },
      signal: issue.signal,
      signals: issue.signals,
      severity: issue.severity,
      riskScore: issue.riskScore,
      description: `${issue.signal} on ${workload.kind} ${workload.namespace}/${workload.name}`,
      context: await deps.context(workload),
      ...(insight
        ? {
            insight: {
              analysis: insight.analysis,
              confidence: insight.confidence,
              recommendations: insight.recommendations,
              provider: insight.provider,
              model: insight.model,
            },
          }
        : {}),
      history: agenticHistory(await deps.store.readStream(stream)),
      budget: { step, maxSteps: agentic.maxSteps, remainingSteps: agentic.maxSteps - step, remainingSeconds },
      availableActions: deps.availableActions(workload),
      doNotRepeat: remediation.doNotRepeat,
      previousFailures: issue.failures,
    };
  };

  /** The step's action with its blast radius; a cluster that cannot be read now records none (the policy still judges). */
  const withBlastRadius = async (command: AgenticStepCommand, target: WorkloadRef): Promise<AgenticStepCommand> => {
    if (command.type !== 'DecideAgenticStep' || command.data.action === undefined || !deps.assess) return command;
    const radius = await deps.assess(command.data.action, target).catch(() => undefined);
    return radius ? { ...command, data: { ...command.data, blastRadius: radius } } : command;
  };

  return {
    /** One reconcile of the loop: the command recording the next step, or ending the loop. */
    async decide(stream: string, remediation: RemediationState, step: number, at: string): Promise<AgenticStepCommand> {
      const { state: issue, analysis } = await issueOf(remediation.issueId);
      const req = await request(stream, remediation, issue, analysis, step, at);
      try {
        const controller = new AbortController();
        const timer = setTimeout(() => controller.abort(), deps.timeoutMs ?? 60_000);
        let result: AgenticStepResult;
        try {
          result = await deps.provider.agenticStep(req, { signal: controller.signal });
        } finally {
          clearTimeout(timer);
        }
        if (result.decision === AgenticDecision.Observe && result.refused) {
          await recordRefusal(remediation, step, result.refused, at);
        }
        return await withBlastRadius(commandForStep(step, result), remediation.target as WorkloadRef);
      } catch (error) {
        // A provider that cannot answer still spends a step, so a broken provider cannot hold the loop forever.
        const why = (error instanceof Error ? error.message : String(error)).slice(0, 2000);
        return { type: 'DecideAgenticStep', data: { step, reasoning: `no decision: ${why}`, resolved: false } };
      }
    },

    /** Waits for the cluster to react to the step's action, then describes what it shows now. */
    async observe(stream: string, remediation: RemediationState, step: number): Promise<string> {
      const history = agenticHistory(await deps.store.readStream(stream));
      const entry = history.find((e) => e.step === step);
      if (entry?.outcome === AgenticActionOutcome.Succeeded || entry?.action === undefined) {
        await new Promise((resolve) => setTimeout(resolve, settleMs));
      }
      return observationOf(await deps.context(remediation.target as WorkloadRef), entry);
    },
  };
}

export type AgenticLoop = ReturnType<typeof createAgenticLoop>;
