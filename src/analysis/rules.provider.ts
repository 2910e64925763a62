import { CairnError, ErrorCategory } from '../../domain/errors.ts';
import type { SuggestedAction } from '../../domain/events/analysis.events.ts';
import { actionFingerprint } from '../../domain/remediation/action.fingerprint.ts';
import type { ActionType } from '../adapters/kubernetes/api/actionTypes.ts';
import { changeFactsOf } from '../enrichers/change/changeFacts.ts';
import { type MetricsFacts, metricsFactsOf } from '../enrichers/metrics/metricsFacts.ts';
import { formatMemoryBytes, parseMemoryBytes } from './memoryQuantity.ts';
import { AnalysisErrorCode, type AnalysisProvider, type AnalysisRequest, type AnalysisResult } from './provider.ts';
import {
  BlockerCode,
  type BlockerFacts,
  type ContainerFacts,
  type RevisionFacts,
  type WorkloadFacts,
} from './workloadFacts.ts';

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
  templateRollbackToReady: 0.85,
  templateRollbackToScaledDown: 0.6,
  selectorRollback: 0.75,
  /** A cause only a person can fix (a missing Secret, an exhausted quota, an impossible node selector). */
  causeNoFix: 0.3,
  /** Configuration that points at nothing (a Service, Ingress, claim, policy or webhook): a person fixes the field. */
  configurationNoFix: 0.3,
  pendingNoFix: 0.25,
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
  TemplateChange: 'template-change',
  Blocked: 'blocked',
  Configuration: 'configuration',
  Pending: 'pending',
  Node: 'node',
  Evicted: 'evicted',
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

/** A restart writes this annotation into the template; it changes no behaviour, so it is no change to undo. */
const RESTART_PATH = /^metadata\.annotations\[kubectl\.kubernetes\.io\/restartedAt\]$/;

const templateChangesOf = (revision: RevisionFacts | undefined) =>
  (revision?.templateChanges ?? []).filter((path) => !RESTART_PATH.test(path));

/** The current revision's pods fail in any way (pending, blocked, crashing, not ready), or it cannot create them. */
const currentRevisionFailing = (facts: WorkloadFacts, current: RevisionFacts): boolean =>
  facts.pods.some(
    (p) => p.revision === current.revision && p.phase !== 'Succeeded' && (!p.ready || p.reasons.length > 0),
  ) || (facts.blockers ?? []).some((b) => b.revision === current.revision);

/**
 * A rollout whose pod template changed, in any field, and whose new pods fail: undo the change first, to the newest
 * earlier revision that still serves (else the newest earlier one). Whatever the failure, the template before worked.
 */
function templateChangeFinding(facts: WorkloadFacts): Finding | undefined {
  const current = currentRevisionOf(facts);
  if (!current || !actionFor(facts.kind, 'rollback')) return undefined;
  const changed = templateChangesOf(current);
  if (changed.length === 0 || !currentRevisionFailing(facts, current)) return undefined;
  const earlier = earlierRevisions(facts);
  const target = earlier.find((r) => r.ready) ?? earlier[0];
  if (!target) return undefined;
  const blockers = (facts.blockers ?? []).filter((b) => b.revision === current.revision);
  const failing = facts.pods.filter((p) => p.revision === current.revision && (!p.ready || p.reasons.length > 0));
  const how =
    blockers.length > 0
      ? blockers
          .slice(0, 2)
          .map((b) => `${b.code}: ${b.message.replace(/[.\s]+$/, '')}`)
          .join('; ')
      : failing.length > 0
        ? `${failing.length} pod(s) of it ${failing.some((p) => p.pending) ? 'never started' : 'are not ready'}${
            failing.some((p) => p.reasons.length > 0)
              ? ` (${[...new Set(failing.flatMap((p) => p.reasons))].sort().join(', ')})`
              : ''
          }`
        : 'its pods fail';
  const step = rollbackStep(
    facts,
    target,
    target.ready ? RuleConfidence.templateRollbackToReady : RuleConfidence.templateRollbackToScaledDown,
    `Rolling back to revision ${target.revision} restores the template that ${target.ready ? 'still serves' : 'ran before'}; a restart cannot fix a template.`,
  );
  return {
    diagnosis: Diagnosis.TemplateChange,
    summary:
      `The new pods of ${display(facts)} fail since revision ${current.revision} changed its pod template ` +
      `(${changed.join(', ')}): ${how}.`,
    recommendations: [
      `Review the template change of revision ${current.revision} (${changed.join(', ')}) before rolling forward again.`,
      ...blockers.slice(0, 2).map(blockerAdvice),
    ],
    steps: step ? [step] : [],
  };
}

/** What a person has to do about one cause, naming the object and field. */
const blockerAdvice = (b: BlockerFacts): string => {
  const object = b.object?.name ? `${b.object.kind} ${b.object.name}` : b.object?.kind;
  switch (b.code) {
    case BlockerCode.ConfigMissing:
      return `Create ${object ?? 'the missing Secret or ConfigMap (or key)'} in the namespace, or fix the reference in ${b.field ?? 'the pod template'}; Cairn cannot create configuration.`;
    case BlockerCode.ContainerCreateFailed:
      return `Fix the container definition in ${b.field ?? 'the pod template'}: ${b.message}`;
    case BlockerCode.Unschedulable:
      return `No node can take the pods (${b.message}); change ${b.field ?? 'the scheduling constraints'} or add nodes that satisfy it.`;
    case BlockerCode.QuotaExceeded:
      return `Raise the hard limits of ${object ?? 'the ResourceQuota'} or lower ${b.field ?? 'the pod resources'}; pods cannot be created past the quota.`;
    case BlockerCode.AdmissionDenied:
      return `${object ?? 'An admission webhook'} denies the pods: change the pod template to satisfy its policy, or fix the webhook.`;
    case BlockerCode.LimitRange:
      return `A LimitRange of the namespace refuses the pods' resources: fit ${b.field ?? 'the container resources'} within it or change the LimitRange.`;
    case BlockerCode.DeadlineExceeded:
      return `The Job ran past ${b.field ?? 'spec.activeDeadlineSeconds'}: raise it, or find why the work takes longer.`;
    default:
      return `Pods cannot be created: ${b.message}`;
  }
};

/** Causes no action of Cairn's can remove, worst first. */
const BLOCKER_ORDER: readonly string[] = [
  BlockerCode.ConfigMissing,
  BlockerCode.QuotaExceeded,
  BlockerCode.LimitRange,
  BlockerCode.AdmissionDenied,
  BlockerCode.Unschedulable,
  BlockerCode.ContainerCreateFailed,
  BlockerCode.CreateFailed,
  BlockerCode.DeadlineExceeded,
];

function blockedFinding(facts: WorkloadFacts): Finding | undefined {
  const blockers = [...(facts.blockers ?? [])].sort(
    (a, b) => BLOCKER_ORDER.indexOf(a.code) - BLOCKER_ORDER.indexOf(b.code),
  );
  const first = blockers[0];
  if (!first) return undefined;
  const quota =
    first.code === BlockerCode.QuotaExceeded
      ? (facts.quotas ?? []).find((q) => q.name === first.object?.name)
      : undefined;
  const usage = quota
    ? ` (ResourceQuota ${quota.name}: ${Object.entries(quota.usage)
        .map(([r, u]) => `${r} ${u}`)
        .join(', ')})`
    : '';
  const codes = [...new Set(blockers.map((b) => b.code))];
  return {
    diagnosis: Diagnosis.Blocked,
    summary:
      `${display(facts)} cannot run its pods: ${first.code} on ${first.seenOn}: ${first.message}${usage}. ` +
      `No action Cairn can take removes ${codes.length > 1 ? `these causes (${codes.join(', ')})` : 'this cause'}; ` +
      `the field to fix: ${first.field ?? (first.object ? `${first.object.kind} ${first.object.name}` : 'see the message')}.`,
    recommendations: [...new Set(blockers.slice(0, 3).map(blockerAdvice))],
    steps: [],
    noStepConfidence: RuleConfidence.causeNoFix,
  };
}

/** Kinds that are configuration, not a workload: their Issue names the field to fix and proposes no action. */
const CONFIGURATION_KINDS = new Set([
  'Service',
  'Ingress',
  'PersistentVolumeClaim',
  'NetworkPolicy',
  'ValidatingWebhookConfiguration',
  'MutatingWebhookConfiguration',
]);

const CONFIGURATION_SIGNALS = new Set([
  'service_no_endpoints',
  'ingress_misconfigured',
  'pvc_pending',
  'hpa_misconfigured',
  'netpol_selects_nothing',
  'webhook_unavailable',
]);

/** Problems of the objects around a workload (or of the subject itself), each naming the field to fix. */
const configurationProblems = (facts: WorkloadFacts): string[] => {
  const problems = [...(facts.subject?.problems ?? [])];
  if (facts.subject) {
    // The subject's own problems come first; the blockers of the pods it is about say why they are not ready.
    for (const b of facts.blockers ?? []) problems.push(`its pods: ${b.code} on ${b.seenOn}: ${b.message}`);
    return problems;
  }
  for (const service of facts.services ?? []) {
    if (service.mismatchedLabels && service.mismatchedLabels.length > 0) {
      problems.push(
        `spec.selector of Service ${service.name} matches no pod: ${service.mismatchedLabels
          .map((m) =>
            m.podsHave === undefined
              ? `no pod carries ${m.key}=${m.wants}`
              : `${m.key}=${m.wants} where the pods have ${m.key}=${m.podsHave}`,
          )
          .join('; ')}`,
      );
    }
  }
  for (const ingress of facts.ingresses ?? []) {
    for (const b of ingress.backends) {
      if (!b.serviceExists)
        problems.push(`Ingress ${ingress.name} routes to Service ${b.service}, which does not exist`);
      else if (!b.portExists)
        problems.push(
          `Ingress ${ingress.name} routes to port ${b.port} of Service ${b.service}, which has no such port`,
        );
    }
    for (const secret of ingress.missingTlsSecrets)
      problems.push(`Ingress ${ingress.name} names TLS Secret ${secret} (spec.tls[].secretName), which does not exist`);
  }
  for (const claim of facts.pvcs ?? []) {
    if (claim.phase !== 'Pending') continue;
    if (!claim.storageClassExists) {
      problems.push(
        claim.storageClass
          ? `PersistentVolumeClaim ${claim.name} names StorageClass ${claim.storageClass} (spec.storageClassName), which does not exist`
          : `PersistentVolumeClaim ${claim.name} sets no spec.storageClassName and the cluster has no default StorageClass`,
      );
    } else if (claim.bindingMode !== 'WaitForFirstConsumer' && claim.problem) {
      problems.push(`PersistentVolumeClaim ${claim.name} is Pending: ${claim.problem}`);
    }
  }
  return problems;
};

const configurationAdvice: Record<string, string> = {
  Service: 'Fix spec.selector of the Service (or the pod labels) so it selects the pods meant to serve it.',
  Ingress: 'Point the Ingress at a Service and port that exist, and create the TLS Secret it names.',
  PersistentVolumeClaim: 'Name an existing StorageClass (or provide a matching PersistentVolume) for the claim.',
  HorizontalPodAutoscaler: 'Point spec.scaleTargetRef at an existing workload and check that its metrics are served.',
  NetworkPolicy: 'Fix spec.podSelector so the policy selects the pods it is for, or delete the policy.',
  ValidatingWebhookConfiguration: "Bring the webhook's Service back (ready endpoints) or fix its clientConfig.service.",
  MutatingWebhookConfiguration: "Bring the webhook's Service back (ready endpoints) or fix its clientConfig.service.",
};

function configurationFinding(facts: WorkloadFacts, signal: string, problems: readonly string[]): Finding {
  return {
    diagnosis: Diagnosis.Configuration,
    summary: `${display(facts)} (${signal}): ${problems.slice(0, 3).join('; ')}. This is configuration only a person can correct; Cairn proposes no action.`,
    recommendations: [
      ...problems.slice(0, 5).map((p) => `Fix: ${p}.`),
      configurationAdvice[facts.kind] ??
        'Correct the configuration named above; Cairn will see the fix and resolve the Issue.',
    ],
    steps: [],
    noStepConfidence: RuleConfidence.configurationNoFix,
  };
}

/**
 * A Service that lost its pods because the workload's latest template changed a label it selects: roll the label
 * change back. The label the Service wants must be one the revision changed.
 */
function selectorRollbackFinding(facts: WorkloadFacts): Finding | undefined {
  const current = currentRevisionOf(facts);
  const changed = templateChangesOf(current);
  if (!current || changed.length === 0) return undefined;
  const labelPath = (key: string) =>
    /^[A-Za-z_][A-Za-z0-9_]*$/.test(key) ? `metadata.labels.${key}` : `metadata.labels[${key}]`;
  const broken = (facts.services ?? []).find((s) =>
    (s.mismatchedLabels ?? []).some((m) => changed.includes(labelPath(m.key))),
  );
  if (!broken) return undefined;
  const earlier = earlierRevisions(facts);
  const target = earlier.find((r) => r.ready) ?? earlier[0];
  const step = rollbackStep(
    facts,
    target,
    RuleConfidence.selectorRollback,
    `Rolling back to revision ${target?.revision} restores the pod labels Service ${broken.name} selects.`,
  );
  if (!target || !step) return undefined;
  const keys = (broken.mismatchedLabels ?? []).map((m) => `${m.key}=${m.wants}`).join(', ');
  return {
    diagnosis: Diagnosis.TemplateChange,
    summary: `Service ${broken.name} selects no pod of ${display(facts)} since revision ${current.revision} changed the pod labels it selects (${keys}).`,
    recommendations: [
      `Keep the pod labels Service ${broken.name} selects (${keys}) in the template, or change spec.selector of the Service together with them.`,
    ],
    steps: [step],
  };
}

function cronJobMissedFinding(facts: WorkloadFacts): Finding {
  return {
    diagnosis: Diagnosis.Configuration,
    summary:
      `${display(facts)} missed its schedule${facts.job ? ` (newest Job ${facts.job.state}, active ${facts.job.active})` : ''}. ` +
      'Nothing Cairn can run makes the controller start it; a person checks the CronJob.',
    recommendations: [
      'Check spec.suspend, spec.schedule and spec.timeZone of the CronJob.',
      'Check spec.startingDeadlineSeconds (too short skips late runs) and spec.concurrencyPolicy (Forbid waits for a Job still active).',
      'Check that the kube-controller-manager runs and that Jobs can be created in the namespace (quota, admission).',
    ],
    steps: [],
    noStepConfidence: RuleConfidence.causeNoFix,
  };
}

const NODE_SIGNALS = new Set(['node_not_ready', 'disk_pressure', 'memory_pressure']);

/**
 * A node's trouble is the machine's, not a workload's: Cairn has no automatic remedy for it (draining is a node
 * action the policy keeps for people unless --autonomous-node-actions), so it says what to look at and escalates.
 */
function nodeFinding(request: AnalysisRequest, signals: ReadonlySet<string>): Finding {
  const node = request.workload.name;
  const what = [
    signals.has('node_not_ready') ? 'is not ready' : undefined,
    signals.has('disk_pressure') ? 'is short of disk' : undefined,
    signals.has('memory_pressure') ? 'is short of memory' : undefined,
  ].filter((w): w is string => w !== undefined);
  return {
    diagnosis: Diagnosis.Node,
    summary: `Node ${node} ${what.join(' and ')}: ${request.description}. No workload change fixes a machine; a person should look at it.`,
    recommendations: [
      ...(signals.has('node_not_ready')
        ? [
            `Check the kubelet and container runtime on ${node} (journalctl -u kubelet), and its network to the API server.`,
          ]
        : []),
      ...(signals.has('disk_pressure')
        ? [`Free disk on ${node}: unused images (crictl rmi --prune), container logs, large emptyDir volumes.`]
        : []),
      ...(signals.has('memory_pressure')
        ? [
            `Find the pods using the most memory on ${node} and give them limits; pods without requests are evicted first.`,
          ]
        : []),
      `Cordon ${node} (kubectl cordon) to keep new pods off it while it is repaired; drain it if its pods must move.`,
    ],
    steps: [],
    noStepConfidence: RuleConfidence.causeNoFix,
  };
}

/** Pods evicted and nothing else wrong now: the replacements run, but the node that evicted them needs a look. */
function evictionFinding(facts: WorkloadFacts, request: AnalysisRequest): Finding {
  return {
    diagnosis: Diagnosis.Evicted,
    summary: `Pods of ${display(facts)} were evicted by their node (${request.description}); the workload has no other fault a change of its own would fix.`,
    recommendations: [
      'Set memory and ephemeral-storage requests close to what the pods really use: pods above their requests are evicted first.',
      'Look at the node the pods were evicted from for disk or memory pressure.',
      'Delete the evicted pod objects once understood (kubectl delete pod --field-selector=status.phase=Failed).',
    ],
    steps: [],
    noStepConfidence: RuleConfidence.causeNoFix,
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

  if (facts.kind === 'Node' && [...NODE_SIGNALS].some((s) => signals.has(s))) return nodeFinding(request, signals);
  if (!facts.found) {
    return {
      diagnosis: Diagnosis.Unknown,
      summary: '',
      recommendations: [`${display(facts)} could not be read; check that it still exists and that Cairn may read it.`],
      steps: [],
    };
  }
  // Configuration that points at nothing is the Issue's own subject: name the field, propose nothing.
  if (
    CONFIGURATION_KINDS.has(facts.kind) ||
    (facts.kind === 'HorizontalPodAutoscaler' && signals.has('hpa_misconfigured'))
  ) {
    const problems = configurationProblems(facts);
    if (problems.length > 0) return configurationFinding(facts, request.signal, problems);
    return {
      diagnosis: Diagnosis.Unknown,
      summary: '',
      recommendations: [
        `The context of ${display(facts)} shows no problem left behind signal ${request.signal}; it may have been fixed already.`,
      ],
      steps: [],
    };
  }
  if (oomSeen || signals.has('oom_kill')) return oomFinding(facts, oomSeen);

  const target = crashing || pulling ? releaseBefore(facts) : undefined;
  if (target) return releaseFinding(facts, target, pulling && !facts.crashLooping);
  // Any template change whose new pods fail, whatever the failure: undo it before anything else.
  const templateChange = templateChangeFinding(facts);
  if (templateChange) return templateChange;
  if ([...CONFIGURATION_SIGNALS].some((s) => signals.has(s))) {
    const selectorRollback = selectorRollbackFinding(facts);
    if (selectorRollback) return selectorRollback;
    const problems = configurationProblems(facts);
    if (problems.length > 0) return configurationFinding(facts, request.signal, problems);
  }
  // Pods that cannot be created or started for a reason no action removes: say the reason, act on nothing.
  const blocked = blockedFinding(facts);
  if (blocked) return blocked;
  if (signals.has('cronjob_missed')) return cronJobMissedFinding(facts);
  if (signals.has('pod_evicted') && !crashing && !pulling && !notReady) return evictionFinding(facts, request);
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
  // Pods that never started are not wedged: replacing them brings the same pending pods back.
  const notReadyPods = facts.pods.filter((p) => !p.ready && p.phase !== 'Succeeded');
  if (notReady && notReadyPods.length > 0 && notReadyPods.every((p) => p.pending)) {
    return {
      diagnosis: Diagnosis.Pending,
      summary: `${display(facts)} has ${notReadyPods.length} pod(s) that never started (${[...new Set(notReadyPods.flatMap((p) => p.reasons))].sort().join(', ') || 'Pending'}); a restart would only recreate them.`,
      recommendations: [
        'Read the events of the pending pods (FailedScheduling, FailedMount, CreateContainerConfigError) for what they wait on.',
        'Check node capacity, node selectors and taints, and the Secrets, ConfigMaps and claims the pods reference.',
      ],
      steps: [],
      noStepConfidence: RuleConfidence.pendingNoFix,
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

/**
 * A workload its Helm release manages goes back with the release when the release's last upgrade changed it:
 * rolling the workload alone leaves Helm's record on the bad revision, and the next upgrade brings it back. A
 * HelmRollback already tried on this Issue leaves the workload's own rollback.
 */
const helmRollbackInstead = (request: AnalysisRequest, step: Step, spent: ReadonlySet<string>): Step => {
  const helm = changeFactsOf(request.sections)?.helm;
  if (step.strategy !== 'rollback' || step.actions.length === 0 || !helm || helm.missing || spent.has('HelmRollback'))
    return step;
  const { currentRevision: current, lastGoodRevision: good } = helm;
  if (current === undefined || good === undefined || helm.namespace !== request.workload.namespace) return step;
  if ((helm.valuesDiff?.length ?? 0) === 0 && !helm.chartChanged) return step;
  return {
    ...step,
    because: `${step.because} Helm release ${helm.release} made that change in its revision ${current}, so the release goes back to revision ${good}, its last good one.`,
    actions: [
      {
        name: `helm-rollback-to-revision-${good}`,
        type: 'HelmRollback',
        description: `Roll Helm release ${helm.namespace}/${helm.release} back to revision ${good}`,
        params: { release: helm.release, revision: String(good) },
      },
    ],
  };
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
  for (const original of finding.steps) {
    const step = helmRollbackInstead(request, original, spent);
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
