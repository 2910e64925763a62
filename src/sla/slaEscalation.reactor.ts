import { isCairnError } from '../../domain/errors.ts';
import { escalationDecider } from '../../domain/escalation/escalation.decider.ts';
import type { SlaViolatedData } from '../../domain/events/sla.events.ts';
import { issueDecider } from '../../domain/issue/issue.decider.ts';
import type { RecordedEvent } from '../../domain/messages.ts';
import { parseStreamName, StreamCategory, streamName } from '../../domain/streams.ts';
import { createCommandHandler } from '../application/commandHandler.ts';
import type { Reactor } from '../application/reactor.ts';
import type { EventStore } from '../ports/eventStore.ts';

export const SLA_ESCALATION = 'sla-escalation';

const describe = (d: SlaViolatedData) =>
  `IncidentSLA ${d.kind} target (${Math.round(d.targetSeconds)} s of clock time) missed at ${d.dueAt}`;

/**
 * A violation whose SLA asks for escalation escalates: when an EscalationPolicy is already paging people about
 * the Issue, its next level is paged now; otherwise the Issue itself is escalated (reason sla_breached), which
 * hands it to people and may start an EscalationPolicy that waits for escalations. Both aggregates decide on
 * their own stream, so a violation handled twice escalates once.
 */
export function slaEscalationReactor(options: { readonly store: EventStore }): Reactor {
  const escalations = createCommandHandler(options.store, escalationDecider, { maxAttempts: 5 });
  const issues = createCommandHandler(options.store, issueDecider, { maxAttempts: 5 });
  return {
    name: SLA_ESCALATION,
    filter: { streamPrefixes: [`${StreamCategory.Sla}-`], eventTypes: ['SlaViolated'] },
    handle: async (event: RecordedEvent) => {
      const data = event.data as SlaViolatedData;
      if (!data.escalate) return;
      const { id: issueId } = parseStreamName(event.streamId);
      const metadata = { occurredAt: event.metadata.occurredAt, actor: 'system:sla', causationId: event.id };
      const escalationStream = streamName(StreamCategory.Escalation, issueId);
      const paging = await options.store.readStream(escalationStream);
      if (paging.length > 0) {
        // Asked once per violation: the causation id tells a retry of this event from a new violation.
        if (paging.some((e) => e.metadata.causationId === event.id)) return;
        await escalations(escalationStream, { type: 'EscalateNow', data: { reason: describe(data) }, metadata });
        return;
      }
      try {
        await issues(streamName(StreamCategory.Issue, issueId), {
          type: 'EscalateIssue',
          data: { reason: 'sla_breached', detail: describe(data) },
          metadata,
        });
      } catch (error) {
        // Resolved or escalated meanwhile: nothing left to escalate.
        if (!(isCairnError(error) && error.code.startsWith('issue.already_'))) throw error;
      }
    },
  };
}
