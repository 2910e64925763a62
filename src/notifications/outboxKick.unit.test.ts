import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { notificationDecider } from '../../domain/notification/notification.decider.ts';
import { startVendorReceiver, type VendorReceiver } from '../../test/support/notificationReceivers.ts';
import { openEventStore } from '../adapters/eventstore/openEventStore.ts';
import { createCommandHandler } from '../application/commandHandler.ts';
import type { EventStore } from '../ports/eventStore.ts';
import { sendWebhook } from './channels/webhook.channel.ts';
import { type NotificationOutbox, startNotificationOutbox } from './notificationOutbox.ts';

/**
 * A channel's slots are refilled as sends end, not only at the next tick: with one request in flight per channel
 * and a tick an hour away, every due message still goes out, one after the other.
 */
let store: EventStore;
let receiver: VendorReceiver;
let outbox: NotificationOutbox;
const at = new Date('2026-12-07T09:00:00.000Z');

beforeAll(async () => {
  store = openEventStore('memory:');
  receiver = await startVendorReceiver('webhook');
  outbox = startNotificationOutbox({
    store,
    now: () => at,
    tickMs: 3_600_000,
    perChannel: 1,
    send: (message) => sendWebhook(message, { target: receiver.url }, 5_000),
  });
  await outbox.live;
});
afterAll(async () => {
  await outbox?.stop();
  await receiver?.close();
  await store?.close();
});

describe('notification outbox slots', () => {
  it('sends the next due message of a channel as soon as the one in flight ends', async () => {
    const handle = createCommandHandler(store, notificationDecider);
    for (const g of ['g1', 'g2', 'g3']) {
      await handle(`notification-${g}`, {
        type: 'RecordTransition',
        data: {
          groupId: g,
          policy: { namespace: 'ops', name: 'on-call', rule: 'all' },
          groupKey: `issue=${g}`,
          channels: [{ name: 'hook', type: 'webhook' }],
          grouping: { groupWaitSeconds: 0, groupIntervalSeconds: 60, repeatIntervalSeconds: 3_600 },
          transition: 'detected',
          subscribed: true,
          issue: {
            issueId: `issue-${g}`,
            name: `issue-${g}`,
            severity: 'high',
            signal: 'oom_kill',
            riskScore: 50,
            workload: { kind: 'Deployment', name: 'web', namespace: 'shop' },
            state: 'Detected',
            summary: 'container app was OOMKilled',
            detectedAt: at.toISOString(),
          },
          sourceEventId: `src-${g}`,
        },
        metadata: { occurredAt: at.toISOString(), actor: 'system:test' },
      });
    }
    // One tick: three groups flush, one slot lets one message out; the other two follow without another tick.
    await outbox.tick();
    await expect.poll(() => receiver.received.length, { timeout: 20_000 }).toBe(3);
    await expect
      .poll(async () => (await store.readAll()).filter((e) => e.type === 'NotificationDelivered').length, {
        timeout: 20_000,
      })
      .toBe(3);
  });
});
