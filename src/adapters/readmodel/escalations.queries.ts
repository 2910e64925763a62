import type Database from 'better-sqlite3';
import type { EscalationView } from '../../../projections/escalations.projection.ts';

export interface EscalationQueries {
  /** The Issue's escalation; undefined when no EscalationPolicy took it. */
  ofIssue(issueId: string): EscalationView | undefined;
  ofIssues(issueIds: readonly string[]): Map<string, EscalationView>;
}

export function createEscalationQueries(db: Database.Database): EscalationQueries {
  const one = db.prepare<[string], { document: string }>('SELECT document FROM escalations WHERE issue_id = ?');
  return {
    ofIssue: (issueId) => {
      const row = one.get(issueId);
      return row === undefined ? undefined : (JSON.parse(row.document) as EscalationView);
    },
    ofIssues: (issueIds) => {
      const found = new Map<string, EscalationView>();
      if (issueIds.length === 0) return found;
      const rows = db
        .prepare<string[], { issue_id: string; document: string }>(
          `SELECT issue_id, document FROM escalations WHERE issue_id IN (${issueIds.map(() => '?').join(',')})`,
        )
        .all(...issueIds);
      for (const row of rows) found.set(row.issue_id, JSON.parse(row.document) as EscalationView);
      return found;
    },
  };
}
