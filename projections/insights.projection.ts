import type Database from 'better-sqlite3';
import type {
  AnalysisCompletedData,
  AnalysisFailedData,
  AnalysisRequestedData,
} from '../domain/events/analysis.events.ts';
import type { ProposalRefusedData } from '../domain/events/issue.events.ts';
import type { RecordedEvent } from '../domain/messages.ts';
import { parseStreamName, StreamCategory } from '../domain/streams.ts';
import { prepared } from './sqlite.statements.ts';

/** A refused proposal as the read model serves it. */
export interface RefusedProposalView {
  readonly stage: string;
  readonly action: { readonly type: string; readonly params: Readonly<Record<string, string>> } | null;
  readonly code: string;
  readonly reason: string;
  readonly remediationId: string | null;
  readonly step: number | null;
  readonly at: string;
}

/** One row per analysis round of an Issue (an AIInsight): requested, then completed or failed. */
export interface InsightRow {
  readonly insight_id: string;
  readonly issue_id: string;
  readonly attempt: number;
  readonly status: 'pending' | 'completed' | 'failed';
  readonly requested_at: string;
  readonly finished_at: string | null;
  readonly analysis: string | null;
  readonly confidence: number | null;
  readonly provider: string | null;
  readonly model: string | null;
  readonly recommendations: string;
  readonly suggested_actions: string;
  readonly failure_reason: string | null;
  /** JSON: the proposals of this round refused before they ran (RefusedProposalView[]), oldest first. */
  readonly refused_proposals: string;
  readonly last_position: number;
  /** JSON: what the analysis recorded of the change around the workload (AnalysisCompleted.change), or NULL. */
  readonly change_evidence: string | null;
}

const isIssueStream = (stream: string) => stream.startsWith(`${StreamCategory.Issue}-`);

export const insightsProjection = {
  name: 'insights',
  handles: (type: string) =>
    type === 'AnalysisRequested' ||
    type === 'ReanalysisRequested' ||
    type === 'AnalysisCompleted' ||
    type === 'AnalysisFailed' ||
    type === 'ProposalRefused',
  init(db: Database.Database) {
    db.exec(`
      CREATE TABLE IF NOT EXISTS insights (
        insight_id TEXT PRIMARY KEY, issue_id TEXT NOT NULL, attempt INTEGER NOT NULL, status TEXT NOT NULL,
        requested_at TEXT NOT NULL, finished_at TEXT, analysis TEXT, confidence REAL, provider TEXT, model TEXT,
        recommendations TEXT NOT NULL, suggested_actions TEXT NOT NULL, failure_reason TEXT,
        refused_proposals TEXT NOT NULL, last_position INTEGER NOT NULL, change_evidence TEXT);
      CREATE INDEX IF NOT EXISTS insights_by_issue ON insights (issue_id, attempt);
      CREATE INDEX IF NOT EXISTS insights_by_time ON insights (requested_at DESC, insight_id DESC);`);
  },
  reset(db: Database.Database) {
    db.exec('DELETE FROM insights;');
  },
  apply(event: RecordedEvent, db: Database.Database) {
    if (!isIssueStream(event.streamId)) return;
    const issueId = parseStreamName(event.streamId).id;
    const position = Number(event.position);
    if (event.type === 'AnalysisRequested' || event.type === 'ReanalysisRequested') {
      const d = event.data as AnalysisRequestedData;
      prepared(
        db,
        `INSERT OR IGNORE INTO insights VALUES (?, ?, ?, 'pending', ?, NULL, NULL, NULL, NULL, NULL, '[]', '[]', NULL, '[]', ?, NULL)`,
      ).run(d.insightId, issueId, d.attempt, event.metadata.occurredAt, position);
      return;
    }
    const insightId = (event.data as { insightId: string }).insightId;
    const row = prepared<[string], { last_position: number }>(
      db,
      'SELECT last_position FROM insights WHERE insight_id = ?',
    ).get(insightId);
    if (row === undefined || BigInt(row.last_position) >= event.position) return;
    if (event.type === 'ProposalRefused') {
      const d = event.data as ProposalRefusedData;
      const view: RefusedProposalView = {
        stage: d.stage,
        action: d.action ?? null,
        code: d.code,
        reason: d.reason,
        remediationId: d.remediationId ?? null,
        step: d.step ?? null,
        at: event.metadata.occurredAt,
      };
      // The last_position guard above makes this append happen once per event, however often it is replayed.
      prepared(
        db,
        `UPDATE insights SET refused_proposals = json_insert(refused_proposals, '$[#]', json(?)), last_position = ?
         WHERE insight_id = ?`,
      ).run(JSON.stringify(view), position, insightId);
      return;
    }
    if (event.type === 'AnalysisCompleted') {
      const d = event.data as AnalysisCompletedData;
      prepared(
        db,
        `UPDATE insights SET status = 'completed', finished_at = ?, analysis = ?, confidence = ?, provider = ?,
           model = ?, recommendations = ?, suggested_actions = ?, last_position = ?, change_evidence = ?
         WHERE insight_id = ?`,
      ).run(
        event.metadata.occurredAt,
        d.analysis,
        d.confidence,
        d.provider,
        d.model,
        JSON.stringify(d.recommendations),
        JSON.stringify(d.suggestedActions),
        position,
        d.change ? JSON.stringify(d.change) : null,
        insightId,
      );
    } else {
      const d = event.data as AnalysisFailedData;
      prepared(
        db,
        `UPDATE insights SET status = 'failed', finished_at = ?, provider = ?, failure_reason = ?, last_position = ?
         WHERE insight_id = ?`,
      ).run(event.metadata.occurredAt, d.provider ?? null, d.reason, position, insightId);
    }
  },
};
