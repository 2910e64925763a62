import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import type { RecordedEvent } from '../../domain/messages.ts';
import { createMemoryEventStore } from '../adapters/eventstore/memory.eventStore.ts';
import { createSqliteEventStore } from '../adapters/eventstore/sqlite.eventStore.ts';
import {
  createSqliteProjectionTarget,
  openSqliteReadModel,
  type SqliteProjection,
} from '../adapters/readmodel/sqlite.projectionTarget.ts';
import type { EventStore, NewEvent } from '../ports/eventStore.ts';
import { createProjectionRunner } from './projectionRunner.ts';

/** Idempotent by construction: rows keyed by issue, updates guarded by the position that wrote them. */
const issueStatus: SqliteProjection = {
  name: 'issue_status',
  handles: (type) => type === 'IssueDetected' || type === 'IssueResolved' || type === 'ActionExecuted',
  init: (db) => {
    db.exec(`CREATE TABLE IF NOT EXISTS issue_status (
      issue_id TEXT PRIMARY KEY, status TEXT NOT NULL, title TEXT NOT NULL, last_position INTEGER NOT NULL)`);
    db.exec(`CREATE TABLE IF NOT EXISTS issue_actions (
      event_id TEXT PRIMARY KEY, issue_id TEXT NOT NULL, action TEXT NOT NULL)`);
  },
  reset: (db) => {
    db.exec('DELETE FROM issue_status; DELETE FROM issue_actions;');
  },
  apply: (event, db) => {
    const data = event.data as { issueId: string; title?: string; action?: string };
    switch (event.type) {
      case 'IssueDetected':
        db.prepare(
          `INSERT INTO issue_status (issue_id, status, title, last_position) VALUES (?, 'open', ?, ?)
           ON CONFLICT (issue_id) DO UPDATE SET status = 'open', title = excluded.title, last_position = excluded.last_position
           WHERE issue_status.last_position < excluded.last_position`,
        ).run(data.issueId, data.title ?? '', event.position);
        return;
      case 'IssueResolved':
        db.prepare(
          `UPDATE issue_status SET status = 'resolved', last_position = ? WHERE issue_id = ? AND last_position < ?`,
        ).run(event.position, data.issueId, event.position);
        return;
      case 'ActionExecuted':
        db.prepare('INSERT OR IGNORE INTO issue_actions (event_id, issue_id, action) VALUES (?, ?, ?)').run(
          event.id,
          data.issueId,
          data.action ?? '',
        );
        return;
    }
  },
};

const ev = (type: string, data: Record<string, unknown>): NewEvent => ({
  type,
  data,
  metadata: { occurredAt: '2025-01-01T00:00:00.000Z' },
});

async function seed(store: EventStore) {
  await store.appendToStream('issue-1', [ev('IssueDetected', { issueId: '1', title: 'pod crashloop' })]);
  await store.appendToStream('issue-2', [ev('IssueDetected', { issueId: '2', title: 'latency' })]);
  await store.appendToStream('remediation-a', [
    ev('ActionExecuted', { issueId: '1', action: 'restart' }),
    ev('Noise', { issueId: '1' }),
    ev('ActionExecuted', { issueId: '1', action: 'scale' }),
  ]);
  await store.appendToStream('issue-1', [ev('IssueResolved', { issueId: '1' })]);
}

const rows = (db: Database.Database) => ({
  status: db.prepare('SELECT issue_id, status, title FROM issue_status ORDER BY issue_id').all(),
  actions: db.prepare('SELECT issue_id, action FROM issue_actions ORDER BY action').all(),
});

const expectedRows = {
  status: [
    { issue_id: '1', status: 'resolved', title: 'pod crashloop' },
    { issue_id: '2', status: 'open', title: 'latency' },
  ],
  actions: [
    { issue_id: '1', action: 'restart' },
    { issue_id: '1', action: 'scale' },
  ],
};

async function waitFor(condition: () => boolean, what: string) {
  const deadline = Date.now() + 10_000;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'cairn-proj-'));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

const backends: [string, (dir: string) => { store: EventStore; readModelPath: string }][] = [
  [
    'memory store + sqlite read model file',
    (dir) => ({ store: createMemoryEventStore(), readModelPath: join(dir, 'rm.db') }),
  ],
  [
    'sqlite store and read model in one file',
    (dir) => ({
      store: createSqliteEventStore({ path: join(dir, 'cairn.db'), pollIntervalMs: 20 }),
      readModelPath: join(dir, 'cairn.db'),
    }),
  ],
];

describe.each(backends)('projection runner: %s', (_name, make) => {
  const setup = () => {
    const { store, readModelPath } = make(tempDir());
    const db = openSqliteReadModel(readModelPath);
    const target = createSqliteProjectionTarget(db);
    const runner = createProjectionRunner({ store, target, projections: [issueStatus], pageSize: 2 });
    cleanups.push(async () => {
      await runner.stop();
      await store.close();
      db.close();
    });
    return { store, db, target, runner };
  };

  it('catches up from the start and stores the checkpoint with the rows', async () => {
    const { store, db, runner } = setup();
    await seed(store);
    await runner.catchUp();
    expect(rows(db)).toEqual(expectedRows);
    const last = (await store.readAll()).at(-1)!;
    expect(runner.status()).toEqual([{ name: 'issue_status', checkpoint: last.position, live: false }]);
    expect(db.prepare('SELECT name, position FROM projection_checkpoints').all()).toEqual([
      { name: 'issue_status', position: Number(last.position) },
    ]);
  });

  it('is idempotent: applying every event twice gives the same rows', async () => {
    const { store, db } = setup();
    await seed(store);
    issueStatus.init!(db);
    const events = await store.readAll();
    for (const event of events) if (issueStatus.handles(event.type)) issueStatus.apply(event, db);
    const once = rows(db);
    for (const event of events) if (issueStatus.handles(event.type)) issueStatus.apply(event, db);
    expect(rows(db)).toEqual(once);
    // And interleaved duplicates (each event straight after itself) too.
    issueStatus.reset(db);
    for (const event of events) {
      if (!issueStatus.handles(event.type)) continue;
      issueStatus.apply(event, db);
      issueStatus.apply(event, db);
    }
    expect(rows(db)).toEqual(once);
    expect(once).toEqual(expectedRows);
  });

  it('resumes from its checkpoint without applying anything twice', async () => {
    const { store, db, target } = setup();
    const applied: string[] = [];
    const counting: SqliteProjection = {
      ...issueStatus,
      name: 'counting',
      apply: (event: RecordedEvent, tx) => {
        applied.push(event.id);
        issueStatus.apply(event, tx);
      },
    };
    await seed(store);
    await createProjectionRunner({ store, target, projections: [counting] }).catchUp();
    await store.appendToStream('issue-3', [ev('IssueDetected', { issueId: '3', title: 'disk' })]);
    // A fresh runner, as after a restart: it must start where the first one stopped.
    await createProjectionRunner({ store, target, projections: [counting] }).catchUp();
    // Five handled events from the seed, one more after the restart, each exactly once.
    expect(applied).toHaveLength(6);
    expect(new Set(applied).size).toBe(6);
    expect(rows(db).status).toHaveLength(3);
  });

  it('rolls back the rows and the checkpoint together when apply fails', async () => {
    const { store, db, target } = setup();
    await seed(store);
    let failOn: string | undefined = 'IssueResolved';
    const flaky: SqliteProjection = {
      ...issueStatus,
      apply: (event, tx) => {
        issueStatus.apply(event, tx);
        if (event.type === failOn) throw new Error('boom');
      },
    };
    const runner = createProjectionRunner({ store, target, projections: [flaky], pageSize: 100 });
    const error = await runner.catchUp().catch((e: unknown) => e);
    expect((error as { code: string }).code).toBe('projection.apply_failed');
    // The whole page was one transaction: nothing of it is visible, not even the checkpoint.
    expect(runner.status()[0]?.checkpoint).toBeUndefined();
    issueStatus.init!(db);
    expect(rows(db)).toEqual({ status: [], actions: [] });
    failOn = undefined;
    await runner.catchUp();
    expect(rows(db)).toEqual(expectedRows);
  });

  it('names the projections and the page when a commit fails, and keeps nothing of it', async () => {
    const { store, db, target } = setup();
    await seed(store);
    let refuse = true;
    const failingCheckpoints: typeof target = {
      ...target,
      writeCheckpoint: (tx, name, position) => {
        if (refuse) throw new Error('disk full');
        target.writeCheckpoint(tx, name, position);
      },
    };
    const runner = createProjectionRunner({ store, target: failingCheckpoints, projections: [issueStatus] });
    const error = (await runner.catchUp().catch((e: unknown) => e)) as { code: string; message: string };
    expect(error.code).toBe('projection.apply_failed');
    expect(error.message).toBe('projections issue_status could not commit the events from position 1: disk full');
    issueStatus.init!(db);
    expect(rows(db)).toEqual({ status: [], actions: [] });
    refuse = false;
    await runner.catchUp();
    expect(rows(db)).toEqual(expectedRows);
  });

  it('goes live after catching up and applies new events as they are appended', async () => {
    const { store, db, runner } = setup();
    await seed(store);
    await runner.start();
    expect(runner.status()[0]?.live).toBe(true);
    await store.appendToStream('issue-2', [ev('IssueResolved', { issueId: '2' })]);
    await waitFor(
      () =>
        (db.prepare("SELECT status FROM issue_status WHERE issue_id = '2'").get() as { status: string }).status ===
        'resolved',
      'issue 2 to resolve',
    );
    const last = (await store.readAll()).at(-1)!;
    await waitFor(() => runner.status()[0]?.checkpoint === last.position, 'the checkpoint');
  });

  it('rebuild resets the tables and the checkpoint and replays from zero', async () => {
    const { store, db, runner } = setup();
    await seed(store);
    await runner.start();
    // Damage the read model behind the runner's back.
    db.prepare("UPDATE issue_status SET status = 'garbage'").run();
    db.prepare("INSERT INTO issue_actions VALUES ('x', '9', 'stray')").run();
    await runner.rebuild(['issue_status']);
    expect(rows(db)).toEqual(expectedRows);
    expect(runner.status()[0]?.live).toBe(true);
    // Still live after the rebuild.
    await store.appendToStream('issue-5', [ev('IssueDetected', { issueId: '5', title: 'new' })]);
    await waitFor(() => rows(db).status.length === 3, 'issue 5');
  });

  it('refuses to rebuild a projection it does not know', async () => {
    const { runner } = setup();
    const error = await runner.rebuild(['nope']).catch((e: unknown) => e);
    expect((error as { code: string }).code).toBe('projection.not_found');
  });
});
