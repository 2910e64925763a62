import { CairnError, ErrorCategory, isCairnError } from '../../domain/errors.ts';
import type { RecordedEvent } from '../../domain/messages.ts';
import type { EventStore, Subscription } from '../ports/eventStore.ts';

/**
 * A projection writes a read model from events. `apply` must be idempotent (an upsert, an insert-or-ignore, an
 * update guarded by position): the runner applies each event once per checkpoint, but a target that cannot commit
 * the checkpoint with the writes, or a crash between the two, replays events, and a rebuild replays all of them.
 */
export interface Projection<Tx> {
  readonly name: string;
  handles(eventType: string): boolean;
  apply(event: RecordedEvent, tx: Tx): void;
  /**
   * Applies events it handles, in log order, as `apply` would one by one. A projection that folds a document per
   * entity provides it to write each entity once per batch instead of once per event: what makes a replay fast.
   */
  applyBatch?(events: readonly RecordedEvent[], tx: Tx): void;
  /** Creates the projection's tables; runs at every start, so it must be idempotent. */
  init?(tx: Tx): void;
  /** Empties the projection's tables, for a rebuild. */
  reset(tx: Tx): void;
}

/** Where projections write. `transaction` is atomic: the writes and the checkpoint commit together or not at all. */
export interface ProjectionTarget<Tx> {
  transaction<T>(fn: (tx: Tx) => T): T;
  readCheckpoint(tx: Tx, name: string): bigint | undefined;
  writeCheckpoint(tx: Tx, name: string, position: bigint): void;
  deleteCheckpoint(tx: Tx, name: string): void;
}

export interface ProjectionRunnerOptions<Tx> {
  readonly store: EventStore;
  readonly target: ProjectionTarget<Tx>;
  readonly projections: readonly Projection<Tx>[];
  /** Events per read and per transaction while catching up. */
  readonly pageSize?: number;
  /** A live projection that fails stops; this is told why. */
  readonly onError?: (error: CairnError, projection: string) => void;
  /**
   * Told of each event a live projection has committed (not of catch-up pages): where projection lag is measured
   * and where live readers (GraphQL subscriptions) learn that a row changed.
   */
  readonly onProjected?: (projection: string, event: RecordedEvent) => void;
}

export interface ProjectionStatus {
  readonly name: string;
  readonly checkpoint: bigint | undefined;
  readonly live: boolean;
  readonly error?: CairnError;
}

export interface ProjectionRunner {
  /** Catches every projection up, then keeps it up to date from a subscription. */
  start(): Promise<void>;
  /**
   * Applies everything up to the end of the log now: each page of the log is read once and applied to every
   * projection that is behind it, in one transaction. For tools and tests.
   */
  catchUp(name?: string): Promise<void>;
  /** Forgets the checkpoints, empties the projections' tables and replays the log from the start into them. */
  rebuild(names: readonly string[]): Promise<void>;
  status(): ProjectionStatus[];
  stop(): Promise<void>;
}

/** The earliest checkpoint; undefined (the start of the log) if any projection has none. */
const earliest = (checkpoints: readonly (bigint | undefined)[]): bigint | undefined => {
  let min: bigint | undefined;
  for (const c of checkpoints) {
    if (c === undefined) return undefined;
    if (min === undefined || c < min) min = c;
  }
  return min;
};

export function createProjectionRunner<Tx>(options: ProjectionRunnerOptions<Tx>): ProjectionRunner {
  const { store, target } = options;
  const pageSize = options.pageSize ?? 2000;
  const byName = new Map(options.projections.map((p) => [p.name, p]));
  if (byName.size !== options.projections.length) {
    throw new CairnError('projection.duplicate_name', ErrorCategory.Validation, 'two projections share a name');
  }
  const live = new Map<string, Subscription>();
  const errors = new Map<string, CairnError>();
  let initialised = false;

  const projection = (name: string): Projection<Tx> => {
    const found = byName.get(name);
    if (found === undefined) {
      throw new CairnError(
        'projection.not_found',
        ErrorCategory.NotFound,
        `no projection named ${name}; known: ${[...byName.keys()].join(', ') || 'none'}`,
      );
    }
    return found;
  };

  const init = () => {
    if (initialised) return;
    for (const p of options.projections) {
      if (p.init !== undefined) target.transaction((tx) => p.init!(tx));
    }
    initialised = true;
  };

  const checkpointOf = (name: string) => target.transaction((tx) => target.readCheckpoint(tx, name));

  /** Applies events to `p` past its checkpoint and moves the checkpoint, inside the caller's transaction. */
  const applyWithin = (tx: Tx, p: Projection<Tx>, events: readonly RecordedEvent[]) => {
    // Re-read inside the transaction, so a second runner on the same read model (another process) that got there
    // first makes this a no-op instead of a replay.
    const checkpoint = target.readCheckpoint(tx, p.name);
    const fresh = checkpoint === undefined ? events : events.filter((e) => e.position > checkpoint);
    if (fresh.length === 0) return;
    const handled = fresh.filter((e) => p.handles(e.type));
    try {
      if (p.applyBatch !== undefined) {
        if (handled.length > 0) p.applyBatch(handled, tx);
      } else {
        for (const event of handled) p.apply(event, tx);
      }
    } catch (cause) {
      const first = handled[0]!;
      throw new CairnError(
        'projection.apply_failed',
        ErrorCategory.Internal,
        `projection ${p.name} failed on events from position ${first.position} (${first.type}): ${cause instanceof Error ? cause.message : String(cause)}`,
        { cause, details: { projection: p.name, position: String(first.position) } },
      );
    }
    target.writeCheckpoint(tx, p.name, fresh.at(-1)!.position);
  };

  /** Applies a page to every projection given and moves their checkpoints, all in one transaction. */
  const applyPage = (ps: readonly Projection<Tx>[], events: readonly RecordedEvent[]) => {
    if (events.length === 0) return;
    try {
      target.transaction((tx) => {
        for (const p of ps) applyWithin(tx, p, events);
      });
    } catch (cause) {
      if (isCairnError(cause)) throw cause;
      // The writes were fine but the commit (or a checkpoint) was not: name the page, so the operator knows where.
      const names = ps.map((p) => p.name).join(', ');
      throw new CairnError(
        'projection.apply_failed',
        ErrorCategory.Internal,
        `projections ${names} could not commit the events from position ${events[0]!.position}: ${cause instanceof Error ? cause.message : String(cause)}`,
        { cause, details: { projection: names, position: String(events[0]!.position) } },
      );
    }
  };

  const catchUpTogether = async (ps: readonly Projection<Tx>[]) => {
    if (ps.length === 0) return;
    for (;;) {
      const checkpoints = target.transaction((tx) => ps.map((p) => target.readCheckpoint(tx, p.name)));
      // The page starts after the checkpoint of the projection furthest behind; the others skip what they have.
      const behind = earliest(checkpoints);
      const page = await store.readAll({
        fromPosition: behind === undefined ? undefined : behind + 1n,
        maxCount: pageSize,
      });
      applyPage(ps, page);
      if (page.length < pageSize) return;
    }
  };

  const goLive = (p: Projection<Tx>) => {
    const subscription = store.subscribeToAll({ fromPosition: checkpointOf(p.name) }, (event) => {
      // Skipped events do not move the checkpoint live: a write per unrelated event is not worth it.
      if (!p.handles(event.type)) return;
      applyPage([p], [event]);
      try {
        options.onProjected?.(p.name, event);
      } catch (cause) {
        // The row is committed; a listener that fails must not stop the projection, only be reported.
        options.onError?.(
          new CairnError('projection.listener_failed', ErrorCategory.Internal, `a listener of ${p.name} failed`, {
            cause,
          }),
          p.name,
        );
      }
    });
    live.set(p.name, subscription);
    subscription.done.catch((error: CairnError) => {
      live.delete(p.name);
      errors.set(p.name, error);
      options.onError?.(error, p.name);
    });
  };

  const stopOne = async (name: string) => {
    const subscription = live.get(name);
    live.delete(name);
    await subscription?.close();
  };

  return {
    async start() {
      init();
      const idle = options.projections.filter((p) => !live.has(p.name));
      for (const p of idle) errors.delete(p.name);
      await catchUpTogether(idle);
      for (const p of idle) goLive(p);
    },

    async catchUp(name?: string) {
      init();
      await catchUpTogether(name === undefined ? options.projections : [projection(name)]);
    },

    async rebuild(names: readonly string[]) {
      const ps = [...new Set(names)].map(projection);
      init();
      const wasLive = ps.filter((p) => live.has(p.name));
      await Promise.all(ps.map((p) => stopOne(p.name)));
      target.transaction((tx) => {
        for (const p of ps) {
          p.reset(tx);
          target.deleteCheckpoint(tx, p.name);
          p.init?.(tx);
        }
      });
      for (const p of ps) errors.delete(p.name);
      await catchUpTogether(ps);
      for (const p of wasLive) goLive(p);
    },

    status() {
      return options.projections.map((p) => {
        const error = errors.get(p.name);
        return {
          name: p.name,
          checkpoint: checkpointOf(p.name),
          live: live.has(p.name),
          ...(error === undefined ? {} : { error }),
        };
      });
    },

    async stop() {
      await Promise.all([...live.keys()].map(stopOne));
    },
  };
}
