import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testKeys } from '../../../test/support/apiKeys.ts';
import { writePipelineIncident } from '../../../test/support/pipelineLog.ts';
import { prometheusUnavailable, type RunningPrometheus, startPrometheus } from '../../../test/support/prometheus.ts';
import { createAnomalyIntake } from '../../application/detection/anomalyIntake.ts';
import { createAnomalyRecorder } from '../../application/detection/anomalyRecorder.ts';
import type { EventStore, Subscription } from '../../ports/eventStore.ts';
import { WorkloadRefusal } from '../../ports/workloadLookup.ts';
import { openEventStore } from '../eventstore/openEventStore.ts';
import { buildHttpApp } from '../http/httpApp.ts';
import { createCairnMetrics, instrumentEventStore } from './prometheus.metrics.ts';

/**
 * A real Prometheus scrapes Cairn's /metrics over HTTP, and PromQL over what it stored gives the figures of the
 * incidents written through the deciders: what a dashboard or an alert rule built on these metrics would see.
 */
let prometheus: RunningPrometheus;
let app: FastifyInstance;
let store: EventStore;
let feed: Subscription;

beforeAll(async () => {
  const missing = prometheusUnavailable();
  if (missing) throw new Error(missing);
  const metrics = createCairnMetrics({ processMetrics: true });
  store = instrumentEventStore(openEventStore('memory:'), metrics);
  feed = metrics.follow(store);
  const now = () => new Date();
  app = await buildHttpApp({
    intake: createAnomalyIntake({ record: createAnomalyRecorder({ store, newId: () => 'x', now }), store }),
    workloads: { resolve: async () => ({ ok: false, reason: WorkloadRefusal.NotFound, message: 'none' }) },
    newId: () => 'x',
    now,
    metrics,
    security: testKeys().security,
  });
  const url = new URL(await app.listen({ host: '127.0.0.1', port: 0 }));
  prometheus = await startPrometheus([url.host]);
});

afterAll(async () => {
  await prometheus?.stop();
  await app?.close();
  await feed?.close();
  await store?.close();
});

type Samples = { metric: Record<string, string>; value: number }[];

/** Polls a PromQL query until `accept` holds (Prometheus scrapes every second). */
async function settle(promql: string, accept: (samples: Samples) => boolean): Promise<Samples> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const samples = await prometheus.query(promql);
    if (accept(samples)) return samples;
    if (Date.now() > deadline) {
      throw new Error(`${promql} never settled; last ${JSON.stringify(samples)}\n${prometheus.output().slice(-2000)}`);
    }
    await new Promise((r) => setTimeout(r, 250));
  }
}

describe('Prometheus scraping Cairn', () => {
  it('stores the issue, resolution, remediation and append metrics, and follows new incidents', async () => {
    await writePipelineIncident(store, { issueId: 'ok', outcome: 'resolved', attach: ['pod_restart'] });
    await writePipelineIncident(store, { issueId: 'bad', outcome: 'rolled_back', start: 100 });
    await writePipelineIncident(store, { issueId: 'open', outcome: 'open', start: 200 });

    await settle('cairn_active_issues', (s) => s.length === 1 && s[0]!.value === 1);
    const byState = await settle('sum by (state) (cairn_issues_total)', (s) => s.length === 5);
    expect(Object.fromEntries(byState.map((s) => [s.metric.state, s.value]))).toEqual({
      Detected: 3,
      Analyzing: 3,
      Remediating: 3,
      Resolved: 1,
      Escalated: 1,
    });
    const outcomes = await prometheus.query('cairn_remediations_total');
    expect(Object.fromEntries(outcomes.map((s) => [s.metric.outcome, s.value]))).toEqual({
      completed: 1,
      rolled_back: 1,
    });
    // The one resolution took 60 s: the median of the histogram lies in its (30, 60] bucket.
    const [median] = await prometheus.query(
      'histogram_quantile(0.5, sum by (le) (cairn_issue_resolution_duration_seconds_bucket))',
    );
    expect(median!.value).toBeGreaterThan(30);
    expect(median!.value).toBeLessThanOrEqual(60);
    const [appends] = await prometheus.query('sum(cairn_event_store_append_duration_seconds_count{outcome="ok"})');
    expect(appends!.value).toBe(29);

    await writePipelineIncident(store, { issueId: 'later', outcome: 'open', start: 300 });
    await settle('cairn_active_issues', (s) => s[0]?.value === 2);
    const [detected] = await prometheus.query('sum(cairn_issues_total{state="Detected"})');
    expect(detected!.value).toBe(4);
  });
});
