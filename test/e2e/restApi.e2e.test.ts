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

let clients: KubeClients;
let cluster: LocalCluster;
let namespace: string;
let operator: RunningOperator;
const oncall = generateKey('oncall', 'operator');
const dashboard = generateKey('dashboard', 'viewer');

beforeAll(async () => {
  clients = kubeClients();
  cluster = await testCluster();
  namespace = await createNamespace(clients, 'rest');
  const dir = mkdtempSync(join(tmpdir(), 'cairn-rest-'));
  writeKeyFile(join(dir, 'api-keys.json'), [oncall.stored, dashboard.stored]);
  operator = await startOperator({
    kubeconfig: inject('kubeconfig'),
    store: `sqlite:${join(dir, 'events.db')}`,
    namespace,
    http: { host: '127.0.0.1', port: 0 },
    api: { keysFile: join(dir, 'api-keys.json') },
    // Detection only: the Issue stays open for the person using the API.
    remediate: false,
    watchNamespaces: [namespace],
    thresholds: { workloadUnavailableSeconds: 3600 },
    ...(process.env.CAIRN_TEST_LOG ? { log: (line: string) => process.stderr.write(`[operator] ${line}\n`) } : {}),
  });
  await eventually('the operator to lead', async () => operator.isLeader());
});
afterAll(async () => {
  await operator?.stop();
  if (clients && namespace) await deleteNamespace(clients, namespace);
});

const api = async (key: string, path: string, init: RequestInit = {}) => {
  const response = await fetch(`${operator.httpUrl}/api/v1${path}`, {
    ...init,
    headers: { 'x-api-key': key, ...(init.body ? { 'content-type': 'application/json' } : {}) },
  });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
};

describe('the REST API of a running operator', () => {
  it('lists the incident of a real fault, acknowledges it as the key holder, and shows it in the timeline', async () => {
    await clients.apps.createNamespacedDeployment({ namespace, body: deployment('orders', { memoryLimit: '64Mi' }) });
    await applyFault(cluster, 'oom', `${namespace}/orders`);

    const incident = await eventually('the incident in the REST list', async () => {
      const { status, body } = await api(dashboard.key, `/incidents?namespace=${namespace}&workload=orders`);
      expect(status).toBe(200);
      return (body.items as { id: string; signal: string; acknowledgedBy: string | null }[])[0];
    });
    expect(incident.signal).toBe('oom_kill');

    const refused = await api(dashboard.key, `/incidents/${incident.id}/acknowledge`, { method: 'POST', body: '{}' });
    expect(refused.status).toBe(403);

    const ack = await api(oncall.key, `/incidents/${incident.id}/acknowledge`, {
      method: 'POST',
      body: JSON.stringify({ note: 'looking at it' }),
    });
    expect(ack).toEqual({ status: 200, body: { id: incident.id, events: ['IssueAcknowledged'] } });

    const timeline = await eventually('the acknowledgement in the timeline', async () => {
      const { body } = await api(dashboard.key, `/incidents/${incident.id}/timeline`);
      const items = body.items as { type: string; actor: string | null; summary: string }[];
      return items.some((t) => t.type === 'IssueAcknowledged') ? items : undefined;
    });
    expect(timeline[0]?.type).toBe('IssueDetected');
    expect(timeline.find((t) => t.type === 'IssueAcknowledged')).toMatchObject({
      actor: 'key:oncall',
      summary: 'acknowledged by key:oncall: looking at it',
    });
    const again = await api(dashboard.key, `/incidents/${incident.id}`);
    expect(again.body).toMatchObject({ acknowledgedBy: 'key:oncall' });

    const ready = await fetch(`${operator.httpUrl}/readyz`);
    expect(ready.status).toBe(200);
  });
});
