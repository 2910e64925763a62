import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { stringify } from 'yaml';
import { kubectl, type LocalCluster } from '../../src/cluster/localCluster.ts';
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

/*
 * The operator as it runs: an IncidentSLA with a two-second response target, an Issue opened by a hand-made
 * Anomaly and acknowledged by nobody. The violation is recorded by the operator's own sweeper, escalates the Issue
 * (the SLA asks for it), and shows in REST, in /metrics and in the SLA's status.
 */
const DEV_KEY = 'sla-e2e-development-key-0123456789abcdef';
const group = 'aiops.cairn.dev';
const version = 'v1alpha1';

let clients: KubeClients;
let cluster: LocalCluster;
let namespace: string;
let operator: RunningOperator;

const api = async (path: string) => {
  const response = await fetch(`${operator.httpUrl}${path}`, { headers: { 'x-api-key': DEV_KEY } });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
};

beforeAll(async () => {
  clients = kubeClients();
  cluster = await testCluster();
  namespace = await createNamespace(clients, 'sla-e2e');
  await clients.custom.createNamespacedCustomObject({
    group,
    version,
    namespace,
    plural: 'incidentslas',
    body: {
      apiVersion: `${group}/${version}`,
      kind: 'IncidentSLA',
      metadata: { name: 'quick' },
      spec: {
        targets: ['critical', 'high', 'medium', 'low'].map((severity) => ({
          severity,
          response: '2s',
          resolution: '1h',
        })),
        escalateOn: ['response'],
      },
    },
  });
  operator = await startOperator({
    remediate: false,
    watchNamespaces: [namespace],
    kubeconfig: inject('kubeconfig'),
    store: `sqlite:${join(mkdtempSync(join(tmpdir(), 'cairn-sla-e2e-')), 'events.db')}`,
    namespace,
    leaseDurationMs: 3_000,
    thresholds: { workloadUnavailableSeconds: 3600 },
    http: { host: '127.0.0.1', port: 0 },
    api: { devApiKey: DEV_KEY },
    ...(process.env.CAIRN_TEST_LOG ? { log: (line: string) => process.stderr.write(`[sla] ${line}\n`) } : {}),
  });
  await eventually('the operator to lead', async () => operator.isLeader());
}, 120_000);
afterAll(async () => {
  await operator?.stop();
  await deleteNamespace(clients, namespace);
});

describe('IncidentSLA in the running operator', () => {
  it('an Issue nobody acknowledges breaches its response target, is escalated, and is counted in REST, metrics and status', async () => {
    await clients.apps.createNamespacedDeployment({ namespace, body: deployment('ledger', { replicas: 1 }) });
    await kubectl(
      cluster,
      ['-n', namespace, 'apply', '-f', '-'],
      stringify({
        apiVersion: `${group}/${version}`,
        kind: 'Anomaly',
        metadata: { name: 'ledger-slow' },
        spec: {
          signal: 'latency_spike',
          source: 'manual',
          resource: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'ledger' },
          severity: 'high',
          message: 'Customers report slow ledger pages.',
        },
      }),
    );
    const issueId = await eventually(
      'the Issue in the API',
      async () => ((await api('/api/v1/incidents')).body.items as { id: string }[])[0]?.id,
      90_000,
    );

    const sla = await eventually(
      'the response target to be breached',
      async () => {
        const { status, body } = await api(`/api/v1/incidents/${issueId}/sla`);
        return status === 200 && (body.response as { state: string }).state === 'violated' ? body : undefined;
      },
      90_000,
    );
    expect(sla).toMatchObject({
      sla: { namespace, name: 'quick', generation: 1 },
      businessHours: null,
      response: { state: 'violated', targetSeconds: 2, remainingSeconds: 0 },
      resolution: { state: 'running', targetSeconds: 3_600 },
    });

    const incident = await eventually(
      'the Issue escalated for the breach',
      async () => {
        const { body } = await api(`/api/v1/incidents/${issueId}`);
        return body.state === 'Escalated' ? body : undefined;
      },
      60_000,
    );
    expect(incident.escalationReason).toBe('sla_breached');

    const metrics = await eventually(
      'the violation in /metrics',
      async () => {
        const text = await (await fetch(`${operator.httpUrl}/metrics`)).text();
        return /cairn_sla_violations_total\{severity="[a-z]+",kind="response"\} 1/.test(text) ? text : undefined;
      },
      30_000,
    );
    expect(metrics).not.toMatch(/cairn_sla_violations_total\{severity="[a-z]+",kind="resolution"\}/);

    // The status is brought up to date every 30 s.
    const status = await eventually(
      'the violation in the IncidentSLA status',
      async () => {
        const object = (await clients.custom.getNamespacedCustomObject({
          group,
          version,
          namespace,
          plural: 'incidentslas',
          name: 'quick',
        })) as {
          status?: {
            compliance?: { severity: string; last7Days: { met: number; violated: number; compliance?: number } }[];
            lastViolationAt?: string;
            conditions?: { type: string; status: string }[];
          };
        };
        const violated = object.status?.compliance?.find((c) => c.last7Days.violated === 1);
        return violated ? object.status : undefined;
      },
      90_000,
    );
    expect(status.conditions?.find((c) => c.type === 'Ready')?.status).toBe('True');
    expect(status.lastViolationAt).toEqual(expect.any(String));
    expect(status.compliance?.find((c) => c.last7Days.violated === 1)?.last7Days).toEqual({
      met: 0,
      violated: 1,
      compliance: 0,
    });
  }, 300_000);
});
