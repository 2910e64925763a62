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
} from '../../test/support/kube.ts';
import { type ActionClients, createActionClients } from './action.ts';
import { PatchAs } from './patchOptions.ts';
import { requireAction } from './registry.ts';
import { restoreSnapshot, type Snapshot, takeSnapshot } from './snapshot.ts';

let kube: KubeClients;
let clients: ActionClients;
let namespace: string;
let target: ResourceRef;

beforeAll(async () => {
  kube = kubeClients();
  clients = createActionClients(kube.config);
  namespace = await createNamespace(kube, 'actions-snapshot');
  target = { kind: 'Deployment', name: 'web', namespace };
});
afterAll(() => deleteNamespace(kube, namespace));

const run = async (type: string, params: Record<string, string> = {}, on: ResourceRef = target) => {
  const action = requireAction(type);
  action.check(params, on);
  return action.execute({ clients, target: on, params });
};

const allReady = (count: number, check: (pod: k8s.V1Pod) => boolean) =>
  eventually(`${count} ready pods of web`, async () => {
    const pods = await podsOf(kube, namespace, 'web');
    return pods.length === count && pods.every((p) => isReady(p) && check(p)) ? pods : undefined;
  });

/** The Deployment as the API server has it, raw, as the snapshot reads it. */
const rawDeployment = async () =>
  (await clients.custom.getNamespacedCustomObject({
    group: 'apps',
    version: 'v1',
    plural: 'deployments',
    namespace,
    name: 'web',
  })) as { spec: { replicas: number; template: unknown } };

describe('snapshot and restore', () => {
  it('puts a Deployment, its HPA and a ConfigMap back exactly after several actions, and the pods are ready again', async () => {
    await kube.apps.createNamespacedDeployment({ namespace, body: deployment('web', { replicas: 2 }) });
    await allReady(2, () => true);
    await clients.autoscaling.createNamespacedHorizontalPodAutoscaler({
      namespace,
      body: {
        metadata: { name: 'web' },
        spec: {
          scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'web' },
          minReplicas: 2,
          maxReplicas: 5,
        },
      },
    });
    await kube.core.createNamespacedConfigMap({ namespace, body: { metadata: { name: 'web' }, data: { POOL: '10' } } });
    const plan: { type: string; params: Record<string, string> }[] = [
      { type: 'AdjustResources', params: { memory_limit: '256Mi', memory_request: '200Mi', cpu_limit: '1' } },
      { type: 'ScaleDeployment', params: { replicas: '3' } },
      { type: 'AdjustHPA', params: { minReplicas: '3', maxReplicas: '9' } },
      { type: 'PatchConfig', params: { configmap: 'web', key: 'POOL', value: '50' } },
    ];

    const snapshot = await takeSnapshot(clients, target, plan);
    // What the SnapshotTaken event stores: it must survive JSON.
    const stored = JSON.parse(JSON.stringify(snapshot)) as Snapshot;
    expect(Object.keys(stored.captured).sort()).toEqual([
      `ConfigMap/${namespace}/web`,
      `Deployment/${namespace}/web`,
      `HorizontalPodAutoscaler/${namespace}/web`,
    ]);
    expect(stored.resourceVersion).toBe(stored.captured[`Deployment/${namespace}/web`]?.resourceVersion);
    const before = await rawDeployment();

    // A bad release lands (an image change), then the plan runs.
    await kube.apps.patchNamespacedDeployment(
      {
        name: 'web',
        namespace,
        body: [
          { op: 'replace', path: '/spec/template/spec/containers/0/image', value: 'registry.local/shop/web:2.0.0' },
        ],
      },
      PatchAs.json,
    );
    for (const step of plan) await run(step.type, step.params);
    await allReady(3, (p) => p.spec?.containers[0]?.image === 'registry.local/shop/web:2.0.0');
    const changed = await rawDeployment();
    expect(changed.spec.replicas).toBe(3);
    expect(changed.spec.template).not.toEqual(before.spec.template);

    const restored = await restoreSnapshot(clients, stored);
    expect(restored.restored.map((r) => r.kind)).toEqual(['ConfigMap', 'HorizontalPodAutoscaler', 'Deployment']);
    expect(restored.detail).toContain(`restored spec of Deployment ${namespace}/web`);

    const after = await rawDeployment();
    expect(after.spec.template).toEqual(before.spec.template);
    expect(after.spec.replicas).toBe(before.spec.replicas);
    expect(after.spec).toEqual(stored.captured[`Deployment/${namespace}/web`]?.fields.spec);
    const hpa = await clients.autoscaling.readNamespacedHorizontalPodAutoscaler({ name: 'web', namespace });
    expect([hpa.spec?.minReplicas, hpa.spec?.maxReplicas]).toEqual([2, 5]);
    expect((await kube.core.readNamespacedConfigMap({ name: 'web', namespace })).data).toEqual({ POOL: '10' });

    // A rollout back to the old template: the pods run the old image and resources, and are ready.
    await allReady(
      2,
      (p) =>
        p.spec?.containers[0]?.image === 'registry.local/shop/web:1.0.0' &&
        p.spec.containers[0].resources?.limits?.memory === '128Mi',
    );

    // Restoring twice changes nothing more.
    const again = await restoreSnapshot(clients, stored);
    expect(again.restored).toEqual([]);
  });

  it('restores a cordoned node and deletes an object the plan created', async () => {
    const node = 'kwok-node-0';
    await kube.core.createNamespacedConfigMap({
      namespace,
      body: {
        metadata: { name: 'manifests' },
        data: {
          cm: JSON.stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'created' }, data: { a: 'b' } }),
        },
      },
    });
    const plan = [{ type: 'ApplyManifest', params: { configmap: 'manifests', key: 'cm' } }];
    const withNode = [...plan, { type: 'CordonNode', params: { node } }];
    // Only capture the node here, never cordon it: other tests schedule onto the shared nodes.
    const nodeSnapshot = await takeSnapshot(clients, target, withNode);
    expect(nodeSnapshot.captured[`Node//${node}`]).toMatchObject({ kind: 'Node', existed: true, fields: {} });
    expect(nodeSnapshot.captured[`ConfigMap/${namespace}/created`]).toMatchObject({ existed: false });

    const snapshot = await takeSnapshot(clients, target, plan);
    await run('ApplyManifest', { configmap: 'manifests', key: 'cm' });
    await kube.core.readNamespacedConfigMap({ name: 'created', namespace });
    const restored = await restoreSnapshot(clients, JSON.parse(JSON.stringify(snapshot)));
    expect(restored.detail).toContain(`deleted ConfigMap ${namespace}/created, which the plan created`);
    await expect(kube.core.readNamespacedConfigMap({ name: 'created', namespace })).rejects.toMatchObject({
      code: 404,
    });
  });

  it('fails a snapshot of a target that does not exist', async () => {
    await expect(takeSnapshot(clients, { kind: 'Deployment', name: 'ghost', namespace })).rejects.toMatchObject({
      category: 'NotFound',
    });
  });
});
