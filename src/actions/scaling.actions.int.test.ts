import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ResourceRef } from '../../domain/events/common.schema.ts';
import {
  createNamespace,
  deleteNamespace,
  deployment,
  type KubeClients,
  kubeClients,
} from '../../test/support/kube.ts';
import { refusalOf } from '../../test/support/refusal.ts';
import { type ActionClients, createActionClients } from './action.ts';
import { requireAction } from './registry.ts';

let kube: KubeClients;
let clients: ActionClients;
let namespace: string;

beforeAll(async () => {
  kube = kubeClients();
  clients = createActionClients(kube.config);
  namespace = await createNamespace(kube, 'actions-scale');
});
afterAll(() => deleteNamespace(kube, namespace));

const run = async (type: string, target: ResourceRef, params: Record<string, string>) => {
  const action = requireAction(type);
  action.check(params, target);
  return action.execute({ clients, target, params });
};

const failure = refusalOf;

describe('AdjustHPA', () => {
  it("changes the HPA that scales the target, keeping 1 <= min <= max against the HPA's current values", async () => {
    await kube.apps.createNamespacedDeployment({ namespace, body: deployment('api', { replicas: 2 }) });
    await clients.autoscaling.createNamespacedHorizontalPodAutoscaler({
      namespace,
      body: {
        metadata: { name: 'api' },
        spec: {
          scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'api' },
          minReplicas: 2,
          maxReplicas: 4,
          metrics: [
            { type: 'Resource', resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: 80 } } },
          ],
        },
      },
    });
    const api: ResourceRef = { kind: 'Deployment', name: 'api', namespace };

    const result = await run('AdjustHPA', api, { maxReplicas: '8', targetCPUUtilization: '60' });
    expect(result.detail).toBe(`HorizontalPodAutoscaler ${namespace}/api: replicas 2-4 → 2-8, CPU target 80% → 60%`);
    const hpa = await clients.autoscaling.readNamespacedHorizontalPodAutoscaler({ name: 'api', namespace });
    expect(hpa.spec?.minReplicas).toBe(2);
    expect(hpa.spec?.maxReplicas).toBe(8);
    expect(hpa.spec?.metrics).toEqual([
      { type: 'Resource', resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: 60 } } },
    ]);

    const inverted = await failure(run('AdjustHPA', api, { minReplicas: '9' }));
    expect(inverted.code).toBe('action.unsafe');
    expect(inverted.message).toBe('minReplicas: the HPA would have minReplicas 9 above maxReplicas 8');

    const none = await failure(
      run('AdjustHPA', { kind: 'Deployment', name: 'other', namespace }, { maxReplicas: '3' }),
    );
    expect(none.category).toBe('NotFound');
    expect(none.message).toBe(`no HorizontalPodAutoscaler scales Deployment ${namespace}/other`);
  });
});
