import { notificationDecider } from '../../domain/notification/notification.decider.ts';
import { StreamCategory, streamName } from '../../domain/streams.ts';
import { createCommandHandler } from '../../src/application/commandHandler.ts';
import type { EventStore } from '../../src/ports/eventStore.ts';
import { minute } from './incidentLog.ts';

/**
 * Writes a notification group through its decider (so every event is one the catalogue accepts): an Issue detected
 * and routed to a Slack and a PagerDuty channel with no group wait, flushed, then Slack delivered on its first try
 * and PagerDuty failing once with a 503 before it is delivered.
 */
export async function writeNotification(store: EventStore, issueId: string, startMinute = 0): Promise<void> {
  const handle = createCommandHandler(store, notificationDecider);
  const groupId = `on-call-${issueId}`;
  const stream = streamName(StreamCategory.Notification, groupId);
  const at = (m: number) => ({ occurredAt: minute(startMinute + m), actor: 'system:test' });
  await handle(stream, {
    type: 'RecordTransition',
    data: {
      groupId,
      policy: { namespace: 'cairn-system', name: 'on-call', rule: 'critical' },
      groupKey: `issue=${issueId}`,
      channels: [
        { name: 'chat', type: 'slack' },
        { name: 'pager', type: 'pagerduty' },
      ],
      grouping: { groupWaitSeconds: 0, groupIntervalSeconds: 300, repeatIntervalSeconds: 3600 },
      transition: 'detected',
      subscribed: true,
      issue: {
        issueId,
        name: `web-${issueId}`,
        severity: 'critical',
        signal: 'oom_kill',
        riskScore: 85,
        workload: { kind: 'Deployment', name: `web-${issueId}`, namespace: 'shop' },
        state: 'Detected',
        summary: 'container app was OOMKilled',
        detectedAt: minute(startMinute),
      },
      sourceEventId: `detected-${issueId}`,
    },
    metadata: at(0),
  });
  const flushed = await handle(stream, { type: 'FlushGroup', data: {}, metadata: at(0) });
  const deliveries = Object.values(flushed.state.deliveries);
  const outcome = (deliveryId: string, attempt: number, delivered: boolean) => ({
    type: 'RecordDeliveryOutcome' as const,
    data: {
      deliveryId,
      attempt,
      outcome: delivered ? ('delivered' as const) : ('failed' as const),
      statusCode: delivered ? 202 : 503,
      latencyMs: 15,
      error: delivered ? '' : 'HTTP 503',
      retryable: !delivered,
      jitter: 0,
    },
    metadata: at(attempt - 1),
  });
  for (const { delivery } of deliveries) {
    if (delivery.channel.type === 'pagerduty') {
      await handle(stream, outcome(delivery.deliveryId, 1, false));
      await handle(stream, outcome(delivery.deliveryId, 2, true));
    } else {
      await handle(stream, outcome(delivery.deliveryId, 1, true));
    }
  }
}
