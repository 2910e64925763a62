import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ActionSpec, ResourceRef } from '../../domain/events/common.schema.ts';
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
import { defaultRemediationPolicy, evaluatePlan, observePlanFacts } from './policy.ts';

/** The envelope's facts read from a real API server, and the verdicts they lead to. */
let kube: KubeClients;
let clients: ActionClients;
let namespace: string;
const policy = defaultRemediationPolicy();

beforeAll(async () => {
  kube = kubeClients();
  clients = createActionClients(kube.config);
  namespace = await createNamespace(kube, 'envelope');
});
afterAll(() => deleteNamespace(kube, namespace));

const web = (): ResourceRef => ({ kind: 'Deployment', name: 'web', namespace });
let seq = 0;
const act = (type: string, params: Record<string, string> = {}): ActionSpec => ({
  actionId: `a${++seq}`,
  type,
  params,
});

/** The code each action gets (or `ok`), judged as the executor judges a plan about to run. */
async function verdicts(...actions: ActionSpec[]) {
  const facts = await observePlanFacts(clients, web(), actions);
  const result = evaluatePlan(actions, web(), policy, facts, { approved: false });
  return actions.map((a) => result.refused.find((r) => r.action.actionId === a.actionId)?.code ?? 'ok');
}

const setImage = (value: string) =>
  kube.apps.patchNamespacedDeployment(
    {
      name: 'web',
      namespace,
      body: [{ op: 'replace', path: '/spec/template/spec/containers/0/image', value }],
    },
    PatchAs.json,
  );

describe('the sanity envelope on a real cluster', () => {
  it('bounds resources by the current values and the largest KWOK node', async () => {
    await kube.apps.createNamespacedDeployment({ namespace, body: deployment('web', { replicas: 2 }) });
    await eventually('2 ready pods of web', async () =>
      (await podsOf(kube, namespace, 'web')).filter(isReady).length === 2 ? true : undefined,
    );
    const facts = await observePlanFacts(clients, web(), [act('AdjustResources', { memory_limit: '1Gi' })]);
    expect(facts.envelope?.containers?.app).toEqual({
      requests: { cpu: '100m', memory: '128Mi' },
      limits: { memory: '128Mi' },
    });
    const nodes = await kube.core.listNode();
    expect(nodes.items.length).toBeGreaterThan(0);
    expect(facts.envelope?.largestNode?.memory).toBeGreaterThan(0);
    expect(
      await verdicts(
        act('AdjustResources', { memory_request: '4Ti', memory_limit: '4Ti' }),
        act('AdjustResources', { memory_limit: '512Mi' }),
        act('AdjustResources', { memory_limit: '513Mi' }),
      ),
    ).toEqual(['envelope.node_capacity', 'ok', 'envelope.resource']);
  });

  it('rolls back only to a revision whose pods are ready now', async () => {
    // A broken release: the old ReplicaSet keeps a ready pod (maxUnavailable 1), so "previous" is proven healthy.
    await setImage('registry.local/shop/web:1.0.0-broken');
    await eventually('a crash-looping pod of the broken release', async () =>
      (await podsOf(kube, namespace, 'web')).some(
        (p) =>
          p.spec?.containers[0]?.image?.endsWith('-broken') &&
          (p.status?.containerStatuses?.[0]?.restartCount ?? 0) >= 1,
      )
        ? true
        : undefined,
    );
    const during = await observePlanFacts(clients, web(), [act('RollbackDeployment')]);
    expect(during.envelope?.revisions).toEqual({
      current: 2,
      entries: [
        { revision: 2, ready: false },
        { revision: 1, ready: true },
      ],
    });
    expect(await verdicts(act('RollbackDeployment'), act('RollbackDeployment', { toRevision: '9' }))).toEqual([
      'ok',
      'envelope.revision',
    ]);

    // A good release replaces everything: now "previous" is the broken one, scaled away, and never proven.
    await setImage('registry.local/shop/web:1.1.0');
    await eventually('2 ready pods of the good release', async () => {
      const pods = await podsOf(kube, namespace, 'web');
      return pods.length === 2 && pods.every((p) => isReady(p) && p.spec?.containers[0]?.image?.endsWith('1.1.0'))
        ? true
        : undefined;
    });
    await eventually('the broken ReplicaSet to have no ready pod', async () => {
      const [code] = await verdicts(act('RollbackDeployment'));
      return code === 'envelope.revision' ? true : undefined;
    });
    expect(await verdicts(act('RollbackDeployment', { toRevision: 'last-healthy' }))).toEqual(['envelope.revision']);
  });

  it('keeps a scale inside the HPA that scales the workload', async () => {
    await clients.autoscaling.createNamespacedHorizontalPodAutoscaler({
      namespace,
      body: {
        metadata: { name: 'web' },
        spec: {
          scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'web' },
          minReplicas: 2,
          maxReplicas: 4,
        },
      },
    });
    expect(
      await verdicts(act('ScaleDeployment', { replicas: '4' }), act('ScaleDeployment', { replicas: '5' })),
    ).toEqual(['ok', 'envelope.replicas']);
    await clients.autoscaling.deleteNamespacedHorizontalPodAutoscaler({ name: 'web', namespace });
    expect(await verdicts(act('ScaleDeployment', { replicas: '21' }))).toEqual(['envelope.replicas']);
  });

  it('never shrinks a claim and grows it at most 4x', async () => {
    await kube.core.createNamespacedPersistentVolumeClaim({
      namespace,
      body: {
        metadata: { name: 'data' },
        spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } },
      },
    });
    expect(
      await verdicts(
        act('ResizePVC', { pvc: 'data', size: '512Mi' }),
        act('ResizePVC', { pvc: 'data', size: '1Gi' }),
        act('ResizePVC', { pvc: 'data', size: '5Gi' }),
        act('ResizePVC', { pvc: 'missing', size: '2Gi' }),
      ),
    ).toEqual(['envelope.pvc_shrink', 'envelope.pvc_shrink', 'envelope.pvc_growth', 'envelope.unknown']);
    // The one allowed size passes the envelope; ResizePVC is destructive, so it is judged alone.
    expect(await verdicts(act('ResizePVC', { pvc: 'data', size: '2Gi' }))).toEqual(['ok']);
  });

  it('judges an ApplyManifest by the manifest its ConfigMap holds: another namespace or a ClusterRole is refused', async () => {
    const manifest = (body: object) => JSON.stringify(body);
    await kube.core.createNamespacedConfigMap({
      namespace,
      body: {
        metadata: { name: 'fixes' },
        data: {
          svc: manifest({
            apiVersion: 'v1',
            kind: 'Service',
            metadata: { name: 'web' },
            spec: { ports: [{ port: 80 }] },
          }),
          elsewhere: manifest({
            apiVersion: 'v1',
            kind: 'Service',
            metadata: { name: 'web', namespace: 'kube-system' },
          }),
          rbac: manifest({ apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRole', metadata: { name: 'x' } }),
        },
      },
    });
    expect(
      await verdicts(
        act('ApplyManifest', { configmap: 'fixes', key: 'svc' }),
        act('ApplyManifest', { configmap: 'fixes', key: 'elsewhere' }),
        act('ApplyManifest', { configmap: 'fixes', key: 'rbac' }),
        act('ApplyManifest', { configmap: 'fixes', key: 'absent' }),
      ),
    ).toEqual(['ok', 'envelope.manifest', 'envelope.manifest', 'envelope.unknown']);
  });

  it('refuses a drain for an Issue of a namespace unless people approved the plan', async () => {
    // A node running few pods and none of a protected namespace (other suites of this run share the nodes): a drain
    // of another node would be refused for that first, whatever the approval.
    const nodes = (await kube.core.listNode()).items.map((n) => n.metadata?.name ?? '');
    const observed = await Promise.all(
      nodes.map(async (node) => {
        const drain = act('DrainNode', { node });
        return { drain, facts: await observePlanFacts(clients, web(), [drain]) };
      }),
    );
    const free = observed.find(({ drain, facts }) => {
      const evicted = facts.evictablePodsByNode?.[drain.params.node ?? ''] ?? [];
      return (
        evicted.length <= policy.maxPodsAffected && evicted.every((ns) => !policy.protectedNamespaces.includes(ns))
      );
    });
    expect(free, 'a node with few pods, none of a protected namespace').toBeDefined();
    const { drain, facts } = free!;
    expect(evaluatePlan([drain], web(), policy, facts, { approved: false }).refused[0]?.code).toBe(
      'policy.needs_approval',
    );
    expect(evaluatePlan([drain], web(), policy, facts).needsApproval.map((n) => n.action.type)).toEqual(['DrainNode']);
  });
});
