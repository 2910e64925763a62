import { CairnError, ErrorCategory } from '../../domain/errors.ts';
import type { SuggestedAction } from '../../domain/events/analysis.events.ts';
import { actionFingerprint } from '../../domain/remediation/action.fingerprint.ts';
import type { ActionType } from '../adapters/kubernetes/api/actionTypes.ts';
import { type MetricsFacts, metricsFactsOf } from '../enrichers/metrics/metricsFacts.ts';
import { formatMemoryBytes, parseMemoryBytes } from './memoryQuantity.ts';
import { AnalysisErrorCode, type AnalysisProvider, type AnalysisRequest, type AnalysisResult } from './provider.ts';
import type { ContainerFacts, RevisionFacts, WorkloadFacts } from './workloadFacts.ts';

/**
 * The offline provider: a fixed ladder of strategies per diagnosis, read from the context's facts. It needs no
 * network and answers the same request the same way every time, which is what makes it the default and the last
 * link of every fallback chain.
 */
export const RULES_PROVIDER = 'rules';
export const RULES_MODEL = 'rules-v1';

type Strategy = 'adjust' | 'rollback' | 'restart';

/** The action each strategy maps to, per workload kind; a kind without an entry has no such remedy. */
const StrategyActions = {
  Deployment: { adjust: 'AdjustResources', rollback: 'RollbackDeployment', restart: 'RestartDeployment' },
  StatefulSet: { adjust: 'AdjustStatefulSetResources', rollback: 'RollbackStatefulSet', restart: 'RestartStatefulSet' },
  DaemonSet: { adjust: 'AdjustDaemonSetResources', rollback: 'RollbackDaemonSet', restart: 'RestartDaemonSet' },
  Job: { adjust: 'AdjustJobResources' },
  CronJob: { adjust: 'AdjustCronJobResources' },
} as const satisfies Record<string, Partial<Record<Strategy, ActionType>>>;

/** How sure each answer is. Anything without a fix the evidence points to stays at or below 0.3. */
export const RuleConfidence = {
  oomAdjustSeen: 0.85,
  oomAdjustSignalOnly: 0.6,
  oomRollback: 0.5,
  oomRestart: 0.3,
  releaseRollbackToReady: 0.9,
  releaseRollbackToScaledDown: 0.7,
  releaseRestart: 0.3,
  crashRollback: 0.5,
  crashRestart: 0.35,
  notReadyRestart: 0.7,
  notReadyRollback: 0.45,
  imagePullNoFix: 0.3,
  noRemedyForKind: 0.25,
  exhausted: 0.15,
  unknown: 0.2,
} as const;

const Diagnosis = {
  Oom: 'oom',
  BadRelease: 'bad-release',
  CrashLoop: 'crashloop',
  ImagePull: 'image-pull',
  NotReady: 'not-ready',
  Unknown: 'unknown',
} as const;
type Diagnosis = (typeof Diagnosis)[keyof typeof Diagnosis];

const NOT_READY_SIGNALS = new Set([
  'pod_not_ready',
  'deploy_failing',
  'statefulset_unavailable',
  'daemonset_unavailable',
]);
const CRASH_SIGNALS = new Set(['crashloop', 'pod_restart', 'job_failed', 'cronjob_failing']);

interface Step {
  readonly strategy: Strategy;
  readonly confidence: number;
  /** Why this step; empty actions mean the step cannot be taken here (no earlier revision, no known limit). */
  readonly because: string;
  readonly actions: readonly SuggestedAction[];
}

interface Finding {
  readonly diagnosis: Diagnosis;
  readonly summary: string;
  readonly recommendations: readonly string[];
  readonly steps: readonly Step[];
  /** The answer when the diagnosis names no step at all (as opposed to every step having been tried). */
  readonly noStepConfidence?: number;
}

const display = (facts: WorkloadFacts) => `${facts.kind} ${facts.namespace}/${facts.name}`;

const sameImages = (a: Readonly<Record<string, string>>, b: Readonly<Record<string, string>>) => {
  const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
  return [...keys].every((k) => a[k] === b[k]);
};

const currentRevisionOf = (facts: WorkloadFacts): RevisionFacts | undefined =>
  facts.revisions.find((r) => r.current) ?? facts.revisions[0];

const earlierRevisions = (facts: WorkloadFacts): RevisionFacts[] => {
  const current = currentRevisionOf(facts);
  if (!current) return [];
  return facts.revisions.filter((r) => r.revision < current.revision).sort((a, b) => b.revision - a.revision);
};

/** The newest earlier revision, preferring one known to work now. */
const previousRevision = (facts: WorkloadFacts): RevisionFacts | undefined => {
  const earlier = earlierRevisions(facts);
  return earlier.find((r) => r.ready) ?? earlier[0];
};

/**
 * When the failing pods run images an earlier revision did not, that revision is the one to go back to: the
 * newest such revision that still serves, else the newest one that was scaled down (it did run, but nobody can
 * say it was healthy).
 */
const releaseBefore = (facts: WorkloadFacts): RevisionFacts | undefined => {
  const current = currentRevisionOf(facts);
  if (!current) return undefined;
  const failingRevisions = facts.pods
    .filter((p) => !p.ready || p.reasons.length > 0)
    .map((p) => p.revision)
    .filter((r): r is number => r !== undefined);
  // Failing pods all on an older revision mean the newest release is not what broke.
  if (failingRevisions.length > 0 && !failingRevisions.includes(current.revision)) return undefined;
  const candidates = earlierRevisions(facts).filter((r) => !sameImages(r.images, current.images));
  return candidates.find((r) => r.ready) ?? candidates[0];
};

const imageChangeText = (from: RevisionFacts, to: RevisionFacts) => {
  const containers = [...new Set([...Object.keys(from.images), ...Object.keys(to.images)])].sort();
  return containers
    .filter((c) => from.images[c] !== to.images[c])
    .map((c) => `${c}: ${from.images[c] ?? '(none)'} → ${to.images[c] ?? '(none)'}`)
    .join(', ');
};

const rollbackStep = (
  facts: WorkloadFacts,
  target: RevisionFacts | undefined,
  confidence: number,
  because: string,
): Step | undefined => {
  const type = actionFor(facts.kind, 'rollback');
  if (!type) return undefined;
  const actions: SuggestedAction[] = target
    ? [
        {
          name: `rollback-to-revision-${target.revision}`,
          type,
          description: `Roll ${display(facts)} back to revision ${target.revision} (${target.name})`,
          params: { toRevision: String(target.revision) },
        },
      ]
    : [];
  return { strategy: 'rollback', confidence, because, actions };
};

const restartStep = (facts: WorkloadFacts, confidence: number, because: string): Step | undefined => {
  const type = actionFor(facts.kind, 'restart');
  if (!type) return undefined;
  return {
    strategy: 'restart',
    confidence,
    because,
    actions: [{ name: 'restart-rollout', type, description: `Restart the pods of ${display(facts)}`, params: {} }],
  };
};

const actionFor = (kind: string, strategy: Strategy): ActionType | undefined => {
  const entry: Partial<Record<Strategy, ActionType>> | undefined = Object.hasOwn(StrategyActions, kind)
    ? StrategyActions[kind as keyof typeof StrategyActions]
    : undefined;
  return entry?.[strategy];
};

/** Twice the current limit (or twice the request when there is no limit); the request only follows a Guaranteed pod. */
const raisedMemory = (container: ContainerFacts): Record<string, string> | undefined => {
  const limit = parseMemoryBytes(container.memoryLimit);
  const request = parseMemoryBytes(container.memoryRequest);
  const base = limit ?? request;
  if (base === undefined || base <= 0) return undefined;
  const newLimit = formatMemoryBytes(base * 2);
  const params: Record<string, string> = { container: container.name, memory_limit: newLimit };
  if (request !== undefined) {
    // Requests equal to limits keep the pod in the Guaranteed QoS class; keep it there. Otherwise leave the
    // request alone (it drives scheduling), which also keeps it at or under the new limit.
    const keepGuaranteed = limit !== undefined && request === limit;
    params.memory_request = keepGuaranteed ? newLimit : (container.memoryRequest as string);
  }
  return params;
};

/** Memory at its limit per Prometheus, when the metrics section says so. */
type MemoryPressure = NonNullable<MetricsFacts['memory']>;

function oomFinding(facts: WorkloadFacts, seen: boolean, pressure?: MemoryPressure): Finding {
  const named = facts.oomKilledContainers.length > 0 ? facts.oomKilledContainers : undefined;
  // Without evidence of which container was killed, only a single-container pod leaves no doubt.
  const targets = (named ?? (facts.containers.length === 1 ? [facts.containers[0]?.name] : [])).flatMap((name) =>
    facts.containers.filter((c) => c.name === name),
  );
  const adjustType = actionFor(facts.kind, 'adjust');
  const adjustActions: SuggestedAction[] = [];
  const raised: string[] = [];
  for (const container of targets) {
    const params = raisedMemory(container);
    if (!adjustType || !params) continue;
    raised.push(`${container.name} ${container.memoryLimit ?? container.memoryRequest} → ${params.memory_limit}`);
    adjustActions.push({
      name: `raise-memory-limit-${container.name}`,
      type: adjustType,
      description: `Raise the memory limit of container ${container.name} from ${container.memoryLimit ?? 'none'} to ${params.memory_limit}`,
      params,
    });
  }
  const who = targets.length > 0 ? `Container ${targets.map((c) => c.name).join(', ')}` : 'A container';
  // The release before the one that runs out of memory, not merely the previous template: after a failed limit
  // change the previous revision is often the same release with other limits.
  const previous = releaseBefore(facts) ?? previousRevision(facts);
  const steps = [
    adjustType
      ? {
          strategy: 'adjust' as const,
          confidence: seen ? RuleConfidence.oomAdjustSeen : RuleConfidence.oomAdjustSignalOnly,
          because: `Raising the memory limit (${raised.join('; ') || 'unknown limit'}) gives the workload the memory it needs.`,
          actions: adjustActions,
        }
      : undefined,
    rollbackStep(
      facts,
      previous,
      RuleConfidence.oomRollback,
      `Rolling back to revision ${previous?.revision} returns to a template that ran within its memory.`,
    ),
    restartStep(facts, RuleConfidence.oomRestart, 'A restart clears memory that leaked over time.'),
  ].filter((s): s is Step => s !== undefined);
  return {
    diagnosis: Diagnosis.Oom,
    summary:
      pressure && !seen
        ? `${who} of ${display(facts)} is at ${Math.round(pressure.percentOfLimit)}% of its memory limit${pressure.direction === 'rising' ? ' and rising' : ''} (Prometheus): it is running out of memory.`
        : `${who} of ${display(facts)} was OOMKilled (exit code 137, ${facts.maxRestarts} restarts): it needs more memory than its limit allows.`,
    recommendations: [
      'Compare the memory the container really uses with its limit, and size the limit with headroom.',
      'Look for a memory leak or a larger working set in the latest release.',
    ],
    steps,
  };
}

function releaseFinding(facts: WorkloadFacts, target: RevisionFacts, pulling: boolean): Finding {
  const current = currentRevisionOf(facts) as RevisionFacts;
  const symptom = pulling ? 'cannot pull its image' : 'crash-loops';
  return {
    diagnosis: Diagnosis.BadRelease,
    summary:
      `${display(facts)} ${symptom} since revision ${current.revision} changed the image (${imageChangeText(target, current)}); ` +
      `revision ${target.revision} ${target.ready ? 'still serves ready pods' : 'ran before it'}.`,
    recommendations: [
      pulling
        ? 'Check that the new image tag exists and that the registry credentials (imagePullSecrets) are valid.'
        : 'Read the logs of the new release for the startup error before rolling forward again.',
      'Gate image changes with a canary or a readiness check in the delivery pipeline.',
    ],
    steps: [
      rollbackStep(
        facts,
        target,
        target.ready ? RuleConfidence.releaseRollbackToReady : RuleConfidence.releaseRollbackToScaledDown,
        `Rolling back to revision ${target.revision} restores the image that worked.`,
      ),
      restartStep(
        facts,
        RuleConfidence.releaseRestart,
        'A restart retries the rollout in case the failure was transient.',
      ),
    ].filter((s): s is Step => s !== undefined),
  };
}

function diagnose(request: AnalysisRequest): Finding {
  const facts = request.context.facts;
  const signals = new Set([request.signal, ...request.signals]);
  const oomSeen = facts.oomKilled;
  // A signal counts only where the context still shows some trace of it: pods that restarted, replicas short of
  // the desired count, failed Job pods. Otherwise the symptom is gone and acting on it would be guessing.
  const replicasShort = facts.replicas !== undefined && facts.replicas.ready < facts.replicas.desired;
  const unsettled = facts.maxRestarts > 0 || facts.notReadyPods > 0 || replicasShort || (facts.job?.failed ?? 0) > 0;
  const pulling = facts.imagePullFailing || (signals.has('image_pull') && unsettled);
  const crashing = facts.crashLooping || ([...CRASH_SIGNALS].some((s) => signals.has(s)) && unsettled);
  const notReady =
    facts.notReadyPods > 0 || ([...NOT_READY_SIGNALS].some((s) => signals.has(s)) && (replicasShort || unsettled));

  if (!facts.found) {
    return {
      diagnosis: Diagnosis.Unknown,
      summary: '',
      recommendations: [`${display(facts)} could not be read; check that it still exists and that Cairn may read it.`],
      steps: [],
    };
  }
  if (oomSeen || signals.has('oom_kill')) return oomFinding(facts, oomSeen);

  const target = crashing || pulling ? releaseBefore(facts) : undefined;
  if (target) return releaseFinding(facts, target, pulling && !facts.crashLooping);
  // No OOM kill seen yet, but the working set sits at its limit: the restarts and stalls are the memory running out.
  const pressure = metricsFactsOf(request.sections)?.memory;
  if (pressure?.nearLimit) return oomFinding(facts, false, pressure);

  const previous = previousRevision(facts);
  if (crashing) {
    return {
      diagnosis: Diagnosis.CrashLoop,
      summary:
        facts.kind === 'Job' || facts.kind === 'CronJob'
          ? `The pods of ${display(facts)} fail${facts.job ? ` (${facts.job.failed} failed, state ${facts.job.state})` : ''}, and there is no earlier template to go back to.`
          : `${display(facts)} crash-loops (${facts.maxRestarts} restarts) without an image change to blame.`,
      recommendations: [
        'Read the logs of the crashing container for the startup error (configuration, a missing dependency).',
        'Check recent changes to ConfigMaps, Secrets and environment the pods read.',
      ],
      steps: [
        rollbackStep(
          facts,
          previous,
          RuleConfidence.crashRollback,
          `Rolling back to revision ${previous?.revision} undoes the last template change.`,
        ),
        restartStep(facts, RuleConfidence.crashRestart, 'A restart clears a crash caused by transient state.'),
      ].filter((s): s is Step => s !== undefined),
    };
  }
  if (pulling) {
    return {
      diagnosis: Diagnosis.ImagePull,
      summary: `${display(facts)} cannot pull its image, and no earlier revision ran a different one.`,
      recommendations: [
        'Check that the image reference exists in the registry.',
        'Check the imagePullSecrets and the registry credentials they hold; a human must fix these.',
      ],
      steps: [],
      noStepConfidence: RuleConfidence.imagePullNoFix,
    };
  }
  if (notReady) {
    return {
      diagnosis: Diagnosis.NotReady,
      summary: `${display(facts)} has ${facts.notReadyPods} pod(s) running but not ready, with no crash or OOM kill behind it.`,
      recommendations: [
        'Check the readiness probe and the dependencies it checks (databases, downstream services).',
        'If pods wedge repeatedly, look for deadlocks or exhausted connection pools.',
      ],
      steps: [
        restartStep(facts, RuleConfidence.notReadyRestart, 'Replacing the wedged pods usually restores readiness.'),
        rollbackStep(
          facts,
          previous,
          RuleConfidence.notReadyRollback,
          `Rolling back to revision ${previous?.revision} undoes the last template change.`,
        ),
      ].filter((s): s is Step => s !== undefined),
    };
  }
  return {
    diagnosis: Diagnosis.Unknown,
    summary: '',
    recommendations: [
      `The context of ${display(facts)} shows no OOM kill, crash loop, image pull failure or unready pod behind signal ${request.signal}.`,
      'Look at application logs and metrics around the time of the Issue; a human should confirm the cause.',
    ],
    steps: [],
  };
}

/** Types of actions already tried on this Issue: a strategy that failed once is not the next thing to try. */
const spentTypes = (request: AnalysisRequest): Set<string> => {
  const spent = new Set(request.doNotRepeat.map((fingerprint) => fingerprint.split('(')[0] ?? fingerprint));
  for (const failure of request.previousFailures) {
    for (const action of failure.attemptedActions) spent.add(action.type);
    if (failure.failedAction) spent.add(failure.failedAction.type);
  }
  return spent;
};

/** The log enricher's most telling finding (a stack trace, an error pattern), quoted as evidence. */
const logFinding = (request: AnalysisRequest): string | undefined => {
  const finding = request.sections?.find((s) => s.enricher === 'logs')?.facts?.finding;
  return typeof finding === 'string' && finding.length > 0 ? finding : undefined;
};

/** The rules provider's answer: a pure function of the request. */
export function analyzeWithRules(request: AnalysisRequest): AnalysisResult {
  const finding = diagnose(request);
  const logs = logFinding(request);
  const result = (
    analysis: string,
    confidence: number,
    recommendations: readonly string[],
    actions: SuggestedAction[],
  ) => ({
    analysis: logs && analysis !== 'unknown' ? `${analysis} Logs: ${logs}.` : analysis,
    confidence,
    recommendations: logs && analysis === 'unknown' ? [`Logs: ${logs}.`, ...recommendations] : [...recommendations],
    suggestedActions: actions,
    provider: RULES_PROVIDER,
    model: RULES_MODEL,
  });

  if (finding.diagnosis === Diagnosis.Unknown) {
    return result('unknown', RuleConfidence.unknown, finding.recommendations, []);
  }
  if (finding.steps.every((step) => step.actions.length === 0)) {
    return result(
      finding.summary,
      finding.noStepConfidence ?? RuleConfidence.noRemedyForKind,
      finding.recommendations,
      [],
    );
  }

  const spent = spentTypes(request);
  const doNotRepeat = new Set(request.doNotRepeat);
  const tried = [...spent].sort();
  const history = tried.length > 0 ? ` Already tried on this Issue without success: ${tried.join(', ')}.` : '';
  for (const step of finding.steps) {
    const actions = step.actions.filter((a) => !spent.has(a.type) && !doNotRepeat.has(actionFingerprint(a)));
    if (actions.length === 0) continue;
    return result(`${finding.summary}${history} ${step.because}`, step.confidence, finding.recommendations, actions);
  }
  return result(
    `${finding.summary}${history} No automatic strategy is left; a human should take over.`,
    RuleConfidence.exhausted,
    ['Escalate to the owning team with the failure evidence of the previous attempts.', ...finding.recommendations],
    [],
  );
}

export function createRulesProvider(): AnalysisProvider {
  return {
    name: RULES_PROVIDER,
    async analyze(request, options = {}) {
      if (options.signal?.aborted) {
        throw new CairnError(AnalysisErrorCode.Aborted, ErrorCategory.Transient, 'analysis was cancelled', {
          cause: options.signal.reason,
        });
      }
      return analyzeWithRules(request);
    },
  };
}
