import { isDeepStrictEqual } from 'node:util';
import { CairnError, ErrorCategory } from '../../domain/errors.ts';
import type { ActionCall, ResourceRef } from '../../domain/events/common.schema.ts';
import { type ActionClients, ActionFieldManager } from './action.ts';
import { display, isConflict, isNotFound, kube, kubeFailure, missing, readOptional } from './actionErrors.ts';
import { manifestRef, readManifest } from './config.actions.ts';
import { replacementName } from './job.actions.ts';
import { PatchAs } from './patchOptions.ts';
import { hpasTargeting } from './scaling.actions.ts';

/**
 * Before the first action, the state of everything the plan may change; after a failure, that state put back.
 * The snapshot is plain JSON because it travels in the SnapshotTaken event: a rollback after a restart reads it
 * from the event store, never from memory. Its secret-bearing values are sealed before it is recorded
 * (snapshotSealing.ts) and opened again before a restore; this module only ever sees them in the clear.
 */

/** One object as it was. `fields` maps a dotted path to its value; a path absent from `fields` was absent. */
export interface CapturedObject {
  readonly kind: string;
  readonly apiVersion: string;
  readonly name: string;
  readonly namespace: string;
  /** False when the object did not exist yet (a manifest the plan applies): restoring deletes it. */
  readonly existed: boolean;
  readonly resourceVersion?: string;
  readonly fields: Readonly<Record<string, unknown>>;
}

export interface Snapshot {
  readonly target: ResourceRef;
  /** The target's resourceVersion when captured. */
  readonly resourceVersion?: string;
  /** By `kind/namespace/name`. */
  readonly captured: Readonly<Record<string, CapturedObject>>;
}

type Json = Record<string, unknown>;

interface KindAccess {
  readonly apiVersion: string;
  /** Restored paths. Only mutable fields: a Job's pod template, for one, cannot be written back. */
  readonly paths: readonly string[];
  /** False for kinds a restore never recreates: a Job made again would run again. */
  readonly recreatable?: boolean;
  /**
   * Restored in this order: configuration, then autoscalers (so an HPA still holding a plan's minReplicas cannot
   * scale a workload that was just put back), then workloads, then nodes.
   */
  readonly rank: number;
  read(clients: ActionClients, name: string, namespace: string): Promise<Json>;
  patch(clients: ActionClients, name: string, namespace: string, ops: readonly object[]): Promise<unknown>;
  create(clients: ActionClients, namespace: string, body: Json): Promise<unknown>;
  remove(clients: ActionClients, name: string, namespace: string): Promise<unknown>;
}

/** Raw JSON for an API group through CustomObjectsApi: no typed model drops a field the client does not know. */
const grouped = (
  group: string,
  version: string,
  plural: string,
  paths: readonly string[],
  rank: number,
): KindAccess => ({
  apiVersion: `${group}/${version}`,
  paths,
  rank,
  read: async (clients, name, namespace) =>
    (await clients.custom.getNamespacedCustomObject({ group, version, plural, name, namespace })) as Json,
  patch: (clients, name, namespace, ops) =>
    clients.custom.patchNamespacedCustomObject(
      { group, version, plural, name, namespace, body: ops, fieldManager: ActionFieldManager },
      PatchAs.json,
    ),
  create: (clients, namespace, body) =>
    clients.custom.createNamespacedCustomObject({
      group,
      version,
      plural,
      namespace,
      body,
      fieldManager: ActionFieldManager,
    }),
  // Background: a Job deleted without it would orphan its pods.
  remove: (clients, name, namespace) =>
    clients.custom.deleteNamespacedCustomObject({
      group,
      version,
      plural,
      name,
      namespace,
      propagationPolicy: 'Background',
    }),
});

/** Core kinds have no group for CustomObjectsApi; their typed models are stable, and JSON keeps their keys. */
const plain = (value: unknown): Json => JSON.parse(JSON.stringify(value)) as Json;

export const SnapshotKinds: Readonly<Record<string, KindAccess>> = {
  ConfigMap: {
    apiVersion: 'v1',
    paths: ['data', 'binaryData'],
    rank: 0,
    read: async (clients, name, namespace) => plain(await clients.core.readNamespacedConfigMap({ name, namespace })),
    patch: (clients, name, namespace, ops) =>
      clients.core.patchNamespacedConfigMap(
        { name, namespace, body: ops, fieldManager: ActionFieldManager },
        PatchAs.json,
      ),
    create: (clients, namespace, body) => clients.core.createNamespacedConfigMap({ namespace, body }),
    remove: (clients, name, namespace) => clients.core.deleteNamespacedConfigMap({ name, namespace }),
  },
  // RotateSecret's target: only the data is put back (stringData is write-only, type and immutable are fixed).
  Secret: {
    apiVersion: 'v1',
    paths: ['data'],
    rank: 0,
    read: async (clients, name, namespace) => plain(await clients.core.readNamespacedSecret({ name, namespace })),
    patch: (clients, name, namespace, ops) =>
      clients.core.patchNamespacedSecret(
        { name, namespace, body: ops, fieldManager: ActionFieldManager },
        PatchAs.json,
      ),
    create: (clients, namespace, body) => clients.core.createNamespacedSecret({ namespace, body }),
    remove: (clients, name, namespace) => clients.core.deleteNamespacedSecret({ name, namespace }),
  },
  Service: {
    apiVersion: 'v1',
    paths: ['spec'],
    rank: 0,
    read: async (clients, name, namespace) => plain(await clients.core.readNamespacedService({ name, namespace })),
    patch: (clients, name, namespace, ops) =>
      clients.core.patchNamespacedService(
        { name, namespace, body: ops, fieldManager: ActionFieldManager },
        PatchAs.json,
      ),
    create: (clients, namespace, body) => clients.core.createNamespacedService({ namespace, body }),
    remove: (clients, name, namespace) => clients.core.deleteNamespacedService({ name, namespace }),
  },
  Ingress: grouped('networking.k8s.io', 'v1', 'ingresses', ['spec'], 0),
  NetworkPolicy: grouped('networking.k8s.io', 'v1', 'networkpolicies', ['spec'], 0),
  PodDisruptionBudget: grouped('policy', 'v1', 'poddisruptionbudgets', ['spec'], 0),
  HorizontalPodAutoscaler: grouped('autoscaling', 'v2', 'horizontalpodautoscalers', ['spec'], 1),
  Deployment: grouped('apps', 'v1', 'deployments', ['spec'], 2),
  StatefulSet: grouped('apps', 'v1', 'statefulsets', ['spec'], 2),
  DaemonSet: grouped('apps', 'v1', 'daemonsets', ['spec'], 2),
  CronJob: grouped('batch', 'v1', 'cronjobs', ['spec'], 2),
  Job: {
    ...grouped(
      'batch',
      'v1',
      'jobs',
      ['spec.suspend', 'spec.parallelism', 'spec.activeDeadlineSeconds', 'spec.backoffLimit'],
      2,
    ),
    recreatable: false,
  },
  Node: {
    apiVersion: 'v1',
    // Only what cordon and drain change: the node controller owns the taints.
    paths: ['spec.unschedulable'],
    rank: 3,
    read: async (clients, name) => plain(await clients.core.readNode({ name })),
    patch: (clients, name, _namespace, ops) =>
      clients.core.patchNode({ name, body: ops, fieldManager: ActionFieldManager }, PatchAs.json),
    create: () => Promise.reject(new Error('a Node is not recreated from a snapshot')),
    remove: () => Promise.reject(new Error('a Node is not deleted by a restore')),
  },
};

const keyOf = (ref: ResourceRef): string => `${ref.kind}/${ref.namespace}/${ref.name}`;

const segments = (path: string): string[] => path.split('.');

const getPath = (object: unknown, path: string): unknown =>
  segments(path).reduce<unknown>(
    (value, key) => (value !== null && typeof value === 'object' ? (value as Json)[key] : undefined),
    object,
  );

/** JSON Pointer, escaped as RFC 6901 says. */
const pointer = (path: string): string =>
  `/${segments(path)
    .map((s) => s.replaceAll('~', '~0').replaceAll('/', '~1'))
    .join('/')}`;

async function capture(
  clients: ActionClients,
  ref: ResourceRef,
  options: { absentAllowed: boolean },
): Promise<CapturedObject | undefined> {
  const access = SnapshotKinds[ref.kind];
  if (!access) return undefined;
  let object: Json;
  try {
    object = await access.read(clients, ref.name, ref.namespace);
  } catch (error) {
    if (!isNotFound(error)) throw kubeFailure(error, `capturing ${display(ref)}`);
    if (!options.absentAllowed) return undefined;
    return {
      kind: ref.kind,
      apiVersion: access.apiVersion,
      name: ref.name,
      namespace: ref.namespace,
      existed: false,
      fields: {},
    };
  }
  const fields: Record<string, unknown> = {};
  for (const path of access.paths) {
    const value = getPath(object, path);
    if (value !== undefined) fields[path] = structuredClone(value);
  }
  const resourceVersion = (object.metadata as Json | undefined)?.resourceVersion;
  return {
    kind: ref.kind,
    apiVersion: access.apiVersion,
    name: ref.name,
    namespace: ref.namespace,
    existed: true,
    ...(typeof resourceVersion === 'string' ? { resourceVersion } : {}),
    fields,
  };
}

const objectName = /^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/;

/** The objects an action names in its params (beyond the target), and whether it may create them. */
async function namedBy(
  clients: ActionClients,
  action: ActionCall,
  target: ResourceRef,
): Promise<{ ref: ResourceRef; absentAllowed: boolean }[]> {
  const at = (kind: string, name: string | undefined, namespace = target.namespace) =>
    name !== undefined && objectName.test(name) ? [{ ref: { kind, name, namespace }, absentAllowed: false }] : [];
  const { params } = action;
  switch (action.type) {
    case 'PatchConfig':
      return at('ConfigMap', params.configmap);
    case 'RotateSecret':
      return at('Secret', params.secret);
    case 'AdjustHPA':
      if (params.hpa) return at('HorizontalPodAutoscaler', params.hpa);
      return (await hpasTargeting(clients, target)).flatMap((h) => at('HorizontalPodAutoscaler', h.metadata?.name));
    case 'CordonNode':
    case 'UncordonNode':
    case 'DrainNode':
    case 'CordonAndDeleteDaemonSetPod':
      return at('Node', params.node ?? (target.kind === 'Node' ? target.name : undefined), '');
    case 'UpdateIngress':
      return at('Ingress', params.ingress);
    case 'PatchNetworkPolicy':
      return at('NetworkPolicy', params.networkPolicy);
    case 'RetryJob':
    case 'AdjustJobResources': {
      // The Job that replaces the target, so a rollback deletes it again.
      if (target.kind !== 'Job') return [];
      const job = await readOptional('reading the Job', () =>
        clients.batch.readNamespacedJob({ name: target.name, namespace: target.namespace }),
      );
      const name = job ? replacementName(job) : undefined;
      return name ? [{ ref: { kind: 'Job', name, namespace: target.namespace }, absentAllowed: true }] : [];
    }
    case 'ApplyManifest': {
      // A manifest that does not parse fails its action; there is nothing of it to capture.
      const manifest = await readManifest(clients, target.namespace, params).catch(() => undefined);
      return manifest ? [{ ref: manifestRef(manifest), absentAllowed: true }] : [];
    }
    default:
      return [];
  }
}

/**
 * Captures the target, the HPAs that scale it, and every object the actions name. A missing target fails the
 * snapshot (NotFound): there is nothing to protect, and nothing to act on either.
 */
export async function takeSnapshot(
  clients: ActionClients,
  target: ResourceRef,
  actions: readonly ActionCall[] = [],
): Promise<Snapshot> {
  const wanted: { ref: ResourceRef; absentAllowed: boolean }[] = [];
  if (SnapshotKinds[target.kind]) wanted.push({ ref: target, absentAllowed: false });
  if (target.kind === 'Deployment' || target.kind === 'StatefulSet') {
    for (const hpa of await hpasTargeting(clients, target)) {
      wanted.push({
        ref: { kind: 'HorizontalPodAutoscaler', name: hpa.metadata?.name ?? '', namespace: target.namespace },
        absentAllowed: false,
      });
    }
  }
  for (const action of actions) wanted.push(...(await namedBy(clients, action, target)));

  const captured: Record<string, CapturedObject> = {};
  for (const { ref, absentAllowed } of wanted) {
    if (Object.hasOwn(captured, keyOf(ref))) continue;
    const object = await capture(clients, ref, { absentAllowed });
    if (object) captured[keyOf(ref)] = object;
  }
  const own = captured[keyOf(target)];
  if (SnapshotKinds[target.kind] && !own)
    throw missing('target', `cannot snapshot ${display(target)}: it does not exist`);
  return {
    target,
    ...(own?.resourceVersion === undefined ? {} : { resourceVersion: own.resourceVersion }),
    captured,
  };
}

const isCaptured = (value: unknown): value is CapturedObject => {
  const v = value as Partial<CapturedObject> | null;
  return (
    typeof v === 'object' &&
    v !== null &&
    typeof v.kind === 'string' &&
    typeof v.name === 'string' &&
    typeof v.namespace === 'string' &&
    typeof v.existed === 'boolean' &&
    typeof v.fields === 'object' &&
    v.fields !== null
  );
};

/** The JSON Patch that turns `current` back into the captured state; empty when nothing changed. */
export const restoreOps = (access: KindAccess, captured: CapturedObject, current: Json): object[] => {
  const ops: object[] = [];
  for (const path of access.paths) {
    const now = getPath(current, path);
    if (Object.hasOwn(captured.fields, path)) {
      const then = captured.fields[path];
      if (!isDeepStrictEqual(now, then)) ops.push({ op: 'add', path: pointer(path), value: then });
    } else if (now !== undefined) {
      ops.push({ op: 'remove', path: pointer(path) });
    }
  }
  return ops;
};

const MaxConflictRetries = 5;

async function restoreOne(clients: ActionClients, captured: CapturedObject): Promise<string> {
  const access = SnapshotKinds[captured.kind];
  const ref = { kind: captured.kind, name: captured.name, namespace: captured.namespace };
  if (!access) throw new Error(`${captured.kind} is not a kind Cairn restores`);
  for (let attempt = 1; ; attempt++) {
    let current: Json | undefined;
    try {
      current = await access.read(clients, captured.name, captured.namespace);
    } catch (error) {
      if (!isNotFound(error)) throw kubeFailure(error, `reading ${display(ref)}`);
    }
    if (!captured.existed) {
      if (current === undefined) return `${display(ref)} still absent`;
      await kube(`deleting ${display(ref)}`, () => access.remove(clients, captured.name, captured.namespace));
      return `deleted ${display(ref)}, which the plan created`;
    }
    if (current === undefined) {
      if (access.recreatable === false) {
        return `${display(ref)} was deleted and is not recreated (it would run again): still absent`;
      }
      const body: Json = {
        apiVersion: access.apiVersion,
        kind: captured.kind,
        metadata: { name: captured.name, namespace: captured.namespace },
      };
      for (const [path, value] of Object.entries(captured.fields)) setPath(body, path, value);
      await kube(`recreating ${display(ref)}`, () => access.create(clients, captured.namespace, body));
      return `recreated ${display(ref)}`;
    }
    const ops = restoreOps(access, captured, current);
    if (ops.length === 0) return `${display(ref)} unchanged`;
    const resourceVersion = (current.metadata as Json | undefined)?.resourceVersion;
    try {
      // Writing the resourceVersion read makes the patch conditional: a concurrent write means read again.
      await access.patch(clients, captured.name, captured.namespace, [
        { op: 'replace', path: '/metadata/resourceVersion', value: resourceVersion },
        ...ops,
      ]);
      return `restored ${ops.map((o) => (o as { path: string }).path.slice(1).replaceAll('/', '.')).join(', ')} of ${display(ref)}`;
    } catch (error) {
      if (isConflict(error) && attempt < MaxConflictRetries) continue;
      throw kubeFailure(error, `restoring ${display(ref)}`);
    }
  }
}

const setPath = (object: Json, path: string, value: unknown): void => {
  const keys = segments(path);
  let node = object;
  for (const key of keys.slice(0, -1)) {
    if (typeof node[key] !== 'object' || node[key] === null) node[key] = {};
    node = node[key] as Json;
  }
  node[keys.at(-1) as string] = value;
};

export interface RestoreResult {
  readonly detail: string;
  readonly restored: readonly ResourceRef[];
}

/**
 * Puts every captured object back, each with its current resourceVersion. A Deployment's template going back
 * is an ordinary rollout to the old ReplicaSet. Every object is attempted; if any fails, the error lists them all.
 */
export async function restoreSnapshot(
  clients: ActionClients,
  snapshot: { readonly target: ResourceRef; readonly captured: Readonly<Record<string, unknown>> },
): Promise<RestoreResult> {
  const entries = Object.values(snapshot.captured);
  const malformed = entries.filter((entry) => !isCaptured(entry));
  if (malformed.length > 0) {
    throw new CairnError(
      'snapshot.malformed',
      ErrorCategory.Internal,
      `the snapshot of ${display(snapshot.target)} has ${malformed.length} malformed entries`,
    );
  }
  const objects = (entries as CapturedObject[]).sort(
    (a, b) => (SnapshotKinds[a.kind]?.rank ?? 9) - (SnapshotKinds[b.kind]?.rank ?? 9),
  );
  const done: string[] = [];
  const failed: string[] = [];
  const restored: ResourceRef[] = [];
  for (const object of objects) {
    try {
      const line = await restoreOne(clients, object);
      done.push(line);
      if (!line.endsWith('unchanged') && !line.endsWith('still absent')) {
        restored.push({ kind: object.kind, name: object.name, namespace: object.namespace });
      }
    } catch (error) {
      failed.push(error instanceof Error ? error.message : String(error));
    }
  }
  if (failed.length > 0) {
    throw new CairnError(
      'snapshot.restore_failed',
      ErrorCategory.Transient,
      `restore of ${display(snapshot.target)} incomplete: ${failed.join('; ')}${done.length ? ` (done: ${done.join('; ')})` : ''}`,
      { details: { failed, done } },
    );
  }
  return { detail: done.length ? done.join('; ') : 'nothing was captured', restored };
}
