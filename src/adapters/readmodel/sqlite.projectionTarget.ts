import { mkdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import Database from 'better-sqlite3';
import { CairnError, ErrorCategory } from '../../../domain/errors.ts';
import type { Projection, ProjectionTarget } from '../../application/projectionRunner.ts';
import { parseEventStoreUrl } from '../eventstore/eventStore.factory.ts';

/** A projection whose read model lives in sqlite; `apply` writes through the connection inside the transaction. */
export type SqliteProjection = Projection<Database.Database>;

const CHECKPOINT_SCHEMA = `
CREATE TABLE IF NOT EXISTS projection_checkpoints (
  name       TEXT    PRIMARY KEY,
  position   INTEGER NOT NULL,
  updated_at TEXT    NOT NULL
);
`;

/**
 * The sqlite read model. Checkpoints live in `projection_checkpoints` in the same database as the projections'
 * tables, so the runner commits a projection's writes and its new checkpoint in one transaction: after a crash the
 * read model is exactly at its checkpoint, never ahead of it or behind it.
 */
export function createSqliteProjectionTarget(db: Database.Database): ProjectionTarget<Database.Database> {
  db.exec(CHECKPOINT_SCHEMA);
  const read = db.prepare<[string], { position: number }>('SELECT position FROM projection_checkpoints WHERE name = ?');
  const write = db.prepare(
    `INSERT INTO projection_checkpoints (name, position, updated_at) VALUES (?, ?, ?)
     ON CONFLICT (name) DO UPDATE SET position = excluded.position, updated_at = excluded.updated_at`,
  );
  const remove = db.prepare('DELETE FROM projection_checkpoints WHERE name = ?');
  return {
    transaction: (fn) => {
      // IMMEDIATE: two processes projecting into one file serialise here instead of failing on upgrade.
      return db.transaction(() => fn(db)).immediate();
    },
    readCheckpoint: (_tx, name) => {
      const row = read.get(name);
      return row === undefined ? undefined : BigInt(row.position);
    },
    writeCheckpoint: (_tx, name, position) => {
      write.run(name, position, new Date().toISOString());
    },
    deleteCheckpoint: (_tx, name) => {
      remove.run(name);
    },
  };
}

/** Opens (creating if needed) a read model file with the settings the event store uses: WAL, a busy timeout. */
export function openSqliteReadModel(path: string): Database.Database {
  try {
    if (path !== ':memory:') mkdirSync(dirname(resolve(path)), { recursive: true });
    const db = new Database(path, { timeout: 5000 });
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = NORMAL');
    return db;
  } catch (cause) {
    throw new CairnError('readmodel.unavailable', ErrorCategory.Transient, `cannot open read model ${path}`, { cause });
  }
}

/** The read model sits beside a sqlite event store, or in ./cairn-data for other stores. */
export function defaultReadModelPath(storeUrl: string): string {
  const { kind, target } = parseEventStoreUrl(storeUrl);
  return kind === 'sqlite' && target !== ':memory:'
    ? join(dirname(target), 'readmodel.db')
    : './cairn-data/readmodel.db';
}
