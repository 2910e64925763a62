import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { stringify } from 'yaml';
import { openEventStore } from '../../src/adapters/eventstore/openEventStore.ts';
import { manualAnomalyId } from '../../src/adapters/kubernetes/manualAnomaly.controller.ts';
import { kubectl, type LocalCluster } from '../../src/cluster/localCluster.ts';
import { type OperatorOptions, type RunningOperator, startOperator } from '../../src/operator.ts';
import {
  createNamespace,
  deleteNamespace,
  deployment,
  eventually,
  type KubeClients,
  kubeClients,
  podsOf,
  testCluster,
} from '../support/kube.ts';

interface Condition {
  type: string;
  status: string;
  reason: string;
  message: string;
  observedGeneration?: number;
}
interface CairnObject {
  metadata: { name: string; uid: string; labels?: Record<string, string> };
  spec: Record<string, unknown> & { signal: string; source: string; resource: { kind: string; name: string } };
  status?: Record<string, unknown> & {
    correlated?: boolean;
    issueRef?: { name: string };
    conditions?: Condition[];
    state?: string;
  };
}

let clients: KubeClients;
let cluster: LocalCluster;
let namespace: string;
let operator: RunningOperator;
let options: OperatorOptions;

beforeAll(async () => {
  clients = kubeClients();
  cluster = await testCluster();
  namespace = await createNamespace(clients, 'manual');
  options = {
    // Detection only: remediation has its own scenarios.
    remediate: false,
    watchNamespaces: [namespace],
    kubeconfig: inject('kubeconfig'),
    store: `sqlite:${join(mkdtempSync(join(tmpdir(), 'cairn-manual-')), 'events.db')}`,
    namespace,
    // A short lease lets the restart below take over at once; the watchers stay out of these workloads' way.
    leaseDurationMs: 3_000,
    thresholds: { workloadUnavailableSeconds: 3600 },
    ...(process.env.CAIRN_TEST_LOG ? { log: (line: string) => process.stderr.write(`[operator] ${line}\n`) } : {}),
  };
  operator = await startOperator(options);
  await eventually('the operator to lead', async () => operator.isLeader());
});
afterAll(async () => {
  await operator?.stop();
  await deleteNamespace(clients, namespace);
});

const apply = (name: string, spec: object, labels: Record<string, string> = {}) =>
  kubectl(
    cluster,
    ['-n', namespace, 'apply', '-f', '-'],
    stringify({ apiVersion: 'aiops.cairn.dev/v1alpha1', kind: 'Anomaly', metadata: { name, labels }, spec }),
  );
const get = async (name: string) =>
  (await clients.custom.getNamespacedCustomObject({
    group: 'aiops.cairn.dev',
    version: 'v1alpha1',
    namespace,
    plural: 'anomalies',
    name,
  })) as CairnObject;
const list = async (plural: 'anomalies' | 'issues') =>
  (
    (await clients.custom.listNamespacedCustomObject({
      group: 'aiops.cairn.dev',
      version: 'v1alpha1',
      namespace,
      plural,
    })) as { items: CairnObject[] }
  ).items;
const accepted = (object: CairnObject) => object.status?.conditions?.find((c) => c.type === 'Accepted');
const decided = (name: string) =>
  eventually(`Anomaly ${name} to be decided`, async () => {
    const object = await get(name);
    return accepted(object) ? object : undefined;
  });
const issueOn = (workload: string) =>
  eventually(`an Issue on ${workload}`, async () => {
    const issues = (await list('issues')).filter((i) => i.spec.resource.name === workload);
    if (issues.length > 1) throw new Error(`more than one Issue on ${workload}`);
    return issues[0]?.status?.state ? issues[0] : undefined;
  });
const eventsAbout = async (anomalyId: string) => {
  const store = openEventStore(options.store);
  try {
    return (await store.readAll()).filter((e) => (e.data as { anomalyId?: string }).anomalyId === anomalyId);
  } finally {
    await store.close();
  }
};

describe('hand-made Anomaly objects on a real cluster', () => {
  it('a manual Anomaly on a Deployment opens an Issue with source manual, listed under its own name', async () => {
    await clients.apps.createNamespacedDeployment({ namespace, body: deployment('ledger', { replicas: 1 }) });
    await apply('ledger-slow', {
      signal: 'latency_spike',
      source: 'manual',
      resource: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'ledger' },
      severity: 'high',
      message: 'Customers report slow ledger pages since the 14:05 deploy.',
    });

    const issue = await issueOn('ledger');
    expect(issue.spec).toMatchObject({
      source: 'manual',
      signal: 'latency_spike',
      resource: { kind: 'Deployment', name: 'ledger' },
      anomalies: ['ledger-slow'],
    });
    const anomaly = await decided('ledger-slow');
    expect(accepted(anomaly)).toMatchObject({ status: 'True', reason: 'Recorded', observedGeneration: 1 });
    expect(anomaly.status).toMatchObject({
      correlated: true,
      issueRef: { name: issue.metadata.name },
      dedupKey: expect.stringMatching(/^[0-9a-f]{64}$/),
    });
    expect(anomaly.status?.conditions?.find((c) => c.type === 'Correlated')).toMatchObject({
      status: 'True',
      message: `opened Issue ${issue.metadata.name}`,
    });
    // The resource writer made no copy of it: the hand-made object is the Anomaly.
    const onLedger = (await list('anomalies')).filter((a) => a.spec.resource.name === 'ledger');
    expect(onLedger.map((a) => a.metadata.name)).toEqual(['ledger-slow']);
  });

  it('resolves a Pod to its Deployment, and records an object once however often it is applied or re-listed', async () => {
    await clients.apps.createNamespacedDeployment({ namespace, body: deployment('vault', { replicas: 1 }) });
    const [pod] = await eventually('a vault pod', async () => {
      const pods = await podsOf(clients, namespace, 'vault');
      return pods.length > 0 ? pods : undefined;
    });
    const podName = pod?.metadata?.name ?? '';
    const spec = {
      signal: 'error_rate',
      source: 'manual',
      resource: { kind: 'Pod', name: podName },
      message: 'vault answers 503 to one client in ten',
    };
    await apply('vault-errors', spec);
    const first = await decided('vault-errors');
    expect(accepted(first)).toMatchObject({ status: 'True', reason: 'Recorded' });
    const issue = await issueOn('vault');
    expect(issue.spec).toMatchObject({ resource: { kind: 'Deployment', name: 'vault' }, anomalies: ['vault-errors'] });

    // Applied again, unchanged and then with a new label (a real update event), and the operator restarted.
    await apply('vault-errors', spec);
    await apply('vault-errors', spec, { ticket: 'ops-42' });
    await operator.stop();
    operator = await startOperator(options);
    await eventually('the restarted operator to lead', async () => operator.isLeader());
    // A later object decided by the restarted operator: by then it has re-listed, and re-reconciled, the first.
    await apply('vault-zz-later', { ...spec, signal: 'latency_spike' });
    await decided('vault-zz-later');

    const events = await eventsAbout(manualAnomalyId(first.metadata.uid));
    const count = (type: string) => events.filter((e) => e.type === type).length;
    expect([count('AnomalyDetected'), count('AnomalyDeduplicated'), count('CorrelationIssueOpened')]).toEqual([
      1, 0, 1,
    ]);
    expect(events.find((e) => e.type === 'AnomalyDetected')?.data).toMatchObject({
      source: 'manual',
      resource: { kind: 'Pod', name: podName, namespace },
      workload: { kind: 'Deployment', name: 'vault', namespace },
    });
    const after = await get('vault-errors');
    expect(accepted(after)).toEqual(accepted(first));
  });

  it('rejects, in its status and without recording anything, an Anomaly about a missing Pod or a non-workload', async () => {
    await apply('ghost-restarts', {
      signal: 'pod_restart',
      source: 'manual',
      resource: { kind: 'Pod', name: 'ghost-7f9c' },
      message: 'restarting all night',
    });
    await apply('front-errors', {
      signal: 'error_rate',
      source: 'manual',
      resource: { apiVersion: 'v1', kind: 'Service', name: 'front' },
      message: 'the load balancer reports 5xx',
    });

    const ghost = await decided('ghost-restarts');
    expect(accepted(ghost)).toMatchObject({ status: 'False', reason: 'ResourceNotFound', observedGeneration: 1 });
    expect(accepted(ghost)?.message).toBe(`Pod ${namespace}/ghost-7f9c does not exist`);
    expect(ghost.status?.correlated).toBe(false);
    const front = await decided('front-errors');
    expect(accepted(front)).toMatchObject({ status: 'False', reason: 'NotAWorkload' });
    expect(accepted(front)?.message).toContain('Service is not a kind Cairn correlates on');

    expect(await eventsAbout(manualAnomalyId(ghost.metadata.uid))).toEqual([]);
    expect((await list('issues')).filter((i) => ['ghost-7f9c', 'front'].includes(i.spec.resource.name))).toEqual([]);
    expect(operator.isLeader()).toBe(true);
  });
});
