import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ResourceRef } from '../../domain/events/common.schema.ts';
import {
  createNamespace,
  deleteNamespace,
  eventually,
  type KubeClients,
  kubeClients,
} from '../../test/support/kube.ts';
import { refusalOf } from '../../test/support/refusal.ts';
import { type ActionClients, createActionClients } from './action.ts';
import { requireAction } from './registry.ts';

/** StorageClasses and PersistentVolumes are cluster-scoped: each gets a unique name and is removed afterwards. */
let kube: KubeClients;
let clients: ActionClients;
let namespace: string;
const storageClass = `cairn-expandable-${randomBytes(3).toString('hex')}`;
const volume = `cairn-pv-${randomBytes(3).toString('hex')}`;

beforeAll(async () => {
  kube = kubeClients();
  clients = createActionClients(kube.config);
  namespace = await createNamespace(kube, 'actions-storage');
});
afterAll(async () => {
  await deleteNamespace(kube, namespace);
  await kube.core.deletePersistentVolume({ name: volume }).catch(() => undefined);
  await clients.storage.deleteStorageClass({ name: storageClass }).catch(() => undefined);
});

const run = async (type: string, target: ResourceRef, params: Record<string, string>) => {
  const action = requireAction(type);
  action.check(params, target);
  return action.execute({ clients, target, params });
};

const failure = refusalOf;

describe('ResizePVC', () => {
  it('grows a bound claim whose StorageClass allows it, and refuses to shrink it', async () => {
    await clients.storage.createStorageClass({
      body: {
        metadata: { name: storageClass },
        provisioner: 'kubernetes.io/no-provisioner',
        allowVolumeExpansion: true,
      },
    });
    await kube.core.createPersistentVolume({
      body: {
        metadata: { name: volume },
        spec: {
          capacity: { storage: '1Gi' },
          accessModes: ['ReadWriteOnce'],
          storageClassName: storageClass,
          hostPath: { path: `/tmp/${volume}` },
          claimRef: { namespace, name: 'data' },
        },
      },
    });
    await kube.core.createNamespacedPersistentVolumeClaim({
      namespace,
      body: {
        metadata: { name: 'data' },
        spec: {
          accessModes: ['ReadWriteOnce'],
          storageClassName: storageClass,
          volumeName: volume,
          resources: { requests: { storage: '1Gi' } },
        },
      },
    });
    await eventually('the claim to be Bound', async () => {
      const claim = await kube.core.readNamespacedPersistentVolumeClaim({ name: 'data', namespace });
      return claim.status?.phase === 'Bound';
    });
    const target: ResourceRef = { kind: 'StatefulSet', name: 'db', namespace };

    const shrink = await failure(run('ResizePVC', target, { pvc: 'data', size: '512Mi' }));
    expect(shrink.code).toBe('action.unsafe');
    expect(shrink.message).toBe('size: 512Mi is smaller than the current 1Gi: volumes never shrink');

    const grown = await run('ResizePVC', target, { pvc: 'data', size: '2Gi' });
    expect(grown.detail).toBe(`PersistentVolumeClaim ${namespace}/data: requested storage 1Gi → 2Gi`);
    const claim = await kube.core.readNamespacedPersistentVolumeClaim({ name: 'data', namespace });
    expect(claim.spec?.resources?.requests?.storage).toBe('2Gi');

    const same = await run('ResizePVC', target, { pvc: 'data', size: '2048Mi' });
    expect(same.touched).toEqual([]);
  });
});
