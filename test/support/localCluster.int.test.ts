import type * as k8s from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { applyFault } from '../../src/cluster/faults.ts';
import { kubectl, type LocalCluster } from '../../src/cluster/localCluster.ts';
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

let clients: KubeClients;
let cluster: LocalCluster;
let namespace: string;

beforeAll(async () => {
  clients = kubeClients();
  cluster = await testCluster();
  namespace = await createNamespace(clients, 'harness');
});
afterAll(() => deleteNamespace(clients, namespace));

const allReady = (app: string, count: number, image?: string) =>
  eventually(`${count} ready pods of ${app}${image ? ` running ${image}` : ''}`, async () => {
    const pods = await podsOf(clients, namespace, app);
    const ready = pods.filter((p) => isReady(p) && (!image || p.spec?.containers[0]?.image === image));
    return pods.length === count && ready.length === count ? pods : undefined;
  });

const containerStatus = (pod: k8s.V1Pod) => pod.status?.containerStatuses?.[0];

async function warningEvents(involvedName: string, reason: string) {
  const events = await clients.core.listNamespacedEvent({ namespace });
  return events.items.filter((e) => e.involvedObject.name?.startsWith(involvedName) && e.reason === reason);
}

describe('the local control plane', () => {
  it('runs a Deployment of 3 replicas to 3 ready pods spread over KWOK nodes', async () => {
    await clients.apps.createNamespacedDeployment({ namespace, body: deployment('web', { replicas: 3 }) });
    const pods = await allReady('web', 3);
    const nodes = await clients.core.listNode();
    const kwokNodes = new Set(
      nodes.items
        .filter((n) => n.metadata?.annotations?.['kwok.x-k8s.io/node'] === 'fake')
        .map((n) => n.metadata?.name),
    );
    expect(kwokNodes.size).toBeGreaterThanOrEqual(3);
    for (const pod of pods) expect(kwokNodes.has(pod.spec?.nodeName)).toBe(true);
  });

  it('rolls out a new ReplicaSet when the image changes', async () => {
    await kubectl(cluster, ['-n', namespace, 'set', 'image', 'deployment/web', 'app=registry.local/shop/web:1.1.0']);
    await allReady('web', 3, 'registry.local/shop/web:1.1.0');
    const sets = await clients.apps.listNamespacedReplicaSet({ namespace, labelSelector: 'app=web' });
    expect(sets.items).toHaveLength(2);
    const active = sets.items.filter((rs) => (rs.spec?.replicas ?? 0) > 0);
    expect(active.map((rs) => rs.spec?.template?.spec?.containers[0]?.image)).toEqual([
      'registry.local/shop/web:1.1.0',
    ]);
  });

  it('garbage-collects ReplicaSets and pods when their Deployment is deleted', async () => {
    await clients.apps.createNamespacedDeployment({ namespace, body: deployment('doomed', { replicas: 2 }) });
    await allReady('doomed', 2);
    await clients.apps.deleteNamespacedDeployment({ name: 'doomed', namespace, propagationPolicy: 'Background' });
    await eventually('ReplicaSets and pods of the deleted Deployment to disappear', async () => {
      const sets = await clients.apps.listNamespacedReplicaSet({ namespace, labelSelector: 'app=doomed' });
      const pods = await clients.core.listNamespacedPod({ namespace, labelSelector: 'app=doomed' });
      return sets.items.length === 0 && pods.items.length === 0;
    });
  });
});

describe('simulated faults appear on real pods and clear when their trigger goes', () => {
  it('crashloop: a crashing image loops in CrashLoopBackOff with a growing restartCount; a rollback clears it', async () => {
    await clients.apps.createNamespacedDeployment({ namespace, body: deployment('crashy', { replicas: 2 }) });
    await allReady('crashy', 2);
    await applyFault(cluster, 'crashloop', `${namespace}/crashy`);

    const crashing = await eventually('a crash-looping pod restarted at least twice', async () => {
      const pods = await podsOf(clients, namespace, 'crashy');
      return pods.find(
        (p) => (containerStatus(p)?.restartCount ?? 0) >= 2 && p.spec?.containers[0]?.image?.endsWith('-broken'),
      );
    });
    const status = containerStatus(crashing);
    expect(status?.ready).toBe(false);
    expect(status?.lastState?.terminated?.exitCode).toBe(1);
    await eventually('a pod waiting in CrashLoopBackOff', async () =>
      (await podsOf(clients, namespace, 'crashy')).some(
        (p) => containerStatus(p)?.state?.waiting?.reason === 'CrashLoopBackOff',
      ),
    );
    expect((await warningEvents('crashy', 'BackOff')).length).toBeGreaterThan(0);

    await kubectl(cluster, ['-n', namespace, 'rollout', 'undo', 'deployment/crashy']);
    await allReady('crashy', 2, 'registry.local/shop/web:1.0.0');
  });

  it('oom: a release that needs more than its memory limit is OOMKilled (exit 137); raising the limit clears it', async () => {
    await clients.apps.createNamespacedDeployment({
      namespace,
      body: deployment('hungry', { replicas: 1, memoryLimit: '128Mi' }),
    });
    await allReady('hungry', 1);
    await applyFault(cluster, 'oom', `${namespace}/hungry`);

    const killed = await eventually('an OOMKilled pod that restarted', async () =>
      (await podsOf(clients, namespace, 'hungry')).find(
        (p) =>
          containerStatus(p)?.lastState?.terminated?.reason === 'OOMKilled' &&
          (containerStatus(p)?.restartCount ?? 0) >= 1,
      ),
    );
    expect(containerStatus(killed)?.lastState?.terminated?.exitCode).toBe(137);
    expect(killed.metadata?.annotations?.['fault.cairn.dev/memory-working-set']).toBe('256Mi');

    await kubectl(cluster, [
      '-n',
      namespace,
      'set',
      'resources',
      'deployment/hungry',
      '--limits=memory=512Mi',
      '--requests=memory=512Mi',
    ]);
    const [pod] = await allReady('hungry', 1);
    expect(pod?.spec?.containers[0]?.resources?.limits?.memory).toBe('512Mi');
  });

  it('not-ready: wedged pods fail readiness; a restart replaces them with ready ones', async () => {
    await clients.apps.createNamespacedDeployment({ namespace, body: deployment('stuck', { replicas: 2 }) });
    const before = await allReady('stuck', 2);
    await applyFault(cluster, 'not-ready', `${namespace}/stuck`);
    await eventually('both pods running but not ready', async () => {
      const pods = await podsOf(clients, namespace, 'stuck');
      return pods.length === 2 && pods.every((p) => p.status?.phase === 'Running' && !isReady(p));
    });
    expect((await warningEvents('stuck', 'Unhealthy')).length).toBeGreaterThan(0);

    await kubectl(cluster, ['-n', namespace, 'rollout', 'restart', 'deployment/stuck']);
    const after = await allReady('stuck', 2);
    const oldNames = new Set(before.map((p) => p.metadata?.name));
    expect(after.every((p) => !oldNames.has(p.metadata?.name))).toBe(true);
  });

  it('image-pull: an image that does not exist sits in ImagePullBackOff; a rollback clears it', async () => {
    await clients.apps.createNamespacedDeployment({ namespace, body: deployment('pully', { replicas: 2 }) });
    await allReady('pully', 2);
    await applyFault(cluster, 'image-pull', `${namespace}/pully`);
    await eventually('a pod in ImagePullBackOff', async () =>
      (await podsOf(clients, namespace, 'pully')).some(
        (p) => containerStatus(p)?.state?.waiting?.reason === 'ImagePullBackOff',
      ),
    );
    expect((await warningEvents('pully', 'Failed')).length).toBeGreaterThan(0);
    await applyFault(cluster, 'image-pull', `${namespace}/pully`, { clear: true });
    await allReady('pully', 2, 'registry.local/shop/web:1.0.0');
  });

  it('job-failed: jobs of a CronJob whose image crashes fail with BackoffLimitExceeded; fixed, they complete', async () => {
    await clients.batch.createNamespacedCronJob({
      namespace,
      body: {
        metadata: { name: 'nightly' },
        spec: {
          schedule: '0 3 * * *',
          jobTemplate: {
            spec: {
              backoffLimit: 1,
              template: {
                spec: {
                  restartPolicy: 'Never',
                  containers: [{ name: 'task', image: 'registry.local/batch/report:2.0' }],
                },
              },
            },
          },
        },
      },
    });
    const runNow = (job: string) => kubectl(cluster, ['-n', namespace, 'create', 'job', job, '--from=cronjob/nightly']);
    const condition = (name: string, type: string) =>
      eventually(`Job ${name} to be ${type}`, async () => {
        const j = await clients.batch.readNamespacedJob({ name, namespace });
        return j.status?.conditions?.find((c) => c.type === type && c.status === 'True');
      });

    await applyFault(cluster, 'job-failed', `${namespace}/nightly`);
    await runNow('nightly-bad');
    expect((await condition('nightly-bad', 'Failed')).reason).toBe('BackoffLimitExceeded');
    const failedPods = await clients.core.listNamespacedPod({ namespace, labelSelector: 'job-name=nightly-bad' });
    expect(failedPods.items.length).toBe(2);
    expect(failedPods.items.every((p) => p.status?.phase === 'Failed')).toBe(true);

    await applyFault(cluster, 'job-failed', `${namespace}/nightly`, { clear: true });
    await runNow('nightly-good');
    await condition('nightly-good', 'Complete');
  });

  it('node-not-ready: a broken node reports NotReady and recovers when repaired', async () => {
    const node = 'kwok-node-2';
    const ready = async () => {
      const n = await clients.core.readNode({ name: node });
      return n.status?.conditions?.find((c) => c.type === 'Ready')?.status;
    };
    await applyFault(cluster, 'node-not-ready', node);
    try {
      await eventually('the node to report NotReady', async () => (await ready()) === 'False');
    } finally {
      await applyFault(cluster, 'node-not-ready', node, { clear: true });
    }
    await eventually('the node to be Ready again', async () => (await ready()) === 'True');
  });
});
