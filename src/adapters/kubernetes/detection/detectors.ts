import type {
  V1CronJob,
  V1DaemonSet,
  V1Deployment,
  V1Job,
  V1Node,
  V1Pod,
  V1StatefulSet,
  V2HorizontalPodAutoscaler,
} from '@kubernetes/client-node';
import type { AnomalyCause } from '../../../../domain/events/anomaly.events.ts';
import type { DetectorSet } from './detectionView.ts';

/**
 * Detectors read one Kubernetes object as it is now and say what is wrong with it. They are pure: no clock, no
 * cache. Whether a symptom has lasted long enough to matter is the Sustain tracker's job (`sustainSeconds`), and
 * which workload a pod belongs to is the correlation's job.
 */
export interface Finding {
  readonly signal: string;
  readonly subject: { readonly kind: string; readonly name: string; readonly namespace: string };
  readonly message: string;
  /** How long the symptom must persist before it becomes an anomaly; 0 reports it at once. */
  readonly sustainSeconds: number;
  /** Why, when the object or its Events say so; a rule or a person acts on the cause, not the symptom. */
  readonly cause?: AnomalyCause;
  /**
   * The workload the Issue belongs to when it is not the subject's owner chain (a Service with no ready endpoints
   * belongs to the Deployment whose pods it selects); absent: the subject resolved through its owners.
   */
  readonly workload?: { readonly kind: string; readonly name: string; readonly namespace: string };
}

export interface DetectionThresholds {
  /** Restarts of one container that count as pod_restart even without CrashLoopBackOff. */
  readonly podRestarts: number;
  readonly podNotReadySeconds: number;
  readonly workloadUnavailableSeconds: number;
  readonly nodeNotReadySeconds: number;
  readonly hpaMaxedSeconds: number;
  /** A Service selecting no pod, or no ready one: a rollout empties the endpoints for a moment. */
  readonly serviceNoEndpointsSeconds: number;
  readonly ingressMisconfiguredSeconds: number;
  readonly pvcPendingSeconds: number;
  readonly hpaMisconfiguredSeconds: number;
  /** Long: a policy is often applied before the pods it is for. */
  readonly netpolSelectsNothingSeconds: number;
  readonly webhookUnavailableSeconds: number;
  /** How late a CronJob's run may be (beyond its startingDeadlineSeconds, if any) before it counts as missed. */
  readonly cronJobMissedGraceSeconds: number;
  /** Pods waiting on configuration, scheduling or creation before their workload's signal says why. */
  readonly podBlockedSeconds: number;
}

export const DefaultThresholds: DetectionThresholds = {
  podRestarts: 3,
  podNotReadySeconds: 30,
  workloadUnavailableSeconds: 60,
  nodeNotReadySeconds: 30,
  hpaMaxedSeconds: 120,
  serviceNoEndpointsSeconds: 30,
  ingressMisconfiguredSeconds: 30,
  pvcPendingSeconds: 60,
  hpaMisconfiguredSeconds: 60,
  netpolSelectsNothingSeconds: 300,
  webhookUnavailableSeconds: 30,
  cronJobMissedGraceSeconds: 60,
  podBlockedSeconds: 30,
};

type Meta = { metadata?: { name?: string; namespace?: string } };
const subjectOf = (kind: string, object: Meta) => ({
  kind,
  name: object.metadata?.name ?? '',
  namespace: object.metadata?.namespace ?? '',
});
const conditionOf = <C extends { type: string }>(conditions: C[] | undefined, type: string) =>
  conditions?.find((c) => c.type === type);

const IMAGE_PULL_REASONS = new Set(['ErrImagePull', 'ImagePullBackOff', 'InvalidImageName', 'ErrImageNeverPull']);

export function detectPod(pod: V1Pod, t: DetectionThresholds): Finding[] {
  if (pod.metadata?.deletionTimestamp || pod.status?.phase === 'Succeeded') return [];
  const subject = subjectOf('Pod', pod);
  const statuses = [...(pod.status?.initContainerStatuses ?? []), ...(pod.status?.containerStatuses ?? [])];
  const findings: Finding[] = [];
  const add = (signal: string, message: string, sustainSeconds = 0) =>
    findings.push({ signal, subject, message, sustainSeconds });

  const oom = statuses.find(
    (s) => s.state?.terminated?.reason === 'OOMKilled' || s.lastState?.terminated?.reason === 'OOMKilled',
  );
  if (oom) add('oom_kill', `container ${oom.name} was OOMKilled (restarts: ${oom.restartCount})`);

  const looping = statuses.find((s) => s.state?.waiting?.reason === 'CrashLoopBackOff');
  const restarting = statuses.find((s) => s.restartCount >= t.podRestarts);
  if (looping)
    add('pod_restart', `container ${looping.name} is in CrashLoopBackOff (restarts: ${looping.restartCount})`);
  else if (restarting) add('pod_restart', `container ${restarting.name} restarted ${restarting.restartCount} times`);

  const pulling = statuses.find((s) => IMAGE_PULL_REASONS.has(s.state?.waiting?.reason ?? ''));
  if (pulling)
    add('image_pull', `container ${pulling.name} cannot pull ${pulling.image}: ${pulling.state?.waiting?.reason}`);

  // A crashing or unpullable pod is also unready; saying so again would only inflate the risk score. So is a pod
  // whose container has just exited and not yet restarted (fewer restarts than pod_restart needs): not-ready is for
  // containers that run and fail their readiness probe.
  const ready = conditionOf(pod.status?.conditions, 'Ready');
  const running = (pod.status?.containerStatuses ?? []).every((s) => s.state?.running !== undefined);
  if (findings.length === 0 && pod.status?.phase === 'Running' && running && ready?.status === 'False') {
    add(
      'pod_not_ready',
      `pod has been running but not ready (${ready.reason ?? 'readiness failing'})`,
      t.podNotReadySeconds,
    );
  }
  return findings;
}

export function detectDeployment(deployment: V1Deployment, t: DetectionThresholds): Finding[] {
  const subject = subjectOf('Deployment', deployment);
  const progressing = conditionOf(deployment.status?.conditions, 'Progressing');
  if (progressing?.status === 'False' && progressing.reason === 'ProgressDeadlineExceeded') {
    return [
      {
        signal: 'deploy_failing',
        subject,
        message: `rollout stalled: ${progressing.message ?? progressing.reason}`,
        sustainSeconds: 0,
      },
    ];
  }
  const desired = deployment.spec?.replicas ?? 1;
  const unavailable = deployment.status?.unavailableReplicas ?? 0;
  if (desired === 0 || deployment.spec?.paused || unavailable === 0) return [];
  return [
    {
      signal: 'deploy_failing',
      subject,
      message: `${unavailable} of ${desired} replicas unavailable`,
      sustainSeconds: t.workloadUnavailableSeconds,
    },
  ];
}

export function detectStatefulSet(set: V1StatefulSet, t: DetectionThresholds): Finding[] {
  const desired = set.spec?.replicas ?? 1;
  const ready = set.status?.readyReplicas ?? 0;
  if (desired === 0 || ready >= desired) return [];
  return [
    {
      signal: 'statefulset_unavailable',
      subject: subjectOf('StatefulSet', set),
      message: `${ready} of ${desired} replicas ready`,
      sustainSeconds: t.workloadUnavailableSeconds,
    },
  ];
}

export function detectDaemonSet(set: V1DaemonSet, t: DetectionThresholds): Finding[] {
  const desired = set.status?.desiredNumberScheduled ?? 0;
  const unavailable = set.status?.numberUnavailable ?? 0;
  if (desired === 0 || unavailable === 0) return [];
  return [
    {
      signal: 'daemonset_unavailable',
      subject: subjectOf('DaemonSet', set),
      message: `${unavailable} of ${desired} daemon pods unavailable`,
      sustainSeconds: t.workloadUnavailableSeconds,
    },
  ];
}

/** A failed Job of a CronJob is the CronJob's problem: that is the object a team owns and fixes. */
export function detectJob(job: V1Job): Finding[] {
  const failed = conditionOf(job.status?.conditions, 'Failed');
  if (failed?.status !== 'True') return [];
  const cronJob = job.metadata?.ownerReferences?.find((o) => o.kind === 'CronJob');
  const message = `job ${job.metadata?.name} failed: ${failed.reason ?? 'Failed'}${failed.message ? ` (${failed.message})` : ''}`;
  return cronJob
    ? [
        {
          signal: 'cronjob_failing',
          subject: { ...subjectOf('CronJob', job), name: cronJob.name },
          message,
          sustainSeconds: 0,
        },
      ]
    : [{ signal: 'job_failed', subject: subjectOf('Job', job), message, sustainSeconds: 0 }];
}

/** A suspended CronJob is a decision, not a fault; a failing one shows through its Jobs. */
export function detectCronJob(_cronJob: V1CronJob): Finding[] {
  return [];
}

export function detectNode(node: V1Node, t: DetectionThresholds): Finding[] {
  const ready = conditionOf(node.status?.conditions, 'Ready');
  if (!ready || ready.status === 'True') return [];
  return [
    {
      signal: 'node_not_ready',
      subject: subjectOf('Node', node),
      message:
        `node is ${ready.status === 'Unknown' ? 'unreachable' : 'not ready'}: ${ready.reason ?? ''} ${ready.message ?? ''}`.trim(),
      sustainSeconds: t.nodeNotReadySeconds,
    },
  ];
}

/** Maxed means the autoscaler wants more than it may have, not merely that it sits at its maximum. */
export function detectHpa(hpa: V2HorizontalPodAutoscaler, t: DetectionThresholds): Finding[] {
  const max = hpa.spec?.maxReplicas ?? 0;
  const current = hpa.status?.currentReplicas ?? 0;
  const desired = hpa.status?.desiredReplicas ?? 0;
  const limited = conditionOf(hpa.status?.conditions, 'ScalingLimited');
  const wantsMore = limited?.status === 'True' && limited.reason === 'TooManyReplicas';
  if (max === 0 || current < max || (!wantsMore && desired <= max)) return [];
  return [
    {
      signal: 'hpa_maxed',
      subject: subjectOf('HorizontalPodAutoscaler', hpa),
      message: `autoscaler at its maximum of ${max} replicas and asking for more`,
      sustainSeconds: t.hpaMaxedSeconds,
    },
  ];
}

/** Pods, workloads, nodes and autoscalers. */
export const workloadDetectors: DetectorSet = {
  detectors: {
    Pod: detectPod,
    Deployment: detectDeployment,
    StatefulSet: detectStatefulSet,
    DaemonSet: detectDaemonSet,
    Job: detectJob,
    Node: detectNode,
    HorizontalPodAutoscaler: detectHpa,
  },
};
