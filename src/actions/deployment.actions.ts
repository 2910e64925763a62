import type * as k8s from '@kubernetes/client-node';
import type { ResourceRef } from '../../domain/events/common.schema.ts';
import { type ActionClients, ActionFieldManager, type ActionParams } from './action.ts';
import { display, illegalState, invalidParam, isConflict, kube, kubeFailure, missing, unsafe } from './actionErrors.ts';
import { defineAction, intParam, optionalParam, quantityParam } from './actionParams.ts';
import { PatchAs } from './patchOptions.ts';
import { compareQuantities } from './quantity.ts';
import { hpasTargeting } from './scaling.actions.ts';
import { writtenByCairnSince } from './workloadPods.ts';

const RevisionAnnotation = 'deployment.kubernetes.io/revision';
/** What `kubectl rollout restart` writes; the Deployment controller rolls the pods because the template changed. */
export const RestartedAtAnnotation = 'kubectl.kubernetes.io/restartedAt';
const PodTemplateHash = 'pod-template-hash';
/** A generous ceiling that catches a typo (3000 for 3) without limiting any real workload. */
export const MaxReplicas = 1_000;

const readDeployment = (clients: ActionClients, target: ResourceRef) =>
  kube(`reading ${display(target)}`, () =>
    clients.apps.readNamespacedDeployment({ name: target.name, namespace: target.namespace }),
  );

const patchDeployment = (clients: ActionClients, target: ResourceRef, body: object, strategic = false) =>
  kube(`patching ${display(target)}`, () =>
    clients.apps.patchNamespacedDeployment(
      { name: target.name, namespace: target.namespace, body, fieldManager: ActionFieldManager },
      strategic ? PatchAs.strategic : PatchAs.merge,
    ),
  );

export const replicasParam = (params: ActionParams): number => {
  const replicas = intParam(params, 'replicas', { min: 0, max: MaxReplicas });
  if (replicas === undefined) throw invalidParam('replicas', 'is required');
  if (replicas === 0) throw unsafe('replicas', 'scaling to 0 replicas takes the workload down; Cairn never does it');
  return replicas;
};

export const scaleDeployment = defineAction({
  type: 'ScaleDeployment',
  targetKinds: ['Deployment'],
  destructive: false,
  describe: 'Sets the replica count of the Deployment (at least 1).',
  params: { replicas: { description: `the new replica count, 1 to ${MaxReplicas}`, required: true } },
  validate: (params) => void replicasParam(params),
  async execute({ clients, target, params }) {
    const replicas = replicasParam(params);
    const before = await readDeployment(clients, target);
    await patchDeployment(clients, target, { spec: { replicas } });
    // An HPA keeps its own opinion of the replica count: say so rather than let a silent revert look like a bug.
    const hpas = await hpasTargeting(clients, target);
    const note = hpas
      .map(
        (h) =>
          ` HorizontalPodAutoscaler ${h.metadata?.name} keeps it within ${h.spec?.minReplicas ?? 1}-${h.spec?.maxReplicas}.`,
      )
      .join('');
    return {
      detail: `scaled ${display(target)} from ${before.spec?.replicas ?? 1} to ${replicas} replicas.${note}`,
      touched: [target],
    };
  },
  async isDone({ clients, target, params }) {
    return (await readDeployment(clients, target)).spec?.replicas === replicasParam(params);
  },
});

export const restartDeployment = defineAction({
  type: 'RestartDeployment',
  targetKinds: ['Deployment'],
  destructive: false,
  describe: 'Rolling restart of the Deployment, as kubectl rollout restart does: every pod is replaced.',
  params: {},
  async execute({ clients, target }) {
    const deployment = await readDeployment(clients, target);
    if (deployment.spec?.paused) throw illegalState(`${display(target)} is paused: resume it before restarting it`);
    const at = new Date().toISOString();
    await patchDeployment(clients, target, {
      spec: { template: { metadata: { annotations: { [RestartedAtAnnotation]: at } } } },
    });
    return { detail: `restarted ${display(target)} (${RestartedAtAnnotation}=${at})`, touched: [target] };
  },
  async isDone({ clients, target, startedAt }) {
    const deployment = await readDeployment(clients, target);
    const at = deployment.spec?.template?.metadata?.annotations?.[RestartedAtAnnotation];
    if (at === undefined) return false;
    // Unknown start: a restart is there, and a second one would only roll the pods again.
    return startedAt === undefined || new Date(at).getTime() >= new Date(startedAt).getTime();
  },
});

// --- RollbackDeployment --------------------------------------------------------------------------------------

export const RollbackTo = { Previous: 'previous', LastHealthy: 'last-healthy' } as const;

const rollbackTarget = (params: ActionParams): 'previous' | 'last-healthy' | number => {
  const text = optionalParam(params, 'toRevision') ?? RollbackTo.Previous;
  if (text === RollbackTo.Previous || text === RollbackTo.LastHealthy) return text;
  if (!/^\d+$/.test(text) || Number(text) < 1) {
    throw invalidParam('toRevision', `must be previous, last-healthy or a revision number, got "${text}"`);
  }
  return Number(text);
};

/**
 * A ReplicaSet as the API server sends it. Read raw (not through the client's typed models, which drop fields
 * they do not know), because its pod template is written back verbatim.
 */
export interface RawReplicaSet {
  readonly metadata?: {
    readonly name?: string;
    readonly labels?: Readonly<Record<string, string>>;
    readonly annotations?: Readonly<Record<string, string>>;
    readonly ownerReferences?: readonly { readonly uid?: string; readonly controller?: boolean }[];
  };
  readonly spec?: {
    readonly template?: {
      readonly metadata?: { readonly labels?: Readonly<Record<string, string>> };
      readonly spec?: { readonly containers?: readonly { readonly image?: string }[] };
    };
  };
  readonly status?: { readonly readyReplicas?: number; readonly availableReplicas?: number };
}

/** The hash the Deployment controller names a template by: stable when an old template comes back. */
export const templateHashOf = (rs: RawReplicaSet): string | undefined => rs.metadata?.labels?.[PodTemplateHash];

export const revisionOf = (rs: RawReplicaSet): number => {
  const value = Number(rs.metadata?.annotations?.[RevisionAnnotation]);
  return Number.isInteger(value) ? value : 0;
};

/** The Deployment's ReplicaSets, newest revision first (what kubectl rollout history lists). */
export async function revisionsOf(clients: ActionClients, deployment: k8s.V1Deployment): Promise<RawReplicaSet[]> {
  const namespace = deployment.metadata?.namespace ?? '';
  const uid = deployment.metadata?.uid;
  const list = (await kube('listing ReplicaSets', () =>
    clients.custom.listNamespacedCustomObject({ group: 'apps', version: 'v1', plural: 'replicasets', namespace }),
  )) as { items?: RawReplicaSet[] };
  return (list.items ?? [])
    .filter((rs) => rs.metadata?.ownerReferences?.some((o) => o.controller && o.uid === uid))
    .filter((rs) => revisionOf(rs) > 0)
    .sort((a, b) => revisionOf(b) - revisionOf(a));
}

/** Some of its pods are ready now: the strongest evidence an old revision works. */
export const servedReadyPods = (rs: RawReplicaSet): boolean =>
  (rs.status?.readyReplicas ?? 0) > 0 || (rs.status?.availableReplicas ?? 0) > 0;

/**
 * Chooses the ReplicaSet to go back to. `previous` is the second-newest revision (kubectl's default);
 * `last-healthy` the newest older one that still has ready pods: during a failed rolling update the old
 * ReplicaSet keeps serving, while a revision scaled to zero long ago tells nothing about its health.
 */
export const chooseRevision = <R extends RawReplicaSet>(
  revisions: readonly R[],
  to: 'previous' | 'last-healthy' | number,
  target: ResourceRef,
): R => {
  const [current, ...older] = revisions;
  if (current === undefined) throw missing('revision', `${display(target)} has no rollout history`);
  const available = revisions.map(revisionOf).join(', ');
  if (typeof to === 'number') {
    const chosen = revisions.find((rs) => revisionOf(rs) === to);
    if (!chosen) throw missing('revision', `${display(target)} has no revision ${to} (it has ${available})`);
    return chosen;
  }
  if (to === RollbackTo.Previous) {
    const previous = older[0];
    if (!previous)
      throw missing('revision', `${display(target)} has only one revision: there is nothing to go back to`);
    return previous;
  }
  const healthy = older.find(servedReadyPods);
  if (!healthy) {
    throw missing(
      'revision',
      `no older revision of ${display(target)} has ready pods (revisions ${available}); ` +
        'name one with toRevision=<n> or use toRevision=previous',
    );
  }
  return healthy;
};

/** The old ReplicaSet's pod template as the Deployment's: what kubectl rollout undo writes. */
export const templateOf = (rs: RawReplicaSet): Record<string, unknown> => {
  const template = structuredClone(rs.spec?.template ?? {}) as { metadata?: { labels?: Record<string, string> } };
  if (template.metadata?.labels) delete template.metadata.labels[PodTemplateHash];
  return template as Record<string, unknown>;
};

export const rollbackDeployment = defineAction({
  type: 'RollbackDeployment',
  targetKinds: ['Deployment'],
  destructive: false,
  describe:
    'Rolls the Deployment back to an earlier ReplicaSet revision, as kubectl rollout undo does ' +
    '(previous by default, last-healthy, or a revision number).',
  params: {
    toRevision: { description: 'previous (default), last-healthy, or a revision number from the rollout history' },
  },
  validate: (params) => void rollbackTarget(params),
  async execute({ clients, target, params }) {
    const to = rollbackTarget(params);
    for (let attempt = 1; ; attempt++) {
      const deployment = await readDeployment(clients, target);
      if (deployment.spec?.paused) throw illegalState(`${display(target)} is paused: resume it before rolling back`);
      const revisions = await revisionsOf(clients, deployment);
      const chosen = chooseRevision(revisions, to, target);
      const revision = revisionOf(chosen);
      if (revision === revisionOf(revisions[0] as RawReplicaSet)) {
        return { detail: `${display(target)} already runs revision ${revision}: nothing to roll back`, touched: [] };
      }
      const images = (chosen.spec?.template?.spec?.containers ?? []).map((c) => c.image).join(', ');
      try {
        // Writing the resourceVersion read makes the patch conditional on nobody having changed it since.
        await clients.apps.patchNamespacedDeployment(
          {
            name: target.name,
            namespace: target.namespace,
            body: [
              { op: 'replace', path: '/metadata/resourceVersion', value: deployment.metadata?.resourceVersion },
              { op: 'replace', path: '/spec/template', value: templateOf(chosen) },
            ],
            fieldManager: ActionFieldManager,
          },
          PatchAs.json,
        );
      } catch (error) {
        // Someone else wrote in between: choose again from the new state rather than overwrite it.
        if (isConflict(error) && attempt < 3) continue;
        throw kubeFailure(error, `rolling back ${display(target)}`);
      }
      const left = templateHashOf(revisions[0] as RawReplicaSet);
      return {
        detail: `rolled ${display(target)} back to revision ${revision} (ReplicaSet ${chosen.metadata?.name}: ${images})`,
        touched: [target],
        ...(left ? { revisionLeft: left } : {}),
      };
    }
  },
  /** Going back twice would skip a revision, so any write of Cairn's since the start counts as done. */
  async isDone({ clients, target, startedAt }) {
    return writtenByCairnSince(await readDeployment(clients, target), startedAt);
  },
});

// --- AdjustResources -------------------------------------------------------------------------------------------

export const ResourceParams = {
  memory_limit: { resource: 'memory', field: 'limits' },
  memory_request: { resource: 'memory', field: 'requests' },
  cpu_limit: { resource: 'cpu', field: 'limits' },
  cpu_request: { resource: 'cpu', field: 'requests' },
} as const;
export type ResourceParam = keyof typeof ResourceParams;
const resourceParamNames = Object.keys(ResourceParams) as ResourceParam[];

export const requestedResources = (params: ActionParams): Partial<Record<ResourceParam, string>> => {
  const wanted: Partial<Record<ResourceParam, string>> = {};
  for (const name of resourceParamNames) {
    const value = quantityParam(params, name);
    if (value !== undefined) wanted[name] = value;
  }
  if (Object.keys(wanted).length === 0) {
    throw invalidParam('memory_limit', `give at least one of ${resourceParamNames.join(', ')}`);
  }
  return wanted;
};

/** A limit below its request is refused by the API server; Cairn refuses it first, naming the param. */
export const assertLimitNotBelowRequest = (
  resources: { limits?: Record<string, string>; requests?: Record<string, string> },
  blame: (resource: 'memory' | 'cpu', field: 'limits' | 'requests') => string,
): void => {
  for (const resource of ['memory', 'cpu'] as const) {
    const limit = resources.limits?.[resource];
    const request = resources.requests?.[resource];
    if (limit !== undefined && request !== undefined && compareQuantities(limit, request) < 0) {
      const limitParam = blame(resource, 'limits');
      throw unsafe(
        limitParam,
        `${resource} limit ${limit} would be below its request ${request}: a limit cannot be less than the request`,
      );
    }
  }
};

export const pickContainer = (
  template: k8s.V1PodTemplateSpec | undefined,
  params: ActionParams,
  target: ResourceRef,
) => {
  const containers = template?.spec?.containers ?? [];
  const named = optionalParam(params, 'container');
  if (named !== undefined) {
    const container = containers.find((c) => c.name === named);
    if (!container) {
      throw invalidParam(
        'container',
        `${display(target)} has no container "${named}" (it has ${containers.map((c) => c.name).join(', ')})`,
      );
    }
    return container;
  }
  if (containers.length !== 1) {
    throw invalidParam('container', `${display(target)} has ${containers.length} containers: name one`);
  }
  return containers[0] as k8s.V1Container;
};

/** The container's resources once the requested values are applied. */
export const mergedResources = (
  current: k8s.V1ResourceRequirements | undefined,
  wanted: Partial<Record<ResourceParam, string>>,
): { limits: Record<string, string>; requests: Record<string, string> } => {
  const limits: Record<string, string> = { ...(current?.limits ?? {}) };
  const requests: Record<string, string> = { ...(current?.requests ?? {}) };
  for (const [name, value] of Object.entries(wanted) as [ResourceParam, string][]) {
    const { resource, field } = ResourceParams[name];
    (field === 'limits' ? limits : requests)[resource] = value;
  }
  return { limits, requests };
};

export const blameFor =
  (wanted: Partial<Record<ResourceParam, string>>) =>
  (resource: 'memory' | 'cpu', field: 'limits' | 'requests'): string => {
    const limitParam = `${resource}_limit` as ResourceParam;
    const requestParam = `${resource}_request` as ResourceParam;
    // Name the param the caller gave: lowering a limit under an unchanged request blames the limit, and so on.
    if (wanted[limitParam] !== undefined) return limitParam;
    if (wanted[requestParam] !== undefined) return requestParam;
    return field === 'limits' ? limitParam : requestParam;
  };

export const adjustResources = defineAction({
  type: 'AdjustResources',
  targetKinds: ['Deployment'],
  destructive: false,
  describe: "Changes the CPU and memory requests and limits of one of the Deployment's containers (a rolling update).",
  params: {
    container: { description: 'the container to change; optional when the pod has only one' },
    memory_limit: { description: 'new memory limit, e.g. 512Mi' },
    memory_request: { description: 'new memory request, e.g. 256Mi' },
    cpu_limit: { description: 'new CPU limit, e.g. 500m' },
    cpu_request: { description: 'new CPU request, e.g. 250m' },
  },
  validate(params) {
    const wanted = requestedResources(params);
    const given = mergedResources({}, wanted);
    assertLimitNotBelowRequest(given, blameFor(wanted));
  },
  async execute({ clients, target, params }) {
    const wanted = requestedResources(params);
    const deployment = await readDeployment(clients, target);
    const container = pickContainer(deployment.spec?.template, params, target);
    const next = mergedResources(container.resources, wanted);
    assertLimitNotBelowRequest(next, blameFor(wanted));

    const limits: Record<string, string> = {};
    const requests: Record<string, string> = {};
    for (const [name, value] of Object.entries(wanted) as [ResourceParam, string][]) {
      const { resource, field } = ResourceParams[name];
      (field === 'limits' ? limits : requests)[resource] = value;
    }
    // Strategic merge: containers merge by name and resource maps by key, so nothing else is touched.
    await patchDeployment(
      clients,
      target,
      { spec: { template: { spec: { containers: [{ name: container.name, resources: { limits, requests } }] } } } },
      true,
    );
    const before = (name: ResourceParam) => {
      const { resource, field } = ResourceParams[name];
      return container.resources?.[field]?.[resource] ?? 'unset';
    };
    const changes = (Object.entries(wanted) as [ResourceParam, string][])
      .map(([name, value]) => `${name} ${before(name)} → ${value}`)
      .join(', ');
    return { detail: `set ${changes} on container ${container.name} of ${display(target)}`, touched: [target] };
  },
  async isDone({ clients, target, params }) {
    const wanted = requestedResources(params);
    const deployment = await readDeployment(clients, target);
    const container = pickContainer(deployment.spec?.template, params, target);
    return (Object.entries(wanted) as [ResourceParam, string][]).every(([name, value]) => {
      const { resource, field } = ResourceParams[name];
      const current = container.resources?.[field]?.[resource];
      return current !== undefined && compareQuantities(current, value) === 0;
    });
  },
});

export const deploymentActions = [scaleDeployment, restartDeployment, rollbackDeployment, adjustResources] as const;
