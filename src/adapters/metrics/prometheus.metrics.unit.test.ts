import { describe, expect, it } from 'vitest';
import { readModelProjections } from '../../../projections/readModel.projections.ts';
import { testKeys } from '../../../test/support/apiKeys.ts';
import { writePipelineIncident } from '../../../test/support/pipelineLog.ts';
import { createAnomalyIntake } from '../../application/detection/anomalyIntake.ts';
import { createAnomalyRecorder } from '../../application/detection/anomalyRecorder.ts';
import { createProjectionRunner } from '../../application/projectionRunner.ts';
import { runReactor } from '../../application/reactor.ts';
import { isWrongExpectedRevisionError } from '../../ports/eventStore.ts';
import { WorkloadRefusal } from '../../ports/workloadLookup.ts';
import { openEventStore } from '../eventstore/openEventStore.ts';
import { buildHttpApp } from '../http/httpApp.ts';
import { createSqliteProjectionTarget, openSqliteReadModel } from '../readmodel/sqlite.projectionTarget.ts';
import { createCairnMetrics, instrumentEventStore, lagSeconds } from './prometheus.metrics.ts';

/** The value of one sample line of the exposition text, e.g. `cairn_active_issues` or `x{a="b"}`. */
const sample = (text: string, series: string): number | undefined => {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
};

const until = async (check: () => Promise<boolean>) => {
  for (let i = 0; i < 200 && !(await check()); i++) await new Promise((r) => setTimeout(r, 10));
};

describe('Cairn metrics', () => {
  it('follows the log into issue, resolution, remediation and append metrics', async () => {
    const metrics = createCairnMetrics();
    const store = instrumentEventStore(openEventStore('memory:'), metrics);
    const feed = metrics.follow(store);
    await writePipelineIncident(store, { issueId: 'ok', outcome: 'resolved', attach: ['pod_restart'] });
    await writePipelineIncident(store, { issueId: 'bad', outcome: 'rolled_back', start: 100 });
    await writePipelineIncident(store, { issueId: 'open', outcome: 'open', start: 200 });
    const text = async () => (await metrics.scrape()).body;
    await until(async () => sample(await text(), 'cairn_remediations_total{outcome="rolled_back"}') === 1);
    const body = await text();
    await feed.close();
    await store.close();

    expect(sample(body, 'cairn_active_issues')).toBe(1);
    expect(sample(body, 'cairn_issues_total{severity="low",state="Detected"}')).toBe(3);
    expect(sample(body, 'cairn_issues_total{severity="medium",state="Resolved"}')).toBe(1);
    expect(sample(body, 'cairn_issues_total{severity="low",state="Escalated"}')).toBe(1);
    expect(sample(body, 'cairn_issue_resolution_duration_seconds_count{severity="medium"}')).toBe(1);
    expect(sample(body, 'cairn_issue_resolution_duration_seconds_sum{severity="medium"}')).toBe(60);
    expect(sample(body, 'cairn_issue_resolution_duration_seconds_bucket{le="30",severity="medium"}')).toBe(0);
    expect(sample(body, 'cairn_issue_resolution_duration_seconds_bucket{le="60",severity="medium"}')).toBe(1);
    expect(sample(body, 'cairn_remediations_total{outcome="completed"}')).toBe(1);
    // Every command of the three incidents was one append: 13 + 11 + 5.
    expect(sample(body, 'cairn_event_store_append_duration_seconds_count{outcome="ok"}')).toBe(29);
  });

  it('shows the last evaluation of each SLO as gauges, and forgets an SLO that is gone', async () => {
    const metrics = createCairnMetrics();
    const slo = { namespace: 'shop', name: 'checkout' };
    metrics.observeSlo(slo, {
      current: 99.85,
      errorBudgetRemaining: -0.5,
      burnRates: [{ window: '1h', rate: 16.2 }, { window: '5m', rate: 20 }, { window: '72h' }],
      firing: [{ name: 'page-1h', severity: 'critical' }],
    });
    let body = (await metrics.scrape()).body;
    expect(sample(body, 'cairn_slo_sli_percent{namespace="shop",slo="checkout"}')).toBe(99.85);
    expect(sample(body, 'cairn_slo_error_budget_remaining{namespace="shop",slo="checkout"}')).toBe(-0.5);
    expect(sample(body, 'cairn_slo_burn_rate{namespace="shop",slo="checkout",window="1h"}')).toBe(16.2);
    // A window without data has no rate: no sample rather than a made-up zero.
    expect(sample(body, 'cairn_slo_burn_rate{namespace="shop",slo="checkout",window="72h"}')).toBeUndefined();
    expect(
      sample(body, 'cairn_slo_burn_alert_firing{namespace="shop",slo="checkout",alert="page-1h",severity="critical"}'),
    ).toBe(1);
    metrics.observeSlo(slo, { burnRates: [], firing: [] });
    body = (await metrics.scrape()).body;
    expect(sample(body, 'cairn_slo_sli_percent{namespace="shop",slo="checkout"}')).toBeUndefined();
    expect(body).not.toContain('cairn_slo_burn_alert_firing{');
    metrics.observeSlo(slo, undefined);
    expect((await metrics.scrape()).body).not.toContain('slo="checkout"');
  });

  it('counts chaos runs by fault and outcome from the log', async () => {
    const metrics = createCairnMetrics();
    const store = openEventStore('memory:');
    const feed = metrics.follow(store);
    const meta = (at: string) => ({ occurredAt: at, actor: 'system:chaos' });
    const started = (run: number, type: string) => ({
      type: 'ChaosRunStarted',
      data: {
        run,
        trigger: 'created',
        generation: run,
        fault: { type, count: 1 },
        target: { kind: 'Deployment', namespace: 'shop', name: 'web' },
        durationSeconds: 60,
        recovery: { expect: 'WorkloadReady', withinSeconds: 120 },
        dryRun: false,
        checks: [],
      },
      metadata: meta('2026-12-07T10:00:00Z'),
    });
    await store.appendToStream('chaos-shop.game', [
      started(1, 'image_pull'),
      {
        type: 'ChaosRunRefused',
        data: { run: 1, code: 'too_many_pods', message: 'too many' },
        metadata: meta('2026-12-07T10:00:00Z'),
      },
      started(2, 'pod_kill'),
      {
        type: 'ChaosRunCompleted',
        data: { run: 2, outcome: 'passed', reason: 'recovered', remediatedByCairn: false },
        metadata: meta('2026-12-07T10:01:00Z'),
      },
    ]);
    const text = async () => (await metrics.scrape()).body;
    await until(async () => sample(await text(), 'cairn_chaos_runs_total{fault="pod_kill",outcome="passed"}') === 1);
    const body = await text();
    await feed.close();
    await store.close();
    expect(sample(body, 'cairn_chaos_runs_total{fault="image_pull",outcome="refused"}')).toBe(1);
    expect(sample(body, 'cairn_chaos_runs_total{fault="pod_kill",outcome="passed"}')).toBe(1);
  });

  it('times a refused append as a conflict and still throws it', async () => {
    const metrics = createCairnMetrics();
    const store = instrumentEventStore(openEventStore('memory:'), metrics);
    const event = {
      type: 'IssueAcknowledged',
      data: { acknowledgedBy: 'key:a' },
      metadata: { occurredAt: new Date().toISOString(), actor: 'key:a' },
    };
    const refused = await store.appendToStream('issue-x', [event], { expectedRevision: 5n }).then(
      () => undefined,
      (error: unknown) => error,
    );
    expect(isWrongExpectedRevisionError(refused)).toBe(true);
    const body = (await metrics.scrape()).body;
    expect(sample(body, 'cairn_event_store_append_duration_seconds_count{outcome="conflict"}')).toBe(1);
    await store.close();
  });

  it('measures projection lag from the event being recorded to the read model committing it', async () => {
    const metrics = createCairnMetrics();
    const store = openEventStore('memory:');
    const db = openSqliteReadModel(':memory:');
    const lags: number[] = [];
    const runner = createProjectionRunner({
      store,
      target: createSqliteProjectionTarget(db),
      projections: readModelProjections,
      onProjected: (name, event) => {
        if (name === 'incidents') lags.push(lagSeconds(event));
        metrics.observeProjectionLag(name, lagSeconds(event));
      },
    });
    await runner.start();
    await writePipelineIncident(store, { issueId: 'i1', outcome: 'resolved' });
    await until(async () => db.prepare("SELECT state FROM incidents WHERE state = 'Resolved'").get() !== undefined);
    await runner.stop();
    const body = (await metrics.scrape()).body;
    const count = sample(body, 'cairn_projection_lag_seconds_count{projection="incidents"}');
    expect(count).toBe(lags.length);
    expect(count).toBeGreaterThanOrEqual(6);
    expect(lags.every((lag) => lag >= 0 && lag < 5)).toBe(true);
    await store.close();
  });

  it('says how far each reactor is behind the log, whether it is held, and counts its failed tries', async () => {
    const metrics = createCairnMetrics();
    const store = openEventStore('memory:');
    await writePipelineIncident(store, { issueId: 'held', outcome: 'open' });
    let refusing = true;
    let tries = 0;
    let release: (() => void) | undefined;
    const saved = new Map<string, bigint>();
    const writer = runReactor(
      store,
      { read: (name) => saved.get(name), write: (name, position) => saved.set(name, position) },
      {
        name: 'kubernetes-resources',
        filter: { streamPrefixes: ['issue-'] },
        async handle() {
          tries++;
          if (refusing) throw Object.assign(new Error('HTTP 503'), { code: 503 });
        },
      },
      {
        sleep: () => new Promise<void>((resolve) => (release = resolve)),
        onError: (_error, _event, willRetry) =>
          metrics.observeReactorError('kubernetes-resources', willRetry ? 'retried' : 'skipped'),
      },
    );
    metrics.followReactors(async () => [await writer.progress()]);
    const text = async () => (await metrics.scrape()).body;
    await until(async () => tries > 0);
    const held = await text();
    const issueEvents = (await store.readAll()).filter((e) => e.streamId.startsWith('issue-')).length;
    expect(sample(held, 'cairn_reactor_behind_events{reactor="kubernetes-resources"}')).toBe(issueEvents);
    expect(sample(held, 'cairn_reactor_retrying{reactor="kubernetes-resources"}')).toBe(1);
    expect(sample(held, 'cairn_reactor_errors_total{reactor="kubernetes-resources",outcome="retried"}')).toBe(1);
    expect(sample(held, 'cairn_reactor_lag_seconds{reactor="kubernetes-resources"}')).toBeGreaterThanOrEqual(0);
    expect(sample(held, 'cairn_reactor_last_error_timestamp_seconds{reactor="kubernetes-resources"}')).toBeGreaterThan(
      0,
    );

    refusing = false;
    release?.();
    await until(async () => sample(await text(), 'cairn_reactor_behind_events{reactor="kubernetes-resources"}') === 0);
    const caughtUp = await text();
    expect(sample(caughtUp, 'cairn_reactor_retrying{reactor="kubernetes-resources"}')).toBe(0);
    expect(sample(caughtUp, 'cairn_reactor_lag_seconds{reactor="kubernetes-resources"}')).toBe(0);
    await writer.close();
    await store.close();
  });

  it('serves /metrics in the Prometheus text format, with the process metrics', async () => {
    const metrics = createCairnMetrics({ processMetrics: true });
    const store = openEventStore('memory:');
    const now = () => new Date();
    const app = await buildHttpApp({
      intake: createAnomalyIntake({ record: createAnomalyRecorder({ store, newId: () => 'x', now }), store }),
      workloads: { resolve: async () => ({ ok: false, reason: WorkloadRefusal.NotFound, message: 'none' }) },
      newId: () => 'x',
      now,
      metrics,
      security: testKeys().security,
    });
    const scraped = await app.inject({ method: 'GET', url: '/metrics' });
    expect(scraped.statusCode).toBe(200);
    expect(scraped.headers['content-type']).toContain('text/plain');
    expect(scraped.body).toContain('# TYPE cairn_active_issues gauge');
    expect(scraped.body).toContain('cairn_process_resident_memory_bytes');
    await app.close();
    await store.close();
  });
});
