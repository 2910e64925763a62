import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { RecordedEvent } from '../../domain/messages.ts';
import { openEventStore } from '../../src/adapters/eventstore/openEventStore.ts';
import { generateKey } from '../../src/adapters/http/security/apiKeys.ts';
import { approvalsClient } from '../../src/cli/commands/approvals.command.ts';
import { applyFault } from '../../src/cluster/faults.ts';
import type { LocalCluster } from '../../src/cluster/localCluster.ts';
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
import { killOperators, spawnOperator } from '../support/operatorProcess.ts';

/**
 * `cairn operator` processes on one sqlite store, with ApprovalPolicies on the real API server and decisions made
 * through REST with real keys. The first operator is killed with SIGKILL while a request is pending; the decision
 * made on the next one must be honoured, and nothing decided before the kill may be lost.
 */
const LEASE_MS = 4_000;
const group = 'aiops.cairn.dev';
const version = 'v1alpha1';

const alice = generateKey('alice', 'operator');
const bob = generateKey('bob', 'operator');
const viewer = generateKey('carol-viewer', 'viewer');

let clients: KubeClients;
let cluster: LocalCluster;
let namespace: string;
let storeDir: string;
let storeUrl: string;
let keysFile: string;

beforeAll(async () => {
  clients = kubeClients();
  cluster = await testCluster();
  namespace = await createNamespace(clients, 'approvals');
  storeDir = mkdtempSync(join(tmpdir(), 'cairn-approvals-'));
  storeUrl = `sqlite:${join(storeDir, 'events.db')}`;
  keysFile = join(storeDir, 'api-keys.json');
  writeFileSync(keysFile, JSON.stringify({ keys: [alice.stored, bob.stored, viewer.stored] }));
});
afterAll(async () => {
  await killOperators();
  await deleteNamespace(clients, namespace);
  rmSync(storeDir, { recursive: true, force: true });
});

/** A port nothing listens on now (0 would turn the operator's HTTP API off). */
const freePort = () =>
  new Promise<number>((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });

function startOperatorProcess(identity: string, port: number) {
  return spawnOperator(identity, [
    '--kubeconfig',
    inject('kubeconfig'),
    '--store',
    storeUrl,
    '--namespace',
    namespace,
    '--watch-namespace',
    namespace,
    '--lease-duration',
    String(LEASE_MS),
    '--threshold',
    'workloadUnavailableSeconds=3600',
    '--http-port',
    String(port),
    '--api-keys',
    keysFile,
  ]);
}

type Operator = ReturnType<typeof startOperatorProcess>;

async function started(identity: string): Promise<{ operator: Operator; url: string }> {
  const operator = startOperatorProcess(identity, await freePort());
  const url = await eventually(`${identity} to serve HTTP`, async () => operator.url(), 60_000);
  await eventually(`${identity} to lead`, async () => operator.leading(), 60_000);
  return { operator, url };
}

const call = async (url: string, key: string, path: string, body?: unknown) => {
  const response = await fetch(`${url}/api/v1${path}`, {
    method: body === undefined ? 'GET' : 'POST',
    headers: { 'x-api-key': key, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
};

interface ApprovalRow {
  id: string;
  remediationId: string;
  issueId: string;
  state: string;
  approvers: string[];
  requiredApprovals: number;
}

const approvalOf = (url: string, workload: string) =>
  eventually(
    `an approval request for ${workload}`,
    async () => {
      const { body } = await call(url, alice.key, '/approvals?state=pending');
      const items = (body.items ?? []) as ApprovalRow[];
      for (const item of items) {
        const plan = await call(url, alice.key, `/remediations/${item.remediationId}`);
        if ((plan.body.target as { name?: string } | undefined)?.name === workload) return item;
      }
      return undefined;
    },
    180_000,
  );

const remediationStatus = async (url: string, id: string) =>
  (await call(url, alice.key, `/remediations/${id}`)).body.status as string;

async function eventsOf(stream: string): Promise<RecordedEvent[]> {
  const store = openEventStore(storeUrl);
  try {
    return await store.readStream(stream);
  } finally {
    await store.close();
  }
}

const policy = (name: string, spec: unknown) =>
  clients.custom.createNamespacedCustomObject({
    group,
    version,
    namespace,
    plural: 'approvalpolicies',
    body: { apiVersion: `${group}/${version}`, kind: 'ApprovalPolicy', metadata: { name }, spec },
  });

async function faultyWorkload(name: string) {
  await clients.apps.createNamespacedDeployment({ namespace, body: deployment(name, { replicas: 2 }) });
  await eventually(`${name} ready`, async () => (await podsOf(clients, namespace, name)).filter(isReady).length === 2);
  await applyFault(cluster, 'crashloop', `${namespace}/${name}`);
}

interface ApprovalRequestObject {
  metadata: { ownerReferences?: { kind: string; name: string }[] };
  spec: { requestId: string; requiredApprovers: number; mode: string; actions: unknown[]; expiresAt: string };
  status?: { state: string; approvals: number; decisions: { approver: string; decision: string }[] };
}

const approvalRequestObject = (requestId: string, state: string, decisions = 0) =>
  eventually(
    `the ApprovalRequest of ${requestId} to be ${state} with ${decisions} decision(s)`,
    async () => {
      const { items } = (await clients.custom.listNamespacedCustomObject({
        group,
        version,
        namespace,
        plural: 'approvalrequests',
      })) as { items: ApprovalRequestObject[] };
      const found = items.find((o) => o.spec.requestId === requestId);
      return found?.status?.state === state && found.status.decisions.length === decisions ? found : undefined;
    },
    60_000,
  );

let current: { operator: Operator; url: string };

describe('approvals decided by people through REST, across a kill -9 of the operator', () => {
  it('waits for a quorum of two distinct operator keys; a viewer is refused; the decision after a restart counts', async () => {
    await policy('production', {
      rules: [
        {
          name: 'two-people',
          mode: 'quorum',
          requiredApprovers: 2,
          expiry: '15m',
          match: { labelSelector: { matchExpressions: [{ key: 'app', operator: 'In', values: ['web', 'worker'] }] } },
        },
        {
          name: 'hurry',
          mode: 'quorum',
          requiredApprovers: 2,
          expiry: '6s',
          match: { labelSelector: { matchLabels: { app: 'api' } } },
        },
      ],
    });
    current = await started('approvals-first');
    await faultyWorkload('web');
    const request = await approvalOf(current.url, 'web');
    expect(request.requiredApprovals).toBe(2);
    expect(request.id).toBe(`${request.remediationId}-approval`);

    const refused = await call(current.url, viewer.key, `/approvals/${request.id}/approve`, {});
    expect(refused.status).toBe(403);

    const first = await call(current.url, alice.key, `/approvals/${request.id}/approve`, {});
    expect(first.status).toBe(200);
    const again = await call(current.url, alice.key, `/approvals/${request.id}/approve`, {});
    expect(again.status).toBe(409);
    expect(JSON.stringify(again.body)).toContain('remediation.duplicate_approver');
    // One approval of two: the plan still waits.
    expect(await remediationStatus(current.url, request.remediationId)).toBe('WaitingApproval');
    const waiting = await approvalRequestObject(request.id, 'Pending', 1);
    expect(waiting.status?.decisions).toEqual([
      expect.objectContaining({ approver: 'key:alice', decision: 'approve' }),
    ]);
    expect(waiting.metadata.ownerReferences?.[0]).toMatchObject({ kind: 'Issue' });
    expect(waiting.spec).toMatchObject({ mode: 'quorum', requiredApprovers: 2 });

    current.operator.child.kill('SIGKILL');
    await current.operator.exited;
    current = await started('approvals-second');
    // The approval given before the kill is still there.
    const after = await call(current.url, bob.key, `/approvals/${request.id}`);
    expect(after.body).toMatchObject({ state: 'pending', approvers: ['key:alice'] });

    // The second approval through `cairn approvals`, against the new operator's REST API.
    const output: string[] = [];
    const cli = approvalsClient({ apiUrl: current.url, apiKey: bob.key, write: (t) => output.push(t) });
    const listed = await cli.list('pending');
    expect(listed.map((a) => a.id)).toContain(request.id);
    await cli.show(request.id);
    expect(output.join('')).toContain(`${request.id}: pending, 1/2 approval(s) (key:alice)`);
    expect(output.join('')).toMatch(/action: {4}\w+/);
    const decided = await cli.approve(request.id);
    expect(decided).toMatchObject({ state: 'approved', approvers: ['key:alice', 'key:bob'] });
    await eventually(
      'the approved plan to start',
      async () => !['WaitingApproval', 'Pending'].includes(await remediationStatus(current.url, request.remediationId)),
      120_000,
    );
    const approved = await approvalRequestObject(request.id, 'Approved', 2);
    expect(approved.status?.approvals).toBe(2);
    expect(approved.status?.decisions.map((d) => [d.approver, d.decision])).toEqual([
      ['key:alice', 'approve'],
      ['key:bob', 'approve'],
    ]);
  });

  it('cancels a request nobody decided in time: nothing runs, the Issue escalates, a late decision is refused', async () => {
    await faultyWorkload('api');
    const request = await approvalOf(current.url, 'api');
    const issue = await eventually(
      'the Issue of api to escalate',
      async () => {
        const { body } = await call(current.url, alice.key, `/incidents/${request.issueId}`);
        return body.state === 'Escalated' ? body : undefined;
      },
      120_000,
    );
    expect(JSON.stringify(issue)).toContain('approval_expired');
    const late = await call(current.url, bob.key, `/approvals/${request.id}/approve`, {});
    expect(late.status).toBe(409);
    const cli = approvalsClient({ apiUrl: current.url, apiKey: bob.key, write: () => {} });
    await expect(cli.approve(request.id)).rejects.toThrow(/HTTP 409/);
    const events = await eventsOf(`remediation-${request.remediationId}`);
    expect(events.map((e) => e.type)).toContain('ApprovalExpired');
    expect(events.some((e) => e.type === 'SnapshotStarted' || e.type === 'ActionStarted')).toBe(false);
    await approvalRequestObject(request.id, 'Expired');
  });

  it('ends a request at the first rejection, with the reason on the ApprovalRequest', async () => {
    await faultyWorkload('worker');
    const request = await approvalOf(current.url, 'worker');
    const output: string[] = [];
    const cli = approvalsClient({ apiUrl: current.url, apiKey: alice.key, write: (t) => output.push(t) });
    const rejected = await cli.reject(request.id, 'not during the sale');
    expect(rejected).toMatchObject({ state: 'refused', refusedBy: 'key:alice' });
    expect(output.join('')).toContain('rejected by key:alice: not during the sale');
    await expect(
      approvalsClient({ apiUrl: current.url, apiKey: bob.key, write: () => {} }).approve(request.id),
    ).rejects.toThrow(/HTTP 409/);
    const object = await approvalRequestObject(request.id, 'Rejected', 1);
    expect(object.status?.decisions[0]).toMatchObject({
      approver: 'key:alice',
      decision: 'reject',
      reason: 'not during the sale',
    });
    const events = await eventsOf(`remediation-${request.remediationId}`);
    expect(events.some((e) => e.type === 'SnapshotStarted' || e.type === 'ActionStarted')).toBe(false);
  });

  it('applies an edited policy to the next plan without a restart: a deny rule keeps the plan from being created', async () => {
    const current_ = (await clients.custom.getNamespacedCustomObject({
      group,
      version,
      namespace,
      plural: 'approvalpolicies',
      name: 'production',
    })) as { metadata: Record<string, unknown>; spec: { rules: unknown[] } };
    await clients.custom.replaceNamespacedCustomObject({
      group,
      version,
      namespace,
      plural: 'approvalpolicies',
      name: 'production',
      body: {
        apiVersion: `${group}/${version}`,
        kind: 'ApprovalPolicy',
        metadata: current_.metadata,
        spec: {
          rules: [
            ...current_.spec.rules,
            { name: 'never-queue', mode: 'deny', match: { labelSelector: { matchLabels: { app: 'queue' } } } },
          ],
        },
      },
    });
    await eventually('the edit to be in force', async () => {
      const policy = (await clients.custom.getNamespacedCustomObject({
        group,
        version,
        namespace,
        plural: 'approvalpolicies',
        name: 'production',
      })) as { status?: { activeGeneration?: number } };
      return policy.status?.activeGeneration === 2;
    });
    await faultyWorkload('queue');
    const issue = await eventually(
      'the Issue of queue to go to people',
      async () => {
        const { body } = await call(current.url, alice.key, '/incidents?workload=queue');
        const found = ((body.items ?? []) as { id: string; state: string; escalationReason: string | null }[])[0];
        return found?.state === 'Escalated' ? found : undefined;
      },
      120_000,
    );
    expect(issue.escalationReason).toBe('no_remediation');
    const refused = (await eventsOf(`issue-${issue.id}`)).filter((e) => e.type === 'ProposalRefused');
    expect(refused.map((e) => (e.data as { code: string }).code)).toContain('approval.denied');
    const { body } = await call(current.url, alice.key, `/remediations?issueId=${issue.id}`);
    expect(body.items).toEqual([]);
  });

  it('holds a plan outside its change window and starts it once when the window opens, across a kill -9', async () => {
    const opensAt = new Date(Date.now() + 45_000);
    await policy('freeze', {
      rules: [{ name: 'batch', mode: 'auto', match: { labelSelector: { matchLabels: { app: 'batch' } } } }],
      changeWindows: {
        freezes: [
          {
            start: new Date(Date.now() - 3_600_000).toISOString(),
            end: opensAt.toISOString(),
            reason: 'release freeze',
          },
        ],
      },
    });
    await faultyWorkload('batch');
    const plan = await eventually(
      'a plan for batch',
      async () => {
        const { body } = await call(current.url, alice.key, '/remediations');
        return ((body.items ?? []) as { id: string; target: { name: string } }[]).find(
          (r) => r.target.name === 'batch',
        );
      },
      120_000,
    );
    const stream = `remediation-${plan.id}`;
    const created = (await eventsOf(stream)).find((e) => e.type === 'RemediationPlanCreated');
    expect((created?.data as { changeWindow?: { opensAt: string } } | undefined)?.changeWindow?.opensAt).toBe(
      opensAt.toISOString(),
    );
    expect((await eventsOf(stream)).some((e) => e.type === 'SnapshotStarted')).toBe(false);
    // Killed while the plan waits: the opening is on record, and the next leader opens the window once.
    current.operator.child.kill('SIGKILL');
    await current.operator.exited;
    current = await started('approvals-third');

    const opened = await eventually(
      'the plan to start after the window opens',
      async () => {
        const events = await eventsOf(stream);
        return events.some((e) => e.type === 'SnapshotStarted') ? events : undefined;
      },
      180_000,
    );
    const openedAt = opened.find((e) => e.type === 'ChangeWindowOpened');
    const snapshot = opened.find((e) => e.type === 'SnapshotStarted');
    expect(opened.filter((e) => e.type === 'ChangeWindowOpened')).toHaveLength(1);
    expect(Date.parse(openedAt!.metadata.occurredAt)).toBeGreaterThanOrEqual(opensAt.getTime());
    expect(Date.parse(snapshot!.metadata.occurredAt)).toBeGreaterThanOrEqual(opensAt.getTime());
  });
});
