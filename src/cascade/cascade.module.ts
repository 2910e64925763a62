import type * as k8s from '@kubernetes/client-node';
import type { IssueState } from '../../domain/issue/issue.decider.ts';
import type { MessageMetadata } from '../../domain/messages.ts';
import { workloadHealth } from '../adapters/kubernetes/workloadHealth.ts';
import { type ReactorCheckpoints, type RunningReactor, runReactor } from '../application/reactor.ts';
import type { EventStore } from '../ports/eventStore.ts';
import { createCascadeCorrelator } from './cascadeCorrelator.ts';
import { createDependencyGraphObserver } from './dependencyGraph.observer.ts';

export interface CascadeOptions {
  readonly config: k8s.KubeConfig;
  readonly store: EventStore;
  readonly checkpoints: ReactorCheckpoints;
  /** Issues detected further apart than this are not one cascade (`--cascade-window`); 0 turns correlation off. */
  readonly windowMinutes?: number;
  /** Seconds between a root's resolution and the check of its dependants' workloads (30 by default). */
  readonly recoveryGraceSeconds?: number;
  /** How often due recovery checks are looked for (5 s by default). */
  readonly sweepIntervalMs?: number;
  readonly now?: () => Date;
  readonly log?: (line: string) => void;
  readonly onError?: (what: string, error: unknown) => void;
}

export interface Cascade {
  /** For the pipeline: true when the Issue's plan must wait for the root of its cascade (recorded on the Issue). */
  deferIfDependant(state: IssueState, metadata: MessageMetadata): Promise<boolean>;
  /** Starts with the leadership: the open-Issue index and the correlation reactor. */
  start(): { readonly reactor: RunningReactor; stop(): Promise<void> };
}

/**
 * Cascade correlation, wired as one capability: the dependency graph read from the cluster (cached a few seconds),
 * the index of open Issues, the reactor that links Issues on connected workloads to their root and releases the
 * plans that waited for it. Leader only; a replica that does not lead answers the pipeline "plan now".
 */
export function createCascade(options: CascadeOptions): Cascade {
  const onError = options.onError ?? (() => {});
  const observer = createDependencyGraphObserver(options.config);
  const correlator = createCascadeCorrelator({
    store: options.store,
    graph: (namespaces) => observer.observe(namespaces),
    ...(options.windowMinutes !== undefined ? { windowMinutes: options.windowMinutes } : {}),
    checkWorkload: (workload, signals) => workloadHealth(options.config, workload, signals),
    ...(options.recoveryGraceSeconds !== undefined ? { recoveryGraceSeconds: options.recoveryGraceSeconds } : {}),
    ...(options.now ? { now: options.now } : {}),
    ...(options.log ? { log: options.log } : {}),
  });
  return {
    deferIfDependant: (state, metadata) => correlator.deferIfDependant(state, metadata),
    start() {
      correlator.follow((error) => onError('cascade index stopped', error));
      const reactor = runReactor(options.store, options.checkpoints, correlator.reactor, {
        onError: (error, event, willRetry) =>
          onError(
            `cascade correlation on ${event.type} at ${event.position}${willRetry ? ' (will retry)' : ''}`,
            error,
          ),
      });
      reactor.done.catch((error) => onError('cascade correlation stopped', error));
      // Recovery checks are recorded deadlines: the sweep fires those due, after a restart too.
      let sweeping = false;
      const timer = setInterval(() => {
        if (sweeping) return;
        sweeping = true;
        correlator
          .sweepRecoveryChecks()
          .catch((error) => onError('cascade recovery check', error))
          .finally(() => {
            sweeping = false;
          });
      }, options.sweepIntervalMs ?? 5_000);
      timer.unref();
      return {
        reactor,
        stop: async () => {
          clearInterval(timer);
          // The index first: a correlation waiting for it gives up, so the reactor can close.
          await correlator.stop();
          await reactor.close();
        },
      };
    },
  };
}
