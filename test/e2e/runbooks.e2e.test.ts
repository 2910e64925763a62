import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { openEventStore } from '../../src/adapters/eventstore/openEventStore.ts';
import { applyFault } from '../../src/cluster/faults.ts';
import type { LocalCluster } from '../../src/cluster/localCluster.ts';
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
  testCluster,
} from '../support/kube.ts';

interface CairnObject {
  metadata: { name: string; labels?: Record<string, string> };
  spec: Record<string, unknown> & { resource?: { name: string }; issueRef?: { name: string } };
  status?: { state?: string };
}

let clients: KubeClients;
let cluster: LocalCluster;
let namespace: string;
let operator: RunningOperator;
let storeUrl: string;
const group = { group: 'aiops.cairn.dev', version: 'v1alpha1' };

beforeAll(async () => {
  clients = kubeClients();
  cluster = await testCluster();
  namespace = await createNamespace(clients, 'runbooks');
  storeUrl = `sqlite:${join(mkdtempSync(join(tmpdir(), 'cairn-runbooks-')), 'events.db')}`;
  operator = await startOperator({
    kubeconfig: inject('kubeconfig'),
    store: storeUrl,
    namespace,
    watchNamespaces: [namespace],
    verificationTimeoutSeconds: 30,
    thresholds: { workloadUnavailableSeconds: 3600, podNotReadySeconds: 3 },
  });
  await eventually('the operator to lead', async () => operator.isLeader());
});
afterAll(async () => {
  await operator?.stop();
  await deleteNamespace(clients, namespace);
});

const list = async (plural: string) =>
  ((await clients.custom.listNamespacedCustomObject({ ...group, namespace, plural })) as { items: CairnObject[] })
    .items;

const resolvedIssue = (workload: string) =>
  eventually(
    `the Issue of ${workload} to be resolved`,
    async () =>
      (await list('issues')).find((i) => i.spec.resource?.name === workload && i.status?.state === 'Resolved'),
    120_000,
  );

const planOf = async (issue: CairnObject) =>
  (await list('remediationplans')).find((p) => p.spec.issueRef?.name === issue.metadata.name);

const planCreated = async (issue: CairnObject) => {
  const store = openEventStore(storeUrl);
  try {
    const issueId = issue.metadata.labels?.['aiops.cairn.dev/issue-id'];
    const all = await store.readAll();
    return all.find((e) => e.type === 'RemediationPlanCreated' && (e.data as { issueId: string }).issueId === issueId)
      ?.data as { source: string; runbook?: string; actions: { type: string }[] } | undefined;
  } finally {
    await store.close();
  }
};

async function readyDeployment(name: string) {
  await clients.apps.createNamespacedDeployment({ namespace, body: deployment(name, { replicas: 2 }) });
  await eventually(`${name} ready`, async () => (await podsOf(clients, namespace, name)).filter(isReady).length === 2);
}

describe('runbooks on a real cluster', () => {
  it('a hand-written Runbook that matches takes precedence over the analysis', async () => {
    await clients.custom.createNamespacedCustomObject({
      ...group,
      namespace,
      plural: 'runbooks',
      body: {
        apiVersion: 'aiops.cairn.dev/v1alpha1',
        kind: 'Runbook',
        metadata: { name: 'unwedge-deployments' },
        spec: {
          description: 'Pods that stop answering readiness are replaced by a rolling restart.',
          trigger: { severity: 'low', signal: 'pod_not_ready', resourceKind: 'Deployment' },
          steps: [{ name: 'rolling-restart', action: 'RestartDeployment' }],
        },
      },
    });
    await readyDeployment('api');
    await applyFault(cluster, 'not-ready', `${namespace}/api`);

    const issue = await resolvedIssue('api');
    expect(await planCreated(issue)).toMatchObject({
      source: 'manual-runbook',
      runbook: 'unwedge-deployments',
      actions: [{ type: 'RestartDeployment' }],
    });
    expect(await planOf(issue)).toMatchObject({
      spec: { runbookRef: { name: 'unwedge-deployments' } },
      status: { state: 'Completed' },
    });
  });

  it("records the analysis' plan as a generated Runbook for review, and does not apply it unreviewed", async () => {
    await readyDeployment('web');
    await applyFault(cluster, 'crashloop', `${namespace}/web`);
    const first = await resolvedIssue('web');
    expect(await planCreated(first)).toMatchObject({
      source: 'ai-runbook',
      runbook: 'auto-pod-restart-low-deployment',
    });

    const generated = (await list('runbooks')).find((r) => r.metadata.name === 'auto-pod-restart-low-deployment');
    expect(generated?.metadata.labels).toMatchObject({ 'aiops.cairn.dev/auto-generated': 'true' });
    expect(generated?.spec).toMatchObject({
      trigger: { severity: 'low', signal: 'pod_restart', resourceKind: 'Deployment' },
      steps: [{ action: 'RollbackDeployment', params: { toRevision: '1' } }],
    });

    // The same fault elsewhere is analysed afresh: the generated runbook is not adopted yet.
    await readyDeployment('shop');
    await applyFault(cluster, 'crashloop', `${namespace}/shop`);
    const second = await resolvedIssue('shop');
    expect((await planCreated(second))?.source).toBe('ai-runbook');
  });
});
