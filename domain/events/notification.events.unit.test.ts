import { describe, expect, it } from 'vitest';
import { eventCatalogue } from './catalogue.ts';
import { isPagingChannel } from './notification.events.ts';

const issue = {
  issueId: 'iss-1',
  name: 'checkout-iss-1',
  severity: 'high',
  signal: 'oom_kill',
  riskScore: 70,
  workload: { kind: 'Deployment', name: 'checkout', namespace: 'shop' },
  state: 'Detected',
  summary: 'container app was OOMKilled',
  detectedAt: '2026-12-07T09:00:00.000Z',
};

describe('NotificationDecided schema versions', () => {
  it('reads a v1 decision with pagerDutyAction as the paging action of v2', () => {
    const v1 = {
      notificationId: 'g1-1',
      groupKey: 'namespace=shop',
      policy: { namespace: 'cairn-system', name: 'on-call', rule: 'prod' },
      deliveries: [
        {
          deliveryId: 'g1-1-pager-iss-1',
          channel: { name: 'pager', type: 'pagerduty' },
          repeat: false,
          issues: [{ issue, status: 'firing', transition: 'detected', changed: true }],
          omitted: 0,
          pagerDutyAction: 'trigger',
        },
        {
          deliveryId: 'g1-1-chat',
          channel: { name: 'chat', type: 'slack' },
          repeat: false,
          issues: [{ issue, status: 'firing', transition: 'detected', changed: true }],
          omitted: 0,
        },
      ],
    };
    const read = eventCatalogue.readEvent('NotificationDecided', 1, v1) as typeof v1;
    expect(read.deliveries[0]).toMatchObject({ pagingAction: 'trigger' });
    expect(read.deliveries[0]).not.toHaveProperty('pagerDutyAction');
    expect(read.deliveries[1]).not.toHaveProperty('pagingAction');
  });

  it('counts PagerDuty and Opsgenie as paging channels, and the message channels not', () => {
    const paging = (['slack', 'pagerduty', 'webhook', 'teams', 'opsgenie', 'email', 'alertmanager'] as const).filter(
      (type) => isPagingChannel({ type }),
    );
    expect(paging).toEqual(['pagerduty', 'opsgenie']);
  });
});
