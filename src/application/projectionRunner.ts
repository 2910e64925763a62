import { CairnError, ErrorCategory } from '../../domain/errors.ts';
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
  /** Events per transaction while catching up. */
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
  /** Applies everything up to the end of the log now (one transaction per page); for tools and tests. */
  catchUp(name?: string): Promise<void>;
  /** Forgets the checkpoint, empties the projection's tables and replays the log from the start. */
  rebuild(name: string): Promise<void>;
  status(): ProjectionStatus[];
  stop(): Promise<void>;
}

export function createProjectionRunner<Tx>(options: ProjectionRunnerOptions<Tx>): ProjectionRunner {
  const { store, target } = options;
  const pageSize = options.pageSize ?? 1000;
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

  /**
   * Applies events and moves the checkpoint in one transaction. The checkpoint is re-read inside it, so a second
   * runner on the same read model (another process) that got there first makes this a no-op instead of a replay.
   */
  const applyBatch = (p: Projection<Tx>, events: readonly RecordedEvent[]) => {
    if (events.length === 0) return;
    try {
      target.transaction((tx) => {
        const checkpoint = target.readCheckpoint(tx, p.name);
        let last = checkpoint;
        for (const event of events) {
          if (checkpoint !== undefined && event.position <= checkpoint) continue;
          if (p.handles(event.type)) p.apply(event, tx);
          last = event.position;
        }
        if (last !== undefined && last !== checkpoint) target.writeCheckpoint(tx, p.name, last);
      });
    } catch (cause) {
      const first = events[0]!;
      throw new CairnError(
        'projection.apply_failed',
        ErrorCategory.Internal,
        `projection ${p.name} failed on events from position ${first.position} (${first.type}): ${cause instanceof Error ? cause.message : String(cause)}`,
        { cause, details: { projection: p.name, position: String(first.position) } },
      );
    }
  };

  const catchUpOne = async (p: Projection<Tx>) => {
    for (;;) {
      const checkpoint = checkpointOf(p.name);
      const page = await store.readAll({
        fromPosition: checkpoint === undefined ? undefined : checkpoint + 1n,
        maxCount: pageSize,
      });
      applyBatch(p, page);
      if (page.length < pageSize) return;
    }
  };

  const goLive = (p: Projection<Tx>) => {
    const subscription = store.subscribeToAll({ fromPosition: checkpointOf(p.name) }, (event) => {
      // Skipped events do not move the checkpoint live: a write per unrelated event is not worth it.
      if (!p.handles(event.type)) return;
      applyBatch(p, [event]);
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
      for (const p of options.projections) {
        if (live.has(p.name)) continue;
        errors.delete(p.name);
        await catchUpOne(p);
        goLive(p);
      }
    },

    async catchUp(name?: string) {
      init();
      for (const p of name === undefined ? options.projections : [projection(name)]) await catchUpOne(p);
    },

    async rebuild(name: string) {
      const p = projection(name);
      init();
      const wasLive = live.has(name);
      await stopOne(name);
      target.transaction((tx) => {
        p.reset(tx);
        target.deleteCheckpoint(tx, name);
        p.init?.(tx);
      });
      errors.delete(name);
      await catchUpOne(p);
      if (wasLive) goLive(p);
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
