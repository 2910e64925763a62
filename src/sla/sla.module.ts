import type * as k8s from '@kubernetes/client-node';
import type Database from 'better-sqlite3';
import { type ReactorCheckpoints, type RunningReactor, runReactor } from '../application/reactor.ts';
import type { EventStore } from '../ports/eventStore.ts';
import { type IncidentSlas, startIncidentSlas } from './incidentSlas.informer.ts';
import { createSlaQueries } from './sla.queries.ts';
import { slaClockReactor } from './slaClock.reactor.ts';
import { slaEscalationReactor } from './slaEscalation.reactor.ts';
import { startSlaSweeper } from './slaSweeper.ts';

export interface SlaOptions {
  readonly config: k8s.KubeConfig;
  readonly store: EventStore;
  readonly checkpoints: ReactorCheckpoints;
  /** The read model the sla-clocks projection writes (every replica projects it). */
  readonly readModel: Database.Database;
  /** Cairn's own namespace: SLAs there measure Issues of every namespace. */
  readonly namespace: string;
  readonly now?: () => Date;
  /** How often recorded warnings and deadlines are looked for; 1 s by default. */
  readonly sweepIntervalMs?: number;
  /** How often each IncidentSLA's compliance status is brought up to date; 30 s by default. */
  readonly statusIntervalMs?: number;
  readonly log?: (line: string) => void;
  readonly onError?: (what: string, error: unknown) => void;
}

export interface RunningSla {
  readonly slas: IncidentSlas;
  readonly reactors: readonly RunningReactor[];
  sweep(): Promise<number>;
  stop(): Promise<void>;
}

/**
 * IncidentSLAs, wired as one capability: the informer (validation, Ready and compliance status), the reactor that
 * starts and stops clocks from Issue events, the sweeper that records warnings and violations at their recorded
 * instants, and the reactor that escalates violations the SLA asks to. Leader only.
 */
export function startSla(options: SlaOptions): RunningSla {
  const now = options.now ?? (() => new Date());
  const onError = options.onError ?? (() => {});
  const queries = createSlaQueries(options.readModel);
  const slas = startIncidentSlas({
    config: options.config,
    operatorNamespace: options.namespace,
    queries,
    now,
    onError,
    ...(options.log ? { log: options.log } : {}),
  });
  const reactors = [
    slaClockReactor({ store: options.store, slas: () => slas.current() }),
    slaEscalationReactor({ store: options.store }),
  ].map((reactor) => {
    const running = runReactor(options.store, options.checkpoints, reactor, {
      onError: (error, event, willRetry) =>
        onError(
          `${reactor.name} on ${event.type} at ${event.position}${willRetry ? ' (will retry)' : ' (skipped)'}`,
          error,
        ),
    });
    running.done.catch((error) => onError(`reactor ${reactor.name} stopped`, error));
    return running;
  });
  const sweeper = startSlaSweeper({
    store: options.store,
    queries,
    now,
    ...(options.sweepIntervalMs ? { intervalMs: options.sweepIntervalMs } : {}),
    onError: (error) => onError('SLA sweep', error),
  });
  const status = setInterval(() => slas.refresh(), options.statusIntervalMs ?? 30_000);
  status.unref();
  return {
    slas,
    reactors,
    sweep: sweeper.sweep,
    stop: async () => {
      clearInterval(status);
      sweeper.stop();
      await Promise.all(reactors.map((r) => r.close()));
      await slas.stop();
    },
  };
}
