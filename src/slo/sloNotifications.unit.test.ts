import { describe, expect, it } from 'vitest';
import type { NotificationTransitionRecordedData } from '../../domain/events/notification.events.ts';
import type { SloBurnAlertFiredData } from '../../domain/events/slo.events.ts';
import { issueDecider } from '../../domain/issue/issue.decider.ts';
import type { RoutingPolicy } from '../../domain/notification/notification.routing.ts';
import { StreamCategory, streamName } from '../../domain/streams.ts';
import { openEventStore } from '../adapters/eventstore/openEventStore.ts';
import { createCommandHandler } from '../application/commandHandler.ts';
import { notificationRouterReactor } from '../notifications/notificationRouter.reactor.ts';

const workload = { kind: 'Deployment', namespace: 'shop', name: 'checkout' };

const policy = (transitions: RoutingPolicy['rules'][number]['transitions']): RoutingPolicy => ({
  namespace: 'shop',
  name: 'on-call',
  generation: 1,
  clusterWide: false,
  channels: [{ name: 'hook', type: 'webhook' }],
  rules: [{ name: 'burns', channels: ['hook'], ...(transitions ? { transitions } : {}) }],
  groupBy: ['issue'],
  grouping: { groupWaitSeconds: 0, groupIntervalSeconds: 60, repeatIntervalSeconds: 3600 },
});

async function burnFor(transitions: RoutingPolicy['rules'][number]['transitions'], issueId: string | undefined) {
  const store = openEventStore('memory:');
  const issues = createCommandHandler(store, issueDecider);
  await issues(streamName(StreamCategory.Issue, 'i-1'), {
    type: 'DetectIssue',
    data: {
      issueId: 'i-1',
      workload,
      resource: workload,
      signal: 'slo_burn_rate',
      source: 'prometheus',
      anomalyId: 'slo-shop.checkout.page-1h.1',
      description: 'checkout burns its error budget',
    },
    metadata: { occurredAt: '2026-12-07T10:00:00.000Z', actor: 'system:test' },
  });
  const data: SloBurnAlertFiredData = {
    slo: { namespace: 'shop', name: 'checkout', generation: 1 },
    alert: 'page-1h',
    urgency: 'page',
    factor: 14.4,
    shortWindow: 300,
    longWindow: 3600,
    shortRate: 40,
    longRate: 20,
    workload,
    anomalyId: 'slo-shop.checkout.page-1h.1',
    ...(issueId ? { issueId } : {}),
  };
  await store.appendToStream(streamName(StreamCategory.Slo, 'shop.checkout'), [
    { type: 'SloBurnAlertFired', data, metadata: { occurredAt: '2026-12-07T10:00:01.000Z', actor: 'system:slo' } },
  ]);
  const router = notificationRouterReactor({
    store,
    policies: async () => [policy(transitions)],
    labelsOf: async () => ({}),
  });
  const fired = (await store.readAll()).find((e) => e.type === 'SloBurnAlertFired')!;
  await router.handle(fired);
  return (await store.readAll())
    .filter((e) => e.type === 'NotificationTransitionRecorded')
    .map((e) => e.data as NotificationTransitionRecordedData);
}

describe('the slo_burn notification transition', () => {
  it('tells a rule that asks for slo_burn of the Issue the burn alert opened', async () => {
    const recorded = await burnFor(['slo_burn'], 'i-1');
    expect(recorded).toHaveLength(1);
    expect(recorded[0]).toMatchObject({
      transition: 'slo_burn',
      subscribed: true,
      issue: { issueId: 'i-1', signal: 'slo_burn_rate', workload },
      policy: { namespace: 'shop', name: 'on-call', rule: 'burns' },
    });
  });

  it('does not open a group for a rule that asked only for other transitions', async () => {
    const recorded = await burnFor(['resolved'], 'i-1');
    expect(recorded.filter((r) => r.subscribed)).toEqual([]);
  });

  it('routes nothing when the burn alert reached no Issue (its anomaly was a duplicate)', async () => {
    expect(await burnFor(['slo_burn'], undefined)).toEqual([]);
  });
});
