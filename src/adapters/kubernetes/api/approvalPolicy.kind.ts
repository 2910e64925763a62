import { type Static, Type } from '@sinclair/typebox';
import {
  ActionTypeName,
  Count,
  cel,
  Duration,
  Fraction,
  KeyName,
  MapListOf,
  NamespaceName,
  rules,
  SetOf,
  Severity,
  StringEnum,
  statusBase,
  TargetKind,
  Text,
  weekdays,
} from './common.schema.ts';
import { ageColumn, cairnCategory, customResource, type KindDefinition } from './kindDefinition.ts';

export const approvalModes = ['auto', 'manual', 'quorum'] as const;

const MatchSchema = Type.Object(
  {
    severities: Type.Optional(SetOf(Severity(), 4)),
    actionTypes: Type.Optional(SetOf(ActionTypeName(), 64)),
    namespaces: Type.Optional(SetOf(NamespaceName(), 64)),
    resourceKinds: Type.Optional(SetOf(TargetKind(), 16)),
    minRiskScore: Type.Optional(Type.Integer({ minimum: 0, maximum: 100 })),
  },
  { description: 'Every listed criterion must match; an empty match matches every plan.' },
);

const ChangeWindowSchema = Type.Object(
  {
    timezone: Type.Optional(Text(64, { default: 'UTC' })),
    days: SetOf(StringEnum(weekdays), 7, { minItems: 1 }),
    startHour: Type.Integer({ minimum: 0, maximum: 23 }),
    endHour: Type.Integer({
      minimum: 0,
      maximum: 23,
      description: 'Exclusive; smaller than startHour wraps midnight.',
    }),
  },
  { ...rules(cel('self.startHour != self.endHour', 'a change window cannot be empty')) },
);

const RuleSchema = Type.Object(
  {
    name: KeyName('Unique within the policy; first matching rule wins.'),
    match: Type.Optional(MatchSchema),
    mode: StringEnum(approvalModes, {
      description: 'auto: approved when autoApprove holds; manual: one human; quorum: requiredApprovers humans.',
    }),
    requiredApprovers: Type.Optional(Type.Integer({ minimum: 1, maximum: 10 })),
    timeout: Type.Optional(
      Duration('A request not decided by then expires (and the plan is not run).', { default: '30m' }),
    ),
    changeWindow: Type.Optional(ChangeWindowSchema),
    autoApprove: Type.Optional(
      Type.Object({
        minConfidence: Fraction('Minimum AIInsight confidence.'),
        maxSeverity: Severity('Highest Issue severity approved automatically.'),
        minSuccessRate: Type.Optional(Fraction('Minimum historical success rate of the actions.')),
      }),
    ),
  },
  {
    ...rules(
      cel(
        "self.mode != 'quorum' || (has(self.requiredApprovers) && self.requiredApprovers >= 1)",
        'quorum mode needs requiredApprovers of at least 1',
      ),
      cel("self.mode != 'auto' || has(self.autoApprove)", 'auto mode needs autoApprove conditions'),
    ),
  },
);

export const ApprovalPolicySpecSchema = Type.Object({
  enabled: Type.Optional(Type.Boolean({ default: true })),
  rules: MapListOf(RuleSchema, 'name', 32, { minItems: 1, description: 'Evaluated in order.' }),
});

export const ApprovalPolicyStatusSchema = Type.Object({
  approved: Type.Optional(Count('Requests approved by people.')),
  autoApproved: Type.Optional(Count('Requests approved by autoApprove.')),
  rejected: Type.Optional(Count('Requests rejected.')),
  expired: Type.Optional(Count('Requests that timed out.')),
  ...statusBase(),
});

export const ApprovalPolicyResourceSchema = customResource(
  'ApprovalPolicy',
  ApprovalPolicySpecSchema,
  ApprovalPolicyStatusSchema,
);

export type ApprovalPolicySpec = Static<typeof ApprovalPolicySpecSchema>;
export type ApprovalPolicyStatus = Static<typeof ApprovalPolicyStatusSchema>;
export type ApprovalPolicyResource = Static<typeof ApprovalPolicyResourceSchema>;

export const approvalPolicyKind: KindDefinition = {
  kind: 'ApprovalPolicy',
  plural: 'approvalpolicies',
  singular: 'approvalpolicy',
  shortNames: ['apol'],
  categories: [cairnCategory],
  description: 'Which remediation plans need a human decision (or a quorum), and which may be approved automatically.',
  specAuthor: 'user',
  printerColumns: [
    { name: 'Enabled', type: 'boolean', jsonPath: '.spec.enabled' },
    { name: 'Approved', type: 'integer', jsonPath: '.status.approved' },
    { name: 'Rejected', type: 'integer', jsonPath: '.status.rejected' },
    { name: 'Expired', type: 'integer', jsonPath: '.status.expired' },
    ageColumn,
  ],
  statusSubresource: true,
  spec: ApprovalPolicySpecSchema,
  status: ApprovalPolicyStatusSchema,
  resource: ApprovalPolicyResourceSchema,
};
