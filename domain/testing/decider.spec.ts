import { CairnError, type ErrorCategory } from '../errors.ts';
import { eventCatalogue } from '../events/catalogue.ts';
import type { Command, Decider, Event, MessageMetadata } from '../messages.ts';

/**
 * given(events).when(command).expect…(…) for deciders. Framework-free (it throws), so it stays inside domain/.
 * Every event a decider produces is also checked against the event catalogue: a decider cannot emit an event the
 * store would refuse, and a test cannot pass on one.
 */
export interface ExpectedEvent {
  readonly type: string;
  readonly data: unknown;
}

/** Carries expected/actual so the test runner shows a diff. */
export class SpecificationError extends Error {
  override readonly name = 'SpecificationError';
  readonly showDiff: boolean;
  constructor(
    message: string,
    readonly expected?: unknown,
    readonly actual?: unknown,
  ) {
    super(message);
    this.showDiff = expected !== undefined || actual !== undefined;
  }
}

export const deciderSpec = <S, C extends Command, E extends Event>(decider: Decider<S, C, E>) => ({
  /** The events a sequence of commands produces, each decided on the history so far: a readable `given`. */
  history: (...commands: readonly C[]): E[] => {
    const history: E[] = [];
    let state = decider.initialState();
    for (const command of commands) {
      for (const event of decider.decide(command, state)) {
        eventCatalogue.validateEnvelope(event);
        history.push(event);
        state = decider.evolve(state, event);
      }
    }
    return history;
  },
  given: (...history: readonly E[]) => {
    const state = (): S => history.reduce(decider.evolve, decider.initialState());
    return {
      /** The state the history folds to. */
      state,
      when: (command: C) => {
        const decide = (): readonly E[] => {
          const events = decider.decide(command, state());
          for (const event of events) eventCatalogue.validateEnvelope(event);
          return events;
        };
        return {
          /** Runs the decision and returns its events (validated), for assertions the helpers do not cover. */
          events: decide,
          /** The state after the decided events, which also proves evolve accepts them. */
          stateAfter: (): S => decide().reduce(decider.evolve, state()),
          expectEvents: (expected: readonly ExpectedEvent[]): readonly E[] => {
            const events = decide();
            const actual = events.map(({ type, data }) => ({ type, data }));
            if (!deepEqual(actual, expected)) {
              throw new SpecificationError(`${command.type} decided other events than expected`, expected, actual);
            }
            return events;
          },
          expectNoEvents: (): void => {
            const events = decide();
            if (events.length > 0) {
              throw new SpecificationError(
                `${command.type} should decide nothing`,
                [],
                events.map(({ type }) => type),
              );
            }
          },
          expectRefusal: (code: string, category?: ErrorCategory): CairnError => {
            let events: readonly E[];
            try {
              events = decide();
            } catch (error) {
              if (!(error instanceof CairnError)) throw error;
              if (error.code !== code || (category !== undefined && error.category !== category)) {
                throw new SpecificationError(
                  `${command.type} was refused for another reason: ${error.message}`,
                  { code, category },
                  { code: error.code, category: error.category },
                );
              }
              return error;
            }
            throw new SpecificationError(
              `${command.type} should be refused with ${code}`,
              { code },
              events.map(({ type }) => type),
            );
          },
        };
      },
    };
  },
});

/** Structural equality for plain data (what events are). */
export const deepEqual = (a: unknown, b: unknown): boolean => {
  if (Object.is(a, b)) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  const keysA = Object.keys(a).filter((key) => (a as Record<string, unknown>)[key] !== undefined);
  const keysB = Object.keys(b).filter((key) => (b as Record<string, unknown>)[key] !== undefined);
  if (keysA.length !== keysB.length) return false;
  return keysA.every(
    (key) =>
      Object.hasOwn(b, key) && deepEqual((a as Record<string, unknown>)[key], (b as Record<string, unknown>)[key]),
  );
};

/** Test clock: minutes after a fixed instant, so specifications read as a timeline. */
export const BASE_INSTANT = '2026-01-05T10:00:00.000Z';
export const minutesAfterBase = (minutes: number): string =>
  new Date(Date.parse(BASE_INSTANT) + minutes * 60_000).toISOString();

export const metaAt = (minutes: number, actor = 'operator'): MessageMetadata => ({
  occurredAt: minutesAfterBase(minutes),
  actor,
  correlationId: 'corr-1',
});
