import type * as k8s from '@kubernetes/client-node';
import { CairnError, ErrorCategory } from '../../domain/errors.ts';
import type { ResourceRef } from '../../domain/events/common.schema.ts';
import { type ActionClients, ActionFieldManager, type ActionParams, AnyKind } from './action.ts';
import { ActionErrorCode, apiMessage, invalidParam, kube, statusCode, unsafe } from './actionErrors.ts';
import { defineAction, intParam, nameParam } from './actionParams.ts';
import { PatchAs } from './patchOptions.ts';
import { isTerminating } from './workloadPods.ts';

const nodeRef = (name: string): ResourceRef => ({ kind: 'Node', name, namespace: '' });

/** The node: named by `node`, or the target when the target is one. */
const nodeName = (params: ActionParams, target: ResourceRef): string => {
  const named = nameParam(params, 'node') ?? (target.kind === 'Node' ? target.name : undefined);
  if (named === undefined) throw invalidParam('node', `is required when the target is a ${target.kind}`);
  return named;
};

const nodeParams = { node: { description: 'the node; optional when the target is the Node' } } as const;

export const readNode = (clients: ActionClients, name: string) =>
  kube(`reading node ${name}`, () => clients.core.readNode({ name }));

const isNodeReady = (node: k8s.V1Node): boolean =>
  (node.status?.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True');

export const setUnschedulable = (clients: ActionClients, name: string, unschedulable: boolean) =>
  kube(`${unschedulable ? 'cordoning' : 'uncordoning'} node ${name}`, () =>
    clients.core.patchNode(
      // null removes the field, which is how an uncordoned node looks after kubectl uncordon.
      { name, body: { spec: { unschedulable: unschedulable ? true : null } }, fieldManager: ActionFieldManager },
      PatchAs.merge,
    ),
  );

/** Cordoning the last schedulable, ready node would leave nowhere for any replacement pod to go. */
export async function assertNotLastSchedulable(clients: ActionClients, name: string): Promise<void> {
  const nodes = await kube('listing nodes', () => clients.core.listNode());
  const others = nodes.items.filter((n) => n.metadata?.name !== name && !n.spec?.unschedulable && isNodeReady(n));
  if (others.length === 0) {
    throw unsafe('node', `${name} is the last schedulable ready node: cordoning it leaves nowhere to run pods`);
  }
}

export const cordonNode = defineAction({
  type: 'CordonNode',
  targetKinds: [AnyKind],
  destructive: false,
  describe: 'Marks a node unschedulable; its pods keep running.',
  params: nodeParams,
  validate: (params, target) => void nodeName(params, target),
  async execute({ clients, target, params }) {
    const name = nodeName(params, target);
    const node = await readNode(clients, name);
    if (node.spec?.unschedulable) return { detail: `node ${name} was already cordoned`, touched: [] };
    await assertNotLastSchedulable(clients, name);
    await setUnschedulable(clients, name, true);
    return { detail: `cordoned node ${name}`, touched: [nodeRef(name)] };
  },
  async isDone({ clients, target, params }) {
    return (await readNode(clients, nodeName(params, target))).spec?.unschedulable === true;
  },
});

export const uncordonNode = defineAction({
  type: 'UncordonNode',
  targetKinds: [AnyKind],
  destructive: false,
  describe: 'Makes a cordoned node schedulable again.',
  params: nodeParams,
  validate: (params, target) => void nodeName(params, target),
  async execute({ clients, target, params }) {
    const name = nodeName(params, target);
    const node = await readNode(clients, name);
    if (!node.spec?.unschedulable) return { detail: `node ${name} was already schedulable`, touched: [] };
    await setUnschedulable(clients, name, false);
    return { detail: `uncordoned node ${name}`, touched: [nodeRef(name)] };
  },
  async isDone({ clients, target, params }) {
    return (await readNode(clients, nodeName(params, target))).spec?.unschedulable !== true;
  },
});

// --- DrainNode -------------------------------------------------------------------------------------------------

const MirrorAnnotation = 'kubernetes.io/config.mirror';
const DefaultDrainSeconds = 30;

const podName = (pod: k8s.V1Pod) => `${pod.metadata?.namespace}/${pod.metadata?.name}`;
const controllerOf = (pod: k8s.V1Pod) => pod.metadata?.ownerReferences?.find((o) => o.controller);

export type DrainClass = 'evict' | 'skip-daemonset' | 'skip-mirror' | 'skip-terminating' | 'unmanaged';

/** What a drain does with each pod, as kubectl drain --ignore-daemonsets does without --force. */
export const drainClass = (pod: k8s.V1Pod): DrainClass => {
  if (isTerminating(pod)) return 'skip-terminating';
  if (pod.metadata?.annotations?.[MirrorAnnotation] !== undefined) return 'skip-mirror';
  const controller = controllerOf(pod);
  if (controller?.kind === 'DaemonSet') return 'skip-daemonset';
  const finished = pod.status?.phase === 'Succeeded' || pod.status?.phase === 'Failed';
  // A pod without a controller is lost for good when evicted; a finished one has nothing left to lose.
  if (!controller && !finished) return 'unmanaged';
  return 'evict';
};

export const podsOnNode = async (clients: ActionClients, node: string): Promise<k8s.V1Pod[]> =>
  (
    await kube(`listing the pods on node ${node}`, () =>
      clients.core.listPodForAllNamespaces({ fieldSelector: `spec.nodeName=${node}` }),
    )
  ).items;

/** The PDBs that cover a pod, for a refusal that says which budget held it. */
async function budgetsFor(clients: ActionClients, pod: k8s.V1Pod): Promise<string[]> {
  const namespace = pod.metadata?.namespace ?? '';
  const labels = pod.metadata?.labels ?? {};
  const list = await clients.policy.listNamespacedPodDisruptionBudget({ namespace }).catch(() => ({ items: [] }));
  return list.items
    .filter((pdb) => {
      const match = pdb.spec?.selector?.matchLabels ?? {};
      return Object.keys(match).length > 0 && Object.entries(match).every(([k, v]) => labels[k] === v);
    })
    .map((pdb) => `PodDisruptionBudget ${namespace}/${pdb.metadata?.name}`);
}

type EvictionOutcome = { ok: true } | { ok: false; retry: boolean; reason: string };

async function evict(clients: ActionClients, pod: k8s.V1Pod): Promise<EvictionOutcome> {
  const name = pod.metadata?.name ?? '';
  const namespace = pod.metadata?.namespace ?? '';
  try {
    await clients.core.createNamespacedPodEviction({
      name,
      namespace,
      body: { apiVersion: 'policy/v1', kind: 'Eviction', metadata: { name, namespace } },
    });
    return { ok: true };
  } catch (error) {
    const status = statusCode(error);
    if (status === 404) return { ok: true };
    // 429: a PodDisruptionBudget allows no disruption right now; it may once a replacement is ready elsewhere.
    if (status === 429) return { ok: false, retry: true, reason: apiMessage(error) };
    return { ok: false, retry: false, reason: apiMessage(error) };
  }
}

const drainSeconds = (params: ActionParams): number =>
  intParam(params, 'timeoutSeconds', { min: 0, max: 600 }) ?? DefaultDrainSeconds;

export const drainNode = defineAction({
  type: 'DrainNode',
  targetKinds: [AnyKind],
  destructive: true,
  describe:
    'Cordons a node, then evicts its pods through the Eviction API so PodDisruptionBudgets hold ' +
    '(DaemonSet and mirror pods stay; pods without a controller are not evicted). Fails, naming them, when pods remain.',
  params: {
    ...nodeParams,
    timeoutSeconds: {
      description: `how long to retry evictions a PodDisruptionBudget refuses (default ${DefaultDrainSeconds})`,
    },
  },
  validate(params, target) {
    nodeName(params, target);
    drainSeconds(params);
  },
  async execute({ clients, target, params }) {
    const name = nodeName(params, target);
    const deadline = Date.now() + drainSeconds(params) * 1000;
    const node = await readNode(clients, name);
    if (!node.spec?.unschedulable) {
      await assertNotLastSchedulable(clients, name);
      await setUnschedulable(clients, name, true);
    }
    const pods = await podsOnNode(clients, name);
    const unmanaged = pods.filter((p) => drainClass(p) === 'unmanaged');
    let pending = pods.filter((p) => drainClass(p) === 'evict');
    const evicted: string[] = [];
    const refused = new Map<string, string>();
    for (;;) {
      const retry: k8s.V1Pod[] = [];
      for (const pod of pending) {
        const outcome = await evict(clients, pod);
        if (outcome.ok) {
          evicted.push(podName(pod));
          refused.delete(podName(pod));
        } else {
          refused.set(podName(pod), outcome.reason);
          if (outcome.retry) retry.push(pod);
        }
      }
      pending = retry;
      if (pending.length === 0 || Date.now() >= deadline) break;
      await new Promise((resolve) => setTimeout(resolve, Math.min(2_000, Math.max(0, deadline - Date.now()))));
    }

    const touched = [nodeRef(name), ...evicted.map((p) => podRefOf(p))];
    const summary = `cordoned node ${name} and evicted ${evicted.length} pod(s)${evicted.length ? ` (${evicted.join(', ')})` : ''}`;
    if (refused.size === 0 && unmanaged.length === 0) return { detail: summary, touched };

    const blocked: string[] = [];
    for (const pod of pods.filter((p) => refused.has(podName(p)))) {
      const budgets = await budgetsFor(clients, pod);
      blocked.push(`${podName(pod)}: ${refused.get(podName(pod))}${budgets.length ? ` (${budgets.join(', ')})` : ''}`);
    }
    for (const pod of unmanaged)
      blocked.push(`${podName(pod)}: no controller would recreate it, so it was not evicted`);
    throw new CairnError(
      ActionErrorCode.Incomplete,
      ErrorCategory.Conflict,
      `${summary}; could not evict ${blocked.length} pod(s): ${blocked.join('; ')}`,
      { details: { node: name, evicted, blocked, touched } },
    );
  },
  async isDone({ clients, target, params }) {
    const name = nodeName(params, target);
    const node = await readNode(clients, name);
    if (!node.spec?.unschedulable) return false;
    return (await podsOnNode(clients, name)).every((p) => drainClass(p) !== 'evict');
  },
});

const podRefOf = (qualified: string): ResourceRef => {
  const [namespace = '', name = ''] = qualified.split('/');
  return { kind: 'Pod', name, namespace };
};

export const nodeActions = [cordonNode, uncordonNode, drainNode] as const;
