/**
 * Projection lag: from an event being appended to its row being committed in the sqlite read model (and so visible
 * to the API's readers), for incidents written live through the deciders while the read model already holds a few
 * thousand incidents. Target p99 < 100 ms. Prints `name=value unit` lines.
 *
 *   node --import tsx bench/projectionLag.bench.ts     (SEED_INCIDENTS, LIVE_INCIDENTS, COMMANDS_PER_S to vary)
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { readModelProjections } from '../projections/readModel.projections.ts';
import { openEventStore } from '../src/adapters/eventstore/openEventStore.ts';
import {
  createSqliteProjectionTarget,
  openSqliteReadModel,
} from '../src/adapters/readmodel/sqlite.projectionTarget.ts';
import { createProjectionRunner } from '../src/application/projectionRunner.ts';
import type { EventStore } from '../src/ports/eventStore.ts';
import { writePipelineIncident } from '../test/support/pipelineLog.ts';
import { percentile } from './support/loadGenerator.ts';
import { seedIncidents } from './support/readModelSeed.ts';

const SEED_INCIDENTS = Number(process.env.SEED_INCIDENTS ?? 3_000);
const LIVE_INCIDENTS = Number(process.env.LIVE_INCIDENTS ?? 300);
/** Commands (appends) per second while measuring: a busy operator, well above a real incident rate. */
const COMMANDS_PER_S = Number(process.env.COMMANDS_PER_S ?? 200);

const report = (name: string, value: number, unit: string, digits = 0) => {
  process.stdout.write(`${name}=${value.toFixed(digits)} ${unit}\n`);
};

const dir = mkdtempSync(join(tmpdir(), 'cairn-bench-lag-'));
try {
  const store = openEventStore(`sqlite:${join(dir, 'events.db')}`);
  const seeded = await seedIncidents(store, SEED_INCIDENTS);
  report('seed_incidents', SEED_INCIDENTS, 'incidents');
  report('seed_events', seeded, 'events');

  const db = openSqliteReadModel(join(dir, 'readmodel.db'));
  const appendedAt = new Map<string, number>();
  const visibleAt = new Map<string, number>();
  const key = (stream: string, revision: bigint) => `${stream}@${revision}`;
  const runner = createProjectionRunner({
    store,
    target: createSqliteProjectionTarget(db),
    projections: readModelProjections,
    onProjected: (_name, event) => visibleAt.set(key(event.streamId, event.revision), performance.now()),
  });
  const caughtUp = performance.now();
  await runner.start();
  report('catch_up_events_per_s', seeded / ((performance.now() - caughtUp) / 1000), 'events/s');

  // Appends leave on a fixed schedule; each remembers when it was called, per event it wrote.
  const interval = 1000 / COMMANDS_PER_S;
  const started = performance.now();
  let appends = 0;
  const paced: EventStore = new Proxy(store, {
    get(target, property, receiver) {
      if (property !== 'appendToStream') return Reflect.get(target, property, receiver);
      return async (...args: Parameters<EventStore['appendToStream']>) => {
        const due = started + appends++ * interval;
        const wait = due - performance.now();
        if (wait > 0) await new Promise((r) => setTimeout(r, wait));
        const at = performance.now();
        const result = await target.appendToStream(...args);
        const count = BigInt(args[1].length);
        for (let r = result.nextExpectedRevision - count + 1n; r <= result.nextExpectedRevision; r++) {
          appendedAt.set(key(args[0], r), at);
        }
        return result;
      };
    },
  });
  for (let i = 0; i < LIVE_INCIDENTS; i++) {
    await writePipelineIncident(paced, {
      issueId: `live${i}`,
      outcome: (['resolved', 'rolled_back', 'open'] as const)[i % 3]!,
      start: i * 90,
    });
  }
  // Let the last events through.
  const deadline = performance.now() + 5_000;
  while (performance.now() < deadline) {
    const pending = [...appendedAt.keys()].some((k) => k.startsWith('issue-') && !visibleAt.has(k));
    if (!pending) break;
    await new Promise((r) => setTimeout(r, 10));
  }
  const lags = [...appendedAt]
    .filter(([k]) => k.startsWith('issue-'))
    .map(([k, at]) => (visibleAt.get(k) ?? Number.POSITIVE_INFINITY) - at)
    .sort((a, b) => a - b);
  const lost = lags.filter((lag) => !Number.isFinite(lag)).length;
  const rows = db.prepare("SELECT count(*) AS n FROM incidents WHERE issue_id LIKE 'live%'").get() as { n: number };
  await runner.stop();
  await store.close();
  db.close();

  report('live_appends', appends, 'appends');
  report('live_append_rate', appends / ((performance.now() - started) / 1000), 'appends/s');
  report('projected_events', lags.length - lost, 'events');
  report('projection_lag_p50', percentile(lags, 50), 'ms', 2);
  report('projection_lag_p99', percentile(lags, 99), 'ms', 2);
  report('projection_lag_max', lags[lags.length - 1 - lost] ?? Number.NaN, 'ms', 2);
  report('projection_lag_target_p99', 100, 'ms');
  if (lost > 0 || rows.n !== LIVE_INCIDENTS) {
    throw new Error(`${lost} events never projected; ${rows.n} of ${LIVE_INCIDENTS} live incidents in the read model`);
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
