import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { openEventStore } from '../../src/adapters/eventstore/openEventStore.ts';
import { type RunningOperator, startOperator } from '../../src/operator.ts';
import {
  createNamespace,
  deleteNamespace,
  deployment,
  eventually,
  isReady,
  type KubeClients,
  kubeClients,
  podsOf,
} from '../support/kube.ts';

/*
 * The forged signal of a hostile probe: an Anomaly object that claims Cairn's own watcher saw an OOM kill on a
 * Deployment that is perfectly healthy. Written by someone the admission policy lets through (a cluster
 * administrator), it is still recorded as manual, and the operator, with its default settings, plans for it but
 * waits for people: the Deployment is not touched.
 */

interface CairnObject {
  metadata: { name: string; labels?: Record<string, string> };
  spec: Record<string, unknown> & { resource?: { name: string }; issueRef?: { name: string } };
  status?: Record<string, unknown> & { state?: string };
}

let clients: KubeClients;
let namespace: string;
let operator: RunningOperator;
let storeUrl: string;

beforeAll(async () => {
  clients = kubeClients();
  namespace = await createNamespace(clients, 'forged');
  storeUrl = `sqlite:${join(mkdtempSync(join(tmpdir(), 'cairn-forged-')), 'events.db')}`;
  // The defaults of `cairn operator`, but for the namespace watched.
  operator = await startOperator({
    kubeconfig: inject('kubeconfig'),
    store: storeUrl,
    namespace,
    watchNamespaces: [namespace],
    ...(process.env.CAIRN_TEST_LOG ? { log: (line: string) => process.stderr.write(`[forged] ${line}\n`) } : {}),
  });
  await eventually('the operator to lead', async () => operator.isLeader());
});
afterAll(async () => {
  await operator?.stop();
  await deleteNamespace(clients, namespace);
});

const list = async (plural: string) =>
  (
    (await clients.custom.listNamespacedCustomObject({
      group: 'aiops.cairn.dev',
      version: 'v1alpha1',
      namespace,
      plural,
    })) as { items: CairnObject[] }
  ).items;

describe('a forged oom_kill on a healthy Deployment', () => {
  it('opens a manual Issue whose plan waits for approval, and leaves the Deployment as it was', async () => {
    // Two healthy releases, so a rollback would have somewhere to go.
    await clients.apps.createNamespacedDeployment({ namespace, body: deployment('ledger', { replicas: 2 }) });
    await clients.apps.patchNamespacedDeployment({
      namespace,
      name: 'ledger',
      body: [{ op: 'replace', path: '/spec/template/spec/containers/0/image', value: 'registry.local/shop/web:1.1.0' }],
    });
    await eventually('ledger 1.1.0 ready', async () => {
      const d = await clients.apps.readNamespacedDeployment({ namespace, name: 'ledger' });
      const ready = (await podsOf(clients, namespace, 'ledger')).filter(isReady);
      return (
        d.status?.updatedReplicas === 2 && d.status.observedGeneration === d.metadata?.generation && ready.length === 2
      );
    });
    const before = await clients.apps.readNamespacedDeployment({ namespace, name: 'ledger' });

    await clients.custom.createNamespacedCustomObject({
      group: 'aiops.cairn.dev',
      version: 'v1alpha1',
      namespace,
      plural: 'anomalies',
      body: {
        apiVersion: 'aiops.cairn.dev/v1alpha1',
        kind: 'Anomaly',
        metadata: { name: 'ledger-oom' },
        spec: {
          signal: 'oom_kill',
          source: 'watcher',
          resource: { kind: 'Deployment', name: 'ledger' },
          message: 'container app was OOMKilled',
        },
      },
    });

    const issue = await eventually('the Issue on ledger', async () =>
      (await list('issues')).find((i) => i.spec.resource?.name === 'ledger'),
    );
    expect(issue.spec).toMatchObject({ source: 'manual', signal: 'oom_kill' });
    const plan = await eventually(
      'its plan to wait for approval',
      async () =>
        (await list('remediationplans')).find(
          (p) => p.spec.issueRef?.name === issue.metadata.name && p.status?.state === 'AwaitingApproval',
        ),
      120_000,
    );
    const requestId = (plan.status?.approvalRequestRef as { name: string } | undefined)?.name ?? '';
    const pending = await eventually('the pending approval', async () =>
      (await operator.approvals.listPending()).find((r) => r.requestId === requestId),
    );
    // There was something to run: without the wait, it would have run by now.
    expect(pending.actions.length).toBeGreaterThan(0);

    const after = await clients.apps.readNamespacedDeployment({ namespace, name: 'ledger' });
    expect(after.metadata?.generation).toBe(before.metadata?.generation);
    expect(after.spec?.template).toEqual(before.spec?.template);
    expect(after.spec?.replicas).toBe(before.spec?.replicas);
    const store = openEventStore(storeUrl);
    try {
      const types = (await store.readAll()).map((e) => e.type);
      expect(types).toContain('ApprovalRequested');
      expect(types).not.toContain('ActionStarted');
    } finally {
      await store.close();
    }
    expect((await list('issues')).find((i) => i.metadata.name === issue.metadata.name)?.status?.state).toBe(
      'Remediating',
    );
  });
});
