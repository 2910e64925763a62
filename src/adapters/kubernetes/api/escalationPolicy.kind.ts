import { type Static, Type } from '@sinclair/typebox';
import {
  Count,
  Duration,
  KeyName,
  LocalRef,
  MapListOf,
  ObjectName,
  SetOf,
  Severity,
  StringEnum,
  statusBase,
  Text,
  Timestamp,
} from './common.schema.ts';
import { ageColumn, cairnCategory, customResource, type KindDefinition } from './kindDefinition.ts';

const TargetSchema = Type.Object({
  type: StringEnum(['user', 'team', 'oncall', 'channel'] as const, {
    description: 'channel names a channel of spec.notificationPolicyRef.',
  }),
  name: Text(253, { minLength: 1 }),
});

const LevelSchema = Type.Object({
  name: KeyName('e.g. l1-oncall; unique within the policy.'),
  escalateAfter: Duration('Unacknowledged for this long, go to the next level.'),
  targets: Type.Array(TargetSchema, { minItems: 1, maxItems: 16 }),
  repeatEvery: Type.Optional(Duration('Re-notify at this interval while on this level.')),
});

export const EscalationPolicySpecSchema = Type.Object({
  enabled: Type.Optional(Type.Boolean({ default: true })),
  default: Type.Optional(
    Type.Boolean({ default: false, description: 'Used for Issues no other policy matches by severity.' }),
  ),
  severities: Type.Optional(SetOf(Severity(), 4, { description: 'Severities it applies to; all when omitted.' })),
  notificationPolicyRef: Type.Optional(LocalRef('How levels reach their targets.')),
  levels: MapListOf(LevelSchema, 'name', 10, { minItems: 1, description: 'In escalation order, L1 first.' }),
});

export const EscalationPolicyStatusSchema = Type.Object({
  totalEscalations: Type.Optional(Count('Escalations started under this policy.')),
  active: Type.Optional(
    Type.Array(
      Type.Object({
        issue: ObjectName('The escalated Issue.'),
        level: KeyName('The current level.'),
        since: Timestamp(),
        acknowledgedAt: Type.Optional(Timestamp()),
        acknowledgedBy: Type.Optional(Text(253)),
      }),
      { maxItems: 100 },
    ),
  ),
  ...statusBase(),
});

export const EscalationPolicyResourceSchema = customResource(
  'EscalationPolicy',
  EscalationPolicySpecSchema,
  EscalationPolicyStatusSchema,
);

export type EscalationPolicySpec = Static<typeof EscalationPolicySpecSchema>;
export type EscalationPolicyStatus = Static<typeof EscalationPolicyStatusSchema>;
export type EscalationPolicyResource = Static<typeof EscalationPolicyResourceSchema>;

export const escalationPolicyKind: KindDefinition = {
  kind: 'EscalationPolicy',
  plural: 'escalationpolicies',
  singular: 'escalationpolicy',
  shortNames: ['escpol'],
  categories: [cairnCategory],
  description: 'Who is called, in which order and after how long, when an Issue is escalated or not acknowledged.',
  specAuthor: 'user',
  printerColumns: [
    { name: 'Enabled', type: 'boolean', jsonPath: '.spec.enabled' },
    { name: 'Default', type: 'boolean', jsonPath: '.spec.default' },
    { name: 'Escalations', type: 'integer', jsonPath: '.status.totalEscalations' },
    ageColumn,
  ],
  statusSubresource: true,
  spec: EscalationPolicySpecSchema,
  status: EscalationPolicyStatusSchema,
  resource: EscalationPolicyResourceSchema,
};
