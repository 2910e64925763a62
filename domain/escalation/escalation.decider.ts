import type {
  EscalationAcknowledged,
  EscalationDelivery,
  EscalationLevel,
  EscalationLevelPaged,
  EscalationPageDelivered,
  EscalationPageFailed,
  EscalationPolicyRef,
  EscalationResolved,
  EscalationSnoozed,
  EscalationStarted,
  EscalationUnsnoozed,
} from '../events/escalation.events.ts';
import type { NotificationChannelRef, NotifiedIssue } from '../events/notification.events.ts';
import type { Decider } from '../messages.ts';
import { MAX_DELIVERY_ATTEMPTS } from '../notification/notification.decider.ts';
import { attemptOutcome } from '../notification/retry.policy.ts';
import { invalid } from '../refusals.ts';
import { plusMs, requireInstant } from '../time.ts';
import type { EscalationCommand } from './escalation.commands.ts';

export type EscalationEvent =
  | EscalationStarted
  | EscalationLevelPaged
  | EscalationAcknowledged
  | EscalationSnoozed
  | EscalationUnsnoozed
  | EscalationResolved
  | EscalationPageDelivered
  | EscalationPageFailed;

export const EscalationStatus = {
  /** No policy has taken the Issue. */
  None: 'none',
  /** A level is paged and the next is due at `deadline`. */
  Active: 'active',
  /** The clock is stopped until `snoozedUntil`; `deadline` already counts the time that was left. */
  Snoozed: 'snoozed',
  /** The last level was paged and the policy does not repeat it: nothing more is due. */
  Exhausted: 'exhausted',
  Acknowledged: 'acknowledged',
  Resolved: 'resolved',
} as const;
export type EscalationStatus = (typeof EscalationStatus)[keyof typeof EscalationStatus];

export interface PageInProgress {
  readonly decidedAt: string;
  readonly delivery: EscalationDelivery;
  /** Attempts made so far; the next one is `attempts + 1`. */
  readonly attempts: number;
  /** Null until a try failed; then when the next is due. */
  readonly retryAt: string | null;
  /** Order of decision: a channel hears of the Issue in the order things happened. */
  readonly sequence: number;
}

export interface EscalationState {
  readonly issueId: string;
  readonly status: EscalationStatus;
  readonly policy: EscalationPolicyRef | null;
  readonly notificationPolicy: { readonly namespace: string; readonly name: string } | null;
  readonly levels: readonly EscalationLevel[];
  readonly repeatEverySeconds: number | null;
  readonly issue: NotifiedIssue | null;
  /** The level paged last (1-based); 0 before the first page. */
  readonly level: number;
  readonly levelSince: string | null;
  readonly pages: number;
  readonly deadline: string | null;
  readonly snoozedUntil: string | null;
  readonly remainingSeconds: number | null;
  /** Channels told the Issue is firing, at any level: each is told when it is acknowledged and when it ends. */
  readonly told: readonly NotificationChannelRef[];
  readonly acknowledgedBy: string | null;
  readonly startedAt: string | null;
  readonly endedAt: string | null;
  readonly deliveries: Readonly<Record<string, PageInProgress>>;
  readonly decisions: number;
  /** The latest EscalateNow requests answered, to recognise one sent twice. */
  readonly requests: readonly string[];
}

export const initialEscalationState = (): EscalationState => ({
  issueId: '',
  status: EscalationStatus.None,
  policy: null,
  notificationPolicy: null,
  levels: [],
  repeatEverySeconds: null,
  issue: null,
  level: 0,
  levelSince: null,
  pages: 0,
  deadline: null,
  snoozedUntil: null,
  remainingSeconds: null,
  told: [],
  acknowledgedBy: null,
  startedAt: null,
  endedAt: null,
  deliveries: {},
  decisions: 0,
  requests: [],
});

/** Channels that keep one incident per Issue on the vendor's side and take an action instead of a message. */
export const isPagingChannel = (channel: NotificationChannelRef): boolean =>
  ['pagerduty', 'opsgenie'].includes(channel.type as string);

const running = (status: EscalationStatus) =>
  status === EscalationStatus.Active || status === EscalationStatus.Snoozed || status === EscalationStatus.Exhausted;

/** When the level after `level` (or its repeat) is due, counted from `at`; null when nothing follows. */
function deadlineAfter(state: EscalationState, level: number, at: string): string | null {
  const current = state.levels[level - 1];
  if (level < state.levels.length) {
    return current?.escalateAfterSeconds === undefined ? null : plusMs(at, current.escalateAfterSeconds * 1000);
  }
  return state.repeatEverySeconds === null ? null : plusMs(at, state.repeatEverySeconds * 1000);
}

function page(
  state: EscalationState,
  level: number,
  reason: EscalationLevelPaged['data']['reason'],
  at: string,
  metadata: EscalationLevelPaged['metadata'],
  detail?: string,
  requestId?: string,
): EscalationLevelPaged {
  const spec = state.levels[level - 1];
  if (spec === undefined) throw invalid('escalation.no_level', `the escalation has no level ${level}`);
  const repeat = level <= state.level;
  const sequence = state.decisions + 1;
  const deliveries: EscalationDelivery[] = spec.channels.map((channel) => ({
    deliveryId: `${state.issueId}-${sequence}-${channel.name}`,
    channel,
    level,
    status: 'firing',
    transition: level === 1 && reason === 'started' && state.pages === 0 ? 'detected' : 'escalated',
    repeat,
    ...(isPagingChannel(channel) ? { action: 'trigger' as const } : {}),
  }));
  const nextDeadline = deadlineAfter(state, level, at);
  return {
    type: 'EscalationLevelPaged',
    data: {
      level,
      levelName: spec.name,
      reason,
      ...(detail === undefined ? {} : { detail: detail.slice(0, 2_000) }),
      ...(requestId === undefined ? {} : { requestId }),
      deliveries,
      ...(nextDeadline === null ? {} : { nextDeadline }),
    },
    metadata,
  };
}

/** What every channel already paged is told when the escalation ends or is acknowledged. */
function tellPaged(state: EscalationState, how: 'acknowledged' | 'resolved'): EscalationDelivery[] {
  const sequence = state.decisions + 1;
  return state.told.map((channel) => ({
    deliveryId: `${state.issueId}-${sequence}-${channel.name}`,
    channel,
    level: Math.max(1, state.level),
    status: how === 'resolved' ? 'resolved' : 'firing',
    transition: how,
    repeat: false,
    ...(isPagingChannel(channel)
      ? { action: how === 'resolved' ? ('resolve' as const) : ('acknowledge' as const) }
      : {}),
  }));
}

function withDeliveries(state: EscalationState, deliveries: readonly EscalationDelivery[], at: string) {
  const sequence = state.decisions + 1;
  const inProgress = { ...state.deliveries };
  for (const delivery of deliveries) {
    inProgress[delivery.deliveryId] = { decidedAt: at, delivery, attempts: 0, retryAt: null, sequence };
  }
  return { deliveries: inProgress, decisions: sequence };
}

/** Deliveries that may be attempted at `at`: due, and none decided earlier for the same channel still waiting. */
export function duePages(state: EscalationState, at: string): PageInProgress[] {
  const due: PageInProgress[] = [];
  const blocked = new Set<string>();
  for (const d of Object.values(state.deliveries).sort((a, b) => a.sequence - b.sequence)) {
    const key = d.delivery.channel.name;
    const waiting = blocked.has(key);
    blocked.add(key);
    if (waiting) continue;
    if (d.retryAt === null || Date.parse(d.retryAt) <= Date.parse(at)) due.push(d);
  }
  return due;
}

function evolve(state: EscalationState, event: EscalationEvent): EscalationState {
  const at = event.metadata.occurredAt;
  switch (event.type) {
    case 'EscalationStarted': {
      const d = event.data;
      return {
        ...state,
        issueId: d.issueId,
        status: EscalationStatus.Active,
        policy: d.policy,
        notificationPolicy: d.notificationPolicy,
        levels: d.levels,
        repeatEverySeconds: d.repeatLastLevelEverySeconds ?? null,
        issue: d.issue,
        startedAt: at,
      };
    }
    case 'EscalationLevelPaged': {
      const told = [...state.told];
      for (const d of event.data.deliveries) {
        if (!told.some((c) => c.name === d.channel.name)) told.push(d.channel);
      }
      return {
        ...state,
        ...withDeliveries(state, event.data.deliveries, at),
        status: event.data.nextDeadline === undefined ? EscalationStatus.Exhausted : EscalationStatus.Active,
        level: event.data.level,
        levelSince: at,
        pages: state.pages + 1,
        deadline: event.data.nextDeadline ?? null,
        snoozedUntil: null,
        remainingSeconds: null,
        acknowledgedBy: null,
        told,
        requests:
          event.data.requestId === undefined ? state.requests : [...state.requests, event.data.requestId].slice(-16),
      };
    }
    case 'EscalationAcknowledged':
      return {
        ...state,
        ...withDeliveries(state, event.data.deliveries, at),
        status: EscalationStatus.Acknowledged,
        acknowledgedBy: event.data.acknowledgedBy,
        deadline: null,
        snoozedUntil: null,
        remainingSeconds: null,
      };
    case 'EscalationSnoozed':
      return {
        ...state,
        status: EscalationStatus.Snoozed,
        snoozedUntil: event.data.until,
        remainingSeconds: event.data.remainingSeconds,
        deadline: event.data.nextDeadline,
      };
    case 'EscalationUnsnoozed':
      return {
        ...state,
        status: EscalationStatus.Active,
        snoozedUntil: null,
        remainingSeconds: null,
        deadline: event.data.nextDeadline,
      };
    case 'EscalationResolved':
      return {
        ...state,
        ...withDeliveries(state, event.data.deliveries, at),
        status: EscalationStatus.Resolved,
        deadline: null,
        snoozedUntil: null,
        remainingSeconds: null,
        endedAt: at,
      };
    case 'EscalationPageDelivered': {
      const deliveries = { ...state.deliveries };
      delete deliveries[event.data.deliveryId];
      return { ...state, deliveries };
    }
    case 'EscalationPageFailed': {
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

function decide(command: EscalationCommand, state: EscalationState): EscalationEvent[] {
  const at = command.metadata.occurredAt;
  const now = requireInstant(at, 'occurredAt');
  const metadata = { ...command.metadata };
  switch (command.type) {
    case 'StartEscalation': {
      // One escalation per Issue: it is started once, whatever asks again (a replayed event, a second replica).
      if (state.status !== EscalationStatus.None) return [];
      const d = command.data;
      d.levels.forEach((level, i) => {
        if (i < d.levels.length - 1 && level.escalateAfterSeconds === undefined) {
          throw invalid('escalation.timeout_required', `level ${level.name} needs a timeout: a level follows it`);
        }
      });
      const started: EscalationStarted = { type: 'EscalationStarted', data: d, metadata };
      const after = evolve(state, started);
      return [started, page(after, 1, 'started', at, metadata)];
    }
    case 'FireEscalationDeadline': {
      if (state.deadline === null || command.data.deadline !== state.deadline) return [];
      if (Date.parse(state.deadline) > now) return [];
      if (state.status !== EscalationStatus.Active && state.status !== EscalationStatus.Snoozed) return [];
      const next = state.level < state.levels.length ? state.level + 1 : state.level;
      return [page(state, next, next === state.level ? 'repeat' : 'timeout', at, metadata)];
    }
    case 'EscalateNow': {
      if (!running(state.status) && state.status !== EscalationStatus.Acknowledged) return [];
      const { requestId, reason } = command.data;
      if (requestId !== undefined && state.requests.includes(requestId)) return [];
      const next = Math.min(state.level + 1, state.levels.length);
      return [page(state, next, 'requested', at, metadata, reason, requestId)];
    }
    case 'AcknowledgeEscalation': {
      if (!running(state.status)) return [];
      return [
        {
          type: 'EscalationAcknowledged',
          data: { acknowledgedBy: command.data.acknowledgedBy, deliveries: tellPaged(state, 'acknowledged') },
          metadata,
        },
      ];
    }
    case 'SnoozeEscalation': {
      const until = requireInstant(command.data.until, 'until');
      const snoozable = state.status === EscalationStatus.Active || state.status === EscalationStatus.Snoozed;
      if (!snoozable || state.deadline === null || until <= now) return [];
      // A snooze over a snooze keeps the time that was left when the clock first stopped.
      const remainingMs =
        state.status === EscalationStatus.Snoozed && state.remainingSeconds !== null
          ? state.remainingSeconds * 1000
          : Math.max(0, Date.parse(state.deadline) - now);
      const untilIso = new Date(until).toISOString();
      const nextDeadline = plusMs(untilIso, remainingMs);
      if (nextDeadline === null) throw invalid('escalation.invalid_snooze', `cannot snooze until ${untilIso}`);
      return [
        {
          type: 'EscalationSnoozed',
          data: { until: untilIso, remainingSeconds: remainingMs / 1000, nextDeadline },
          metadata,
        },
      ];
    }
    case 'UnsnoozeEscalation': {
      if (state.status !== EscalationStatus.Snoozed || state.remainingSeconds === null) return [];
      const nextDeadline = plusMs(at, state.remainingSeconds * 1000);
      if (nextDeadline === null || state.deadline === null || Date.parse(nextDeadline) >= Date.parse(state.deadline))
        return [];
      return [{ type: 'EscalationUnsnoozed', data: { nextDeadline }, metadata }];
    }
    case 'ResolveEscalation': {
      if (!running(state.status) && state.status !== EscalationStatus.Acknowledged) return [];
      return [{ type: 'EscalationResolved', data: { deliveries: tellPaged(state, 'resolved') }, metadata }];
    }
    case 'RecordDeliveryOutcome': {
      const data = command.data;
      if (data.outcome === 'delivered' && data.statusCode === undefined) {
        throw invalid('escalation.status_required', 'a delivery has a status');
      }
      const current = state.deliveries[data.deliveryId];
      const outcome =
        current && attemptOutcome(data, current.delivery.channel.name, current.attempts, at, MAX_DELIVERY_ATTEMPTS);
      if (!outcome) return [];
      return outcome.delivered
        ? [{ type: 'EscalationPageDelivered', data: outcome.delivered, metadata }]
        : [{ type: 'EscalationPageFailed', data: outcome.failed, metadata }];
    }
    default: {
      const unhandled: never = command;
      throw invalid('command.unknown', `unknown command ${(unhandled as { type: string }).type}`);
    }
  }
}

export const escalationDecider: Decider<EscalationState, EscalationCommand, EscalationEvent> = {
  initialState: initialEscalationState,
  evolve,
  decide,
};
