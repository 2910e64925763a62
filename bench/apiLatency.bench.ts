/**
 * API latency under a constant request rate: GET of the incident list (REST, then GraphQL) at 200 requests/s for a fixed
 * duration, over a real listening server and a sqlite read model of a few thousand incidents, measured by an
 * open-loop load generator (latency counts from when each request was due). Target p99 < 25 ms.
 *
 *   node --import tsx bench/apiLatency.bench.ts     (SEED_INCIDENTS, RATE, DURATION_S to vary)
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { readModelProjections } from '../projections/readModel.projections.ts';
import { openEventStore } from '../src/adapters/eventstore/openEventStore.ts';
import { graphqlRoutes } from '../src/adapters/http/graphql/graphql.plugin.ts';
import { buildHttpApp } from '../src/adapters/http/httpApp.ts';
import { createKeyRing, generateKey } from '../src/adapters/http/security/apiKeys.ts';
import { createReadModelQueries } from '../src/adapters/readmodel/readModel.queries.ts';
import {
  createSqliteProjectionTarget,
  openSqliteReadModel,
} from '../src/adapters/readmodel/sqlite.projectionTarget.ts';
import { createApiCommands } from '../src/application/apiCommands.ts';
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
  const queries = createReadModelQueries(db);
  const viewer = generateKey('bench', 'viewer');
  const ring = createKeyRing([viewer.stored]);
  const app = await buildHttpApp({
    intake: createAnomalyIntake({ record: createAnomalyRecorder({ store, newId: () => 'x', now }), store }),
    workloads: { resolve: async () => ({ ok: false, reason: WorkloadRefusal.NotFound, message: 'none' }) },
    newId: () => 'x',
    now,
    // Keys are checked and counted as in production; the per-key limit is lifted so the load is not refused.
    security: { keys: () => ring, rateLimit: { max: 1_000_000_000, timeWindowMs: 60_000 } },
    api: { queries, commands: createApiCommands({ store, now }) },
    securedPlugins: [graphqlRoutes({ queries })],
  });
  const base = await app.listen({ host: '127.0.0.1', port: 0 });

  const listQuery =
    '{ incidents(limit: 50) { items { id state severity riskScore workload { kind name namespace } } } }';
  const targets = [
    { name: 'rest_incident_list', path: '/api/v1/incidents?limit=50' },
    { name: 'graphql_incident_list', path: `/graphql?query=${encodeURIComponent(listQuery)}` },
  ];
  const headers = { 'x-api-key': viewer.key };
  for (const target of targets) {
    // A short warm-up so JIT and sqlite's page cache are in the state a running server is in.
    await constantRate({ url: `${base}${target.path}`, headers, ratePerSecond: RATE, durationSeconds: 2 });
    const cpu = process.cpuUsage();
    const result = await constantRate({
      url: `${base}${target.path}`,
      headers,
      ratePerSecond: RATE,
      durationSeconds: DURATION_S,
    });
    const cpuUsed = process.cpuUsage(cpu);
    const ok = result.statuses.get(200) ?? 0;
    report(`${target.name}_requests`, result.sent, 'requests');
    report(`${target.name}_rate`, result.achievedRate, 'requests/s', 1);
    report(`${target.name}_p50`, percentile(result.latenciesMs, 50), 'ms', 2);
    report(`${target.name}_p99`, percentile(result.latenciesMs, 99), 'ms', 2);
    report(`${target.name}_max`, result.latenciesMs[result.latenciesMs.length - 1] ?? Number.NaN, 'ms', 2);
    report(`${target.name}_unanswered`, result.errors, 'requests');
    // Server and load generator share this process: an upper bound of the server's cost, steady under contention.
    report(`${target.name}_cpu_per_request`, (cpuUsed.user + cpuUsed.system) / 1000 / result.sent, 'ms', 3);
    if (ok + result.errors !== result.sent) {
      throw new Error(
        `${target.path}: ${ok} of ${result.sent} answered 200 (statuses ${JSON.stringify([...result.statuses])})`,
      );
    }
  }
  report('api_latency_target_p99', 25, 'ms');
  // Latency under a shared machine is mostly waiting for a core: the load says how shared it was.
  report('load_average_1m', loadavg()[0]!, 'runnable', 1);
  await app.close();
  await store.close();
  db.close();
} finally {
  rmSync(dir, { recursive: true, force: true });
}
