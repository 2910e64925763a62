import { type Static, Type } from '@sinclair/typebox';
import {
  ActionTypeName,
  Count,
  Fraction,
  KeyName,
  LocalRef,
  MapListOf,
  NamespaceName,
  Severity,
  StringEnum,
  StringMap,
  statusBase,
  Text,
  Timestamp,
} from './common.schema.ts';
import { ageColumn, cairnCategory, customResource, type KindDefinition } from './kindDefinition.ts';

export const ApprovalRequestSpecSchema = Type.Object({
  issueRef: LocalRef('The Issue being remediated.'),
  remediationPlanRef: LocalRef('The plan waiting for the decision.'),
  policyRef: LocalRef('The ApprovalPolicy that asked for it.'),
  rule: KeyName('The rule of that policy that matched.'),
  mode: StringEnum(['manual', 'quorum'] as const),
  requiredApprovers: Type.Integer({ minimum: 1, maximum: 10 }),
  actions: Type.Array(Type.Object({ type: ActionTypeName(), params: Type.Optional(StringMap(32, 4096)) }), {
    minItems: 1,
    maxItems: 32,
    description: 'What will run if approved.',
  }),
  requestedAt: Timestamp(),
  expiresAt: Timestamp(),
  evidence: Type.Optional(
    Type.Object({
      confidence: Type.Optional(Fraction('AIInsight confidence.')),
      analysis: Type.Optional(Text(8192)),
      successRate: Type.Optional(Fraction('Historical success rate of these actions.')),
      previousAttempts: Type.Optional(Count('Attempts already made on the Issue.')),
    }),
  ),
  blastRadius: Type.Optional(
    Type.Object({
      pods: Count('Pods affected.'),
      services: Count('Services routing to them.'),
      namespaces: Type.Optional(Type.Array(NamespaceName(), { maxItems: 32 })),
      risk: Severity('Assessed risk of running the plan.'),
      description: Type.Optional(Text(4096)),
    }),
  ),
});

const DecisionSchema = Type.Object({
  approver: Text(253, { minLength: 1, description: 'The authenticated API key (one decision per approver).' }),
  decision: StringEnum(['approve', 'reject'] as const),
  reason: Type.Optional(Text(2048)),
  at: Timestamp(),
});

export const ApprovalRequestStatusSchema = Type.Object({
  state: StringEnum(['Pending', 'Approved', 'Rejected', 'Expired'] as const),
  approvals: Type.Optional(Count('Distinct approvers so far.')),
  decisions: Type.Optional(MapListOf(DecisionSchema, 'approver', 20)),
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
    { name: 'Plan', type: 'string', jsonPath: '.spec.remediationPlanRef.name' },
    { name: 'State', type: 'string', jsonPath: '.status.state' },
    { name: 'Approvals', type: 'integer', jsonPath: '.status.approvals' },
    { name: 'Required', type: 'integer', jsonPath: '.spec.requiredApprovers' },
    { name: 'Expires', type: 'date', jsonPath: '.spec.expiresAt', priority: 1 },
    ageColumn,
  ],
  statusSubresource: true,
  spec: ApprovalRequestSpecSchema,
  status: ApprovalRequestStatusSchema,
  resource: ApprovalRequestResourceSchema,
};
