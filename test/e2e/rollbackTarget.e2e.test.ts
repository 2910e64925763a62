import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { RevisionJudgedData } from '../../domain/events/revision.events.ts';
import { PatchAs } from '../../src/actions/patchOptions.ts';
import { openEventStore } from '../../src/adapters/eventstore/openEventStore.ts';
import { createAnomalyRecorder } from '../../src/application/detection/anomalyRecorder.ts';
import { revisionStream } from '../../src/application/revisionLedger.ts';
import { type RunningOperator, startOperator } from '../../src/operator.ts';
import { analysis } from '../fixtures/hostileModel.corpus.ts';
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
import { type LlmServer, openAiCompletion, startLlmServer } from '../support/llmServer.ts';

/**
 * The sequence a user reported: Cairn rolled a crashing release back, then a spurious OOM signal on the healthy
 * Deployment made a model propose "roll back to the previous revision" — which was the crashing release. The
 * model here always proposes exactly that; the revision ledger and the envelope must refuse the second time.
 */
let clients: KubeClients;
let server: LlmServer;
let operator: RunningOperator;
let namespace: string;
let storeUrl: string;
const Good = 'registry.local/shop/web:1.0.0';
const Broken = 'registry.local/shop/web:1.1.0-broken';
const web = () => ({ kind: 'Deployment', name: 'web', namespace });

beforeAll(async () => {
  clients = kubeClients();
  namespace = await createNamespace(clients, 'rollback-target');
  storeUrl = `sqlite:${join(mkdtempSync(join(tmpdir(), 'cairn-rollback-')), 'events.db')}`;
  server = await startLlmServer();
  server.fallback({
    json: openAiCompletion(
      (analysis([{ type: 'RollbackDeployment', params: { toRevision: 'previous' } }]) as { content: string }).content,
    ),
  });
  operator = await startOperator({
    kubeconfig: inject('kubeconfig'),
    store: storeUrl,
    namespace,
    watchNamespaces: [namespace],
    verificationTimeoutSeconds: 20,
    maxAttempts: 1,
    agentic: false,
    thresholds: { workloadUnavailableSeconds: 3600, podNotReadySeconds: 3 },
    providers: {
      providers: ['openai'],
      rulesFallback: false,
      retry: { maxRetries: 0 },
      settings: { openai: { baseUrl: `${server.origin}/v1`, model: 'always-roll-back', apiKey: 'sk-test' } },
    },
    ...(process.env.CAIRN_TEST_LOG ? { log: (line: string) => process.stderr.write(`[rollback] ${line}\n`) } : {}),
  });
  await eventually('the operator to lead', async () => operator.isLeader());
});

afterAll(async () => {
  await operator?.stop();
  await server?.close();
  await deleteNamespace(clients, namespace);
});

const verdicts = async () => {
  const store = openEventStore(storeUrl);
  try {
    return (await store.readStream(revisionStream(web()))).map((e) => e.data as RevisionJudgedData);
  } finally {
    await store.close();
  }
};

const runsOnly = (image: string) =>
  eventually(
    `every pod of web to run ${image} and be ready`,
    async () => {
      const pods = await podsOf(clients, namespace, 'web');
      return pods.length === 2 && pods.every((p) => isReady(p) && p.spec?.containers[0]?.image === image)
        ? pods
        : undefined;
    },
    90_000,
  );

const issues = async () =>
  (
    (await clients.custom.listNamespacedCustomObject({
      group: 'aiops.cairn.dev',
      version: 'v1alpha1',
      namespace,
      plural: 'issues',
    })) as { items: { metadata: { name: string }; status?: { state?: string } }[] }
  ).items;

describe('never back into a known-bad revision', () => {
  it('rolls a crashing release back, and refuses to roll back into it when a spurious signal comes later', async () => {
    await clients.apps.createNamespacedDeployment({ namespace, body: deployment('web', { replicas: 2, image: Good }) });
    await runsOnly(Good);
    // The watcher saw the first rollout complete: that revision is on the record as healthy.
    const first = await eventually('the first revision recorded healthy', async () =>
      (await verdicts()).find((v) => v.verdict === 'healthy'),
    );

    await clients.apps.patchNamespacedDeployment(
      {
        name: 'web',
        namespace,
        body: [{ op: 'replace', path: '/spec/template/spec/containers/0/image', value: Broken }],
      },
      PatchAs.json,
    );
    await eventually(
      'the crash-looping release to be resolved by a rollback',
      async () => ((await issues()).some((i) => i.status?.state === 'Resolved') ? true : undefined),
      120_000,
    );
    await runsOnly(Good);
    const fled = await eventually('the broken revision recorded bad', async () =>
      (await verdicts()).find((v) => v.verdict === 'bad'),
    );
    expect(fled.revision).not.toBe(first.revision);

    // A spurious OOM signal on the healthy Deployment: the model again says "previous", now the broken release.
    const store = openEventStore(storeUrl);
    await createAnomalyRecorder({ store, newId: () => `spurious-${Date.now().toString(36)}`, now: () => new Date() })({
      signal: 'oom_kill',
      source: 'watcher',
      resource: web(),
      workload: web(),
      message: 'OOMKilled (spurious)',
      observedAt: new Date().toISOString(),
    });
    const ended = await eventually(
      'the second Issue to end',
      async () => {
        const second = (await issues()).filter((i) => i.status?.state !== 'Resolved');
        return second.find((i) => i.status?.state === 'Escalated');
      },
      120_000,
    );
    expect(ended).toBeDefined();
    const log = await store.readAll();
    await store.close();
    const refusals = log
      .filter((e) => e.type === 'ProposalRefused' || e.type === 'ActionRefusedByPolicy')
      .map((e) => JSON.stringify(e.data));
    expect(refusals.some((r) => r.includes('envelope.revision') && r.includes('rolled back away from'))).toBe(true);
    // In the cluster: the Deployment still runs the good release, and never went back to the broken one.
    const live = await clients.apps.readNamespacedDeployment({ name: 'web', namespace });
    expect(live.spec?.template.spec?.containers[0]?.image).toBe(Good);
    await runsOnly(Good);
  });
});
