import type {
  NotificationDecidedData,
  NotificationDeliveredData,
  NotificationFailedData,
} from '../../domain/events/notification.events.ts';
import type { RecordedEvent } from '../../domain/messages.ts';
import {
  type ChannelHealth,
  channelKey,
  nextChannelHealth,
  unknownChannelHealth,
} from '../../domain/notification/channelHealth.ts';
import { StreamCategory } from '../../domain/streams.ts';
import type { EventStore } from '../ports/eventStore.ts';

export interface ChannelHealthEntry extends ChannelHealth {
  readonly namespace: string;
  readonly policy: string;
  readonly channel: string;
  readonly type: string;
}

/** Which channel of which policy a delivery went to: outcomes name the delivery, the decision names the policy. */
interface Target {
  readonly namespace: string;
  readonly policy: string;
  readonly channel: string;
  readonly type: string;
}

/**
 * Channel health folded from the log: decisions tell which policy and channel a delivery belongs to, outcomes
 * move the channel's health. Kept by the event's position, so the same event folded twice changes nothing.
 */
export function createChannelHealthBook() {
  const targets = new Map<string, Target>();
  const health = new Map<string, ChannelHealthEntry>();
  let position = -1n;

  const fold = (event: RecordedEvent): string | undefined => {
    if (event.position <= position) return undefined;
    position = event.position;
    if (event.type === 'NotificationDecided') {
      const d = event.data as NotificationDecidedData;
      for (const delivery of d.deliveries) {
        targets.set(delivery.deliveryId, {
          namespace: d.policy.namespace,
          policy: d.policy.name,
          channel: delivery.channel.name,
          type: delivery.channel.type,
        });
      }
      return undefined;
    }
    if (event.type !== 'NotificationDelivered' && event.type !== 'NotificationFailed') return undefined;
    const d = event.data as NotificationDeliveredData | NotificationFailedData;
    const target = targets.get(d.deliveryId);
    if (target === undefined) return undefined;
    const key = channelKey({ namespace: target.namespace, name: target.policy }, target.channel);
    const current = health.get(key) ?? { ...unknownChannelHealth(), ...target };
    const at = event.metadata.occurredAt;
    const failed = event.type === 'NotificationFailed' ? (d as NotificationFailedData) : undefined;
    const next = nextChannelHealth(
      current,
      failed === undefined
        ? { ok: true, at, statusCode: (d as NotificationDeliveredData).statusCode }
        : {
            ok: false,
            at,
            ...(failed.statusCode === undefined ? {} : { statusCode: failed.statusCode }),
            error: failed.error,
            gaveUp: failed.retryAt === undefined,
          },
    );
    health.set(key, { ...next, ...target });
    // The delivery is over: nothing more will name it.
    if (failed === undefined || failed.retryAt === undefined) targets.delete(d.deliveryId);
    return key;
  };

  return {
    fold,
    /** The policy's channels that have had an attempt, by channel name. */
    ofPolicy(namespace: string, name: string): ReadonlyMap<string, ChannelHealthEntry> {
      const out = new Map<string, ChannelHealthEntry>();
      for (const entry of health.values()) {
        if (entry.namespace === namespace && entry.policy === name) out.set(entry.channel, entry);
      }
      return out;
    },
    all: (): ChannelHealthEntry[] => [...health.values()],
  };
}

export type ChannelHealthBook = ReturnType<typeof createChannelHealthBook>;

/**
 * Follows the notification streams from the start of the log into a ChannelHealthBook and says which policy's
 * channel moved, once the history is read (before that, each change would rewrite a status already out of date).
 */
export function followChannelHealth(
  store: EventStore,
  options: {
    readonly onChange: (namespace: string, name: string) => void;
    readonly onError?: (what: string, error: unknown) => void;
  },
) {
  const book = createChannelHealthBook();
  let live = false;
  const subscription = store.subscribeToAll(
    {
      filter: {
        streamPrefixes: [`${StreamCategory.Notification}-`],
        eventTypes: ['NotificationDecided', 'NotificationDelivered', 'NotificationFailed'],
      },
      onLive: () => {
        live = true;
        const policies = new Set(book.all().map((e) => `${e.namespace}/${e.policy}`));
        for (const key of policies) {
          const [namespace, name] = key.split('/') as [string, string];
          options.onChange(namespace, name);
        }
      },
    },
    (event) => {
      const changed = book.fold(event);
      if (changed !== undefined && live) {
        const [namespace, name] = changed.split('/') as [string, string];
        options.onChange(namespace, name);
      }
    },
  );
  subscription.done.catch((error) => options.onError?.('notification channel health', error));
  return { book, close: () => subscription.close() };
}
