import { type Static, Type } from '@sinclair/typebox';
import {
  Count,
  cel,
  Duration,
  IssueState,
  KeyName,
  MapListOf,
  NamespaceName,
  rules,
  SecretKeyRef,
  SetOf,
  Severity,
  Signal,
  StringEnum,
  StringMap,
  statusBase,
  TargetKind,
  Text,
  Timestamp,
} from './common.schema.ts';
import { ageColumn, cairnCategory, customResource, type KindDefinition } from './kindDefinition.ts';

export const channelTypes = ['slack', 'teams', 'webhook', 'pagerduty', 'opsgenie', 'email'] as const;

const ChannelSchema = Type.Object(
  {
    name: KeyName('Referenced by rules[].channels.'),
    type: StringEnum(channelTypes),
    url: Type.Optional(
      Text(2048, { pattern: '^https?://', description: 'Endpoint for slack, teams, webhook (non-secret URLs only).' }),
    ),
    secretRef: Type.Optional(
      SecretKeyRef('A Secret key holding the URL, routing key or API key; wins over url.', 'url'),
    ),
    to: Type.Optional(
      Type.Array(Text(320, { pattern: '^[^@\\s]+@[^@\\s]+$' }), { maxItems: 32, description: 'email recipients.' }),
    ),
    config: Type.Optional(StringMap(16, 1024, 'Non-secret channel settings, e.g. channel, username, smtpHost.')),
  },
  {
    ...rules(
      cel("self.type != 'email' || (has(self.to) && size(self.to) > 0)", 'an email channel needs recipients in to'),
      cel("self.type == 'email' || has(self.url) || has(self.secretRef)", 'this channel needs url or secretRef'),
    ),
  },
);

const RuleSchema = Type.Object({
  name: KeyName('Unique within the policy.'),
  match: Type.Optional(
    Type.Object(
      {
        severities: Type.Optional(SetOf(Severity(), 4)),
        signals: Type.Optional(SetOf(Signal(), 32)),
        states: Type.Optional(SetOf(IssueState(), 5, { description: 'Issue states that notify.' })),
        namespaces: Type.Optional(SetOf(NamespaceName(), 64)),
        resourceKinds: Type.Optional(SetOf(TargetKind(), 16)),
      },
      { description: 'Every listed criterion must match; an omitted one matches anything.' },
    ),
  ),
  channels: SetOf(KeyName('A channel name.'), 16, { minItems: 1 }),
});

export const NotificationPolicySpecSchema = Type.Object(
  {
    enabled: Type.Optional(Type.Boolean({ default: true })),
    channels: MapListOf(ChannelSchema, 'name', 16, { minItems: 1 }),
    rules: MapListOf(RuleSchema, 'name', 32, { minItems: 1 }),
    throttle: Type.Optional(
      Type.Object({
        maxPerHour: Type.Optional(
          Type.Integer({ minimum: 1, maximum: 3600, default: 20, description: 'Per Issue and channel.' }),
        ),
        dedupWindow: Type.Optional(Duration('Identical notifications inside it are dropped.', { default: '5m' })),
        groupWindow: Type.Optional(Duration('Notifications inside it are sent as one.', { default: '30s' })),
      }),
    ),
  },
  {
    ...rules(
      cel(
        'self.rules.all(r, r.channels.all(c, self.channels.exists(ch, ch.name == c)))',
        'every rule channel must be declared in spec.channels',
      ),
    ),
  },
);

export const NotificationPolicyStatusSchema = Type.Object({
  sent: Type.Optional(Count('Notifications delivered.')),
  failed: Type.Optional(Count('Deliveries that failed.')),
  lastSentAt: Type.Optional(Timestamp()),
  recentDeliveries: Type.Optional(
    Type.Array(
      Type.Object({
        channel: KeyName('The channel.'),
        issue: Type.Optional(Text(253)),
        at: Timestamp(),
        success: Type.Boolean(),
        error: Type.Optional(Text(1024)),
      }),
      { maxItems: 20, description: 'The last 20 attempts.' },
    ),
  ),
  ...statusBase(),
});

export const NotificationPolicyResourceSchema = customResource(
  'NotificationPolicy',
  NotificationPolicySpecSchema,
  NotificationPolicyStatusSchema,
);

export type NotificationPolicySpec = Static<typeof NotificationPolicySpecSchema>;
export type NotificationPolicyStatus = Static<typeof NotificationPolicyStatusSchema>;
export type NotificationPolicyResource = Static<typeof NotificationPolicyResourceSchema>;

export const notificationPolicyKind: KindDefinition = {
  kind: 'NotificationPolicy',
  plural: 'notificationpolicies',
  singular: 'notificationpolicy',
  shortNames: ['npol'],
  categories: [cairnCategory],
  description: 'Where to send notifications about Issues: channels, matching rules and throttling.',
  specAuthor: 'user',
  printerColumns: [
    { name: 'Enabled', type: 'boolean', jsonPath: '.spec.enabled' },
    { name: 'Sent', type: 'integer', jsonPath: '.status.sent' },
    { name: 'Failed', type: 'integer', jsonPath: '.status.failed' },
    { name: 'Last', type: 'date', jsonPath: '.status.lastSentAt' },
    ageColumn,
  ],
  statusSubresource: true,
  spec: NotificationPolicySpecSchema,
  status: NotificationPolicyStatusSchema,
  resource: NotificationPolicyResourceSchema,
};
