import type { ResourceRef } from '../events/common.schema.ts';

/** Owner references as the API server returns them in `metadata.ownerReferences`, reduced to what we read. */
export interface OwnerReference {
  readonly kind: string;
  readonly name: string;
  readonly controller?: boolean;
}

export interface OwnedObject {
  readonly kind: string;
  readonly name: string;
  readonly namespace: string;
  readonly cluster?: string;
  readonly ownerReferences?: readonly OwnerReference[];
}

/** A mirror (static) pod is "owned" by its Node; the pod, not the node, is the workload that misbehaves. */
const NOT_A_WORKLOAD_OWNER: ReadonlySet<string> = new Set(['Node']);
const MAX_DEPTH = 8;

const controllerOf = (object: OwnedObject): OwnerReference | undefined => {
  const references = object.ownerReferences ?? [];
  const controller = references.find((reference) => reference.controller === true);
  if (controller !== undefined) return controller;
  // Without a controller flag, a single owner is unambiguous; several are not, and we stop rather than guess.
  return references.length === 1 ? references[0] : undefined;
};

const sameObject = (a: { kind: string; name: string; namespace: string }, b: typeof a): boolean =>
  a.kind === b.kind && a.name === b.name && a.namespace === b.namespace;

/**
 * Walks controller owner references up to the object nobody controls: Pod → ReplicaSet → Deployment,
 * Pod → StatefulSet, Pod → Job → CronJob, Pod → DaemonSet. `known` holds the owners the caller has read (the
 * ReplicaSet, the Job); an owner that is not in it ends the walk, since its own owners cannot be seen. A custom
 * controller (an Argo Rollout) is followed like any other.
 */
export const resolveWorkload = (object: OwnedObject, known: readonly OwnedObject[] = []): ResourceRef => {
  let current = object;
  const visited: OwnedObject[] = [];
  for (let depth = 0; depth < MAX_DEPTH; depth++) {
    visited.push(current);
    const owner = controllerOf(current);
    if (owner === undefined || NOT_A_WORKLOAD_OWNER.has(owner.kind)) break;
    const ownerId = { kind: owner.kind, name: owner.name, namespace: current.namespace };
    if (visited.some((seen) => sameObject(seen, ownerId))) break; // a cycle is corrupt data, not a workload
    current = known.find((candidate) => sameObject(candidate, ownerId)) ?? { ...ownerId, cluster: object.cluster };
  }
  const workload: ResourceRef = { kind: current.kind, name: current.name, namespace: current.namespace };
  return object.cluster === undefined ? workload : { ...workload, cluster: object.cluster };
};

/** A stable text identity for a workload; the application hashes it into the correlation stream id. */
export const workloadKey = (workload: ResourceRef): string =>
  `${workload.cluster ?? ''}/${workload.namespace}/${workload.kind}/${workload.name}`;

export const sameWorkload = (a: ResourceRef, b: ResourceRef): boolean => workloadKey(a) === workloadKey(b);
