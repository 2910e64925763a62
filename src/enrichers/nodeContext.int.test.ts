import { randomBytes } from 'node:crypto';
import type * as k8s from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createNamespace,
  deleteNamespace,
  deployment,
  eventually,
  isReady,
  type KubeClients,
  kubeClients,
  podsOf,
  testCluster,
} from '../../test/support/kube.ts';
import { applyFault } from '../cluster/faults.ts';
import type { LocalCluster } from '../cluster/localCluster.ts';
import { createKubernetesContextBuilder } from './kubernetesContext.ts';
import type { NodeKubernetesContext } from './nodeContext.render.ts';
import { createNodeContextBuilder, type NodeContextBuilder } from './nodeContext.ts';

/**
 * The faults change a node's conditions, and the node lifecycle controller taints it: this file brings its own KWOK
 * nodes, tainted so that only its own pods (which tolerate the taint and select the node) ever land there.
 */
let kube: KubeClients;
let cluster: LocalCluster;
let namespace: string;
let builder: NodeContextBuilder;
const suffix = randomBytes(3).toString('hex');
const pressured = `cairn-ctx-disk-${suffix}`;
const down = `cairn-ctx-down-${suffix}`;
const testTaint = (node: string) => ({ key: 'cairn.dev/test-node', value: node, effect: 'NoSchedule' }) as const;

const createNode = async (name: string) => {
  await kube.core.createNode({
    body: {
      metadata: {
        name,
        labels: { 'kubernetes.io/hostname': name, type: 'kwok' },
        annotations: { 'kwok.x-k8s.io/node': 'fake' },
      },
      spec: { taints: [testTaint(name)] },
    },
  });
  await eventually(`node ${name} to be Ready`, async () =>
    (await kube.core.readNode({ name })).status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'),
  );
};

const pinned = (name: string, node: string, replicas: number): k8s.V1Deployment => {
  const body = deployment(name, { replicas });
  const spec = body.spec?.template.spec as k8s.V1PodSpec;
  spec.nodeSelector = { 'kubernetes.io/hostname': node };
  const t = testTaint(node);
  // The pods stay through the fault: they tolerate the taints the fault brings, as a real incident's pods would
  // for the first minutes.
  spec.tolerations = [
    { key: t.key, operator: 'Equal', value: t.value, effect: t.effect },
    { operator: 'Exists', effect: 'NoExecute' },
    { key: 'node.kubernetes.io/disk-pressure', operator: 'Exists', effect: 'NoSchedule' },
  ];
  return body;
};

const readyOn = (app: string, node: string, count: number) =>
  eventually(`${count} ready pods of ${app} on ${node}`, async () => {
    const pods = await podsOf(kube, namespace, app);
    return pods.length === count && pods.every((p) => isReady(p) && p.spec?.nodeName === node) ? pods : undefined;
  });

beforeAll(async () => {
  kube = kubeClients();
  cluster = await testCluster();
  namespace = await createNamespace(kube, 'node-context');
  builder = createNodeContextBuilder(kube.config);
  await Promise.all([createNode(pressured), createNode(down)]);
  await kube.apps.createNamespacedDeployment({ namespace, body: pinned('web', pressured, 3) });
  await kube.apps.createNamespacedDeployment({ namespace, body: pinned('cache', pressured, 1) });
  await kube.apps.createNamespacedDeployment({ namespace, body: pinned('api', down, 2) });
  await Promise.all([readyOn('web', pressured, 3), readyOn('cache', pressured, 1), readyOn('api', down, 2)]);
}, 180_000);

afterAll(async () => {
  await deleteNamespace(kube, namespace);
  for (const name of [pressured, down]) await kube.core.deleteNode({ name }).catch(() => undefined);
});

const nodeRef = (name: string) => ({ kind: 'Node', name, namespace: '' });

describe('the context of a node under disk pressure', () => {
  let context: NodeKubernetesContext;

  beforeAll(async () => {
    await applyFault(cluster, 'disk-pressure', pressured);
    context = await eventually(
      'DiskPressure and the disk-pressure taint in the node context',
      async () => {
        const built = await builder.build(nodeRef(pressured));
        const node = built.facts.node;
        const tainted = node?.taints.some((t) => t.key === 'node.kubernetes.io/disk-pressure');
        return node?.pressure.includes('DiskPressure') && tainted ? built : undefined;
      },
      120_000,
    );
  }, 150_000);

  it('names the condition with its reason, the taint the node lifecycle controller added, and the workloads there', () => {
    const { text, facts } = context;
    expect(facts.found).toBe(true);
    expect(facts.kind).toBe('Node');
    expect(text).toMatch(/DiskPressure=True \(KubeletHasDiskPressure\) since \d{4}-\d\d-\d\dT/);
    expect(text).toContain('kubelet has disk pressure');
    expect(text).toContain('node.kubernetes.io/disk-pressure:NoSchedule');
    expect(text).toContain(`Deployment ${namespace}/web: 3 pods`);
    expect(text).toContain(`Deployment ${namespace}/cache: 1 pod`);
    expect(facts.node?.workloads).toEqual(
      expect.arrayContaining([
        { kind: 'Deployment', namespace, name: 'web', pods: 3, notReady: 0 },
        { kind: 'Deployment', namespace, name: 'cache', pods: 1, notReady: 0 },
      ]),
    );
    expect(facts.subject?.problems).toContain(`node ${pressured} reports DiskPressure`);
  });

  it('adds what the pods request to the allocatable figures', () => {
    const resources = context.facts.node?.resources;
    // Four pods of the test Deployment template, each requesting 100m and 128Mi.
    expect(resources?.pods).toBe(4);
    expect(resources?.requestedCpu).toBeCloseTo(0.4);
    expect(resources?.requestedMemory).toBe(4 * 128 * 2 ** 20);
    expect(resources?.allocatableCpu).toBeGreaterThan(0);
    expect(context.text).toMatch(/- cpu 400m \/ \d+ \(\d+%\)/);
  });

  it('is what the Kubernetes context builder returns for a Node subject', async () => {
    const built = await createKubernetesContextBuilder(kube.config).build(nodeRef(pressured));
    expect(built.facts.found).toBe(true);
    expect(built.text).toContain(`Node ${pressured}: Ready=True`);
    expect(built.text).toContain('DiskPressure=True');
  });

  it('shows the node as it is once relieved', async () => {
    await applyFault(cluster, 'disk-pressure', pressured, { clear: true });
    const relieved = await eventually(
      'the node context without DiskPressure',
      async () => {
        const built = await builder.build(nodeRef(pressured));
        return built.facts.node?.pressure.length === 0 ? built : undefined;
      },
      120_000,
    );
    expect(relieved.text).toContain('DiskPressure=False');
    expect(relieved.facts.subject?.problems ?? []).not.toContain(`node ${pressured} reports DiskPressure`);
  }, 150_000);
});

describe('the context of a node short of memory', () => {
  it('names MemoryPressure and the memory-pressure taint', async () => {
    await applyFault(cluster, 'memory-pressure', pressured);
    try {
      const context = await eventually(
        'MemoryPressure and its taint in the node context',
        async () => {
          const built = await builder.build(nodeRef(pressured));
          const node = built.facts.node;
          const tainted = node?.taints.some((t) => t.key === 'node.kubernetes.io/memory-pressure');
          return node?.pressure.includes('MemoryPressure') && tainted ? built : undefined;
        },
        120_000,
      );
      expect(context.text).toContain(`Node ${pressured}: Ready=True, under MemoryPressure`);
      expect(context.text).toMatch(/MemoryPressure=True \(KubeletHasMemoryPressure\)/);
      expect(context.text).toContain('node.kubernetes.io/memory-pressure:NoSchedule');
      expect(context.facts.subject?.problems).toEqual([`node ${pressured} reports MemoryPressure`]);
    } finally {
      await applyFault(cluster, 'memory-pressure', pressured, { clear: true });
    }
  }, 150_000);
});

describe('the context of a node that stopped reporting Ready', () => {
  it('says NotReady with the kubelet message, the not-ready taint, the NodeNotReady event and its workloads', async () => {
    await applyFault(cluster, 'node-not-ready', down);
    try {
      const context = await eventually(
        'NotReady, its taint and its Warning event in the node context',
        async () => {
          const built = await builder.build(nodeRef(down));
          const node = built.facts.node;
          const tainted = node?.taints.some((t) => t.key.startsWith('node.kubernetes.io/'));
          const warned = node?.warningEvents.some((e) => e.reason === 'NodeNotReady');
          return node?.ready === 'False' && tainted && warned ? built : undefined;
        },
        120_000,
      );
      const { text, facts } = context;
      expect(text).toContain(`Node ${down}: Ready=False`);
      expect(text).toMatch(/Ready=False \(KubeletNotReady\) since .*: container runtime is down/);
      expect(text).toMatch(/node\.kubernetes\.io\/(not-ready|unreachable):No(Schedule|Execute)/);
      expect(text).toContain(`Deployment ${namespace}/api: 2 pods`);
      expect(text).toMatch(/NodeNotReady: Node is not ready/);
      expect(facts.warningReasons).toContain('NodeNotReady');
      expect(facts.subject?.problems).toContain(`node ${down} is Ready=False`);
    } finally {
      await applyFault(cluster, 'node-not-ready', down, { clear: true });
    }
  }, 150_000);
});

describe('the context of a node that does not exist', () => {
  it('says so instead of failing', async () => {
    const context = await builder.build(nodeRef(`cairn-ctx-gone-${suffix}`));
    expect(context.facts.found).toBe(false);
    expect(context.text).toBe(`Node cairn-ctx-gone-${suffix} does not exist.`);
  });
});
