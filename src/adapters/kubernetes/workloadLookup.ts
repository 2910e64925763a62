import * as k8s from '@kubernetes/client-node';
import { type OwnedObject, resolveWorkload } from '../../../domain/correlation/workload.resolver.ts';
import { CairnError, ErrorCategory } from '../../../domain/errors.ts';
import type { ResourceRef } from '../../../domain/events/common.schema.ts';
import { type WorkloadLookup, WorkloadRefusal, type WorkloadResolution } from '../../ports/workloadLookup.ts';

type Read = (name: string, namespace: string) => Promise<k8s.KubernetesObject>;

interface KindEntry {
  readonly apiVersion: string;
  readonly namespaced: boolean;
  /**
   * Whether its owners are followed. Only the links the watchers follow (Pod → ReplicaSet → Deployment,
   * Pod → Job → CronJob) are: a Deployment an operator happens to own stays the workload, as the watchers see it.
   */
  readonly followOwners: boolean;
}

/** The kinds an anomaly may name: the watchers' kinds, plus the owners a pod's signal can be traced through. */
export const WorkloadKinds = {
  Pod: { apiVersion: 'v1', namespaced: true, followOwners: true },
  ReplicaSet: { apiVersion: 'apps/v1', namespaced: true, followOwners: true },
  Job: { apiVersion: 'batch/v1', namespaced: true, followOwners: true },
  Deployment: { apiVersion: 'apps/v1', namespaced: true, followOwners: false },
  StatefulSet: { apiVersion: 'apps/v1', namespaced: true, followOwners: false },
  DaemonSet: { apiVersion: 'apps/v1', namespaced: true, followOwners: false },
  CronJob: { apiVersion: 'batch/v1', namespaced: true, followOwners: false },
  HorizontalPodAutoscaler: { apiVersion: 'autoscaling/v2', namespaced: true, followOwners: false },
  Node: { apiVersion: 'v1', namespaced: false, followOwners: false },
} as const satisfies Record<string, KindEntry>;
export type WorkloadKind = keyof typeof WorkloadKinds;

const isWorkloadKind = (kind: string): kind is WorkloadKind => Object.hasOwn(WorkloadKinds, kind);

/** `autoscaling/v1` and `v2` name the same HPA; for the rest the group must match. */
const groupOf = (apiVersion: string) => (apiVersion.includes('/') ? apiVersion.split('/')[0] : '');

const isNotFound = (error: unknown) => (error as { code?: number }).code === 404;

const owned = (kind: string, object: k8s.KubernetesObject): OwnedObject => ({
  kind,
  name: object.metadata?.name ?? '',
  namespace: object.metadata?.namespace ?? '',
  ownerReferences: (object.metadata?.ownerReferences ?? []).map((o) => ({
    kind: o.kind,
    name: o.name,
    ...(o.controller === undefined ? {} : { controller: o.controller }),
  })),
});

const display = (ref: ResourceRef) => `${ref.kind} ${ref.namespace ? `${ref.namespace}/` : ''}${ref.name}`;

/** Reads through the API server, never a cache: these calls are rare (alerts, hand-made anomalies). */
export function createWorkloadLookup(config: k8s.KubeConfig): WorkloadLookup {
  const core = config.makeApiClient(k8s.CoreV1Api);
  const apps = config.makeApiClient(k8s.AppsV1Api);
  const batch = config.makeApiClient(k8s.BatchV1Api);
  const autoscaling = config.makeApiClient(k8s.AutoscalingV2Api);
  const readers: Record<WorkloadKind, Read> = {
    Pod: (name, namespace) => core.readNamespacedPod({ name, namespace }),
    ReplicaSet: (name, namespace) => apps.readNamespacedReplicaSet({ name, namespace }),
    Job: (name, namespace) => batch.readNamespacedJob({ name, namespace }),
    Deployment: (name, namespace) => apps.readNamespacedDeployment({ name, namespace }),
    StatefulSet: (name, namespace) => apps.readNamespacedStatefulSet({ name, namespace }),
    DaemonSet: (name, namespace) => apps.readNamespacedDaemonSet({ name, namespace }),
    CronJob: (name, namespace) => batch.readNamespacedCronJob({ name, namespace }),
    HorizontalPodAutoscaler: (name, namespace) =>
      autoscaling.readNamespacedHorizontalPodAutoscaler({ name, namespace }),
    Node: (name) => core.readNode({ name }),
  };

  const readOrUndefined = async (kind: WorkloadKind, name: string, namespace: string) => {
    try {
      return await readers[kind](name, namespace);
    } catch (error) {
      if (isNotFound(error)) return undefined;
      throw new CairnError(
        'kubernetes.unavailable',
        ErrorCategory.Transient,
        `could not read ${kind} ${namespace}/${name}`,
        {
          cause: error,
        },
      );
    }
  };

  return {
    async resolve(requested): Promise<WorkloadResolution> {
      const { kind, name } = requested;
      if (!isWorkloadKind(kind)) {
        return {
          ok: false,
          reason: WorkloadRefusal.NotAWorkload,
          message: `${kind} is not a kind Cairn correlates on (one of ${Object.keys(WorkloadKinds).join(', ')})`,
        };
      }
      const entry: KindEntry = WorkloadKinds[kind];
      if (requested.apiVersion && groupOf(requested.apiVersion) !== groupOf(entry.apiVersion)) {
        return {
          ok: false,
          reason: WorkloadRefusal.NotAWorkload,
          message: `${requested.apiVersion} ${kind} is not the built-in ${entry.apiVersion} ${kind}`,
        };
      }
      const resource: ResourceRef = { kind, name, namespace: entry.namespaced ? requested.namespace : '' };
      const object = await readOrUndefined(kind, name, resource.namespace);
      if (!object) {
        return { ok: false, reason: WorkloadRefusal.NotFound, message: `${display(resource)} does not exist` };
      }
      if (!entry.followOwners) return { ok: true, resource, workload: resource };

      // Read the owners the watchers would have in their cache, one level at a time, as far as they are workloads.
      const start = owned(kind, object);
      const known: OwnedObject[] = [];
      let current = start;
      for (let depth = 0; depth < 2; depth++) {
        const owner = current.ownerReferences?.find((o) => o.controller) ?? current.ownerReferences?.[0];
        if (!owner || (owner.kind !== 'ReplicaSet' && owner.kind !== 'Job')) break;
        const parent = await readOrUndefined(owner.kind, owner.name, resource.namespace);
        if (!parent) break;
        current = owned(owner.kind, parent);
        known.push(current);
      }
      return { ok: true, resource, workload: resolveWorkload(start, known) };
    },
  };
}
