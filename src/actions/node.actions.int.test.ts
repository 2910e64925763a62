import { randomBytes } from 'node:crypto';
import type * as k8s from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CairnError } from '../../domain/errors.ts';
import type { ResourceRef } from '../../domain/events/common.schema.ts';
import {
  createNamespace,
  deleteNamespace,
  deployment,
  eventually,
  isReady,
  type KubeClients,
  kubeClients,
  podsOf,
} from '../../test/support/kube.ts';
import { type ActionClients, createActionClients } from './action.ts';
import { observePlanFacts } from './policy.ts';
import { requireAction } from './registry.ts';
import { restoreSnapshot, takeSnapshot } from './snapshot.ts';

/**
 * Draining a shared node would evict other tests' pods, so this file brings its own KWOK node, tainted so that
 * only its own pods (which tolerate the taint and select the node) ever land there.
 */
let kube: KubeClients;
let clients: ActionClients;
let namespace: string;
const node = `cairn-drain-${randomBytes(3).toString('hex')}`;
const taint = { key: 'cairn.dev/test-node', value: node, effect: 'NoSchedule' } as const;
const nodeTarget: ResourceRef = { kind: 'Node', name: node, namespace: '' };

beforeAll(async () => {
  kube = kubeClients();
  clients = createActionClients(kube.config);
  namespace = await createNamespace(kube, 'actions-node');
  await kube.core.createNode({
    body: {
      metadata: {
        name: node,
        labels: { 'kubernetes.io/hostname': node, type: 'kwok' },
        annotations: { 'kwok.x-k8s.io/node': 'fake' },
      },
      spec: { taints: [taint] },
    },
  });
  await eventually('the test node to be Ready', async () =>
    (await kube.core.readNode({ name: node })).status?.conditions?.some(
      (c) => c.type === 'Ready' && c.status === 'True',
    ),
  );
});
afterAll(async () => {
  await kube.core.deleteNode({ name: node }).catch(() => undefined);
  await deleteNamespace(kube, namespace);
});

const pinned = (name: string, replicas: number): k8s.V1Deployment => {
  const body = deployment(name, { replicas });
  const spec = body.spec?.template.spec as k8s.V1PodSpec;
  spec.nodeSelector = { 'kubernetes.io/hostname': node };
  spec.tolerations = [{ key: taint.key, operator: 'Equal', value: taint.value, effect: taint.effect }];
  return body;
};

const run = async (type: string, target: ResourceRef, params: Record<string, string> = {}) => {
  const action = requireAction(type);
  action.check(params, target);
  return action.execute({ clients, target, params });
};

const unschedulable = async () => (await kube.core.readNode({ name: node })).spec?.unschedulable === true;

const readyOnNode = (app: string, count: number) =>
  eventually(`${count} ready pods of ${app} on ${node}`, async () => {
    const pods = await podsOf(kube, namespace, app);
    return pods.length === count && pods.every((p) => isReady(p) && p.spec?.nodeName === node) ? pods : undefined;
  });

describe('CordonNode and UncordonNode', () => {
  it('mark the node unschedulable and schedulable again; a snapshot restore undoes a cordon', async () => {
    const snapshot = await takeSnapshot(clients, nodeTarget, [{ type: 'CordonNode', params: {} }]);
    const cordoned = await run('CordonNode', nodeTarget);
    expect(cordoned).toEqual({ detail: `cordoned node ${node}`, touched: [nodeTarget] });
    expect(await unschedulable()).toBe(true);
    expect(await requireAction('CordonNode').isDone?.({ clients, target: nodeTarget, params: {} })).toBe(true);

    // A pod that must run there now waits.
    await kube.apps.createNamespacedDeployment({ namespace, body: pinned('waiting', 1) });
    await eventually('the pinned pod to be Pending', async () => {
      const [pod] = await podsOf(kube, namespace, 'waiting');
      return pod?.status?.conditions?.some((c) => c.type === 'PodScheduled' && c.reason === 'Unschedulable');
    });

    const again = await run('CordonNode', { kind: 'Deployment', name: 'waiting', namespace }, { node });
    expect(again).toEqual({ detail: `node ${node} was already cordoned`, touched: [] });

    const restored = await restoreSnapshot(clients, JSON.parse(JSON.stringify(snapshot)));
    expect(restored.detail).toBe(`restored spec.unschedulable of Node ${node}`);
    expect((await kube.core.readNode({ name: node })).spec?.unschedulable).toBeUndefined();
    await readyOnNode('waiting', 1);

    await run('CordonNode', nodeTarget);
    await run('UncordonNode', nodeTarget);
    expect(await unschedulable()).toBe(false);
    await kube.apps.deleteNamespacedDeployment({ name: 'waiting', namespace });
  });
});

describe('DrainNode', () => {
  it('cordons, evicts through the Eviction API, and names the pods a PodDisruptionBudget or no controller kept', async () => {
    await kube.apps.createNamespacedDeployment({ namespace, body: pinned('free', 2) });
    await kube.apps.createNamespacedDeployment({ namespace, body: pinned('guarded', 1) });
    await clients.policy.createNamespacedPodDisruptionBudget({
      namespace,
      body: { metadata: { name: 'guarded' }, spec: { minAvailable: 1, selector: { matchLabels: { app: 'guarded' } } } },
    });
    await kube.core.createNamespacedPod({
      namespace,
      body: {
        metadata: { name: 'loner', labels: { app: 'loner' } },
        spec: {
          nodeName: node,
          tolerations: [{ key: taint.key, operator: 'Equal', value: taint.value, effect: taint.effect }],
          containers: [{ name: 'app', image: 'registry.local/shop/tool:1' }],
        },
      },
    });
    const free = await readyOnNode('free', 2);
    const [guarded] = await readyOnNode('guarded', 1);
    await readyOnNode('loner', 1);
    await eventually('the PodDisruptionBudget to allow no disruption', async () => {
      const pdb = await clients.policy.readNamespacedPodDisruptionBudget({ name: 'guarded', namespace });
      return pdb.status?.currentHealthy === 1 && pdb.status.disruptionsAllowed === 0;
    });

    // The policy's numbers for this drain: the loner is not evicted, so it is not counted.
    const facts = await observePlanFacts(clients, nodeTarget, [{ actionId: 'd', type: 'DrainNode', params: {} }]);
    expect(facts.evictablePodsByNode?.[node]).toEqual([namespace, namespace, namespace]);

    let error: CairnError | undefined;
    try {
      await run('DrainNode', nodeTarget, { timeoutSeconds: '3' });
    } catch (e) {
      error = e as CairnError;
    }
    expect(error).toBeInstanceOf(CairnError);
    expect(error?.code).toBe('action.incomplete');
    expect(error?.category).toBe('Conflict');
    const guardedName = `${namespace}/${guarded?.metadata?.name}`;
    expect(error?.message).toMatch(new RegExp(`^cordoned node ${node} and evicted 2 pod\\(s\\)`));
    expect(error?.message).toContain(
      `could not evict 2 pod(s): ${guardedName}: Cannot evict pod as it would violate the pod's disruption budget.`,
    );
    expect(error?.message).toContain(`(PodDisruptionBudget ${namespace}/guarded)`);
    expect(error?.message).toContain(`${namespace}/loner: no controller would recreate it, so it was not evicted`);
    expect([...((error?.details.evicted as string[] | undefined) ?? [])].sort()).toEqual(
      free.map((p) => `${namespace}/${p.metadata?.name}`).sort(),
    );

    expect(await unschedulable()).toBe(true);
    await eventually('the free pods to be gone from the node', async () => {
      const left = (await podsOf(kube, namespace, 'free')).filter((p) => p.spec?.nodeName === node);
      return left.length === 0;
    });
    const [stillGuarded] = await podsOf(kube, namespace, 'guarded');
    expect(stillGuarded?.metadata?.uid).toBe(guarded?.metadata?.uid);
    expect(await requireAction('DrainNode').isDone?.({ clients, target: nodeTarget, params: {} })).toBe(false);

    // Uncordoned, the evicted workload comes back on the node.
    await run('UncordonNode', nodeTarget);
    await readyOnNode('free', 2);
  });
});
