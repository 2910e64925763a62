import {
  isPagingChannel,
  type NotificationChannelRef,
  type NotificationDecided,
  type NotificationDelivered,
  type NotificationDelivery,
  type NotificationFailed,
  type NotificationGrouping,
  type NotificationGroupSettled,
  type NotificationPolicyRef,
  type NotificationTransition,
  type NotificationTransitionRecorded,
  type NotificationTransitionRecordedData,
  type NotifiedIssue,
} from '../events/notification.events.ts';
import type { Decider } from '../messages.ts';
import { invalid } from '../refusals.ts';
import { plusMs, requireInstant } from '../time.ts';
import type { NotificationCommand } from './notification.commands.ts';
import { attemptOutcome } from './retry.policy.ts';

export type NotificationEvent =
  | NotificationTransitionRecorded
  | NotificationDecided
  | NotificationGroupSettled
  | NotificationDelivered
  | NotificationFailed;

/** Tries per delivery, the first included; after the last a retryable failure is given up too. */
export const MAX_DELIVERY_ATTEMPTS = 10;
/** Issues one message lists; the rest are counted. */
export const MAX_ISSUES_PER_MESSAGE = 50;
/** Source events remembered per Issue, to recognise one routed twice. */
const REMEMBERED_SOURCES = 16;

interface TrackedIssue {
  readonly issue: NotifiedIssue;
  readonly firing: boolean;
  readonly transition: NotificationTransition;
  /** Channels that have yet to hear of the Issue's last change. */
  readonly pending: readonly string[];
  /** Channels told it was firing: each will be told it resolved. */
  readonly announcedTo: readonly string[];
  /** Paging channels (PagerDuty, Opsgenie) told it was acknowledged. */
  readonly acknowledgedTo: readonly string[];
  readonly sources: readonly string[];
}

export interface DeliveryInProgress {
  readonly notificationId: string;
  readonly decidedAt: string;
  readonly delivery: NotificationDelivery;
  /** Attempts made so far; the next one is `attempts + 1`. */
  readonly attempts: number;
  /** Null until a try failed; then when the next is due. */
  readonly retryAt: string | null;
  /** Order of decision within the group: a channel hears of an Issue in the order things happened. */
  readonly sequence: number;
}

export interface NotificationGroupState {
  readonly groupId: string;
  readonly policy: NotificationPolicyRef | null;
  readonly groupKey: string;
  readonly channels: readonly NotificationChannelRef[];
  readonly grouping: NotificationGrouping | null;
  readonly issues: Readonly<Record<string, TrackedIssue>>;
  readonly flushAt: string | null;
  readonly lastFlushAt: string | null;
  /** Per messaging channel (not paging ones), when it last got a message: the repeat interval counts from it. */
  readonly lastSentAt: Readonly<Record<string, string>>;
  readonly deliveries: Readonly<Record<string, DeliveryInProgress>>;
  readonly decisions: number;
}

export const initialNotificationGroupState = (): NotificationGroupState => ({
  groupId: '',
  policy: null,
  groupKey: '',
  channels: [],
  grouping: null,
  issues: {},
  flushAt: null,
  lastFlushAt: null,
  lastSentAt: {},
  deliveries: {},
  decisions: 0,
});

const union = (list: readonly string[], add: readonly string[]) => [...new Set([...list, ...add])];
const without = (list: readonly string[], remove: readonly string[]) => list.filter((x) => !remove.includes(x));
const earliest = (a: string | null, b: string | null): string | null =>
  a === null ? b : b === null ? a : Date.parse(a) <= Date.parse(b) ? a : b;

/** What one transition does to the Issue's entry; undefined when the group has nothing to do with it. */
function track(
  entry: TrackedIssue | undefined,
  data: NotificationTransitionRecordedData,
  channels: readonly NotificationChannelRef[],
): TrackedIssue | undefined {
  const all = channels.map((c) => c.name);
  const messaging = channels.filter((c) => !isPagingChannel(c)).map((c) => c.name);
  const sources = [...(entry?.sources ?? []), data.sourceEventId].slice(-REMEMBERED_SOURCES);
  const { transition, subscribed, issue } = data;
  switch (transition) {
    case 'detected':
    case 'escalated':
    case 'approval_needed':
    case 'approval_granted':
    case 'approval_expired':
    case 'sla_warning':
    case 'sla_violated':
    case 'slo_burn': {
      if (entry === undefined) {
        if (!subscribed) return undefined;
        return { issue, firing: true, transition, pending: all, announcedTo: [], acknowledgedTo: [], sources };
      }
      if (!entry.firing) return { ...entry, sources };
      // A change of state is news for the channels that already showed the Issue; a paging channel's incident stays open.
      const news = subscribed && transition !== entry.transition && transition !== 'detected';
      const pending = news
        ? union(
            entry.pending,
            entry.announcedTo.filter((c) => messaging.includes(c)),
          )
        : entry.pending;
      return { ...entry, issue, transition: news ? transition : entry.transition, pending, sources };
    }
    case 'acknowledged': {
      if (entry === undefined || !entry.firing) return entry === undefined ? undefined : { ...entry, issue, sources };
      const pagers = channels.filter(isPagingChannel).map((c) => c.name);
      const told = entry.announcedTo.filter((c) => pagers.includes(c) || (subscribed && messaging.includes(c)));
      return {
        ...entry,
        issue,
        transition: subscribed ? transition : entry.transition,
        pending: union(entry.pending, without(told, entry.acknowledgedTo)),
        sources,
      };
    }
    case 'resolved': {
      if (entry === undefined) {
        // Never announced: only a rule that asked for resolutions hears of it, and no paging channel has anything open.
        if (!subscribed) return undefined;
        return {
          issue,
          firing: false,
          transition,
          pending: messaging,
          announcedTo: [],
          acknowledgedTo: [],
          sources,
        };
      }
      if (!entry.firing) return { ...entry, sources };
      const informational = subscribed ? messaging : [];
      return {
        ...entry,
        issue,
        firing: false,
        transition,
        pending: union(entry.announcedTo, informational),
        sources,
      };
    }
  }
}

/** When the group next has something to repeat: the earliest channel whose repeat interval has run out. */
function nextRepeat(state: NotificationGroupState): string | null {
  if (state.grouping === null) return null;
  let next: string | null = null;
  for (const channel of state.channels) {
    if (isPagingChannel(channel)) continue;
    const last = state.lastSentAt[channel.name];
    if (last === undefined) continue;
    const firing = Object.values(state.issues).some((i) => i.firing && i.announcedTo.includes(channel.name));
    if (!firing) continue;
    next = earliest(next, plusMs(last, state.grouping.repeatIntervalSeconds * 1000));
  }
  return next;
}

const hasPending = (state: NotificationGroupState) => Object.values(state.issues).some((i) => i.pending.length > 0);

/** The flush the group owes after a change at `at`: Alertmanager's group wait, then group interval. */
function flushAfterChange(state: NotificationGroupState, at: string): string | null {
  if (!hasPending(state) || state.grouping === null) return nextRepeat(state);
  const { groupWaitSeconds, groupIntervalSeconds } = state.grouping;
  const interval = state.lastFlushAt === null ? null : plusMs(state.lastFlushAt, groupIntervalSeconds * 1000);
  const candidate =
    state.lastFlushAt === null
      ? plusMs(at, groupWaitSeconds * 1000)
      : interval !== null && Date.parse(interval) > Date.parse(at)
        ? interval
        : at;
  return earliest(state.flushAt, candidate);
}

function applyTransition(state: NotificationGroupState, data: NotificationTransitionRecordedData) {
  const entry = track(state.issues[data.issue.issueId], data, data.channels);
  const issues = { ...state.issues };
  if (entry === undefined) delete issues[data.issue.issueId];
  else issues[data.issue.issueId] = entry;
  return {
    ...state,
    groupId: data.groupId,
    policy: data.policy,
    groupKey: data.groupKey,
    channels: data.channels,
    grouping: data.grouping,
    issues,
  };
}

function applyDecision(state: NotificationGroupState, deliveries: readonly NotificationDelivery[], at: string) {
  const issues: Record<string, TrackedIssue> = { ...state.issues };
  const lastSentAt = { ...state.lastSentAt };
  for (const delivery of deliveries) {
    const channel = delivery.channel.name;
    if (!isPagingChannel(delivery.channel)) lastSentAt[channel] = at;
    for (const told of delivery.issues) {
      const entry = issues[told.issue.issueId];
      if (entry === undefined || !told.changed) continue;
      const acknowledged = delivery.pagingAction === 'acknowledge';
      // A trigger leaves the acknowledgement pending: the pager must see them in that order, so on the next flush.
      const ackStillOwed =
        delivery.pagingAction === 'trigger' && entry.issue.acknowledgedBy !== undefined && entry.firing;
      issues[told.issue.issueId] = {
        ...entry,
        pending: ackStillOwed ? entry.pending : without(entry.pending, [channel]),
        announcedTo: told.status === 'firing' ? union(entry.announcedTo, [channel]) : entry.announcedTo,
        acknowledgedTo: acknowledged ? union(entry.acknowledgedTo, [channel]) : entry.acknowledgedTo,
      };
    }
  }
  for (const [id, entry] of Object.entries(issues)) {
    if (!entry.firing && entry.pending.length === 0) delete issues[id];
  }
  return { ...state, issues, lastSentAt, lastFlushAt: at };
}

/** What the group owes each channel at `at`, in the order the channels are declared. */
function deliveriesAt(state: NotificationGroupState, notificationId: string, at: string): NotificationDelivery[] {
  const deliveries: NotificationDelivery[] = [];
  const entries = Object.values(state.issues).sort(
    (a, b) =>
      Date.parse(a.issue.detectedAt) - Date.parse(b.issue.detectedAt) || (a.issue.issueId < b.issue.issueId ? -1 : 1),
  );
  for (const channel of state.channels) {
    if (isPagingChannel(channel)) {
      for (const entry of entries) {
        if (!entry.pending.includes(channel.name)) continue;
        const announced = entry.announcedTo.includes(channel.name);
        const action = !entry.firing ? 'resolve' : !announced ? 'trigger' : 'acknowledge';
        if (!entry.firing && !announced) continue;
        deliveries.push({
          deliveryId: `${notificationId}-${channel.name}-${entry.issue.issueId}`,
          channel,
          repeat: false,
          issues: [
            {
              issue: entry.issue,
              status: entry.firing ? 'firing' : 'resolved',
              transition: entry.transition,
              changed: true,
            },
          ],
          omitted: 0,
          pagingAction: action,
        });
      }
      continue;
    }
    const changed = entries.filter((e) => e.pending.includes(channel.name));
    const last = state.lastSentAt[channel.name];
    const firingShown = entries.filter((e) => e.firing && e.announcedTo.includes(channel.name));
    const repeatDue =
      changed.length === 0 &&
      firingShown.length > 0 &&
      last !== undefined &&
      state.grouping !== null &&
      Date.parse(last) + state.grouping.repeatIntervalSeconds * 1000 <= Date.parse(at);
    if (changed.length === 0 && !repeatDue) continue;
    // Changes first, then what is still firing; resolved Issues only when this message tells of their end.
    const shown = [...changed, ...firingShown.filter((e) => !changed.includes(e))];
    const listed = shown.slice(0, MAX_ISSUES_PER_MESSAGE);
    deliveries.push({
      deliveryId: `${notificationId}-${channel.name}`,
      channel,
      repeat: changed.length === 0,
      issues: listed.map((entry) => ({
        issue: entry.issue,
        status: entry.firing ? 'firing' : 'resolved',
        transition: entry.transition,
        changed: changed.includes(entry),
      })),
      omitted: shown.length - listed.length,
    });
  }
  return deliveries;
}

/** Deliveries that may be attempted at `at`: due, and none decided earlier for the same channel and Issue waiting. */
export function dueDeliveries(state: NotificationGroupState, at: string): DeliveryInProgress[] {
  const inProgress = Object.values(state.deliveries).sort((a, b) => a.sequence - b.sequence);
  const due: DeliveryInProgress[] = [];
  const blocked = new Set<string>();
  for (const d of inProgress) {
    const keys = isPagingChannel(d.delivery.channel)
      ? d.delivery.issues.map((i) => `${d.delivery.channel.name}/${i.issue.issueId}`)
      : [d.delivery.channel.name];
    const waiting = keys.some((k) => blocked.has(k));
    for (const k of keys) blocked.add(k);
    if (waiting) continue;
    if (d.retryAt === null || Date.parse(d.retryAt) <= Date.parse(at)) due.push(d);
  }
  return due;
}

function evolve(state: NotificationGroupState, event: NotificationEvent): NotificationGroupState {
  switch (event.type) {
    case 'NotificationTransitionRecorded':
      return { ...applyTransition(state, event.data), flushAt: event.data.flushAt ?? null };
    case 'NotificationDecided': {
      const at = event.metadata.occurredAt;
      const next = applyDecision(state, event.data.deliveries, at);
      const sequence = state.decisions + 1;
      const deliveries = { ...state.deliveries };
      for (const delivery of event.data.deliveries) {
        deliveries[delivery.deliveryId] = {
          notificationId: event.data.notificationId,
          decidedAt: at,
          delivery,
          attempts: 0,
          retryAt: null,
          sequence,
        };
      }
      // A test message's stream starts with its decision: the policy comes from it.
      const policy = state.policy ?? event.data.policy;
      const groupKey = state.groupKey || event.data.groupKey;
      return { ...next, policy, groupKey, deliveries, decisions: sequence, flushAt: event.data.flushAt ?? null };
    }
    case 'NotificationGroupSettled':
      return { ...state, flushAt: event.data.flushAt ?? null, lastFlushAt: event.metadata.occurredAt };
    case 'NotificationDelivered': {
      const deliveries = { ...state.deliveries };
      delete deliveries[event.data.deliveryId];
      return { ...state, deliveries };
    }
    case 'NotificationFailed': {
      const current = state.deliveries[event.data.deliveryId];
      if (current === undefined) return state;
      const deliveries = { ...state.deliveries };
      if (event.data.retryAt === undefined) delete deliveries[event.data.deliveryId];
      else
        deliveries[event.data.deliveryId] = { ...current, attempts: event.data.attempt, retryAt: event.data.retryAt };
      return { ...state, deliveries };
    }
    default:
      return state;
  }
}

function decide(command: NotificationCommand, state: NotificationGroupState): NotificationEvent[] {
  const at = command.metadata.occurredAt;
  const metadata = { ...command.metadata };
  switch (command.type) {
    case 'RecordTransition': {
      requireInstant(at, 'occurredAt');
      const data = command.data;
      const entry = state.issues[data.issue.issueId];
      if (entry?.sources.includes(data.sourceEventId)) return [];
      const draft: NotificationTransitionRecordedData = { ...data };
      const applied = applyTransition(state, draft);
      // Nothing changes for an Issue the group neither tracks nor was asked about.
      if (entry === undefined && applied.issues[data.issue.issueId] === undefined) return [];
      const flushAt = flushAfterChange(applied, at);
      return [
        {
          type: 'NotificationTransitionRecorded',
          data: { ...draft, ...(flushAt === null ? {} : { flushAt }) },
          metadata,
        },
      ];
    }
    case 'FlushGroup': {
      const now = requireInstant(at, 'occurredAt');
      if (state.flushAt === null || Date.parse(state.flushAt) > now || state.policy === null) return [];
      const notificationId = `${state.groupId}-${state.decisions + 1}`;
      const deliveries = deliveriesAt(state, notificationId, at);
      const after = { ...applyDecision(state, deliveries, at), flushAt: null };
      const flushAt = hasPending(after) ? flushAfterChange(after, at) : nextRepeat(after);
      const next = flushAt === null ? {} : { flushAt };
      if (deliveries.length === 0) return [{ type: 'NotificationGroupSettled', data: next, metadata }];
      return [
        {
          type: 'NotificationDecided',
          data: { notificationId, groupKey: state.groupKey, policy: state.policy, deliveries, ...next },
          metadata,
        },
      ];
    }
    case 'RecordDeliveryOutcome': {
      requireInstant(at, 'occurredAt');
      const data = command.data;
      if (data.outcome === 'delivered' && data.statusCode === undefined) {
        throw invalid('notification.status_required', 'a delivery has a status');
      }
      const current = state.deliveries[data.deliveryId];
      const outcome =
        current && attemptOutcome(data, current.delivery.channel.name, current.attempts, at, MAX_DELIVERY_ATTEMPTS);
      if (!outcome) return [];
      return outcome.delivered
        ? [{ type: 'NotificationDelivered', data: outcome.delivered, metadata }]
        : [{ type: 'NotificationFailed', data: outcome.failed, metadata }];
    }
    default: {
      const unhandled: never = command;
      throw invalid('command.unknown', `unknown command ${(unhandled as { type: string }).type}`);
    }
  }
}

export const notificationDecider: Decider<NotificationGroupState, NotificationCommand, NotificationEvent> = {
  initialState: initialNotificationGroupState,
  evolve,
  decide,
};
