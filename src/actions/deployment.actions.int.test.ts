import type * as k8s from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
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
  testCluster,
} from '../../test/support/kube.ts';
import { refusalOf } from '../../test/support/refusal.ts';
import { applyFault } from '../cluster/faults.ts';
import type { LocalCluster } from '../cluster/localCluster.ts';
import { type ActionClients, createActionClients } from './action.ts';
import { PatchAs } from './patchOptions.ts';
import { requireAction } from './registry.ts';

let kube: KubeClients;
let clients: ActionClients;
let cluster: LocalCluster;
let namespace: string;

beforeAll(async () => {
  kube = kubeClients();
  clients = createActionClients(kube.config);
  cluster = await testCluster();
  namespace = await createNamespace(kube, 'actions-deploy');
});
afterAll(() => deleteNamespace(kube, namespace));

const ref = (name: string): ResourceRef => ({ kind: 'Deployment', name, namespace });

/** Checks, then executes, as the executor does. */
const run = async (type: string, target: ResourceRef, params: Record<string, string> = {}) => {
  const action = requireAction(type);
  action.check(params, target);
  return action.execute({ clients, target, params });
};

const failure = refusalOf;

const allReady = (app: string, count: number, check: (pod: k8s.V1Pod) => boolean = () => true) =>
  eventually(`${count} ready pods of ${app}`, async () => {
    const pods = await podsOf(kube, namespace, app);
    return pods.length === count && pods.every((p) => isReady(p) && check(p)) ? pods : undefined;
  });

const image = (pod: k8s.V1Pod) => pod.spec?.containers[0]?.image;

async function create(name: string, options: Parameters<typeof deployment>[1] = {}) {
  await kube.apps.createNamespacedDeployment({ namespace, body: deployment(name, options) });
  return allReady(name, options.replicas ?? 2);
}

describe('ScaleDeployment', () => {
  it('changes the replica count and the pods follow; refuses 0', async () => {
    await create('scaled', { replicas: 2 });
    const result = await run('ScaleDeployment', ref('scaled'), { replicas: '3' });
    expect(result.detail).toBe(`scaled Deployment ${namespace}/scaled from 2 to 3 replicas.`);
    expect(result.touched).toEqual([ref('scaled')]);
    await allReady('scaled', 3);
    expect(
      await requireAction('ScaleDeployment').isDone?.({ clients, target: ref('scaled'), params: { replicas: '3' } }),
    ).toBe(true);

    const refused = await failure(run('ScaleDeployment', ref('scaled'), { replicas: '0' }));
    expect(refused.code).toBe('action.unsafe');
    expect(refused.message).toMatch(/^replicas: /);
    // execute guards on its own too, for a caller that skipped check.
    const unchecked = requireAction('ScaleDeployment').execute({
      clients,
      target: ref('scaled'),
      params: { replicas: '0' },
    });
    expect((await failure(unchecked)).code).toBe('action.unsafe');
    const after = await kube.apps.readNamespacedDeployment({ name: 'scaled', namespace });
    expect(after.spec?.replicas).toBe(3);
  });
});

describe('RestartDeployment', () => {
  it('replaces wedged pods with ready ones, as kubectl rollout restart does', async () => {
    const before = await create('wedged', { replicas: 2 });
    const startedAt = new Date().toISOString();
    await applyFault(cluster, 'not-ready', `${namespace}/wedged`);
    await eventually('both pods unready', async () => {
      const pods = await podsOf(kube, namespace, 'wedged');
      return pods.length === 2 && pods.every((p) => !isReady(p));
    });
    expect(
      await requireAction('RestartDeployment').isDone?.({ clients, target: ref('wedged'), params: {}, startedAt }),
    ).toBe(false);

    const result = await run('RestartDeployment', ref('wedged'));
    expect(result.detail).toMatch(/kubectl\.kubernetes\.io\/restartedAt=/);
    const old = new Set(before.map((p) => p.metadata?.name));
    await allReady(
      'wedged',
      2,
      (p) => !old.has(p.metadata?.name) && p.metadata?.labels?.['fault.cairn.dev/wedged'] === undefined,
    );
    expect(
      await requireAction('RestartDeployment').isDone?.({ clients, target: ref('wedged'), params: {}, startedAt }),
    ).toBe(true);
  });
});

describe('RollbackDeployment', () => {
  it('rolls a crash-looping release back to the previous image, and the pods become ready', async () => {
    await create('crashy', { replicas: 2 });
    await applyFault(cluster, 'crashloop', `${namespace}/crashy`);
    await eventually('a crash-looping pod', async () =>
      (await podsOf(kube, namespace, 'crashy')).some((p) => (p.status?.containerStatuses?.[0]?.restartCount ?? 0) >= 1),
    );
    const startedAt = new Date(Date.now() - 1000).toISOString();
    const result = await run('RollbackDeployment', ref('crashy'));
    expect(result.detail).toMatch(/back to revision 1 \(ReplicaSet crashy-\w+: registry\.local\/shop\/web:1\.0\.0\)/);
    await allReady('crashy', 2, (p) => image(p) === 'registry.local/shop/web:1.0.0');
    expect(
      await requireAction('RollbackDeployment').isDone?.({ clients, target: ref('crashy'), params: {}, startedAt }),
    ).toBe(true);
  });

  it('last-healthy skips a bad revision for the one still serving; a revision number goes there', async () => {
    await create('history', { replicas: 2 });
    const setImage = (value: string) =>
      kube.apps.patchNamespacedDeployment(
        {
          name: 'history',
          namespace,
          body: [{ op: 'replace', path: '/spec/template/spec/containers/0/image', value }],
        },
        PatchAs.json,
      );
    await setImage('registry.local/shop/web:1.1.0');
    await allReady('history', 2, (p) => image(p) === 'registry.local/shop/web:1.1.0');
    await applyFault(cluster, 'crashloop', `${namespace}/history`);
    await eventually('revision 3 crashing', async () =>
      (await podsOf(kube, namespace, 'history')).some(
        (p) => image(p)?.endsWith('-broken') && (p.status?.containerStatuses?.[0]?.restartCount ?? 0) >= 1,
      ),
    );

    const healthy = await run('RollbackDeployment', ref('history'), { toRevision: 'last-healthy' });
    expect(healthy.detail).toMatch(/back to revision 2 .*web:1\.1\.0/);
    await allReady('history', 2, (p) => image(p) === 'registry.local/shop/web:1.1.0');

    const first = await run('RollbackDeployment', ref('history'), { toRevision: '1' });
    expect(first.detail).toMatch(/back to revision 1 .*web:1\.0\.0/);
    await allReady('history', 2, (p) => image(p) === 'registry.local/shop/web:1.0.0');

    const none = await failure(run('RollbackDeployment', ref('history'), { toRevision: '9' }));
    expect(none.category).toBe('NotFound');
  });
});

describe('AdjustResources', () => {
  it('raises the memory limit of an OOM-killed release and the pods stop being killed', async () => {
    await create('hungry', { replicas: 1, memoryLimit: '128Mi' });
    await applyFault(cluster, 'oom', `${namespace}/hungry`);
    await eventually('an OOMKilled pod', async () =>
      (await podsOf(kube, namespace, 'hungry')).some(
        (p) => p.status?.containerStatuses?.[0]?.lastState?.terminated?.reason === 'OOMKilled',
      ),
    );
    // Below the current 128Mi request: refused before anything is written.
    const refused = await failure(run('AdjustResources', ref('hungry'), { memory_limit: '64Mi' }));
    expect(refused.code).toBe('action.unsafe');
    expect(refused.message).toMatch(/^memory_limit: memory limit 64Mi would be below its request 128Mi/);

    const result = await run('AdjustResources', ref('hungry'), { memory_limit: '512Mi', memory_request: '256Mi' });
    expect(result.detail).toBe(
      `set memory_limit 128Mi → 512Mi, memory_request 128Mi → 256Mi on container app of Deployment ${namespace}/hungry`,
    );
    const [pod] = await allReady('hungry', 1, (p) => p.spec?.containers[0]?.resources?.limits?.memory === '512Mi');
    expect(pod?.spec?.containers[0]?.resources?.requests).toEqual({ cpu: '100m', memory: '256Mi' });
    expect(pod?.status?.containerStatuses?.[0]?.restartCount).toBe(0);
    expect(
      await requireAction('AdjustResources').isDone?.({
        clients,
        target: ref('hungry'),
        params: { memory_limit: '0.5Gi' },
      }),
    ).toBe(true);
  });
});
