import type Database from 'better-sqlite3';
import type { ResourceRef } from '../domain/events/common.schema.ts';
import type { RemediationPlanCreatedData } from '../domain/events/remediation.events.ts';
import type { RecordedEvent } from '../domain/messages.ts';
import {
  isTerminal,
  type RemediationEvent,
  type RemediationState,
  remediationDecider,
} from '../domain/remediation/remediation.decider.ts';
import { parseStreamName, StreamCategory } from '../domain/streams.ts';
import { timelineDetail } from './postMortem.projection.ts';
import { insertRowsOrIgnore, prepared } from './sqlite.statements.ts';

/**
 * Remediations: the plan folded with the Remediation decider's own `evolve` (status, approval, snapshot), one row per
 * action with its checkpoint, every event of the remediation as a checkpoint row, the approval requests, and the
 * Runbooks plans were built from with their use and success counts. One projection writes all of these so that a
 * row never refers to a plan another projection has not seen yet.
 */
export interface RemediationRow {
  readonly remediation_id: string;
  readonly issue_id: string;
  readonly attempt: number;
  readonly source: string;
  readonly status: string;
  readonly target_kind: string;
  readonly target_name: string;
  readonly target_namespace: string;
  readonly runbook: string | null;
  readonly approval_required: number;
  readonly created_at: string;
  readonly ended_at: string | null;
  readonly outcome: string | null;
  readonly outcome_detail: string | null;
  readonly last_position: number;
  readonly document: string;
}

export interface RemediationActionRow {
  readonly remediation_id: string;
  readonly action_id: string;
  readonly idx: number;
  readonly type: string;
  readonly params: string;
  readonly description: string | null;
  readonly status: 'planned' | 'started' | 'succeeded' | 'failed' | 'refused';
  readonly detail: string | null;
  readonly started_at: string | null;
  readonly finished_at: string | null;
}

export interface RemediationCheckpointRow {
  readonly position: number;
  readonly remediation_id: string;
  readonly type: string;
  readonly occurred_at: string;
  readonly actor: string | null;
  readonly summary: string;
}

export interface ApprovalRow {
  readonly request_id: string;
  readonly remediation_id: string;
  readonly issue_id: string;
  readonly state: 'pending' | 'approved' | 'refused' | 'expired';
  readonly required_approvals: number;
  readonly approvers: string;
  readonly refused_by: string | null;
  readonly reason: string | null;
  readonly requested_at: string;
  readonly expires_at: string;
  readonly decided_at: string | null;
  readonly last_position: number;
}

export interface RunbookUsageRow {
  readonly namespace: string;
  readonly name: string;
  readonly times_used: number;
  readonly successes: number;
  readonly failures: number;
  readonly last_used_at: string;
  readonly last_issue_id: string;
}

const OUTCOME: Readonly<Record<string, string>> = {
  RemediationCompleted: 'completed',
  RemediationRolledBack: 'rolled_back',
  RemediationFailed: 'failed',
};

const isRemediationStream = (stream: string) => stream.startsWith(`${StreamCategory.Remediation}-`);

const upsertActions = (db: Database.Database, remediationId: string, state: RemediationState) => {
  const insert = prepared(
    db,
    `INSERT OR IGNORE INTO remediation_actions VALUES (?, ?, ?, ?, ?, ?, 'planned', NULL, NULL, NULL)`,
  );
  state.actions.forEach((action, index) => {
    insert.run(
      remediationId,
      action.actionId,
      index,
      action.type,
      JSON.stringify(action.params),
      action.description ?? null,
    );
  });
};

const setAction = (
  db: Database.Database,
  remediationId: string,
  actionId: string,
  status: RemediationActionRow['status'],
  detail: string | null,
  at: string,
) => {
  if (status === 'started') {
    prepared(
      db,
      `UPDATE remediation_actions SET status = 'started', started_at = ? WHERE remediation_id = ? AND action_id = ?`,
    ).run(at, remediationId, actionId);
    return;
  }
  prepared(
    db,
    `UPDATE remediation_actions SET status = ?, detail = ?, finished_at = ?, started_at = COALESCE(started_at, ?)
     WHERE remediation_id = ? AND action_id = ?`,
  ).run(status, detail, at, at, remediationId, actionId);
};

const applyApproval = (db: Database.Database, event: RecordedEvent, state: RemediationState) => {
  const d = event.data as Record<string, unknown>;
  const at = event.metadata.occurredAt;
  const position = Number(event.position);
  switch (event.type) {
    case 'ApprovalRequested':
      prepared(
        db,
        `INSERT OR IGNORE INTO approvals VALUES (?, ?, ?, 'pending', ?, '[]', NULL, NULL, ?, ?, NULL, ?)`,
      ).run(
        String(d.requestId),
        state.remediationId,
        state.issueId,
        Number(d.requiredApprovals),
        at,
        String(d.expiresAt),
        position,
      );
      return;
    case 'ApprovalGranted':
      prepared(
        db,
        `UPDATE approvals SET approvers = ?, state = ?, decided_at = ?, last_position = ? WHERE request_id = ?`,
      ).run(
        JSON.stringify(state.approval.approvers),
        d.quorumReached ? 'approved' : 'pending',
        d.quorumReached ? at : null,
        position,
        String(d.requestId),
      );
      return;
    case 'ApprovalRefused':
      prepared(
        db,
        `UPDATE approvals SET state = 'refused', refused_by = ?, reason = ?, decided_at = ?, last_position = ?
         WHERE request_id = ?`,
      ).run(String(d.approver), d.reason === undefined ? null : String(d.reason), at, position, String(d.requestId));
      return;
    case 'ApprovalExpired':
      prepared(
        db,
        `UPDATE approvals SET state = 'expired', decided_at = ?, last_position = ? WHERE request_id = ?`,
      ).run(at, position, String(d.requestId));
      return;
    default:
      return;
  }
};

const useRunbook = (db: Database.Database, plan: RemediationPlanCreatedData, at: string) => {
  if (plan.runbook === undefined) return;
  prepared(
    db,
    `INSERT INTO runbook_usage VALUES (?, ?, 1, 0, 0, ?, ?)
     ON CONFLICT (namespace, name) DO UPDATE SET times_used = times_used + 1, last_used_at = excluded.last_used_at,
       last_issue_id = excluded.last_issue_id`,
  ).run(plan.target.namespace, plan.runbook, at, plan.issueId);
};

const runbookOutcome = (db: Database.Database, runbook: string | null, namespace: string, outcome: string) => {
  if (runbook === null) return;
  const column = outcome === 'completed' ? 'successes' : 'failures';
  prepared(db, `UPDATE runbook_usage SET ${column} = ${column} + 1 WHERE namespace = ? AND name = ?`).run(
    namespace,
    runbook,
  );
};

/** A plan folded in memory through a batch, written once at its end. */
interface FoldedRemediation {
  state: RemediationState;
  lastPosition: bigint;
  /** Set when the row is first written (the plan's event), kept afterwards. */
  runbook: string | null;
  /** The first outcome wins, as on the row. */
  endedAt: string | null;
  outcome: string | null;
  outcomeDetail: string | null;
  dirty: boolean;
}

const loadRemediation = (db: Database.Database, remediationId: string): FoldedRemediation => {
  const row = prepared<[string], RemediationRow>(db, 'SELECT * FROM remediations WHERE remediation_id = ?').get(
    remediationId,
  );
  return {
    state: row === undefined ? remediationDecider.initialState() : JSON.parse(row.document),
    lastPosition: row === undefined ? -1n : BigInt(row.last_position),
    runbook: row?.runbook ?? null,
    endedAt: row?.ended_at ?? null,
    outcome: row?.outcome ?? null,
    outcomeDetail: row?.outcome_detail ?? null,
    dirty: false,
  };
};

const foldEvent = (
  event: RecordedEvent,
  db: Database.Database,
  folded: Map<string, FoldedRemediation>,
  checkpoints: unknown[][],
) => {
  const remediationId = parseStreamName(event.streamId).id;
  let plan = folded.get(remediationId);
  if (plan === undefined) {
    plan = loadRemediation(db, remediationId);
    folded.set(remediationId, plan);
  }
  // The guard makes every write below (counters included) happen once per event.
  if (plan.lastPosition >= event.position) return;
  const state = remediationDecider.evolve(plan.state, event as unknown as RemediationEvent);
  if (state.target === null || state.createdAt === null) return;
  const existed = plan.dirty || plan.lastPosition >= 0n;
  const at = event.metadata.occurredAt;
  const d = event.data as Record<string, unknown>;
  const outcome = OUTCOME[event.type] ?? null;
  plan.state = state;
  plan.lastPosition = event.position;
  plan.dirty = true;
  if (!existed && event.type === 'RemediationPlanCreated') plan.runbook = (d.runbook as string | undefined) ?? null;
  if (plan.endedAt === null && isTerminal(state)) plan.endedAt = at;
  if (plan.outcome === null && outcome !== null) plan.outcome = outcome;
  if (plan.outcomeDetail === null && outcome !== null) {
    plan.outcomeDetail =
      event.type === 'RemediationCompleted'
        ? `${String(d.actionsSucceeded)} action(s) succeeded`
        : String(d.detail ?? d.reason ?? '');
  }
  checkpoints.push([
    Number(event.position),
    remediationId,
    event.type,
    at,
    event.metadata.actor ?? null,
    (timelineDetail(event) ?? event.type).slice(0, 2_000),
  ]);
  switch (event.type) {
    case 'RemediationPlanCreated':
      upsertActions(db, remediationId, state);
      useRunbook(db, event.data as RemediationPlanCreatedData, at);
      break;
    case 'AgenticStepDecided':
      upsertActions(db, remediationId, state);
      break;
    case 'ActionStarted':
      setAction(db, remediationId, String(d.actionId), 'started', null, at);
      break;
    case 'ActionSucceeded':
      setAction(db, remediationId, String(d.actionId), 'succeeded', String(d.result), at);
      break;
    case 'ActionFailed':
      setAction(db, remediationId, String(d.actionId), 'failed', String(d.error), at);
      break;
    case 'ActionRefusedByPolicy':
      setAction(db, remediationId, String(d.actionId), 'refused', `${String(d.policy)}: ${String(d.reason)}`, at);
      break;
    default:
      if (event.type.startsWith('Approval')) applyApproval(db, event, state);
      if (outcome !== null && existed) runbookOutcome(db, plan.runbook, state.target.namespace, outcome);
  }
};

const writeRemediation = (db: Database.Database, remediationId: string, plan: FoldedRemediation) => {
  const { state } = plan;
  if (state.target === null || state.createdAt === null) return;
  const target: ResourceRef = state.target;
  prepared(
    db,
    `INSERT INTO remediations VALUES (@remediation_id, @issue_id, @attempt, @source, @status, @target_kind,
       @target_name, @target_namespace, @runbook, @approval_required, @created_at, @ended_at, @outcome,
       @outcome_detail, @last_position, @document)
     ON CONFLICT (remediation_id) DO UPDATE SET status = excluded.status,
       ended_at = COALESCE(remediations.ended_at, excluded.ended_at),
       outcome = COALESCE(remediations.outcome, excluded.outcome),
       outcome_detail = COALESCE(remediations.outcome_detail, excluded.outcome_detail),
       last_position = excluded.last_position, document = excluded.document`,
  ).run({
    remediation_id: remediationId,
    issue_id: state.issueId,
    attempt: state.attempt,
    source: state.source ?? '',
    status: state.status,
    target_kind: target.kind,
    target_name: target.name,
    target_namespace: target.namespace,
    runbook: plan.runbook,
    approval_required: state.approval.required ? 1 : 0,
    created_at: state.createdAt,
    ended_at: plan.endedAt,
    outcome: plan.outcome,
    outcome_detail: plan.outcomeDetail,
    last_position: Number(plan.lastPosition),
    document: JSON.stringify(state),
  });
};

export const remediationsProjection = {
  name: 'remediations',
  handles: (type: string) =>
    type === 'RemediationPlanCreated' ||
    type.startsWith('Approval') ||
    type.startsWith('Snapshot') ||
    type.startsWith('Action') ||
    type.startsWith('AgenticStep') ||
    type.startsWith('Verification') ||
    type.startsWith('Rollback') ||
    type in OUTCOME,
  init(db: Database.Database) {
    db.exec(`
      CREATE TABLE IF NOT EXISTS remediations (
        remediation_id TEXT PRIMARY KEY, issue_id TEXT NOT NULL, attempt INTEGER NOT NULL, source TEXT NOT NULL,
        status TEXT NOT NULL, target_kind TEXT NOT NULL, target_name TEXT NOT NULL, target_namespace TEXT NOT NULL,
        runbook TEXT, approval_required INTEGER NOT NULL, created_at TEXT NOT NULL, ended_at TEXT, outcome TEXT,
        outcome_detail TEXT, last_position INTEGER NOT NULL, document TEXT NOT NULL);
      CREATE INDEX IF NOT EXISTS remediations_by_issue ON remediations (issue_id, attempt);
      CREATE INDEX IF NOT EXISTS remediations_by_time ON remediations (created_at DESC, remediation_id DESC);
      CREATE TABLE IF NOT EXISTS remediation_actions (
        remediation_id TEXT NOT NULL, action_id TEXT NOT NULL, idx INTEGER NOT NULL, type TEXT NOT NULL,
        params TEXT NOT NULL, description TEXT, status TEXT NOT NULL, detail TEXT, started_at TEXT, finished_at TEXT,
        PRIMARY KEY (remediation_id, action_id));
      CREATE TABLE IF NOT EXISTS remediation_checkpoints (
        position INTEGER PRIMARY KEY, remediation_id TEXT NOT NULL, type TEXT NOT NULL, occurred_at TEXT NOT NULL,
        actor TEXT, summary TEXT NOT NULL);
      CREATE INDEX IF NOT EXISTS remediation_checkpoints_by_plan ON remediation_checkpoints (remediation_id, position);
      CREATE TABLE IF NOT EXISTS approvals (
        request_id TEXT PRIMARY KEY, remediation_id TEXT NOT NULL, issue_id TEXT NOT NULL, state TEXT NOT NULL,
        required_approvals INTEGER NOT NULL, approvers TEXT NOT NULL, refused_by TEXT, reason TEXT,
        requested_at TEXT NOT NULL, expires_at TEXT NOT NULL, decided_at TEXT, last_position INTEGER NOT NULL);
      CREATE INDEX IF NOT EXISTS approvals_by_time ON approvals (requested_at DESC, request_id DESC);
      CREATE TABLE IF NOT EXISTS runbook_usage (
        namespace TEXT NOT NULL, name TEXT NOT NULL, times_used INTEGER NOT NULL, successes INTEGER NOT NULL,
        failures INTEGER NOT NULL, last_used_at TEXT NOT NULL, last_issue_id TEXT NOT NULL,
        PRIMARY KEY (namespace, name));`);
  },
  reset(db: Database.Database) {
    db.exec(`DELETE FROM remediations; DELETE FROM remediation_actions; DELETE FROM remediation_checkpoints;
      DELETE FROM approvals; DELETE FROM runbook_usage;`);
  },
  apply(event: RecordedEvent, db: Database.Database) {
    remediationsProjection.applyBatch([event], db);
  },
  applyBatch(events: readonly RecordedEvent[], db: Database.Database) {
    const folded = new Map<string, FoldedRemediation>();
    const checkpoints: unknown[][] = [];
    for (const event of events) if (isRemediationStream(event.streamId)) foldEvent(event, db, folded, checkpoints);
    for (const [remediationId, plan] of folded) if (plan.dirty) writeRemediation(db, remediationId, plan);
    insertRowsOrIgnore(db, 'remediation_checkpoints', checkpoints);
  },
};
