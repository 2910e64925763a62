import { type Static, Type } from '@sinclair/typebox';
import type { Event } from '../messages.ts';
import {
  Count,
  defineEvent,
  Id,
  IsoInstant,
  ResourceRef,
  RiskScore,
  SeveritySchema,
  ShortText,
  SignalName,
  strictObject,
} from './common.schema.ts';

/**
 * Notifications are decided per group, Alertmanager's unit: one NotificationPolicy rule and one value of its group
 * key (`notification-<groupId>`). The group's stream is also the outbox: a decision lists its deliveries, and each
 * delivery's outcome is recorded there, so whatever was decided and not yet delivered is found again after a crash.
 */

/** What can happen to an Issue that a rule may want to be told of. */
export const NotificationTransition = {
  Detected: 'detected',
  Escalated: 'escalated',
  ApprovalNeeded: 'approval_needed',
  /** The plan's approval request reached its quorum: the plan runs. */
  ApprovalGranted: 'approval_granted',
  /** Nobody decided on the plan's approval request in time: it was cancelled. */
  ApprovalExpired: 'approval_expired',
  Acknowledged: 'acknowledged',
  Resolved: 'resolved',
  /** An IncidentSLA target of the Issue reached its warning share. */
  SlaWarning: 'sla_warning',
  /** An IncidentSLA target of the Issue was missed. */
  SlaViolated: 'sla_violated',
  /** A ServiceLevelObjective's burn-rate alert fired; the Issue is the one its slo_burn_rate anomaly opened or joined. */
  SloBurn: 'slo_burn',
} as const;
export type NotificationTransition = (typeof NotificationTransition)[keyof typeof NotificationTransition];

export const ChannelType = {
  Slack: 'slack',
  PagerDuty: 'pagerduty',
  Webhook: 'webhook',
  Teams: 'teams',
  Opsgenie: 'opsgenie',
  Email: 'email',
  Alertmanager: 'alertmanager',
} as const;
export type ChannelType = (typeof ChannelType)[keyof typeof ChannelType];

/**
 * Paging channels keep one incident (alert) per Issue on the vendor's side, keyed by the Issue: they get one
 * delivery per Issue with a paging action (open, acknowledge, close) instead of grouped messages, and no repeats.
 */
export const pagingChannelTypes: readonly ChannelType[] = [ChannelType.PagerDuty, ChannelType.Opsgenie];
export const isPagingChannel = (channel: { readonly type: ChannelType }): boolean =>
  pagingChannelTypes.includes(channel.type);

const ChannelName = Type.String({ pattern: '^[a-z0-9]([-a-z0-9]*[a-z0-9])?$', maxLength: 63, description: 'a name' });

export const NotificationChannelRef = strictObject({ name: ChannelName, type: Type.Enum(ChannelType) });
export type NotificationChannelRef = Static<typeof NotificationChannelRef>;

export const NotificationGrouping = strictObject({
  groupWaitSeconds: Type.Integer({ minimum: 0, maximum: 86_400 }),
  groupIntervalSeconds: Type.Integer({ minimum: 1, maximum: 604_800 }),
  repeatIntervalSeconds: Type.Integer({ minimum: 1, maximum: 2_592_000 }),
});
export type NotificationGrouping = Static<typeof NotificationGrouping>;

/** The Issue as it was when the transition happened: what a message shows, so a retry sends the same words. */
export const NotifiedIssue = strictObject({
  issueId: Id,
  /** The Issue object's name, what `kubectl get issue` shows. */
  name: Id,
  severity: SeveritySchema,
  signal: SignalName,
  riskScore: RiskScore,
  workload: ResourceRef,
  state: Type.String({ minLength: 1, maxLength: 32 }),
  summary: ShortText,
  detectedAt: IsoInstant,
  acknowledgedBy: Type.Optional(ShortText),
});
export type NotifiedIssue = Static<typeof NotifiedIssue>;

export const NotificationPolicyRef = strictObject({
  namespace: Type.String({ minLength: 1, maxLength: 63 }),
  name: Id,
  rule: ChannelName,
});
export type NotificationPolicyRef = Static<typeof NotificationPolicyRef>;

export const NotificationTransitionRecordedSchema = strictObject({
  groupId: Id,
  policy: NotificationPolicyRef,
  /** `label=value` pairs the group is keyed on, for people reading the message. */
  groupKey: ShortText,
  /** The rule's channels and timing as the policy said when the transition happened. */
  channels: Type.Array(NotificationChannelRef, { minItems: 1, maxItems: 16 }),
  grouping: NotificationGrouping,
  transition: Type.Enum(NotificationTransition),
  /** Whether the rule asked for this transition; resolves and acknowledgements of announced Issues go out anyway. */
  subscribed: Type.Boolean(),
  issue: NotifiedIssue,
  /** The Issue event it came from: the same event routed twice changes nothing. */
  sourceEventId: Id,
  /** When the group next flushes, once this transition is taken into account; absent when nothing is due. */
  flushAt: Type.Optional(IsoInstant),
});
export type NotificationTransitionRecordedData = Static<typeof NotificationTransitionRecordedSchema>;
export type NotificationTransitionRecorded = Event<
  'NotificationTransitionRecorded',
  NotificationTransitionRecordedData
>;

/** What a paging channel is asked to do with the Issue's incident: open it, acknowledge it, or close it. */
export const PagingAction = { Trigger: 'trigger', Acknowledge: 'acknowledge', Resolve: 'resolve' } as const;
export type PagingAction = (typeof PagingAction)[keyof typeof PagingAction];

export const IssueNotice = { Firing: 'firing', Resolved: 'resolved' } as const;

/** One message to one channel. A paging channel (PagerDuty, Opsgenie) gets one per Issue, keyed by the Issue. */
export const NotificationDelivery = strictObject({
  deliveryId: Id,
  channel: NotificationChannelRef,
  /** Whether this message repeats an unchanged group (repeatInterval) rather than telling of a change. */
  repeat: Type.Boolean(),
  /** The Issues this message tells of, and which of them changed. */
  issues: Type.Array(
    strictObject({
      issue: NotifiedIssue,
      status: Type.Enum(IssueNotice),
      transition: Type.Enum(NotificationTransition),
      changed: Type.Boolean(),
    }),
    { minItems: 1, maxItems: 100 },
  ),
  /** Issues beyond `issues` that the message only counts. */
  omitted: Count,
  /** Paging channels only (schema v1 called it pagerDutyAction). */
  pagingAction: Type.Optional(Type.Enum(PagingAction)),
});
export type NotificationDelivery = Static<typeof NotificationDelivery>;

export const NotificationDecidedSchema = strictObject({
  notificationId: Id,
  groupKey: ShortText,
  policy: NotificationPolicyRef,
  deliveries: Type.Array(NotificationDelivery, { minItems: 1, maxItems: 200 }),
  /** The next flush (a repeat); absent when the group has nothing left to tell. */
  flushAt: Type.Optional(IsoInstant),
  /** A test message someone asked for (`cairn notify test`): no Issue is behind it. */
  test: Type.Optional(Type.Boolean()),
});
export type NotificationDecidedData = Static<typeof NotificationDecidedSchema>;
export type NotificationDecided = Event<'NotificationDecided', NotificationDecidedData>;

/** A flush that found nothing to tell (every Issue it waited for ended unannounced). */
export const NotificationGroupSettledSchema = strictObject({
  flushAt: Type.Optional(IsoInstant),
});
export type NotificationGroupSettledData = Static<typeof NotificationGroupSettledSchema>;
export type NotificationGroupSettled = Event<'NotificationGroupSettled', NotificationGroupSettledData>;

const Attempt = Type.Integer({ minimum: 1, maximum: 100 });
const StatusCode = Type.Integer({ minimum: 100, maximum: 599 });
const LatencyMs = Type.Integer({ minimum: 0 });

export const NotificationDeliveredSchema = strictObject({
  deliveryId: Id,
  channel: ChannelName,
  attempt: Attempt,
  statusCode: StatusCode,
  latencyMs: LatencyMs,
});
export type NotificationDeliveredData = Static<typeof NotificationDeliveredSchema>;
export type NotificationDelivered = Event<'NotificationDelivered', NotificationDeliveredData>;

export const NotificationFailedSchema = strictObject({
  deliveryId: Id,
  channel: ChannelName,
  attempt: Attempt,
  /** Absent when no answer came (refused connection, timeout). */
  statusCode: Type.Optional(StatusCode),
  latencyMs: LatencyMs,
  /** Never holds a credential: the channel writes it from the status and its own words. */
  error: ShortText,
  /** When the next attempt is due; absent when Cairn gave up (a 4xx, or the last attempt). */
  retryAt: Type.Optional(IsoInstant),
});
export type NotificationFailedData = Static<typeof NotificationFailedSchema>;
export type NotificationFailed = Event<'NotificationFailed', NotificationFailedData>;

/** v1 -> v2: PagerDuty's action became the action of any paging channel. */
function renamePagerDutyAction(data: unknown): unknown {
  const d = data as { deliveries?: unknown };
  if (typeof data !== 'object' || data === null || !Array.isArray(d.deliveries)) return data;
  return {
    ...data,
    deliveries: d.deliveries.map((delivery: unknown) => {
      if (typeof delivery !== 'object' || delivery === null || !('pagerDutyAction' in delivery)) return delivery;
      const { pagerDutyAction, ...rest } = delivery as { pagerDutyAction: unknown };
      return { ...rest, pagingAction: pagerDutyAction };
    }),
  };
}

export const notificationEventDefinitions = [
  defineEvent('NotificationTransitionRecorded', NotificationTransitionRecordedSchema, { audited: false }),
  defineEvent('NotificationDecided', NotificationDecidedSchema, {
    audited: true,
    schemaVersion: 2,
    upcasters: { 1: renamePagerDutyAction },
  }),
  defineEvent('NotificationGroupSettled', NotificationGroupSettledSchema, { audited: false }),
  defineEvent('NotificationDelivered', NotificationDeliveredSchema, { audited: true }),
  defineEvent('NotificationFailed', NotificationFailedSchema, { audited: true }),
] as const;
