import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createNamespace,
  deleteNamespace,
  deployment,
  eventually,
  type KubeClients,
  kubeClients,
  podsOf,
  testCluster,
} from '../../../test/support/kube.ts';
import { kubectl } from '../../cluster/localCluster.ts';
import type { WorkloadLookup } from '../../ports/workloadLookup.ts';
import { createWorkloadLookup } from './workloadLookup.ts';

let clients: KubeClients;
let namespace: string;
let lookup: WorkloadLookup;

beforeAll(async () => {
  clients = kubeClients();
  namespace = await createNamespace(clients, 'lookup');
  lookup = createWorkloadLookup(clients.config);
});
afterAll(() => deleteNamespace(clients, namespace));

describe('createWorkloadLookup against the API server', () => {
  it('follows a Pod through its ReplicaSet to the Deployment, and a ReplicaSet likewise', async () => {
    await clients.apps.createNamespacedDeployment({ namespace, body: deployment('web', { replicas: 1 }) });
    const [pod] = await eventually('a web pod', async () => {
      const pods = await podsOf(clients, namespace, 'web');
      return pods.length > 0 ? pods : undefined;
    });
    const podRef = { kind: 'Pod', name: pod?.metadata?.name ?? '', namespace };
    const web = { kind: 'Deployment', name: 'web', namespace };
    expect(await lookup.resolve(podRef)).toEqual({ ok: true, resource: podRef, workload: web });
    const replicaSet = pod?.metadata?.ownerReferences?.[0]?.name ?? '';
    expect(await lookup.resolve({ kind: 'ReplicaSet', name: replicaSet, namespace })).toMatchObject({
      ok: true,
      workload: web,
    });
    expect(await lookup.resolve({ ...web, apiVersion: 'apps/v1' })).toEqual({ ok: true, resource: web, workload: web });
  });

  it('follows a Job (and its Pod) to the CronJob that made it', async () => {
    await clients.batch.createNamespacedCronJob({
      namespace,
      body: {
        metadata: { name: 'nightly' },
        spec: {
          schedule: '0 3 * * *',
          jobTemplate: {
            spec: {
              template: { spec: { restartPolicy: 'Never', containers: [{ name: 't', image: 'batch/report:1' }] } },
            },
          },
        },
      },
    });
    await kubectl(await testCluster(), ['-n', namespace, 'create', 'job', 'nightly-now', '--from=cronjob/nightly']);
    const nightly = { kind: 'CronJob', name: 'nightly', namespace };
    expect(await lookup.resolve({ kind: 'Job', name: 'nightly-now', namespace })).toMatchObject({ workload: nightly });
    const pod = await eventually('a pod of the job', async () => {
      const pods = await clients.core.listNamespacedPod({ namespace, labelSelector: 'job-name=nightly-now' });
      return pods.items[0];
    });
    expect(await lookup.resolve({ kind: 'Pod', name: pod.metadata?.name ?? '', namespace })).toMatchObject({
      workload: nightly,
    });
  });

  it('takes a Node as its own, cluster-scoped, workload', async () => {
    const node = { kind: 'Node', name: 'kwok-node-0', namespace: '' };
    expect(await lookup.resolve({ ...node, namespace: 'ignored' })).toEqual({
      ok: true,
      resource: node,
      workload: node,
    });
  });

  it('refuses what does not exist and what is not a workload, saying which', async () => {
    expect(await lookup.resolve({ kind: 'Pod', name: 'ghost', namespace })).toEqual({
      ok: false,
      reason: 'ResourceNotFound',
      message: `Pod ${namespace}/ghost does not exist`,
    });
    expect(await lookup.resolve({ kind: 'Service', name: 'kubernetes', namespace: 'default' })).toMatchObject({
      ok: false,
      reason: 'NotAWorkload',
    });
    expect(
      await lookup.resolve({ kind: 'Deployment', name: 'web', namespace, apiVersion: 'example.com/v1' }),
    ).toMatchObject({ ok: false, reason: 'NotAWorkload', message: expect.stringContaining('example.com/v1') });
  });
});
