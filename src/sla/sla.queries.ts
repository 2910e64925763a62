import type Database from 'better-sqlite3';
import type { Severity } from '../../domain/events/common.schema.ts';
import { elapsedSeconds } from '../../domain/sla/businessHours.ts';
import { complianceBySeverity, type EndedClock, type SeverityCompliance } from '../../domain/sla/compliance.ts';
import { calendarOf, type SlaClock, type SlaState } from '../../domain/sla/sla.decider.ts';
import type { SlaClockRow } from '../../projections/slaClocks.projection.ts';
import { prepared } from '../../projections/sqlite.statements.ts';

/** One clock as people read it: when it is due and, while it runs, how much business time is left. */
export interface SlaClockView {
  readonly state: 'running' | 'met' | 'violated';
  readonly targetSeconds: number;
  readonly dueAt: string;
  readonly warnAt: string | null;
  readonly warned: boolean;
  /** Business time run so far (up to the end of the clock when it stopped). */
  readonly elapsedSeconds: number;
  /** Business time left before the deadline; 0 once violated, null once met. */
  readonly remainingSeconds: number | null;
  readonly endedAt: string | null;
}

export interface IncidentSlaView {
  readonly issueId: string;
  readonly sla: { readonly namespace: string; readonly name: string; readonly generation: number };
  readonly severity: string;
  readonly startedAt: string;
  /** The calendar the clocks run in; null: around the clock. */
  readonly businessHours: {
    readonly timeZone: string;
    readonly ranges: readonly { readonly days: readonly string[]; readonly start: string; readonly end: string }[];
    readonly holidays: readonly string[];
  } | null;
  readonly warningAt: number | null;
  readonly response: SlaClockView;
  readonly resolution: SlaClockView;
}

export interface SlaAnalyticsView {
  /** Issues measured by an SLA whose clocks started in the range. */
  readonly tracked: number;
  readonly response: { readonly met: number; readonly violated: number; readonly running: number };
  readonly resolution: { readonly met: number; readonly violated: number; readonly running: number };
  /** Met as a percentage of ended targets (both kinds); null when none ended. */
  readonly compliance: number | null;
  readonly bySeverity: readonly {
    readonly severity: string;
    readonly met: number;
    readonly violated: number;
    readonly compliance: number | null;
  }[];
}

export interface SlaQueries {
  /** The incident's clocks as they stand at the queries' clock. */
  incidentSla(issueId: string): IncidentSlaView | undefined;
  incidentSlas(issueIds: readonly string[]): Map<string, IncidentSlaView>;
  analytics(range: { readonly since?: string; readonly until?: string }): SlaAnalyticsView;
  /** Issues with a warning or a deadline at or before `at`. */
  due(at: string, limit?: number): string[];
  compliance(
    sla: { namespace: string; name: string },
    severities: readonly Severity[],
    now: string,
  ): SeverityCompliance[];
  /** Open Issues (neither resolved nor escalated) measured by this SLA with a violated target, and the last violation. */
  violations(sla: { namespace: string; name: string }): { active: number; lastAt: string | null };
}

const hasTable = (db: Database.Database, name: string) =>
  db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?").get(name) !== undefined;

const clockView = (clock: SlaClock, state: SlaState, now: string): SlaClockView => {
  const started = state.started!;
  const calendar = calendarOf(started);
  const until = clock.state === 'running' ? now : (clock.endedAt ?? now);
  const elapsed =
    clock.state === 'met' && clock.elapsedSeconds !== null
      ? clock.elapsedSeconds
      : elapsedSeconds(started.startedAt, until, calendar);
  const remaining =
    clock.state === 'met' ? null : clock.state === 'violated' ? 0 : Math.max(0, clock.target.targetSeconds - elapsed);
  return {
    state: clock.state,
    targetSeconds: clock.target.targetSeconds,
    dueAt: clock.target.dueAt,
    warnAt: clock.target.warnAt ?? null,
    warned: clock.warned,
    elapsedSeconds: Math.round(elapsed),
    remainingSeconds: remaining === null ? null : Math.round(remaining),
    endedAt: clock.endedAt,
  };
};

const toView = (row: SlaClockRow, now: string): IncidentSlaView | undefined => {
  const state = JSON.parse(row.document) as SlaState;
  if (state.started === null || state.response === null || state.resolution === null) return undefined;
  const s = state.started;
  return {
    issueId: row.issue_id,
    sla: s.sla,
    severity: s.severity,
    startedAt: s.startedAt,
    businessHours: s.calendar ?? null,
    warningAt: s.warningAt ?? null,
    response: clockView(state.response, state, now),
    resolution: clockView(state.resolution, state, now),
  };
};

const share = (met: number, violated: number) =>
  met + violated === 0 ? null : Math.round((met / (met + violated)) * 10_000) / 100;

export function createSlaQueries(db: Database.Database, clock: () => Date = () => new Date()): SlaQueries {
  // The table is created by its projection; until it has run once, there is simply nothing measured.
  const ready = () => hasTable(db, 'sla_clocks');
  return {
    incidentSla(issueId) {
      const now = clock().toISOString();
      if (!ready()) return undefined;
      const row = prepared<[string], SlaClockRow>(db, 'SELECT * FROM sla_clocks WHERE issue_id = ?').get(issueId);
      return row === undefined ? undefined : toView(row, now);
    },
    incidentSlas(issueIds) {
      const now = clock().toISOString();
      const views = new Map<string, IncidentSlaView>();
      const unique = [...new Set(issueIds)];
      if (!ready() || unique.length === 0) return views;
      const rows = prepared<string[], SlaClockRow>(
        db,
        `SELECT * FROM sla_clocks WHERE issue_id IN (${unique.map(() => '?').join(', ')})`,
      ).all(...unique);
      for (const row of rows) {
        const view = toView(row, now);
        if (view) views.set(row.issue_id, view);
      }
      return views;
    },
    analytics(range) {
      const empty = { met: 0, violated: 0, running: 0 };
      if (!ready()) {
        return { tracked: 0, response: empty, resolution: empty, compliance: null, bySeverity: [] };
      }
      const clauses: string[] = [];
      const params: string[] = [];
      if (range.since) {
        clauses.push('julianday(started_at) >= julianday(?)');
        params.push(range.since);
      }
      if (range.until) {
        clauses.push('julianday(started_at) < julianday(?)');
        params.push(range.until);
      }
      const filter = clauses.length === 0 ? '' : `WHERE ${clauses.join(' AND ')}`;
      const rows = prepared<string[], { severity: string; kind: string; state: string; n: number }>(
        db,
        `SELECT severity, 'response' AS kind, response_state AS state, COUNT(*) AS n FROM sla_clocks ${filter}
           GROUP BY 1, 2, 3
         UNION ALL
         SELECT severity, 'resolution' AS kind, resolution_state AS state, COUNT(*) AS n FROM sla_clocks ${filter}
           GROUP BY 1, 2, 3`,
      ).all(...params, ...params);
      const sum = (kind: string, state: string) =>
        rows.filter((r) => r.kind === kind && r.state === state).reduce((a, r) => a + r.n, 0);
      const kindView = (kind: string) => ({
        met: sum(kind, 'met'),
        violated: sum(kind, 'violated'),
        running: sum(kind, 'running'),
      });
      const response = kindView('response');
      const resolution = kindView('resolution');
      const severities = [...new Set(rows.map((r) => r.severity))].sort();
      return {
        tracked: response.met + response.violated + response.running,
        response,
        resolution,
        compliance: share(response.met + resolution.met, response.violated + resolution.violated),
        bySeverity: severities.map((severity) => {
          const mine = rows.filter((r) => r.severity === severity);
          const met = mine.filter((r) => r.state === 'met').reduce((a, r) => a + r.n, 0);
          const violated = mine.filter((r) => r.state === 'violated').reduce((a, r) => a + r.n, 0);
          return { severity, met, violated, compliance: share(met, violated) };
        }),
      };
    },
    due(at, limit = 500) {
      if (!ready()) return [];
      return prepared<[string, number], { issue_id: string }>(
        db,
        `SELECT issue_id FROM sla_clocks WHERE next_due IS NOT NULL AND julianday(next_due) <= julianday(?)
         ORDER BY next_due LIMIT ?`,
      )
        .all(at, limit)
        .map((r) => r.issue_id);
    },
    compliance(sla, severities, now) {
      if (!ready()) return complianceBySeverity(severities, [], now);
      const rows = prepared<
        [{ namespace: string; name: string; now: string }],
        { severity: string; state: string; ended_at: string }
      >(
        db,
        `SELECT severity, response_state AS state, response_ended_at AS ended_at FROM sla_clocks
           WHERE sla_namespace = @namespace AND sla_name = @name AND response_ended_at IS NOT NULL
             AND julianday(response_ended_at) > julianday(@now) - 30
         UNION ALL
         SELECT severity, resolution_state, resolution_ended_at FROM sla_clocks
           WHERE sla_namespace = @namespace AND sla_name = @name AND resolution_ended_at IS NOT NULL
             AND julianday(resolution_ended_at) > julianday(@now) - 30`,
      ).all({ namespace: sla.namespace, name: sla.name, now });
      const ended: EndedClock[] = rows
        .filter((r) => r.state === 'met' || r.state === 'violated')
        .map((r) => ({ severity: r.severity, state: r.state as 'met' | 'violated', endedAt: r.ended_at }));
      return complianceBySeverity(severities, ended, now);
    },
    violations(sla) {
      if (!ready()) return { active: 0, lastAt: null };
      const open = hasTable(db, 'incidents')
        ? `AND issue_id NOT IN (SELECT issue_id FROM incidents WHERE state IN ('Resolved', 'Escalated'))`
        : '';
      const active = prepared<[string, string], { n: number }>(
        db,
        `SELECT COUNT(*) AS n FROM sla_clocks WHERE sla_namespace = ? AND sla_name = ?
           AND (response_state = 'violated' OR resolution_state = 'violated') ${open}`,
      ).get(sla.namespace, sla.name);
      const last = prepared<[string, string], { at: string | null }>(
        db,
        'SELECT MAX(last_violation_at) AS at FROM sla_clocks WHERE sla_namespace = ? AND sla_name = ?',
      ).get(sla.namespace, sla.name);
      return { active: active?.n ?? 0, lastAt: last?.at ?? null };
    },
  };
}
