import type Database from 'better-sqlite3';
import type { ResourceRef } from '../domain/events/common.schema.ts';
import type { IssueDetectedData } from '../domain/events/issue.events.ts';
import type { RecordedEvent } from '../domain/messages.ts';
import { parseStreamName, StreamCategory } from '../domain/streams.ts';
import { issueName, Labels, postMortemName } from './kubernetesResources.projection.ts';
import { type Detection, postMortemResource, recurrencesOf, withReviewEvent } from './postMortem.projection.ts';
import { insertRowsOrIgnore, prepared } from './sqlite.statements.ts';

/**
 * PostMortems in the read model: the same document the resource writer puts in the PostMortem's status, rendered
 * from the incident's events when the Issue ends, plus its review life (Open → InReview → Closed) and feedback,
 * which are folded into the document as the writer folds them into the object.
 * The incident's events are staged here until the Issue ends (then dropped), so rendering needs nothing but
 * this projection's own tables and a rebuild renders the same document.
 */
export interface PostMortemRow {
  readonly issue_id: string;
  readonly name: string;
  readonly namespace: string;
  readonly state: 'Open' | 'InReview' | 'Closed';
  readonly outcome: 'resolved' | 'escalated';
  readonly signal: string;
  readonly severity: string;
  readonly workload_kind: string;
  readonly workload_name: string;
  readonly summary: string;
  readonly root_cause: string;
  readonly detected_at: string;
  readonly ended_at: string;
  readonly duration_seconds: number;
  readonly recurrences: number;
  /** The PostMortem status document (timeline, actions, lessons, prevention...), as JSON. */
  readonly document: string;
  readonly reviewed_by: string | null;
  readonly reviewed_at: string | null;
  readonly review_notes: string | null;
  readonly closed_by: string | null;
  readonly closed_at: string | null;
  /** Feedback entries, oldest first, as JSON. */
  readonly feedback: string;
  readonly last_position: number;
}

const workloadKey = (w: ResourceRef) => JSON.stringify([w.cluster ?? '', w.namespace, w.kind, w.name]);

const categoryOf = (stream: string) => stream.slice(0, Math.max(0, stream.indexOf('-')));

interface StagedEvent {
  readonly position: number;
  readonly streamId: string;
  readonly type: string;
  readonly data: unknown;
  readonly metadata: { readonly occurredAt: string };
}

/**
 * What one batch of events has learnt: events staged in memory (written to postmortem_sources at the end of the
 * batch only for Issues still open then), and which Issues have a PostMortem and which plans belong to which Issue.
 */
interface Batch {
  readonly staged: Map<string, StagedEvent[]>;
  /** Issues detected in this batch: none of their events was staged in the table before it. */
  readonly detectedHere: Set<string>;
  readonly written: Map<string, boolean>;
  readonly links: Map<string, string | undefined>;
}

const stage = (batch: Batch, event: RecordedEvent, issueId: string) => {
  const list = batch.staged.get(issueId) ?? [];
  list.push({
    position: Number(event.position),
    streamId: event.streamId,
    type: event.type,
    data: event.data,
    metadata: { occurredAt: event.metadata.occurredAt },
  });
  batch.staged.set(issueId, list);
};

const persistStaged = (db: Database.Database, batch: Batch) => {
  const rows = [...batch.staged].flatMap(([issueId, events]) =>
    events.map((e) => [e.position, issueId, e.streamId, e.type, e.metadata.occurredAt, JSON.stringify(e.data)]),
  );
  insertRowsOrIgnore(db, 'postmortem_sources', rows);
};

const written = (db: Database.Database, batch: Batch, issueId: string) => {
  let known = batch.written.get(issueId);
  if (known === undefined) {
    known = prepared(db, 'SELECT 1 AS n FROM postmortems WHERE issue_id = ?').get(issueId) !== undefined;
    batch.written.set(issueId, known);
  }
  return known;
};

const issueOfPlan = (db: Database.Database, batch: Batch, remediationId: string) => {
  if (!batch.links.has(remediationId)) {
    const link = prepared<[string], { issue_id: string }>(
      db,
      'SELECT issue_id FROM postmortem_remediations WHERE remediation_id = ?',
    ).get(remediationId);
    batch.links.set(remediationId, link?.issue_id);
  }
  return batch.links.get(remediationId);
};

const stagedInTable = (db: Database.Database, issueId: string): StagedEvent[] =>
  prepared<[string], { position: number; stream: string; type: string; occurred_at: string; data: string }>(
    db,
    'SELECT position, stream, type, occurred_at, data FROM postmortem_sources WHERE issue_id = ? ORDER BY position',
  )
    .all(issueId)
    .map((row) => ({
      position: row.position,
      streamId: row.stream,
      type: row.type,
      data: JSON.parse(row.data) as unknown,
      metadata: { occurredAt: row.occurred_at },
    }));

const render = (db: Database.Database, batch: Batch, issueId: string, issueStream: string, position: number) => {
  const inTable = batch.detectedHere.has(issueId) ? [] : stagedInTable(db, issueId);
  const events: StagedEvent[] = [...inTable, ...(batch.staged.get(issueId) ?? [])];
  const detected = events.find((e) => e.type === 'IssueDetected' && e.streamId === issueStream);
  if (detected === undefined) return;
  const current: Detection = {
    data: detected.data as IssueDetectedData,
    metadata: detected.metadata,
  };
  // Only earlier Issues of the same signal on the same workload can be recurrences; the window is checked below.
  const detections = prepared<[string, string], { data: string; occurred_at: string }>(
    db,
    'SELECT data, occurred_at FROM postmortem_detections WHERE signal = ? AND workload = ?',
  )
    .all(current.data.signal, workloadKey(current.data.workload))
    .map((row) => ({ data: JSON.parse(row.data) as IssueDetectedData, metadata: { occurredAt: row.occurred_at } }));
  const earlier = recurrencesOf(current, detections);
  const related = earlier
    .map((d) =>
      prepared<[string], { name: string }>(db, 'SELECT name FROM postmortems WHERE issue_id = ?').get(d.data.issueId),
    )
    .flatMap((row) => (row === undefined ? [] : [row.name]));
  const workload = current.data.workload;
  const rendered = postMortemResource(
    issueStream,
    events,
    { last30Days: earlier.length, related },
    { name: issueName(issueId, workload), uid: '' },
    '',
  );
  if (rendered === undefined) return;
  const status = rendered.status;
  const endedAt = status.resolvedAt ?? status.conditions?.[0]?.lastTransitionTime ?? '';
  const detectedAt = status.detectedAt ?? detected.metadata.occurredAt;
  prepared(
    db,
    `INSERT OR IGNORE INTO postmortems VALUES (@issue_id, @name, @namespace, 'Open', @outcome, @signal, @severity,
       @workload_kind, @workload_name, @summary, @root_cause, @detected_at, @ended_at, @duration_seconds,
       @recurrences, @document, NULL, NULL, NULL, NULL, NULL, '[]', @last_position)`,
  ).run({
    issue_id: issueId,
    name: postMortemName(issueId, workload),
    namespace: workload.namespace,
    outcome: rendered.doc.metadata.labels[Labels.outcome] ?? (status.resolvedAt ? 'resolved' : 'escalated'),
    signal: current.data.signal,
    severity: rendered.doc.spec.severity,
    workload_kind: workload.kind,
    workload_name: workload.name,
    summary: status.summary ?? '',
    root_cause: status.rootCause ?? '',
    detected_at: detectedAt,
    ended_at: endedAt,
    duration_seconds: Math.max(0, (Date.parse(endedAt) - Date.parse(detectedAt)) / 1000),
    recurrences: earlier.length,
    document: JSON.stringify(status),
    last_position: position,
  });
  if (inTable.length > 0) prepared(db, 'DELETE FROM postmortem_sources WHERE issue_id = ?').run(issueId);
  batch.staged.delete(issueId);
  batch.written.set(issueId, true);
};

/** Review events change a written PostMortem; the row's position guard makes each apply once. */
const applyReview = (db: Database.Database, event: RecordedEvent) => {
  const issueId = parseStreamName(event.streamId).id;
  const row = prepared<[string], { last_position: number; feedback: string; document: string }>(
    db,
    'SELECT last_position, feedback, document FROM postmortems WHERE issue_id = ?',
  ).get(issueId);
  if (row === undefined || BigInt(row.last_position) >= event.position) return;
  // The document is the object's status: review state, the latest feedback and root cause correction included.
  const document = JSON.stringify(withReviewEvent(JSON.parse(row.document), event));
  prepared(db, 'UPDATE postmortems SET document = ? WHERE issue_id = ?').run(document, issueId);
  const d = event.data as Record<string, unknown>;
  const at = event.metadata.occurredAt;
  const position = Number(event.position);
  switch (event.type) {
    case 'PostMortemReviewed':
      prepared(
        db,
        `UPDATE postmortems SET state = 'InReview', reviewed_by = ?, reviewed_at = ?, review_notes = ?,
           last_position = ? WHERE issue_id = ?`,
      ).run(String(d.reviewer), at, (d.notes as string | undefined) ?? null, position, issueId);
      return;
    case 'PostMortemClosed':
      prepared(
        db,
        `UPDATE postmortems SET state = 'Closed', closed_by = ?, closed_at = ?, last_position = ? WHERE issue_id = ?`,
      ).run(String(d.closedBy), at, position, issueId);
      return;
    case 'PostMortemFeedbackRecorded': {
      const feedback = [...(JSON.parse(row.feedback) as unknown[]), { ...d, at }];
      prepared(db, 'UPDATE postmortems SET feedback = ?, last_position = ? WHERE issue_id = ?').run(
        JSON.stringify(feedback),
        position,
        issueId,
      );
      return;
    }
    default:
      return;
  }
};

const REVIEW_EVENTS = new Set(['PostMortemReviewed', 'PostMortemClosed', 'PostMortemFeedbackRecorded']);

export const postMortemsProjection = {
  name: 'postmortems',
  handles: (type: string) => type !== 'AnomalyDetected' && type !== 'AnomalyDeduplicated',
  init(db: Database.Database) {
    db.exec(`
      CREATE TABLE IF NOT EXISTS postmortems (
        issue_id TEXT PRIMARY KEY, name TEXT NOT NULL, namespace TEXT NOT NULL, state TEXT NOT NULL,
        outcome TEXT NOT NULL, signal TEXT NOT NULL, severity TEXT NOT NULL, workload_kind TEXT NOT NULL,
        workload_name TEXT NOT NULL, summary TEXT NOT NULL, root_cause TEXT NOT NULL, detected_at TEXT NOT NULL,
        ended_at TEXT NOT NULL, duration_seconds REAL NOT NULL, recurrences INTEGER NOT NULL, document TEXT NOT NULL,
        reviewed_by TEXT, reviewed_at TEXT, review_notes TEXT, closed_by TEXT, closed_at TEXT,
        feedback TEXT NOT NULL, last_position INTEGER NOT NULL);
      CREATE INDEX IF NOT EXISTS postmortems_by_time ON postmortems (ended_at DESC, issue_id DESC);
      CREATE TABLE IF NOT EXISTS postmortem_sources (
        position INTEGER PRIMARY KEY, issue_id TEXT NOT NULL, stream TEXT NOT NULL, type TEXT NOT NULL,
        occurred_at TEXT NOT NULL, data TEXT NOT NULL);
      CREATE INDEX IF NOT EXISTS postmortem_sources_by_issue ON postmortem_sources (issue_id, position);
      CREATE TABLE IF NOT EXISTS postmortem_detections (
        issue_id TEXT PRIMARY KEY, occurred_at TEXT NOT NULL, signal TEXT NOT NULL, workload TEXT NOT NULL,
        data TEXT NOT NULL);
      CREATE INDEX IF NOT EXISTS postmortem_detections_by_workload ON postmortem_detections (signal, workload);
      CREATE TABLE IF NOT EXISTS postmortem_remediations (
        remediation_id TEXT PRIMARY KEY, issue_id TEXT NOT NULL);`);
  },
  reset(db: Database.Database) {
    db.exec(`DELETE FROM postmortems; DELETE FROM postmortem_sources; DELETE FROM postmortem_detections;
      DELETE FROM postmortem_remediations;`);
  },
  apply(event: RecordedEvent, db: Database.Database) {
    postMortemsProjection.applyBatch([event], db);
  },
  applyBatch(events: readonly RecordedEvent[], db: Database.Database) {
    const batch: Batch = { staged: new Map(), detectedHere: new Set(), written: new Map(), links: new Map() };
    for (const event of events) applyOne(db, batch, event);
    persistStaged(db, batch);
  },
};

const applyOne = (db: Database.Database, batch: Batch, event: RecordedEvent) => {
  const category = categoryOf(event.streamId);
  if (category === StreamCategory.PostMortem) {
    if (REVIEW_EVENTS.has(event.type)) applyReview(db, event);
    return;
  }
  if (category === StreamCategory.Remediation) {
    const remediationId = parseStreamName(event.streamId).id;
    if (event.type === 'RemediationPlanCreated') {
      const issueId = (event.data as { issueId: string }).issueId;
      prepared(db, 'INSERT OR IGNORE INTO postmortem_remediations VALUES (?, ?)').run(remediationId, issueId);
      batch.links.delete(remediationId);
    }
    const issueId = issueOfPlan(db, batch, remediationId);
    // Events after the Issue ended (the PostMortem exists) are not part of it.
    if (issueId !== undefined && !written(db, batch, issueId)) stage(batch, event, issueId);
    return;
  }
  if (category !== StreamCategory.Issue) return;
  const issueId = parseStreamName(event.streamId).id;
  if (written(db, batch, issueId)) return;
  if (event.type === 'IssueDetected') {
    batch.detectedHere.add(issueId);
    const data = event.data as IssueDetectedData;
    prepared(db, 'INSERT OR IGNORE INTO postmortem_detections VALUES (?, ?, ?, ?, ?)').run(
      issueId,
      event.metadata.occurredAt,
      data.signal,
      workloadKey(data.workload),
      JSON.stringify(data),
    );
  }
  stage(batch, event, issueId);
  if (event.type === 'IssueResolved' || event.type === 'IssueEscalated') {
    render(db, batch, issueId, event.streamId, Number(event.position));
  }
};
