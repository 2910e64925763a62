import type {
  CoreV1Event,
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
import { type DetectionView, type DetectorSet, detectionKey } from './detectionView.ts';
import { daemonSetCause, deploymentCause, jobCause, podBlockedCause, statefulSetCause } from './workloadCauses.ts';

/**
 * Detectors read one Kubernetes object as it is now, and the objects around it through a read-only view (a
 * Deployment's ReplicaSets and pods, the Events about them), and say what is wrong with it. They are pure: no
 * clock, no I/O. Whether a symptom has lasted long enough to matter is the Sustain tracker's job
 * (`sustainSeconds`), and which workload a pod belongs to is the correlation's job.
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

export function detectPod(pod: V1Pod, t: DetectionThresholds, view?: DetectionView): Finding[] {
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
  // containers that run and fail their readiness probe. A pod waiting on configuration or a node is not wedged:
  // its workload's signal carries that cause, and restarting it would change nothing.
  const ready = conditionOf(pod.status?.conditions, 'Ready');
  const running = (pod.status?.containerStatuses ?? []).every((s) => s.state?.running !== undefined);
  if (
    findings.length === 0 &&
    pod.status?.phase === 'Running' &&
    running &&
    ready?.status === 'False' &&
    podBlockedCause(pod, view) === undefined
  ) {
    add(
      'pod_not_ready',
      `pod has been running but not ready (${ready.reason ?? 'readiness failing'})`,
      t.podNotReadySeconds,
    );
  }
  return findings;
}

/** Findings longer than this are cut: an Anomaly's message is short text. */
const MAX_MESSAGE = 2_000;
const clip = (text: string) => (text.length > MAX_MESSAGE ? `${text.slice(0, MAX_MESSAGE - 1)}…` : text);

/**
 * A workload signal with its cause when one is known: the message says it, and a workload blocked on something
 * only a change can fix (configuration, scheduling, a refused creation) reports after `podBlockedSeconds` rather
 * than waiting out `workloadUnavailableSeconds`.
 */
function workloadFinding(
  signal: string,
  subject: Finding['subject'],
  symptom: string,
  sustainSeconds: number,
  cause: AnomalyCause | undefined,
  t: DetectionThresholds,
): Finding {
  if (!cause) return { signal, subject, message: clip(symptom), sustainSeconds };
  return {
    signal,
    subject,
    message: clip(`${symptom}: ${cause.message}`),
    sustainSeconds: Math.min(sustainSeconds, t.podBlockedSeconds),
    cause,
  };
}

export function detectDeployment(deployment: V1Deployment, t: DetectionThresholds, view?: DetectionView): Finding[] {
  const subject = subjectOf('Deployment', deployment);
  const progressing = conditionOf(deployment.status?.conditions, 'Progressing');
  const stalled = progressing?.status === 'False' && progressing.reason === 'ProgressDeadlineExceeded';
  const desired = deployment.spec?.replicas ?? 1;
  const unavailable = deployment.status?.unavailableReplicas ?? 0;
  if (!stalled && (desired === 0 || deployment.spec?.paused || unavailable === 0)) return [];
  const cause = view ? deploymentCause(deployment, view) : undefined;
  return stalled
    ? [
        workloadFinding(
          'deploy_failing',
          subject,
          `rollout stalled: ${progressing.message ?? progressing.reason}`,
          0,
          cause,
          t,
        ),
      ]
    : [
        workloadFinding(
          'deploy_failing',
          subject,
          `${unavailable} of ${desired} replicas unavailable`,
          t.workloadUnavailableSeconds,
          cause,
          t,
        ),
      ];
}

export function detectStatefulSet(set: V1StatefulSet, t: DetectionThresholds, view?: DetectionView): Finding[] {
  const desired = set.spec?.replicas ?? 1;
  const ready = set.status?.readyReplicas ?? 0;
  if (desired === 0 || ready >= desired) return [];
  return [
    workloadFinding(
      'statefulset_unavailable',
      subjectOf('StatefulSet', set),
      `${ready} of ${desired} replicas ready`,
      t.workloadUnavailableSeconds,
      view ? statefulSetCause(set, view) : undefined,
      t,
    ),
  ];
}

export function detectDaemonSet(set: V1DaemonSet, t: DetectionThresholds, view?: DetectionView): Finding[] {
  const desired = set.status?.desiredNumberScheduled ?? 0;
  const unavailable = set.status?.numberUnavailable ?? 0;
  if (desired === 0 || unavailable === 0) return [];
  return [
    workloadFinding(
      'daemonset_unavailable',
      subjectOf('DaemonSet', set),
      `${unavailable} of ${desired} daemon pods unavailable`,
      t.workloadUnavailableSeconds,
      view ? daemonSetCause(set, view) : undefined,
      t,
    ),
  ];
}

/**
 * A failed Job of a CronJob is the CronJob's problem: that is the object a team owns and fixes. A Job past its
 * `activeDeadlineSeconds` says so; a Job still running whose pods cannot be created, scheduled or started reports
 * the same signal with that cause once it has lasted `podBlockedSeconds`, since it will never finish by itself.
 */
export function detectJob(job: V1Job, t: DetectionThresholds = DefaultThresholds, view?: DetectionView): Finding[] {
  const conditions = job.status?.conditions;
  const failed = conditionOf(conditions, 'Failed');
  const cronJob = job.metadata?.ownerReferences?.find((o) => o.kind === 'CronJob');
  const subject = cronJob ? { ...subjectOf('CronJob', job), name: cronJob.name } : subjectOf('Job', job);
  const signal = cronJob ? 'cronjob_failing' : 'job_failed';
  const name = job.metadata?.name ?? '';
  if (failed?.status === 'True') {
    if (failed.reason === 'DeadlineExceeded') {
      const deadline = job.spec?.activeDeadlineSeconds;
      const message = `job ${name} failed: it ran past its deadline${deadline === undefined ? '' : ` of ${deadline}s`} (spec.activeDeadlineSeconds) and its pods were stopped`;
      return [
        {
          signal,
          subject,
          message,
          sustainSeconds: 0,
          cause: {
            code: 'deadline_exceeded',
            message: `job ${name} exceeded spec.activeDeadlineSeconds${deadline === undefined ? '' : ` (${deadline}s)`}; make the work faster or raise the deadline`,
            object: { kind: 'Job', name, namespace: job.metadata?.namespace ?? '' },
          },
        },
      ];
    }
    const symptom = `job ${name} failed: ${failed.reason ?? 'Failed'}${failed.message ? ` (${failed.message})` : ''}`;
    return [workloadFinding(signal, subject, symptom, 0, view ? jobCause(job, view) : undefined, t)];
  }
  const done = conditionOf(conditions, 'Complete')?.status === 'True' || job.spec?.suspend === true;
  const cause = done || !view ? undefined : jobCause(job, view);
  if (!cause) return [];
  return [workloadFinding(signal, subject, `job ${name} cannot run`, t.podBlockedSeconds, cause, t)];
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

type Owned = { metadata?: { ownerReferences?: { kind: string; name: string; controller?: boolean }[] } };
const controllerOf = (object: Owned | undefined) =>
  object?.metadata?.ownerReferences?.find((o) => o.controller) ?? object?.metadata?.ownerReferences?.[0];

/** The workload whose signal a change to this object can give or take a cause: a ReplicaSet's Deployment… */
function workloadKeys(view: DetectionView, kind: string, namespace: string, name: string): string[] {
  switch (kind) {
    case 'ReplicaSet': {
      const owner = controllerOf(view.get('ReplicaSet', namespace, name));
      return owner?.kind === 'Deployment' ? [detectionKey('Deployment', namespace, owner.name)] : [];
    }
    case 'Pod': {
      const owner = controllerOf(view.get('Pod', namespace, name));
      if (owner?.kind === 'ReplicaSet') return workloadKeys(view, 'ReplicaSet', namespace, owner.name);
      if (owner?.kind === 'StatefulSet' || owner?.kind === 'DaemonSet' || owner?.kind === 'Job')
        return [detectionKey(owner.kind, namespace, owner.name)];
      return [];
    }
    case 'StatefulSet':
    case 'DaemonSet':
    case 'Job':
      return [detectionKey(kind, namespace, name)];
    default:
      return [];
  }
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
  // A workload's cause lives on its pods, its ReplicaSets and the Events about them, which change after the
  // workload's own status has settled: a change to any of them re-checks the workload.
  dependents: {
    Pod: (view, namespace, name) => workloadKeys(view, 'Pod', namespace, name),
    ReplicaSet: (view, namespace, name) => workloadKeys(view, 'ReplicaSet', namespace, name),
    Event: (view, namespace, name) => {
      const about = view.get<CoreV1Event>('Event', namespace, name)?.involvedObject;
      return about?.kind && about.name ? workloadKeys(view, about.kind, about.namespace ?? namespace, about.name) : [];
    },
  },
};
