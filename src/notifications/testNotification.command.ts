import { randomBytes } from 'node:crypto';
import { CairnError, ErrorCategory } from '../../domain/errors.ts';
import { ChannelType, type NotificationChannelRef } from '../../domain/events/notification.events.ts';
import { testNotification } from '../../domain/notification/testNotification.ts';
import { StreamCategory, streamName } from '../../domain/streams.ts';
import type { CustomResources } from '../adapters/kubernetes/customResources.ts';
import type { EventStore } from '../ports/eventStore.ts';

export interface TestNotificationSent {
  readonly notificationId: string;
  readonly deliveryIds: readonly string[];
}

export type SendTestNotification = (request: {
  readonly namespace: string;
  readonly name: string;
  readonly channel: string;
  readonly actor: string;
}) => Promise<TestNotificationSent>;

const channelTypes = new Set<string>(Object.values(ChannelType));

/**
 * Records a test message for one channel of a NotificationPolicy. It is only a decision in the log: the leader's
 * outbox delivers it (and retries it) like any other, so the answer names the notification to watch, not its outcome.
 * Any replica may take the request; the policy is read from the cluster, not from the leader's cache.
 */
export function testNotificationSender(options: {
  readonly store: EventStore;
  readonly policies: CustomResources;
  readonly now: () => Date;
  readonly newId?: () => string;
}): SendTestNotification {
  const newId = options.newId ?? (() => randomBytes(6).toString('hex'));
  return async ({ namespace, name, channel, actor }) => {
    const policy = await options.policies.get(namespace, name);
    if (policy === undefined) {
      throw new CairnError(
        'notification_policy.not_found',
        ErrorCategory.NotFound,
        `NotificationPolicy ${namespace}/${name} does not exist`,
      );
    }
    const spec = (policy as { spec?: { enabled?: boolean; channels?: { name?: unknown; type?: unknown }[] } }).spec;
    const status = (policy as { status?: { activeGeneration?: number } }).status;
    // Cairn sends only on a policy it routes with: a test anywhere else would fail for a reason that is not the channel.
    if (spec?.enabled === false || status?.activeGeneration === undefined) {
      throw new CairnError(
        'notification_policy.not_active',
        ErrorCategory.IllegalState,
        `NotificationPolicy ${namespace}/${name} ${spec?.enabled === false ? 'is disabled (spec.enabled: false)' : 'has no valid generation Cairn routes with yet (see its Ready condition)'}: nothing is sent on it`,
      );
    }
    const declared = Array.isArray(spec?.channels) ? spec.channels : [];
    const found = declared.find((c) => c?.name === channel);
    if (found === undefined || typeof found.type !== 'string' || !channelTypes.has(found.type)) {
      const names = declared.map((c) => String(c?.name)).join(', ');
      throw new CairnError(
        'notification_policy.unknown_channel',
        ErrorCategory.Validation,
        `NotificationPolicy ${namespace}/${name} has no channel ${channel}${names ? ` (it has: ${names})` : ''}`,
      );
    }
    const at = options.now().toISOString();
    const notificationId = `test-${newId()}`;
    const data = testNotification({
      notificationId,
      policy: { namespace, name },
      channel: { name: channel, type: found.type } as NotificationChannelRef,
      requestedBy: actor,
      at,
    });
    await options.store.appendToStream(
      streamName(StreamCategory.Notification, notificationId),
      [{ type: 'NotificationDecided', data, metadata: { occurredAt: at, actor } }],
      { expectedRevision: 'no_stream' },
    );
    return { notificationId, deliveryIds: data.deliveries.map((d) => d.deliveryId) };
  };
}
