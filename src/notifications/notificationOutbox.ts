import type { NotificationPolicyRef } from '../../domain/events/notification.events.ts';
import type { MessageMetadata, RecordedEvent } from '../../domain/messages.ts';
import type { NotificationCommand } from '../../domain/notification/notification.commands.ts';
import {
  type DeliveryInProgress,
  dueDeliveries,
  type NotificationEvent,
  type NotificationGroupState,
  notificationDecider,
} from '../../domain/notification/notification.decider.ts';
import { StreamCategory } from '../../domain/streams.ts';
import { createCommandHandler } from '../application/commandHandler.ts';
import type { EventStore, Subscription } from '../ports/eventStore.ts';
import type { ChannelMessage, SendResult } from './channels/channel.ts';

export type Send = (message: ChannelMessage, channel: string) => Promise<SendResult>;

/** One send another kind of stream owes: its message, rendered by the same channel code as a notification. */
export interface OutboxSend {
  readonly id: string;
  readonly channel: string;
  /** Which attempt this is, 1 for the first. */
  readonly attempt: number;
  readonly message: ChannelMessage;
}

export interface OutboxSourceOutcome<S> {
  readonly state: S;
  readonly revision: bigint | 'no_stream';
}

/**
 * Another kind of stream whose deadlines and deliveries this outbox serves (escalations): folded from the log like
 * the groups, its deadline put to its own decider when it passes, and its deliveries sent on the same channels, with
 * the same per-channel limits, and recorded by its own command. Methods, so a source of any state fits the list.
 */
export interface OutboxSource<S> {
  readonly name: string;
  readonly prefix: string;
  initialState(): S;
  evolve(state: S, event: RecordedEvent): S;
  /** The recorded instant at which the stream wants its decider asked again; null when nothing is due. */
  deadline(state: S): string | null;
  /** Nothing will ever be due or sent again: the outbox forgets the stream, so memory follows what is open. */
  finished?(state: S): boolean;
  fire(stream: string, state: S, metadata: MessageMetadata): Promise<OutboxSourceOutcome<S>>;
  pending(state: S, at: string): readonly OutboxSend[];
  record(
    stream: string,
    send: OutboxSend,
    result: SendResult,
    jitter: number,
    metadata: MessageMetadata,
  ): Promise<OutboxSourceOutcome<S>>;
}

export interface NotificationOutboxOptions {
  readonly store: EventStore;
  readonly send: Send;
  readonly now: () => Date;
  /** In [0, 1): the jitter of retry delays. */
  readonly random?: () => number;
  /** How often deadlines are looked at; they are recorded instants, so a slower tick only delays, never loses. */
  readonly tickMs?: number;
  /** Requests in flight per channel; a slow channel waits on itself, not on the others. */
  readonly perChannel?: number;
  readonly onError?: (what: string, error: unknown) => void;
  readonly log?: (line: string) => void;
  /** Other streams served by this outbox (see OutboxSource). */
  readonly sources?: readonly OutboxSource<unknown>[];
}

export interface NotificationOutbox {
  /** Resolves once the groups' history is read and deadlines are looked at. */
  readonly live: Promise<void>;
  /** Fires what is due now and waits for the sends it started; for tests and shutdown. */
  tick(): Promise<void>;
  /** Groups held in memory: those with a flush to come or a delivery in progress. */
  openGroups(): number;
  stop(): Promise<void>;
}

interface Group {
  state: NotificationGroupState;
  revision: bigint;
}

const prefix = `${StreamCategory.Notification}-`;

const hasDeliveries = (state: NotificationGroupState) => {
  for (const _ in state.deliveries) return true;
  return false;
};
/** A flush to come or a delivery in progress: without either, nothing in the group will ever be due by itself. */
const hasWork = (state: NotificationGroupState) => state.flushAt !== null || hasDeliveries(state);
/** How soon after a send ends the outbox looks for the next due message. */
const KICK_MS = 20;

/**
 * The notification outbox. Every group's stream is folded into memory from the start of the log (its own
 * projection, rebuilt at every start, so nothing lives only here): a recorded flush deadline that has passed is
 * put to the group's decider, and a decided delivery with no outcome yet, or a failed one whose retry is due, is
 * sent and its outcome recorded. A crash between a send and its record sends again (at least once); PagerDuty's
 * dedup key and the webhook's delivery id make that second copy harmless.
 */
export function startNotificationOutbox(options: NotificationOutboxOptions): NotificationOutbox {
  const random = options.random ?? Math.random;
  const perChannel = options.perChannel ?? 4;
  const handle = createCommandHandler(options.store, notificationDecider, { maxAttempts: 5 });
  // Only the groups with a flush to come or a delivery in progress are held: a group with nothing left to do is
  // forgotten, and read back from its stream if it ever gets another event, so memory follows what is open rather
  // than every group the log has ever had.
  const groups = new Map<string, Group>();
  const keep = (stream: string, group: Group) => {
    if (hasWork(group.state)) groups.set(stream, group);
    else groups.delete(stream);
  };
  const inFlight = new Map<string, Promise<void>>();
  const flushing = new Set<string>();
  const busy = new Map<string, number>();
  const sources = options.sources ?? [];
  const others = new Map<string, { source: OutboxSource<unknown>; state: unknown; revision: bigint }>();
  let stopped = false;
  let markLive: () => void = () => {};
  const live = new Promise<void>((resolve) => {
    markLive = resolve;
  });

  const fold = (stream: string, event: RecordedEvent) => {
    const source = sources.find((s) => stream.startsWith(s.prefix));
    if (source !== undefined) {
      const entry = others.get(stream) ?? { source, state: source.initialState(), revision: -1n };
      if (event.revision <= entry.revision) return;
      entry.state = source.evolve(entry.state, event);
      entry.revision = event.revision;
      if (source.finished?.(entry.state)) others.delete(stream);
      else others.set(stream, entry);
      return;
    }
    const known = groups.get(stream);
    if (known === undefined && event.revision > 0n) return recall(stream);
    const group = known ?? { state: notificationDecider.initialState(), revision: -1n };
    if (event.revision <= group.revision) return;
    group.state = notificationDecider.evolve(group.state, event as unknown as NotificationEvent);
    group.revision = event.revision;
    keep(stream, group);
  };

  /**
   * A group forgotten (or never held) that has a new event: its whole stream is folded again. The subscription
   * waits for this, so the events after it are skipped by revision instead of folded onto a partial state.
   */
  const recall = async (stream: string) => {
    let group: Group = { state: notificationDecider.initialState(), revision: -1n };
    for (const event of await options.store.readStream(stream)) {
      group = {
        state: notificationDecider.evolve(group.state, event as unknown as NotificationEvent),
        revision: event.revision,
      };
    }
    const held = groups.get(stream);
    if (held === undefined || group.revision > held.revision) keep(stream, group);
  };

  const command = async (stream: string, cmd: NotificationCommand) => {
    const outcome = await handle(stream, cmd);
    // What the decider just saw is newer than the fold may be: use it, and let the subscription skip what it holds.
    if (typeof outcome.revision === 'bigint') {
      const group = groups.get(stream);
      if (group === undefined || outcome.revision > group.revision) {
        keep(stream, { state: outcome.state, revision: outcome.revision });
      }
    }
    return outcome;
  };

  const meta = () => ({ occurredAt: options.now().toISOString(), actor: 'system:notifications' });

  const adopt = (stream: string, outcome: OutboxSourceOutcome<unknown>) => {
    const entry = others.get(stream);
    if (entry !== undefined && typeof outcome.revision === 'bigint' && outcome.revision > entry.revision) {
      entry.state = outcome.state;
      entry.revision = outcome.revision;
      if (entry.source.finished?.(entry.state)) others.delete(stream);
    }
  };

  /** The deadlines and deliveries of the other sources, on the same terms as the groups'. */
  const tickSources = async (at: Date) => {
    const iso = at.toISOString();
    const fires: Promise<unknown>[] = [];
    for (const [stream, entry] of others) {
      const due = entry.source.deadline(entry.state);
      if (due === null || Date.parse(due) > at.getTime() || flushing.has(stream)) continue;
      flushing.add(stream);
      fires.push(
        entry.source
          .fire(stream, entry.state, { ...meta(), actor: `system:${entry.source.name}` })
          .then((outcome) => adopt(stream, outcome))
          .catch((error) => options.onError?.(`${entry.source.name} ${stream}`, error))
          .finally(() => flushing.delete(stream)),
      );
    }
    await Promise.all(fires);
    for (const [stream, entry] of others) {
      for (const send of entry.source.pending(entry.state, iso)) {
        const { policy } = send.message;
        const channelKey = `${policy.namespace}/${policy.name}/${send.channel}`;
        if (inFlight.has(send.id) || (busy.get(channelKey) ?? 0) >= perChannel) continue;
        busy.set(channelKey, (busy.get(channelKey) ?? 0) + 1);
        const source = entry.source;
        const running = (async () => {
          let result: SendResult;
          try {
            result = await options.send(send.message, send.channel);
          } catch (error) {
            options.onError?.(`${source.name} delivery ${send.id}`, error);
            result = {
              ok: false,
              latencyMs: 0,
              error: 'Cairn could not send it (see the operator log)',
              retryable: true,
            };
          }
          adopt(
            stream,
            await source.record(stream, send, result, random(), { ...meta(), actor: `system:${source.name}` }),
          );
          if (!result.ok) {
            options.log?.(
              `${source.name} ${send.id} to ${send.channel} failed (attempt ${send.attempt}): ${result.error}`,
            );
          }
        })()
          .catch((error) => options.onError?.(`recording ${source.name} delivery ${send.id}`, error))
          .finally(() => {
            inFlight.delete(send.id);
            busy.set(channelKey, (busy.get(channelKey) ?? 1) - 1);
            kick();
          });
        inFlight.set(send.id, running);
      }
    }
  };

  const deliver = async (stream: string, policy: NotificationPolicyRef, groupKey: string, d: DeliveryInProgress) => {
    const attempt = d.attempts + 1;
    const channel = d.delivery.channel.name;
    let result: SendResult;
    try {
      result = await options.send(
        { notificationId: d.notificationId, delivery: d.delivery, policy, groupKey, decidedAt: d.decidedAt, attempt },
        channel,
      );
    } catch (error) {
      // A channel reports failures as results; anything thrown is Cairn's own fault, and told without detail.
      options.onError?.(`notification ${d.delivery.deliveryId}`, error);
      result = { ok: false, latencyMs: 0, error: 'Cairn could not send it (see the operator log)', retryable: true };
    }
    await command(stream, {
      type: 'RecordDeliveryOutcome',
      data: {
        deliveryId: d.delivery.deliveryId,
        attempt,
        outcome: result.ok ? 'delivered' : 'failed',
        ...(result.statusCode === undefined ? {} : { statusCode: result.statusCode }),
        latencyMs: result.latencyMs,
        error: result.error,
        retryable: result.retryable,
        ...(result.retryAfterSeconds === undefined ? {} : { retryAfterSeconds: result.retryAfterSeconds }),
        jitter: random(),
      },
      metadata: meta(),
    });
    if (!result.ok) {
      options.log?.(`notification ${d.delivery.deliveryId} to ${channel} failed (attempt ${attempt}): ${result.error}`);
    }
  };

  const tick = async () => {
    if (stopped) return;
    const at = options.now();
    const iso = at.toISOString();
    const flushes: Promise<unknown>[] = [];
    for (const [stream, { state }] of groups) {
      if (state.flushAt !== null && Date.parse(state.flushAt) <= at.getTime() && !flushing.has(stream)) {
        flushing.add(stream);
        flushes.push(
          command(stream, { type: 'FlushGroup', data: {}, metadata: meta() })
            .catch((error) => options.onError?.(`notification group ${stream}`, error))
            .finally(() => flushing.delete(stream)),
        );
      }
    }
    await Promise.all(flushes);
    for (const [stream, { state }] of groups) {
      if (state.policy === null || !hasDeliveries(state)) continue;
      for (const d of dueDeliveries(state, iso)) {
        const id = d.delivery.deliveryId;
        const channelKey = `${state.policy.namespace}/${state.policy.name}/${d.delivery.channel.name}`;
        if (inFlight.has(id) || (busy.get(channelKey) ?? 0) >= perChannel) continue;
        busy.set(channelKey, (busy.get(channelKey) ?? 0) + 1);
        const policy = state.policy;
        const running = deliver(stream, policy, state.groupKey, d)
          .catch((error) => options.onError?.(`recording notification ${id}`, error))
          .finally(() => {
            inFlight.delete(id);
            busy.set(channelKey, (busy.get(channelKey) ?? 1) - 1);
            kick();
          });
        inFlight.set(id, running);
      }
    }
    await tickSources(at);
  };

  let ticking: Promise<void> = Promise.resolve();
  // A send that ends frees a slot of its channel: what is due goes out within KICK_MS rather than at the next tick.
  // Kicks that come together share one tick, so a burst of answers costs one look at the groups, not one each.
  let kicked: NodeJS.Timeout | undefined;
  const kick = () => {
    if (stopped || kicked !== undefined) return;
    kicked = setTimeout(() => {
      kicked = undefined;
      ticking = ticking.then(tick).catch((error) => options.onError?.('notification outbox', error));
    }, KICK_MS);
    kicked.unref();
  };
  let timer: NodeJS.Timeout | undefined;
  const subscription: Subscription = options.store.subscribeToAll(
    {
      filter: { streamPrefixes: [prefix, ...sources.map((s) => s.prefix)] },
      onLive: () => {
        markLive();
        timer = setInterval(() => {
          ticking = ticking.then(tick).catch((error) => options.onError?.('notification outbox', error));
        }, options.tickMs ?? 200);
        timer.unref();
      },
    },
    (event) => fold(event.streamId, event),
  );
  subscription.done.catch((error) => options.onError?.('notification outbox subscription', error));

  return {
    live,
    tick: async () => {
      await live;
      await tick();
      // The sends it started, and the flushes their outcomes may have made due, settle before it returns.
      await Promise.all(inFlight.values());
    },
    openGroups: () => groups.size,
    stop: async () => {
      stopped = true;
      clearInterval(timer);
      clearTimeout(kicked);
      await subscription.close();
      await ticking;
      await Promise.all(inFlight.values());
    },
  };
}
