import type * as k8s from '@kubernetes/client-node';
import type { ResourceRef } from '../../domain/events/common.schema.ts';
import { type ActionClients, ActionFieldManager } from './action.ts';
import { display, invalidParam, kube } from './actionErrors.ts';

/** Reads shared by the pod-level actions: which pods a workload has, and which of them is the sickest. */

export const selectorString = (selector: k8s.V1LabelSelector | undefined): string => {
  const parts = Object.entries(selector?.matchLabels ?? {}).map(([key, value]) => `${key}=${value}`);
  for (const expression of selector?.matchExpressions ?? []) {
    const values = (expression.values ?? []).join(',');
    switch (expression.operator) {
      case 'In':
        parts.push(`${expression.key} in (${values})`);
        break;
      case 'NotIn':
        parts.push(`${expression.key} notin (${values})`);
        break;
      case 'Exists':
        parts.push(expression.key);
        break;
      case 'DoesNotExist':
        parts.push(`!${expression.key}`);
        break;
    }
  }
  return parts.join(',');
};

export const isTerminating = (pod: k8s.V1Pod): boolean => pod.metadata?.deletionTimestamp != null;

export const isPodReady = (pod: k8s.V1Pod): boolean =>
  pod.status?.phase === 'Running' &&
  (pod.status.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True');

export interface WorkloadPods {
  /** The object whose controller replaces a deleted pod. */
  readonly owner: ResourceRef;
  /** Its pods that are not already being deleted (unless asked for). */
  readonly pods: readonly k8s.V1Pod[];
}

const WorkloadKinds = ['Deployment', 'StatefulSet', 'DaemonSet', 'ReplicaSet', 'Pod'] as const;
export const podOwnerKinds: readonly string[] = WorkloadKinds;

/** The live pods of a workload; for a Pod target, the pods sharing its controller. */
export async function workloadPods(
  clients: ActionClients,
  target: ResourceRef,
  options: { includeTerminating?: boolean } = {},
): Promise<WorkloadPods> {
  const { namespace, name } = target;
  const live = (list: k8s.V1PodList) =>
    options.includeTerminating ? list.items : list.items.filter((pod) => !isTerminating(pod));
  const bySelector = async (selector: k8s.V1LabelSelector | undefined) => {
    const labelSelector = selectorString(selector);
    // An empty selector would match every pod of the namespace: no workload really has one.
    if (labelSelector === '') throw invalidParam('target', `${display(target)} has an empty selector`);
    return live(await kube('listing pods', () => clients.core.listNamespacedPod({ namespace, labelSelector })));
  };
  switch (target.kind) {
    case 'Deployment': {
      const d = await kube(`reading ${display(target)}`, () =>
        clients.apps.readNamespacedDeployment({ name, namespace }),
      );
      return { owner: target, pods: await bySelector(d.spec?.selector) };
    }
    case 'StatefulSet': {
      const s = await kube(`reading ${display(target)}`, () =>
        clients.apps.readNamespacedStatefulSet({ name, namespace }),
      );
      return { owner: target, pods: await bySelector(s.spec?.selector) };
    }
    case 'DaemonSet': {
      const s = await kube(`reading ${display(target)}`, () =>
        clients.apps.readNamespacedDaemonSet({ name, namespace }),
      );
      return { owner: target, pods: await bySelector(s.spec?.selector) };
    }
    case 'ReplicaSet': {
      const s = await kube(`reading ${display(target)}`, () =>
        clients.apps.readNamespacedReplicaSet({ name, namespace }),
      );
      return { owner: target, pods: await bySelector(s.spec?.selector) };
    }
    case 'Pod': {
      const pod = await kube(`reading ${display(target)}`, () => clients.core.readNamespacedPod({ name, namespace }));
      const controller = pod.metadata?.ownerReferences?.find((o) => o.controller);
      if (!controller) return { owner: target, pods: live({ items: [pod] }) };
      const all = await kube('listing pods', () => clients.core.listNamespacedPod({ namespace }));
      return {
        owner: { kind: controller.kind, name: controller.name, namespace },
        pods: live(all).filter((p) => p.metadata?.ownerReferences?.some((o) => o.uid === controller.uid)),
      };
    }
    default:
      throw invalidParam('target', `pods of a ${target.kind} are not managed by Cairn (${name})`);
  }
}

const badWaiting = new Set(['CrashLoopBackOff', 'ImagePullBackOff', 'ErrImagePull', 'CreateContainerConfigError']);

/** Higher is sicker: a failed or unready pod first, then crash loops, OOM kills and restarts. */
export const sickness = (pod: k8s.V1Pod): number => {
  const statuses = pod.status?.containerStatuses ?? [];
  let score = 0;
  if (pod.status?.phase === 'Failed' || pod.status?.phase === 'Unknown') score += 100;
  if (!isPodReady(pod)) score += 50;
  if (statuses.some((s) => badWaiting.has(s.state?.waiting?.reason ?? ''))) score += 30;
  if (statuses.some((s) => s.lastState?.terminated?.reason === 'OOMKilled')) score += 20;
  score += Math.min(
    20,
    statuses.reduce((sum, s) => sum + s.restartCount, 0),
  );
  return score;
};

const created = (pod: k8s.V1Pod): number => new Date(pod.metadata?.creationTimestamp ?? 0).getTime();

/** The sickest pod; among equals the oldest, then by name, so the choice is repeatable. */
export const sickestPod = (pods: readonly k8s.V1Pod[]): k8s.V1Pod | undefined =>
  [...pods].sort(
    (a, b) =>
      sickness(b) - sickness(a) ||
      created(a) - created(b) ||
      (a.metadata?.name ?? '').localeCompare(b.metadata?.name ?? ''),
  )[0];

/** Whole seconds: the API server's timestamps (managedFields, creationTimestamp) have no fraction. */
export const secondsFloor = (instant: string | Date): number => Math.floor(new Date(instant).getTime() / 1000) * 1000;

/** Whether Cairn's field manager wrote to the object at or after `startedAt` (to the second). */
export const writtenByCairnSince = (object: k8s.KubernetesObject, startedAt: string | undefined): boolean => {
  if (startedAt === undefined) return false;
  const since = secondsFloor(startedAt);
  return (object.metadata?.managedFields ?? []).some(
    (entry) => entry.manager === ActionFieldManager && entry.time != null && new Date(entry.time).getTime() >= since,
  );
};

export const createdSince = (pod: k8s.V1Pod, startedAt: string | undefined): boolean =>
  startedAt !== undefined && created(pod) >= secondsFloor(startedAt);
