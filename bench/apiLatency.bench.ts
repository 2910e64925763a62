/**
 * API latency under a constant request rate: GET of the incident list (REST) at 200 requests/s for a fixed
 * duration, over a real listening server and a sqlite read model of a few thousand incidents, measured by an
 * open-loop load generator (latency counts from when each request was due). Target p99 < 25 ms.
 *
 *   node --import tsx bench/apiLatency.bench.ts     (SEED_INCIDENTS, RATE, DURATION_S, BENCH_PATH to vary)
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readModelProjections } from '../projections/readModel.projections.ts';
import { openEventStore } from '../src/adapters/eventstore/openEventStore.ts';
import { buildHttpApp } from '../src/adapters/http/httpApp.ts';
import {
  createSqliteProjectionTarget,
  openSqliteReadModel,
} from '../src/adapters/readmodel/sqlite.projectionTarget.ts';
import { createAnomalyIntake } from '../src/application/detection/anomalyIntake.ts';
import { createAnomalyRecorder } from '../src/application/detection/anomalyRecorder.ts';
import { createProjectionRunner } from '../src/application/projectionRunner.ts';
import { WorkloadRefusal } from '../src/ports/workloadLookup.ts';
import { constantRate, percentile } from './support/loadGenerator.ts';
import { seedIncidents } from './support/readModelSeed.ts';

const SEED_INCIDENTS = Number(process.env.SEED_INCIDENTS ?? 3_000);
const RATE = Number(process.env.RATE ?? 200);
const DURATION_S = Number(process.env.DURATION_S ?? 30);

const report = (name: string, value: number, unit: string, digits = 0) => {
  process.stdout.write(`${name}=${value.toFixed(digits)} ${unit}\n`);
};

const dir = mkdtempSync(join(tmpdir(), 'cairn-bench-api-'));
try {
  const store = openEventStore(`sqlite:${join(dir, 'events.db')}`);
  await seedIncidents(store, SEED_INCIDENTS);
  const db = openSqliteReadModel(join(dir, 'readmodel.db'));
  await createProjectionRunner({
    store,
    target: createSqliteProjectionTarget(db),
    projections: readModelProjections,
  }).catchUp();
  report('read_model_incidents', (db.prepare('SELECT count(*) AS n FROM incidents').get() as { n: number }).n, 'rows');

  const now = () => new Date();
  const app = await buildHttpApp({
    intake: createAnomalyIntake({ record: createAnomalyRecorder({ store, newId: () => 'x', now }), store }),
    workloads: { resolve: async () => ({ ok: false, reason: WorkloadRefusal.NotFound, message: 'none' }) },
    newId: () => 'x',
    now,
  });
  const base = await app.listen({ host: '127.0.0.1', port: 0 });

  const targets = [{ name: 'rest_incident_list', path: process.env.BENCH_PATH ?? '/api/v1/incidents?limit=50' }];
  for (const target of targets) {
    // A short warm-up so JIT and sqlite's page cache are in the state a running server is in.
    await constantRate({ url: `${base}${target.path}`, ratePerSecond: RATE, durationSeconds: 2 });
    const result = await constantRate({
      url: `${base}${target.path}`,
      ratePerSecond: RATE,
      durationSeconds: DURATION_S,
    });
    const ok = result.statuses.get(200) ?? 0;
    report(`${target.name}_requests`, result.sent, 'requests');
    report(`${target.name}_rate`, result.achievedRate, 'requests/s', 1);
    report(`${target.name}_p50`, percentile(result.latenciesMs, 50), 'ms', 2);
    report(`${target.name}_p99`, percentile(result.latenciesMs, 99), 'ms', 2);
    report(`${target.name}_max`, result.latenciesMs[result.latenciesMs.length - 1] ?? Number.NaN, 'ms', 2);
    if (ok !== result.sent) {
      throw new Error(
        `${target.path}: ${ok} of ${result.sent} answered 200 (statuses ${JSON.stringify([...result.statuses])}, ${result.errors} errors)`,
      );
    }
  }
  report('api_latency_target_p99', 25, 'ms');
  await app.close();
  await store.close();
  db.close();
} finally {
  rmSync(dir, { recursive: true, force: true });
}
