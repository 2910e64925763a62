import type * as k8s from '@kubernetes/client-node';
import type { ResourceRef } from '../../../../domain/events/common.schema.ts';
import type { AnomalyReport } from '../../../application/detection/anomalyRecorder.ts';
import { createKeyedQueue } from '../../../application/keyedQueue.ts';
import { type ClusterWatch, type WatchedKind, WatchedKinds, watchCluster } from '../clusterWatch.ts';
import { type Detector, type DetectorSet, detectionKey, detectionView, podWorkload } from './detectionView.ts';
import { DefaultThresholds, type DetectionThresholds, type Finding, workloadDetectors } from './detectors.ts';
import { networkDetectors } from './networkDetectors.ts';
import { pressureDetectors } from './pressureDetectors.ts';
import { provenDeploymentRevision, provenStatefulSetRevision } from './provenRevision.ts';
import { storageDetectors } from './storageDetectors.ts';
import { emptySustainState, type SustainState, sustain } from './sustain.ts';

/** Every area's checks; a kind several areas check gets all their findings. */
const detectorSets: readonly DetectorSet[] = [workloadDetectors, pressureDetectors, networkDetectors, storageDetectors];

const detectorsOf = (kind: WatchedKind): Detector[] =>
  detectorSets.flatMap((set) => (set.detectors[kind] ? [set.detectors[kind]] : []));

export interface DetectionControllerOptions {
  readonly config: k8s.KubeConfig;
  readonly record: (report: AnomalyReport) => Promise<unknown>;
  readonly thresholds?: Partial<DetectionThresholds>;
  /** Only these namespaces (cluster-scoped objects such as Nodes are always watched); all when absent. */
  readonly namespaces?: readonly string[];
  readonly now?: () => number;
  readonly onError?: (what: string, error: unknown) => void;
  /**
   * Watch TLS Secrets, so an Ingress naming a missing certificate Secret is reported. Off by default: it needs
   * list/watch on Secrets cluster-wide, which the Helm chart grants only with `detection.tlsSecrets`.
   */
  readonly tlsSecrets?: boolean;
  /** A Deployment or StatefulSet completed a rollout: this revision (template hash) ran healthy. */
  readonly onRevisionProven?: (workload: ResourceRef, revision: string) => Promise<unknown>;
  /**
   * Seconds between looks at every object of a kind whether it changed or not, for symptoms that time alone brings
   * (a CronJob's run is missed by nothing happening). Default: CronJobs every 30 s; 0 turns a kind off.
   */
  readonly recheckSeconds?: Partial<Record<WatchedKind, number>>;
}

export interface DetectionController {
  readonly watch: ClusterWatch;
  stop(): Promise<void>;
}

/**
 * Watches the cluster and reports each finding once it has lasted long enough. Reconciles by key from the
 * informer cache, never from a watch payload; a pod's finding is attributed to the workload that owns it.
 */
export function startDetectionController(options: DetectionControllerOptions): DetectionController {
  const thresholds = { ...DefaultThresholds, ...options.thresholds };
  const now = options.now ?? Date.now;
  const sustained = new Map<string, SustainState>();
  /** The last revision reported proven per workload, so a steady Deployment is not reported at every resync. */
  const proven = new Map<string, string>();

  const workloadOf = (finding: Finding, object: k8s.KubernetesObject) =>
    finding.subject.kind === 'Pod' ? podWorkload(watch, object as k8s.V1Pod) : { ...finding.subject };

  const reconcile = async (key: string) => {
    const [kind, namespace, name] = key.split('/') as [WatchedKind, string, string];
    const checks = detectorsOf(kind);
    if (checks.length === 0) return;
    // Until every kind is listed, a pod's ReplicaSet may be missing from the cache: the pod would be attributed to
    // the ReplicaSet, not its Deployment, and a fault already recorded would open a second Issue after a restart.
    await watch.synced();
    const object = watch.get(kind, namespace, name);
    if (!object) {
      sustained.delete(key);
      proven.delete(key);
      return;
    }
    const at = now();
    const view = detectionView(watch, at);
    const findings = checks.flatMap((detect) => detect(object, thresholds, view));
    const result = sustain(sustained.get(key) ?? emptySustainState(), findings, at);
    if (result.recheckAt !== undefined) queue.addAfter(key, result.recheckAt - at);
    for (const finding of result.due) {
      await options.record({
        signal: finding.signal,
        source: 'watcher',
        resource: finding.subject,
        workload: finding.workload ?? workloadOf(finding, object),
        message: finding.message,
        observedAt: new Date(at).toISOString(),
        ...(finding.cause ? { cause: finding.cause } : {}),
      });
    }
    // Only now: a report that failed is retried by the queue and must still be due then.
    sustained.set(key, result.state);
    const revision =
      kind === 'Deployment'
        ? provenDeploymentRevision(object as k8s.V1Deployment, watch.list<k8s.V1ReplicaSet>('ReplicaSet', namespace))
        : kind === 'StatefulSet'
          ? provenStatefulSetRevision(object as k8s.V1StatefulSet)
          : undefined;
    if (revision !== undefined && options.onRevisionProven && proven.get(key) !== revision) {
      await options.onRevisionProven({ kind, name, namespace }, revision);
      proven.set(key, revision);
    }
  };

  const watched = (namespace: string) => !namespace || !options.namespaces || options.namespaces.includes(namespace);
  const queue = createKeyedQueue(reconcile, {
    onError: (key, error, attempt) => options.onError?.(`reconcile ${key} (attempt ${attempt})`, error),
  });
  const watch = watchCluster(options.config, {
    kinds: WatchedKinds.filter((kind) => kind !== 'Secret' || options.tlsSecrets === true),
    onChange: (kind, namespace, name) => {
      const here = watched(namespace);
      if (here && detectorsOf(kind).length > 0) queue.add(detectionKey(kind, namespace, name));
      if (!here && kind !== 'Service' && kind !== 'EndpointSlice') return;
      const view = detectionView(watch, now());
      // Dependents are queued only where this operator watches: a cluster-scoped object (a StorageClass) can name
      // claims in namespaces it does not, and a Service in one it does not can back a webhook, which is
      // cluster-scoped and so always watched.
      for (const set of detectorSets)
        for (const key of set.dependents?.[kind]?.(view, namespace, name) ?? [])
          if (watched(key.split('/')[1] ?? '')) queue.add(key);
    },
    onError: (kind, error) => options.onError?.(`watch ${kind}`, error),
  });

  const rechecks = Object.entries({ CronJob: 30, ...options.recheckSeconds })
    .filter(([, seconds]) => seconds !== undefined && seconds > 0)
    .map(([kind, seconds]) =>
      setInterval(
        () => {
          for (const object of watch.list(kind as WatchedKind)) {
            const namespace = object.metadata?.namespace ?? '';
            if (watched(namespace))
              queue.add(detectionKey(kind as WatchedKind, namespace, object.metadata?.name ?? ''));
          }
        },
        (seconds ?? 0) * 1000,
      ),
    );

  return {
    watch,
    stop: async () => {
      for (const timer of rechecks) clearInterval(timer);
      await watch.stop();
      await queue.stop();
    },
  };
}
