import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { parse } from 'yaml';
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
const platform = generateKey('platform', 'admin');

beforeAll(async () => {
  clients = kubeClients();
  cluster = await testCluster();
  namespace = await createNamespace(clients, 'rest');
  const dir = mkdtempSync(join(tmpdir(), 'cairn-rest-'));
  writeKeyFile(join(dir, 'api-keys.json'), [oncall.stored, dashboard.stored, platform.stored]);
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

  it('creates, reads, replaces and deletes Runbooks as real objects, with the roles each change needs', async () => {
    const sample = parse(readFileSync(new URL('../../crds/samples/runbook.yaml', import.meta.url), 'utf8')) as {
      spec: { maxAttempts: number };
    };
    const path = `/runbooks/${namespace}/oom-raise`;
    const body = JSON.stringify({ namespace, name: 'oom-raise', spec: sample.spec });
    expect((await api(dashboard.key, '/runbooks', { method: 'POST', body })).status).toBe(403);
    const created = await api(oncall.key, '/runbooks', { method: 'POST', body });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ namespace, name: 'oom-raise', autoGenerated: false, usage: { timesUsed: 0 } });
    // It is the cluster's object: what kubectl shows.
    const object = (await clients.custom.getNamespacedCustomObject({
      group: 'aiops.cairn.dev',
      version: 'v1alpha1',
      namespace,
      plural: 'runbooks',
      name: 'oom-raise',
    })) as { spec: unknown; metadata: { resourceVersion: string } };
    expect(object.spec).toEqual(sample.spec);

    // The API server's own schema judges the spec.
    const invalid = await api(oncall.key, '/runbooks', {
      method: 'POST',
      body: JSON.stringify({ namespace, name: 'no-steps', spec: { trigger: { severity: 'loud' } } }),
    });
    expect(invalid.status).toBe(400);
    expect(invalid.body.code).toBe('runbook.invalid');
    expect((await api(oncall.key, '/runbooks', { method: 'POST', body })).body.code).toBe('runbook.conflict');

    const replaced = await api(oncall.key, path, {
      method: 'PUT',
      body: JSON.stringify({
        spec: { ...sample.spec, maxAttempts: 3 },
        resourceVersion: object.metadata.resourceVersion,
      }),
    });
    expect(replaced.status).toBe(200);
    expect((replaced.body.spec as { maxAttempts: number }).maxAttempts).toBe(3);
    // A writer that read before that change is refused rather than overwriting it.
    const stale = await api(oncall.key, path, {
      method: 'PUT',
      body: JSON.stringify({ spec: sample.spec, resourceVersion: object.metadata.resourceVersion }),
    });
    expect(stale.status).toBe(409);

    const listed = await api(dashboard.key, `/runbooks?namespace=${namespace}`);
    expect((listed.body.items as { name: string }[]).map((r) => r.name)).toEqual(['oom-raise']);
    expect((await api(oncall.key, path, { method: 'DELETE' })).status).toBe(403);
    const deleted = await fetch(`${operator.httpUrl}/api/v1${path}`, {
      method: 'DELETE',
      headers: { 'x-api-key': platform.key },
    });
    expect(deleted.status).toBe(204);
    expect((await api(dashboard.key, path)).status).toBe(404);
  });

  it('shows the ServiceLevelObjectives and the clusters the operator knows', async () => {
    for (const [plural, file] of [
      ['servicelevelobjectives', 'servicelevelobjective.yaml'],
      ['clusterregistrations', 'clusterregistration.yaml'],
    ] as const) {
      const body = parse(readFileSync(new URL(`../../crds/samples/${file}`, import.meta.url), 'utf8')) as object;
      await clients.custom.createNamespacedCustomObject({
        group: 'aiops.cairn.dev',
        version: 'v1alpha1',
        namespace,
        plural,
        body,
      });
    }
    const slos = await api(dashboard.key, `/slos?namespace=${namespace}`);
    expect((slos.body.items as { metadata: { name: string } }[]).map((o) => o.metadata.name)).toEqual([
      'checkout-availability',
    ]);
    const slo = await api(dashboard.key, `/slos/${namespace}/checkout-availability`);
    expect(slo.body).toMatchObject({ spec: { service: 'checkout', target: 99.9, window: '30d' } });
    expect((await api(dashboard.key, `/slos/${namespace}/missing`)).body.code).toBe('slo.not_found');

    const clusters = await api(dashboard.key, '/clusters');
    const items = clusters.body.items as { name: string; source: string; reachable: boolean | null }[];
    expect(items[0]).toMatchObject({ source: 'local', reachable: true });
    expect(items.find((c) => c.name === 'eu-west-prod')).toMatchObject({
      source: 'registration',
      spec: { region: 'eu-west-1', environment: 'prod' },
    });
  });
});
