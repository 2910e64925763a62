import { type Static, Type } from '@sinclair/typebox';
import {
  Count,
  Duration,
  KeyName,
  MapListOf,
  NamespaceName,
  SetOf,
  Severity,
  StringEnum,
  StringMap,
  statusBase,
  Text,
  Timestamp,
  weekdays,
} from './common.schema.ts';
import { ageColumn, cairnCategory, customResource, type KindDefinition } from './kindDefinition.ts';

export const approvalModes = ['auto', 'single', 'quorum', 'deny'] as const;
export const outsideWindowModes = ['wait', 'requireApproval'] as const;

const LabelSelectorSchema = Type.Object(
  {
    matchLabels: Type.Optional(StringMap(32, 63)),
    matchExpressions: Type.Optional(
      Type.Array(
        Type.Object({
          key: Text(317, { minLength: 1 }),
          operator: StringEnum(['In', 'NotIn', 'Exists', 'DoesNotExist'] as const),
          values: Type.Optional(Type.Array(Text(63), { maxItems: 32 })),
        }),
        { maxItems: 16 },
      ),
    ),
  },
  { description: "Over the labels of the Issue's workload." },
);

const MatchSchema = Type.Object(
  {
    namespaces: Type.Optional(SetOf(NamespaceName(), 64)),
    labelSelector: Type.Optional(LabelSelectorSchema),
    severities: Type.Optional(SetOf(Severity(), 4)),
    minRiskScore: Type.Optional(Type.Integer({ minimum: 0, maximum: 100 })),
    // Checked by Cairn, not by an enum here, so an unknown type is named in Ready instead of refused unexplained.
    actionTypes: Type.Optional(
      SetOf(Text(64, { minLength: 1 }), 64, {
        description: 'Matches a plan holding any of these action types (an agentic plan always matches).',
      }),
    ),
    destructive: Type.Optional(
      Type.Boolean({ description: 'Matches a plan that holds (true) or holds no (false) destructive action.' }),
    ),
  },
  { description: 'Every listed criterion must match; an empty match matches every plan.' },
);

const RuleSchema = Type.Object({
  name: KeyName('Unique within the policy.'),
  match: Type.Optional(MatchSchema),
  mode: StringEnum(approvalModes, {
    description:
      'auto: runs without people; single: one person approves; quorum: requiredApprovers distinct people; deny: never runs.',
  }),
  requiredApprovers: Type.Optional(
    Type.Integer({ minimum: 0, maximum: 10, description: 'quorum: how many distinct approvers (2 to 10).' }),
  ),
  groups: Type.Optional(
    SetOf(Text(63, { minLength: 1 }), 16, {
      description: 'single/quorum: only approvers whose API key is in one of these groups count.',
    }),
  ),
  expiry: Type.Optional(
    Duration('A request nobody decided by then is cancelled and the Issue escalates.', { default: '30m' }),
  ),
});

const WeeklyWindowSchema = Type.Object({
  days: SetOf(StringEnum(weekdays), 7, { minItems: 1 }),
  start: Text(5, { description: 'HH:MM, local time in timeZone, inclusive.' }),
  end: Text(5, { description: 'HH:MM, exclusive; earlier than start runs past midnight; 24:00 is midnight.' }),
});

const FreezeSchema = Type.Object({
  start: Timestamp('From this instant (RFC 3339)...'),
  end: Timestamp('...to this one, exclusive.'),
  reason: Type.Optional(Text(256)),
});

const ChangeWindowsSchema = Type.Object(
  {
    timeZone: Type.Optional(Text(64, { default: 'UTC', description: 'An IANA time zone (Europe/Paris).' })),
    weekly: Type.Optional(
      Type.Array(WeeklyWindowSchema, {
        maxItems: 32,
        description: 'When matching plans may start; none means always, outside freezes.',
      }),
    ),
    freezes: Type.Optional(Type.Array(FreezeSchema, { maxItems: 64, description: 'When matching plans never start.' })),
    outsideWindow: Type.Optional(
      StringEnum(outsideWindowModes, {
        default: 'wait',
        description: 'wait: the plan starts when the window opens; requireApproval: a person may let it run now.',
      }),
    ),
  },
  { description: 'When plans matching any rule of this policy may start.' },
);

export const ApprovalPolicySpecSchema = Type.Object({
  enabled: Type.Optional(Type.Boolean({ default: true })),
  rules: MapListOf(RuleSchema, 'name', 32, {
    minItems: 1,
    description: 'Every matching rule counts; the most restrictive wins.',
  }),
  changeWindows: Type.Optional(ChangeWindowsSchema),
});

export const ApprovalPolicyStatusSchema = Type.Object({
  activeGeneration: Type.Optional(Count('The generation Cairn applies (the last valid one).')),
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
  description:
    'Which remediation plans need people (one, or a quorum), which never run, and when plans may start (change windows).',
  specAuthor: 'user',
  printerColumns: [
    { name: 'Enabled', type: 'boolean', jsonPath: '.spec.enabled' },
    { name: 'Active', type: 'integer', jsonPath: '.status.activeGeneration' },
    ageColumn,
  ],
  statusSubresource: true,
  spec: ApprovalPolicySpecSchema,
  status: ApprovalPolicyStatusSchema,
  resource: ApprovalPolicyResourceSchema,
};
