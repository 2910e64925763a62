import type Database from 'better-sqlite3';
import { type IssueEvent, type IssueState, issueDecider } from '../domain/issue/issue.decider.ts';
import type { RecordedEvent } from '../domain/messages.ts';
import { parseStreamName, StreamCategory } from '../domain/streams.ts';

/**
 * The incidents read model: one row per Issue, folded with the Issue decider's own `evolve` so the read side can
 * never disagree with the aggregate, and the Issue's timeline, one row per event. Rows remember the position that
 * last wrote them, so applying an event twice (a replay, a crash before the checkpoint) changes nothing.
 */
export interface IncidentRow {
  readonly issue_id: string;
  readonly state: string;
  readonly severity: string;
  readonly risk_score: number;
  readonly signal: string;
  readonly workload_kind: string;
  readonly workload_name: string;
  readonly workload_namespace: string;
  readonly detected_at: string | null;
  readonly ended_at: string | null;
  readonly attempts: number;
  readonly acknowledged_by: string | null;
  readonly snoozed_until: string | null;
  readonly last_position: number;
  /** The folded IssueState, as JSON. */
  readonly document: string;
}

const isIssueStream = (stream: string) => parseStreamName(stream).category === StreamCategory.Issue;

const oneLine = (event: RecordedEvent): string => {
  const d = event.data as Record<string, unknown>;
  switch (event.type) {
    case 'IssueDetected':
      return `${d.signal} on ${(d.workload as { kind: string; name: string }).kind}/${(d.workload as { name: string }).name}, ${d.severity} (risk ${d.riskScore})`;
    case 'IssueAnomalyAttached':
      return `${d.signal} joined: ${d.severity} (risk ${d.riskScore})`;
    case 'IssueResolved':
      return `resolved (${d.resolution}) after ${d.attempts} attempt(s)`;
    case 'IssueEscalated':
      return `escalated: ${d.reason}`;
    case 'RemediationStarted':
      return `remediation ${d.remediationId} started (attempt ${d.attempt}, ${d.source})`;
    default:
      return event.type;
  }
};

export const incidentsProjection = {
  name: 'incidents',
  handles: (type: string) =>
    type.startsWith('Issue') ||
    type.startsWith('Analysis') ||
    type.startsWith('Remediation') ||
    type === 'ReanalysisRequested',
  init(db: Database.Database) {
    db.exec(`
      CREATE TABLE IF NOT EXISTS incidents (
        issue_id TEXT PRIMARY KEY, state TEXT NOT NULL, severity TEXT NOT NULL, risk_score INTEGER NOT NULL,
        signal TEXT NOT NULL, workload_kind TEXT NOT NULL, workload_name TEXT NOT NULL, workload_namespace TEXT NOT NULL,
        detected_at TEXT, ended_at TEXT, attempts INTEGER NOT NULL, acknowledged_by TEXT, snoozed_until TEXT,
        last_position INTEGER NOT NULL, document TEXT NOT NULL);
      CREATE INDEX IF NOT EXISTS incidents_by_state ON incidents (state, severity);
      CREATE TABLE IF NOT EXISTS incident_timeline (
        position INTEGER PRIMARY KEY, issue_id TEXT NOT NULL, type TEXT NOT NULL, occurred_at TEXT NOT NULL,
        actor TEXT, summary TEXT NOT NULL);
      CREATE INDEX IF NOT EXISTS incident_timeline_by_issue ON incident_timeline (issue_id, position);`);
  },
  reset(db: Database.Database) {
    db.exec('DELETE FROM incidents; DELETE FROM incident_timeline;');
  },
  apply(event: RecordedEvent, db: Database.Database) {
    if (!isIssueStream(event.streamId)) return;
    const issueId = parseStreamName(event.streamId).id;
    const row = db.prepare<[string], IncidentRow>('SELECT * FROM incidents WHERE issue_id = ?').get(issueId);
    if (row !== undefined && BigInt(row.last_position) >= event.position) return;
    const before: IssueState = row === undefined ? issueDecider.initialState() : JSON.parse(row.document);
    const state = issueDecider.evolve(before, event as unknown as IssueEvent);
    if (state.workload === null) return;
    db.prepare(
      `INSERT INTO incidents VALUES (@issue_id, @state, @severity, @risk_score, @signal, @workload_kind, @workload_name,
         @workload_namespace, @detected_at, @ended_at, @attempts, @acknowledged_by, @snoozed_until, @last_position, @document)
       ON CONFLICT (issue_id) DO UPDATE SET state = excluded.state, severity = excluded.severity,
         risk_score = excluded.risk_score, signal = excluded.signal, detected_at = excluded.detected_at,
         ended_at = excluded.ended_at, attempts = excluded.attempts, acknowledged_by = excluded.acknowledged_by,
         snoozed_until = excluded.snoozed_until, last_position = excluded.last_position, document = excluded.document`,
    ).run({
      issue_id: issueId,
      state: state.status,
      severity: state.severity,
      risk_score: state.riskScore,
      signal: state.signal,
      workload_kind: state.workload.kind,
      workload_name: state.workload.name,
      workload_namespace: state.workload.namespace,
      detected_at: state.detectedAt,
      ended_at: state.endedAt,
      attempts: state.attempts,
      acknowledged_by: state.acknowledgedBy,
      snoozed_until: state.snoozedUntil,
      last_position: Number(event.position),
      document: JSON.stringify(state),
    });
    db.prepare('INSERT OR IGNORE INTO incident_timeline VALUES (?, ?, ?, ?, ?, ?)').run(
      Number(event.position),
      issueId,
      event.type,
      event.metadata.occurredAt,
      event.metadata.actor ?? null,
      oneLine(event),
    );
  },
};

/** Every projection of the sqlite read model, in the order `cairn projections rebuild` runs them. */
export const readModelProjections = [incidentsProjection];
