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
   * the event is passed over, so one bad event cannot stop every later one. Everything is retried by default.
   */
  readonly isPermanent?: (error: unknown) => boolean;
}

export interface ReactorCheckpoints {
  read(name: string): bigint | undefined;
  write(name: string, position: bigint): void;
}

export interface RunningReactor {
  readonly done: Promise<void>;
  close(): Promise<void>;
}

export interface ReactorOptions {
  readonly onError?: (error: unknown, event: RecordedEvent, willRetry: boolean) => void;
  readonly maxRetryDelayMs?: number;
}

export function runReactor(
  store: EventStore,
  checkpoints: ReactorCheckpoints,
  reactor: Reactor,
  options: ReactorOptions = {},
): RunningReactor {
  let closed = false;
  const subscription: Subscription = store.subscribeToAll(
    { fromPosition: checkpoints.read(reactor.name), filter: reactor.filter },
    async (event) => {
      for (let attempt = 1; !closed; attempt++) {
        try {
          await reactor.handle(event);
          break;
        } catch (error) {
          const permanent = reactor.isPermanent?.(error) ?? false;
          options.onError?.(error, event, !permanent);
          if (permanent) break;
          const delay = Math.min(options.maxRetryDelayMs ?? 30_000, 100 * 2 ** Math.min(attempt, 10));
          await new Promise((r) => setTimeout(r, delay));
        }
      }
      if (!closed) checkpoints.write(reactor.name, event.position);
    },
  );
  return {
    done: subscription.done,
    close: () => {
      closed = true;
      return subscription.close();
    },
  };
}
