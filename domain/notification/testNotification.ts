import {
  isPagingChannel,
  type NotificationChannelRef,
  type NotificationDecidedData,
  type NotificationDelivery,
  type NotificationPolicyRef,
} from '../events/notification.events.ts';

/** The rule name a test message is recorded under: no rule of the policy sent it. */
export const TEST_RULE = 'cairn-test';
/** The signal a test message shows in place of a fault. */
export const TEST_SIGNAL = 'notification_test';

/**
 * A test message on one channel, decided like any other notification so the outbox delivers it, retries it and
 * records its outcome. Its stream (`notification-test-<id>`) holds this one decision. A paging channel gets the
 * trigger and then the resolve of a stand-in Issue, so the test leaves no incident open on the vendor's side.
 * Pure: the id and the instant come from the caller.
 */
export function testNotification(input: {
  readonly notificationId: string;
  readonly policy: { readonly namespace: string; readonly name: string };
  readonly channel: NotificationChannelRef;
  readonly requestedBy: string;
  readonly at: string;
}): NotificationDecidedData {
  const { notificationId, channel } = input;
  const policy: NotificationPolicyRef = { namespace: input.policy.namespace, name: input.policy.name, rule: TEST_RULE };
  const issue = {
    issueId: notificationId,
    name: notificationId,
    severity: 'low' as const,
    signal: TEST_SIGNAL,
    riskScore: 0,
    workload: { kind: 'NotificationPolicy', name: input.policy.name, namespace: input.policy.namespace },
    state: 'Test',
    summary: `Test message from Cairn, asked for by ${input.requestedBy}: channel ${channel.name} works.`.slice(
      0,
      2_048,
    ),
    detectedAt: input.at,
  };
  const told = (status: 'firing' | 'resolved') => ({ issue, status, transition: 'detected' as const, changed: true });
  const deliveries: NotificationDelivery[] = isPagingChannel(channel)
    ? (['trigger', 'resolve'] as const).map((action) => ({
        deliveryId: `${notificationId}-${channel.name}-${action}`,
        channel,
        repeat: false,
        issues: [told(action === 'trigger' ? 'firing' : 'resolved')],
        omitted: 0,
        pagingAction: action,
      }))
    : [
        {
          deliveryId: `${notificationId}-${channel.name}`,
          channel,
          repeat: false,
          issues: [told('firing')],
          omitted: 0,
        },
      ];
  return { notificationId, groupKey: 'test', policy, deliveries, test: true };
}
