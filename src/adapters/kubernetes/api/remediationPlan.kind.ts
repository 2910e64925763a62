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
    ageColumn,
  ],
  statusSubresource: true,
  spec: RemediationPlanSpecSchema,
  status: RemediationPlanStatusSchema,
  resource: RemediationPlanResourceSchema,
};
