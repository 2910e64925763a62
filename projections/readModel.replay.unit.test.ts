import type Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { openEventStore } from '../src/adapters/eventstore/openEventStore.ts';
import {
  createSqliteProjectionTarget,
  openSqliteReadModel,
} from '../src/adapters/readmodel/sqlite.projectionTarget.ts';
import { createProjectionRunner } from '../src/application/projectionRunner.ts';
import type { EventStore } from '../src/ports/eventStore.ts';
import { writeIncident, writeRemediatedIncident } from '../test/support/incidentLog.ts';
import { writePipelineIncident } from '../test/support/pipelineLog.ts';
import { prepareReadModel, readModelProjections } from './readModel.projections.ts';

/** Every row of every read-model table (checkpoints aside), sorted, so two read models compare as values. */
function rows(db: Database.Database): Record<string, string[]> {
  const tables = db
    .prepare<[], { name: string }>(
      "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name != 'projection_checkpoints'",
    )
    .all()
    .map((t) => t.name);
  return Object.fromEntries(
    tables.map((table) => [
      table,
      (db.prepare(`SELECT * FROM "${table}"`).all() as unknown[]).map((r) => JSON.stringify(r)).sort(),
    ]),
  );
}

const runnerOn = (store: EventStore, db: Database.Database, pageSize?: number) => {
  prepareReadModel(db);
  return createProjectionRunner({
    store,
    target: createSqliteProjectionTarget(db),
    projections: readModelProjections,
    ...(pageSize === undefined ? {} : { pageSize }),
  });
};

/** A log with every kind of row: open, resolved, rolled-back and approved incidents, recurrences on one workload. */
async function busyLog(store: EventStore) {
  const shop = { kind: 'Deployment', name: 'checkout', namespace: 'shop' };
  await writeRemediatedIncident(store, 'checkout', 0);
  await writeRemediatedIncident(store, 'cart', 3, { approver: 'key:bob' });
  await writeIncident(store, 'plain', 9);
  for (const [i, outcome] of (['resolved', 'rolled_back', 'open', 'resolved', 'resolved'] as const).entries()) {
    await writePipelineIncident(store, { issueId: `again${i}`, workload: shop, outcome, start: 200 + i * 100 });
  }
  await writePipelineIncident(store, { issueId: 'busy', outcome: 'open', attach: ['pod_restart', 'pod_not_ready'] });
}

describe('the read model replayed in batches', () => {
  it('has exactly the rows the projections wrote one event at a time, whatever the page size', async () => {
    const store = openEventStore('memory:');
    const live = openSqliteReadModel(':memory:');
    const runner = runnerOn(store, live);
    await runner.start();
    await busyLog(store);
    const events = await store.readAll();
    const lastHandled = (name: string) =>
      events.filter((e) => readModelProjections.find((p) => p.name === name)!.handles(e.type)).at(-1)?.position;
    await expect.poll(() => runner.status().every((s) => s.checkpoint === lastHandled(s.name))).toBe(true);
    await runner.stop();
    const expected = rows(live);
    expect(expected.postmortems!.length).toBeGreaterThanOrEqual(5);
    expect(expected.postmortem_sources!.length).toBeGreaterThan(0);
    // The last of five on shop/checkout also follows the remediated `checkout` incident: five before it.
    expect(JSON.parse(expected.postmortems!.find((r) => r.includes('again4'))!).recurrences).toBe(5);

    for (const pageSize of [1, 7, 2000]) {
      const db = openSqliteReadModel(':memory:');
      await runnerOn(store, db, pageSize).catchUp();
      expect(rows(db), `page size ${pageSize}`).toEqual(expected);
      db.close();
    }
    live.close();
    await store.close();
  });
});
