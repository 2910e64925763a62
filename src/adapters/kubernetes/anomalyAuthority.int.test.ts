import { randomBytes } from 'node:crypto';
import * as k8s from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createNamespace,
  deleteNamespace,
  deployment,
  eventually,
  type KubeClients,
  kubeClients,
} from '../../../test/support/kube.ts';
import { createAnomalyIntake } from '../../application/detection/anomalyIntake.ts';
import { createAnomalyRecorder } from '../../application/detection/anomalyRecorder.ts';
import { createMemoryEventStore } from '../eventstore/memory.eventStore.ts';
import { type ManualAnomalyController, startManualAnomalyController } from './manualAnomaly.controller.ts';
import { createWorkloadLookup } from './workloadLookup.ts';

/*
 * Who may make Cairn act through an Anomaly object, on the real API server: a user who may write Anomalies in
 * one namespace, with a token of their own, is refused by the admission policy (crds/anomalies.admission.yaml);
 * a cluster administrator, whom that policy trusts, is refused by the operator itself.
 */

const GROUP = { group: 'aiops.cairn.dev', version: 'v1alpha1', plural: 'anomalies' };

let clients: KubeClients;
let shop: string;
let payments: string;
let user: k8s.CustomObjectsApi;

interface Anomaly {
  metadata: { name: string; uid: string };
  spec: { source?: string };
  status?: { conditions?: { type: string; status: string; reason: string; message: string }[] };
}

const anomaly = (name: string, spec: Record<string, unknown>) => ({
  apiVersion: 'aiops.cairn.dev/v1alpha1',
  kind: 'Anomaly',
  metadata: { name },
  spec: { signal: 'oom_kill', message: 'OOMKilled, says the ticket', ...spec },
});

/** A kubeconfig that authenticates as `serviceaccount`, with a token the API server issued to it. */
async function tokenClient(namespace: string, serviceaccount: string) {
  const token = await clients.core.createNamespacedServiceAccountToken({
    name: serviceaccount,
    namespace,
    body: { spec: { audiences: [], expirationSeconds: 3600 } },
  });
  const cluster = clients.config.getCurrentCluster();
  if (!cluster || !token.status?.token) throw new Error('no cluster or no token');
  const config = new k8s.KubeConfig();
  config.loadFromOptions({
    clusters: [cluster],
    users: [{ name: serviceaccount, token: token.status.token }],
    contexts: [{ name: serviceaccount, cluster: cluster.name, user: serviceaccount }],
    currentContext: serviceaccount,
  });
  return config.makeApiClient(k8s.CustomObjectsApi);
}

beforeAll(async () => {
  clients = kubeClients();
  shop = await createNamespace(clients, 'auth-shop');
  payments = await createNamespace(clients, 'auth-payments');
  await clients.apps.createNamespacedDeployment({ namespace: shop, body: deployment('web', { replicas: 1 }) });
  await clients.apps.createNamespacedDeployment({ namespace: payments, body: deployment('ledger', { replicas: 1 }) });
  // What a team is typically given: write Anomalies in its own namespace, nothing cluster-wide.
  await clients.core.createNamespacedServiceAccount({ namespace: shop, body: { metadata: { name: 'team' } } });
  const rbac = clients.config.makeApiClient(k8s.RbacAuthorizationV1Api);
  await rbac.createNamespacedRole({
    namespace: shop,
    body: {
      metadata: { name: 'anomaly-writer' },
      rules: [{ apiGroups: ['aiops.cairn.dev'], resources: ['anomalies'], verbs: ['create', 'get', 'list', 'patch'] }],
    },
  });
  await rbac.createNamespacedRoleBinding({
    namespace: shop,
    body: {
      metadata: { name: 'anomaly-writer' },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'anomaly-writer' },
      subjects: [{ kind: 'ServiceAccount', name: 'team', namespace: shop }],
    },
  });
  user = await tokenClient(shop, 'team');
});
afterAll(async () => {
  await deleteNamespace(clients, shop);
  await deleteNamespace(clients, payments);
});

const createAs = (api: k8s.CustomObjectsApi, body: ReturnType<typeof anomaly>) =>
  api.createNamespacedCustomObject({ ...GROUP, namespace: shop, body }) as Promise<Anomaly>;

const refusal = (body: ReturnType<typeof anomaly>) =>
  createAs(user, body).then(
    () => ({ code: 0, message: 'accepted' }),
    (error: { code?: number; body?: string }) => ({
      code: error.code ?? -1,
      message: (JSON.parse(error.body ?? '{}') as { message?: string }).message ?? String(error.body),
    }),
  );

describe('the admission policy on Anomalies, for a user of one namespace', () => {
  // The API server loads admission policies a moment after they are created (here, with the CRDs at cluster start).
  beforeAll(() =>
    eventually(
      'the admission policy to be in force',
      async () => (await refusal(anomaly('probe-loaded', { resource: { kind: 'Node', name: 'n0' } }))).code === 403,
      20_000,
    ),
  );

  it('refuses an Anomaly about another namespace, a Node, with a source of Cairn’s, or posing as Cairn’s own', async () => {
    const name = () => `probe-${randomBytes(3).toString('hex')}`;
    const elsewhere = await refusal(
      anomaly(name(), { resource: { kind: 'Deployment', name: 'ledger', namespace: payments } }),
    );
    expect(elsewhere).toEqual({
      code: 403,
      message: expect.stringContaining(
        `spec.resource.namespace: an Anomaly in namespace ${shop} may only name objects of its own namespace, not of ${payments}`,
      ),
    });
    const node = await refusal(anomaly(name(), { signal: 'node_not_ready', resource: { kind: 'Node', name: 'n1' } }));
    expect(node).toEqual({
      code: 403,
      message: expect.stringContaining('spec.resource.kind: a Node is cluster-scoped'),
    });
    for (const source of ['watcher', 'prometheus', 'grpc', 'kafka']) {
      const forged = await refusal(anomaly(name(), { source, resource: { kind: 'Deployment', name: 'web' } }));
      expect(forged, source).toEqual({
        code: 403,
        message: expect.stringContaining(`spec.source: an Anomaly written by hand has source manual; ${source}`),
      });
    }
    const posing = anomaly(name(), { resource: { kind: 'Deployment', name: 'web' } });
    const labelled = { ...posing, metadata: { ...posing.metadata, labels: { 'aiops.cairn.dev/anomaly-id': 'x1' } } };
    expect(await refusal(labelled)).toEqual({
      code: 403,
      message: expect.stringContaining('the label aiops.cairn.dev/anomaly-id marks the Anomalies Cairn writes'),
    });
  });

  it('accepts one about its own namespace, named with or without the namespace; the source defaults to manual', async () => {
    const plain = await createAs(user, anomaly('web-oom', { resource: { kind: 'Deployment', name: 'web' } }));
    expect(plain.spec.source).toBe('manual');
    const explicit = await createAs(
      user,
      anomaly('web-oom-2', { source: 'manual', resource: { kind: 'Deployment', name: 'web', namespace: shop } }),
    );
    expect(explicit.spec.source).toBe('manual');
  });
});

describe('the operator, for an Anomaly the policy let through (written by a cluster administrator)', () => {
  let controller: ManualAnomalyController | undefined;
  const store = createMemoryEventStore();
  const errors: string[] = [];
  beforeAll(() => {
    const recorder = createAnomalyRecorder({
      store,
      newId: () => randomBytes(8).toString('hex'),
      now: () => new Date(),
    });
    controller = startManualAnomalyController({
      config: clients.config,
      intake: createAnomalyIntake({ record: recorder, store }),
      workloads: createWorkloadLookup(clients.config),
      onError: (what, error) => errors.push(`${what}: ${String(error)}`),
    });
  });
  afterAll(() => controller?.stop());

  const accepted = (name: string) =>
    eventually(`Anomaly ${name} to be decided`, async () => {
      const object = (await clients.custom.getNamespacedCustomObject({
        ...GROUP,
        namespace: shop,
        name,
      })) as Anomaly;
      return object.status?.conditions?.find((c) => c.type === 'Accepted');
    });
  const warnings = async (name: string) =>
    (
      await clients.core.listNamespacedEvent({
        namespace: shop,
        fieldSelector: `involvedObject.kind=Anomaly,involvedObject.name=${name}`,
      })
    ).items.map((e) => ({ type: e.type, reason: e.reason, message: e.message }));

  it('refuses another namespace and a Node with a condition and a Warning Event, and records nothing', async () => {
    const admin = clients.custom;
    const crossing = await createAs(
      admin,
      anomaly('ledger-oom', {
        source: 'watcher',
        resource: { kind: 'Deployment', name: 'ledger', namespace: payments },
      }),
    );
    const node = await createAs(
      admin,
      anomaly('node-down', { signal: 'node_not_ready', resource: { kind: 'Node', name: 'kwok-node-0' } }),
    );

    expect(await accepted('ledger-oom')).toMatchObject({
      status: 'False',
      reason: 'OutsideNamespace',
      message: `Deployment ${payments}/ledger is outside namespace ${shop}: an Anomaly may only name objects of its own namespace`,
    });
    expect(await accepted('node-down')).toMatchObject({ status: 'False', reason: 'ClusterScopedTarget' });
    expect(await warnings('ledger-oom')).toEqual([
      {
        type: 'Warning',
        reason: 'OutsideNamespace',
        message: expect.stringContaining(`Cairn did not record this Anomaly: Deployment ${payments}/ledger is outside`),
      },
    ]);
    expect(await warnings('node-down')).toEqual([
      { type: 'Warning', reason: 'ClusterScopedTarget', message: expect.stringContaining('cluster-scoped') },
    ]);
    const about = new Set([`manual-${crossing.metadata.uid}`, `manual-${node.metadata.uid}`]);
    const recorded = (await store.readAll()).filter((e) =>
      about.has((e.data as { anomalyId?: string }).anomalyId ?? ''),
    );
    expect(recorded).toEqual([]);
    expect(errors).toEqual([]);
  });

  it('refuses an Anomaly observed in year 1, naming spec.observedAt, and records nothing', async () => {
    const ancient = await createAs(
      clients.custom,
      anomaly('web-ancient', {
        signal: 'latency_spike',
        resource: { kind: 'Deployment', name: 'web' },
        observedAt: '0001-01-01T00:00:00Z',
      }),
    );
    expect(await accepted('web-ancient')).toMatchObject({
      status: 'False',
      reason: 'InvalidSpec',
      message: expect.stringMatching(/^spec.observedAt 0001-01-01T00:00:00Z is more than 7 days before now/),
    });
    const recorded = (await store.readAll()).filter(
      (e) => (e.data as { anomalyId?: string }).anomalyId === `manual-${ancient.metadata.uid}`,
    );
    expect(recorded).toEqual([]);
  });

  it('records a hand-made Anomaly that claims a source of Cairn’s as manual', async () => {
    const forged = await createAs(
      clients.custom,
      // Another signal than the objects above, which the controller records too: this one is no duplicate.
      anomaly('web-watcher', { signal: 'crashloop', source: 'watcher', resource: { kind: 'Deployment', name: 'web' } }),
    );
    expect(await accepted('web-watcher')).toMatchObject({ status: 'True', reason: 'Recorded' });
    const detected = (await store.readAll()).find(
      (e) =>
        e.type === 'AnomalyDetected' && (e.data as { anomalyId: string }).anomalyId === `manual-${forged.metadata.uid}`,
    );
    expect(detected?.data).toMatchObject({
      source: 'manual',
      workload: { kind: 'Deployment', name: 'web', namespace: shop },
    });
  });
});
