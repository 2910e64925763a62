/**
 * Messages are plain readonly records told apart by `type`. Time, ids and causation travel in metadata so that
 * deciders stay pure: nothing in domain/ reads a clock or draws a random number.
 */
export interface MessageMetadata {
  /** ISO-8601 instant at which the command was issued or the event happened. */
  readonly occurredAt: string;
  readonly correlationId?: string;
  readonly causationId?: string;
  /** Who asked: an API key id, `operator`, `system:<component>`. */
  readonly actor?: string;
}

export interface Event<Type extends string = string, Data = unknown> {
  readonly type: Type;
  readonly data: Data;
  readonly metadata: MessageMetadata;
}

export interface Command<Type extends string = string, Data = unknown> {
  readonly type: Type;
  readonly data: Data;
  readonly metadata: MessageMetadata;
}

/** An event as the store hands it back: where it sits in its stream and in the global log. */
export type RecordedEvent<E extends Event = Event> = E & {
  readonly id: string;
  readonly streamId: string;
  /** 0-based position of the event in its stream. */
  readonly revision: bigint;
  /** Position in the global log; strictly increasing, not necessarily contiguous. */
  readonly position: bigint;
  readonly recordedAt: string;
  /** Schema version of `data` for this `type`. */
  readonly schemaVersion: number;
};

/** A decider is three pure functions; see the specifications beside each one. */
export interface Decider<State, C extends Command, E extends Event> {
  readonly initialState: () => State;
  readonly evolve: (state: State, event: E) => State;
  readonly decide: (command: C, state: State) => readonly E[];
}
