import type { RecordedEvent } from '../../domain/messages.ts';
import type { EventStore, Subscription, SubscriptionFilter } from '../ports/eventStore.ts';

/**
 * A reactor turns events into effects outside the read model: commands to other aggregates (a process manager) or
 * writes to the Kubernetes API (custom resources). Its checkpoint cannot commit together with those effects, so it
 * is saved after each handled event and the handler must be idempotent: after a crash the last event is handled
 * again, never skipped.
 */
export interface Reactor {
  readonly name: string;
  readonly filter: SubscriptionFilter;
  handle(event: RecordedEvent): Promise<void>;
  /**
   * Whether a failure is worth retrying (the API server is down, a conflict) or can never succeed (the object is
   * invalid). Retried failures hold the reactor on that event, with growing pauses; the others are reported and
   * the event is passed over, so one bad event cannot stop every later one. `attempt` counts the tries of this
   * event (1 for the first), so a failure that keeps coming back the same way may be judged permanent in the end.
   * Everything is retried by default.
   */
  readonly isPermanent?: (error: unknown, attempt: number) => boolean;
}

export interface ReactorCheckpoints {
  read(name: string): bigint | undefined;
  write(name: string, position: bigint): void;
}

/** Where a reactor stands against the log: what `/readyz` and the metrics report. */
export interface ReactorProgress {
  readonly name: string;
  /** Its history has been delivered and it follows new events as they are written. */
  readonly live: boolean;
  /** Events for it after its checkpoint (the one in hand included), counted up to MAX_COUNTED_LAG. */
  readonly behind: number;
  /** `behind` is a lower bound: counting stopped before the head of the log. */
  readonly behindAtLeast: boolean;
  /** Age of the oldest event it has not finished, in seconds; 0 when caught up. */
  readonly lagSeconds: number;
  /** The event it is held on because the last try failed and will be retried. */
  readonly retrying?: {
    readonly position: bigint;
    readonly type: string;
    readonly attempts: number;
    readonly error: string;
  };
  readonly lastError?: {
    readonly at: string;
    readonly position: bigint;
    readonly type: string;
    readonly message: string;
    /** Judged permanent and passed over. */
    readonly skipped: boolean;
  };
  /** Events passed over since the reactor started. */
  readonly skipped: number;
}

export interface RunningReactor {
  readonly name: string;
  readonly done: Promise<void>;
  close(): Promise<void>;
  progress(): Promise<ReactorProgress>;
}

export interface ReactorOptions {
  readonly onError?: (error: unknown, event: RecordedEvent, willRetry: boolean) => void;
  readonly maxRetryDelayMs?: number;
  /** The pause between tries; injected by tests so a retry costs no real time. */
  readonly sleep?: (ms: number) => Promise<void>;
  readonly now?: () => Date;
}

/** Counting the backlog stops here: past it, "at least" says enough. */
export const MAX_COUNTED_LAG = 1_000;
/** Events read per progress() call, so a log full of events for other consumers costs a bounded read. */
const MAX_SCANNED = 5_000;
const PAGE = 500;

const messageOf = (error: unknown) => (error instanceof Error ? error.message : String(error)).slice(0, 1_000);

const matches = (filter: SubscriptionFilter, event: RecordedEvent) =>
  (filter.streamPrefixes === undefined || filter.streamPrefixes.some((p) => event.streamId.startsWith(p))) &&
  (filter.eventTypes === undefined || filter.eventTypes.includes(event.type));

export function runReactor(
  store: EventStore,
  checkpoints: ReactorCheckpoints,
  reactor: Reactor,
  options: ReactorOptions = {},
): RunningReactor {
  const sleep = options.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  const now = options.now ?? (() => new Date());
  let closed = false;
  // Closing ends a pause between tries at once, rather than after up to maxRetryDelayMs.
  let endPause: (() => void) | undefined;
  const closing = new Promise<void>((resolve) => {
    endPause = resolve;
  });
  let live = false;
  let checkpoint = checkpoints.read(reactor.name);
  // Positions up to here hold nothing for this reactor beyond its checkpoint: found by an earlier count, so the
  // next one does not read the same events for other consumers again.
  let clearedTo: bigint | undefined;
  let retrying: ReactorProgress['retrying'];
  let lastError: ReactorProgress['lastError'];
  let skipped = 0;

  const subscription: Subscription = store.subscribeToAll(
    {
      fromPosition: checkpoint,
      filter: reactor.filter,
      onLive: () => {
        live = true;
      },
    },
    async (event) => {
      for (let attempt = 1; !closed; attempt++) {
        try {
          await reactor.handle(event);
          break;
        } catch (error) {
          const permanent = reactor.isPermanent?.(error, attempt) ?? false;
          const message = messageOf(error);
          lastError = {
            at: now().toISOString(),
            position: event.position,
            type: event.type,
            message,
            skipped: permanent,
          };
          options.onError?.(error, event, !permanent);
          if (permanent) {
            skipped++;
            break;
          }
          retrying = { position: event.position, type: event.type, attempts: attempt, error: message };
          await Promise.race([
            sleep(Math.min(options.maxRetryDelayMs ?? 30_000, 100 * 2 ** Math.min(attempt, 10))),
            closing,
          ]);
        }
      }
      retrying = undefined;
      if (!closed) {
        checkpoints.write(reactor.name, event.position);
        checkpoint = event.position;
      }
    },
  );

  const progress = async (): Promise<ReactorProgress> => {
    const start = [checkpoint, clearedTo].reduce<bigint | undefined>(
      (a, b) => (b === undefined ? a : a === undefined || b > a ? b : a),
      undefined,
    );
    let cursor = start === undefined ? undefined : start + 1n;
    let behind = 0;
    let oldest: RecordedEvent | undefined;
    let scanned = 0;
    let reachedHead = false;
    let lastScanned: bigint | undefined;
    while (scanned < MAX_SCANNED && behind < MAX_COUNTED_LAG) {
      const page = await store.readAll({ ...(cursor === undefined ? {} : { fromPosition: cursor }), maxCount: PAGE });
      for (const event of page) {
        lastScanned = event.position;
        if (!matches(reactor.filter, event)) continue;
        oldest ??= event;
        behind++;
      }
      scanned += page.length;
      if (page.length < PAGE) {
        reachedHead = true;
        break;
      }
      cursor = (lastScanned ?? 0n) + 1n;
    }
    const cleared = oldest ? oldest.position - 1n : lastScanned;
    if (cleared !== undefined && (clearedTo === undefined || cleared > clearedTo)) clearedTo = cleared;
    return {
      name: reactor.name,
      live,
      behind: Math.min(behind, MAX_COUNTED_LAG),
      behindAtLeast: !reachedHead || behind > MAX_COUNTED_LAG,
      lagSeconds: oldest ? Math.max(0, (now().getTime() - Date.parse(oldest.recordedAt)) / 1000) : 0,
      ...(retrying ? { retrying } : {}),
      ...(lastError ? { lastError } : {}),
      skipped,
    };
  };

  return {
    name: reactor.name,
    done: subscription.done,
    progress,
    close: () => {
      closed = true;
      endPause?.();
      return subscription.close();
    },
  };
}
