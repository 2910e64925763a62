import type Database from 'better-sqlite3';
import type { RecordedEvent } from '../domain/messages.ts';
import { StreamCategory } from '../domain/streams.ts';
import { prepared } from './sqlite.statements.ts';

/** A run's event as the read model keeps it: what the report folds, without the injector's undo record. */
export interface StoredChaosEvent {
  readonly type: string;
  readonly data: Record<string, unknown>;
  readonly metadata: { readonly occurredAt: string };
}

interface Row {
  readonly events: string;
  readonly last_position: number;
}

/** `chaos-<namespace>.<name>`: a namespace has no dot, a name may have several. */
const experimentOf = (stream: string): { namespace: string; name: string } | undefined => {
  const prefix = `${StreamCategory.Chaos}-`;
  if (!stream.startsWith(prefix)) return undefined;
  const id = stream.slice(prefix.length);
  const dot = id.indexOf('.');
  return dot <= 0 || dot === id.length - 1 ? undefined : { namespace: id.slice(0, dot), name: id.slice(dot + 1) };
};

/**
 * One row per ChaosExperiment run: its events in stream order, so the REST API and GraphQL build the game-day report
 * and the list from the read model with the same pure code the CLI runs on the stream. A row remembers the position
 * that last wrote it, so an event replayed changes nothing. The injection plan's undo record (pods, images, labels)
 * is left in the log: the report needs only its summary and deadlines.
 */
export const chaosRunsProjection = {
  name: 'chaos_runs',
  handles: (type: string) => type.startsWith('Chaos'),
  init(db: Database.Database) {
    db.exec(`
      CREATE TABLE IF NOT EXISTS chaos_runs (
        namespace TEXT NOT NULL, name TEXT NOT NULL, run INTEGER NOT NULL, started_at TEXT NOT NULL,
        events TEXT NOT NULL, last_position INTEGER NOT NULL, PRIMARY KEY (namespace, name, run));`);
  },
  reset(db: Database.Database) {
    db.exec('DELETE FROM chaos_runs;');
  },
  apply(event: RecordedEvent, db: Database.Database) {
    const experiment = experimentOf(event.streamId);
    const data = event.data as Record<string, unknown> | null;
    const run = data?.run;
    if (experiment === undefined || data === null || typeof run !== 'number') return;
    const key = [experiment.namespace, experiment.name, run] as const;
    const row = prepared<[string, string, number], Row>(
      db,
      'SELECT events, last_position FROM chaos_runs WHERE namespace = ? AND name = ? AND run = ?',
    ).get(...key);
    if (row !== undefined && BigInt(row.last_position) >= event.position) return;
    // A run starts with ChaosRunStarted; anything else without its row is not a run's.
    if (row === undefined && event.type !== 'ChaosRunStarted') return;
    const stored: StoredChaosEvent = {
      type: event.type,
      data: event.type === 'ChaosInjectionPlanned' ? { ...data, plan: {} } : data,
      metadata: { occurredAt: event.metadata.occurredAt },
    };
    const events: StoredChaosEvent[] = row === undefined ? [] : JSON.parse(row.events);
    events.push(stored);
    prepared(
      db,
      `INSERT INTO chaos_runs VALUES (?, ?, ?, ?, ?, ?)
       ON CONFLICT (namespace, name, run) DO UPDATE SET events = excluded.events, last_position = excluded.last_position`,
    ).run(...key, event.metadata.occurredAt, JSON.stringify(events), Number(event.position));
  },
};
