import { type Static, Type } from '@sinclair/typebox';
import {
  ActionTypeName,
  Count,
  Fraction,
  LocalRef,
  ObjectName,
  patterns,
  ResourceRef,
  Severity,
  Signal,
  StringEnum,
  StringMap,
  statusBase,
  Text,
  Timestamp,
} from './common.schema.ts';
import { ageColumn, cairnCategory, customResource, type KindDefinition } from './kindDefinition.ts';

export const PostMortemSpecSchema = Type.Object({
  issueRef: LocalRef('The Issue this reviews; it owns this object.'),
  resource: ResourceRef(),
  severity: Severity(),
  signal: Signal(),
});

const TimelineEntrySchema = Type.Object({
  at: Timestamp(),
  type: Type.String({
    maxLength: 128,
    pattern: patterns.pascalCase,
    description: 'The event type, e.g. IssueDetected.',
  }),
  detail: Text(4096),
});

const ExecutedActionSchema = Type.Object({
  type: ActionTypeName(),
  params: Type.Optional(StringMap(32, 4096)),
  result: StringEnum(['Succeeded', 'Failed', 'RolledBack'] as const),
  detail: Type.Optional(Text(4096)),
  at: Timestamp(),
});

const Named = { namespace: Text(63), name: Text(253) };

const ActionBlastRadiusSchema = Type.Object({
  type: ActionTypeName(),
  pods: Count('Pods the action deletes, evicts, restarts or scales away.'),
  replicas: Type.Optional(Type.Object({ before: Count('Replicas before.'), after: Count('Replicas after.') })),
  pdbViolations: Type.Optional(
    Type.Array(
      Type.Object({
        ...Named,
        disruptionsAllowed: Count('Disruptions the PodDisruptionBudget allowed.'),
        podsTaken: Count('Pods the action takes from it.'),
      }),
      { maxItems: 32 },
    ),
  ),
  servicesEmptied: Type.Optional(
    Type.Array(Type.Object({ ...Named, readyEndpoints: Count('Ready endpoints before the action.') }), {
      maxItems: 32,
    }),
  ),
  quotaOverflows: Type.Optional(
    Type.Array(
      Type.Object({
        ...Named,
        resource: Text(253),
        used: Type.Number(),
        added: Type.Number(),
        hard: Type.Number(),
      }),
      { maxItems: 32 },
    ),
  ),
});

const PlanBlastRadiusSchema = Type.Object({
  attempt: Type.Integer({ minimum: 1, description: 'The remediation attempt whose plan this is.' }),
  actions: Type.Array(ActionBlastRadiusSchema, { maxItems: 50 }),
  dependants: Type.Optional(
    Type.Array(Text(253), { maxItems: 64, description: 'Workloads that depend on the target.' }),
  ),
});

export const PostMortemStatusSchema = Type.Object({
  state: StringEnum(['Open', 'InReview', 'Closed'] as const),
  summary: Type.Optional(Text(16384)),
  rootCause: Type.Optional(Text(16384)),
  impact: Type.Optional(Text(8192)),
  timeline: Type.Optional(Type.Array(TimelineEntrySchema, { maxItems: 256 })),
  actionsExecuted: Type.Optional(Type.Array(ExecutedActionSchema, { maxItems: 64 })),
  lessonsLearned: Type.Optional(Type.Array(Text(2048), { maxItems: 32 })),
  preventionActions: Type.Optional(Type.Array(Text(2048), { maxItems: 32 })),
  detectedAt: Type.Optional(Timestamp()),
  resolvedAt: Type.Optional(Timestamp()),
  duration: Type.Optional(Text(32, { description: 'Detection to resolution, e.g. 12m34s.' })),
  recurrence: Type.Optional(
    Type.Object({
      last30Days: Count('Incidents with the same signal on the same resource in the last 30 days.'),
      related: Type.Optional(Type.Array(ObjectName(), { maxItems: 32, description: 'Their PostMortems.' })),
    }),
  ),
  cascadeChain: Type.Optional(
    Type.Array(Text(253), {
      maxItems: 32,
      description:
        'Workloads of the cascade this Issue belonged to, in failure order, root cause first (the first 32).',
    }),
  ),
  cascadePosition: Type.Optional(
    Type.Integer({
      minimum: 1,
      maximum: 100,
      description: "This Issue's place in the cascade: 1 is the root cause, 2 the first workload it took down...",
    }),
  ),
  suspectedCommit: Type.Optional(
    Type.Object(
      {
        repository: Text(320, { description: 'The SourceRepository, namespace/name.' }),
        sha: Type.String({ pattern: patterns.gitSha, maxLength: 64 }),
        author: Type.Optional(Text(253)),
        message: Type.Optional(Text(4096)),
        at: Type.Optional(Timestamp()),
        confidence: Fraction('How likely this commit caused the incident.'),
        filesChanged: Type.Optional(Type.Array(Text(1024), { maxItems: 64 })),
        reasons: Type.Optional(Type.Array(Text(2048), { maxItems: 8, description: 'Why it was suspected.' })),
      },
      { description: 'The most likely commit of the last analysis that named any.' },
    ),
  ),
  gitOps: Type.Optional(Text(8192, { description: 'Helm / Argo CD / Flux state at the time of the incident.' })),
  blastRadius: Type.Optional(
    Type.Array(PlanBlastRadiusSchema, {
      maxItems: 16,
      description: 'What each remediation plan was assessed to take down before it ran (the last 16 plans).',
    }),
  ),
  generatedRunbookRef: Type.Optional(LocalRef('The Runbook generated from the successful steps, if any.')),
  feedback: Type.Optional(
    Type.Object(
      {
        rating: Type.Optional(Type.Integer({ minimum: 1, maximum: 5, description: 'How good the remediation was.' })),
        rootCauseOverride: Type.Optional(Text(16384)),
        comments: Type.Optional(Text(8192)),
        by: Text(253),
        at: Timestamp(),
      },
      { description: 'The latest feedback recorded, as it was given.' },
    ),
  ),
  rootCauseOverride: Type.Optional(
    Type.Object(
      { text: Text(16384), by: Text(253), at: Timestamp() },
      { description: 'The root cause as a person corrected it: the latest feedback that gave one.' },
    ),
  ),
  reviewedAt: Type.Optional(Timestamp()),
  reviewedBy: Type.Optional(Text(253)),
  closedAt: Type.Optional(Timestamp()),
  closedBy: Type.Optional(Text(253)),
  ...statusBase(),
});

export const PostMortemResourceSchema = customResource('PostMortem', PostMortemSpecSchema, PostMortemStatusSchema);

export type PostMortemSpec = Static<typeof PostMortemSpecSchema>;
export type PostMortemStatus = Static<typeof PostMortemStatusSchema>;
export type PostMortemResource = Static<typeof PostMortemResourceSchema>;

export const postMortemKind: KindDefinition = {
  kind: 'PostMortem',
  plural: 'postmortems',
  singular: 'postmortem',
  shortNames: ['pm'],
  categories: [cairnCategory],
  description: 'Timeline, root cause, impact and lessons of a finished Issue, replayed from its events (projection).',
  specAuthor: 'cairn',
  ownedBy: 'Issue',
  printerColumns: [
    { name: 'Issue', type: 'string', jsonPath: '.spec.issueRef.name' },
    { name: 'Severity', type: 'string', jsonPath: '.spec.severity' },
    { name: 'State', type: 'string', jsonPath: '.status.state' },
    { name: 'Duration', type: 'string', jsonPath: '.status.duration' },
    ageColumn,
  ],
  statusSubresource: true,
  spec: PostMortemSpecSchema,
  status: PostMortemStatusSchema,
  resource: PostMortemResourceSchema,
};
