import { type Static, Type } from '@sinclair/typebox';
import {
  Count,
  Duration,
  KeyName,
  LocalRef,
  MapListOf,
  NamespaceName,
  ObjectName,
  SetOf,
  Severity,
  StringEnum,
  StringMap,
  statusBase,
  Text,
  Timestamp,
} from './common.schema.ts';
import { ageColumn, cairnCategory, customResource, type KindDefinition } from './kindDefinition.ts';

const LevelSchema = Type.Object({
  name: KeyName('e.g. primary; unique within the policy.'),
  channels: SetOf(KeyName('A channel of the NotificationPolicy named in spec.notificationPolicyRef.'), 16, {
    minItems: 1,
    description: 'Who this level pages: channels of spec.notificationPolicyRef, with their Secrets and retries.',
  }),
  escalateAfter: Type.Optional(
    Duration(
      'Unacknowledged this long after this level was paged, the next level is paged. Required on every level but the last.',
    ),
  ),
});

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
  { description: "Over the labels of the Issue's workload (Deployment, StatefulSet, ...)." },
);

export const EscalationPolicySpecSchema = Type.Object({
  enabled: Type.Optional(Type.Boolean({ default: true })),
  default: Type.Optional(
    Type.Boolean({
      default: false,
      description: 'Takes the Issues (of the severities listed) that no policy without default takes.',
    }),
  ),
  severities: Type.Optional(SetOf(Severity(), 4, { description: 'Severities it takes; all when omitted.' })),
  namespaces: Type.Optional(
    SetOf(NamespaceName(), 64, {
      description: "Namespaces of the Issue's workload it takes; all it may see when omitted.",
    }),
  ),
  labelSelector: Type.Optional(LabelSelectorSchema),
  notificationPolicyRef: LocalRef('The NotificationPolicy (same namespace) whose channels the levels page.'),
  levels: MapListOf(LevelSchema, 'name', 10, { minItems: 1, description: 'In escalation order, the first first.' }),
  repeatLastLevelEvery: Type.Optional(
    Duration('Page the last level again at this interval until acknowledged or resolved; without it, stop there.'),
  ),
});

export const EscalationPolicyStatusSchema = Type.Object({
  activeGeneration: Type.Optional(
    Type.Integer({ minimum: 0, format: 'int64', description: 'The generation new escalations start with.' }),
  ),
  totalEscalations: Type.Optional(Count('Escalations started under this policy.')),
  active: Type.Optional(
    Type.Array(
      Type.Object({
        issue: ObjectName('The Issue object.'),
        issueId: Text(253, { description: 'The Issue id, as the REST API names it.' }),
        level: Type.Integer({ minimum: 1, description: 'The level paged last (1 is the first).' }),
        levelName: KeyName('Its name.'),
        state: StringEnum(['active', 'snoozed', 'exhausted', 'acknowledged'] as const),
        since: Timestamp('When that level was paged.'),
        nextDeadline: Type.Optional(Timestamp('When the next level (or the repeat) is due.')),
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
  description: 'Who is paged, in which order and after how long, while an Issue is not acknowledged.',
  specAuthor: 'user',
  printerColumns: [
    { name: 'Enabled', type: 'boolean', jsonPath: '.spec.enabled' },
    { name: 'Default', type: 'boolean', jsonPath: '.spec.default' },
    { name: 'Active', type: 'integer', jsonPath: '.status.activeGeneration' },
    { name: 'Escalations', type: 'integer', jsonPath: '.status.totalEscalations' },
    ageColumn,
  ],
  statusSubresource: true,
  spec: EscalationPolicySpecSchema,
  status: EscalationPolicyStatusSchema,
  resource: EscalationPolicyResourceSchema,
};
