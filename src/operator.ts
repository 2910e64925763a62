import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { dirname, join } from 'node:path';
import * as k8s from '@kubernetes/client-node';
import { openEventStore } from './adapters/eventstore/openEventStore.ts';
import { startDetectionController } from './adapters/kubernetes/detection/detectionController.ts';
import type { DetectionThresholds } from './adapters/kubernetes/detection/detectors.ts';
import { startLeaderElection } from './adapters/kubernetes/leaderElection.ts';
import { resourceWriterReactor } from './adapters/kubernetes/resourceWriter.reactor.ts';
import { createSqliteProjectionTarget, openSqliteReadModel } from './adapters/readmodel/sqlite.projectionTarget.ts';
import { createAnomalyRecorder } from './application/detection/anomalyRecorder.ts';
import { issueCorrelationReactor } from './application/detection/issueCorrelation.reactor.ts';
import { type ReactorCheckpoints, type RunningReactor, runReactor } from './application/reactor.ts';

export interface OperatorOptions {
  /** A kubeconfig file; otherwise KUBECONFIG, ~/.kube/config or the in-cluster service account. */
  readonly kubeconfig?: string;
  /** `sqlite:<path>` (default), `memory:` or an EventStoreDB URL. */
  readonly store: string;
  /** Where the operator keeps its lease, and the resources of cluster-scoped objects. */
  readonly namespace: string;
  readonly identity?: string;
  readonly thresholds?: Partial<DetectionThresholds>;
  readonly leaseDurationMs?: number;
  readonly log?: (line: string) => void;
}

export interface RunningOperator {
  isLeader(): boolean;
  stop(): Promise<void>;
}

const newId = () => randomBytes(8).toString('hex');

/** Reactor checkpoints live beside the event store, in the read model database. */
function checkpointsFor(storeUrl: string): ReactorCheckpoints {
  const path = storeUrl.startsWith('sqlite:')
    ? join(dirname(storeUrl.slice('sqlite:'.length)), 'readmodel.db')
    : ':memory:';
  const db = openSqliteReadModel(path);
  const target = createSqliteProjectionTarget(db);
  return {
    read: (name) => target.transaction((tx) => target.readCheckpoint(tx, `reactor:${name}`)),
    write: (name, position) => target.transaction((tx) => target.writeCheckpoint(tx, `reactor:${name}`, position)),
  };
}

/**
 * The operator's composition root. Every replica campaigns for the lease; only the leader watches the cluster and
 * acts, so two replicas never record the same fault or write the same resource.
 */
export async function startOperator(options: OperatorOptions): Promise<RunningOperator> {
  const log = options.log ?? (() => {});
  const config = new k8s.KubeConfig();
  if (options.kubeconfig) config.loadFromFile(options.kubeconfig);
  else config.loadFromDefault();
  const store = openEventStore(options.store);
  const checkpoints = checkpointsFor(options.store);
  const identity = options.identity ?? `${hostname()}-${process.pid}`;
  const record = createAnomalyRecorder({ store, newId, now: () => new Date() });
  const onError = (what: string, error: unknown) =>
    log(`error: ${what}: ${error instanceof Error ? error.message : String(error)}`);

  let active: { stop: () => Promise<void> } | undefined;
  const lead = () => {
    log(`${identity} is leading: watching the cluster`);
    const reactors: RunningReactor[] = [
      issueCorrelationReactor({ store, onRefused: (reason) => log(`correlation: ${reason}`) }),
      resourceWriterReactor({ store, config, namespace: options.namespace }),
    ].map((reactor) => {
      const running = runReactor(store, checkpoints, reactor, {
        onError: (error, event, willRetry) =>
          onError(
            `${reactor.name} on ${event.type} at ${event.position}${willRetry ? ' (will retry)' : ' (skipped)'}`,
            error,
          ),
      });
      running.done.catch((error) => onError(`reactor ${reactor.name} stopped`, error));
      return running;
    });
    const detection = startDetectionController({
      config,
      record: async (report) => {
        const events = await record(report);
        for (const event of events) {
          if (event.type === 'AnomalyDetected')
            log(
              `anomaly: ${report.signal} on ${report.workload.kind}/${report.workload.namespace}/${report.workload.name}: ${report.message}`,
            );
        }
      },
      ...(options.thresholds ? { thresholds: options.thresholds } : {}),
      onError,
    });
    active = {
      stop: async () => {
        await detection.stop();
        await Promise.all(reactors.map((r) => r.close()));
      },
    };
  };
  const follow = () => {
    log(`${identity} is standing by`);
    const stopping = active;
    active = undefined;
    void stopping?.stop();
  };

  const elector = startLeaderElection(config, {
    namespace: options.namespace,
    name: 'cairn-operator',
    identity,
    ...(options.leaseDurationMs
      ? {
          leaseDurationMs: options.leaseDurationMs,
          renewDeadlineMs: (options.leaseDurationMs * 2) / 3,
          retryPeriodMs: options.leaseDurationMs / 6,
        }
      : {}),
    onStartedLeading: lead,
    onStoppedLeading: follow,
    onError: (error) => onError('leader election', error),
  });

  return {
    isLeader: () => elector.isLeader(),
    stop: async () => {
      await elector.stop();
      await active?.stop();
      await store.close();
    },
  };
}
