import type { IssueDetectedData } from '../../domain/events/issue.events.ts';
import type { RecordedEvent } from '../../domain/messages.ts';
import type { SlaCommand } from '../../domain/sla/sla.commands.ts';
import { slaDecider } from '../../domain/sla/sla.decider.ts';
import { type MeasuringSla, slaFor } from '../../domain/sla/sla.matching.ts';
import { parseStreamName, StreamCategory, streamName } from '../../domain/streams.ts';
import { createCommandHandler } from '../application/commandHandler.ts';
import type { Reactor } from '../application/reactor.ts';
import type { EventStore } from '../ports/eventStore.ts';

export const SLA_CLOCK = 'sla-clock';
const ACTOR = 'system:sla';

/**
 * Starts and stops SLA clocks from Issue events: a detection starts the clocks of the SLA that matches it (its
 * terms copied into `sla-<issueId>`), an acknowledgement stops the response clock, a resolution both. Each command
 * carries the Issue event's own instant, so a reactor that runs late measures the same as one on time, and the
 * decider recognises a command handled twice.
 */
export function slaClockReactor(options: {
  readonly store: EventStore;
  /** The valid SLAs, once the informer has listed them. */
  readonly slas: () => Promise<readonly MeasuringSla[]>;
}): Reactor {
  const clocks = createCommandHandler(options.store, slaDecider, { maxAttempts: 5 });
  return {
    name: SLA_CLOCK,
    filter: {
      streamPrefixes: [`${StreamCategory.Issue}-`],
      eventTypes: ['IssueDetected', 'IssueAcknowledged', 'IssueResolved'],
    },
    handle: async (event: RecordedEvent) => {
      const { id: issueId } = parseStreamName(event.streamId);
      const stream = streamName(StreamCategory.Sla, issueId);
      const metadata = { occurredAt: event.metadata.occurredAt, actor: ACTOR, causationId: event.id };
      let command: SlaCommand;
      switch (event.type) {
        case 'IssueDetected': {
          const d = event.data as IssueDetectedData;
          const terms = slaFor(await options.slas(), {
            namespace: d.workload.namespace,
            severity: d.severity,
            detectedAt: event.metadata.occurredAt,
          });
          if (terms === undefined) return;
          command = {
            type: 'StartSla',
            data: { issueId, severity: d.severity, workload: d.workload, detectedAt: event.metadata.occurredAt, terms },
            metadata,
          };
          break;
        }
        case 'IssueAcknowledged':
          command = { type: 'RecordAcknowledgement', data: {}, metadata };
          break;
        case 'IssueResolved':
          command = { type: 'RecordResolution', data: {}, metadata };
          break;
        default:
          return;
      }
      await clocks(stream, command);
    },
    // A refusal (terms no clock can be measured by) will not change on a retry.
    isPermanent: (error) => (error as { category?: string }).category === 'Validation',
  };
}
