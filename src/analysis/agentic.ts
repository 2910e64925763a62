import { type Static, Type } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import { CairnError, ErrorCategory } from '../../domain/errors.ts';
import { SuggestedAction } from '../../domain/events/analysis.events.ts';
import type { ActionCall, FailureEvidence, Severity } from '../../domain/events/common.schema.ts';
import { AgenticConclusion } from '../../domain/events/remediation.events.ts';
import { actionFingerprint } from '../../domain/remediation/action.fingerprint.ts';
import { firstAnswer, type ProviderFailure } from './fallback.ts';
import { formatMemoryBytes, parseMemoryBytes } from './memoryQuantity.ts';
import { AnalysisErrorCode, RefusedProposalSchema } from './provider.ts';
import type {
  ContainerFacts,
  KubernetesContext,
  PodFacts,
  RevisionFacts,
  WorkloadFacts,
  WorkloadRef,
} from './workloadFacts.ts';

/**
 * The agentic port: one step of a remediation in which the model decides each action as it goes, from the
 * refreshed cluster state and what the earlier steps did. Cairn's policy layer judges every proposed action
 * afterwards, so nothing a provider answers can widen what may run.
 */

/** What the model may choose from: the action types the policy allows, with the parameters each accepts. */
export interface AvailableAction {
  readonly type: string;
  readonly description: string;
  /** Cannot be undone by restoring the snapshot (pods deleted, a disk grown...). */
  readonly destructive: boolean;
  readonly params: Readonly<Record<string, { readonly description: string; readonly required?: boolean }>>;
}

export const AgenticActionOutcome = {
  Succeeded: 'succeeded',
  Failed: 'failed',
  /** The policy layer or the action's safety checks said no; nothing was touched. */
  Refused: 'refused',
} as const;
export type AgenticActionOutcome = (typeof AgenticActionOutcome)[keyof typeof AgenticActionOutcome];

/** One earlier step of this loop, oldest first. */
export interface AgenticHistoryEntry {
  readonly step: number;
  readonly reasoning: string;
  /** Absent when the step only observed. */
  readonly action?: ActionCall & { readonly description?: string };
  readonly outcome?: AgenticActionOutcome;
  /** What the action reported, its error, or why it was refused. */
  readonly result?: string;
  /** What the cluster looked like after the step. */
  readonly observation?: string;
}

export interface AgenticBudget {
  /** The step being decided now, from 1. */
  readonly step: number;
  readonly maxSteps: number;
  /** Steps left after this one. */
  readonly remainingSteps: number;
  readonly remainingSeconds: number;
}

/** The analysis that preceded the loop, if one completed. */
export interface AgenticInsight {
  readonly analysis: string;
  readonly confidence: number;
  readonly recommendations: readonly string[];
  readonly provider: string;
  readonly model: string;
}

/** Everything a provider may read to decide one step. Built by the loop for each step; providers never call back. */
export interface AgenticStepRequest {
  readonly issueId: string;
  readonly remediationId: string;
  readonly namespace: string;
  readonly workload: WorkloadRef;
  readonly signal: string;
  readonly signals: readonly string[];
  readonly severity: Severity;
  readonly riskScore: number;
  readonly description: string;
  /** Read again for this step, after the previous step's action. */
  readonly context: KubernetesContext;
  readonly insight?: AgenticInsight;
  readonly history: readonly AgenticHistoryEntry[];
  readonly budget: AgenticBudget;
  readonly availableActions: readonly AvailableAction[];
  /** Fingerprints (`actionFingerprint`) of actions that already failed on this Issue: never propose them. */
  readonly doNotRepeat: readonly string[];
  /** Why earlier remediations of this Issue did not work, oldest first. */
  readonly previousFailures: readonly FailureEvidence[];
}

export const AgenticDecision = {
  /** Take `action` next. */
  Action: 'action',
  /** Take no action; look again at the next step (a rollout still in progress). */
  Observe: 'observe',
  /** The problem is gone: verify, then write the PostMortem from `conclusion`. */
  Resolved: 'resolved',
  /** Nothing sensible is left to try: roll back and hand over to a human. */
  GiveUp: 'give-up',
} as const;
export type AgenticDecision = (typeof AgenticDecision)[keyof typeof AgenticDecision];

const Reasoning = Type.String({ minLength: 1, maxLength: 20_000 });
const Confidence = Type.Number({ minimum: 0, maximum: 1 });
const ProviderName = Type.String({ minLength: 1, maxLength: 128 });
const ModelName = Type.String({ maxLength: 256 });
const common = { reasoning: Reasoning, confidence: Confidence, provider: ProviderName, model: ModelName };

export const AgenticStepResultSchema = Type.Union([
  Type.Object({ decision: Type.Literal(AgenticDecision.Action), ...common, action: SuggestedAction }),
  Type.Object({
    decision: Type.Literal(AgenticDecision.Observe),
    ...common,
    /** The action the model proposed instead, when it could not be used: recorded on the Issue. */
    refused: Type.Optional(RefusedProposalSchema),
  }),
  Type.Object({ decision: Type.Literal(AgenticDecision.Resolved), ...common, conclusion: AgenticConclusion }),
  Type.Object({ decision: Type.Literal(AgenticDecision.GiveUp), ...common }),
]);
export type AgenticStepResult = Readonly<Static<typeof AgenticStepResultSchema>>;

export interface AgenticStepOptions {
  readonly signal?: AbortSignal;
}

export interface AgenticProvider {
  /** Goes into the result's `provider` field and into failure reports; stable across restarts. */
  readonly name: string;
  /** Rejects on any failure (the loop records it and tries again at the next reconcile, within its budget). */
  agenticStep(request: AgenticStepRequest, options?: AgenticStepOptions): Promise<AgenticStepResult>;
}

export const AgenticErrorCode = {
  InvalidResult: 'AgenticResultInvalid',
  Unavailable: 'AgenticUnavailable',
} as const;

/** Throws when an answer is not an AgenticStepResult, naming the first problem. */
export const assertAgenticStepResult = (provider: string, result: unknown): AgenticStepResult => {
  if (Value.Check(AgenticStepResultSchema, result)) return result;
  const first = Value.Errors(AgenticStepResultSchema, result).First();
  throw new CairnError(
    AgenticErrorCode.InvalidResult,
    ErrorCategory.Internal,
    `provider ${provider} returned an invalid agentic step${first ? `: ${first.path || '/'} ${first.message}` : ''}`,
  );
};

const DEFAULT_STEP_TIMEOUT_MS = 60_000;

/** Asks each provider in turn until one answers a valid step, like `chainProviders` does for analyses. */
export function chainAgenticProviders(
  providers: readonly AgenticProvider[],
  options: { readonly timeoutMs?: number; readonly onFallback?: (failure: ProviderFailure) => void } = {},
): AgenticProvider {
  if (providers.length === 0) {
    throw new CairnError('AgenticChainEmpty', ErrorCategory.Validation, 'a provider chain needs at least one provider');
  }
  const timeoutMs = options.timeoutMs ?? DEFAULT_STEP_TIMEOUT_MS;
  return {
    name: providers.map((p) => p.name).join('>'),
    agenticStep: (request, callOptions = {}) =>
      firstAnswer(providers, {
        what: 'agentic step',
        timeoutMs,
        ...(callOptions.signal ? { signal: callOptions.signal } : {}),
        ask: (provider, options) => provider.agenticStep(request, { signal: options.signal }),
        check: assertAgenticStepResult,
        unavailableCode: AgenticErrorCode.Unavailable,
        ...(options.onFallback ? { onFallback: options.onFallback } : {}),
      }),
  };
}

// ---------------------------------------------------------------------------------------------------------------
// The rules implementation: offline and deterministic, the default and the last link of every chain.

export const RULES_AGENTIC_PROVIDER = 'rules';
export const RULES_AGENTIC_MODEL = 'rules-agentic-v1';

export const AgenticRuleConfidence = {
  raiseMemory: 0.8,
  rollbackRelease: 0.75,
  deleteSickPod: 0.65,
  restart: 0.5,
  rollbackPrevious: 0.4,
  observe: 0.6,
  resolved: 0.8,
  resolvedWithoutAction: 0.5,
  giveUp: 0.2,
} as const;

const AdjustTypes: Readonly<Record<string, string>> = {
  Deployment: 'AdjustResources',
  StatefulSet: 'AdjustStatefulSetResources',
  DaemonSet: 'AdjustDaemonSetResources',
  Job: 'AdjustJobResources',
  CronJob: 'AdjustCronJobResources',
};
const RollbackTypes: Readonly<Record<string, string>> = {
  Deployment: 'RollbackDeployment',
  StatefulSet: 'RollbackStatefulSet',
  DaemonSet: 'RollbackDaemonSet',
};
const RestartTypes: Readonly<Record<string, string>> = {
  Deployment: 'RestartDeployment',
  StatefulSet: 'RestartStatefulSet',
  DaemonSet: 'RestartDaemonSet',
};
const DeletePodTypes: Readonly<Record<string, string>> = {
  Deployment: 'DeletePod',
  StatefulSet: 'DeleteStatefulSetPod',
  DaemonSet: 'DeleteDaemonSetPod',
};
const entry = (table: Readonly<Record<string, string>>, kind: string) =>
  Object.hasOwn(table, kind) ? table[kind] : undefined;

/** At most this many observe-only steps in a row: a rollout that does not settle is a problem in itself. */
const MAX_OBSERVES_IN_A_ROW = 2;

interface Candidate {
  readonly action: SuggestedAction;
  readonly confidence: number;
  readonly because: string;
}

const sickPod = (pod: PodFacts) => !pod.ready || pod.reasons.length > 0;

const currentRevision = (facts: WorkloadFacts): RevisionFacts | undefined =>
  facts.revisions.find((r) => r.current) ?? facts.revisions[0];

const sameImages = (a: Readonly<Record<string, string>>, b: Readonly<Record<string, string>>) =>
  [...new Set([...Object.keys(a), ...Object.keys(b)])].every((k) => a[k] === b[k]);

/** What still looks wrong with the workload, in words; empty when nothing does. */
export const symptomsOf = (facts: WorkloadFacts): string[] => {
  if (!facts.found) return [`${facts.kind} ${facts.namespace}/${facts.name} cannot be read`];
  const symptoms: string[] = [];
  const currentPods = facts.pods.filter((p) => p.phase !== 'Succeeded');
  if (currentPods.some((p) => p.oomKilledContainers.length > 0 && !p.ready)) symptoms.push('containers are OOMKilled');
  if (facts.crashLooping) symptoms.push('containers crash-loop');
  if (facts.imagePullFailing) symptoms.push('an image cannot be pulled');
  if (facts.notReadyPods > 0) symptoms.push(`${facts.notReadyPods} pod(s) are not ready`);
  const r = facts.replicas;
  if (r !== undefined && (r.ready < r.desired || r.updated < r.desired)) {
    symptoms.push(`${r.ready} of ${r.desired} replicas ready, ${r.updated} updated`);
  }
  if (facts.job?.state.startsWith('Failed')) symptoms.push(`the Job failed (${facts.job.state})`);
  // Configuration that points at nothing, and pods blocked on a cause, are symptoms too even with no pod failing.
  symptoms.push(...(facts.subject?.problems ?? []));
  for (const b of (facts.blockers ?? []).slice(0, 3)) symptoms.push(`${b.code} on ${b.seenOn}`);
  return symptoms;
};

/** A rollout under way: new pods coming up, old ones going, with no failure to show yet. */
const rollingOut = (facts: WorkloadFacts) => {
  const r = facts.replicas;
  const failing = facts.crashLooping || facts.imagePullFailing || facts.oomKilled;
  return !failing && r !== undefined && (r.updated < r.desired || facts.podCount > r.desired);
};

const raiseMemory = (facts: WorkloadFacts, type: string): Candidate[] => {
  const named = facts.oomKilledContainers.length > 0 ? facts.oomKilledContainers : undefined;
  const containers: ContainerFacts[] = named
    ? facts.containers.filter((c) => named.includes(c.name))
    : facts.containers.length === 1
      ? [...facts.containers]
      : [];
  return containers.flatMap((container) => {
    const limit = parseMemoryBytes(container.memoryLimit);
    const request = parseMemoryBytes(container.memoryRequest);
    const base = limit ?? request;
    if (base === undefined || base <= 0) return [];
    const newLimit = formatMemoryBytes(base * 2);
    const params: Record<string, string> = { container: container.name, memory_limit: newLimit };
    // A Guaranteed pod (request = limit) stays Guaranteed.
    if (limit !== undefined && request === limit) params.memory_request = newLimit;
    return [
      {
        action: {
          name: `raise-memory-${container.name}`,
          type,
          description: `Raise the memory limit of ${container.name} from ${container.memoryLimit ?? 'none'} to ${newLimit}`,
          params,
        },
        confidence: AgenticRuleConfidence.raiseMemory,
        because: `container ${container.name} is OOMKilled at ${container.memoryLimit ?? container.memoryRequest}; doubling the limit gives it room`,
      },
    ];
  });
};

/**
 * A rollback writes a new revision, so a second one would name another revision number yet mostly return to a
 * template already tried: one rollback per Issue's loop, and none once a rollback failed on the Issue.
 */
const rollbackTried = (request: AgenticStepRequest): boolean => {
  const types = new Set(Object.values(RollbackTypes));
  const tried = [
    ...request.history.flatMap((h) => (h.action ? [h.action.type] : [])),
    ...request.doNotRepeat.map((fingerprint) => fingerprint.split('(')[0] ?? fingerprint),
  ];
  return tried.some((type) => types.has(type));
};

const candidatesFor = (request: AgenticStepRequest): Candidate[] => {
  const facts = request.context.facts;
  const kind = facts.kind;
  const signals = new Set([request.signal, ...request.signals]);
  const candidates: Candidate[] = [];
  const adjust = entry(AdjustTypes, kind);
  if (adjust && (facts.oomKilled || signals.has('oom_kill'))) candidates.push(...raiseMemory(facts, adjust));

  const rollback = rollbackTried(request) ? undefined : entry(RollbackTypes, kind);
  const current = currentRevision(facts);
  const earlier = current
    ? facts.revisions.filter((r) => r.revision < current.revision).sort((a, b) => b.revision - a.revision)
    : [];
  const otherRelease = current
    ? (earlier.filter((r) => !sameImages(r.images, current.images)).find((r) => r.ready) ??
      earlier.find((r) => !sameImages(r.images, current.images)))
    : undefined;
  if (rollback && otherRelease && (facts.crashLooping || facts.imagePullFailing || facts.oomKilled)) {
    candidates.push({
      action: {
        name: `rollback-to-revision-${otherRelease.revision}`,
        type: rollback,
        description: `Roll back to revision ${otherRelease.revision}, the release before the failing one`,
        params: { toRevision: String(otherRelease.revision) },
      },
      confidence: AgenticRuleConfidence.rollbackRelease,
      because: `revision ${otherRelease.revision} ran other images${otherRelease.ready ? ' and still serves' : ''}`,
    });
  }

  // A few sick pods among healthy ones: replace just those, one per step.
  // Pods that never started, or wait on a cause no restart removes (a missing Secret, a quota), are not wedged:
  // replacing them brings the same pods back.
  const blocked = (facts.blockers ?? []).length > 0;
  const deletePod = blocked ? undefined : entry(DeletePodTypes, kind);
  const sick = facts.pods.filter((p) => sickPod(p) && !p.pending);
  if (deletePod && sick.length > 0 && sick.length < facts.podCount && !facts.imagePullFailing) {
    for (const pod of sick) {
      candidates.push({
        action: {
          name: `delete-pod-${pod.name}`.slice(0, 200),
          type: deletePod,
          description: `Delete pod ${pod.name} so its controller replaces it`,
          params: { pod: pod.name },
        },
        confidence: AgenticRuleConfidence.deleteSickPod,
        because: `only ${sick.length} of ${facts.podCount} pods are sick; replacing pod ${pod.name} leaves the others serving`,
      });
    }
  }

  const restart = blocked ? undefined : entry(RestartTypes, kind);
  const onlyPending = facts.pods.some(sickPod) && facts.pods.filter(sickPod).every((p) => p.pending);
  if (restart && !facts.imagePullFailing && !onlyPending) {
    candidates.push({
      action: {
        name: 'restart-rollout',
        type: restart,
        description: `Restart the pods of ${kind} ${facts.name}`,
        params: {},
      },
      confidence: AgenticRuleConfidence.restart,
      because: 'replacing every pod clears state that went bad',
    });
  }

  const previous = earlier.find((r) => r.ready) ?? earlier[0];
  if (rollback && previous && previous.revision !== otherRelease?.revision) {
    candidates.push({
      action: {
        name: `rollback-to-revision-${previous.revision}`,
        type: rollback,
        description: `Roll back to revision ${previous.revision}, undoing the last template change`,
        params: { toRevision: String(previous.revision) },
      },
      confidence: AgenticRuleConfidence.rollbackPrevious,
      because: `revision ${previous.revision} is the template before the current one`,
    });
  }
  return candidates;
};

const conclusionFrom = (request: AgenticStepRequest, succeeded: readonly AgenticHistoryEntry[]) => {
  const facts = request.context.facts;
  const what = `${facts.kind} ${facts.namespace}/${facts.name}`;
  const fixes = succeeded.map((h) => h.action?.description ?? h.action?.type ?? '').filter((d) => d !== '');
  return {
    summary:
      fixes.length > 0
        ? `${what} recovered from ${request.signal} after ${fixes.length} action(s): ${fixes.join('; ')}.`.slice(
            0,
            2000,
          )
        : `${what} shows no symptom of ${request.signal} any more; no action was needed.`,
    rootCause: (request.insight?.analysis && request.insight.analysis !== 'unknown'
      ? request.insight.analysis
      : `${request.signal} on ${what}`
    ).slice(0, 2000),
    impact: `${what} was degraded (${request.severity}, risk ${request.riskScore}) until the loop fixed it.`,
    lessonsLearned: fixes.length > 0 ? [`${fixes.at(-1)} fixed ${request.signal} on ${what}.`.slice(0, 2000)] : [],
    preventionActions: ['Review the generated runbook and adopt it if it fits this workload.'],
  };
};

/** The rules provider's step: a pure function of the request. */
export function decideAgenticStepWithRules(request: AgenticStepRequest): AgenticStepResult {
  const facts = request.context.facts;
  const answer = <D extends AgenticDecision>(decision: D, reasoning: string, confidence: number) => ({
    decision,
    reasoning: reasoning.slice(0, 20_000),
    confidence,
    provider: RULES_AGENTIC_PROVIDER,
    model: RULES_AGENTIC_MODEL,
  });
  const what = `${facts.kind} ${facts.namespace}/${facts.name}`;
  if (!facts.found) {
    return answer(
      AgenticDecision.GiveUp,
      `${what} cannot be read, so no step can be judged.`,
      AgenticRuleConfidence.giveUp,
    );
  }
  const acted = request.history.filter((h) => h.action !== undefined);
  const succeeded = acted.filter((h) => h.outcome === AgenticActionOutcome.Succeeded);
  const symptoms = symptomsOf(facts);
  if (symptoms.length === 0) {
    return {
      ...answer(
        AgenticDecision.Resolved,
        succeeded.length > 0
          ? `${what} is healthy after ${succeeded.map((h) => h.action?.type).join(', ')}.`
          : `${what} is healthy; the symptom is gone.`,
        succeeded.length > 0 ? AgenticRuleConfidence.resolved : AgenticRuleConfidence.resolvedWithoutAction,
      ),
      conclusion: conclusionFrom(request, succeeded),
    };
  }

  let observesInARow = 0;
  for (const h of [...request.history].reverse()) {
    if (h.action !== undefined) break;
    observesInARow += 1;
  }
  const lastActed = [...request.history].reverse().find((h) => h.action !== undefined);
  if (
    lastActed?.outcome === AgenticActionOutcome.Succeeded &&
    rollingOut(facts) &&
    observesInARow < MAX_OBSERVES_IN_A_ROW &&
    request.budget.remainingSteps > 0
  ) {
    return answer(
      AgenticDecision.Observe,
      `${lastActed.action?.type} succeeded and ${what} is still rolling out (${symptoms.join('; ')}); look again before acting.`,
      AgenticRuleConfidence.observe,
    );
  }

  const available = new Set(request.availableActions.map((a) => a.type));
  const spent = new Set([...request.doNotRepeat, ...acted.map((h) => actionFingerprint(h.action as ActionCall))]);
  const fresh = candidatesFor(request).filter(
    (c) => available.has(c.action.type) && !spent.has(actionFingerprint(c.action)),
  );
  const tried =
    acted.length > 0
      ? ` Tried so far: ${acted.map((h) => `${actionFingerprint(h.action as ActionCall)} ${h.outcome ?? 'pending'}`).join(', ')}.`
      : '';
  const next = fresh[0];
  if (next === undefined) {
    return answer(
      AgenticDecision.GiveUp,
      `${what} still shows: ${symptoms.join('; ')}.${tried} No action that has not been tried is left; a human should take over.`,
      AgenticRuleConfidence.giveUp,
    );
  }
  return {
    ...answer(
      AgenticDecision.Action,
      `${what} shows: ${symptoms.join('; ')}.${tried} Next: ${next.action.type}, because ${next.because}.`,
      next.confidence,
    ),
    action: next.action,
  };
}

export function createRulesAgenticProvider(): AgenticProvider {
  return {
    name: RULES_AGENTIC_PROVIDER,
    async agenticStep(request, options = {}) {
      if (options.signal?.aborted) {
        throw new CairnError(AnalysisErrorCode.Aborted, ErrorCategory.Transient, 'agentic step was cancelled', {
          cause: options.signal.reason,
        });
      }
      return decideAgenticStepWithRules(request);
    },
  };
}
