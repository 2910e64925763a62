import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { NotifiedIssue } from '../../domain/events/notification.events.ts';
import type { RecordedEvent } from '../../domain/messages.ts';
import { notificationDecider } from '../../domain/notification/notification.decider.ts';
import { StreamCategory, streamName } from '../../domain/streams.ts';
import { startVendorReceiver, type VendorReceiver } from '../../test/support/notificationReceivers.ts';
import { openEventStore } from '../adapters/eventstore/openEventStore.ts';
import { createCommandHandler } from '../application/commandHandler.ts';
import type { EventStore } from '../ports/eventStore.ts';
import { type NotificationOutbox, startNotificationOutbox } from './notificationOutbox.ts';
import { channelSender } from './notifications.module.ts';
import { validatePolicy } from './policy.validation.ts';

const routingKey = 'R0UT1NGKEY0123456789abcdefABCDEF';
const start = Date.parse('2026-01-05T10:00:00Z');
let clock = start;
const now = () => new Date(clock);

let store: EventStore;
let slack: VendorReceiver;
let pagerDuty: VendorReceiver;
const outboxes: NotificationOutbox[] = [];

const issue: NotifiedIssue = {
  issueId: 'iss-1',
  name: 'checkout-iss-1',
  severity: 'high',
  signal: 'oom_kill',
  riskScore: 70,
  workload: { kind: 'Deployment', name: 'checkout', namespace: 'shop' },
  state: 'Detected',
  summary: 'container app was OOMKilled',
  detectedAt: new Date(start).toISOString(),
};

/** The policy as the informer would hold it; Secrets as the API server would answer. */
const sender = () => {
  const validated = validatePolicy(
    { namespace: 'cairn-system', name: 'on-call', generation: 1 },
    {
      channels: [
        { name: 'slack', type: 'slack', secretRef: { name: 'slack', key: 'url' } },
        { name: 'pager', type: 'pagerduty', url: pagerDuty.url, secretRef: { name: 'pd', key: 'routingKey' } },
      ],
      rules: [{ name: 'prod', channels: ['slack', 'pager'] }],
      grouping: { groupWait: '30s', groupInterval: '5m', repeatInterval: '4h' },
    },
    'cairn-system',
  );
  if (!validated.ok) throw new Error(validated.problem.message);
  const secrets: Record<string, string> = { slack: `${slack.url}/services/T/B/SECRET`, pd: routingKey };
  return channelSender({ find: () => validated.policy }, async (_ns, ref) => secrets[ref.name] ?? { problem: 'none' });
};

const outbox = () => {
  const running = startNotificationOutbox({ store, send: sender(), now, random: () => 0, tickMs: 3_600_000 });
  outboxes.push(running);
  return running;
};

const group = streamName(StreamCategory.Notification, 'g1');
const detect = (transition: 'detected' | 'resolved' = 'detected', at = start, sourceEventId = 'ev-1') =>
  createCommandHandler(store, notificationDecider)(group, {
    type: 'RecordTransition',
    data: {
      groupId: 'g1',
      policy: { namespace: 'cairn-system', name: 'on-call', rule: 'prod' },
      groupKey: 'namespace=shop',
      channels: [
        { name: 'slack', type: 'slack' },
        { name: 'pager', type: 'pagerduty' },
      ],
      grouping: { groupWaitSeconds: 30, groupIntervalSeconds: 300, repeatIntervalSeconds: 14_400 },
      transition,
      subscribed: true,
      issue,
      sourceEventId,
    },
    metadata: { occurredAt: new Date(at).toISOString(), actor: 'system:notifications' },
  });
const outcomes = async () =>
  (await store.readStream(group))
    .filter((e: RecordedEvent) => e.type === 'NotificationDelivered' || e.type === 'NotificationFailed')
    .map((e) => {
      const d = e.data as { deliveryId: string; attempt: number; statusCode?: number; retryAt?: string };
      return `${e.type === 'NotificationDelivered' ? 'delivered' : 'failed'} ${d.deliveryId} #${d.attempt} ${d.statusCode ?? '-'}${d.retryAt ? ' retry' : ''}`;
    });

beforeEach(async () => {
  clock = start;
  store = openEventStore('memory:');
  [slack, pagerDuty] = await Promise.all([startVendorReceiver('slack'), startVendorReceiver('pagerduty')]);
});
afterEach(async () => {
  for (const o of outboxes.splice(0)) await o.stop();
  await Promise.all([slack.close(), pagerDuty.close()]);
  await store.close();
});

describe('notification outbox', () => {
  it('flushes a group at its recorded deadline and records each delivery with its status', async () => {
    const box = outbox();
    await detect();
    clock = start + 29_000;
    await box.tick();
    expect(slack.received).toHaveLength(0);
    clock = start + 30_000;
    await box.tick();
    expect(slack.received.map((r) => r.problems)).toEqual([[]]);
    expect(pagerDuty.received.map((r) => (r.body as { event_action: string }).event_action)).toEqual(['trigger']);
    expect(await outcomes()).toEqual(['delivered g1-1-slack #1 200', 'delivered g1-1-pager-iss-1 #1 202']);
  });

  it('keeps sending to PagerDuty while Slack fails, and retries Slack when its Retry-After has passed', async () => {
    const box = outbox();
    await detect();
    slack.script({ status: 429, headers: { 'retry-after': '20' }, body: 'rate_limited' });
    clock = start + 30_000;
    await box.tick();
    expect(await outcomes()).toEqual(['failed g1-1-slack #1 429 retry', 'delivered g1-1-pager-iss-1 #1 202']);
    clock = start + 45_000;
    await box.tick();
    expect(slack.received).toHaveLength(1);
    clock = start + 51_000;
    await box.tick();
    expect(await outcomes()).toContain('delivered g1-1-slack #2 200');
  });

  it('delivers after a restart what was decided before the crash, and nothing twice', async () => {
    await detect();
    // A leader that decided and died before sending: the decision is in the log, no outcome is.
    await createCommandHandler(store, notificationDecider)(group, {
      type: 'FlushGroup',
      data: {},
      metadata: { occurredAt: new Date(start + 30_000).toISOString(), actor: 'system:notifications' },
    });
    clock = start + 60_000;
    const next = outbox();
    await next.tick();
    expect(await outcomes()).toEqual(['delivered g1-1-slack #1 200', 'delivered g1-1-pager-iss-1 #1 202']);
    // And another leader after that one sends nothing again.
    await next.stop();
    const third = outbox();
    clock = start + 90_000;
    await third.tick();
    expect(slack.received).toHaveLength(1);
    expect(pagerDuty.received).toHaveLength(1);
  });

  it('forgets a group once everything is delivered and nothing is due, and reads it back when it fires again', async () => {
    const box = outbox();
    await detect();
    clock = start + 30_000;
    await box.tick();
    // Still firing: the repeat is due in 4 h, so the group stays in memory.
    expect(box.openGroups()).toBe(1);
    clock = start + 60_000;
    await detect('resolved', clock, 'ev-2');
    clock = start + 60_000 + 300_000;
    await box.tick();
    expect(pagerDuty.received.map((r) => (r.body as { event_action: string }).event_action)).toEqual([
      'trigger',
      'resolve',
    ]);
    expect(slack.received).toHaveLength(2);
    expect(box.openGroups()).toBe(0);
    // The Issue fires again: the group comes back from its stream and both channels hear of it once.
    clock = start + 3_600_000;
    await detect('detected', clock, 'ev-3');
    await box.tick();
    expect(box.openGroups()).toBe(1);
    clock += 300_000;
    await box.tick();
    expect(pagerDuty.received.map((r) => (r.body as { event_action: string }).event_action)).toEqual([
      'trigger',
      'resolve',
      'trigger',
    ]);
    expect(slack.received).toHaveLength(3);
    expect((await outcomes()).filter((o) => o.startsWith('failed'))).toEqual([]);
  });
});
