import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command } from 'commander';
import { afterEach, describe, expect, it } from 'vitest';
import { writeIncident } from '../../../test/support/incidentLog.ts';
import { openEventStore } from '../../adapters/eventstore/openEventStore.ts';
import {
  defaultReadModelPath,
  openSqliteReadModel,
  type SqliteProjection,
} from '../../adapters/readmodel/sqlite.projectionTarget.ts';
import { registerProjectionsCommand } from './projections.command.ts';

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
    expect(out).toMatch(/^rebuilt type_counts: checkpoint 4 in \d+ ms\n$/);
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

  it('says so when no projection is registered', async () => {
    expect(await run([], 'projections', 'rebuild')).toBe('no projections are registered; nothing to rebuild\n');
  });
});
