import { type Static, Type } from '@sinclair/typebox';
import {
  cel,
  Duration,
  KeyName,
  MapListOf,
  NamespaceName,
  ObjectName,
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

export const channelTypes = ['slack', 'pagerduty', 'webhook', 'teams', 'opsgenie', 'email', 'alertmanager'] as const;
export const smtpTlsModes = ['starttls', 'implicit', 'none'] as const;

const EmailAddress = (description: string) =>
  Text(254, { minLength: 3, pattern: '^[^\\s@<>]+@[^\\s@<>]+$', description });

const EmailSchema = Type.Object(
  {
    host: Text(253, { minLength: 1, pattern: '^[-.a-zA-Z0-9:\\[\\]]+$', description: 'The SMTP server.' }),
    port: Type.Optional(Type.Integer({ minimum: 1, maximum: 65_535, default: 587 })),
    tls: Type.Optional(
      StringEnum(smtpTlsModes, {
        default: 'starttls',
        description:
          'starttls: upgrade the connection and refuse to send without it (port 587); implicit: TLS from the first byte (port 465); none: plain SMTP (a relay on a trusted network only).',
      }),
    ),
    from: EmailAddress('The sender address.'),
    to: SetOf(EmailAddress('A recipient.'), 50, { minItems: 1 }),
    authSecretRef: Type.Optional(
      Type.Object(
        { name: ObjectName('A Secret in this namespace with the keys username and password.') },
        { description: 'SMTP authentication; omitted when the server takes mail without it.' },
      ),
    ),
    caSecretRef: Type.Optional(
      SecretKeyRef('PEM certificates the server certificate may chain to, besides the system ones.', 'ca.crt'),
    ),
  },
  {
    description: 'email channels: the SMTP server and the addresses.',
    ...rules(
      cel(
        "!has(self.authSecretRef) || !has(self.tls) || self.tls != 'none'",
        'a login is sent only over TLS: tls must be starttls or implicit with authSecretRef',
      ),
    ),
  },
);

/** What a rule may ask to be told of; see NotificationTransition in domain/events/notification.events.ts. */
export const notificationTransitions = [
  'detected',
  'escalated',
  'approval_needed',
  'approval_granted',
  'approval_expired',
  'acknowledged',
  'resolved',
  'sla_warning',
  'sla_violated',
  'slo_burn',
] as const;
export const groupLabels = ['namespace', 'signal', 'severity', 'workload', 'issue'] as const;

const ChannelSchema = Type.Object(
  {
    name: KeyName('Referenced by rules[].channels.'),
    type: StringEnum(channelTypes),
    url: Type.Optional(
      Text(2048, {
        pattern: '^https?://',
        description:
          'webhook: the endpoint, when it is no secret; pagerduty: the Events API v2 endpoint (default https://events.pagerduty.com/v2/enqueue); opsgenie: the API base URL (default https://api.opsgenie.com, EU accounts https://api.eu.opsgenie.com); alertmanager: the Alertmanager base URL (alerts go to its /api/v2/alerts). A Slack or Teams webhook URL is a credential: use secretRef.',
      }),
    ),
    secretRef: Type.Optional(
      SecretKeyRef(
        'A key of a Secret in this namespace: the Slack webhook URL, the PagerDuty routing (integration) key, the Teams workflow URL, the Opsgenie API key, or the webhook or Alertmanager URL.',
      ),
    ),
    signingSecretRef: Type.Optional(
      SecretKeyRef('webhook: the key that signs each request (X-Cairn-Signature, HMAC-SHA256).'),
    ),
    email: Type.Optional(EmailSchema),
    timeout: Type.Optional(Duration('How long one request (one SMTP session) may take.', { default: '10s' })),
  },
  {
    ...rules(
      cel("self.type != 'slack' || has(self.secretRef)", 'a slack channel needs secretRef'),
      cel("self.type != 'pagerduty' || has(self.secretRef)", 'a pagerduty channel needs secretRef (the routing key)'),
      cel("self.type != 'webhook' || has(self.url) || has(self.secretRef)", 'a webhook channel needs url or secretRef'),
      cel("self.type == 'webhook' || !has(self.signingSecretRef)", 'signingSecretRef is for webhook channels'),
      cel("self.type != 'teams' || has(self.secretRef)", 'a teams channel needs secretRef (the workflow URL)'),
      cel("self.type != 'opsgenie' || has(self.secretRef)", 'an opsgenie channel needs secretRef (the API key)'),
      cel("self.type != 'email' || has(self.email)", 'an email channel needs email'),
      cel("self.type == 'email' || !has(self.email)", 'email is for email channels'),
      cel(
        "self.type != 'alertmanager' || has(self.url) || has(self.secretRef)",
        'an alertmanager channel needs url or secretRef',
      ),
    ),
  },
);

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

const RuleSchema = Type.Object({
  name: KeyName('Unique within the policy.'),
  match: Type.Optional(
    Type.Object(
      {
        severities: Type.Optional(SetOf(Severity(), 4)),
        signals: Type.Optional(SetOf(Signal(), 32)),
        namespaces: Type.Optional(SetOf(NamespaceName(), 64)),
        resourceKinds: Type.Optional(SetOf(TargetKind(), 16)),
        labelSelector: Type.Optional(LabelSelectorSchema),
        transitions: Type.Optional(
          SetOf(StringEnum(notificationTransitions), 7, {
            description:
              'What to be told of; all when omitted. An Issue a channel was told of is always followed by its resolve (and, on PagerDuty, its acknowledgement). sla_warning and sla_violated come from IncidentSLAs, slo_burn from ServiceLevelObjective burn-rate alerts.',
          }),
        ),
      },
      { description: 'Every listed criterion must match; an omitted one matches anything.' },
    ),
  ),
  channels: SetOf(KeyName('A channel name.'), 16, { minItems: 1 }),
});

export const NotificationPolicySpecSchema = Type.Object(
  {
    enabled: Type.Optional(Type.Boolean({ default: true })),
    incidentUrl: Type.Optional(
      Text(2048, {
        pattern: '^https?://.*\\{(issueId|issue)\\}',
        description:
          'Where people open an incident, linked from every message: {issueId} is replaced by the Issue id, {issue} by the Issue object name (e.g. https://cairn.example.com/api/v1/incidents/{issueId}).',
      }),
    ),
    channels: MapListOf(ChannelSchema, 'name', 16, { minItems: 1 }),
    rules: MapListOf(RuleSchema, 'name', 32, { minItems: 1 }),
    grouping: Type.Optional(
      Type.Object(
        {
          groupBy: Type.Optional(
            SetOf(StringEnum(groupLabels), 5, {
              description: 'Issues with equal values share one message; default namespace and signal.',
            }),
          ),
          groupWait: Type.Optional(Duration('How long a new group waits for more Issues.', { default: '30s' })),
          groupInterval: Type.Optional(
            Duration('How long after a message a group waits before telling of changes.', { default: '5m' }),
          ),
          repeatInterval: Type.Optional(
            Duration('How long before an unchanged firing group is told again (not PagerDuty or Opsgenie).', {
              default: '4h',
            }),
          ),
        },
        { description: "Alertmanager's group_by, group_wait, group_interval and repeat_interval, per rule." },
      ),
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

const ChannelStatusSchema = Type.Object({
  name: KeyName('The channel, as spec.channels names it.'),
  state: StringEnum(['Healthy', 'Degraded'] as const, {
    description:
      'Degraded after 3 failed attempts in a row, or when a delivery is given up; Healthy again at the next delivered message.',
  }),
  consecutiveFailures: Type.Integer({ minimum: 0, description: 'Failed attempts since the last delivered message.' }),
  lastSuccessTime: Type.Optional(Timestamp('When the last message was delivered.')),
  lastFailureTime: Type.Optional(Timestamp('When the last attempt failed.')),
  lastError: Type.Optional(Text(2048, { description: 'What the last failed attempt came to; never a credential.' })),
});

export const NotificationPolicyStatusSchema = Type.Object({
  /** The generation Cairn routes with: the last valid one, which may be older than observedGeneration. */
  activeGeneration: Type.Optional(
    Type.Integer({ minimum: 0, format: 'int64', description: 'The generation notifications are routed with.' }),
  ),
  /** How each channel that has had a delivery attempt is doing, folded from the recorded outcomes. */
  channels: Type.Optional(MapListOf(ChannelStatusSchema, 'name', 16)),
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
  description:
    'Where to send notifications about Issues: channels (Slack, Teams, PagerDuty, Opsgenie, email, Alertmanager, webhook), matching rules and grouping.',
  specAuthor: 'user',
  printerColumns: [
    { name: 'Enabled', type: 'boolean', jsonPath: '.spec.enabled' },
    { name: 'Active', type: 'integer', jsonPath: '.status.activeGeneration' },
    { name: 'Ready', type: 'string', jsonPath: ".status.conditions[?(@.type=='Ready')].status" },
    { name: 'Degraded', type: 'string', jsonPath: ".status.conditions[?(@.type=='Degraded')].status" },
    ageColumn,
  ],
  statusSubresource: true,
  spec: NotificationPolicySpecSchema,
  status: NotificationPolicyStatusSchema,
  resource: NotificationPolicyResourceSchema,
};
