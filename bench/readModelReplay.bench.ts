/**
 * Full replay of the event log into the sqlite read model, as `cairn projections rebuild` does it: every read-model
 * projection reset, then the log read once, page by page, each page applied to every projection in one transaction.
 * The log is decider-written incidents (detection, analysis, plan, actions, verification, outcome) copied with new
 * ids. Target: 1,000,000 events in < 20 s. Prints `name=value unit` lines.
 *
 *   node --import tsx bench/readModelReplay.bench.ts     (EVENTS to vary; PAGE_SIZE for the runner's page)
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { prepareReadModel, readModelProjections } from '../projections/readModel.projections.ts';
import { openEventStore } from '../src/adapters/eventstore/openEventStore.ts';
import {
  createSqliteProjectionTarget,
  openSqliteReadModel,
} from '../src/adapters/readmodel/sqlite.projectionTarget.ts';
import { createProjectionRunner } from '../src/application/projectionRunner.ts';
import { eventsPerIncident, seedIncidents } from './support/readModelSeed.ts';

const EVENTS = Number(process.env.EVENTS ?? 1_000_000);
const PAGE_SIZE = process.env.PAGE_SIZE === undefined ? undefined : Number(process.env.PAGE_SIZE);

const report = (name: string, value: number, unit: string, digits = 0) => {
  process.stdout.write(`${name}=${value.toFixed(digits)} ${unit}\n`);
};

const dir = mkdtempSync(join(tmpdir(), 'cairn-bench-replay-'));
try {
  const store = openEventStore(`sqlite:${join(dir, 'events.db')}`);
  const incidents = Math.ceil(EVENTS / (await eventsPerIncident()));
  const seedStarted = performance.now();
  const events = await seedIncidents(store, incidents);
  report('seed_incidents', incidents, 'incidents');
  report('seed_events', events, 'events');
  report('seed_seconds', (performance.now() - seedStarted) / 1000, 's', 1);

  const db = openSqliteReadModel(join(dir, 'readmodel.db'));
  prepareReadModel(db);
  const runner = createProjectionRunner({
    store,
    target: createSqliteProjectionTarget(db),
    projections: readModelProjections,
    ...(PAGE_SIZE === undefined ? {} : { pageSize: PAGE_SIZE }),
  });
  const started = performance.now();
  const cpu = process.cpuUsage();
  await runner.rebuild(readModelProjections.map((p) => p.name));
  const seconds = (performance.now() - started) / 1000;
  const cpuUsed = process.cpuUsage(cpu);
  const rows = db.prepare('SELECT count(*) AS n FROM incidents').get() as { n: number };
  await store.close();
  db.close();

  report('replay_projections', readModelProjections.length, 'projections');
  report('replay_seconds', seconds, 's', 2);
  report('replay_events_per_s', events / seconds, 'events/s');
  // Wall time waits for the disk too; CPU time is this process' own work, steadier on a shared machine.
  report('replay_cpu_seconds', (cpuUsed.user + cpuUsed.system) / 1e6, 's', 2);
  report('replay_cpu_user_seconds', cpuUsed.user / 1e6, 's', 2);
  report('replay_seconds_per_million_events', (seconds * 1_000_000) / events, 's', 2);
  report('replay_target_seconds_per_million_events', 20, 's');
  if (rows.n !== incidents) throw new Error(`${rows.n} of ${incidents} incidents in the read model after the replay`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
