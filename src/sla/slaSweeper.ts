import { slaDecider } from '../../domain/sla/sla.decider.ts';
import { StreamCategory, streamName } from '../../domain/streams.ts';
import { createCommandHandler } from '../application/commandHandler.ts';
import type { EventStore } from '../ports/eventStore.ts';
import type { SlaQueries } from './sla.queries.ts';

/**
 * Warnings and violations at their recorded instants. The read model says which Issues may have something due (it
 * survives restarts, unlike a timer); the SLA decider decides on its own stream whether they have, so a stale row,
 * a restart or two leaders sweeping at once record each warning and violation once.
 */
export function startSlaSweeper(deps: {
  readonly store: EventStore;
  readonly queries: SlaQueries;
  readonly now: () => Date;
  readonly intervalMs?: number;
  readonly onError?: (error: unknown) => void;
  /** Told how many events a sweep recorded, when it recorded any. */
  readonly onRecorded?: (count: number) => void;
}): { sweep(): Promise<number>; stop(): void } {
  const clocks = createCommandHandler(deps.store, slaDecider, { maxAttempts: 5 });
  const sweep = async () => {
    let recorded = 0;
    const at = deps.now().toISOString();
    for (const issueId of deps.queries.due(at)) {
      try {
        const outcome = await clocks(streamName(StreamCategory.Sla, issueId), {
          type: 'SweepSla',
          data: {},
          metadata: { occurredAt: at, actor: 'system:sla' },
        });
        recorded += outcome.newEvents.length;
      } catch (error) {
        deps.onError?.(error);
      }
    }
    if (recorded > 0) deps.onRecorded?.(recorded);
    return recorded;
  };
  let running = false;
  const timer = setInterval(() => {
    if (running) return;
    running = true;
    sweep()
      .catch((error) => deps.onError?.(error))
      .finally(() => {
        running = false;
      });
  }, deps.intervalMs ?? 1_000);
  timer.unref();
  return { sweep, stop: () => clearInterval(timer) };
}
