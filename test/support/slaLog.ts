import { slaDecider } from '../../domain/sla/sla.decider.ts';
import { StreamCategory, streamName } from '../../domain/streams.ts';
import { createCommandHandler } from '../../src/application/commandHandler.ts';
import type { EventStore } from '../../src/ports/eventStore.ts';
import { instant } from './incidentLog.ts';

/**
 * An Issue's SLA clocks as the SLA decider writes them: started at `minute`, a 10-minute response target swept
 * after its deadline (violated), the resolution target still running.
 */
export async function writeSla(store: EventStore, issueId: string, minute = 0): Promise<void> {
  const clocks = createCommandHandler(store, slaDecider);
  const stream = streamName(StreamCategory.Sla, issueId);
  await clocks(stream, {
    type: 'StartSla',
    data: {
      issueId,
      severity: 'high',
      workload: { kind: 'Deployment', name: issueId, namespace: 'shop' },
      detectedAt: instant(minute),
      terms: {
        sla: { namespace: 'shop', name: 'platform', generation: 1 },
        responseSeconds: 600,
        resolutionSeconds: 3_600,
        warningAt: 0.8,
        escalateOn: [],
      },
    },
    metadata: { occurredAt: instant(minute), actor: 'system:sla' },
  });
  await clocks(stream, {
    type: 'SweepSla',
    data: {},
    metadata: { occurredAt: instant(minute + 11), actor: 'system:sla' },
  });
}
