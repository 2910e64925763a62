import { randomBytes } from 'node:crypto';
import type * as k8s from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ResourceRef } from '../../domain/events/common.schema.ts';
import {
  createNamespace,
  deleteNamespace,
  eventually,
  isReady,
  type KubeClients,
  kubeClients,
  podsOf,
} from '../../test/support/kube.ts';
import { refusalOf } from '../../test/support/refusal.ts';
import { statefulSet } from '../../test/support/workloads.ts';
import { markImage } from '../cluster/faults.ts';
import { FaultMarks } from '../cluster/stages.ts';
import { type ActionClients, createActionClients } from './action.ts';
import { PatchAs } from './patchOptions.ts';
import { requireAction } from './registry.ts';
import { restoreSnapshot, type Snapshot, takeSnapshot } from './snapshot.ts';

let kube: KubeClients;
let clients: ActionClients;
let namespace: string;
const storageClass = `cairn-sts-${randomBytes(3).toString('hex')}`;
const volumes = [0, 1, 2].map((i) => `${storageClass}-pv${i}`);

beforeAll(async () => {
  kube = kubeClients();
  clients = createActionClients(kube.config);
  namespace = await createNamespace(kube, 'actions-sts');
});
afterAll(async () => {
  await deleteNamespace(kube, namespace);
  for (const name of volumes) await kube.core.deletePersistentVolume({ name }).catch(() => undefined);
});

const ref = (name: string): ResourceRef => ({ kind: 'StatefulSet', name, namespace });

const run = async (type: string, target: ResourceRef, params: Record<string, string> = {}) => {
  const action = requireAction(type);
  action.check(params, target);
  return action.execute({ clients, target, params });
};

const image = (pod: k8s.V1Pod) => pod.spec?.containers[0]?.image;

const allReady = (app: string, count: number, check: (pod: k8s.V1Pod) => boolean = () => true) =>
  eventually(`${count} ready pods of ${app}`, async () => {
    const pods = await podsOf(kube, namespace, app);
    return pods.length === count && pods.every((p) => isReady(p) && check(p)) ? pods : undefined;
  });

async function create(name: string, options: Parameters<typeof statefulSet>[1] = {}) {
  await kube.apps.createNamespacedStatefulSet({ namespace, body: statefulSet(name, options) });
  return allReady(name, options.replicas ?? 2);
}

const read = (name: string) => kube.apps.readNamespacedStatefulSet({ name, namespace });

const patchSet = (name: string, ops: object[]) =>
  kube.apps.patchNamespacedStatefulSet({ name, namespace, body: ops }, PatchAs.json);

const setImage = (name: string, value: string) =>
  patchSet(name, [{ op: 'replace', path: '/spec/template/spec/containers/0/image', value }]);

describe('ScaleStatefulSet', () => {
  it('adds pods in order and refuses 0 replicas', async () => {
    await create('scaled', { replicas: 2 });
    const result = await run('ScaleStatefulSet', ref('scaled'), { replicas: '3' });
    expect(result.detail).toBe(`scaled StatefulSet ${namespace}/scaled from 2 to 3 replicas (ordered).`);
    const pods = await allReady('scaled', 3);
    expect(pods.map((p) => p.metadata?.name).sort()).toEqual(['scaled-0', 'scaled-1', 'scaled-2']);

    const down = await run('ScaleStatefulSet', ref('scaled'), { replicas: '2' });
    expect(down.detail).toMatch(/The claims of removed pods are kept\.$/);
    await allReady('scaled', 2);

    const zero = await refusalOf(run('ScaleStatefulSet', ref('scaled'), { replicas: '0' }));
    expect(zero.code).toBe('action.unsafe');
    expect(zero.message).toMatch(/^replicas: scaling to 0/);
    const unchecked = requireAction('ScaleStatefulSet').execute({
      clients,
      target: ref('scaled'),
      params: { replicas: '0' },
    });
    expect((await refusalOf(unchecked)).code).toBe('action.unsafe');
    expect((await read('scaled')).spec?.replicas).toBe(2);
    // A Deployment action on a StatefulSet is refused by its check.
    expect((await refusalOf(run('ScaleDeployment', ref('scaled'), { replicas: '2' }))).code).toBe(
      'action.invalid_params',
    );
  });
});

describe('RestartStatefulSet', () => {
  it('replaces wedged pods one by one; refuses a set that uses OnDelete', async () => {
    const before = await create('wedged', { replicas: 2 });
    await kube.core.patchNamespacedPod(
      { name: 'wedged-1', namespace, body: { metadata: { labels: { [FaultMarks.wedged]: 'true' } } } },
      PatchAs.merge,
    );
    await eventually(
      'wedged-1 unready',
      async () => !isReady(await kube.core.readNamespacedPod({ name: 'wedged-1', namespace })),
    );
    const startedAt = new Date().toISOString();
    const result = await run('RestartStatefulSet', ref('wedged'));
    expect(result.detail).toMatch(/^rolling restart of StatefulSet .*\/wedged \(kubectl\.kubernetes\.io\/restartedAt=/);
    const old = new Map(before.map((p) => [p.metadata?.name, p.metadata?.uid]));
    await allReady('wedged', 2, (p) => old.get(p.metadata?.name) !== p.metadata?.uid);
    expect(
      await requireAction('RestartStatefulSet').isDone?.({ clients, target: ref('wedged'), params: {}, startedAt }),
    ).toBe(true);

    await run('UpdateStatefulSetStrategy', ref('wedged'), { type: 'OnDelete' });
    const refused = await refusalOf(run('RestartStatefulSet', ref('wedged')));
    expect(refused.code).toBe('action.illegal_state');
    expect(refused.message).toMatch(/OnDelete update strategy, so a restart would replace no pod/);
  });
});

describe('RollbackStatefulSet', () => {
  it('rolls a crash-looping release back through its ControllerRevision and unblocks the ordered rollout', async () => {
    await create('crashy', { replicas: 2 });
    await setImage('crashy', markImage('registry.local/shop/db:1.0.0', FaultMarks.crashImage));
    await eventually('crashy-1 crash-looping', async () => {
      const pod = await kube.core.readNamespacedPod({ name: 'crashy-1', namespace });
      return image(pod)?.endsWith('-broken') && (pod.status?.containerStatuses?.[0]?.restartCount ?? 0) >= 1;
    });
    const startedAt = new Date(Date.now() - 1000).toISOString();
    const result = await run('RollbackStatefulSet', ref('crashy'));
    expect(result.detail).toMatch(
      /^rolled StatefulSet .*\/crashy back to revision 1 \(ControllerRevision crashy-\w+: registry\.local\/shop\/db:1\.0\.0\); deleted 1 unready pod\(s\) of the old revision \(crashy-1\)$/,
    );
    await allReady('crashy', 2, (p) => image(p) === 'registry.local/shop/db:1.0.0');
    expect(
      await requireAction('RollbackStatefulSet').isDone?.({ clients, target: ref('crashy'), params: {}, startedAt }),
    ).toBe(true);

    const none = await refusalOf(run('RollbackStatefulSet', ref('crashy'), { toRevision: '9' }));
    expect(none.category).toBe('NotFound');
    expect(none.message).toMatch(/has no revision 9 \(it has 3, 2\)/);
    const bad = await refusalOf(run('RollbackStatefulSet', ref('crashy'), { toRevision: 'last-healthy' }));
    expect(bad.code).toBe('action.invalid_params');
  });
});

describe('AdjustStatefulSetResources', () => {
  it('raises the memory limit of OOM-killed pods and they become ready; refuses a limit below the request', async () => {
    await kube.apps.createNamespacedStatefulSet({
      namespace,
      body: statefulSet('hungry', { replicas: 1, memory: '128Mi', needsMemory: '256Mi' }),
    });
    await eventually('an OOMKilled pod', async () =>
      (await podsOf(kube, namespace, 'hungry')).some(
        (p) => p.status?.containerStatuses?.[0]?.lastState?.terminated?.reason === 'OOMKilled',
      ),
    );
    const below = await refusalOf(run('AdjustStatefulSetResources', ref('hungry'), { memory_limit: '64Mi' }));
    expect(below.code).toBe('action.unsafe');
    expect(below.message).toMatch(/^memory_limit: memory limit 64Mi would be below its request 128Mi/);
    const noContainer = await refusalOf(
      run('AdjustStatefulSetResources', ref('hungry'), { container: 'sidecar', memory_limit: '1Gi' }),
    );
    expect(noContainer.message).toMatch(/^container: .* has no container "sidecar"/);

    // The ordered set waits on its OOM-killed pod, so the action replaces that pod itself.
    const result = await run('AdjustStatefulSetResources', ref('hungry'), { memory_limit: '512Mi' });
    expect(result.detail).toBe(
      `set memory_limit 128Mi → 512Mi on container app of StatefulSet ${namespace}/hungry; deleted 1 unready pod(s) of the old revision (hungry-0)`,
    );
    const [pod] = await allReady('hungry', 1, (p) => p.spec?.containers[0]?.resources?.limits?.memory === '512Mi');
    expect(pod?.status?.containerStatuses?.[0]?.restartCount).toBe(0);
    expect(
      await requireAction('AdjustStatefulSetResources').isDone?.({
        clients,
        target: ref('hungry'),
        params: { memory_limit: '0.5Gi' },
      }),
    ).toBe(true);
  });
});

describe('DeleteStatefulSetPod', () => {
  it('deletes the sickest pod, which comes back under the same name; never the last pod', async () => {
    const before = await create('pair', { replicas: 2 });
    await kube.core.patchNamespacedPod(
      { name: 'pair-0', namespace, body: { metadata: { labels: { [FaultMarks.wedged]: 'true' } } } },
      PatchAs.merge,
    );
    await eventually(
      'pair-0 unready',
      async () => !isReady(await kube.core.readNamespacedPod({ name: 'pair-0', namespace })),
    );
    const result = await run('DeleteStatefulSetPod', ref('pair'));
    expect(result.detail).toMatch(/^deleted pod pair-0 of StatefulSet .*\/pair \(sickest: Running, 0 restarts\)/);
    const uid0 = before.find((p) => p.metadata?.name === 'pair-0')?.metadata?.uid;
    await allReady('pair', 2, (p) => p.metadata?.name !== 'pair-0' || p.metadata.uid !== uid0);

    const unknown = await refusalOf(run('DeleteStatefulSetPod', ref('pair'), { pod: 'other-0' }));
    expect(unknown.code).toBe('action.invalid_params');

    await create('single', { replicas: 1 });
    const last = await refusalOf(run('DeleteStatefulSetPod', ref('single')));
    expect(last.code).toBe('action.unsafe');
    expect(last.message).toMatch(/^pod: pod single-0 is the last pod of StatefulSet/);
    expect(await podsOf(kube, namespace, 'single')).toHaveLength(1);
  });
});

describe('ForceDeleteStatefulSetPod', () => {
  it('refuses a live pod; on a pod stuck terminating it sets the grace period to 0 and says what still holds it', async () => {
    await create('stuck', { replicas: 2 });
    const missingPod = await refusalOf(run('ForceDeleteStatefulSetPod', ref('stuck')));
    expect(missingPod.message).toBe('pod: is required by ForceDeleteStatefulSetPod');
    const live = await refusalOf(run('ForceDeleteStatefulSetPod', ref('stuck'), { pod: 'stuck-1' }));
    expect(live.code).toBe('action.unsafe');
    expect(live.message).toMatch(/^pod: pod stuck-1 is not terminating/);

    // KWOK plays the kubelet of every node and finishes every deletion it sees, so the one way a pod stays
    // terminating here is a finalizer (as a storage or network plugin leaves). Grace 0 does not override those.
    console.info(
      'ForceDeleteStatefulSetPod: a pod stuck for want of a kubelet cannot be simulated (KWOK manages every node); ' +
        'tested with a pod held by a finalizer instead.',
    );
    await kube.core.patchNamespacedPod(
      { name: 'stuck-1', namespace, body: { metadata: { finalizers: ['cairn.dev/test-hold'] } } },
      PatchAs.merge,
    );
    const held = await kube.core.readNamespacedPod({ name: 'stuck-1', namespace });
    await kube.core.deleteNamespacedPod({ name: 'stuck-1', namespace, gracePeriodSeconds: 3600 });
    const forced = await refusalOf(run('ForceDeleteStatefulSetPod', ref('stuck'), { pod: 'stuck-1' }));
    expect(forced.code).toBe('action.incomplete');
    expect(forced.message).toMatch(/finalizers cairn\.dev\/test-hold still hold it; Cairn does not remove finalizers$/);
    const after = await kube.core.readNamespacedPod({ name: 'stuck-1', namespace });
    expect(after.metadata?.deletionGracePeriodSeconds).toBe(0);

    await kube.core.patchNamespacedPod(
      { name: 'stuck-1', namespace, body: [{ op: 'remove', path: '/metadata/finalizers' }] },
      PatchAs.json,
    );
    await allReady('stuck', 2, (p) => p.metadata?.uid !== held.metadata?.uid);
  });
});

describe('UpdateStatefulSetStrategy', () => {
  it('switches to OnDelete and back; reports honestly that this API server drops maxUnavailable', async () => {
    await create('strategy', { replicas: 2 });
    const onDelete = await run('UpdateStatefulSetStrategy', ref('strategy'), { type: 'OnDelete' });
    expect(onDelete.detail).toBe(`update strategy of StatefulSet ${namespace}/strategy: RollingUpdate → OnDelete`);
    expect((await read('strategy')).spec?.updateStrategy).toEqual({ type: 'OnDelete' });
    // Under OnDelete a template change replaces nothing.
    await setImage('strategy', 'registry.local/shop/db:1.1.0');
    await eventually('the new revision observed', async () => {
      const s = await read('strategy');
      return (
        (s.status?.observedGeneration ?? 0) >= (s.metadata?.generation ?? 0) &&
        s.status?.updateRevision !== s.status?.currentRevision
      );
    });
    expect((await podsOf(kube, namespace, 'strategy')).map(image)).toEqual([
      'registry.local/shop/db:1.0.0',
      'registry.local/shop/db:1.0.0',
    ]);

    await run('UpdateStatefulSetStrategy', ref('strategy'), { type: 'RollingUpdate' });
    await allReady('strategy', 2, (p) => image(p) === 'registry.local/shop/db:1.1.0');

    const surge = await refusalOf(
      run('UpdateStatefulSetStrategy', ref('strategy'), { type: 'RollingUpdate', maxUnavailable: '2' }),
    );
    expect(surge.code).toBe('action.incomplete');
    expect(surge.message).toMatch(/dropped maxUnavailable=2: its MaxUnavailableStatefulSet feature gate is off/);

    const zero = await refusalOf(
      run('UpdateStatefulSetStrategy', ref('strategy'), { type: 'RollingUpdate', maxUnavailable: '0' }),
    );
    expect(zero.code).toBe('action.unsafe');
    const mixed = await refusalOf(
      run('UpdateStatefulSetStrategy', ref('strategy'), { type: 'OnDelete', maxUnavailable: '1' }),
    );
    expect(mixed.message).toBe('maxUnavailable: applies only to type=RollingUpdate');
    const bad = await refusalOf(run('UpdateStatefulSetStrategy', ref('strategy'), { type: 'Recreate' }));
    expect(bad.message).toBe('type: must be one of RollingUpdate, OnDelete, got "Recreate"');
  });
});

describe('PartitionStatefulSetUpdate', () => {
  it('updates only the ordinals at or above the partition, then all of them', async () => {
    await create('canary', { replicas: 3 });
    const result = await run('PartitionStatefulSetUpdate', ref('canary'), { partition: '2' });
    expect(result.detail).toBe(
      `partition of StatefulSet ${namespace}/canary: 0 → 2 (ordinals 2 and up take the new template, 0 to 1 keep theirs)`,
    );
    await setImage('canary', 'registry.local/shop/db:2.0.0');
    const pods = await allReady('canary', 3, (p) =>
      p.metadata?.name === 'canary-2' ? image(p) === 'registry.local/shop/db:2.0.0' : true,
    );
    expect(Object.fromEntries(pods.map((p) => [p.metadata?.name, image(p)]))).toEqual({
      'canary-0': 'registry.local/shop/db:1.0.0',
      'canary-1': 'registry.local/shop/db:1.0.0',
      'canary-2': 'registry.local/shop/db:2.0.0',
    });

    await run('PartitionStatefulSetUpdate', ref('canary'), { partition: '0' });
    await allReady('canary', 3, (p) => image(p) === 'registry.local/shop/db:2.0.0');

    const above = await refusalOf(run('PartitionStatefulSetUpdate', ref('canary'), { partition: '4' }));
    expect(above.message).toBe(`partition: 4 is above the replica count 3 of StatefulSet ${namespace}/canary`);
    await run('UpdateStatefulSetStrategy', ref('canary'), { type: 'OnDelete' });
    const onDelete = await refusalOf(run('PartitionStatefulSetUpdate', ref('canary'), { partition: '1' }));
    expect(onDelete.code).toBe('action.illegal_state');
  });
});

describe('RecreateStatefulSetPVC', () => {
  it('deletes a claim and its pod only with confirm=true; the set recreates both with a new claim', async () => {
    for (const name of volumes) {
      await kube.core.createPersistentVolume({
        body: {
          metadata: { name },
          spec: {
            capacity: { storage: '1Gi' },
            accessModes: ['ReadWriteOnce'],
            storageClassName: storageClass,
            persistentVolumeReclaimPolicy: 'Retain',
            hostPath: { path: `/tmp/${name}` },
          },
        },
      });
    }
    await create('db', { replicas: 2, parallel: true, claims: { storageClassName: storageClass, size: '1Gi' } });
    const claim = await kube.core.readNamespacedPersistentVolumeClaim({ name: 'data-db-1', namespace });

    const unconfirmed = await refusalOf(
      run('RecreateStatefulSetPVC', ref('db'), { pvc: 'data-db-1', confirm: 'false' }),
    );
    expect(unconfirmed.code).toBe('action.unsafe');
    expect(unconfirmed.message).toBe('confirm: must be true: recreating a claim deletes its data');
    const foreign = await refusalOf(run('RecreateStatefulSetPVC', ref('db'), { pvc: 'data-web-1', confirm: 'true' }));
    expect(foreign.message).toBe(
      `pvc: data-web-1 is not a claim of StatefulSet ${namespace}/db (its claim templates: data)`,
    );

    const result = await run('RecreateStatefulSetPVC', ref('db'), { pvc: 'data-db-1', confirm: 'true' });
    expect(result.detail).toBe(
      `deleted PersistentVolumeClaim data-db-1 (Bound, volume ${claim.spec?.volumeName}) and pod db-1 of StatefulSet ${namespace}/db; the set recreates them with a new claim`,
    );
    const fresh = await eventually('a new Bound claim data-db-1', async () => {
      const c = await kube.core.readNamespacedPersistentVolumeClaim({ name: 'data-db-1', namespace });
      return c.metadata?.uid !== claim.metadata?.uid && c.status?.phase === 'Bound' ? c : undefined;
    });
    expect(fresh.spec?.volumeName).not.toBe(claim.spec?.volumeName);
    await allReady('db', 2);
    // The other claim was kept.
    expect((await kube.core.readNamespacedPersistentVolumeClaim({ name: 'data-db-0', namespace })).status?.phase).toBe(
      'Bound',
    );
  });
});

describe('snapshot of a StatefulSet', () => {
  it('a failed plan puts the spec back exactly', async () => {
    await create('restored', { replicas: 2 });
    const raw = async () =>
      (await clients.custom.getNamespacedCustomObject({
        group: 'apps',
        version: 'v1',
        plural: 'statefulsets',
        namespace,
        name: 'restored',
      })) as { spec: unknown };
    const original = (await raw()).spec;
    const plan: { type: string; params: Record<string, string> }[] = [
      { type: 'ScaleStatefulSet', params: { replicas: '3' } },
      { type: 'AdjustStatefulSetResources', params: { memory_limit: '256Mi' } },
      { type: 'PartitionStatefulSetUpdate', params: { partition: '1' } },
      { type: 'RestartStatefulSet', params: {} },
    ];
    const snapshot = JSON.parse(JSON.stringify(await takeSnapshot(clients, ref('restored'), plan))) as Snapshot;
    for (const step of plan) await run(step.type, ref('restored'), step.params);
    expect((await raw()).spec).not.toEqual(original);

    const restored = await restoreSnapshot(clients, snapshot);
    expect(restored.restored).toEqual([ref('restored')]);
    expect((await raw()).spec).toEqual(original);
    await allReady('restored', 2, (p) => p.spec?.containers[0]?.resources?.limits?.memory === '128Mi');
  });
});
