import * as k8s from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ActionSpec } from '../../domain/events/common.schema.ts';
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
import { blastRadiusKey } from './blastRadius.ts';
import { defaultRemediationPolicy, evaluatePlan, observePlanFacts, PolicyCode } from './policy.ts';

let kube: KubeClients;
let clients: ActionClients;
let namespace: string;
const policy = defaultRemediationPolicy();

const allReady = (app: string, count: number) =>
  eventually(`${count} ready pods of ${app}`, async () => {
    const pods = await podsOf(kube, namespace, app);
    return pods.length === count && pods.every(isReady) ? pods : undefined;
  });

beforeAll(async () => {
  kube = kubeClients();
  clients = createActionClients(kube.config);
  namespace = await createNamespace(kube, 'blast-radius');
  // Room for the 7 pods below and 1 more: the quota controller counts them in status.used.
  await kube.core.createNamespacedResourceQuota({
    namespace,
    body: { metadata: { name: 'pod-budget' }, spec: { hard: { pods: '8' } } },
  });
  await kube.apps.createNamespacedDeployment({ namespace, body: deployment('guarded', { replicas: 3 }) });
  await kube.apps.createNamespacedDeployment({ namespace, body: deployment('web', { replicas: 2 }) });
  await kube.apps.createNamespacedDeployment({ namespace, body: deployment('api', { replicas: 2 }) });
  await clients.policy.createNamespacedPodDisruptionBudget({
    namespace,
    body: {
      metadata: { name: 'guarded-pdb' },
      spec: { minAvailable: 3, selector: { matchLabels: { app: 'guarded' } } },
    },
  });
  await kube.core.createNamespacedService({
    namespace,
    body: { metadata: { name: 'api' }, spec: { selector: { app: 'api', role: 'primary' }, ports: [{ port: 80 }] } },
  });
  await Promise.all([allReady('guarded', 3), allReady('web', 2), allReady('api', 2)]);
  await eventually(
    'the disruption controller to count the budget',
    async () => {
      const pdb = await clients.policy.readNamespacedPodDisruptionBudget({ name: 'guarded-pdb', namespace });
      return pdb.status?.currentHealthy === 3 && pdb.status.disruptionsAllowed === 0;
    },
    120_000,
  );
  await eventually(
    'the quota controller to count the pods',
    async () =>
      (await kube.core.readNamespacedResourceQuota({ name: 'pod-budget', namespace })).status?.used?.pods === '7',
    120_000,
  );
}, 240_000);
afterAll(() => deleteNamespace(kube, namespace));

const ref = (name: string) => ({ kind: 'Deployment', name, namespace });
const spec = (type: string, params: Record<string, string> = {}): ActionSpec => ({
  actionId: `${type}-1`,
  type,
  params,
});

const judge = async (name: string, action: ActionSpec) => {
  const facts = await observePlanFacts(clients, ref(name), [action], undefined, policy);
  return { facts, verdict: evaluatePlan([action], ref(name), policy, facts) };
};

describe('the blast radius of a plan, read from the cluster', () => {
  it('refuses DeletePod on a Deployment whose PodDisruptionBudget allows no disruption, naming the budget', async () => {
    const action = spec('DeletePod');
    const { facts, verdict } = await judge('guarded', action);
    const radius = facts.blastRadius?.[blastRadiusKey(action)];
    expect(radius?.pods).toHaveLength(1);
    expect(radius?.pods[0]).toMatch(new RegExp(`^${namespace}/guarded-`));
    expect(verdict.allowed).toEqual([]);
    expect(verdict.refused).toEqual([
      {
        action,
        code: PolicyCode.Disruption,
        reason: `DeletePod would disrupt too much: it takes down 1 healthy pod(s) covered by PodDisruptionBudget ${namespace}/guarded-pdb, which allows 0 disruption(s) (3 healthy, 3 required)`,
      },
    ]);
  });

  it('refuses a rolling restart that would take a budgeted pod down, one at a time as its strategy says', async () => {
    const action = spec('RestartDeployment');
    const { facts, verdict } = await judge('guarded', action);
    const radius = facts.blastRadius?.[blastRadiusKey(action)];
    // maxUnavailable 1, maxSurge 1: every pod is replaced, one down at a time, one surge pod (7 + 1 fits the quota).
    expect(radius?.pods).toHaveLength(3);
    expect(radius?.rollout).toEqual({ podsDownAtOnce: 1, surgePods: 1 });
    expect(radius?.quotaOverflows).toEqual([]);
    expect(verdict.refused).toEqual([
      {
        action,
        code: PolicyCode.Disruption,
        reason: `RestartDeployment (a rolling restart of 3 pod(s), 1 down at once) would disrupt too much: it takes down 1 healthy pod(s) covered by PodDisruptionBudget ${namespace}/guarded-pdb, which allows 0 disruption(s) (3 healthy, 3 required)`,
      },
    ]);
  });

  it('refuses a scale-up that would exceed the ResourceQuota, naming the quota', async () => {
    const action = spec('ScaleDeployment', { replicas: '6' });
    const { verdict } = await judge('web', action);
    expect(verdict.refused).toEqual([
      {
        action,
        code: PolicyCode.QuotaExceeded,
        reason: `ScaleDeployment (2 → 6 replicas) would exceed a quota: ResourceQuota ${namespace}/pod-budget allows pods=8, 7 is used and the action adds 4`,
      },
    ]);
  });

  it('refuses deleting the one pod a Service selects, naming the Service', async () => {
    // A Service that routes to a primary only: one pod of two carries the label.
    const [primary] = await podsOf(kube, namespace, 'api');
    const name = primary?.metadata?.name ?? '';
    await kube.core.patchNamespacedPod(
      { name, namespace, body: [{ op: 'add', path: '/metadata/labels/role', value: 'primary' }] },
      k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.JsonPatch),
    );
    const action = spec('DeletePod', { pod: name });
    const { verdict } = await judge('api', action);
    expect(verdict.refused).toEqual([
      {
        action,
        code: PolicyCode.Disruption,
        reason: `DeletePod would disrupt too much: it leaves Service ${namespace}/api with no ready endpoint (1 ready now)`,
      },
    ]);
  });

  it('lets harmless actions through: a pod with no budget, a scale-up that just fits the quota', async () => {
    const deletion = spec('DeletePod');
    const deleted = await judge('web', deletion);
    expect(deleted.verdict.refused).toEqual([]);
    expect(deleted.verdict.allowed).toEqual([deletion]);
    // 7 pods + 1 fills the quota exactly: allowed.
    const scale = spec('ScaleDeployment', { replicas: '3' });
    const scaled = await judge('web', scale);
    expect(scaled.verdict.refused).toEqual([]);
    expect(scaled.facts.blastRadius?.[blastRadiusKey(scale)]).toEqual({
      pods: [],
      replicas: { before: 2, after: 3 },
      pdbViolations: [],
      servicesEmptied: [],
      quotaOverflows: [],
    });
  });
});
