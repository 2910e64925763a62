import type { Command, Decider, Event } from '../../domain/messages.ts';
import { type EventStore, isWrongExpectedRevisionError } from '../ports/eventStore.ts';

export interface CommandHandlerOptions {
  /** Tries in all, the first included; a conflict after the last one is thrown to the caller. */
  readonly maxAttempts?: number;
}

export interface CommandOutcome<State, E extends Event> {
  /** State after the new events. */
  readonly state: State;
  /** What `decide` returned; empty when the command changed nothing (and nothing was appended). */
  readonly newEvents: readonly E[];
  /** The stream's last revision afterwards ('no_stream' when the stream still does not exist). */
  readonly revision: bigint | 'no_stream';
  /** Global position of the last appended event; absent when nothing was appended. */
  readonly position?: bigint;
}

/**
 * Read, fold, decide, append with the revision that was read. A WrongExpectedRevisionError means somebody appended
 * between our read and our write, so the decision was made on stale state: decide again on fresh state. Anything
 * else `decide` throws (a refusal) is the caller's answer and is not retried.
 */
export function createCommandHandler<State, C extends Command, E extends Event>(
  store: EventStore,
  decider: Decider<State, C, E>,
  options: CommandHandlerOptions = {},
): (stream: string, command: C) => Promise<CommandOutcome<State, E>> {
  const maxAttempts = Math.max(1, options.maxAttempts ?? 3);
  return async (stream, command) => {
    for (let attempt = 1; ; attempt++) {
      const history = await store.readStream(stream);
      // The store validated each event against the catalogue, so the cast only names what is already checked.
      const state = history.reduce((s, e) => decider.evolve(s, e as unknown as E), decider.initialState());
      const revision = history.length === 0 ? 'no_stream' : history[history.length - 1]!.revision;
      const newEvents = decider.decide(command, state);
      if (newEvents.length === 0) return { state, newEvents, revision };
      try {
        const result = await store.appendToStream(stream, newEvents, { expectedRevision: revision });
        return {
          state: newEvents.reduce(decider.evolve, state),
          newEvents,
          revision: result.nextExpectedRevision,
          position: result.position,
        };
      } catch (error) {
        if (!isWrongExpectedRevisionError(error) || attempt >= maxAttempts) throw error;
      }
    }
  };
}
