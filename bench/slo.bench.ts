/**
 * ServiceLevelObjective evaluation: 500 SLOs (10 per service, 50 services) with the default workbook pairs and a
 * 30-day window, evaluated by the real evaluator (evaluateSlo) against a real Prometheus holding 31 days of request
 * counters per service (one sample every 5 minutes, backfilled with promtool before start).
 *
 *   node --import tsx bench/slo.bench.ts     (SLO_BENCH_SERVICES=50, SLO_BENCH_PER_SERVICE=10, SLO_BENCH_ROUNDS=5)
 *
 * Included: every PromQL instant query over HTTP (the SLO window and each distinct window of the pairs, good and
 * total), the burn-rate math, reading each SLO's stream from a SQLite event store, and recording the alerts that
 * fire through the in-process anomaly intake (correlation decider, SQLite). Not included: writing each SLO's status
 * to the API server and the Issue reactor. A round evaluates the 500 one after another, as the operator does;
 * the first round records the alerts that fire, later rounds find nothing changed. `slo_round_ms` is the median of
 * the later rounds, `slo_evaluations_per_second` follows from it, the query percentiles cover every query of the
 * later rounds.
 *
 * The evaluator queries each distinct window once, good and total together, one window after another: 16 queries
 * for an SLO with the default pairs.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DefaultBurnRateRules } from '../domain/slo/burnRate.ts';
import { openEventStore } from '../src/adapters/eventstore/openEventStore.ts';
import { createPrometheusClient, type PrometheusClient } from '../src/adapters/prometheus/prometheus.client.ts';
import { createAnomalyIntake } from '../src/application/detection/anomalyIntake.ts';
import { createAnomalyRecorder } from '../src/application/detection/anomalyRecorder.ts';
import type { EvaluatedSlo } from '../src/slo/slo.validation.ts';
import { evaluateSlo } from '../src/slo/sloEvaluator.ts';
import { type SeriesSpec, startPrometheus } from '../test/support/prometheus.ts';
import { percentile } from './support/loadGenerator.ts';

const SERVICES = Number(process.env.SLO_BENCH_SERVICES ?? 50);
const PER_SERVICE = Number(process.env.SLO_BENCH_PER_SERVICE ?? 10);
const ROUNDS = Number(process.env.SLO_BENCH_ROUNDS ?? 5);
const STEP = 300;
const PER_STEP = 1_000;
const HOUR = 3_600;
const DAY = 86_400;

const report = (name: string, value: number, unit: string, digits = 0) => {
  process.stdout.write(`${name}=${value.toFixed(digits)} ${unit}\n`);
};

// Prometheus keeps no sample from the future: the history ends just before now, and the evaluator's clock there.
const end = Math.floor(Date.now() / 1000 / STEP) * STEP - STEP;
const start = end - 31 * DAY;

/** Failed requests in the step ending at t: a few services burn fast, some slowly, the rest have a little noise. */
const failures = (service: number, t: number): number => {
  if (service % 10 === 0 && t > end - HOUR) return PER_STEP / 2;
  if (service % 10 === 1 && t > end - 3 * DAY - HOUR) return 1.5;
  return ((t / STEP) * 7 + service * 13) % 97 === 0 ? 3 : 0;
};

const history = (): SeriesSpec[] => {
  const series: SeriesSpec[] = [];
  for (let service = 0; service < SERVICES; service++) {
    const ok: [number, number][] = [];
    const failed: [number, number][] = [];
    let good = 0;
    let bad = 0;
    for (let t = start; t <= end; t += STEP) {
      if (t > start) {
        const errors = failures(service, t);
        bad += errors;
        good += PER_STEP - errors;
      }
      ok.push([t, good]);
      failed.push([t, bad]);
    }
    const labels = { service: `svc-${service}` };
    series.push({ name: 'bench_requests_total', labels: { ...labels, code: '200' }, samples: ok });
    series.push({ name: 'bench_requests_total', labels: { ...labels, code: '500' }, samples: failed });
  }
  return series;
};

const TARGETS = [99, 99.5, 99.9, 99.95, 99.99];
const slos: EvaluatedSlo[] = [];
for (let service = 0; service < SERVICES; service++) {
  for (let i = 0; i < PER_SERVICE; i++) {
    const selector = `service="svc-${service}"`;
    slos.push({
      namespace: 'bench',
      name: `svc-${service}-${i}`,
      generation: 1,
      good: `sum(increase(bench_requests_total{${selector},code!~"5.."}[$window]))`,
      total: `sum(increase(bench_requests_total{${selector}}[$window]))`,
      target: TARGETS[i % TARGETS.length]!,
      windowSeconds: 30 * DAY,
      rules: DefaultBurnRateRules.map((r) => ({ ...r, severity: r.urgency === 'page' ? 'critical' : 'medium' })),
      workload: { kind: 'Deployment', name: `svc-${service}`, namespace: 'bench' },
      enabled: true,
    });
  }
}

const dir = mkdtempSync(join(tmpdir(), 'cairn-bench-slo-'));
const backfillStarted = performance.now();
const prometheus = await startPrometheus({ backfill: history(), retention: '60d' });
report('slo_backfill_and_start_ms', performance.now() - backfillStarted, 'ms');
try {
  const store = openEventStore(`sqlite:${join(dir, 'events.db')}`);
  const now = () => new Date(end * 1000);
  let counter = 0;
  const intake = createAnomalyIntake({
    record: createAnomalyRecorder({ store, newId: () => `id-${++counter}`, now }),
    store,
  });
  const client = createPrometheusClient({ url: prometheus.url, timeoutMs: 30_000 });
  let timings: number[] = [];
  const timed: PrometheusClient = {
    ...client,
    async query(expr, options) {
      const started = performance.now();
      try {
        return await client.query(expr, options);
      } finally {
        timings.push(performance.now() - started);
      }
    },
  };
  const deps = { store, prometheus: timed, intake, now };

  const round = async () => {
    const started = performance.now();
    let firing = 0;
    for (const slo of slos) {
      const evaluation = await evaluateSlo(deps, slo);
      if (evaluation.prometheusError) throw new Error(`${slo.name}: ${evaluation.prometheusError}`);
      firing += evaluation.firing.length;
    }
    return { ms: performance.now() - started, firing };
  };

  const first = await round();
  report('slo_first_round_ms', first.ms, 'ms');
  report('slo_alerts_firing', first.firing, 'alerts');
  timings = [];
  const rounds: number[] = [];
  for (let i = 0; i < ROUNDS; i++) rounds.push((await round()).ms);
  rounds.sort((x, y) => x - y);
  const median = percentile(rounds, 50);
  timings.sort((x, y) => x - y);
  report('slo_count', slos.length, 'slos');
  report('slo_queries_per_evaluation', timings.length / (ROUNDS * slos.length), 'queries', 1);
  report('slo_round_ms', median, 'ms');
  report('slo_evaluations_per_second', slos.length / (median / 1000), 'evaluations/s', 1);
  report('slo_query_p50_ms', percentile(timings, 50), 'ms', 2);
  report('slo_query_p99_ms', percentile(timings, 99), 'ms', 2);
} finally {
  await prometheus.stop();
  rmSync(dir, { recursive: true, force: true });
}
