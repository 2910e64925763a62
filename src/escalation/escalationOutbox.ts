import type { EscalationCommand } from '../../domain/escalation/escalation.commands.ts';
import {
  duePages,
  type EscalationEvent,
  type EscalationState,
  EscalationStatus,
  escalationDecider,
  type PageInProgress,
} from '../../domain/escalation/escalation.decider.ts';
import type { NotificationDelivery } from '../../domain/events/notification.events.ts';
import type { RecordedEvent } from '../../domain/messages.ts';
import { StreamCategory } from '../../domain/streams.ts';
import { createCommandHandler } from '../application/commandHandler.ts';
import type { ChannelMessage } from '../notifications/channels/channel.ts';
import type { OutboxSend, OutboxSource } from '../notifications/notificationOutbox.ts';
import type { EventStore } from '../ports/eventStore.ts';

/** The words a level's message carries where a notification shows its group key. */
export const escalationHeadline = (state: EscalationState, level: number): string => {
  const name = state.levels[level - 1]?.name ?? String(level);
  const policy = state.policy ? ` of EscalationPolicy ${state.policy.namespace}/${state.policy.name}` : '';
  return `escalation level ${level}/${state.levels.length} (${name})${policy}`;
};

/** A decided page as the channels render it: the same ChannelMessage as a notification, one Issue in it. */
export function pageMessage(state: EscalationState, page: PageInProgress): ChannelMessage | undefined {
  if (state.issue === null || state.notificationPolicy === null) return undefined;
  const d = page.delivery;
  const delivery: NotificationDelivery = {
    deliveryId: d.deliveryId,
    channel: d.channel,
    repeat: d.repeat,
    issues: [
      {
        issue: {
          ...state.issue,
          ...(d.transition === 'acknowledged' && state.acknowledgedBy ? { acknowledgedBy: state.acknowledgedBy } : {}),
        },
        status: d.status,
        transition: d.transition,
        changed: true,
      },
    ],
    omitted: 0,
    ...(d.action === undefined ? {} : { pagingAction: d.action }),
  };
  return {
    notificationId: `${state.issueId}-${page.sequence}`,
    delivery,
    policy: {
      namespace: state.notificationPolicy.namespace,
      name: state.notificationPolicy.name,
      rule: state.levels[d.level - 1]?.name ?? 'escalation',
    },
    groupKey: escalationHeadline(state, d.level),
    decidedAt: page.decidedAt,
    attempt: page.attempts + 1,
  };
}

/**
 * Escalation streams as a source of the notification outbox: the outbox folds them from the log, asks the decider
 * again when a recorded deadline passes (FireEscalationDeadline, which pages only if that deadline is still the
 * current one), and sends each decided page through the NotificationPolicy's channels with their retries.
 */
export function escalationOutboxSource(store: EventStore): OutboxSource<EscalationState> {
  const handle = createCommandHandler<EscalationState, EscalationCommand, EscalationEvent>(store, escalationDecider, {
    maxAttempts: 5,
  });
  return {
    name: 'escalation',
    prefix: `${StreamCategory.Escalation}-`,
    initialState: escalationDecider.initialState,
    evolve: (state, event: RecordedEvent) => escalationDecider.evolve(state, event as unknown as EscalationEvent),
    deadline: (state) =>
      state.status === EscalationStatus.Active || state.status === EscalationStatus.Snoozed ? state.deadline : null,
    finished: (state) => state.status === EscalationStatus.Resolved && Object.keys(state.deliveries).length === 0,
    fire: (stream, state, metadata) =>
      handle(stream, { type: 'FireEscalationDeadline', data: { deadline: state.deadline ?? '' }, metadata }),
    pending: (state, at) =>
      duePages(state, at).flatMap((page): OutboxSend[] => {
        const message = pageMessage(state, page);
        return message === undefined
          ? []
          : [{ id: page.delivery.deliveryId, channel: page.delivery.channel.name, attempt: message.attempt, message }];
      }),
    record: (stream, send, result, jitter, metadata) =>
      handle(stream, {
        type: 'RecordDeliveryOutcome',
        data: {
          deliveryId: send.id,
          attempt: send.attempt,
          outcome: result.ok ? 'delivered' : 'failed',
          ...(result.statusCode === undefined ? {} : { statusCode: result.statusCode }),
          latencyMs: result.latencyMs,
          error: result.error,
          retryable: result.retryable,
          ...(result.retryAfterSeconds === undefined ? {} : { retryAfterSeconds: result.retryAfterSeconds }),
          jitter,
        },
        metadata,
      }),
  };
}
