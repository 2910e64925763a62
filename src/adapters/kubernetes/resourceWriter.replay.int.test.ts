import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { correlationDecider } from '../../../domain/correlation/correlation.decider.ts';
import { dedupKeyInput } from '../../../domain/correlation/dedup.policy.ts';
import type { ResourceRef } from '../../../domain/events/common.schema.ts';
import { issueDecider } from '../../../domain/issue/issue.decider.ts';
import { StreamCategory, streamName } from '../../../domain/streams.ts';
import { issueName } from '../../../projections/kubernetesResources.projection.ts';
import {
  createNamespace,
  deleteNamespace,
  eventually,
  type KubeClients,
  kubeClients,
} from '../../../test/support/kube.ts';
import { createCommandHandler } from '../../application/commandHandler.ts';
import { createAnomalyIntake } from '../../application/detection/anomalyIntake.ts';
import { correlationStream, createAnomalyRecorder, sha256Hex } from '../../application/detection/anomalyRecorder.ts';
import { issueCorrelationReactor } from '../../application/detection/issueCorrelation.reactor.ts';
import { type RunningReactor, runReactor } from '../../application/reactor.ts';
import type { EventStore } from '../../ports/eventStore.ts';
import { openEventStore } from '../eventstore/openEventStore.ts';
import { resourceWriterReactor } from './resourceWriter.reactor.ts';

interface CairnObject {
  metadata: { name: string };
  spec: { resource: { name: string }; anomalies?: string[]; signal: string };
  status?: { state?: string };
}

let clients: KubeClients;
let namespace: string;
beforeAll(async () => {
  clients = kubeClients();
  namespace = await createNamespace(clients, 'replay');
});
afterAll(() => deleteNamespace(clients, namespace));

let store: EventStore;
let running: RunningReactor[] = [];
afterEach(async () => {
  await Promise.all(running.map((r) => r.close()));
  running = [];
  await store.close();
});

const list = async (plural: 'anomalies' | 'issues', workload: string) =>
  (
    (await clients.custom.listNamespacedCustomObject({
      group: 'aiops.cairn.dev',
      version: 'v1alpha1',
      namespace,
      plural,
    })) as { items: CairnObject[] }
  ).items.filter((o) => (plural === 'issues' ? o.spec.resource.name : o.metadata.name.split('-')[0]) === workload);

const checkpoints = () => {
  const saved = new Map<string, bigint>();
  return { read: (name: string) => saved.get(name), write: (name: string, at: bigint) => void saved.set(name, at) };
};

/** The writer the operator runs, and what it reported. */
function startWriter() {
  const reports: string[] = [];
  const writer = runReactor(
    store,
    checkpoints(),
    resourceWriterReactor({ store, config: clients.config, namespace, serverErrorAttempts: 2 }),
    { maxRetryDelayMs: 200, onError: (error) => reports.push(error instanceof Error ? error.message : String(error)) },
  );
  running.push(writer);
  return { writer, reports };
}

const caughtUp = (writer: RunningReactor) =>
  eventually('the resource writer to catch up with the log', async () => {
    const progress = await writer.progress();
    return progress.live && progress.behind === 0 && !progress.behindAtLeast ? progress : undefined;
  });

describe('resource writer: a replayed alert on a real API server', () => {
  it('writes an Issue whose log holds one alert recorded twice (by an older Cairn) with that Anomaly once', async () => {
    store = openEventStore('memory:');
    const ledger: ResourceRef = { kind: 'Deployment', name: 'ledger', namespace };
    const correlation = correlationStream(ledger);
    const at = (minute: number) => ({
      occurredAt: new Date(Date.UTC(2026, 0, 5, 9, minute)).toISOString(),
      actor: 'system:test',
    });
    const firing = (issueIdIfNew: string, minute: number) =>
      ({
        type: 'RecordAnomaly',
        data: {
          anomalyId: 'alert-5f0c2e9d1b7a4c3e8d6f0a1b2c3d4e5f',
          dedupKey: sha256Hex(dedupKeyInput('error_rate', 'Deployment', 'ledger', namespace)),
          signal: 'error_rate',
          source: 'prometheus',
          resource: ledger,
          workload: ledger,
          message: 'HighErrorRate: 5xx ratio 12%',
          observedAt: at(0).occurredAt,
          issueIdIfNew,
        },
        metadata: at(minute),
      }) as const;
    const first = correlationDecider.decide(firing('replay-1', 0), correlationDecider.initialState());
    await store.appendToStream(correlation, first);
    const opened = first.reduce(correlationDecider.evolve, correlationDecider.initialState());
    await store.appendToStream(
      correlation,
      correlationDecider.decide(
        { type: 'CloseCorrelatedIssue', data: { issueId: 'replay-1', outcome: 'resolved' }, metadata: at(5) },
        opened,
      ),
    );
    // What a Cairn without idempotent intake decided when Alertmanager sent the same firing again.
    const forgetful = { ...correlationDecider.initialState(), workload: ledger };
    await store.appendToStream(correlation, correlationDecider.decide(firing('replay-2', 10), forgetful));
    const issues = createCommandHandler(store, issueDecider);
    const detect = (issueId: string, minute: number) =>
      issues(streamName(StreamCategory.Issue, issueId), {
        type: 'DetectIssue',
        data: {
          issueId,
          workload: ledger,
          resource: ledger,
          signal: 'error_rate',
          source: 'prometheus',
          anomalyId: firing(issueId, 0).data.anomalyId,
          description: 'HighErrorRate: 5xx ratio 12%',
        },
        metadata: at(minute),
      });
    await detect('replay-1', 0);
    await issues(streamName(StreamCategory.Issue, 'replay-1'), { type: 'ResolveIssue', data: {}, metadata: at(5) });
    await detect('replay-2', 10);

    const { writer, reports } = startWriter();
    const progress = await caughtUp(writer);
    const second = (await list('issues', 'ledger')).find((i) => i.metadata.name === issueName('replay-2', ledger));
    expect(second?.spec.anomalies).toHaveLength(1);
    expect(progress).toMatchObject({ skipped: 0 });
    expect(progress.lastError).toBeUndefined();
    expect(reports).toEqual([]);
  });

  it('the same alert three times with a resolve between, then 1,000 copies: one Anomaly, one Issue, and a later fault still gets its Issue', async () => {
    store = openEventStore('memory:');
    const wallet: ResourceRef = { kind: 'Deployment', name: 'wallet', namespace };
    const payments: ResourceRef = { kind: 'Deployment', name: 'payments', namespace };
    let ids = 0;
    const record = createAnomalyRecorder({ store, newId: () => `replay${++ids}`, now: () => new Date() });
    const intake = createAnomalyIntake({ record, store });
    const alert = {
      anomalyId: 'alert-0e1d2c3b4a5968778695a4b3c2d1e0f1',
      signal: 'error_rate',
      source: 'prometheus',
      resource: wallet,
      workload: wallet,
      message: 'HighErrorRate: 5xx ratio 12%',
      observedAt: new Date().toISOString(),
      labels: { alertname: 'HighErrorRate', deployment: 'wallet', namespace },
    } as const;
    running.push(runReactor(store, checkpoints(), issueCorrelationReactor({ store }), { maxRetryDelayMs: 200 }));
    const { writer, reports } = startWriter();

    const first = await intake(alert);
    expect(first).toMatchObject({ status: 'recorded', repeated: false });
    const issueId = first.status === 'recorded' ? first.issueId : '';
    await eventually('the alert’s Issue object', async () => (await list('issues', 'wallet')).length === 1);
    await createCommandHandler(store, issueDecider)(streamName(StreamCategory.Issue, issueId), {
      type: 'ResolveIssue',
      data: { note: 'fixed by hand' },
      metadata: { occurredAt: new Date().toISOString(), actor: 'key:alice' },
    });
    await eventually('the correlation stream to hear the Issue ended', async () =>
      (await store.readStream(correlationStream(wallet))).some((e) => e.type === 'CorrelationIssueClosed'),
    );

    for (const delivery of [2, 3]) {
      expect(await intake(alert), `delivery ${delivery}`).toMatchObject({
        status: 'recorded',
        issueId,
        repeated: true,
      });
    }
    for (let copy = 0; copy < 1_000; copy++) await intake(alert);
    expect((await store.readStream(correlationStream(wallet))).map((e) => e.type)).toEqual([
      'AnomalyDetected',
      'CorrelationIssueOpened',
      'CorrelationIssueClosed',
    ]);

    await intake({
      anomalyId: 'watcher-oom-1',
      signal: 'oom_kill',
      source: 'watcher',
      resource: { kind: 'Pod', name: 'payments-7d9-abc', namespace },
      workload: payments,
      message: 'container app was OOMKilled',
      observedAt: new Date().toISOString(),
    });
    const [paymentsIssue] = await eventually('the later fault’s Issue object', async () => {
      const found = await list('issues', 'payments');
      return found.length > 0 ? found : undefined;
    });
    expect(paymentsIssue?.spec.signal).toBe('oom_kill');

    const progress = await caughtUp(writer);
    const walletIssues = await list('issues', 'wallet');
    expect(walletIssues.map((i) => i.metadata.name)).toEqual([issueName(issueId, wallet)]);
    expect(walletIssues[0]?.spec.anomalies).toHaveLength(1);
    expect(walletIssues[0]?.status?.state).toBe('Resolved');
    expect(await list('anomalies', 'wallet')).toHaveLength(1);
    expect(progress).toMatchObject({ skipped: 0 });
    expect(reports).toEqual([]);
  });
});
