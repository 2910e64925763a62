import type Database from 'better-sqlite3';
import {
  type EscalationEvent,
  type EscalationState,
  escalationDecider,
} from '../domain/escalation/escalation.decider.ts';
import type { RecordedEvent } from '../domain/messages.ts';
import { parseStreamName, StreamCategory } from '../domain/streams.ts';
import { prepared } from './sqlite.statements.ts';

/** An Issue's escalation as the REST API and GraphQL show it. */
export interface EscalationView {
  readonly issueId: string;
  readonly policy: { readonly namespace: string; readonly name: string; readonly generation: number };
  readonly notificationPolicy: { readonly namespace: string; readonly name: string };
  /** active, snoozed, exhausted (last level paged, nothing more due), acknowledged or resolved. */
  readonly state: string;
  /** The level paged last (1 is the first). */
  readonly level: number;
  readonly levelName: string;
  readonly levels: readonly {
    readonly name: string;
    readonly channels: readonly string[];
    readonly escalateAfterSeconds: number | null;
  }[];
  readonly repeatLastLevelEverySeconds: number | null;
  readonly nextDeadline: string | null;
  readonly snoozedUntil: string | null;
  readonly acknowledgedBy: string | null;
  readonly startedAt: string;
  readonly endedAt: string | null;
  /** Every page, in order: which level, why, when. */
  readonly pages: readonly {
    readonly level: number;
    readonly levelName: string;
    readonly reason: string;
    readonly at: string;
  }[];
}

interface Row {
  readonly state: string;
  readonly pages: string;
  readonly last_position: number;
}

export function escalationView(state: EscalationState, pages: EscalationView['pages']): EscalationView | undefined {
  if (state.policy === null || state.notificationPolicy === null || state.startedAt === null) return undefined;
  return {
    issueId: state.issueId,
    policy: state.policy,
    notificationPolicy: state.notificationPolicy,
    state: state.status,
    level: state.level,
    levelName: state.levels[state.level - 1]?.name ?? '',
    levels: state.levels.map((l) => ({
      name: l.name,
      channels: l.channels.map((c) => c.name),
      escalateAfterSeconds: l.escalateAfterSeconds ?? null,
    })),
    repeatLastLevelEverySeconds: state.repeatEverySeconds,
    nextDeadline: state.deadline,
    snoozedUntil: state.snoozedUntil,
    acknowledgedBy: state.acknowledgedBy,
    startedAt: state.startedAt,
    endedAt: state.endedAt,
    pages,
  };
}

/**
 * One row per escalation: the decider's own state folded event by event (so the read side shows exactly what the
 * sweeper and the status see), the pages in order, and the view built from both. The row remembers the position
 * that last wrote it, so an event replayed changes nothing.
 */
export const escalationsProjection = {
  name: 'escalations',
  handles: (type: string) => type.startsWith('Escalation'),
  init(db: Database.Database) {
    db.exec(`
      CREATE TABLE IF NOT EXISTS escalations (
        issue_id TEXT PRIMARY KEY, status TEXT NOT NULL, level INTEGER NOT NULL, next_deadline TEXT,
        policy_namespace TEXT NOT NULL, policy_name TEXT NOT NULL, state TEXT NOT NULL, pages TEXT NOT NULL,
        document TEXT NOT NULL, last_position INTEGER NOT NULL);`);
  },
  reset(db: Database.Database) {
    db.exec('DELETE FROM escalations;');
  },
  apply(event: RecordedEvent, db: Database.Database) {
    const { category, id } = parseStreamName(event.streamId);
    if (category !== StreamCategory.Escalation) return;
    const row = prepared<[string], Row>(
      db,
      'SELECT state, pages, last_position FROM escalations WHERE issue_id = ?',
    ).get(id);
    if (row !== undefined && BigInt(row.last_position) >= event.position) return;
    const before = row === undefined ? escalationDecider.initialState() : (JSON.parse(row.state) as EscalationState);
    const state = escalationDecider.evolve(before, event as unknown as EscalationEvent);
    const pages: EscalationView['pages'][number][] = row === undefined ? [] : JSON.parse(row.pages);
    if (event.type === 'EscalationLevelPaged') {
      const d = event.data as { level: number; levelName: string; reason: string };
      pages.push({ level: d.level, levelName: d.levelName, reason: d.reason, at: event.metadata.occurredAt });
    }
    const view = escalationView(state, pages);
    if (view === undefined) return;
    prepared(
      db,
      `INSERT INTO escalations VALUES (@issue_id, @status, @level, @next_deadline, @policy_namespace, @policy_name,
         @state, @pages, @document, @last_position)
       ON CONFLICT (issue_id) DO UPDATE SET status = excluded.status, level = excluded.level,
         next_deadline = excluded.next_deadline, policy_namespace = excluded.policy_namespace,
         policy_name = excluded.policy_name, state = excluded.state, pages = excluded.pages,
         document = excluded.document, last_position = excluded.last_position`,
    ).run({
      issue_id: id,
      status: state.status,
      level: state.level,
      next_deadline: state.deadline,
      policy_namespace: view.policy.namespace,
      policy_name: view.policy.name,
      state: JSON.stringify(state),
      pages: JSON.stringify(pages),
      document: JSON.stringify(view),
      last_position: Number(event.position),
    });
  },
};
