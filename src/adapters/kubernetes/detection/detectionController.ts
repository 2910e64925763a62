import type * as k8s from '@kubernetes/client-node';
import { type OwnedObject, resolveWorkload } from '../../../../domain/correlation/workload.resolver.ts';
import type { ResourceRef } from '../../../../domain/events/common.schema.ts';
import type { AnomalyReport } from '../../../application/detection/anomalyRecorder.ts';
import { createKeyedQueue } from '../../../application/keyedQueue.ts';
import { type ClusterWatch, type WatchedKind, watchCluster } from '../clusterWatch.ts';
import { type DetectionView, detectionView } from './detectionView.ts';
import {
  DefaultThresholds,
  type DetectionThresholds,
  detectDaemonSet,
  detectDeployment,
  detectHpa,
  detectJob,
  detectNode,
  detectPod,
  detectStatefulSet,
  type Finding,
} from './detectors.ts';
import { provenDeploymentRevision, provenStatefulSetRevision } from './provenRevision.ts';
import { emptySustainState, type SustainState, sustain } from './sustain.ts';

type Detector = (
  // biome-ignore lint/suspicious/noExplicitAny: each detector takes its own kind; the table pairs them by key.
  object: any,
  t: DetectionThresholds,
  view: DetectionView,
) => Finding[];

/** The one list of what is checked: a kind without an entry is watched only as context for the others. */
const detectors: Partial<Record<WatchedKind, Detector>> = {
  Pod: detectPod,
  Deployment: detectDeployment,
  StatefulSet: detectStatefulSet,
  DaemonSet: detectDaemonSet,
  Job: detectJob,
  Node: detectNode,
  HorizontalPodAutoscaler: detectHpa,
};

/**
 * Which checked objects another object's change can settle or break, as keys to reconcile again: a pod appearing
 * can give a Service endpoints, a Secret appearing can complete an Ingress. Kept coarse (a namespace's worth) and
 * cheap; the keyed queue folds the repeats.
 */
const dependents: Partial<Record<WatchedKind, (watch: ClusterWatch, namespace: string, name: string) => string[]>> = {};

export interface DetectionControllerOptions {
  readonly config: k8s.KubeConfig;
  readonly record: (report: AnomalyReport) => Promise<unknown>;
  readonly thresholds?: Partial<DetectionThresholds>;
  /** Only these namespaces (cluster-scoped objects such as Nodes are always watched); all when absent. */
  readonly namespaces?: readonly string[];
  readonly now?: () => number;
  readonly onError?: (what: string, error: unknown) => void;
  /** A Deployment or StatefulSet completed a rollout: this revision (template hash) ran healthy. */
  readonly onRevisionProven?: (workload: ResourceRef, revision: string) => Promise<unknown>;
}

export interface DetectionController {
  readonly watch: ClusterWatch;
  stop(): Promise<void>;
}

const asOwned = (kind: string, object: k8s.KubernetesObject): OwnedObject => ({
  kind,
  name: object.metadata?.name ?? '',
  namespace: object.metadata?.namespace ?? '',
  ownerReferences: (object.metadata?.ownerReferences ?? []).map((o) => ({
    kind: o.kind,
    name: o.name,
    ...(o.controller === undefined ? {} : { controller: o.controller }),
  })),
});

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

  const workloadOf = (finding: Finding, object: k8s.KubernetesObject) => {
    if (finding.subject.kind !== 'Pod') return { ...finding.subject };
    const pod = asOwned('Pod', object);
    const owner = pod.ownerReferences?.find((o) => o.controller) ?? pod.ownerReferences?.[0];
    const known: OwnedObject[] = [];
    if (owner && (owner.kind === 'ReplicaSet' || owner.kind === 'Job')) {
      const parent = watch.get(owner.kind, pod.namespace, owner.name);
      if (parent) known.push(asOwned(owner.kind, parent));
    }
    return resolveWorkload(pod, known);
  };

  const reconcile = async (key: string) => {
    const [kind, namespace, name] = key.split('/') as [WatchedKind, string, string];
    const detect = detectors[kind];
    if (!detect) return;
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
    const findings = detect(object, thresholds, detectionView(watch, at));
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

  const queue = createKeyedQueue(reconcile, {
    onError: (key, error, attempt) => options.onError?.(`reconcile ${key} (attempt ${attempt})`, error),
  });
  const watch = watchCluster(options.config, {
    onChange: (kind, namespace, name) => {
      if (namespace && options.namespaces && !options.namespaces.includes(namespace)) return;
      if (detectors[kind]) queue.add(`${kind}/${namespace}/${name}`);
      for (const key of dependents[kind]?.(watch, namespace, name) ?? []) queue.add(key);
    },
    onError: (kind, error) => options.onError?.(`watch ${kind}`, error),
  });

  return {
    watch,
    stop: async () => {
      await watch.stop();
      await queue.stop();
    },
  };
}
