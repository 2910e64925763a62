import { type Static, Type } from '@sinclair/typebox';
import {
  ActionTypeName,
  Count,
  LocalRef,
  ResourceRef,
  StringEnum,
  StringMap,
  statusBase,
  Text,
  Timestamp,
} from './common.schema.ts';
import { ageColumn, cairnCategory, customResource, type KindDefinition } from './kindDefinition.ts';

export const approvalRequestStates = ['Pending', 'Approved', 'Rejected', 'Expired', 'Cancelled'] as const;

export const ApprovalRequestSpecSchema = Type.Object({
  requestId: Text(253, { minLength: 1, description: 'What REST and `cairn approvals` call it.' }),
  issueRef: LocalRef('The Issue being remediated (the owner of this object).'),
  remediationPlanRef: LocalRef('The plan waiting for the decision.'),
  policyRef: Type.Optional(
    Type.Object(
      { name: Text(253, { minLength: 1 }), namespace: Text(63, { minLength: 1 }) },
      { description: 'The ApprovalPolicy whose rule asked for it, when one did.' },
    ),
  ),
  reason: Type.Optional(Text(2048, { description: 'The rule, or why approval is needed without one.' })),
  mode: StringEnum(['single', 'quorum'] as const),
  requiredApprovers: Type.Integer({ minimum: 1, maximum: 10 }),
  groups: Type.Optional(
    Type.Array(Text(63, { minLength: 1 }), { maxItems: 16, description: 'Only approvers in one of these count.' }),
  ),
  requestedBy: Type.Object(
    {
      source: StringEnum(['manual-runbook', 'ai-runbook', 'agentic'] as const),
      runbook: Type.Optional(Text(253, { description: 'The Runbook the plan comes from.' })),
      actor: Text(253, { description: 'The identity that asked; it can never approve its own request.' }),
    },
    { description: 'Who asked: a hand-written runbook, the analysis (recorded as a runbook), or the agentic loop.' },
  ),
  actions: Type.Array(Type.Object({ type: ActionTypeName(), params: Type.Optional(StringMap(32, 4096)) }), {
    maxItems: 50,
    description: 'What will run if approved; empty for an agentic plan, whose steps are decided as it goes.',
  }),
  blastRadius: Type.Object(
    {
      target: ResourceRef('The workload the plan acts on.'),
      destructiveActions: Type.Array(ActionTypeName(), {
        maxItems: 50,
        description: 'Actions that delete pods or overwrite values.',
      }),
      description: Text(4096),
    },
    { description: 'What the plan may touch.' },
  ),
  requestedAt: Timestamp(),
  expiresAt: Timestamp('Not decided by then, the request is cancelled and the Issue escalates.'),
  changeWindowOpensAt: Type.Optional(Timestamp('Once approved, the plan still waits for its change window.')),
});

const DecisionSchema = Type.Object({
  approver: Text(253, { minLength: 1, description: 'The authenticated API key.' }),
  decision: StringEnum(['approve', 'reject'] as const),
  reason: Type.Optional(Text(2048)),
  at: Timestamp(),
});

export const ApprovalRequestStatusSchema = Type.Object({
  state: StringEnum(approvalRequestStates),
  approvals: Count('Distinct approvers so far.'),
  decisions: Type.Array(DecisionSchema, { maxItems: 32, description: 'In the order they were made.' }),
  decidedAt: Type.Optional(Timestamp()),
  ...statusBase(),
});

export const ApprovalRequestResourceSchema = customResource(
  'ApprovalRequest',
  ApprovalRequestSpecSchema,
  ApprovalRequestStatusSchema,
);

export type ApprovalRequestSpec = Static<typeof ApprovalRequestSpecSchema>;
export type ApprovalRequestStatus = Static<typeof ApprovalRequestStatusSchema>;
export type ApprovalRequestResource = Static<typeof ApprovalRequestResourceSchema>;

export const approvalRequestKind: KindDefinition = {
  kind: 'ApprovalRequest',
  plural: 'approvalrequests',
  singular: 'approvalrequest',
  shortNames: ['areq'],
  categories: [cairnCategory],
  description: 'A remediation plan waiting for people, and their decisions (projection; decide through REST or CLI).',
  specAuthor: 'cairn',
  printerColumns: [
    { name: 'Issue', type: 'string', jsonPath: '.spec.issueRef.name' },
    { name: 'State', type: 'string', jsonPath: '.status.state' },
    { name: 'Approvals', type: 'integer', jsonPath: '.status.approvals' },
    { name: 'Required', type: 'integer', jsonPath: '.spec.requiredApprovers' },
    { name: 'Expires', type: 'date', jsonPath: '.spec.expiresAt' },
    { name: 'Plan', type: 'string', jsonPath: '.spec.remediationPlanRef.name', priority: 1 },
    ageColumn,
  ],
  statusSubresource: true,
  spec: ApprovalRequestSpecSchema,
  status: ApprovalRequestStatusSchema,
  resource: ApprovalRequestResourceSchema,
};
