import { type Static, Type } from '@sinclair/typebox';
import {
  ActionTypeName,
  cel,
  Duration,
  FreeForm,
  LocalRef,
  RefusedProposalSchema,
  ResourceRef,
  rules,
  StringEnum,
  StringMap,
  statusBase,
  Text,
  Timestamp,
} from './common.schema.ts';
import { ageColumn, cairnCategory, customResource, type KindDefinition } from './kindDefinition.ts';

const PlannedActionSchema = Type.Object({
  type: ActionTypeName(),
  params: Type.Optional(StringMap(32, 4096, 'Action parameters, e.g. replicas, toRevision, memory_limit.')),
  target: Type.Optional(ResourceRef('Defaults to the Issue resource.')),
});

export const RemediationPlanSpecSchema = Type.Object(
  {
    issueRef: LocalRef('The Issue remediated; it owns this object.'),
    attempt: Type.Integer({ minimum: 1, maximum: 20 }),
    mode: StringEnum(['runbook', 'agentic'] as const, {
      description: 'runbook: run spec.actions in order; agentic: the AI picks each step.',
    }),
    runbookRef: Type.Optional(LocalRef('The Runbook the actions come from (manual or generated).')),
    strategy: Type.Optional(Text(2048, { description: 'The approach, in words.' })),
    actions: Type.Optional(Type.Array(PlannedActionSchema, { maxItems: 32 })),
    agentic: Type.Optional(
      Type.Object({
        maxSteps: Type.Optional(Type.Integer({ minimum: 1, maximum: 50, default: 10 })),
        timeout: Type.Optional(Duration('Wall-clock budget of the loop.', { default: '10m' })),
      }),
    ),
    verificationTimeout: Type.Optional(Duration('How long the workload has to become healthy after the actions.')),
  },
  {
    ...rules(
      cel(
        "self.mode == 'agentic' || (has(self.actions) && size(self.actions) > 0)",
        'a runbook plan needs at least one action',
      ),
    ),
  },
);

const actionStates = ['Pending', 'Started', 'Succeeded', 'Failed', 'Skipped'] as const;

const ActionCheckpointSchema = Type.Object({
  index: Type.Integer({ minimum: 0, maximum: 63 }),
  type: ActionTypeName(),
  state: StringEnum(actionStates),
  startedAt: Type.Optional(Timestamp()),
  finishedAt: Type.Optional(Timestamp()),
  message: Type.Optional(Text(4096)),
});

const AgenticStepSchema = Type.Object({
  step: Type.Integer({ minimum: 1, maximum: 50 }),
  reasoning: Text(8192),
  action: Type.Optional(PlannedActionSchema),
  observation: Type.Optional(Text(8192)),
  at: Timestamp(),
});

const Count = (description?: string) =>
  Type.Integer({ minimum: 0, maximum: 1_000_000, ...(description ? { description } : {}) });
const Findings = (description: string) => Type.Optional(Type.Array(Text(1024), { maxItems: 32, description }));

const BlastRadiusSchema = Type.Object(
  {
    summary: Text(1024, { description: 'The totals in one sentence.' }),
    pods: Count('Pods the actions delete, evict, restart or scale away, summed over the actions.'),
    pdbViolations: Count('PodDisruptionBudgets an action would take below their minimum.'),
    servicesEmptied: Count('Services an action would leave with no ready endpoint.'),
    quotaOverflows: Count('ResourceQuota resources an action would exceed.'),
    dependants: Count('Workloads that depend on the target (the dependency graph).'),
    actions: Type.Array(
      Type.Object({
        actionId: Text(253),
        type: ActionTypeName(),
        pods: Count(),
        replicas: Type.Optional(Type.Object({ before: Count(), after: Count() })),
        pdbViolations: Findings('namespace/name: healthy pods taken, disruptions allowed.'),
        servicesEmptied: Findings('namespace/name: the ready endpoints it loses.'),
        quotaOverflows: Findings('namespace/name resource: used + added > hard.'),
      }),
      { maxItems: 50, description: 'Each action that takes pods down or adds to a quota; other actions touch no pod.' },
    ),
    dependantRefs: Type.Optional(Type.Array(ResourceRef(), { maxItems: 64 })),
  },
  {
    description:
      'What the plan would take down, assessed from the cluster when it was made (absent when the disruption guard is off).',
  },
);

export const remediationStates = [
  'Pending',
  'AwaitingApproval',
  'Snapshotting',
  'Executing',
  'Verifying',
  'Completed',
  'RollingBack',
  'RolledBack',
  'Failed',
] as const;

export const RemediationPlanStatusSchema = Type.Object({
  state: StringEnum(remediationStates),
  approvalRequestRef: Type.Optional(LocalRef('Set while a human decision is pending or was taken.')),
  snapshot: Type.Optional(
    Type.Object({
      takenAt: Timestamp(),
      resource: ResourceRef(),
      object: FreeForm(
        'The resources as they were before the first action, by kind/namespace/name; what a rollback restores. ' +
          'Secret-bearing values (env values, ConfigMap and Secret data, credential-looking args) show only as ' +
          '"[sealed hmac-sha256:<hash>]".',
      ),
    }),
  ),
  actions: Type.Optional(
    Type.Array(ActionCheckpointSchema, {
      maxItems: 64,
      description: 'One checkpoint per action: a restart never repeats a Succeeded one.',
    }),
  ),
  agenticSteps: Type.Optional(Type.Array(AgenticStepSchema, { maxItems: 50 })),
  blastRadius: Type.Optional(BlastRadiusSchema),
  refusals: Type.Optional(
    Type.Array(RefusedProposalSchema, {
      maxItems: 32,
      description: "Actions the executor's policy or the approvers refused in this plan, latest last.",
    }),
  ),
  rollback: Type.Optional(
    Type.Object({
      state: StringEnum(['InProgress', 'Succeeded', 'Failed'] as const),
      reason: Type.Optional(Text(4096)),
      at: Type.Optional(Timestamp()),
    }),
  ),
  startedAt: Type.Optional(Timestamp()),
  completedAt: Type.Optional(Timestamp()),
  result: Type.Optional(Text(4096)),
  ...statusBase(),
});

export const RemediationPlanResourceSchema = customResource(
  'RemediationPlan',
  RemediationPlanSpecSchema,
  RemediationPlanStatusSchema,
);

export type RemediationPlanSpec = Static<typeof RemediationPlanSpecSchema>;
export type RemediationPlanStatus = Static<typeof RemediationPlanStatusSchema>;
export type RemediationPlanResource = Static<typeof RemediationPlanResourceSchema>;

export const remediationPlanKind: KindDefinition = {
  kind: 'RemediationPlan',
  plural: 'remediationplans',
  singular: 'remediationplan',
  shortNames: ['rplan'],
  categories: [cairnCategory],
  description: 'One remediation attempt: actions, checkpoints, snapshot and rollback (projection).',
  specAuthor: 'cairn',
  ownedBy: 'Issue',
  printerColumns: [
    { name: 'Issue', type: 'string', jsonPath: '.spec.issueRef.name' },
    { name: 'Attempt', type: 'integer', jsonPath: '.spec.attempt' },
    { name: 'Mode', type: 'string', jsonPath: '.spec.mode' },
    { name: 'State', type: 'string', jsonPath: '.status.state' },
    { name: 'Runbook', type: 'string', jsonPath: '.spec.runbookRef.name', priority: 1 },
    { name: 'Pods', type: 'integer', jsonPath: '.status.blastRadius.pods', priority: 1 },
    ageColumn,
  ],
  statusSubresource: true,
  spec: RemediationPlanSpecSchema,
  status: RemediationPlanStatusSchema,
  resource: RemediationPlanResourceSchema,
};
