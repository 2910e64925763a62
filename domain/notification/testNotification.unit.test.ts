import { describe, expect, it } from 'vitest';
import type { RecordedEvent } from '../messages.ts';
import { dueDeliveries, type NotificationEvent, notificationDecider } from './notification.decider.ts';
import { TEST_RULE, testNotification } from './testNotification.ts';

const at = '2026-12-07T09:00:00.000Z';
const decided = (channel: { name: string; type: 'pagerduty' | 'slack' }) =>
  ({
    type: 'NotificationDecided',
    data: testNotification({
      notificationId: 'test-abc',
      policy: { namespace: 'ops', name: 'on-call' },
      channel,
      requestedBy: 'key:alice',
      at,
    }),
    metadata: { occurredAt: at },
  }) as unknown as NotificationEvent;
const fold = (events: NotificationEvent[]) =>
  events.reduce(notificationDecider.evolve, notificationDecider.initialState());

describe('test notifications', () => {
  it('a messaging channel gets one message naming who asked, under the policy and the test rule', () => {
    const state = fold([decided({ name: 'ops-slack', type: 'slack' })]);
    expect(state.policy).toEqual({ namespace: 'ops', name: 'on-call', rule: TEST_RULE });
    const due = dueDeliveries(state, at);
    expect(due.map((d) => d.delivery.deliveryId)).toEqual(['test-abc-ops-slack']);
    expect(due[0]?.delivery.issues[0]?.issue.summary).toContain('key:alice');
  });

  it('a paging channel is triggered, then resolved once the trigger is delivered, so no incident stays open', () => {
    const first = fold([decided({ name: 'pager', type: 'pagerduty' })]);
    const due = dueDeliveries(first, at);
    expect(due.map((d) => d.delivery.pagingAction)).toEqual(['trigger']);
    const delivered = {
      type: 'NotificationDelivered',
      data: { deliveryId: 'test-abc-pager-trigger', channel: 'pager', attempt: 1, statusCode: 202, latencyMs: 5 },
      metadata: { occurredAt: at },
    } as unknown as RecordedEvent as unknown as NotificationEvent;
    const after = notificationDecider.evolve(first, delivered);
    expect(dueDeliveries(after, at).map((d) => d.delivery.pagingAction)).toEqual(['resolve']);
  });
});
