import { type Static, Type } from '@sinclair/typebox';
import type { Event } from '../messages.ts';
import { Actor, defineEvent, Id, IsoInstant, ShortText, strictObject } from './common.schema.ts';
import { IssueNotice, NotificationChannelRef, NotificationTransition, NotifiedIssue } from './notification.events.ts';

/**
 * One escalation per Issue (`escalation-<issueId>`): the levels of the EscalationPolicy that took the Issue, which
 * of them were paged, and the instant the next level is due. The stream is also its own outbox: each page lists
 * its deliveries, and each delivery's outcome is recorded beside it.
 */

const LevelName = Type.String({ pattern: '^[a-z0-9]([-a-z0-9]*[a-z0-9])?$', maxLength: 63, description: 'a name' });
const Seconds = Type.Integer({ minimum: 1, maximum: 2_592_000 });
const LevelNumber = Type.Integer({ minimum: 1, maximum: 32 });

/** A level as the policy said when the escalation started: a running escalation keeps the levels it began with. */
export const EscalationLevel = strictObject({
  name: LevelName,
  /** Channels of the referenced NotificationPolicy. */
  channels: Type.Array(NotificationChannelRef, { minItems: 1, maxItems: 16 }),
  /** Unacknowledged this long after it was paged, the next level is paged; absent on the last level. */
  escalateAfterSeconds: Type.Optional(Seconds),
});
export type EscalationLevel = Static<typeof EscalationLevel>;

export const EscalationPolicyRef = strictObject({
  namespace: Type.String({ minLength: 1, maxLength: 63 }),
  name: Id,
  generation: Type.Integer({ minimum: 1 }),
});
export type EscalationPolicyRef = Static<typeof EscalationPolicyRef>;

/** What a paging channel (PagerDuty, Opsgenie) is asked to do with the Issue's incident. */
export const EscalationPagingAction = { Trigger: 'trigger', Acknowledge: 'acknowledge', Resolve: 'resolve' } as const;

/** One message to one channel about the escalated Issue. */
export const EscalationDelivery = strictObject({
  deliveryId: Id,
  channel: NotificationChannelRef,
  /** The level this message is sent for (1-based). */
  level: LevelNumber,
  status: Type.Enum(IssueNotice),
  transition: Type.Enum(NotificationTransition),
  /** The last level paged again (repeatLastLevelEvery). */
  repeat: Type.Boolean(),
  /** Paging channels only. */
  action: Type.Optional(Type.Enum(EscalationPagingAction)),
});
export type EscalationDelivery = Static<typeof EscalationDelivery>;

export const EscalationTrigger = {
  /** The Issue was detected (or its severity rose) and the policy takes it. */
  Detected: 'detected',
  /** Cairn or a person escalated the Issue before any level was paged. */
  Escalated: 'escalated',
} as const;

export const EscalationStartedSchema = strictObject({
  issueId: Id,
  policy: EscalationPolicyRef,
  /** The NotificationPolicy whose channels the levels page through. */
  notificationPolicy: strictObject({ namespace: Type.String({ minLength: 1, maxLength: 63 }), name: Id }),
  levels: Type.Array(EscalationLevel, { minItems: 1, maxItems: 10 }),
  /** Page the last level again at this interval until acknowledged or resolved; absent: stop at the last level. */
  repeatLastLevelEverySeconds: Type.Optional(Seconds),
  trigger: Type.Enum(EscalationTrigger),
  issue: NotifiedIssue,
});
export type EscalationStartedData = Static<typeof EscalationStartedSchema>;
export type EscalationStarted = Event<'EscalationStarted', EscalationStartedData>;

export const PageReason = {
  /** The first level, when the escalation starts. */
  Started: 'started',
  /** The previous level's timeout passed without an acknowledgement. */
  Timeout: 'timeout',
  /** The last level again, after repeatLastLevelEvery. */
  Repeat: 'repeat',
  /** Someone (a person, Cairn giving up, an SLA) asked for the next level now. */
  Requested: 'requested',
} as const;

export const EscalationLevelPagedSchema = strictObject({
  level: LevelNumber,
  levelName: LevelName,
  reason: Type.Enum(PageReason),
  /** Who asked, for `requested`. */
  detail: Type.Optional(ShortText),
  /** The request it answers (an Issue event's id, an SLA breach): the same request pages once. */
  requestId: Type.Optional(Id),
  deliveries: Type.Array(EscalationDelivery, { minItems: 1, maxItems: 16 }),
  /** When the next level (or the repeat) is due; absent when the last level was paged and the policy stops there. */
  nextDeadline: Type.Optional(IsoInstant),
});
export type EscalationLevelPagedData = Static<typeof EscalationLevelPagedSchema>;
export type EscalationLevelPaged = Event<'EscalationLevelPaged', EscalationLevelPagedData>;

export const EscalationAcknowledgedSchema = strictObject({
  acknowledgedBy: Actor,
  /** What the levels already paged are told: paging channels `acknowledge`, the others a message. */
  deliveries: Type.Array(EscalationDelivery, { maxItems: 160 }),
});
export type EscalationAcknowledgedData = Static<typeof EscalationAcknowledgedSchema>;
export type EscalationAcknowledged = Event<'EscalationAcknowledged', EscalationAcknowledgedData>;

/** The clock stops: the time left on the current level is kept, and runs again from `until`. */
export const EscalationSnoozedSchema = strictObject({
  until: IsoInstant,
  remainingSeconds: Type.Number({ minimum: 0 }),
  nextDeadline: IsoInstant,
});
export type EscalationSnoozedData = Static<typeof EscalationSnoozedSchema>;
export type EscalationSnoozed = Event<'EscalationSnoozed', EscalationSnoozedData>;

/** A snooze ended early: the time that was left runs from now. */
export const EscalationUnsnoozedSchema = strictObject({ nextDeadline: IsoInstant });
export type EscalationUnsnoozedData = Static<typeof EscalationUnsnoozedSchema>;
export type EscalationUnsnoozed = Event<'EscalationUnsnoozed', EscalationUnsnoozedData>;

export const EscalationResolvedSchema = strictObject({
  /** Every channel paged at any level is told: paging channels `resolve`, the others a resolved message. */
  deliveries: Type.Array(EscalationDelivery, { maxItems: 160 }),
});
export type EscalationResolvedData = Static<typeof EscalationResolvedSchema>;
export type EscalationResolved = Event<'EscalationResolved', EscalationResolvedData>;

const Attempt = Type.Integer({ minimum: 1, maximum: 100 });
const StatusCode = Type.Integer({ minimum: 100, maximum: 599 });
const LatencyMs = Type.Integer({ minimum: 0 });

export const EscalationPageDeliveredSchema = strictObject({
  deliveryId: Id,
  channel: LevelName,
  attempt: Attempt,
  statusCode: StatusCode,
  latencyMs: LatencyMs,
});
export type EscalationPageDeliveredData = Static<typeof EscalationPageDeliveredSchema>;
export type EscalationPageDelivered = Event<'EscalationPageDelivered', EscalationPageDeliveredData>;

export const EscalationPageFailedSchema = strictObject({
  deliveryId: Id,
  channel: LevelName,
  attempt: Attempt,
  statusCode: Type.Optional(StatusCode),
  latencyMs: LatencyMs,
  /** Written by the channel from the status and its own words; never a credential. */
  error: ShortText,
  /** When the next attempt is due; absent when Cairn gave up. */
  retryAt: Type.Optional(IsoInstant),
});
export type EscalationPageFailedData = Static<typeof EscalationPageFailedSchema>;
export type EscalationPageFailed = Event<'EscalationPageFailed', EscalationPageFailedData>;

export const escalationEventDefinitions = [
  defineEvent('EscalationStarted', EscalationStartedSchema, { audited: true }),
  defineEvent('EscalationLevelPaged', EscalationLevelPagedSchema, { audited: true }),
  defineEvent('EscalationAcknowledged', EscalationAcknowledgedSchema, { audited: true }),
  defineEvent('EscalationSnoozed', EscalationSnoozedSchema, { audited: false }),
  defineEvent('EscalationUnsnoozed', EscalationUnsnoozedSchema, { audited: false }),
  defineEvent('EscalationResolved', EscalationResolvedSchema, { audited: true }),
  defineEvent('EscalationPageDelivered', EscalationPageDeliveredSchema, { audited: true }),
  defineEvent('EscalationPageFailed', EscalationPageFailedSchema, { audited: true }),
] as const;
