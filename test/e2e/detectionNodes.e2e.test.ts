import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { PatchAs } from '../../src/actions/patchOptions.ts';
import { applyFault } from '../../src/cluster/faults.ts';
import type { LocalCluster } from '../../src/cluster/localCluster.ts';
import { type RunningOperator, startOperator } from '../../src/operator.ts';
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
} from '../support/kube.ts';

/**
 * Node pressure and evictions on the local control plane. The pressure fault goes on a node of this file's own,
 * tainted so no other test's pods land on it: KWOK plays its kubelet like the others' and reports the condition.
 */

interface CairnObject {
  metadata: { name: string };
  spec: Record<string, unknown> & { signal: string; resource: { kind: string; name: string }; message?: string };
  status?: { cause?: { code?: string; message?: string; object?: { kind: string; name: string } }; state?: string };
}

let clients: KubeClients;
let cluster: LocalCluster;
let namespace: string;
let operator: RunningOperator;
const node = `pressure-${randomBytes(3).toString('hex')}`;

beforeAll(async () => {
  clients = kubeClients();
  cluster = await testCluster();
  namespace = await createNamespace(clients, 'detect-node');
  await clients.core.createNode({
    body: {
      metadata: {
        name: node,
        annotations: { 'kwok.x-k8s.io/node': 'fake', 'node.alpha.kubernetes.io/ttl': '0' },
        labels: { type: 'kwok', 'kubernetes.io/hostname': node, 'kubernetes.io/os': 'linux' },
      },
      spec: { taints: [{ key: 'cairn.dev/test-node', value: node, effect: 'NoSchedule' }] },
      status: {
        allocatable: { cpu: '4', memory: '8Gi', pods: '20' },
        capacity: { cpu: '4', memory: '8Gi', pods: '20' },
      },
    },
  });
  await eventually(`node ${node} to be Ready`, async () =>
    (await clients.core.readNode({ name: node })).status?.conditions?.some(
      (c) => c.type === 'Ready' && c.status === 'True',
    ),
  );
  operator = await startOperator({
    kubeconfig: inject('kubeconfig'),
    store: `sqlite:${join(mkdtempSync(join(tmpdir(), 'cairn-detect-node-')), 'events.db')}`,
    namespace,
    thresholds: { nodeNotReadySeconds: 0, workloadUnavailableSeconds: 3600 },
    remediate: false,
    watchNamespaces: [namespace],
    ...(process.env.CAIRN_TEST_LOG ? { log: (line: string) => process.stderr.write(`[operator] ${line}\n`) } : {}),
  });
  await eventually('the operator to lead', async () => operator.isLeader());
}, 180_000);

afterAll(async () => {
  await operator?.stop();
  await clients.core.deleteNode({ name: node }).catch(() => undefined);
  await deleteNamespace(clients, namespace);
});

const list = async (plural: 'anomalies' | 'issues', where = namespace) =>
  (
    (await clients.custom.listNamespacedCustomObject({
      group: 'aiops.cairn.dev',
      version: 'v1alpha1',
      namespace: where,
      plural,
    })) as { items: CairnObject[] }
  ).items;

describe('node pressure and evictions', () => {
  it('reports a node short of disk, and then of memory, on the node with the kubelet reason, and stops when relieved', async () => {
    const aboutNode = async () => (await list('anomalies')).filter((a) => a.spec.resource.name === node);
    // (On a control plane that has just installed the CRDs, the first list may be told to retry.)
    expect(await eventually('the Anomalies to be listed', aboutNode)).toEqual([]);

    await applyFault(cluster, 'disk-pressure', node);
    const disk = await eventually('a disk_pressure Anomaly on the node', async () =>
      (await aboutNode()).find((a) => a.spec.signal === 'disk_pressure' && a.status?.cause),
    );
    expect(disk.spec.resource.kind).toBe('Node');
    expect(disk.status?.cause).toMatchObject({ code: 'node_disk_pressure', object: { kind: 'Node', name: node } });
    expect(disk.status?.cause?.message).toBe('kubelet has disk pressure');
    // As on a real cluster, the node lifecycle controller keeps new pods off a node short of disk.
    await eventually('the disk-pressure taint', async () =>
      (await clients.core.readNode({ name: node })).spec?.taints?.some(
        (t) => t.key === 'node.kubernetes.io/disk-pressure' && t.effect === 'NoSchedule',
      ),
    );

    // The label now says memory: the disk condition clears and the memory one rises, on the same node.
    await applyFault(cluster, 'memory-pressure', node);
    await eventually('a memory_pressure Anomaly on the node', async () =>
      (await aboutNode()).find((a) => a.spec.signal === 'memory_pressure'),
    );
    const conditions = (await clients.core.readNode({ name: node })).status?.conditions ?? [];
    expect(
      conditions
        .filter((c) => c.status === 'True')
        .map((c) => c.type)
        .sort(),
    ).toEqual(['MemoryPressure', 'Ready']);

    await applyFault(cluster, 'memory-pressure', node, { clear: true });
    await eventually('the node to report no pressure', async () =>
      (await clients.core.readNode({ name: node })).status?.conditions?.every(
        (c) => c.type === 'Ready' || c.status === 'False',
      ),
    );
    // One Anomaly per signal for the episode: no second one while the pressure lasted.
    expect((await aboutNode()).map((a) => a.spec.signal).sort()).toEqual(['disk_pressure', 'memory_pressure']);
  });

  it('reports a pod the kubelet evicted, on its Deployment, with the eviction message and the node', async () => {
    await clients.apps.createNamespacedDeployment({ namespace, body: deployment('cache', { replicas: 1 }) });
    const [pod] = await eventually('cache to run', async () => {
      const pods = await podsOf(clients, namespace, 'cache');
      return pods.length === 1 && pods.every(isReady) ? pods : undefined;
    });
    const name = pod?.metadata?.name as string;
    // What a kubelet short of memory writes on the pod it evicts.
    await clients.core.patchNamespacedPodStatus(
      {
        name,
        namespace,
        body: {
          status: {
            phase: 'Failed',
            reason: 'Evicted',
            message: 'The node was low on resource: memory. Threshold quantity: 100Mi, available: 52Mi.',
          },
        },
      },
      PatchAs.merge,
    );
    const evicted = await eventually('a pod_evicted Anomaly with its cause', async () =>
      (await list('anomalies')).find(
        (a) => a.spec.signal === 'pod_evicted' && a.spec.resource.name === name && a.status?.cause,
      ),
    );
    expect(evicted.status?.cause).toMatchObject({
      code: 'evicted',
      message: 'The node was low on resource: memory. Threshold quantity: 100Mi, available: 52Mi.',
      object: { kind: 'Node', name: pod?.spec?.nodeName },
    });
    const issue = await eventually('the Issue of cache', async () =>
      (await list('issues')).find((i) => i.spec.resource.kind === 'Deployment' && i.spec.resource.name === 'cache'),
    );
    expect(issue.spec.signal).toBe('pod_evicted');
  });
});
