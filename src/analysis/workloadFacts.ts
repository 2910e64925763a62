import type { ResourceRef } from '../../domain/events/common.schema.ts';
import { redactSecrets } from './redaction.ts';

/**
 * What the context builder read about a workload, twice: as text for a model to read, and as facts for code (the
 * rules provider) to read. Both come from the same snapshot, so the rules never decide on something the text does
 * not show.
 */
export interface KubernetesContext {
  /** Redacted and at most the builder's size bound (12,000 characters by default). */
  readonly text: string;
  readonly facts: WorkloadFacts;
}

export type WorkloadRef = Pick<ResourceRef, 'kind' | 'name' | 'namespace'>;

export interface ContainerFacts {
  readonly name: string;
  readonly image: string;
  /** Quantities as written in the spec (`256Mi`); absent when the spec sets none. */
  readonly memoryLimit?: string;
  readonly memoryRequest?: string;
  readonly cpuLimit?: string;
  readonly cpuRequest?: string;
}

export interface ImageChange {
  readonly container: string;
  /** Absent when the container is new in this revision. */
  readonly from?: string;
  /** Absent when the container was removed in this revision. */
  readonly to?: string;
}

export interface RevisionFacts {
  readonly revision: number;
  /** The ReplicaSet (Deployment) or ControllerRevision (StatefulSet, DaemonSet) holding this revision. */
  readonly name: string;
  /** Container name → image. */
  readonly images: Readonly<Record<string, string>>;
  /** Container name → memory limit, where the template sets one. */
  readonly memoryLimits: Readonly<Record<string, string>>;
  /** Pods this revision runs now, and how many of them are ready. */
  readonly replicas: number;
  readonly readyReplicas: number;
  /** At least one of its pods is ready now: the revision is known to work. */
  readonly ready: boolean;
  readonly current: boolean;
  /** Image differences from the next older revision (empty for the oldest one listed). */
  readonly imageChanges: readonly ImageChange[];
}

export interface PodFacts {
  readonly name: string;
  /** The workload revision the pod belongs to, when it can be told. */
  readonly revision?: number;
  readonly phase: string;
  readonly ready: boolean;
  readonly restarts: number;
  /** Waiting, terminated and last-termination reasons of its containers, e.g. `CrashLoopBackOff`, `OOMKilled`. */
  readonly reasons: readonly string[];
  readonly oomKilledContainers: readonly string[];
}

export interface HpaFacts {
  readonly minReplicas: number;
  readonly maxReplicas: number;
  readonly currentReplicas: number;
  readonly desiredReplicas: number;
  readonly maxedOut: boolean;
  readonly target: string;
}

export interface JobFacts {
  readonly active: number;
  readonly succeeded: number;
  readonly failed: number;
  readonly backoffLimit?: number;
  /** `Complete`, `Failed` (with its reason) or `Running`. */
  readonly state: string;
}

export interface WorkloadFacts extends WorkloadRef {
  /** False when the workload does not exist (any more) or could not be read; everything below is then empty. */
  readonly found: boolean;
  readonly replicas?: {
    readonly desired: number;
    readonly ready: number;
    readonly available: number;
    readonly updated: number;
  };
  readonly containers: readonly ContainerFacts[];
  /** Newest first, at most five. */
  readonly revisions: readonly RevisionFacts[];
  readonly currentRevision?: number;
  /** The pods shown in the context, unhealthy first (at most five). The counts below cover every pod. */
  readonly pods: readonly PodFacts[];
  readonly podCount: number;
  readonly notReadyPods: number;
  readonly maxRestarts: number;
  readonly oomKilled: boolean;
  readonly oomKilledContainers: readonly string[];
  readonly crashLooping: boolean;
  readonly imagePullFailing: boolean;
  /** Distinct reasons of the Warning events shown, e.g. `BackOff`, `Failed`, `Unhealthy`. */
  readonly warningReasons: readonly string[];
  readonly hpa?: HpaFacts;
  readonly job?: JobFacts;
}

/** Facts about a workload nobody could read: every rule sees "no evidence". */
export const absentWorkloadFacts = (workload: WorkloadRef): WorkloadFacts => ({
  kind: workload.kind,
  name: workload.name,
  namespace: workload.namespace,
  found: false,
  containers: [],
  revisions: [],
  pods: [],
  podCount: 0,
  notReadyPods: 0,
  maxRestarts: 0,
  oomKilled: false,
  oomKilledContainers: [],
  crashLooping: false,
  imagePullFailing: false,
  warningReasons: [],
});

/** A context for when the cluster could not be read: analysis can still run, on the Issue's own data. */
export const unavailableKubernetesContext = (workload: WorkloadRef, why: string): KubernetesContext => ({
  text: redactSecrets(
    `Kubernetes context for ${workload.kind} ${workload.namespace}/${workload.name} is unavailable: ${why}`,
  ),
  facts: absentWorkloadFacts(workload),
});
