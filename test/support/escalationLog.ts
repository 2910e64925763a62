import { escalationDecider } from '../../domain/escalation/escalation.decider.ts';
import { StreamCategory, streamName } from '../../domain/streams.ts';
import { createCommandHandler } from '../../src/application/commandHandler.ts';
import type { EventStore } from '../../src/ports/eventStore.ts';
import { minute } from './incidentLog.ts';

/**
 * Writes an escalation through its decider (so every event is one the catalogue accepts): level 1 paged and
 * delivered, level 2 paged when level 1's five minutes passed, then acknowledged.
 */
export async function writeEscalation(store: EventStore, issueId: string, startMinute = 0): Promise<void> {
  const handle = createCommandHandler(store, escalationDecider);
  const stream = streamName(StreamCategory.Escalation, issueId);
  const at = (m: number) => ({ occurredAt: minute(startMinute + m), actor: 'system:test' });
  const workload = { kind: 'Deployment', name: `web-${issueId}`, namespace: 'shop' };
  const started = await handle(stream, {
    type: 'StartEscalation',
    data: {
      issueId,
      policy: { namespace: 'cairn-system', name: 'platform', generation: 1 },
      notificationPolicy: { namespace: 'cairn-system', name: 'on-call' },
      levels: [
        { name: 'primary', channels: [{ name: 'pager', type: 'pagerduty' }], escalateAfterSeconds: 300 },
        { name: 'secondary', channels: [{ name: 'chat', type: 'slack' }] },
      ],
      trigger: 'detected',
      issue: {
        issueId,
        name: `web-${issueId}`,
        severity: 'critical',
        signal: 'oom_kill',
        riskScore: 85,
        workload,
        state: 'Detected',
        summary: 'container app was OOMKilled',
        detectedAt: minute(startMinute),
      },
    },
    metadata: at(0),
  });
  const [first] = Object.keys(started.state.deliveries);
  await handle(stream, {
    type: 'RecordDeliveryOutcome',
    data: {
      deliveryId: first!,
      attempt: 1,
      outcome: 'delivered',
      statusCode: 202,
      latencyMs: 12,
      error: '',
      retryable: false,
      jitter: 0,
    },
    metadata: at(0),
  });
  await handle(stream, {
    type: 'FireEscalationDeadline',
    data: { deadline: started.state.deadline! },
    metadata: at(5),
  });
  await handle(stream, { type: 'AcknowledgeEscalation', data: { acknowledgedBy: 'key:alice' }, metadata: at(6) });
}
