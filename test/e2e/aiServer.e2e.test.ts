import { mkdtempSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { openEventStore } from '../../src/adapters/eventstore/openEventStore.ts';
import { applyFault } from '../../src/cluster/faults.ts';
import type { LocalCluster } from '../../src/cluster/localCluster.ts';
import { type RunningOperator, startOperator } from '../../src/operator.ts';
import { type AiServerProcess, secretFile, startAiServerProcess } from '../support/aiServer.ts';
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

interface Condition {
  type: string;
  status: string;
  reason: string;
  message: string;
}
interface IssueObject {
  metadata: { name: string; labels?: Record<string, string> };
  spec: { resource?: { name: string } };
  status?: { state?: string; conditions?: Condition[] };
}

let clients: KubeClients;
let cluster: LocalCluster;
let namespace: string;
let operator: RunningOperator | undefined;
let server: AiServerProcess | undefined;
const logs: string[] = [];

/** A loopback port nobody listens on yet. */
const freePort = () =>
  new Promise<number>((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const address = probe.address();
      probe.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });

const issueOf = async (workload: string) =>
  (
    (await clients.custom.listNamespacedCustomObject({
      group: 'aiops.cairn.dev',
      version: 'v1alpha1',
      namespace,
      plural: 'issues',
    })) as { items: IssueObject[] }
  ).items.find((i) => i.spec.resource?.name === workload);

const readyz = async () => {
  const response = await fetch(`${operator!.httpUrl}/readyz`);
  const body = (await response.json()) as { checks: { name: string; ok: boolean; detail: string }[] };
  return { status: response.status, aiServer: body.checks.find((c) => c.name === 'ai-server') };
};

const waitingCondition = (issue: IssueObject | undefined) =>
  issue?.status?.conditions?.find((c) => c.type === 'AnalysisWaiting');

beforeAll(async () => {
  clients = kubeClients();
  cluster = await testCluster();
  namespace = await createNamespace(clients, 'aiserver');
});

afterAll(async () => {
  await operator?.stop();
  await server?.stop('SIGKILL');
  await deleteNamespace(clients, namespace);
});

describe('the operator analysing through `cairn server`', () => {
  it('waits, saying why, while the server is down, then analyses and resolves once it is up', async () => {
    const port = await freePort();
    const address = `127.0.0.1:${port}`;
    const dir = mkdtempSync(join(tmpdir(), 'cairn-aiserver-'));
    const tokenFile = secretFile(dir, 'token', 'e2e-token-9f1c');
    const storeUrl = `sqlite:${join(dir, 'events.db')}`;
    operator = await startOperator({
      kubeconfig: inject('kubeconfig'),
      store: storeUrl,
      namespace,
      watchNamespaces: [namespace],
      verificationTimeoutSeconds: 20,
      maxAttempts: 1,
      thresholds: { workloadUnavailableSeconds: 3600, podNotReadySeconds: 3 },
      aiServer: { address, tokenFile, alertPollSeconds: 0 },
      http: { host: '127.0.0.1', port: 0 },
      log: (line) => {
        logs.push(line);
        if (process.env.CAIRN_TEST_LOG) process.stderr.write(`[aiserver] ${line}\n`);
      },
    });
    await eventually('the operator to lead', async () => operator!.isLeader());

    await clients.apps.createNamespacedDeployment({ namespace, body: deployment('web', { replicas: 2 }) });
    await eventually('web ready', async () => (await podsOf(clients, namespace, 'web')).filter(isReady).length === 2);
    await applyFault(cluster, 'crashloop', `${namespace}/web`);

    // The server is not running: the Issue stays in Analyzing and its status says what it is waiting for.
    const waiting = await eventually(
      'the Issue to say it waits for the AI server',
      async () => {
        const issue = await issueOf('web');
        return waitingCondition(issue)?.status === 'True' ? issue : undefined;
      },
      120_000,
    );
    expect(waiting.status?.state).toBe('Analyzing');
    expect(waitingCondition(waiting)).toMatchObject({
      reason: 'ServerUnreachable',
      message: expect.stringContaining(`waiting for the AI server at ${address}`),
    });
    expect(operator.health().aiServer?.state).toBe('UNREACHABLE');
    // /readyz shows it, without taking the API out of service for it.
    const waitingReady = await readyz();
    expect(waitingReady.status).toBe(200);
    expect(waitingReady.aiServer).toMatchObject({
      ok: false,
      advisory: true,
      detail: expect.stringMatching(new RegExp(`^UNREACHABLE at ${address} since `)),
    });
    expect(logs.some((line) => line.startsWith(`AI server ${address}: UNREACHABLE`))).toBe(true);

    server = await startAiServerProcess(['--port', String(port), '--token-file', tokenFile]);

    const ended = await eventually(
      'the Issue to be analysed and resolved',
      async () => {
        const issue = await issueOf('web');
        return issue?.status?.state === 'Resolved' || issue?.status?.state === 'Escalated' ? issue : undefined;
      },
      240_000,
    );
    expect(ended.status?.state).toBe('Resolved');
    expect(waitingCondition(ended)).toMatchObject({ status: 'False', reason: 'WaitEnded' });
    expect(operator.health().aiServer?.state).toBe('SERVING');
    expect((await readyz()).aiServer).toMatchObject({ ok: true, detail: expect.stringMatching(/^SERVING at /) });
    expect(server.output()).toMatch(/analysed Deployment\/.*\/web with rules/);

    // One analysis, recorded once; the wait is on record, and nothing failed.
    const store = openEventStore(storeUrl);
    try {
      const events = await store.readStream(`issue-${ended.metadata.labels?.['aiops.cairn.dev/issue-id']}`);
      const types = events.map((e) => e.type);
      expect(types.filter((t) => t === 'AnalysisCompleted')).toHaveLength(1);
      expect(types).toContain('AnalysisDeferred');
      expect(types).not.toContain('AnalysisFailed');
      const completed = events.find((e) => e.type === 'AnalysisCompleted')!.data as { provider: string };
      expect(completed.provider).toBe('rules');
    } finally {
      await store.close();
    }
  });
});
