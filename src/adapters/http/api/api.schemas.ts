import { type Static, type TSchema, Type } from '@sinclair/typebox';
import { SlaAnalyticsSchema } from './sla.schemas.ts';

/** Response and request shapes of the REST API; the OpenAPI document is generated from these. */

/**
 * `T | null` as a type list rather than `anyOf`: the response serializer writes a type list directly, while for
 * `anyOf` it validates every value against each branch first, which made a page of incidents several times slower.
 */
const Nullable = <T extends TSchema>(schema: T) =>
  Type.Unsafe<Static<T> | null>({ ...schema, type: [schema.type as string, 'null'] });
const Str = Type.String();
const NStr = Nullable(Type.String());

export const Ref = Type.Object({
  kind: Str,
  name: Str,
  namespace: Str,
  cluster: Type.Optional(Str),
});

export const IncidentSchema = Type.Object({
  id: Str,
  name: Type.String({ description: 'The Issue object, in the namespace of the workload.' }),
  state: Type.String({ description: 'Detected, Analyzing, Remediating, Resolved or Escalated.' }),
  severity: Str,
  riskScore: Type.Integer(),
  signal: Str,
  signals: Type.Array(Str),
  workload: Ref,
  source: NStr,
  detectedAt: NStr,
  endedAt: NStr,
  attempts: Type.Integer(),
  maxAttempts: Type.Integer(),
  anomalyCount: Type.Integer(),
  acknowledgedBy: NStr,
  snoozedUntil: NStr,
  remediationId: NStr,
  insightId: NStr,
  resolution: NStr,
  escalationReason: NStr,
  escalationHeld: Nullable(Type.Object({ reason: Str, heldBecause: Str })),
  cascade: Nullable(
    Type.Object(
      {
        role: Type.String({ description: 'root (the most upstream failing workload) or dependant.' }),
        rootIssueId: Str,
        chain: Type.Array(Type.Object({ issueId: Str, name: Str, workload: Ref, detectedAt: Str }), {
          description: 'Every Issue of the cascade, root first.',
        }),
      },
      { description: 'The cross-service cascade this Issue belongs to; null when none.' },
    ),
  ),
  remediationDeferral: Nullable(
    Type.Object(
      { rootIssueId: Str, reason: Str, since: Str },
      { description: 'Present while no plan starts because the root of its cascade is open.' },
    ),
  ),
  recoveredWithRoot: Nullable(
    Type.Object(
      { rootIssueId: Str, detail: Str },
      { description: 'The Issue resolved without a plan once the root of its cascade was fixed.' },
    ),
  ),
  updatedAt: Str,
});

export const TimelineEntrySchema = Type.Object({
  position: Str,
  stream: Str,
  type: Str,
  occurredAt: Str,
  actor: NStr,
  summary: Str,
});

export const AnomalySchema = Type.Object({
  id: Str,
  signal: Str,
  source: Str,
  resource: Ref,
  workload: Ref,
  message: Str,
  observedAt: Str,
  recordedAt: Str,
  issueId: NStr,
  duplicates: Type.Integer(),
  labels: Type.Record(Str, Str),
});

export const InsightSchema = Type.Object({
  id: Str,
  issueId: Str,
  attempt: Type.Integer(),
  status: Str,
  requestedAt: Str,
  finishedAt: NStr,
  analysis: NStr,
  confidence: Nullable(Type.Number()),
  provider: NStr,
  model: NStr,
  recommendations: Type.Array(Str),
  suggestedActions: Type.Array(Type.Object({ name: Str, type: Str, description: Str, params: Type.Record(Str, Str) })),
  failureReason: NStr,
  refusedProposals: Type.Array(
    Type.Object({
      stage: Str,
      action: Nullable(Type.Object({ type: Str, params: Type.Record(Str, Str) })),
      code: Str,
      reason: Str,
      remediationId: NStr,
      step: Nullable(Type.Integer()),
      at: Str,
    }),
  ),
  suspectedCommits: Type.Array(
    Type.Object({
      repository: Str,
      sha: Str,
      author: Type.Optional(Str),
      message: Type.Optional(Str),
      at: Type.Optional(Str),
      confidence: Type.Number(),
      filesChanged: Type.Array(Str),
      reasons: Type.Array(Str),
    }),
    { description: 'Commits the analysis suspected, most likely first; empty when it named none.' },
  ),
  gitOps: Nullable(Type.String({ description: "The workload's Helm / Argo CD / Flux state when it was analysed." })),
});

const RemediationProperties = {
  id: Str,
  issueId: Str,
  attempt: Type.Integer(),
  source: Str,
  status: Str,
  target: Ref,
  runbook: NStr,
  approvalRequired: Type.Boolean(),
  createdAt: Str,
  endedAt: NStr,
  outcome: NStr,
  outcomeDetail: NStr,
  snapshotId: NStr,
  rollback: Nullable(Type.Object({ trigger: Str, reason: Str })),
  // What the plan would take down, assessed when it was made; null when nothing was assessed.
  blastRadius: Nullable(
    Type.Object({
      summary: Str,
      totals: Type.Object({
        pods: Type.Integer(),
        pdbViolations: Type.Integer(),
        servicesEmptied: Type.Integer(),
        quotaOverflows: Type.Integer(),
        dependants: Type.Integer(),
      }),
      actions: Type.Array(
        Type.Object({
          actionId: Str,
          type: Str,
          pods: Type.Integer(),
          replicas: Type.Optional(Type.Object({ before: Type.Integer(), after: Type.Integer() })),
          pdbViolations: Type.Array(
            Type.Object({ namespace: Str, name: Str, disruptionsAllowed: Type.Integer(), podsTaken: Type.Integer() }),
          ),
          servicesEmptied: Type.Array(Type.Object({ namespace: Str, name: Str, readyEndpoints: Type.Integer() })),
          quotaOverflows: Type.Array(
            Type.Object({
              namespace: Str,
              name: Str,
              resource: Str,
              used: Type.Number(),
              added: Type.Number(),
              hard: Type.Number(),
            }),
          ),
        }),
      ),
      dependants: Type.Array(Ref),
    }),
  ),
};
export const RemediationSchema = Type.Object(RemediationProperties);
export const RemediationDetailSchema = Type.Object({
  ...RemediationProperties,
  actions: Type.Array(
    Type.Object({
      actionId: Str,
      index: Type.Integer(),
      type: Str,
      params: Type.Record(Str, Str),
      description: NStr,
      status: Str,
      detail: NStr,
      startedAt: NStr,
      finishedAt: NStr,
    }),
  ),
  checkpoints: Type.Array(Type.Object({ position: Str, type: Str, occurredAt: Str, actor: NStr, summary: Str })),
});

export const ApprovalSchema = Type.Object({
  id: Str,
  remediationId: Str,
  issueId: Str,
  state: Type.String({ description: 'pending, approved, refused or expired.' }),
  requiredApprovals: Type.Integer(),
  approvers: Type.Array(Str),
  refusedBy: NStr,
  reason: NStr,
  requestedAt: Str,
  expiresAt: Str,
  decidedAt: NStr,
});

const FeedbackSchema = Type.Object({
  by: Str,
  at: Str,
  rating: Type.Optional(Type.Integer()),
  rootCauseOverride: Type.Optional(Str),
  comments: Type.Optional(Str),
});

const PostMortemProperties = {
  id: Str,
  issueId: Str,
  name: Str,
  namespace: Str,
  state: Type.String({ description: 'Open, InReview or Closed.' }),
  outcome: Str,
  signal: Str,
  severity: Str,
  workload: Type.Object({ kind: Str, name: Str, namespace: Str }),
  summary: Str,
  rootCause: Str,
  detectedAt: Str,
  endedAt: Str,
  durationSeconds: Type.Number(),
  recurrences: Type.Integer(),
  reviewedBy: NStr,
  reviewedAt: NStr,
  reviewNotes: NStr,
  closedBy: NStr,
  closedAt: NStr,
  feedback: Type.Array(FeedbackSchema),
  cascadeChain: Type.Array(Str, { description: "Workloads of the Issue's cascade, root cause first; empty if none." }),
  cascadePosition: Nullable(Type.Integer({ description: "The Issue's place in its cascade: 1 is the root cause." })),
  suspectedCommit: Nullable(
    Type.Object(
      {
        repository: Str,
        sha: Str,
        author: Type.Optional(Str),
        message: Type.Optional(Str),
        at: Type.Optional(Str),
        confidence: Type.Number(),
        filesChanged: Type.Optional(Type.Array(Str)),
        reasons: Type.Optional(Type.Array(Str)),
      },
      { description: 'The most likely commit of the last analysis that named any.' },
    ),
  ),
  gitOps: Nullable(Type.String({ description: 'Helm / Argo CD / Flux state when the Issue was analysed.' })),
  blastRadius: Type.Array(
    Type.Object({
      attempt: Type.Integer(),
      actions: Type.Array(
        Type.Object({
          type: Str,
          pods: Type.Integer(),
          replicas: Type.Optional(Type.Object({ before: Type.Integer(), after: Type.Integer() })),
          pdbViolations: Type.Optional(
            Type.Array(
              Type.Object({ namespace: Str, name: Str, disruptionsAllowed: Type.Integer(), podsTaken: Type.Integer() }),
            ),
          ),
          servicesEmptied: Type.Optional(
            Type.Array(Type.Object({ namespace: Str, name: Str, readyEndpoints: Type.Integer() })),
          ),
          quotaOverflows: Type.Optional(
            Type.Array(
              Type.Object({
                namespace: Str,
                name: Str,
                resource: Str,
                used: Type.Number(),
                added: Type.Number(),
                hard: Type.Number(),
              }),
            ),
          ),
        }),
      ),
      dependants: Type.Optional(Type.Array(Str)),
    }),
    { description: 'What each remediation plan was assessed to take before it ran.' },
  ),
};
export const PostMortemSchema = Type.Object(PostMortemProperties);
export const PostMortemDetailSchema = Type.Object({
  ...PostMortemProperties,
  document: Type.Object(
    {},
    { additionalProperties: true, description: 'The PostMortem status: timeline, actions, lessons, prevention.' },
  ),
});

export const AnalyticsSchema = Type.Object({
  range: Type.Object({ since: NStr, until: NStr }),
  incidents: Type.Object({
    total: Type.Integer(),
    open: Type.Integer(),
    resolved: Type.Integer(),
    escalated: Type.Integer(),
  }),
  bySeverity: Type.Record(Str, Type.Integer()),
  byState: Type.Record(Str, Type.Integer()),
  bySignal: Type.Record(Str, Type.Integer()),
  mttdSeconds: Nullable(Type.Number()),
  mttrSeconds: Nullable(Type.Number()),
  topResources: Type.Array(Type.Object({ kind: Str, name: Str, namespace: Str, incidents: Type.Integer() })),
  remediations: Type.Object({
    total: Type.Integer(),
    completed: Type.Integer(),
    rolledBack: Type.Integer(),
    failed: Type.Integer(),
    inProgress: Type.Integer(),
    successRate: Nullable(Type.Number()),
  }),
  trend: Type.Array(Type.Object({ day: Str, detected: Type.Integer(), resolved: Type.Integer() })),
  sla: Type.Optional(SlaAnalyticsSchema),
});

/** A Kubernetes object as the cluster holds it. */
export const CustomObjectSchema = Type.Object(
  {
    apiVersion: Type.Optional(Str),
    kind: Type.Optional(Str),
    metadata: Type.Object({}, { additionalProperties: true }),
    spec: Type.Optional(Type.Object({}, { additionalProperties: true })),
    status: Type.Optional(Type.Object({}, { additionalProperties: true })),
  },
  { additionalProperties: true },
);

export const RunbookSchema = Type.Object({
  namespace: Str,
  name: Str,
  autoGenerated: Type.Boolean(),
  resourceVersion: NStr,
  spec: Type.Object({}, { additionalProperties: true }),
  usage: Type.Object({
    timesUsed: Type.Integer(),
    successes: Type.Integer(),
    failures: Type.Integer(),
    lastUsedAt: NStr,
  }),
});

export const ClusterSchema = Type.Object({
  name: Str,
  source: Type.String({ description: 'local (the cluster Cairn runs against) or registration.' }),
  server: NStr,
  reachable: Nullable(Type.Boolean()),
  spec: Type.Optional(Type.Object({}, { additionalProperties: true })),
  status: Type.Optional(Type.Object({}, { additionalProperties: true })),
});

export const AuditRecordSchema = Type.Object({
  seq: Str,
  position: Str,
  recordedAt: Str,
  occurredAt: Str,
  stream: Str,
  eventId: Str,
  type: Str,
  schemaVersion: Type.Integer(),
  actor: Str,
  issueId: Str,
  prevHash: Str,
  hash: Str,
  data: Type.Unknown(),
});

export const CommandResultSchema = Type.Object({
  id: Str,
  events: Type.Array(Str, { description: 'Types of the events recorded; empty when nothing changed.' }),
});

export const pageOf = <T extends TSchema>(item: T) =>
  Type.Object({
    items: Type.Array(item),
    nextCursor: Nullable(Type.String({ description: 'Pass as cursor for the next page.' })),
  });

export const PageQuery = {
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 500, default: 50 })),
  cursor: Type.Optional(Type.String({ maxLength: 1024 })),
};

export const IdParams = Type.Object({ id: Type.String({ minLength: 1, maxLength: 253 }) });
export const NamespacedParams = Type.Object({
  namespace: Type.String({ pattern: '^[a-z0-9]([-a-z0-9]*[a-z0-9])?$', maxLength: 63 }),
  name: Type.String({ pattern: '^[a-z0-9]([-.a-z0-9]*[a-z0-9])?$', maxLength: 253 }),
});

export const Note = Type.Optional(Type.String({ maxLength: 2048 }));
