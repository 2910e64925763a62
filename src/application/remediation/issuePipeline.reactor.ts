import { isCairnError } from '../../../domain/errors.ts';
import type { AnalysisWaitCause, ChangeEvidence, SuggestedAction } from '../../../domain/events/analysis.events.ts';
import type {
  ActionSpec,
  AnomalySource,
  RemediationSource,
  ResourceRef,
} from '../../../domain/events/common.schema.ts';
import type { PlanBlastRadius, RemediationPlanCreated } from '../../../domain/events/remediation.events.ts';
import type { IssueCommand, ProposalRefusal } from '../../../domain/issue/issue.commands.ts';
import { type IssueEvent, type IssueState, issueDecider } from '../../../domain/issue/issue.decider.ts';
import { RefusalCode } from '../../../domain/issue/refusal.stage.ts';
import type { MessageMetadata, RecordedEvent } from '../../../domain/messages.ts';
import { actionFingerprint } from '../../../domain/remediation/action.fingerprint.ts';
import {
  CheckpointStatus,
  checkpointOf,
  type RemediationEvent,
  remediationDecider,
} from '../../../domain/remediation/remediation.decider.ts';
import { matchRunbook, type RunbookCandidate } from '../../../domain/remediation/runbook.matching.ts';
import { parseStreamName, StreamCategory, streamName } from '../../../domain/streams.ts';
import { AnalysisErrorCode, type RefusedProposal } from '../../analysis/provider.ts';
import type { EventStore } from '../../ports/eventStore.ts';
import { createCommandHandler } from '../commandHandler.ts';
import { correlationStream } from '../detection/anomalyRecorder.ts';
import type { Reactor } from '../reactor.ts';

export interface Analysis {
  readonly analysis: string;
  readonly confidence: number;
  readonly recommendations: readonly string[];
  readonly suggestedActions: readonly SuggestedAction[];
  readonly provider: string;
  readonly model: string;
  /** What the provider could not use from the model's answer; recorded on the Issue with the analysis. */
  readonly refusedProposals?: readonly RefusedProposal[];
  /** The GitOps state and suspected commits of the context, recorded with the analysis. */
  readonly change?: ChangeEvidence;
}

/** Where Runbooks live (the cluster): hand-written ones to match, and AI suggestions recorded for people. */
export interface RunbookSource {
  /** Hand-written runbooks of the namespace; generated ones take part only once a person adopts them. */
  list(namespace: string): Promise<readonly RunbookCandidate[]>;
  /** Records the AI's plan as a Runbook that people can review and adopt; returns its name. */
  recordSuggestion(issue: IssueState, attempt: number, actions: readonly ActionSpec[]): Promise<string>;
  /** Records the successful steps of an agentic resolution as a Runbook (create or update); returns its name. */
  recordAgenticResolution?(issue: IssueState, actions: readonly ActionSpec[]): Promise<string>;
}

/** What approval a plan needs, decided by the configured policy before the plan is created. */
export interface ApprovalRequirement {
  readonly required: boolean;
  readonly requiredApprovals?: number;
  readonly timeoutSeconds?: number;
  /** Which rule asked for it, for the log. */
  readonly rule?: string;
  /** Only approvers in one of these groups count. */
  readonly groups?: readonly string[];
  /** The ApprovalPolicy (`namespace/name`) whose rule decided. */
  readonly policy?: string;
  /** Set when the plan must never run: why. Nothing is created; the Issue goes to people. */
  readonly deny?: string;
  /** The plan may not start before its change window opens. */
  readonly changeWindow?: { readonly opensAt: string; readonly reason: string };
}

export interface PlanCandidate {
  readonly issue: IssueState;
  readonly source: RemediationSource;
  readonly actions: readonly ActionSpec[];
  /** The analysis' confidence, when the plan comes from one. */
  readonly confidence?: number;
  /** When the plan is being decided (the instant of the event that asked for it): change windows are judged then. */
  readonly at?: string;
}

export interface PipelineDeps {
  readonly store: EventStore;
  /** Builds the context and asks the provider chain; the Issue's failures and do-not-repeat list are in `issue`. */
  readonly analyze: (issue: IssueState) => Promise<Analysis>;
  readonly now: () => Date;
  readonly runbooks?: RunbookSource;
  readonly verificationTimeoutSeconds?: number;
  /**
   * The policy's verdict on the AI's actions before they become a plan: only the allowed ones are usable. When none
   * is, the plan falls through to agentic mode (or escalation). Without it every proposed action counts as usable.
   */
  readonly screen?: (
    actions: readonly ActionSpec[],
    target: ResourceRef,
  ) => Promise<{
    allowed: readonly ActionSpec[];
    /** `code` is the policy's own (`policy.…`, `envelope.…`, `action.…`): the Issue records it as it comes. */
    refused: readonly { action: ActionSpec; reason: string; code: string }[];
  }>;
  /**
   * The plan's blast radius, recorded with it, and why it makes the plan wait for people (limits crossed); nothing
   * is recorded when absent or when it returns undefined (the disruption guard is off).
   */
  readonly blastRadius?: (
    actions: readonly ActionSpec[],
    target: ResourceRef,
  ) => Promise<{ radius: PlanBlastRadius; approval: readonly string[] } | undefined>;
  /** Agentic mode when no runbook matches and no usable action was proposed; off (escalate instead) when absent. */
  readonly agentic?: { readonly maxSteps?: number; readonly timeLimitSeconds?: number };
  /** Whether a plan needs people to approve it first; never when absent. */
  readonly approvalFor?: (plan: PlanCandidate) => Promise<ApprovalRequirement>;
  /**
   * Why the plan's actions reach beyond the Issue's namespace (nodes, GitOps applications), one reason each; any
   * reason makes the plan wait for people, whatever `approvalFor` says.
   */
  readonly beyondNamespace?: (actions: readonly ActionSpec[], target: ResourceRef) => readonly string[];
  /**
   * Sources whose word alone is not enough to act: an Issue whose every anomaly came from one of these (none from
   * Cairn's own watchers, which saw the fault on the live object, nor from a source left off this list) is
   * remediated only once people approve, whatever `approvalFor` says. Never when absent or empty.
   */
  readonly unconfirmedSourcesNeedApproval?: readonly AnomalySource[];
  /**
   * Why Cairn may not act on this target at all (its namespace is in observe mode), or undefined. The plan it would
   * have run is recorded as refused with `observeCode`, and the Issue goes to people; no plan is created.
   */
  readonly observeOnly?: (target: ResourceRef) => string | undefined;
  /** The refusal code of observe mode (`policy.observe_mode`). */
  readonly observeCode?: string;
  /**
   * Asked before a plan starts: true when the Issue is a dependant in a cascade whose root is open, in which case the
   * deferral is on the Issue's record and the plan is made once IssueRemediationReleased says so. Never when absent.
   */
  readonly deferToRoot?: (issue: IssueState, metadata: MessageMetadata) => Promise<boolean>;
  readonly log?: (line: string) => void;
}

/** The sources none of which is enough alone, by default: all but Cairn's own watchers. */
export const DefaultUnconfirmedSources: readonly AnomalySource[] = ['manual', 'prometheus', 'grpc', 'kafka'];

/** Refusals that mean the step was already taken: this event is being handled again after a restart. */
const ALREADY = new Set([
  'issue.analysis_in_progress',
  'issue.analysis_already_completed',
  'issue.no_analysis_pending',
  'issue.insight_mismatch',
  'issue.remediation_in_progress',
  'issue.not_analyzing',
  'issue.not_remediating',
  'issue.remediation_mismatch',
  'issue.already_resolved',
  'issue.already_escalated',
  'remediation.already_created',
]);

const toActionSpecs = (suggested: readonly SuggestedAction[]): ActionSpec[] =>
  suggested.map((s, i) => ({
    actionId: `${i + 1}-${s.type.toLowerCase()}`,
    type: s.type,
    params: { ...s.params },
    ...(s.description ? { description: s.description.slice(0, 2000) } : {}),
  }));

/**
 * The Issue's life after detection: analyse, turn the analysis into a remediation plan, and feed the plan's
 * outcome back to the Issue (Resolved, re-analysis with the failure's evidence, or escalation). Ids are derived
 * from the events that cause them, so handling an event twice asks for nothing new.
 */
export function issuePipelineReactor(deps: PipelineDeps): Reactor {
  const issues = createCommandHandler(deps.store, issueDecider);
  const remediations = createCommandHandler(deps.store, remediationDecider);
  const log = deps.log ?? (() => {});

  const issueState = async (issueId: string) => {
    const history = (await deps.store.readStream(
      streamName(StreamCategory.Issue, issueId),
    )) as unknown as RecordedEvent<IssueEvent>[];
    return history.reduce(issueDecider.evolve, issueDecider.initialState());
  };
  const tell = (issueId: string, command: Omit<IssueCommand, 'metadata'>, metadata: MessageMetadata) =>
    issues(streamName(StreamCategory.Issue, issueId), { ...command, metadata } as IssueCommand);

  const analyse = async (issueId: string, insightId: string, metadata: MessageMetadata) => {
    const state = await issueState(issueId);
    if (state.insightId !== insightId || state.analysis !== 'pending') return;
    try {
      const result = await deps.analyze(state);
      log(
        `analysed ${state.workload?.name}: ${result.analysis.split('\n')[0]} (${result.provider}, confidence ${result.confidence})`,
      );
      const refusedProposals = (result.refusedProposals ?? []).slice(0, 64).map(
        (refusal, index): ProposalRefusal => ({
          refusalId: `${insightId}/answer/${index + 1}`,
          ...(refusal.action ? { action: refusal.action } : {}),
          code: refusal.code,
          reason: refusal.reason,
        }),
      );
      for (const refusal of refusedProposals) log(`analysis of ${state.workload?.name} refused: ${refusal.reason}`);
      await tell(
        issueId,
        {
          type: 'CompleteAnalysis',
          data: {
            insightId,
            analysis: result.analysis,
            confidence: result.confidence,
            recommendations: result.recommendations,
            suggestedActions: result.suggestedActions,
            provider: result.provider,
            model: result.model,
            ...(refusedProposals.length > 0 ? { refusedProposals } : {}),
            ...(result.change ? { change: result.change } : {}),
          },
        },
        { ...metadata, occurredAt: deps.now().toISOString() },
      );
    } catch (error) {
      if (isCairnError(error) && error.code === AnalysisErrorCode.Waiting) {
        // The analysis server will answer later: the Issue says why it waits, and this event is handled again
        // (the reactor retries it with backoff) until an answer comes. Nothing is recorded as failed.
        const d = error.details as { server: string; cause: AnalysisWaitCause; reason: string };
        await tell(
          issueId,
          {
            type: 'DeferAnalysis',
            data: { insightId, server: d.server, cause: d.cause, reason: d.reason.slice(0, 2000) },
          },
          { ...metadata, occurredAt: deps.now().toISOString() },
        );
        throw error;
      }
      const reason = (error instanceof Error ? error.message : String(error)).slice(0, 2000);
      await tell(
        issueId,
        { type: 'FailAnalysis', data: { insightId, reason } },
        { ...metadata, occurredAt: deps.now().toISOString() },
      );
    }
  };

  /** A hand-written Runbook that matches comes first; otherwise the analysis' actions, recorded as a Runbook. */
  const choosePlan = async (state: IssueState, suggested: readonly SuggestedAction[]) => {
    const workload = state.workload!;
    const runbook = matchRunbook((await deps.runbooks?.list(workload.namespace)) ?? [], {
      signal: state.signal,
      severity: state.severity,
      kind: workload.kind,
      doNotRepeat: state.doNotRepeat,
    });
    if (runbook) {
      const actions = runbook.steps.map((step, i) => ({
        actionId: `${i + 1}-${step.name}`,
        type: step.type,
        params: { ...step.params },
        ...(step.description ? { description: step.description } : {}),
      }));
      return { source: 'manual-runbook' as const, actions, runbook: runbook.name, refusals: [] };
    }
    // Keyed by the proposal, not the stage: screening again after a restart finds it refused already.
    const refusalOf = (action: ActionSpec, code: string, reason: string): ProposalRefusal => ({
      refusalId: `${state.insightId}/proposal/${action.actionId}`,
      action: { type: action.type, params: action.params },
      code,
      reason,
    });
    const refusals: ProposalRefusal[] = [];
    const fingerprints = new Set<string>();
    const proposed: ActionSpec[] = [];
    for (const action of toActionSpecs(suggested)) {
      const fingerprint = actionFingerprint(action);
      if (fingerprints.has(fingerprint)) continue; // the same action twice is one action, not a refusal
      fingerprints.add(fingerprint);
      if (state.doNotRepeat.includes(fingerprint)) {
        refusals.push(
          refusalOf(action, RefusalCode.DoNotRepeat, `${fingerprint} already failed or was refused on this Issue`),
        );
      } else {
        proposed.push(action);
      }
    }
    let actions: readonly ActionSpec[] = proposed;
    if (deps.screen && proposed.length > 0) {
      const verdict = await deps.screen(proposed, workload);
      for (const { action, reason, code } of verdict.refused) {
        log(`analysis proposed ${action.type}, not usable: ${reason}`);
        refusals.push(refusalOf(action, code, reason));
      }
      actions = verdict.allowed;
    }
    if (actions.length > 0) return { source: 'ai-runbook' as const, actions, runbook: undefined, refusals };
    // Nothing usable was proposed: the AI decides step by step, from the live state of the cluster.
    if (deps.agentic) {
      return { source: 'agentic' as const, actions: [] as ActionSpec[], runbook: undefined, refusals };
    }
    return { source: 'ai-runbook' as const, actions, runbook: undefined, refusals };
  };

  /** Puts refusals on the Issue's record; their actions join its do-not-repeat list. */
  const recordRefusals = async (
    issueId: string,
    refusals: readonly ProposalRefusal[],
    metadata: MessageMetadata,
    remediationId?: string,
  ) => {
    for (let start = 0; start < refusals.length; start += 100) {
      await tell(
        issueId,
        {
          type: 'RecordProposalRefusals',
          data: { ...(remediationId ? { remediationId } : {}), refusals: refusals.slice(start, start + 100) },
        },
        metadata,
      );
    }
  };

  /** Why the Issue's signals are not enough to act on alone, if they are not: none of them is confirmed. */
  const unconfirmed = async (issue: IssueState): Promise<string[]> => {
    const doubted = deps.unconfirmedSourcesNeedApproval ?? [];
    if (doubted.length === 0 || issue.source === null || !doubted.includes(issue.source)) return [];
    // The Issue's later anomalies may come from elsewhere; their sources are on the workload's correlation stream.
    const ids = new Set(issue.anomalyIds);
    const sources = new Set<AnomalySource>([issue.source]);
    for (const event of await deps.store.readStream(correlationStream(issue.workload!))) {
      const d = event.data as { anomalyId?: string; source?: AnomalySource };
      if (event.type === 'AnomalyDetected' && d.anomalyId && ids.has(d.anomalyId) && d.source) sources.add(d.source);
    }
    if ([...sources].some((source) => !doubted.includes(source))) return [];
    return [`its signals come from ${[...sources].sort().join(', ')} alone: no watcher of Cairn's saw them`];
  };

  /**
   * Observe mode: the plan that would have run goes on the Issue's record as refused by the policy (the screen has
   * refused the analysis' own proposals already), and the Issue is handed to people. Nothing reaches the executor.
   */
  const observe = async (
    issueId: string,
    state: IssueState,
    chosen: { source: RemediationSource; actions: readonly ActionSpec[]; runbook: string | undefined },
    reason: string,
    metadata: MessageMetadata,
  ) => {
    const code = deps.observeCode ?? 'policy.observe_mode';
    if (state.status === 'Analyzing') {
      const planned: ProposalRefusal[] = chosen.actions.map((action) => ({
        refusalId: `${state.insightId}/observe/${action.actionId}`,
        action: { type: action.type, params: action.params },
        code,
        reason: chosen.runbook ? `runbook ${chosen.runbook}: ${reason}` : reason,
      }));
      if (chosen.source === 'agentic') {
        planned.push({ refusalId: `${state.insightId}/observe/agentic`, code, reason: `agentic steps: ${reason}` });
      }
      await recordRefusals(issueId, planned, metadata);
    }
    log(`${state.workload?.namespace}/${state.workload?.name}: ${reason}`);
    await tell(issueId, { type: 'EscalateIssue', data: { reason: 'no_remediation', detail: reason } }, metadata);
  };

  /** An ApprovalPolicy denies the plan: it goes on the Issue's record as refused, and the Issue to people. */
  const deny = async (
    issueId: string,
    state: IssueState,
    chosen: { source: RemediationSource; actions: readonly ActionSpec[] },
    reason: string,
    metadata: MessageMetadata,
  ) => {
    const code = 'approval.denied';
    if (state.status === 'Analyzing') {
      const refused: ProposalRefusal[] = chosen.actions.map((action) => ({
        refusalId: `${state.insightId}/denied/${action.actionId}`,
        action: { type: action.type, params: action.params },
        code,
        reason,
      }));
      if (chosen.source === 'agentic') {
        refused.push({ refusalId: `${state.insightId}/denied/agentic`, code, reason: `agentic steps: ${reason}` });
      }
      await recordRefusals(issueId, refused, metadata);
    }
    log(`${state.workload?.namespace}/${state.workload?.name}: ${reason}`);
    await tell(issueId, { type: 'EscalateIssue', data: { reason: 'no_remediation', detail: reason } }, metadata);
  };

  const plan = async (
    issueId: string,
    insightId: string,
    suggested: readonly SuggestedAction[],
    confidence: number | undefined,
    metadata: MessageMetadata,
  ) => {
    const state = await issueState(issueId);
    const chosen = await choosePlan(state, suggested);
    // Handled again once the plan is under way, the screen may see another cluster: its refusals are not news.
    if (state.status === 'Analyzing' && state.insightId === insightId) {
      await recordRefusals(issueId, chosen.refusals, metadata);
    }
    const observing = deps.observeOnly?.(state.workload!);
    if (observing !== undefined) {
      await observe(issueId, state, chosen, observing, metadata);
      return;
    }
    // The root of its cascade goes first; this plan is made again when the deferral is released.
    if (state.status === 'Analyzing' && (await deps.deferToRoot?.(state, metadata))) return;
    if (chosen.actions.length === 0 && chosen.source !== 'agentic') {
      const detail = 'no runbook matches and the analysis proposed no action that has not already failed';
      await tell(issueId, { type: 'EscalateIssue', data: { reason: 'no_remediation', detail } }, metadata);
      return;
    }
    const remediationId = `${insightId}-plan`;
    // Asked before the plan starts: a plan an ApprovalPolicy denies is never created.
    const ruled = await deps.approvalFor?.({
      issue: state,
      source: chosen.source,
      actions: chosen.actions,
      at: metadata.occurredAt,
      ...(confidence === undefined ? {} : { confidence }),
    });
    if (ruled?.deny !== undefined) {
      await deny(issueId, state, chosen, ruled.deny, metadata);
      return;
    }
    // Read before the remediation starts: a cluster that cannot be read holds the Issue in analysis, retried.
    const assessed = await deps.blastRadius?.(chosen.actions, state.workload!);
    await tell(issueId, { type: 'StartRemediation', data: { remediationId, source: chosen.source } }, metadata).catch(
      ignoreRepeat,
    );
    const started = await issueState(issueId);
    if (started.remediationId !== remediationId) return;
    const runbook =
      chosen.runbook ??
      (chosen.source === 'agentic'
        ? undefined
        : await deps.runbooks?.recordSuggestion(started, started.attempts, chosen.actions));
    const beyond = [
      ...(deps.beyondNamespace?.(chosen.actions, state.workload!) ?? []),
      ...(await unconfirmed(started)),
      ...(assessed?.approval ?? []),
    ];
    const approval: ApprovalRequirement | undefined =
      beyond.length > 0 && !ruled?.required ? { ...ruled, required: true, rule: beyond.join('; ') } : ruled;
    if (approval?.required) log(`plan ${remediationId} needs approval (${approval.rule ?? 'policy'})`);
    if (approval?.changeWindow) log(`plan ${remediationId} waits until ${approval.changeWindow.opensAt}`);
    await remediations(streamName(StreamCategory.Remediation, remediationId), {
      type: 'CreateRemediationPlan',
      data: {
        remediationId,
        issueId,
        attempt: started.attempts,
        source: chosen.source,
        target: state.workload!,
        actions: chosen.actions,
        // As the Issue has it now, refusals of this round included: an agentic loop is told not to try them.
        doNotRepeat: [...started.doNotRepeat],
        ...(runbook ? { runbook } : {}),
        ...(deps.verificationTimeoutSeconds ? { verificationTimeoutSeconds: deps.verificationTimeoutSeconds } : {}),
        ...(chosen.source === 'agentic' ? { agentic: { ...deps.agentic } } : {}),
        ...(approval?.required
          ? {
              approval: {
                required: true,
                ...(approval.requiredApprovals ? { requiredApprovals: approval.requiredApprovals } : {}),
                ...(approval.timeoutSeconds ? { timeoutSeconds: approval.timeoutSeconds } : {}),
                ...(approval.groups && approval.groups.length > 0 ? { groups: approval.groups } : {}),
                ...(approval.policy ? { policy: approval.policy } : {}),
                ...(approval.rule ? { rule: approval.rule.slice(0, 253) } : {}),
              },
            }
          : {}),
        ...(approval?.changeWindow ? { changeWindow: approval.changeWindow } : {}),
        ...(assessed ? { blastRadius: assessed.radius } : {}),
      },
      metadata,
    });
    log(
      `plan ${remediationId} for ${state.workload?.name} (${chosen.source}${runbook ? `, runbook ${runbook}` : ''}): ${chosen.actions.map((a) => a.type).join(', ') || 'agentic steps'}`,
    );
  };

  /** An approval request expired: its refusal goes on the Issue's record and the Issue escalates, no new attempt. */
  const escalateExpired = async (event: RecordedEvent, metadata: MessageMetadata) => {
    const history = await deps.store.readStream(event.streamId);
    const created = history.find((e) => e.type === 'RemediationPlanCreated') as
      | RecordedEvent<RemediationPlanCreated>
      | undefined;
    if (!created) return;
    const { remediationId, issueId } = created.data;
    await recordRefusals(issueId, refusalsIn(history, created.data), metadata, remediationId);
    const detail = `approval request of plan ${remediationId} expired: ${String((event.data as { detail?: string }).detail ?? '')}`;
    await tell(issueId, { type: 'EscalateIssue', data: { reason: 'approval_expired', detail } }, metadata);
  };

  const reportOutcome = async (event: RecordedEvent, metadata: MessageMetadata) => {
    const history = await deps.store.readStream(event.streamId);
    const created = history.find((e) => e.type === 'RemediationPlanCreated') as
      | RecordedEvent<RemediationPlanCreated>
      | undefined;
    if (!created) return;
    const { remediationId, issueId } = created.data;
    const remediation = (history as unknown as RecordedEvent<RemediationEvent>[]).reduce(
      remediationDecider.evolve,
      remediationDecider.initialState(),
    );
    // Before the outcome: once the Issue is resolved or escalated, nothing more can be put on its record.
    await recordRefusals(issueId, refusalsIn(history, created.data), metadata, remediationId);
    // An agentic loop's actions are the ones it decided and ran; proposals the policy refused never touched anything.
    const actions =
      remediation.agentic === null
        ? created.data.actions
        : remediation.actions.filter((a) => {
            const status = checkpointOf(remediation, a.actionId)?.status;
            return status === CheckpointStatus.Succeeded || status === CheckpointStatus.Failed;
          });
    if (event.type === 'RemediationCompleted') {
      if (remediation.agentic !== null && deps.runbooks?.recordAgenticResolution) {
        const succeeded = actions.filter(
          (a) => checkpointOf(remediation, a.actionId)?.status === CheckpointStatus.Succeeded,
        );
        if (succeeded.length > 0) {
          const name = await deps.runbooks.recordAgenticResolution(await issueState(issueId), succeeded);
          log(`runbook ${name} recorded from the agentic resolution of ${remediationId}`);
        }
      }
      await tell(
        issueId,
        { type: 'RecordRemediationOutcome', data: { remediationId, outcome: 'completed' } },
        metadata,
      );
      return;
    }
    const failed = history.find((e) => e.type === 'ActionFailed' || e.type === 'ActionRefusedByPolicy')?.data as
      | { actionId: string; error?: string; reason?: string }
      | undefined;
    const failedSpec = failed && actions.find((a) => a.actionId === failed.actionId);
    const reason =
      (event.data as { reason?: string; detail?: string }).detail ?? (event.data as { reason: string }).reason;
    await tell(
      issueId,
      {
        type: 'RecordRemediationOutcome',
        data: {
          remediationId,
          outcome: event.type === 'RemediationRolledBack' ? 'rolled_back' : 'failed',
          reason: String(reason).slice(0, 2000),
          attemptedActions: actions.map((a) => ({ type: a.type, params: a.params })),
          ...(failedSpec
            ? {
                failedAction: {
                  type: failedSpec.type,
                  params: failedSpec.params,
                  error: (failed?.error ?? failed?.reason ?? '').slice(0, 2000),
                },
              }
            : {}),
          observations: history
            .filter(
              (e) =>
                e.type === 'VerificationFailed' ||
                e.type === 'ActionFailed' ||
                e.type === 'RollbackCompleted' ||
                e.type === 'AgenticStepObserved',
            )
            .slice(-50)
            .map((e) => `${e.type}: ${JSON.stringify(e.data)}`.slice(0, 2000)),
          insightId: `${remediationId}-reanalysis`,
        },
      },
      metadata,
    );
  };

  return {
    name: 'issue-pipeline',
    filter: {
      eventTypes: [
        'IssueDetected',
        'AnalysisRequested',
        'ReanalysisRequested',
        'AnalysisCompleted',
        'AnalysisFailed',
        'RemediationCompleted',
        'RemediationRolledBack',
        'RemediationFailed',
        'IssueRemediationReleased',
      ],
    },
    async handle(event) {
      const metadata = { occurredAt: event.metadata.occurredAt, causationId: event.id, actor: 'system:pipeline' };
      const issueId = event.streamId.startsWith(`${StreamCategory.Issue}-`) ? parseStreamName(event.streamId).id : '';
      try {
        switch (event.type) {
          case 'IssueDetected':
            await tell(issueId, { type: 'RequestAnalysis', data: { insightId: `${issueId}-insight-1` } }, metadata);
            return;
          case 'AnalysisRequested':
          case 'ReanalysisRequested':
            await analyse(issueId, (event.data as { insightId: string }).insightId, metadata);
            return;
          case 'AnalysisCompleted': {
            const d = event.data as { insightId: string; suggestedActions: SuggestedAction[]; confidence: number };
            await plan(issueId, d.insightId, d.suggestedActions, d.confidence, metadata);
            return;
          }
          case 'IssueRemediationReleased': {
            // The plan that waited for the root of its cascade: made now from the analysis it was deferred with.
            const state = await issueState(issueId);
            if (state.status !== 'Analyzing' || state.analysis !== 'completed' || state.remediationDeferral !== null)
              return;
            const history = await deps.store.readStream(event.streamId);
            const analysed = history.find(
              (e) => e.type === 'AnalysisCompleted' && (e.data as { insightId: string }).insightId === state.insightId,
            );
            if (!analysed) return;
            const d = analysed.data as { insightId: string; suggestedActions: SuggestedAction[]; confidence: number };
            await plan(issueId, d.insightId, d.suggestedActions, d.confidence, metadata);
            return;
          }
          case 'AnalysisFailed':
            await tell(
              issueId,
              {
                type: 'EscalateIssue',
                data: { reason: 'analysis_failed', detail: String((event.data as { reason: string }).reason) },
              },
              metadata,
            );
            return;
          case 'RemediationFailed':
            // Fail closed: nobody decided in time, so nothing ran and people take the Issue over.
            if ((event.data as { reason?: string }).reason === 'approval_expired') {
              await escalateExpired(event, metadata);
              return;
            }
            await reportOutcome(event, metadata);
            return;
          default:
            await reportOutcome(event, metadata);
        }
      } catch (error) {
        ignoreRepeat(error);
      }
    },
  };
}

/** What the executor's policy and the approvers refused inside a remediation, from its stream. */
export function refusalsIn(
  history: readonly RecordedEvent[],
  plan: { readonly remediationId: string; readonly actions: readonly ActionSpec[] },
): ProposalRefusal[] {
  const refusals: ProposalRefusal[] = [];
  const stepOf = new Map<string, number>();
  for (const event of history) {
    if (event.type === 'AgenticStepDecided') {
      const d = event.data as { step: number; action?: ActionSpec };
      if (d.action) stepOf.set(d.action.actionId, d.step);
    } else if (event.type === 'ActionRefusedByPolicy') {
      const d = event.data as {
        actionId: string;
        type: string;
        params: Record<string, string>;
        policy: string;
        reason: string;
      };
      const step = stepOf.get(d.actionId);
      refusals.push({
        refusalId: `${plan.remediationId}/${d.actionId}`,
        action: { type: d.type, params: d.params },
        code: d.policy,
        reason: d.reason,
        ...(step === undefined ? {} : { step }),
      });
    } else if (event.type === 'ApprovalRefused' || event.type === 'ApprovalExpired') {
      const refused = event.type === 'ApprovalRefused';
      const d = event.data as { approver?: string; reason?: string; approvals?: number; expiresAt?: string };
      const code = refused ? RefusalCode.ApprovalRefused : RefusalCode.ApprovalExpired;
      const reason = refused
        ? `refused by ${d.approver}${d.reason ? `: ${d.reason}` : ''}`
        : `no quorum before ${d.expiresAt} (${d.approvals} approval(s))`;
      if (plan.actions.length === 0) {
        refusals.push({ refusalId: `${plan.remediationId}/approval`, code, reason: `the agentic plan was ${reason}` });
      }
      for (const action of plan.actions) {
        refusals.push({
          refusalId: `${plan.remediationId}/approval/${action.actionId}`,
          action: { type: action.type, params: action.params },
          code,
          reason,
        });
      }
    }
  }
  return refusals;
}

function ignoreRepeat(error: unknown): void {
  if (isCairnError(error) && ALREADY.has(error.code)) return;
  throw error;
}
