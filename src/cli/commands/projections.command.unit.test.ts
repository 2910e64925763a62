import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type Database from 'better-sqlite3';
import { Command } from 'commander';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { prepareReadModel, readModelProjections } from '../../../projections/readModel.projections.ts';
import { writeGameDay } from '../../../test/support/chaosLog.ts';
import { writeEscalation } from '../../../test/support/escalationLog.ts';
import { writeIncident, writeRemediatedIncident } from '../../../test/support/incidentLog.ts';
import { writeNotification } from '../../../test/support/notificationLog.ts';
import { writeSla } from '../../../test/support/slaLog.ts';
import { openEventStore } from '../../adapters/eventstore/openEventStore.ts';
import {
  createSqliteProjectionTarget,
  defaultReadModelPath,
  openSqliteReadModel,
  type SqliteProjection,
} from '../../adapters/readmodel/sqlite.projectionTarget.ts';
import { createProjectionRunner } from '../../application/projectionRunner.ts';
import { registerProjectionsCommand } from './projections.command.ts';

/** Every table of the read model but the checkpoints, with the column that orders its rows. */
const readModelTables = (db: Database.Database): Record<string, string> =>
  Object.fromEntries(
    db
      .prepare<[], { name: string }>(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name != 'projection_checkpoints'",
      )
      .all()
      .map(({ name }) => [name, '1']),
  );
const snapshot = (db: Database.Database, tables: Record<string, string>) =>
  Object.fromEntries(
    Object.keys(tables).map((table) => {
      const rows = db.prepare(`SELECT * FROM "${table}"`).all() as Record<string, unknown>[];
      return [table, rows.map((r) => JSON.stringify(r)).sort()];
    }),
  );

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

const typeCounts: SqliteProjection = {
  name: 'type_counts',
  handles: () => true,
  init: (db) => db.exec('CREATE TABLE IF NOT EXISTS type_seen (event_id TEXT PRIMARY KEY, type TEXT NOT NULL)'),
  reset: (db) => db.exec('DELETE FROM type_seen'),
  apply: (event, db) => {
    db.prepare('INSERT OR IGNORE INTO type_seen VALUES (?, ?)').run(event.id, event.type);
  },
};

async function run(projections: SqliteProjection[], ...args: string[]) {
  let out = '';
  const program = new Command('cairn').exitOverride();
  registerProjectionsCommand(program, projections, (text) => {
    out += text;
  });
  await program.parseAsync(['node', 'cairn', ...args]);
  return out;
}

describe('cairn projections', () => {
  it('puts the read model beside a sqlite store by default', () => {
    expect(defaultReadModelPath('sqlite:./cairn-data/events.db')).toBe('cairn-data/readmodel.db');
    expect(defaultReadModelPath('kurrentdb://localhost:2113')).toBe('./cairn-data/readmodel.db');
  });

  it('rebuild replays the log into the registered projections from zero', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cairn-cli-proj-'));
    dirs.push(dir);
    const path = join(dir, 'events.db');
    const store = openEventStore(`sqlite:${path}`);
    await writeIncident(store, '1');
    await store.close();
    const readModel = openSqliteReadModel(join(dir, 'readmodel.db'));
    typeCounts.init!(readModel);
    readModel.exec("INSERT INTO type_seen VALUES ('stale', 'Stale')");

    const out = await run([typeCounts], 'projections', 'rebuild', '--store', `sqlite:${path}`);
    expect(out).toMatch(/^rebuilt type_counts: checkpoint 4\nreplayed the log into 1 projection\(s\) in \d+ ms\n$/);
    expect(readModel.prepare('SELECT type FROM type_seen ORDER BY type').all()).toEqual([
      { type: 'IssueAnomalyAttached' },
      { type: 'IssueDetected' },
      { type: 'IssueResolved' },
      { type: 'RemediationPlanCreated' },
    ]);
    expect(await run([typeCounts], 'projections', 'status', '--store', `sqlite:${path}`)).toBe(
      'type_counts  checkpoint 4\n',
    );
    readModel.close();
  });

  it('rebuilds every read-model table from zero to the rows the projections wrote as the events came', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cairn-cli-proj-'));
    dirs.push(dir);
    const path = join(dir, 'events.db');
    const store = openEventStore(`sqlite:${path}`);
    const readModel = openSqliteReadModel(join(dir, 'readmodel.db'));
    prepareReadModel(readModel);
    // Live: each projection applies events one at a time as they are appended.
    const runner = createProjectionRunner({
      store,
      target: createSqliteProjectionTarget(readModel),
      projections: readModelProjections,
    });
    await runner.start();
    await writeRemediatedIncident(store, 'checkout', 0);
    await writeRemediatedIncident(store, 'cart', 3, { approver: 'key:bob' });
    await writeIncident(store, 'plain', 9);
    await writeSla(store, 'plain', 9);
    await writeEscalation(store, 'checkout', 0);
    await writeNotification(store, 'checkout', 0);
    await writeGameDay(store);
    const events = await store.readAll();
    // Live, a projection's checkpoint moves on the events it handles only.
    const lastHandled = (name: string) =>
      events.filter((e) => readModelProjections.find((p) => p.name === name)!.handles(e.type)).at(-1)?.position;
    await vi.waitFor(() => {
      for (const s of runner.status()) expect(s.checkpoint).toBe(lastHandled(s.name));
    });
    await runner.stop();
    await store.close();
    const tables = readModelTables(readModel);
    expect(Object.keys(tables).length).toBeGreaterThanOrEqual(12);
    const live = snapshot(readModel, tables);
    for (const [table, rows] of Object.entries(live)) {
      if (!table.startsWith('postmortem_')) expect(rows.length, table).toBeGreaterThan(0);
    }

    const out = await run(readModelProjections, 'projections', 'rebuild', '--store', `sqlite:${path}`);
    const lines = out.trim().split('\n');
    expect(lines.slice(0, -1).map((line) => line.split(':')[0])).toEqual(
      readModelProjections.map((p) => `rebuilt ${p.name}`),
    );
    expect(lines.at(-1)).toMatch(
      new RegExp(`^replayed the log into ${readModelProjections.length} projection\\(s\\) in \\d+ ms$`),
    );
    expect(snapshot(readModel, tables)).toEqual(live);
    readModel.close();
  });

  it('says so when no projection is registered', async () => {
    expect(await run([], 'projections', 'rebuild')).toBe('no projections are registered; nothing to rebuild\n');
  });
});
