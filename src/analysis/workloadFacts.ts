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
  /**
   * Every pod-template field that differs from the next older revision, as paths (`spec.nodeSelector.disk`,
   * `spec.containers[app].image`), at most ContextLimits.templateChanges of them; the `pod-template-hash` label is
   * not a change. Absent where nothing older was read to compare with.
   */
  readonly templateChanges?: readonly string[];
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
  /** Not scheduled yet, or scheduled but its containers never started (waiting on configuration or an image). */
  readonly pending?: boolean;
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

/** Why pods cannot run or be created, in codes code can match on (the detectors' cause codes). */
export const BlockerCode = {
  /** A Secret, ConfigMap or key the pod references does not exist (CreateContainerConfigError). */
  ConfigMissing: 'config_missing',
  /** The container could not be created for another reason (CreateContainerError). */
  ContainerCreateFailed: 'container_create_failed',
  /** The scheduler found no node (PodScheduled=False, Unschedulable). */
  Unschedulable: 'unschedulable',
  QuotaExceeded: 'quota_exceeded',
  AdmissionDenied: 'admission_denied',
  LimitRange: 'limit_range',
  /** A controller could not create pods for another reason (FailedCreate). */
  CreateFailed: 'create_failed',
  /** A Job ran past its activeDeadlineSeconds. */
  DeadlineExceeded: 'deadline_exceeded',
} as const;
export type BlockerCode = (typeof BlockerCode)[keyof typeof BlockerCode];

export interface BlockerFacts {
  readonly code: BlockerCode;
  /** What Kubernetes said (redacted, one line). */
  readonly message: string;
  /** Where it was seen: `Pod/web-abc12`, `ReplicaSet/web-6d9f`, `Job/nightly`. */
  readonly seenOn: string;
  /** The object a person has to fix or create, when the message names one. */
  readonly object?: { readonly kind: string; readonly name: string };
  /** The field of the workload to look at (`spec.template.spec.nodeSelector`), when the cause points at one. */
  readonly field?: string;
  /** The workload revision whose pods are blocked, when it can be told. */
  readonly revision?: number;
}

export interface ServiceFacts {
  readonly name: string;
  readonly type: string;
  /** Empty for a Service without a selector (headless, external): its endpoints are managed by hand. */
  readonly selector: Readonly<Record<string, string>>;
  /** Pods the selector matches now (terminating ones excluded). */
  readonly matchingPods: number;
  readonly readyEndpoints: number;
  readonly notReadyEndpoints: number;
  /** It selects pods of the Issue's workload (or is the Issue's subject). */
  readonly selectsWorkload: boolean;
  /**
   * For a Service that selects no pod: the selector's labels that the nearest pods (the workload's, else the
   * namespace's) lack or carry with another value, with what those pods have instead.
   */
  readonly mismatchedLabels?: readonly { readonly key: string; readonly wants: string; readonly podsHave?: string }[];
}

export interface IngressFacts {
  readonly name: string;
  /** Each backend Service and port, and whether both exist. */
  readonly backends: readonly {
    readonly service: string;
    readonly port: string;
    readonly serviceExists: boolean;
    readonly portExists: boolean;
  }[];
  readonly missingTlsSecrets: readonly string[];
}

export interface PvcFacts {
  readonly name: string;
  readonly phase: string;
  readonly storageClass?: string;
  /** False when the claim names a StorageClass that does not exist (or names none and there is no default). */
  readonly storageClassExists: boolean;
  /** `WaitForFirstConsumer` claims are Pending by design until a pod uses them. */
  readonly bindingMode?: string;
  /** The newest Warning event about the claim (ProvisioningFailed, FailedBinding), one line. */
  readonly problem?: string;
}

export interface QuotaFacts {
  readonly name: string;
  /** Resource → `used/hard`. */
  readonly usage: Readonly<Record<string, string>>;
  /** Resources whose use has reached the hard limit. */
  readonly exhausted: readonly string[];
}

/** For an Issue whose subject is not a workload but configuration that points at something. */
export interface SubjectFacts {
  /** One line per problem found with the object itself, each naming the field to fix. */
  readonly problems: readonly string[];
  /** HPA: the scale target exists. */
  readonly targetExists?: boolean;
  /** NetworkPolicy: pods its podSelector matches now. */
  readonly selectedPods?: number;
  /** Admission webhooks: per webhook, its Service, ready endpoints and failure policy. */
  readonly webhooks?: readonly {
    readonly name: string;
    readonly service?: string;
    readonly readyEndpoints: number;
    readonly failurePolicy: string;
  }[];
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
  /** Why pods cannot run or be created, newest revision first (at most ContextLimits.blockers). */
  readonly blockers?: readonly BlockerFacts[];
  /** Services selecting the workload's pods, and the namespace's Services that select no pod at all. */
  readonly services?: readonly ServiceFacts[];
  /** Ingresses routing to those Services (or the Issue's Ingress). */
  readonly ingresses?: readonly IngressFacts[];
  /** Claims the workload's pods mount (or the Issue's claim). */
  readonly pvcs?: readonly PvcFacts[];
  /** The namespace's ResourceQuotas. */
  readonly quotas?: readonly QuotaFacts[];
  /** The namespace's LimitRanges, one line each (`default-limits: Container max memory=512Mi`). */
  readonly limitRanges?: readonly string[];
  /** Present when the Issue's subject is a Service, Ingress, PVC, HPA, NetworkPolicy or webhook configuration. */
  readonly subject?: SubjectFacts;
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
