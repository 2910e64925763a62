import type Database from 'better-sqlite3';
import { CairnError, ErrorCategory } from '../../../domain/errors.ts';
import type { ChangeEvidence, SuspectedCommit } from '../../../domain/events/analysis.events.ts';
import type { ResourceRef } from '../../../domain/events/common.schema.ts';
import type { RemediationState } from '../../../domain/remediation/remediation.decider.ts';
import type { AnomalyRow } from '../../../projections/anomalies.projection.ts';
import { type BlastRadiusView, blastRadiusView } from '../../../projections/blastRadius.view.ts';
import type { IncidentRow, IncidentView, TimelineRow } from '../../../projections/incidents.projection.ts';
import type { InsightRow, RefusedProposalView } from '../../../projections/insights.projection.ts';
import type { PostMortemRow } from '../../../projections/postMortems.projection.ts';
import type {
  ApprovalRow,
  RemediationActionRow,
  RemediationCheckpointRow,
  RemediationRow,
  RunbookUsageRow,
} from '../../../projections/remediations.projection.ts';
import { prepared } from '../../../projections/sqlite.statements.ts';
import { createSlaQueries, type SlaAnalyticsView } from '../../sla/sla.queries.ts';
import type { PostMortemStatus } from '../kubernetes/api/postMortem.kind.ts';

/**
 * The typed read side over the sqlite read model, shared by REST and GraphQL: lists with filters and keyset
 * pagination, get by id, and batch-get by ids (one query for many, for GraphQL loaders). Rows become API views
 * here, so both interfaces show the same fields under the same names.
 */

// ---------------------------------------------------------------------------------------------------------------
// Views

export type { IncidentView } from '../../../projections/incidents.projection.ts';

export interface TimelineEntryView {
  readonly position: string;
  readonly stream: string;
  readonly type: string;
  readonly occurredAt: string;
  readonly actor: string | null;
  readonly summary: string;
}

export interface AnomalyView {
  readonly id: string;
  readonly signal: string;
  readonly source: string;
  readonly resource: ResourceRef;
  readonly workload: ResourceRef;
  readonly message: string;
  readonly observedAt: string;
  readonly recordedAt: string;
  readonly issueId: string | null;
  readonly duplicates: number;
  readonly labels: Readonly<Record<string, string>>;
}

export interface InsightView {
  readonly id: string;
  readonly issueId: string;
  readonly attempt: number;
  readonly status: string;
  readonly requestedAt: string;
  readonly finishedAt: string | null;
  readonly analysis: string | null;
  readonly confidence: number | null;
  readonly provider: string | null;
  readonly model: string | null;
  readonly recommendations: readonly string[];
  readonly suggestedActions: readonly {
    name: string;
    type: string;
    description: string;
    params: Record<string, string>;
  }[];
  readonly failureReason: string | null;
  /** Proposals of this round refused before they ran, oldest first. */
  readonly refusedProposals: readonly RefusedProposalView[];
  /** The commits the analysis suspected, most likely first (empty when it named none). */
  readonly suspectedCommits: readonly SuspectedCommit[];
  /** A few lines of the workload's Helm and GitOps state when it was analysed. */
  readonly gitOps: string | null;
}

export interface RemediationActionView {
  readonly actionId: string;
  readonly index: number;
  readonly type: string;
  readonly params: Readonly<Record<string, string>>;
  readonly description: string | null;
  readonly status: string;
  readonly detail: string | null;
  readonly startedAt: string | null;
  readonly finishedAt: string | null;
}

export interface RemediationCheckpointView {
  readonly position: string;
  readonly type: string;
  readonly occurredAt: string;
  readonly actor: string | null;
  readonly summary: string;
}

export interface RemediationView {
  readonly id: string;
  readonly issueId: string;
  readonly attempt: number;
  readonly source: string;
  readonly status: string;
  readonly target: ResourceRef;
  readonly runbook: string | null;
  readonly approvalRequired: boolean;
  readonly createdAt: string;
  readonly endedAt: string | null;
  readonly outcome: string | null;
  readonly outcomeDetail: string | null;
  readonly snapshotId: string | null;
  readonly rollback: { readonly trigger: string; readonly reason: string } | null;
  /** What the plan's actions would take down, recorded when it was made; null when nothing was assessed. */
  readonly blastRadius: BlastRadiusView | null;
}

export interface RemediationDetailView extends RemediationView {
  readonly actions: readonly RemediationActionView[];
  readonly checkpoints: readonly RemediationCheckpointView[];
}

export interface ApprovalView {
  readonly id: string;
  readonly remediationId: string;
  readonly issueId: string;
  readonly state: string;
  readonly requiredApprovals: number;
  readonly approvers: readonly string[];
  readonly refusedBy: string | null;
  readonly reason: string | null;
  readonly requestedAt: string;
  readonly expiresAt: string;
  readonly decidedAt: string | null;
}

export interface PostMortemFeedbackView {
  readonly by: string;
  readonly at: string;
  readonly rating?: number;
  readonly rootCauseOverride?: string;
  readonly comments?: string;
}

export interface PostMortemView {
  readonly id: string;
  readonly issueId: string;
  readonly name: string;
  readonly namespace: string;
  readonly state: string;
  readonly outcome: string;
  readonly signal: string;
  readonly severity: string;
  readonly workload: { readonly kind: string; readonly name: string; readonly namespace: string };
  readonly summary: string;
  readonly rootCause: string;
  readonly detectedAt: string;
  readonly endedAt: string;
  readonly durationSeconds: number;
  readonly recurrences: number;
  readonly reviewedBy: string | null;
  readonly reviewedAt: string | null;
  readonly reviewNotes: string | null;
  readonly closedBy: string | null;
  readonly closedAt: string | null;
  readonly feedback: readonly PostMortemFeedbackView[];
  /** Workloads of the Issue's cascade, root cause first; empty when it was not part of one. */
  readonly cascadeChain: readonly string[];
  /** The Issue's place in its cascade (1 is the root cause). */
  readonly cascadePosition: number | null;
  readonly suspectedCommit: NonNullable<PostMortemStatus['suspectedCommit']> | null;
  readonly gitOps: string | null;
  /** What each remediation plan was assessed to take before it ran. */
  readonly blastRadius: NonNullable<PostMortemStatus['blastRadius']>;
}

export interface PostMortemDetailView extends PostMortemView {
  /** The PostMortem status document: timeline, actions executed, lessons, prevention, recurrence. */
  readonly document: Readonly<Record<string, unknown>>;
}

export interface RunbookUsageView {
  readonly namespace: string;
  readonly name: string;
  readonly timesUsed: number;
  readonly successes: number;
  readonly failures: number;
  readonly lastUsedAt: string;
  readonly lastIssueId: string;
}

export interface AnalyticsView {
  readonly range: { readonly since: string | null; readonly until: string | null };
  readonly incidents: {
    readonly total: number;
    readonly open: number;
    readonly resolved: number;
    readonly escalated: number;
  };
  readonly bySeverity: Readonly<Record<string, number>>;
  readonly byState: Readonly<Record<string, number>>;
  readonly bySignal: Readonly<Record<string, number>>;
  /** Mean seconds from the first anomaly's observation to the Issue's detection; null without data. */
  readonly mttdSeconds: number | null;
  /** Mean seconds from detection to resolution, over resolved Issues; null without data. */
  readonly mttrSeconds: number | null;
  readonly topResources: readonly (ResourceRef & { readonly incidents: number })[];
  readonly remediations: {
    readonly total: number;
    readonly completed: number;
    readonly rolledBack: number;
    readonly failed: number;
    readonly inProgress: number;
    /** completed / finished; null when none finished. */
    readonly successRate: number | null;
  };
  readonly trend: readonly { readonly day: string; readonly detected: number; readonly resolved: number }[];
  /** IncidentSLA targets of the incidents whose clocks started in the range. */
  readonly sla?: SlaAnalyticsView;
}

export interface Page<T> {
  readonly items: readonly T[];
  /** Pass as `cursor` for the next page; null on the last page. */
  readonly nextCursor: string | null;
}

export interface PageRequest {
  readonly limit?: number;
  readonly cursor?: string;
}

export interface TimeRange {
  /** ISO-8601; inclusive. */
  readonly since?: string;
  /** ISO-8601; exclusive. */
  readonly until?: string;
}

export interface IncidentFilter extends PageRequest, TimeRange {
  readonly state?: readonly string[];
  readonly severity?: readonly string[];
  readonly signal?: string;
  readonly namespace?: string;
  readonly workload?: string;
  readonly kind?: string;
  readonly acknowledged?: boolean;
}

export interface AnomalyFilter extends PageRequest, TimeRange {
  readonly issueId?: string;
  readonly signal?: string;
  readonly source?: string;
  readonly namespace?: string;
}

export interface InsightFilter extends PageRequest {
  readonly issueId?: string;
  readonly status?: string;
}

export interface RemediationFilter extends PageRequest {
  readonly issueId?: string;
  readonly status?: string;
  readonly outcome?: string;
}

export interface ApprovalFilter extends PageRequest {
  readonly state?: string;
  readonly issueId?: string;
}

export interface PostMortemFilter extends PageRequest {
  readonly state?: string;
  readonly outcome?: string;
  readonly signal?: string;
  readonly namespace?: string;
}

export const MAX_PAGE_SIZE = 500;
export const DEFAULT_PAGE_SIZE = 50;

// ---------------------------------------------------------------------------------------------------------------
// Row → view

const json = <T>(text: string, fallback: T): T => {
  try {
    return JSON.parse(text) as T;
  } catch {
    return fallback;
  }
};

const ref = (kind: string, name: string, namespace: string, cluster = ''): ResourceRef => ({
  kind,
  name,
  namespace,
  ...(cluster ? { cluster } : {}),
});

/** The projection writes the view; a page of incidents reads it instead of rebuilding it from columns. */
export const toIncident = (row: Pick<IncidentRow, 'view'>): IncidentView => JSON.parse(row.view) as IncidentView;

const toTimeline = (row: TimelineRow): TimelineEntryView => ({
  position: String(row.position),
  stream: row.stream,
  type: row.type,
  occurredAt: row.occurred_at,
  actor: row.actor,
  summary: row.summary,
});

const toAnomaly = (row: AnomalyRow): AnomalyView => ({
  id: row.anomaly_id,
  signal: row.signal,
  source: row.source,
  resource: ref(row.resource_kind, row.resource_name, row.resource_namespace),
  workload: ref(row.workload_kind, row.workload_name, row.workload_namespace),
  message: row.message,
  observedAt: row.observed_at,
  recordedAt: row.recorded_at,
  issueId: row.issue_id,
  duplicates: row.duplicates,
  labels: json(row.labels, {}),
});

const changeOfInsight = (text: string | null) => {
  const change = text === null ? {} : json<ChangeEvidence>(text, {});
  return { suspectedCommits: change.suspectedCommits ?? [], gitOps: change.gitOps ?? null };
};

const toInsight = (row: InsightRow): InsightView => ({
  id: row.insight_id,
  issueId: row.issue_id,
  attempt: row.attempt,
  status: row.status,
  requestedAt: row.requested_at,
  finishedAt: row.finished_at,
  analysis: row.analysis,
  confidence: row.confidence,
  provider: row.provider,
  model: row.model,
  recommendations: json(row.recommendations, []),
  suggestedActions: json(row.suggested_actions, []),
  failureReason: row.failure_reason,
  refusedProposals: json(row.refused_proposals, []),
  ...changeOfInsight(row.change_evidence),
});

const toRemediation = (row: RemediationRow): RemediationView => {
  const state = json<Partial<RemediationState>>(row.document, {});
  return {
    id: row.remediation_id,
    issueId: row.issue_id,
    attempt: row.attempt,
    source: row.source,
    status: row.status,
    target: ref(row.target_kind, row.target_name, row.target_namespace),
    runbook: row.runbook,
    approvalRequired: row.approval_required === 1,
    createdAt: row.created_at,
    endedAt: row.ended_at,
    outcome: row.outcome,
    outcomeDetail: row.outcome_detail,
    snapshotId: state.snapshotId ?? null,
    rollback: state.rollback ?? null,
    blastRadius: state.blastRadius ? blastRadiusView(state.blastRadius) : null,
  };
};

const toAction = (row: RemediationActionRow): RemediationActionView => ({
  actionId: row.action_id,
  index: row.idx,
  type: row.type,
  params: json(row.params, {}),
  description: row.description,
  status: row.status,
  detail: row.detail,
  startedAt: row.started_at,
  finishedAt: row.finished_at,
});

const toCheckpoint = (row: RemediationCheckpointRow): RemediationCheckpointView => ({
  position: String(row.position),
  type: row.type,
  occurredAt: row.occurred_at,
  actor: row.actor,
  summary: row.summary,
});

const toApproval = (row: ApprovalRow): ApprovalView => ({
  id: row.request_id,
  remediationId: row.remediation_id,
  issueId: row.issue_id,
  state: row.state,
  requiredApprovals: row.required_approvals,
  approvers: json(row.approvers, []),
  refusedBy: row.refused_by,
  reason: row.reason,
  requestedAt: row.requested_at,
  expiresAt: row.expires_at,
  decidedAt: row.decided_at,
});

const toPostMortem = (row: PostMortemRow): PostMortemView => ({
  id: row.issue_id,
  issueId: row.issue_id,
  name: row.name,
  namespace: row.namespace,
  state: row.state,
  outcome: row.outcome,
  signal: row.signal,
  severity: row.severity,
  workload: { kind: row.workload_kind, name: row.workload_name, namespace: row.namespace },
  summary: row.summary,
  rootCause: row.root_cause,
  detectedAt: row.detected_at,
  endedAt: row.ended_at,
  durationSeconds: row.duration_seconds,
  recurrences: row.recurrences,
  reviewedBy: row.reviewed_by,
  reviewedAt: row.reviewed_at,
  reviewNotes: row.review_notes,
  closedBy: row.closed_by,
  closedAt: row.closed_at,
  feedback: json(row.feedback, []),
  // A page of PostMortems has SQLite pick the few fields out of each document rather than parse them all here.
  ...changeContext(
    json<Partial<PostMortemStatus>>((row as { change_context?: string }).change_context ?? row.document, {}),
  ),
});

const POSTMORTEM_LIST_COLUMNS = `*, json_object(${[
  'cascadeChain',
  'cascadePosition',
  'suspectedCommit',
  'gitOps',
  'blastRadius',
]
  .map((field) => `'${field}', json_extract(document, '$.${field}')`)
  .join(', ')}) AS change_context`;

const changeContext = (document: { [K in keyof PostMortemStatus]?: PostMortemStatus[K] | null }) => ({
  cascadeChain: document.cascadeChain ?? [],
  cascadePosition: document.cascadePosition ?? null,
  suspectedCommit: document.suspectedCommit ?? null,
  gitOps: document.gitOps ?? null,
  blastRadius: document.blastRadius ?? [],
});

const toRunbookUsage = (row: RunbookUsageRow): RunbookUsageView => ({
  namespace: row.namespace,
  name: row.name,
  timesUsed: row.times_used,
  successes: row.successes,
  failures: row.failures,
  lastUsedAt: row.last_used_at,
  lastIssueId: row.last_issue_id,
});

// ---------------------------------------------------------------------------------------------------------------
// Query building

interface Where {
  readonly clauses: string[];
  readonly params: unknown[];
}

const where = (): Where => ({ clauses: [], params: [] });
const add = (w: Where, clause: string, ...params: unknown[]) => {
  w.clauses.push(clause);
  w.params.push(...params);
};
const sqlOf = (w: Where) => (w.clauses.length === 0 ? '' : `WHERE ${w.clauses.join(' AND ')}`);

const invalidQuery = (code: string, message: string) => new CairnError(code, ErrorCategory.Validation, message);

const encodeCursor = (sortValue: string, id: string) =>
  Buffer.from(JSON.stringify([sortValue, id]), 'utf8').toString('base64url');

const decodeCursor = (cursor: string): [string, string] => {
  try {
    const value = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as unknown;
    if (Array.isArray(value) && value.length === 2 && value.every((v) => typeof v === 'string')) {
      return value as [string, string];
    }
  } catch {
    // reported below
  }
  throw invalidQuery('query.invalid_cursor', 'cursor is not one this API returned; start again without it');
};

const checkInstant = (name: string, value: string | undefined) => {
  if (value !== undefined && Number.isNaN(Date.parse(value))) {
    throw invalidQuery('query.invalid_instant', `${name} is not an ISO-8601 instant: ${value}`);
  }
};

/**
 * Newest first by `sortColumn`, ties broken by `idColumn`; the cursor holds the last row's pair, so a page never
 * repeats or skips a row when rows are added meanwhile.
 */
function keysetPage<R, V>(
  db: Database.Database,
  table: string,
  sortColumn: string,
  idColumn: string,
  w: Where,
  page: PageRequest,
  view: (row: R) => V,
  sortOf: (row: R) => string,
  idOf: (row: R) => string,
  columns = '*',
): Page<V> {
  const limit = page.limit ?? DEFAULT_PAGE_SIZE;
  if (!Number.isInteger(limit) || limit < 1 || limit > MAX_PAGE_SIZE) {
    throw invalidQuery('query.invalid_limit', `limit must be an integer from 1 to ${MAX_PAGE_SIZE}`);
  }
  const clauses = { clauses: [...w.clauses], params: [...w.params] };
  const sortExpr = `COALESCE(${sortColumn}, '')`;
  if (page.cursor !== undefined) {
    const [sortValue, id] = decodeCursor(page.cursor);
    add(clauses, `(${sortExpr} < ? OR (${sortExpr} = ? AND ${idColumn} < ?))`, sortValue, sortValue, id);
  }
  const rows = prepared(
    db,
    `SELECT ${columns} FROM ${table} ${sqlOf(clauses)} ORDER BY ${sortExpr} DESC, ${idColumn} DESC LIMIT ?`,
  ).all(...clauses.params, limit + 1) as R[];
  const more = rows.length > limit;
  const items = more ? rows.slice(0, limit) : rows;
  const last = items[items.length - 1];
  return {
    items: items.map(view),
    nextCursor: more && last !== undefined ? encodeCursor(sortOf(last), idOf(last)) : null,
  };
}

/** One query for many ids; the result follows the order of `ids`, with undefined where a row is missing. */
function batch<R, V>(
  db: Database.Database,
  table: string,
  idColumn: string,
  ids: readonly string[],
  view: (row: R) => V,
  idOf: (row: R) => string,
): (V | undefined)[] {
  if (ids.length === 0) return [];
  const unique = [...new Set(ids)];
  const found = new Map<string, V>();
  // Below sqlite's default limit of bound parameters.
  for (let i = 0; i < unique.length; i += 500) {
    const chunk = unique.slice(i, i + 500);
    const rows = prepared(db, `SELECT * FROM ${table} WHERE ${idColumn} IN (${chunk.map(() => '?').join(', ')})`).all(
      ...chunk,
    ) as R[];
    for (const row of rows) found.set(idOf(row), view(row));
  }
  return ids.map((id) => found.get(id));
}

const rangeOn = (w: Where, column: string, range: TimeRange) => {
  checkInstant('since', range.since);
  checkInstant('until', range.until);
  // Stored instants are UTC ISO strings; comparing through julianday accepts any offset in the filter.
  if (range.since !== undefined) add(w, `julianday(${column}) >= julianday(?)`, range.since);
  if (range.until !== undefined) add(w, `julianday(${column}) < julianday(?)`, range.until);
};

// ---------------------------------------------------------------------------------------------------------------
// The queries

export interface ReadModelQueries {
  listIncidents(filter?: IncidentFilter): Page<IncidentView>;
  /** The same page as JSON text, spliced from the stored views: what the REST list sends without re-encoding. */
  listIncidentsJson(filter?: IncidentFilter): string;
  getIncident(id: string): IncidentView | undefined;
  getIncidents(ids: readonly string[]): (IncidentView | undefined)[];
  timeline(issueId: string): TimelineEntryView[];
  /** Timelines of many Issues in one query, keyed by Issue id. */
  timelines(issueIds: readonly string[]): Map<string, TimelineEntryView[]>;

  listAnomalies(filter?: AnomalyFilter): Page<AnomalyView>;
  getAnomaly(id: string): AnomalyView | undefined;
  getAnomalies(ids: readonly string[]): (AnomalyView | undefined)[];
  anomaliesOfIssues(issueIds: readonly string[]): Map<string, AnomalyView[]>;

  listInsights(filter?: InsightFilter): Page<InsightView>;
  getInsight(id: string): InsightView | undefined;
  getInsights(ids: readonly string[]): (InsightView | undefined)[];
  insightsOfIssues(issueIds: readonly string[]): Map<string, InsightView[]>;

  listRemediations(filter?: RemediationFilter): Page<RemediationView>;
  getRemediation(id: string): RemediationDetailView | undefined;
  getRemediations(ids: readonly string[]): (RemediationView | undefined)[];
  remediationsOfIssues(issueIds: readonly string[]): Map<string, RemediationView[]>;
  actionsOf(remediationIds: readonly string[]): Map<string, RemediationActionView[]>;

  listApprovals(filter?: ApprovalFilter): Page<ApprovalView>;
  getApproval(id: string): ApprovalView | undefined;
  getApprovals(ids: readonly string[]): (ApprovalView | undefined)[];

  listPostMortems(filter?: PostMortemFilter): Page<PostMortemView>;
  getPostMortem(id: string): PostMortemDetailView | undefined;
  getPostMortems(ids: readonly string[]): (PostMortemView | undefined)[];

  listRunbookUsage(namespace?: string): RunbookUsageView[];

  analytics(range?: TimeRange): AnalyticsView;
}

const groupBy = <V>(keys: readonly string[], rows: readonly V[], keyOf: (v: V) => string): Map<string, V[]> => {
  const map = new Map<string, V[]>(keys.map((k) => [k, []]));
  for (const row of rows) map.get(keyOf(row))?.push(row);
  return map;
};

const inList = (ids: readonly string[]) => ids.map(() => '?').join(', ');

export function createReadModelQueries(db: Database.Database): ReadModelQueries {
  const byIssue = <R, V>(table: string, order: string, ids: readonly string[], view: (row: R) => V) => {
    const unique = [...new Set(ids)];
    if (unique.length === 0) return new Map<string, V[]>();
    const rows = prepared(db, `SELECT * FROM ${table} WHERE issue_id IN (${inList(unique)}) ORDER BY ${order}`).all(
      ...unique,
    ) as (R & { issue_id: string })[];
    const grouped = groupBy(unique, rows, (r) => r.issue_id);
    return new Map([...grouped].map(([k, v]) => [k, v.map(view)]));
  };

  const getRemediationDetail = (id: string): RemediationDetailView | undefined => {
    const row = prepared<[string], RemediationRow>(db, 'SELECT * FROM remediations WHERE remediation_id = ?').get(id);
    if (row === undefined) return undefined;
    const actions = prepared<[string], RemediationActionRow>(
      db,
      'SELECT * FROM remediation_actions WHERE remediation_id = ? ORDER BY idx',
    )
      .all(id)
      .map(toAction);
    const checkpoints = prepared<[string], RemediationCheckpointRow>(
      db,
      'SELECT * FROM remediation_checkpoints WHERE remediation_id = ? ORDER BY position',
    )
      .all(id)
      .map(toCheckpoint);
    return { ...toRemediation(row), actions, checkpoints };
  };

  /** A page of incidents as the JSON text of their views, which the projection wrote. */
  const incidentPage = (filter: IncidentFilter): Page<string> => {
    const w = where();
    if (filter.state?.length) add(w, `state IN (${inList(filter.state)})`, ...filter.state);
    if (filter.severity?.length) add(w, `severity IN (${inList(filter.severity)})`, ...filter.severity);
    if (filter.signal !== undefined) add(w, 'EXISTS (SELECT 1 FROM json_each(signals) WHERE value = ?)', filter.signal);
    if (filter.namespace !== undefined) add(w, 'workload_namespace = ?', filter.namespace);
    if (filter.workload !== undefined) add(w, 'workload_name = ?', filter.workload);
    if (filter.kind !== undefined) add(w, 'workload_kind = ?', filter.kind);
    if (filter.acknowledged !== undefined) add(w, `acknowledged_by IS ${filter.acknowledged ? 'NOT ' : ''}NULL`);
    rangeOn(w, 'detected_at', filter);
    return keysetPage<Pick<IncidentRow, 'issue_id' | 'detected_at' | 'view'>, string>(
      db,
      'incidents',
      'detected_at',
      'issue_id',
      w,
      filter,
      (r) => r.view,
      (r) => r.detected_at ?? '',
      (r) => r.issue_id,
      // Every other column is in the view; reading two dozen of them per row costs more than the rest of a page.
      'issue_id, detected_at, view',
    );
  };

  return {
    listIncidents(filter = {}) {
      const page = incidentPage(filter);
      return { items: page.items.map((json) => JSON.parse(json) as IncidentView), nextCursor: page.nextCursor };
    },
    listIncidentsJson(filter = {}) {
      const page = incidentPage(filter);
      return `{"items":[${page.items.join(',')}],"nextCursor":${JSON.stringify(page.nextCursor)}}`;
    },
    getIncident(id) {
      const row = prepared<[string], IncidentRow>(db, 'SELECT view FROM incidents WHERE issue_id = ?').get(id);
      return row === undefined ? undefined : toIncident(row);
    },
    getIncidents(ids) {
      return batch<IncidentRow, IncidentView>(db, 'incidents', 'issue_id', ids, toIncident, (r) => r.issue_id);
    },
    timeline(issueId) {
      return prepared<[string], TimelineRow>(db, 'SELECT * FROM incident_timeline WHERE issue_id = ? ORDER BY position')
        .all(issueId)
        .map(toTimeline);
    },
    timelines(issueIds) {
      return byIssue<TimelineRow, TimelineEntryView>('incident_timeline', 'position', issueIds, toTimeline);
    },

    listAnomalies(filter = {}) {
      const w = where();
      if (filter.issueId !== undefined) add(w, 'issue_id = ?', filter.issueId);
      if (filter.signal !== undefined) add(w, 'signal = ?', filter.signal);
      if (filter.source !== undefined) add(w, 'source = ?', filter.source);
      if (filter.namespace !== undefined) add(w, 'workload_namespace = ?', filter.namespace);
      rangeOn(w, 'recorded_at', filter);
      return keysetPage<AnomalyRow, AnomalyView>(
        db,
        'anomalies',
        'recorded_at',
        'anomaly_id',
        w,
        filter,
        toAnomaly,
        (r) => r.recorded_at,
        (r) => r.anomaly_id,
      );
    },
    getAnomaly(id) {
      const row = prepared<[string], AnomalyRow>(db, 'SELECT * FROM anomalies WHERE anomaly_id = ?').get(id);
      return row === undefined ? undefined : toAnomaly(row);
    },
    getAnomalies(ids) {
      return batch<AnomalyRow, AnomalyView>(db, 'anomalies', 'anomaly_id', ids, toAnomaly, (r) => r.anomaly_id);
    },
    anomaliesOfIssues(issueIds) {
      return byIssue<AnomalyRow, AnomalyView>('anomalies', 'recorded_at, anomaly_id', issueIds, toAnomaly);
    },

    listInsights(filter = {}) {
      const w = where();
      if (filter.issueId !== undefined) add(w, 'issue_id = ?', filter.issueId);
      if (filter.status !== undefined) add(w, 'status = ?', filter.status);
      return keysetPage<InsightRow, InsightView>(
        db,
        'insights',
        'requested_at',
        'insight_id',
        w,
        filter,
        toInsight,
        (r) => r.requested_at,
        (r) => r.insight_id,
      );
    },
    getInsight(id) {
      const row = prepared<[string], InsightRow>(db, 'SELECT * FROM insights WHERE insight_id = ?').get(id);
      return row === undefined ? undefined : toInsight(row);
    },
    getInsights(ids) {
      return batch<InsightRow, InsightView>(db, 'insights', 'insight_id', ids, toInsight, (r) => r.insight_id);
    },
    insightsOfIssues(issueIds) {
      return byIssue<InsightRow, InsightView>('insights', 'attempt, requested_at', issueIds, toInsight);
    },

    listRemediations(filter = {}) {
      const w = where();
      if (filter.issueId !== undefined) add(w, 'issue_id = ?', filter.issueId);
      if (filter.status !== undefined) add(w, 'status = ?', filter.status);
      if (filter.outcome !== undefined) add(w, 'outcome = ?', filter.outcome);
      return keysetPage<RemediationRow, RemediationView>(
        db,
        'remediations',
        'created_at',
        'remediation_id',
        w,
        filter,
        toRemediation,
        (r) => r.created_at,
        (r) => r.remediation_id,
      );
    },
    getRemediation: getRemediationDetail,
    getRemediations(ids) {
      return batch<RemediationRow, RemediationView>(
        db,
        'remediations',
        'remediation_id',
        ids,
        toRemediation,
        (r) => r.remediation_id,
      );
    },
    remediationsOfIssues(issueIds) {
      return byIssue<RemediationRow, RemediationView>('remediations', 'attempt, created_at', issueIds, toRemediation);
    },
    actionsOf(remediationIds) {
      const unique = [...new Set(remediationIds)];
      if (unique.length === 0) return new Map();
      const rows = prepared(
        db,
        `SELECT * FROM remediation_actions WHERE remediation_id IN (${inList(unique)}) ORDER BY idx`,
      ).all(...unique) as RemediationActionRow[];
      const grouped = groupBy(unique, rows, (r) => r.remediation_id);
      return new Map([...grouped].map(([k, v]) => [k, v.map(toAction)]));
    },

    listApprovals(filter = {}) {
      const w = where();
      if (filter.state !== undefined) add(w, 'state = ?', filter.state);
      if (filter.issueId !== undefined) add(w, 'issue_id = ?', filter.issueId);
      return keysetPage<ApprovalRow, ApprovalView>(
        db,
        'approvals',
        'requested_at',
        'request_id',
        w,
        filter,
        toApproval,
        (r) => r.requested_at,
        (r) => r.request_id,
      );
    },
    getApproval(id) {
      const row = prepared<[string], ApprovalRow>(db, 'SELECT * FROM approvals WHERE request_id = ?').get(id);
      return row === undefined ? undefined : toApproval(row);
    },
    getApprovals(ids) {
      return batch<ApprovalRow, ApprovalView>(db, 'approvals', 'request_id', ids, toApproval, (r) => r.request_id);
    },

    listPostMortems(filter = {}) {
      const w = where();
      if (filter.state !== undefined) add(w, 'state = ?', filter.state);
      if (filter.outcome !== undefined) add(w, 'outcome = ?', filter.outcome);
      if (filter.signal !== undefined) add(w, 'signal = ?', filter.signal);
      if (filter.namespace !== undefined) add(w, 'namespace = ?', filter.namespace);
      return keysetPage<PostMortemRow, PostMortemView>(
        db,
        'postmortems',
        'ended_at',
        'issue_id',
        w,
        filter,
        toPostMortem,
        (r) => r.ended_at,
        (r) => r.issue_id,
        POSTMORTEM_LIST_COLUMNS,
      );
    },
    getPostMortem(id) {
      const row = prepared<[string], PostMortemRow>(db, 'SELECT * FROM postmortems WHERE issue_id = ?').get(id);
      return row === undefined ? undefined : { ...toPostMortem(row), document: json(row.document, {}) };
    },
    getPostMortems(ids) {
      return batch<PostMortemRow, PostMortemView>(db, 'postmortems', 'issue_id', ids, toPostMortem, (r) => r.issue_id);
    },

    listRunbookUsage(namespace) {
      const rows =
        namespace === undefined
          ? prepared<[], RunbookUsageRow>(db, 'SELECT * FROM runbook_usage ORDER BY namespace, name').all()
          : prepared<[string], RunbookUsageRow>(
              db,
              'SELECT * FROM runbook_usage WHERE namespace = ? ORDER BY name',
            ).all(namespace);
      return rows.map(toRunbookUsage);
    },

    analytics(range = {}) {
      const w = where();
      rangeOn(w, 'i.detected_at', range);
      const filter = sqlOf(w);
      const counts = (column: string) =>
        Object.fromEntries(
          (
            prepared(db, `SELECT ${column} AS k, COUNT(*) AS n FROM incidents i ${filter} GROUP BY ${column}`).all(
              ...w.params,
            ) as { k: string; n: number }[]
          ).map((r) => [r.k, r.n]),
        );
      const byState = counts('i.state');
      const total = Object.values(byState).reduce((a, b) => a + b, 0);
      const bySignal = Object.fromEntries(
        (
          prepared(
            db,
            `SELECT s.value AS k, COUNT(*) AS n FROM incidents i, json_each(i.signals) s ${filter} GROUP BY s.value`,
          ).all(...w.params) as { k: string; n: number }[]
        ).map((r) => [r.k, r.n]),
      );
      const seconds = (sql: string) =>
        (prepared(db, sql).get(...w.params) as { v: number | null } | undefined)?.v ?? null;
      const mttd = seconds(
        `SELECT AVG(MAX(0, (julianday(i.detected_at) - julianday(a.first_seen)) * 86400)) AS v
         FROM incidents i JOIN (SELECT issue_id, MIN(observed_at) AS first_seen FROM anomalies
           WHERE issue_id IS NOT NULL GROUP BY issue_id) a ON a.issue_id = i.issue_id ${filter}`,
      );
      const resolved = { clauses: [...w.clauses, "i.state = 'Resolved'"], params: w.params };
      const mttr = seconds(
        `SELECT AVG((julianday(i.ended_at) - julianday(i.detected_at)) * 86400) AS v FROM incidents i ${sqlOf(resolved)}`,
      );
      const top = prepared(
        db,
        `SELECT i.workload_kind AS kind, i.workload_name AS name, i.workload_namespace AS namespace, COUNT(*) AS n
           FROM incidents i ${filter} GROUP BY 1, 2, 3 ORDER BY n DESC, kind, namespace, name LIMIT 10`,
      ).all(...w.params) as { kind: string; name: string; namespace: string; n: number }[];
      const rw = where();
      rangeOn(rw, 'created_at', range);
      const rem = prepared(
        db,
        `SELECT COUNT(*) AS total,
             SUM(outcome = 'completed') AS completed, SUM(outcome = 'rolled_back') AS rolledBack,
             SUM(outcome = 'failed') AS failed, SUM(outcome IS NULL) AS inProgress
           FROM remediations ${sqlOf(rw)}`,
      ).get(...rw.params) as Record<string, number | null>;
      const finished = (rem.completed ?? 0) + (rem.rolledBack ?? 0) + (rem.failed ?? 0);
      const detectedByDay = prepared(
        db,
        `SELECT substr(i.detected_at, 1, 10) AS day, COUNT(*) AS n FROM incidents i ${filter} GROUP BY day ORDER BY day`,
      ).all(...w.params) as { day: string; n: number }[];
      const resolvedByDay = new Map(
        (
          prepared(
            db,
            `SELECT substr(i.ended_at, 1, 10) AS day, COUNT(*) AS n FROM incidents i ${sqlOf(resolved)} GROUP BY day`,
          ).all(...w.params) as { day: string; n: number }[]
        ).map((r) => [r.day, r.n]),
      );
      const days = [...new Set([...detectedByDay.map((r) => r.day), ...resolvedByDay.keys()])].sort();
      const detectedMap = new Map(detectedByDay.map((r) => [r.day, r.n]));
      return {
        range: { since: range.since ?? null, until: range.until ?? null },
        incidents: {
          total,
          open: total - (byState.Resolved ?? 0) - (byState.Escalated ?? 0),
          resolved: byState.Resolved ?? 0,
          escalated: byState.Escalated ?? 0,
        },
        bySeverity: counts('i.severity'),
        byState,
        bySignal,
        mttdSeconds: mttd === null ? null : Math.round(mttd * 1000) / 1000,
        mttrSeconds: mttr === null ? null : Math.round(mttr * 1000) / 1000,
        topResources: top.map((r) => ({ kind: r.kind, name: r.name, namespace: r.namespace, incidents: r.n })),
        remediations: {
          total: rem.total ?? 0,
          completed: rem.completed ?? 0,
          rolledBack: rem.rolledBack ?? 0,
          failed: rem.failed ?? 0,
          inProgress: rem.inProgress ?? 0,
          successRate: finished === 0 ? null : Math.round(((rem.completed ?? 0) / finished) * 10_000) / 10_000,
        },
        trend: days.map((day) => ({ day, detected: detectedMap.get(day) ?? 0, resolved: resolvedByDay.get(day) ?? 0 })),
        sla: createSlaQueries(db).analytics(range),
      };
    },
  };
}
