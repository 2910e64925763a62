import type Database from 'better-sqlite3';
import type { SlaEvent } from '../domain/events/sla.events.ts';
import type { RecordedEvent } from '../domain/messages.ts';
import { nextDue, type SlaState, slaDecider } from '../domain/sla/sla.decider.ts';
import { parseStreamName, StreamCategory } from '../domain/streams.ts';
import { prepared } from './sqlite.statements.ts';

/**
 * One row per Issue measured by an IncidentSLA: its two clocks, folded by the SLA decider's own evolve so the read
 * side never disagrees with the aggregate. `next_due` is what the sweeper asks for; the compliance and analytics
 * figures count the ended clocks.
 */
export interface SlaClockRow {
  readonly issue_id: string;
  readonly sla_namespace: string;
  readonly sla_name: string;
  readonly severity: string;
  readonly started_at: string;
  readonly response_state: string;
  readonly response_due: string;
  readonly response_ended_at: string | null;
  readonly resolution_state: string;
  readonly resolution_due: string;
  readonly resolution_ended_at: string | null;
  /** The next warning or deadline of a running clock; null once both have stopped. */
  readonly next_due: string | null;
  readonly last_violation_at: string | null;
  /** The folded SlaState, as JSON. */
  readonly document: string;
  readonly last_position: number;
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS sla_clocks (
  issue_id            TEXT PRIMARY KEY,
  sla_namespace       TEXT NOT NULL,
  sla_name            TEXT NOT NULL,
  severity            TEXT NOT NULL,
  started_at          TEXT NOT NULL,
  response_state      TEXT NOT NULL,
  response_due        TEXT NOT NULL,
  response_ended_at   TEXT,
  resolution_state    TEXT NOT NULL,
  resolution_due      TEXT NOT NULL,
  resolution_ended_at TEXT,
  next_due            TEXT,
  last_violation_at   TEXT,
  document            TEXT NOT NULL,
  last_position       INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS sla_clocks_next_due ON sla_clocks (next_due) WHERE next_due IS NOT NULL;
CREATE INDEX IF NOT EXISTS sla_clocks_sla ON sla_clocks (sla_namespace, sla_name);
`;

const slaEventTypes = new Set(['SlaStarted', 'SlaWarned', 'SlaViolated', 'SlaAchieved']);

export const slaClocksProjection = {
  name: 'sla-clocks',
  handles: (eventType: string) => slaEventTypes.has(eventType),
  init: (db: Database.Database) => db.exec(SCHEMA),
  reset: (db: Database.Database) => db.exec('DELETE FROM sla_clocks'),
  apply: (event: RecordedEvent, db: Database.Database) => {
    const { category, id } = parseStreamName(event.streamId);
    if (category !== StreamCategory.Sla) return;
    const row = prepared<[string], SlaClockRow>(db, 'SELECT * FROM sla_clocks WHERE issue_id = ?').get(id);
    // Applied already (a replay after a crash between the write and the checkpoint).
    if (row !== undefined && BigInt(row.last_position) >= event.position) return;
    const before: SlaState = row === undefined ? slaDecider.initialState() : (JSON.parse(row.document) as SlaState);
    const state = slaDecider.evolve(before, event as unknown as SlaEvent);
    const started = state.started;
    if (started === null || state.response === null || state.resolution === null) return;
    const lastViolation = event.type === 'SlaViolated' ? event.metadata.occurredAt : (row?.last_violation_at ?? null);
    prepared(
      db,
      `INSERT INTO sla_clocks VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (issue_id) DO UPDATE SET
         response_state = excluded.response_state, response_ended_at = excluded.response_ended_at,
         resolution_state = excluded.resolution_state, resolution_ended_at = excluded.resolution_ended_at,
         next_due = excluded.next_due, last_violation_at = excluded.last_violation_at,
         document = excluded.document, last_position = excluded.last_position`,
    ).run(
      id,
      started.sla.namespace,
      started.sla.name,
      started.severity,
      started.startedAt,
      state.response.state,
      state.response.target.dueAt,
      state.response.endedAt,
      state.resolution.state,
      state.resolution.target.dueAt,
      state.resolution.endedAt,
      nextDue(state),
      lastViolation,
      JSON.stringify(state),
      Number(event.position),
    );
  },
};
