import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { generateKey, writeKeyFile } from '../../src/adapters/http/security/apiKeys.ts';
import { applyFault } from '../../src/cluster/faults.ts';
import type { LocalCluster } from '../../src/cluster/localCluster.ts';
import { type RunningOperator, startOperator } from '../../src/operator.ts';
import {
  createNamespace,
  deleteNamespace,
  deployment,
  eventually,
  type KubeClients,
  kubeClients,
  testCluster,
} from '../support/kube.ts';

/**
 * The replay that once stopped every custom-resource write: the same Alertmanager alert delivered again after its
 * Issue was resolved, then a thousand copies of it in one body. Afterwards an ordinary fault must still get its
 * Issue object, and /readyz and /metrics must say the resource writer has caught up.
 */
interface CairnObject {
  metadata: { name: string };
  spec: { resource: { name: string }; signal: string; anomalies?: string[] };
  status?: { state?: string };
}
interface WebhookAnswer {
  received: number;
  recorded: number;
  results: {
    index: number;
    status: string;
    anomalyId?: string;
    issue?: { id: string; name: string };
    repeated?: boolean;
  }[];
}

let clients: KubeClients;
let cluster: LocalCluster;
let namespace: string;
let operator: RunningOperator;
const key = generateKey('alertmanager', 'operator');

beforeAll(async () => {
  clients = kubeClients();
  cluster = await testCluster();
  namespace = await createNamespace(clients, 'replay');
  const dataDir = mkdtempSync(join(tmpdir(), 'cairn-replay-'));
  writeKeyFile(join(dataDir, 'api-keys.json'), [key.stored]);
  operator = await startOperator({
    kubeconfig: inject('kubeconfig'),
    store: `sqlite:${join(dataDir, 'events.db')}`,
    namespace,
    http: { host: '127.0.0.1', port: 0 },
    api: { keysFile: join(dataDir, 'api-keys.json') },
    thresholds: { workloadUnavailableSeconds: 3600 },
    // Incidents end by hand here, so each step of the replay is where the test puts it.
    remediate: false,
    watchNamespaces: [namespace],
    ...(process.env.CAIRN_TEST_LOG ? { log: (line: string) => process.stderr.write(`[operator] ${line}\n`) } : {}),
  });
  await eventually('the operator to lead', async () => operator.isLeader());
  for (const name of ['ledger', 'payments']) {
    await clients.apps.createNamespacedDeployment({ namespace, body: deployment(name, { replicas: 1 }) });
  }
});
afterAll(async () => {
  await operator?.stop();
  if (clients && namespace) await deleteNamespace(clients, namespace);
});

const api = (path: string, body: unknown) =>
  fetch(`${operator.httpUrl}/api/v1${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${key.key}` },
    body: JSON.stringify(body),
  });

const alert = {
  status: 'firing',
  labels: { alertname: 'HighErrorRate', namespace: '', deployment: 'ledger', severity: 'critical' },
  annotations: { summary: '5xx ratio 12% over 5m' },
  startsAt: new Date().toISOString(),
  endsAt: '0001-01-01T00:00:00Z',
  fingerprint: 'c0ffee0ddba11e55',
};
const deliver = async (copies: number): Promise<WebhookAnswer> => {
  const response = await api('/alertmanager', {
    version: '4',
    status: 'firing',
    receiver: 'cairn',
    groupKey: '{}:{alertname="HighErrorRate"}',
    alerts: Array.from({ length: copies }, () => ({ ...alert, labels: { ...alert.labels, namespace } })),
  });
  expect(response.status, await response.clone().text()).toBe(200);
  return (await response.json()) as WebhookAnswer;
};

const list = async (plural: 'anomalies' | 'issues') =>
  (
    (await clients.custom.listNamespacedCustomObject({
      group: 'aiops.cairn.dev',
      version: 'v1alpha1',
      namespace,
      plural,
    })) as { items: CairnObject[] }
  ).items;
const issuesOn = async (workload: string) => (await list('issues')).filter((i) => i.spec.resource.name === workload);

describe('a replayed Alertmanager alert', () => {
  it('is recorded once per firing, and the resource writer keeps writing: a later fault gets its Issue object', async () => {
    const [first] = (await deliver(1)).results;
    expect(first).toMatchObject({ status: 'recorded', repeated: false });
    const issue = first!.issue!;
    await eventually('the alert’s Issue object', async () => (await issuesOn('ledger')).length === 1);
    expect((await api(`/incidents/${issue.id}/resolve`, { note: 'fixed by hand' })).status).toBeLessThan(300);
    await eventually('the Issue object to show it resolved', async () =>
      (await issuesOn('ledger')).some((i) => i.status?.state === 'Resolved'),
    );

    // Delivered again, twice, after its Issue ended: the same firing, not a new one.
    for (const delivery of [2, 3]) {
      const [again] = (await deliver(1)).results;
      expect(again, `delivery ${delivery}`).toMatchObject({
        status: 'recorded',
        anomalyId: first!.anomalyId,
        issue,
        repeated: true,
      });
    }
    const thousand = await deliver(1_000);
    expect(thousand).toMatchObject({ received: 1_000, recorded: 1_000 });
    expect(new Set(thousand.results.map((r) => r.issue?.id))).toEqual(new Set([issue.id]));
    expect(thousand.results.every((r) => r.repeated)).toBe(true);

    // An ordinary fault afterwards is detected by the watchers and written like any other.
    await applyFault(cluster, 'oom', `${namespace}/payments`);
    const [payments] = await eventually('the OOM Issue object on payments', async () => {
      const found = await issuesOn('payments');
      return found.length > 0 ? found : undefined;
    });
    expect(payments?.spec.signal).toBe('oom_kill');

    const ledger = await issuesOn('ledger');
    expect(ledger.map((i) => i.metadata.name)).toEqual([issue.name]);
    expect(ledger[0]?.spec.anomalies).toHaveLength(1);
    const anomalies = (await list('anomalies')).filter((a) => a.spec.resource.name === 'ledger');
    expect(anomalies).toHaveLength(1);

    // "Caught up" is true: nothing is held, nothing was passed over.
    const ready = await eventually('the reactors to report caught up', async () => {
      const body = (await (await fetch(`${operator.httpUrl}/readyz`)).json()) as {
        status: string;
        checks: { name: string; ok: boolean; detail: string; advisory?: boolean }[];
      };
      const reactors = body.checks.find((c) => c.name === 'reactors');
      return reactors?.ok ? body : undefined;
    });
    expect(ready.status).toBe('ready');
    expect(ready.checks.find((c) => c.name === 'reactors')).toMatchObject({
      advisory: true,
      detail: expect.stringContaining('kubernetes-resources: caught up'),
    });
    expect(ready.checks.find((c) => c.name === 'reactors')?.detail).not.toContain('passed over');
    const metrics = await (await fetch(`${operator.httpUrl}/metrics`)).text();
    expect(metrics).toContain('cairn_reactor_behind_events{reactor="kubernetes-resources"} 0');
    expect(metrics).toContain('cairn_reactor_retrying{reactor="kubernetes-resources"} 0');
    expect(metrics).not.toMatch(/cairn_reactor_errors_total\{reactor="kubernetes-resources",outcome="skipped"\}/);
  });
});
