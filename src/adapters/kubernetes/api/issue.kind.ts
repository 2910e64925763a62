import { type Static, Type } from '@sinclair/typebox';
import {
  ActionTypeName,
  AnomalySource,
  Count,
  IssueState,
  LocalRef,
  Nullable,
  ObjectName,
  patterns,
  ResourceRef,
  SetOf,
  Severity,
  Signal,
  StringEnum,
  statusBase,
  Text,
  Timestamp,
} from './common.schema.ts';
import { ageColumn, cairnCategory, customResource, type KindDefinition } from './kindDefinition.ts';

// Severity and risk live in spec because they describe the incident (they change as anomalies join) and because the
// API server must be able to reject a malformed Issue on create, when a status would be dropped unvalidated.
export const IssueSpecSchema = Type.Object({
  resource: ResourceRef('The workload the incident is about (Pods are resolved to their owner).'),
  signal: Signal('The signal that opened the Issue.'),
  signals: Type.Optional(SetOf(Signal(), 32, { description: 'Every signal correlated into the Issue so far.' })),
  source: AnomalySource('The detector of the first anomaly.'),
  severity: Severity('Derived from riskScore: critical ≥ 80, high ≥ 60, medium ≥ 40, low below.'),
  riskScore: Type.Integer({ minimum: 0, maximum: 100, description: 'Sum of the signal weights, capped at 100.' }),
  description: Type.Optional(Text(4096)),
  correlationKey: Type.Optional(
    Type.String({ pattern: patterns.sha256, maxLength: 64, description: 'Hash of the correlated resource.' }),
  ),
  anomalies: Type.Optional(
    SetOf(ObjectName(), 256, { description: 'Names of the Anomalies correlated into the Issue.' }),
  ),
  cascadeRootRef: Type.Optional(LocalRef('The Issue whose cause this one shares, root-cause service first.')),
  cluster: Type.Optional(Text(253, { description: 'The ClusterRegistration the incident is in.' })),
});

export const IssueStatusSchema = Type.Object({
  state: IssueState(),
  acknowledged: Type.Optional(Type.Boolean()),
  acknowledgedBy: Type.Optional(Text(253)),
  snoozedUntil: Type.Optional(Nullable(Timestamp(), { description: 'Notifications are held until then.' })),
  attempts: Type.Optional(Count('Remediation attempts so far.')),
  maxAttempts: Type.Optional(Type.Integer({ minimum: 1, maximum: 20, description: 'Escalate after this many.' })),
  failedActions: Type.Optional(
    SetOf(ActionTypeName(), 64, { description: 'Actions that failed; the next analysis must not repeat them.' }),
  ),
  detectedAt: Type.Optional(Timestamp()),
  resolvedAt: Type.Optional(Timestamp()),
  escalatedAt: Type.Optional(Timestamp()),
  resolution: Type.Optional(Text(4096, { description: 'How it ended.' })),
  aiInsightRef: Type.Optional(LocalRef('The latest analysis.')),
  remediationPlanRef: Type.Optional(LocalRef('The latest remediation attempt.')),
  postMortemRef: Type.Optional(LocalRef('Written once the Issue is Resolved or Escalated.')),
  escalation: Type.Optional(
    Type.Object(
      {
        policy: Text(317, { description: 'The EscalationPolicy that took the Issue, as namespace/name.' }),
        level: Type.Integer({ minimum: 1, description: 'The level paged last (1 is the first).' }),
        levelName: Text(63),
        state: StringEnum(['active', 'snoozed', 'exhausted', 'acknowledged', 'resolved'] as const),
        nextDeadline: Type.Optional(Timestamp('When the next level (or the repeat) is due.')),
      },
      { description: 'Who is being paged about it, through an EscalationPolicy.' },
    ),
  ),
  cascade: Type.Optional(
    Type.Object(
      {
        role: StringEnum(['root', 'dependant'] as const, {
          description: 'root: the most upstream failing workload; dependant: fails because of the root.',
        }),
        root: LocalRef('The root Issue of the cascade.'),
        chain: Type.Array(Type.Object({ name: ObjectName(), resource: ResourceRef(), detectedAt: Timestamp() }), {
          maxItems: 100,
          description: 'Every Issue of the cascade, root first, then by distance from it.',
        }),
      },
      { description: 'The cross-service cascade this Issue belongs to (dependency graph, time window).' },
    ),
  ),
  remediationDeferred: Type.Optional(
    Type.Object(
      {
        root: LocalRef('The root Issue whose remediation goes first.'),
        since: Timestamp(),
        reason: Text(2048),
      },
      { description: 'Present while no plan starts for this Issue because the root of its cascade is open.' },
    ),
  ),
  recoveredWithRoot: Type.Optional(
    Type.Object(
      {
        root: LocalRef('The root Issue whose fix this Issue recovered with.'),
        detail: Text(2048, { description: 'What the check of its workload saw.' }),
      },
      { description: 'The Issue resolved, without a plan of its own, once the root of its cascade was fixed.' },
    ),
  ),
  ...statusBase(),
});

export const IssueResourceSchema = customResource('Issue', IssueSpecSchema, IssueStatusSchema);

export type IssueSpec = Static<typeof IssueSpecSchema>;
export type IssueStatus = Static<typeof IssueStatusSchema>;
export type IssueResource = Static<typeof IssueResourceSchema>;

export const issueKind: KindDefinition = {
  kind: 'Issue',
  plural: 'issues',
  singular: 'issue',
  shortNames: ['iss'],
  categories: [cairnCategory],
  description:
    'An incident: correlated anomalies on one workload, with its lifecycle (projection of the Issue stream).',
  specAuthor: 'cairn',
  printerColumns: [
    { name: 'Severity', type: 'string', jsonPath: '.spec.severity' },
    { name: 'State', type: 'string', jsonPath: '.status.state' },
    { name: 'Risk', type: 'integer', jsonPath: '.spec.riskScore' },
    { name: 'Resource', type: 'string', jsonPath: '.spec.resource.name' },
    { name: 'Signal', type: 'string', jsonPath: '.spec.signal', priority: 1 },
    { name: 'Attempts', type: 'integer', jsonPath: '.status.attempts', priority: 1 },
    ageColumn,
  ],
  statusSubresource: true,
  spec: IssueSpecSchema,
  status: IssueStatusSchema,
  resource: IssueResourceSchema,
};
