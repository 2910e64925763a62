import type { EscalationCommand } from '../../domain/escalation/escalation.commands.ts';
import {
  type EscalationEvent,
  type EscalationState,
  EscalationStatus,
  escalationDecider,
} from '../../domain/escalation/escalation.decider.ts';
import { notFound, refuse } from '../../domain/refusals.ts';
import { StreamCategory, streamName } from '../../domain/streams.ts';
import { createCommandHandler } from '../application/commandHandler.ts';
import type { EventStore } from '../ports/eventStore.ts';

export interface EscalationCommands {
  /** Stops the escalation: no further level is paged; the levels paged are told. */
  acknowledge(issueId: string, actor: string): Promise<EscalationState>;
  /** Ends it: every channel paged at any level is told it is resolved. */
  resolve(issueId: string, actor: string): Promise<EscalationState>;
  /**
   * Pages the next level now (the last one again when there is none) and restarts the clock; what another
   * capability (a violated IncidentSLA) sends. `requestId` makes a request sent twice page once.
   */
  escalateNow(
    issueId: string,
    request: { reason: string; actor: string; requestId?: string },
  ): Promise<EscalationState>;
}

/**
 * Commands on an Issue's escalation itself, for what the Issue's own commands cannot reach: an Issue Cairn has
 * escalated is over for its state machine (it can no longer be acknowledged or resolved), while its escalation may
 * still be paging people.
 */
export function createEscalationCommands(deps: { store: EventStore; now: () => Date }): EscalationCommands {
  const handle = createCommandHandler<EscalationState, EscalationCommand, EscalationEvent>(
    deps.store,
    escalationDecider,
    { maxAttempts: 5 },
  );
  const send = async (
    issueId: string,
    command: (meta: { occurredAt: string; actor: string }) => EscalationCommand,
    actor: string,
  ) => {
    const outcome = await handle(
      streamName(StreamCategory.Escalation, issueId),
      command({ occurredAt: deps.now().toISOString(), actor }),
    );
    return outcome;
  };
  const ensure = (issueId: string, state: EscalationState, done: EscalationStatus) => {
    if (state.status === EscalationStatus.None) {
      throw notFound('escalation.not_found', `incident ${issueId} has no escalation: no EscalationPolicy took it`);
    }
    if (state.status === EscalationStatus.Resolved) {
      throw refuse('escalation.already_resolved', `the escalation of incident ${issueId} is already resolved`);
    }
    if (state.status === done) {
      throw refuse(`escalation.already_${done}`, `the escalation of incident ${issueId} is already ${done}`);
    }
  };
  return {
    acknowledge: async (issueId, actor) => {
      const outcome = await send(
        issueId,
        (metadata) => ({ type: 'AcknowledgeEscalation', data: { acknowledgedBy: actor }, metadata }),
        actor,
      );
      if (outcome.newEvents.length === 0) ensure(issueId, outcome.state, EscalationStatus.Acknowledged);
      return outcome.state;
    },
    resolve: async (issueId, actor) => {
      const outcome = await send(issueId, (metadata) => ({ type: 'ResolveEscalation', data: {}, metadata }), actor);
      if (outcome.newEvents.length === 0) ensure(issueId, outcome.state, EscalationStatus.Resolved);
      return outcome.state;
    },
    escalateNow: async (issueId, request) => {
      const outcome = await send(
        issueId,
        (metadata) => ({
          type: 'EscalateNow',
          data: { reason: request.reason, ...(request.requestId ? { requestId: request.requestId } : {}) },
          metadata,
        }),
        request.actor,
      );
      if (
        outcome.newEvents.length === 0 &&
        !(request.requestId && outcome.state.requests.includes(request.requestId))
      ) {
        ensure(issueId, outcome.state, EscalationStatus.Resolved);
      }
      return outcome.state;
    },
  };
}
