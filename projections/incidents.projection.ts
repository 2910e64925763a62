import type Database from 'better-sqlite3';
import type { ResourceRef } from '../domain/events/common.schema.ts';
import { type IssueEvent, type IssueState, issueDecider } from '../domain/issue/issue.decider.ts';
import type { RecordedEvent } from '../domain/messages.ts';
import { parseStreamName, StreamCategory } from '../domain/streams.ts';
import { issueName } from './kubernetesResources.projection.ts';
import { timelineDetail } from './postMortem.projection.ts';
import { insertRowsOrIgnore, prepared } from './sqlite.statements.ts';

/**
 * The incidents read model: one row per Issue, folded with the Issue decider's own `evolve` so the read side can
 * never disagree with the aggregate, and the Issue's timeline, one row per event of the Issue and of its
 * remediations. Rows remember the position that last wrote them, so applying an event twice (a replay, a crash
 * before the checkpoint) changes nothing.
 */
export interface IncidentRow {
  readonly issue_id: string;
  readonly state: string;
  readonly severity: string;
  readonly risk_score: number;
  readonly signal: string;
  readonly signals: string;
  readonly workload_kind: string;
  readonly workload_name: string;
  readonly workload_namespace: string;
  readonly cluster: string;
  readonly source: string | null;
  readonly detected_at: string | null;
  readonly ended_at: string | null;
  readonly attempts: number;
  readonly max_attempts: number;
  readonly anomaly_count: number;
  readonly acknowledged_by: string | null;
  readonly snoozed_until: string | null;
  readonly remediation_id: string | null;
  readonly insight_id: string | null;
  readonly resolution: string | null;
  readonly escalation_reason: string | null;
  readonly updated_at: string;
  readonly last_position: number;
  /** The folded IssueState, as JSON. */
  readonly document: string;
  /** The IncidentView the API serves, as JSON: written here once so a page of incidents is read, not rebuilt. */
  readonly view: string;
}

/** An incident as the REST and GraphQL APIs show it. */
export interface IncidentView {
  readonly id: string;
  /** The Issue object's name, in the workload's namespace. */
  readonly name: string;
  readonly state: string;
  readonly severity: string;
  readonly riskScore: number;
  readonly signal: string;
  readonly signals: readonly string[];
  readonly workload: ResourceRef;
  readonly source: string | null;
  readonly detectedAt: string | null;
  readonly endedAt: string | null;
  readonly attempts: number;
  readonly maxAttempts: number;
  readonly anomalyCount: number;
  readonly acknowledgedBy: string | null;
  readonly snoozedUntil: string | null;
  readonly remediationId: string | null;
  readonly insightId: string | null;
  readonly resolution: string | null;
  readonly escalationReason: string | null;
  /** An automatic escalation waiting because the Issue is acknowledged or snoozed. */
  readonly escalationHeld: { readonly reason: string; readonly heldBecause: string } | null;
  /** The cross-service cascade the Issue belongs to: its role, the root Issue and every member, root first. */
  readonly cascade: {
    readonly role: 'root' | 'dependant';
    readonly rootIssueId: string;
    readonly chain: readonly {
      readonly issueId: string;
      readonly name: string;
      readonly workload: ResourceRef;
      readonly detectedAt: string;
    }[];
  } | null;
  /** While its plan waits for the root of its cascade. */
  readonly remediationDeferral: {
    readonly rootIssueId: string;
    readonly reason: string;
    readonly since: string;
  } | null;
  /** Resolved without a plan: it recovered once the root of its cascade was fixed. */
  readonly recoveredWithRoot: { readonly rootIssueId: string; readonly detail: string } | null;
  readonly updatedAt: string;
}

export interface TimelineRow {
  readonly position: number;
  readonly issue_id: string;
  readonly stream: string;
  readonly type: string;
  readonly occurred_at: string;
  readonly actor: string | null;
  readonly summary: string;
}

const categoryOf = (stream: string) => {
  try {
    return parseStreamName(stream).category;
  } catch {
    return '';
  }
};

const ISSUE_EVENTS = new Set([
  'IssueDetected',
  'IssueAnomalyAttached',
  'AnalysisRequested',
  'AnalysisCompleted',
  'AnalysisFailed',
  'RemediationStarted',
  'ReanalysisRequested',
  'IssueResolved',
  'IssueEscalated',
  'IssueAcknowledged',
  'IssueSnoozed',
  'IssueUnsnoozed',
  'IssueCascadeCorrelated',
  'IssueEscalationPaused',
  'IssueRemediationDeferred',
  'IssueRemediationReleased',
  'IssueRecoveredWithRoot',
]);

const REMEDIATION_EVENTS = new Set([
  'RemediationPlanCreated',
  'ApprovalRequested',
  'ApprovalGranted',
  'ApprovalRefused',
  'ApprovalExpired',
  'SnapshotTaken',
  'ActionSucceeded',
  'ActionFailed',
  'ActionRefusedByPolicy',
  'AgenticStepDecided',
  'VerificationPassed',
  'VerificationFailed',
  'RollbackStarted',
  'RollbackCompleted',
  'RollbackFailed',
  'RemediationCompleted',
  'RemediationRolledBack',
  'RemediationFailed',
]);

const summaryOf = (event: RecordedEvent): string => {
  if (event.type === 'IssueEscalationPaused') {
    const d = event.data as { reason: string; heldBecause: string };
    return `escalation (${d.reason.replaceAll('_', ' ')}) held: the Issue is ${d.heldBecause}`;
  }
  if (event.type === 'IssueRemediationDeferred') {
    const d = event.data as { rootIssueId: string; reason: string };
    return `remediation waits for the root of its cascade, Issue ${d.rootIssueId}: ${d.reason}`.slice(0, 2_000);
  }
  if (event.type === 'IssueRemediationReleased') {
    const d = event.data as { rootIssueId: string; reason: string };
    return `remediation no longer waits for Issue ${d.rootIssueId} (${d.reason.replaceAll('_', ' ')})`;
  }
  return (timelineDetail(event) ?? event.type).slice(0, 2_000);
};

/** What a batch gathers before it writes: folded incidents, timeline rows, and which plan belongs to which Issue. */
interface Batch {
  readonly folded: Map<string, FoldedIncident>;
  readonly timeline: unknown[][];
  readonly links: Map<string, string | undefined>;
}

const addToTimeline = (batch: Batch, event: RecordedEvent, issueId: string) => {
  batch.timeline.push([
    Number(event.position),
    issueId,
    event.streamId,
    event.type,
    event.metadata.occurredAt,
    event.metadata.actor ?? null,
    summaryOf(event),
  ]);
};

/** An incident folded in memory through a batch, written once at its end. */
interface FoldedIncident {
  state: IssueState;
  lastPosition: bigint;
  updatedAt: string;
  resolution: string | null;
  escalationReason: string | null;
  dirty: boolean;
}

const loadIncident = (db: Database.Database, issueId: string): FoldedIncident => {
  const row = prepared<[string], IncidentRow>(db, 'SELECT * FROM incidents WHERE issue_id = ?').get(issueId);
  return {
    state: row === undefined ? issueDecider.initialState() : JSON.parse(row.document),
    lastPosition: row === undefined ? -1n : BigInt(row.last_position),
    updatedAt: row?.updated_at ?? '',
    resolution: row?.resolution ?? null,
    escalationReason: row?.escalation_reason ?? null,
    dirty: false,
  };
};

const foldIssueEvent = (event: RecordedEvent, db: Database.Database, batch: Batch) => {
  const issueId = parseStreamName(event.streamId).id;
  let incident = batch.folded.get(issueId);
  if (incident === undefined) {
    incident = loadIncident(db, issueId);
    batch.folded.set(issueId, incident);
  }
  if (incident.lastPosition >= event.position) return;
  const state = issueDecider.evolve(incident.state, event as unknown as IssueEvent);
  if (state.workload === null) return;
  const d = event.data as Record<string, unknown>;
  incident.state = state;
  incident.lastPosition = event.position;
  incident.updatedAt = event.metadata.occurredAt;
  if (event.type === 'IssueResolved') incident.resolution = String(d.resolution);
  if (event.type === 'IssueEscalated' || event.type === 'IssueEscalationPaused') {
    incident.escalationReason = String(d.reason);
  }
  incident.dirty = true;
  addToTimeline(batch, event, issueId);
};

/** The cascade fields of an incident; a state folded by an older Cairn has none of them. */
const cascadeViewOf = (state: IssueState) => {
  const members = state.cascadeMembers ?? [];
  const root = members[0];
  const deferral = state.remediationDeferral ?? null;
  const recovered = state.recoveredWithRoot ?? null;
  return {
    cascade: root
      ? {
          role: root.issueId === state.issueId ? ('root' as const) : ('dependant' as const),
          rootIssueId: root.issueId,
          chain: members.map((m) => ({
            issueId: m.issueId,
            name: issueName(m.issueId, m.workload),
            workload: m.workload,
            detectedAt: m.detectedAt,
          })),
        }
      : null,
    remediationDeferral: deferral
      ? { rootIssueId: deferral.rootIssueId, reason: deferral.reason, since: deferral.since }
      : null,
    recoveredWithRoot: recovered ? { rootIssueId: recovered.rootIssueId, detail: recovered.detail } : null,
  };
};

const viewOf = (issueId: string, incident: FoldedIncident, workload: ResourceRef): IncidentView => {
  const { state } = incident;
  const held = (state as IssueState & { heldEscalation?: { reason: string; heldBecause: string } | null })
    .heldEscalation;
  return {
    id: issueId,
    name: issueName(issueId, workload),
    state: state.status,
    severity: state.severity,
    riskScore: state.riskScore,
    signal: state.signal,
    signals: state.signals,
    workload: {
      kind: workload.kind,
      name: workload.name,
      namespace: workload.namespace,
      ...(workload.cluster ? { cluster: workload.cluster } : {}),
    },
    source: state.source,
    detectedAt: state.detectedAt,
    endedAt: state.endedAt,
    attempts: state.attempts,
    maxAttempts: state.maxAttempts,
    anomalyCount: state.anomalyIds.length,
    acknowledgedBy: state.acknowledgedBy,
    snoozedUntil: state.snoozedUntil,
    remediationId: state.remediationId,
    insightId: state.insightId,
    resolution: incident.resolution,
    escalationReason: incident.escalationReason,
    escalationHeld: held ? { reason: held.reason, heldBecause: held.heldBecause } : null,
    ...cascadeViewOf(state),
    updatedAt: incident.updatedAt,
  };
};

const writeIncident = (db: Database.Database, issueId: string, incident: FoldedIncident) => {
  const { state } = incident;
  if (state.workload === null) return;
  prepared(
    db,
    `INSERT INTO incidents VALUES (@issue_id, @state, @severity, @risk_score, @signal, @signals, @workload_kind,
       @workload_name, @workload_namespace, @cluster, @source, @detected_at, @ended_at, @attempts, @max_attempts,
       @anomaly_count, @acknowledged_by, @snoozed_until, @remediation_id, @insight_id, @resolution,
       @escalation_reason, @updated_at, @last_position, @document, @view)
     ON CONFLICT (issue_id) DO UPDATE SET state = excluded.state, severity = excluded.severity,
       risk_score = excluded.risk_score, signal = excluded.signal, signals = excluded.signals,
       detected_at = excluded.detected_at, ended_at = excluded.ended_at, attempts = excluded.attempts,
       max_attempts = excluded.max_attempts, anomaly_count = excluded.anomaly_count,
       acknowledged_by = excluded.acknowledged_by, snoozed_until = excluded.snoozed_until,
       remediation_id = excluded.remediation_id, insight_id = excluded.insight_id,
       resolution = excluded.resolution, escalation_reason = excluded.escalation_reason,
       updated_at = excluded.updated_at, last_position = excluded.last_position, document = excluded.document,
       view = excluded.view`,
  ).run({
    issue_id: issueId,
    state: state.status,
    severity: state.severity,
    risk_score: state.riskScore,
    signal: state.signal,
    signals: JSON.stringify(state.signals),
    workload_kind: state.workload.kind,
    workload_name: state.workload.name,
    workload_namespace: state.workload.namespace,
    cluster: state.workload.cluster ?? '',
    source: state.source,
    detected_at: state.detectedAt,
    ended_at: state.endedAt,
    attempts: state.attempts,
    max_attempts: state.maxAttempts,
    anomaly_count: state.anomalyIds.length,
    acknowledged_by: state.acknowledgedBy,
    snoozed_until: state.snoozedUntil,
    remediation_id: state.remediationId,
    insight_id: state.insightId,
    resolution: incident.resolution,
    escalation_reason: incident.escalationReason,
    updated_at: incident.updatedAt,
    last_position: Number(incident.lastPosition),
    document: JSON.stringify(state),
    view: JSON.stringify(viewOf(issueId, incident, state.workload)),
  });
};

/** Remediation events reach the Issue's timeline through the plan, which names the Issue. */
const applyRemediationEvent = (event: RecordedEvent, db: Database.Database, batch: Batch) => {
  const remediationId = parseStreamName(event.streamId).id;
  if (event.type === 'RemediationPlanCreated') {
    const issueId = (event.data as { issueId: string }).issueId;
    prepared(db, 'INSERT OR IGNORE INTO incident_remediations VALUES (?, ?)').run(remediationId, issueId);
    batch.links.delete(remediationId);
  }
  if (!batch.links.has(remediationId)) {
    const link = prepared<[string], { issue_id: string }>(
      db,
      'SELECT issue_id FROM incident_remediations WHERE remediation_id = ?',
    ).get(remediationId);
    batch.links.set(remediationId, link?.issue_id);
  }
  const issueId = batch.links.get(remediationId);
  if (issueId !== undefined) addToTimeline(batch, event, issueId);
};

export const incidentsProjection = {
  name: 'incidents',
  handles: (type: string) => ISSUE_EVENTS.has(type) || REMEDIATION_EVENTS.has(type),
  init(db: Database.Database) {
    db.exec(`
      CREATE TABLE IF NOT EXISTS incidents (
        issue_id TEXT PRIMARY KEY, state TEXT NOT NULL, severity TEXT NOT NULL, risk_score INTEGER NOT NULL,
        signal TEXT NOT NULL, signals TEXT NOT NULL, workload_kind TEXT NOT NULL, workload_name TEXT NOT NULL,
        workload_namespace TEXT NOT NULL, cluster TEXT NOT NULL, source TEXT, detected_at TEXT, ended_at TEXT,
        attempts INTEGER NOT NULL, max_attempts INTEGER NOT NULL, anomaly_count INTEGER NOT NULL,
        acknowledged_by TEXT, snoozed_until TEXT, remediation_id TEXT, insight_id TEXT, resolution TEXT,
        escalation_reason TEXT, updated_at TEXT NOT NULL, last_position INTEGER NOT NULL, document TEXT NOT NULL,
        view TEXT NOT NULL);
      CREATE INDEX IF NOT EXISTS incidents_by_state ON incidents (state, severity);
      CREATE INDEX IF NOT EXISTS incidents_by_detection ON incidents (detected_at DESC, issue_id DESC);
      -- The list's keyset order is on COALESCE(detected_at, ''): without this index every page sorts the table.
      CREATE INDEX IF NOT EXISTS incidents_by_list_order ON incidents (COALESCE(detected_at, '') DESC, issue_id DESC);
      CREATE INDEX IF NOT EXISTS incidents_by_workload ON incidents (workload_namespace, workload_name);
      CREATE TABLE IF NOT EXISTS incident_timeline (
        position INTEGER PRIMARY KEY, issue_id TEXT NOT NULL, stream TEXT NOT NULL, type TEXT NOT NULL,
        occurred_at TEXT NOT NULL, actor TEXT, summary TEXT NOT NULL);
      CREATE INDEX IF NOT EXISTS incident_timeline_by_issue ON incident_timeline (issue_id, position);
      CREATE TABLE IF NOT EXISTS incident_remediations (
        remediation_id TEXT PRIMARY KEY, issue_id TEXT NOT NULL);`);
  },
  reset(db: Database.Database) {
    db.exec('DELETE FROM incidents; DELETE FROM incident_timeline; DELETE FROM incident_remediations;');
  },
  apply(event: RecordedEvent, db: Database.Database) {
    incidentsProjection.applyBatch([event], db);
  },
  applyBatch(events: readonly RecordedEvent[], db: Database.Database) {
    const batch: Batch = { folded: new Map(), timeline: [], links: new Map() };
    for (const event of events) {
      const category = categoryOf(event.streamId);
      if (category === StreamCategory.Issue) foldIssueEvent(event, db, batch);
      else if (category === StreamCategory.Remediation) applyRemediationEvent(event, db, batch);
    }
    for (const [issueId, incident] of batch.folded) if (incident.dirty) writeIncident(db, issueId, incident);
    insertRowsOrIgnore(db, 'incident_timeline', batch.timeline);
  },
};
