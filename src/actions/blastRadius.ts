import type * as k8s from '@kubernetes/client-node';
import type { ActionSpec, ResourceRef } from '../../domain/events/common.schema.ts';
import type { ActionClients } from './action.ts';
import { display, kube, readOptional } from './actionErrors.ts';
import { ResourceActions, ScaleActions } from './envelope.ts';
import { drainClass, podsOnNode } from './node.actions.ts';
import { choosePod } from './pod.actions.ts';
import { parseQuantity } from './quantity.ts';
import { isPodReady, isTerminating } from './workloadPods.ts';

/**
 * What one action of a plan would do to the pods around it, computed before the plan runs: the pods it takes down,
 * the PodDisruptionBudgets that would then be short, the Services left with no ready endpoint, and the
 * ResourceQuotas a scale-up or a resource raise would overflow. `assessBlastRadius` is pure; `observeBlastRadius`
 * reads its inputs from the cluster.
 */

/**
 * refuse: an action that would violate a PodDisruptionBudget or empty a Service is refused (approve mode: it waits
 * for people); approve: it waits for people in every mode; off: nothing is assessed. Quota overflows are refused
 * unless off.
 */
export const DisruptionGuard = { Off: 'off', Refuse: 'refuse', Approve: 'approve' } as const;
export type DisruptionGuard = (typeof DisruptionGuard)[keyof typeof DisruptionGuard];
export const disruptionGuardModes: readonly DisruptionGuard[] = Object.values(DisruptionGuard);

/** Parses `--disruption-guard`; a value that is not a mode is named in the error. */
export const parseDisruptionGuard = (value: string): DisruptionGuard => {
  const choice = value.trim();
  if (!(disruptionGuardModes as readonly string[]).includes(choice)) {
    throw new Error(`--disruption-guard: "${value}" is not one of ${disruptionGuardModes.join(', ')}`);
  }
  return choice as DisruptionGuard;
};

export interface PodFact {
  readonly namespace: string;
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly ready: boolean;
}

export interface PdbFact {
  readonly namespace: string;
  readonly name: string;
  /** Undefined: the budget selects no pod (policy/v1: a null selector); `{}` selects every pod of the namespace. */
  readonly selector?: k8s.V1LabelSelector;
  readonly disruptionsAllowed: number;
  readonly currentHealthy: number;
  readonly desiredHealthy: number;
}

export interface ServiceFact {
  readonly namespace: string;
  readonly name: string;
  /** Services without a selector have endpoints Cairn cannot see; they are not judged. */
  readonly selector: Readonly<Record<string, string>>;
}

export interface QuotaFact {
  readonly namespace: string;
  readonly name: string;
  readonly hard: Readonly<Record<string, string>>;
  readonly used: Readonly<Record<string, string>>;
}

export interface ContainerResourcesFact {
  readonly name: string;
  readonly requests: Readonly<Record<string, string>>;
  readonly limits: Readonly<Record<string, string>>;
}

/**
 * How a rolling restart of the workload proceeds: at most `maxUnavailable` of its pods down at once, and at most
 * `maxSurge` new pods above the replica count while old ones still run. Counts, already resolved from percentages.
 */
export interface RolloutFact {
  readonly maxUnavailable: number;
  readonly maxSurge: number;
}

/** The action's target as a workload: its replicas, its pods (names) and its pod template's containers. */
export interface TargetFact {
  readonly replicas: number;
  readonly pods: readonly string[];
  readonly containers: readonly ContainerResourcesFact[];
  /** How its controller replaces pods; absent for a kind Cairn does not restart as a whole. */
  readonly rollout?: RolloutFact;
}

export interface BlastRadiusInputs {
  /** The live pods of every namespace an action reaches. */
  readonly pods: readonly PodFact[];
  readonly pdbs: readonly PdbFact[];
  readonly services: readonly ServiceFact[];
  /** Quotas of the target's namespace; scoped quotas are left out (their scope decides which pods they count). */
  readonly quotas: readonly QuotaFact[];
  readonly target?: TargetFact;
  /** Pods (`namespace/name`) an action takes down when the action itself chooses them (the sickest, a drain's). */
  readonly chosen?: readonly string[];
}

export interface PdbViolation {
  readonly namespace: string;
  readonly name: string;
  readonly disruptionsAllowed: number;
  /** Healthy pods the budget covers that the action takes down. */
  readonly podsTaken: number;
  readonly currentHealthy: number;
  readonly desiredHealthy: number;
}

export interface EmptiedService {
  readonly namespace: string;
  readonly name: string;
  /** Ready endpoints now; the action takes them all. */
  readonly readyEndpoints: number;
}

export interface QuotaOverflow {
  readonly namespace: string;
  readonly name: string;
  /** The quota's resource name: `pods`, `requests.cpu`, `limits.memory`, … */
  readonly resource: string;
  /** In base units (cores, bytes, count). */
  readonly used: number;
  readonly added: number;
  readonly hard: number;
}

export interface ActionBlastRadius {
  /** `namespace/name` of each pod the action takes down (deletes, evicts, restarts or scales away). */
  readonly pods: readonly string[];
  /** Scale actions: the target's replicas before and after. */
  readonly replicas?: { readonly before: number; readonly after: number };
  /**
   * Rolling restarts: pods down at the same time (the PodDisruptionBudgets and Services are judged on these) and
   * new pods above the replica count (counted against the quota).
   */
  readonly rollout?: { readonly podsDownAtOnce: number; readonly surgePods: number };
  readonly pdbViolations: readonly PdbViolation[];
  readonly servicesEmptied: readonly EmptiedService[];
  readonly quotaOverflows: readonly QuotaOverflow[];
}

/** The actions that take named or chosen pods down. */
const PodDeletions = new Set([
  'DeletePod',
  'DeleteStatefulSetPod',
  'ForceDeleteStatefulSetPod',
  'RecreateStatefulSetPVC',
  'DeleteDaemonSetPod',
  'CordonAndDeleteDaemonSetPod',
]);

/** Rolling restarts of a whole workload: every pod is replaced, a few at a time. */
const WorkloadRestarts = new Set(['RestartDeployment', 'RestartStatefulSet', 'RestartDaemonSet']);

/** Whether the action replaces every pod of its target by a rolling restart. */
export const isRollingRestart = (action: {
  readonly type: string;
  readonly params: Readonly<Record<string, string>>;
}) => WorkloadRestarts.has(action.type) || (action.type === 'RestartStatefulSetPod' && action.params.pod === undefined);

/** Whether an action has a blast radius beyond its pod count, so its inputs are worth reading. */
export const hasBlastRadius = (action: { readonly type: string; readonly params: Readonly<Record<string, string>> }) =>
  PodDeletions.has(action.type) ||
  action.type === 'RestartStatefulSetPod' ||
  isRollingRestart(action) ||
  action.type === 'DrainNode' ||
  ScaleActions.has(action.type) ||
  ResourceActions.has(action.type);

/** An int-or-percent rollout field as a pod count; percentages round as the controller rounds them. */
const resolveCount = (value: number | string | undefined, fallback: string, replicas: number, roundUp: boolean) => {
  const text = String(value ?? fallback).trim();
  const percent = /^(\d+)%$/.exec(text);
  if (percent) {
    const exact = (Number(percent[1]) * replicas) / 100;
    return roundUp ? Math.ceil(exact) : Math.floor(exact);
  }
  const count = Number(text);
  return Number.isInteger(count) && count >= 0 ? count : 0;
};

/** The rolling-update strategy of a workload, as its controller applies it. */
export interface RolloutStrategy {
  readonly type?: string;
  readonly rollingUpdate?: { readonly maxUnavailable?: number | string; readonly maxSurge?: number | string };
}

/**
 * How many pods a rolling restart takes down at once and adds above the replicas, per kind: a Deployment defaults
 * to 25% unavailable (rounded down) and 25% surge (rounded up) and takes every pod down at once with Recreate; a
 * StatefulSet replaces one pod at a time (or its maxUnavailable) with no surge; a DaemonSet defaults to one pod
 * down and no surge (its percentages round up). As the controllers do, a strategy that resolves to no unavailable
 * pod and no surge takes one pod down at a time.
 */
export const rolloutOf = (kind: string, strategy: RolloutStrategy | undefined, replicas: number): RolloutFact => {
  const rolling = strategy?.rollingUpdate;
  let maxUnavailable: number;
  let maxSurge: number;
  if (kind === 'Deployment') {
    if (strategy?.type === 'Recreate') return { maxUnavailable: replicas, maxSurge: 0 };
    maxUnavailable = resolveCount(rolling?.maxUnavailable, '25%', replicas, false);
    maxSurge = resolveCount(rolling?.maxSurge, '25%', replicas, true);
  } else if (kind === 'DaemonSet') {
    maxUnavailable = resolveCount(rolling?.maxUnavailable, '1', replicas, true);
    maxSurge = resolveCount(rolling?.maxSurge, '0', replicas, true);
  } else {
    maxUnavailable = resolveCount(rolling?.maxUnavailable, '1', replicas, false);
    maxSurge = 0;
  }
  if (maxUnavailable === 0 && maxSurge === 0) maxUnavailable = 1;
  return { maxUnavailable: Math.min(maxUnavailable, Math.max(replicas, 0)), maxSurge };
};

/** The key of an action's blast radius in PlanFacts: its type and params, so equal actions share one. */
export const blastRadiusKey = (action: { readonly type: string; readonly params: Readonly<Record<string, string>> }) =>
  `${action.type}${JSON.stringify(Object.entries(action.params).sort(([a], [b]) => a.localeCompare(b)))}`;

/** Label selector matching as the API server does it (matchLabels and matchExpressions, all must hold). */
export const selectorMatches = (selector: k8s.V1LabelSelector, labels: Readonly<Record<string, string>>): boolean =>
  Object.entries(selector.matchLabels ?? {}).every(([k, v]) => labels[k] === v) &&
  (selector.matchExpressions ?? []).every((e) => {
    const has = Object.hasOwn(labels, e.key);
    const value = labels[e.key];
    switch (e.operator) {
      case 'In':
        return has && (e.values ?? []).includes(value ?? '');
      case 'NotIn':
        return !has || !(e.values ?? []).includes(value ?? '');
      case 'Exists':
        return has;
      case 'DoesNotExist':
        return !has;
      default:
        return false;
    }
  });

const podKey = (pod: { namespace: string; name: string }) => `${pod.namespace}/${pod.name}`;

const amount = (text: string | undefined) => (text === undefined ? 0 : (parseQuantity(text) ?? 0));

const ResourceParams: Readonly<Record<string, { resource: 'cpu' | 'memory'; field: 'requests' | 'limits' }>> = {
  memory_limit: { resource: 'memory', field: 'limits' },
  memory_request: { resource: 'memory', field: 'requests' },
  cpu_limit: { resource: 'cpu', field: 'limits' },
  cpu_request: { resource: 'cpu', field: 'requests' },
};

/** What one pod of the template counts against a quota, per quota resource name. */
const podUsage = (containers: readonly ContainerResourcesFact[]): Record<string, number> => {
  const sum = (field: 'requests' | 'limits', resource: string) =>
    containers.reduce((t, c) => t + amount(c[field][resource]), 0);
  const requestsCpu = sum('requests', 'cpu');
  const requestsMemory = sum('requests', 'memory');
  return {
    pods: 1,
    cpu: requestsCpu,
    'requests.cpu': requestsCpu,
    memory: requestsMemory,
    'requests.memory': requestsMemory,
    'limits.cpu': sum('limits', 'cpu'),
    'limits.memory': sum('limits', 'memory'),
  };
};

/** The template's containers once a resource action's params are applied (the one named, or the only one). */
const adjusted = (containers: readonly ContainerResourcesFact[], params: Readonly<Record<string, string>>) => {
  const name = params.container ?? (containers.length === 1 ? containers[0]?.name : undefined);
  return containers.map((c) => {
    if (c.name !== name) return c;
    const requests = { ...c.requests };
    const limits = { ...c.limits };
    for (const [param, value] of Object.entries(params)) {
      const spec = ResourceParams[param];
      if (!spec) continue;
      (spec.field === 'limits' ? limits : requests)[spec.resource] = value;
    }
    return { name: c.name, requests, limits };
  });
};

const quotaOverflows = (quotas: readonly QuotaFact[], added: Readonly<Record<string, number>>): QuotaOverflow[] =>
  quotas.flatMap((q) =>
    Object.entries(q.hard).flatMap(([resource, hardText]) => {
      const more = added[resource] ?? 0;
      const hard = parseQuantity(hardText);
      if (more <= 0 || hard === undefined) return [];
      const used = amount(q.used[resource]);
      // Relative tolerance so 1Gi against 1073741824 bytes does not overflow by a rounding error.
      return used + more > hard * (1 + 1e-12)
        ? [{ namespace: q.namespace, name: q.name, resource, used, added: more, hard }]
        : [];
    }),
  );

/** The pods a scale-down removes: the ReplicaSet controller takes pods that are not ready first. */
const scaledAway = (target: TargetFact, pods: ReadonlyMap<string, PodFact>, namespace: string, count: number) =>
  [...target.pods]
    .map((name) => `${namespace}/${name}`)
    .sort((a, b) => Number(pods.get(a)?.ready ?? false) - Number(pods.get(b)?.ready ?? false) || b.localeCompare(a))
    .slice(0, count);

export function assessBlastRadius(
  action: ActionSpec,
  target: ResourceRef,
  inputs: BlastRadiusInputs,
): ActionBlastRadius {
  const byKey = new Map(inputs.pods.map((p) => [podKey(p), p]));
  let taken: string[] = [];
  // Rolling restarts: how many of the taken pods may be down at the same moment (the budgets and Services are
  // judged on those); every taken pod is down at once otherwise.
  let atOnce = Number.POSITIVE_INFINITY;
  let replicas: { before: number; after: number } | undefined;
  let rollout: { podsDownAtOnce: number; surgePods: number } | undefined;
  let added: Record<string, number> = {};
  if (isRollingRestart(action) && inputs.target) {
    const step = inputs.target.rollout ?? rolloutOf(target.kind, undefined, inputs.target.replicas);
    taken = inputs.target.pods.map((name) => `${target.namespace}/${name}`);
    atOnce = step.maxUnavailable;
    rollout = { podsDownAtOnce: Math.min(step.maxUnavailable, taken.length), surgePods: step.maxSurge };
    const usage = podUsage(inputs.target.containers);
    added = Object.fromEntries(Object.entries(usage).map(([k, v]) => [k, v * step.maxSurge]));
  } else if (ScaleActions.has(action.type) && inputs.target) {
    const before = inputs.target.replicas;
    const wanted = Number(action.params.replicas);
    const after = Number.isInteger(wanted) && wanted >= 0 ? wanted : before;
    replicas = { before, after };
    if (after < before) taken = scaledAway(inputs.target, byKey, target.namespace, before - after);
    if (after > before) {
      const usage = podUsage(inputs.target.containers);
      added = Object.fromEntries(Object.entries(usage).map(([k, v]) => [k, v * (after - before)]));
    }
  } else if (ResourceActions.has(action.type) && inputs.target) {
    const now = podUsage(inputs.target.containers);
    const next = podUsage(adjusted(inputs.target.containers, action.params));
    // Once rolled out, every replica counts its new requests and limits.
    added = Object.fromEntries(
      Object.entries(next).map(([k, v]) => [k, (v - (now[k] ?? 0)) * (k === 'pods' ? 0 : inputs.target!.replicas)]),
    );
  } else {
    taken = [...(inputs.chosen ?? [])];
  }
  const takenSet = new Set(taken);
  // Of these pods, how many the action has down at the same moment: every pod is replaced by a rolling restart, so
  // the worst moment takes as many of them together as the strategy allows.
  const downTogether = (pods: readonly PodFact[]) =>
    Math.min(atOnce, pods.filter((p) => takenSet.has(podKey(p))).length);
  const pdbViolations: PdbViolation[] = inputs.pdbs.flatMap((pdb) => {
    if (!pdb.selector) return [];
    const selector = pdb.selector;
    const podsTaken = downTogether(
      inputs.pods.filter((p) => p.namespace === pdb.namespace && p.ready && selectorMatches(selector, p.labels)),
    );
    return podsTaken > pdb.disruptionsAllowed
      ? [
          {
            namespace: pdb.namespace,
            name: pdb.name,
            disruptionsAllowed: pdb.disruptionsAllowed,
            podsTaken,
            currentHealthy: pdb.currentHealthy,
            desiredHealthy: pdb.desiredHealthy,
          },
        ]
      : [];
  });
  const servicesEmptied: EmptiedService[] = inputs.services.flatMap((service) => {
    if (Object.keys(service.selector).length === 0) return [];
    const ready = inputs.pods.filter(
      (p) =>
        p.namespace === service.namespace &&
        p.ready &&
        selectorMatches({ matchLabels: { ...service.selector } }, p.labels),
    );
    return ready.length > 0 && downTogether(ready) === ready.length
      ? [{ namespace: service.namespace, name: service.name, readyEndpoints: ready.length }]
      : [];
  });
  return {
    pods: taken,
    ...(replicas ? { replicas } : {}),
    ...(rollout ? { rollout } : {}),
    pdbViolations,
    servicesEmptied,
    quotaOverflows: quotaOverflows(
      inputs.quotas.filter((q) => q.namespace === target.namespace),
      added,
    ),
  };
}

const cores = (v: number) => (v < 1 ? `${Math.round(v * 1000)}m` : `${Number(v.toFixed(3))}`);
const mebibytes = (v: number) => `${Number((v / 2 ** 20).toFixed(1))}Mi`;
const quantity = (resource: string, v: number) =>
  resource.endsWith('memory') ? mebibytes(v) : resource.endsWith('cpu') ? cores(v) : `${v}`;

/** Why the action would disrupt more than the cluster's budgets allow, with the numbers; undefined when it would not. */
export const disruptionReason = (action: ActionSpec, radius: ActionBlastRadius): string | undefined => {
  const parts = [
    ...radius.pdbViolations.map(
      (v) =>
        `it takes down ${v.podsTaken} healthy pod(s) covered by PodDisruptionBudget ${v.namespace}/${v.name}, which allows ${v.disruptionsAllowed} disruption(s) (${v.currentHealthy} healthy, ${v.desiredHealthy} required)`,
    ),
    ...radius.servicesEmptied.map(
      (s) => `it leaves Service ${s.namespace}/${s.name} with no ready endpoint (${s.readyEndpoints} ready now)`,
    ),
  ];
  const rollout = radius.rollout
    ? ` (a rolling restart of ${radius.pods.length} pod(s), ${radius.rollout.podsDownAtOnce} down at once)`
    : '';
  return parts.length === 0 ? undefined : `${action.type}${rollout} would disrupt too much: ${parts.join('; ')}`;
};

/** Why the action would overflow a ResourceQuota, with the numbers; undefined when it would not. */
export const quotaReason = (action: ActionSpec, radius: ActionBlastRadius): string | undefined => {
  const parts = radius.quotaOverflows.map(
    (q) =>
      `ResourceQuota ${q.namespace}/${q.name} allows ${q.resource}=${quantity(q.resource, q.hard)}, ${quantity(q.resource, q.used)} is used and the action adds ${quantity(q.resource, q.added)}`,
  );
  const scale = radius.replicas
    ? ` (${radius.replicas.before} → ${radius.replicas.after} replicas)`
    : radius.rollout
      ? ` (${radius.rollout.surgePods} surge pod(s) during the rolling restart)`
      : '';
  return parts.length === 0 ? undefined : `${action.type}${scale} would exceed a quota: ${parts.join('; ')}`;
};

const podFact = (pod: k8s.V1Pod): PodFact => ({
  namespace: pod.metadata?.namespace ?? '',
  name: pod.metadata?.name ?? '',
  labels: pod.metadata?.labels ?? {},
  ready: isPodReady(pod),
});

const readTarget = async (clients: ActionClients, target: ResourceRef): Promise<TargetFact | undefined> => {
  const { name, namespace } = target;
  const readers: Record<string, () => Promise<k8s.V1Deployment | k8s.V1StatefulSet | k8s.V1DaemonSet>> = {
    Deployment: () => clients.apps.readNamespacedDeployment({ name, namespace }),
    StatefulSet: () => clients.apps.readNamespacedStatefulSet({ name, namespace }),
    DaemonSet: () => clients.apps.readNamespacedDaemonSet({ name, namespace }),
  };
  const read = Object.hasOwn(readers, target.kind) ? readers[target.kind] : undefined;
  if (!read) return undefined;
  const object = await readOptional(`reading ${display(target)}`, read);
  if (!object?.spec) return undefined;
  const selector = object.spec.selector;
  const pods = (
    await kube(`listing the pods of ${display(target)}`, () => clients.core.listNamespacedPod({ namespace }))
  ).items.filter((p) => !isTerminating(p) && selector && selectorMatches(selector, p.metadata?.labels ?? {}));
  const replicas =
    target.kind === 'DaemonSet' ? pods.length : ((object as k8s.V1Deployment | k8s.V1StatefulSet).spec?.replicas ?? 1);
  const spec = object.spec as { strategy?: RolloutStrategy; updateStrategy?: RolloutStrategy };
  return {
    replicas,
    rollout: rolloutOf(target.kind, spec.strategy ?? spec.updateStrategy, replicas),
    pods: pods.map((p) => p.metadata?.name ?? ''),
    containers: (object.spec.template.spec?.containers ?? []).map((c) => ({
      name: c.name,
      requests: c.resources?.requests ?? {},
      limits: c.resources?.limits ?? {},
    })),
  };
};

/**
 * Reads what `assessBlastRadius` needs for each action that has a blast radius and assesses it. A pod an action
 * would choose itself (DeletePod's sickest) is chosen the way the action chooses it. Unreadable lists are thrown
 * as the other plan facts are: a plan is not judged on half the numbers.
 */
export async function observeBlastRadius(
  clients: ActionClients,
  target: ResourceRef,
  actions: readonly ActionSpec[],
): Promise<Readonly<Record<string, ActionBlastRadius>>> {
  const relevant = actions.filter(hasBlastRadius);
  if (relevant.length === 0) return {};
  const chosen = new Map<string, string[]>();
  const namespaces = new Set(target.namespace === '' ? [] : [target.namespace]);
  for (const action of relevant) {
    const key = blastRadiusKey(action);
    if (chosen.has(key)) continue;
    if (action.type === 'DrainNode') {
      const node = action.params.node ?? (target.kind === 'Node' ? target.name : undefined);
      const pods = node === undefined ? [] : await podsOnNode(clients, node);
      const evicted = pods.filter((p) => drainClass(p) === 'evict').map((p) => podFact(p));
      for (const p of evicted) namespaces.add(p.namespace);
      chosen.set(key, evicted.map(podKey));
    } else if (
      (action.type === 'DeleteDaemonSetPod' || action.type === 'CordonAndDeleteDaemonSetPod') &&
      action.params.node !== undefined &&
      action.params.pod === undefined
    ) {
      const pods = (await podsOnNode(clients, action.params.node)).filter(
        (p) => p.metadata?.namespace === target.namespace && !isTerminating(p),
      );
      const targetFact = await readTarget(clients, target);
      const own = pods.filter((p) => targetFact?.pods.includes(p.metadata?.name ?? ''));
      chosen.set(
        key,
        own.map((p) => podKey(podFact(p))),
      );
    } else if (!ScaleActions.has(action.type) && !ResourceActions.has(action.type) && !isRollingRestart(action)) {
      // Deletion actions: the named pod, or the one the action would pick. A pod that cannot be chosen is the
      // action's own refusal to make when it runs; it takes nothing down here.
      const pod = await choosePod(clients, target, action.params).then(
        (c) => c.pod,
        () => undefined,
      );
      chosen.set(key, pod ? [podKey(podFact(pod))] : []);
    }
  }
  const needsTarget = relevant.some(
    (a) => ScaleActions.has(a.type) || ResourceActions.has(a.type) || isRollingRestart(a),
  );
  const targetFact = needsTarget ? await readTarget(clients, target) : undefined;
  const lists = await Promise.all(
    [...namespaces].map(async (namespace) => {
      const [pods, pdbs, services, quotas] = await Promise.all([
        kube(`listing the pods of namespace ${namespace}`, () => clients.core.listNamespacedPod({ namespace })),
        kube(`listing the PodDisruptionBudgets of namespace ${namespace}`, () =>
          clients.policy.listNamespacedPodDisruptionBudget({ namespace }),
        ),
        kube(`listing the Services of namespace ${namespace}`, () => clients.core.listNamespacedService({ namespace })),
        namespace === target.namespace
          ? kube(`listing the ResourceQuotas of namespace ${namespace}`, () =>
              clients.core.listNamespacedResourceQuota({ namespace }),
            )
          : Promise.resolve({ items: [] as k8s.V1ResourceQuota[] }),
      ]);
      return { pods: pods.items, pdbs: pdbs.items, services: services.items, quotas: quotas.items };
    }),
  );
  const base = {
    pods: lists.flatMap((l) => l.pods.filter((p) => !isTerminating(p)).map(podFact)),
    pdbs: lists.flatMap((l) =>
      l.pdbs.map(
        (p): PdbFact => ({
          namespace: p.metadata?.namespace ?? '',
          name: p.metadata?.name ?? '',
          ...(p.spec?.selector ? { selector: p.spec.selector } : {}),
          disruptionsAllowed: p.status?.disruptionsAllowed ?? 0,
          currentHealthy: p.status?.currentHealthy ?? 0,
          desiredHealthy: p.status?.desiredHealthy ?? 0,
        }),
      ),
    ),
    services: lists.flatMap((l) =>
      l.services.map(
        (s): ServiceFact => ({
          namespace: s.metadata?.namespace ?? '',
          name: s.metadata?.name ?? '',
          selector: s.spec?.selector ?? {},
        }),
      ),
    ),
    quotas: lists.flatMap((l) =>
      l.quotas
        .filter((q) => (q.spec?.scopes ?? []).length === 0 && q.spec?.scopeSelector === undefined)
        .map(
          (q): QuotaFact => ({
            namespace: q.metadata?.namespace ?? '',
            name: q.metadata?.name ?? '',
            hard: q.status?.hard ?? q.spec?.hard ?? {},
            used: q.status?.used ?? {},
          }),
        ),
    ),
    ...(targetFact ? { target: targetFact } : {}),
  };
  const result: Record<string, ActionBlastRadius> = {};
  for (const action of relevant) {
    const key = blastRadiusKey(action);
    if (Object.hasOwn(result, key)) continue;
    const picked = chosen.get(key);
    result[key] = assessBlastRadius(action, target, { ...base, ...(picked ? { chosen: picked } : {}) });
  }
  return result;
}
