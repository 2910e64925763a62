import type { CoreV1Event, KubernetesObject, V1Pod } from '@kubernetes/client-node';
import { type OwnedObject, resolveWorkload } from '../../../../domain/correlation/workload.resolver.ts';
import type { ResourceRef } from '../../../../domain/events/common.schema.ts';
import type { ClusterWatch, WatchedKind } from '../clusterWatch.ts';

import type { DetectionThresholds, Finding } from './detectors.ts';

/** The component name Cairn writes its own Events under; they explain Cairn's actions and are never a symptom. */
export const CAIRN_EVENT_COMPONENT = 'cairn-operator';

/**
 * What a detector may look at besides its own object: the informer caches, read-only, and the instant of this
 * reconcile. Detectors stay pure functions of (object, thresholds, view), so tests build a view from plain lists.
 */
export interface DetectionView {
  get<T extends KubernetesObject>(kind: WatchedKind, namespace: string, name: string): T | undefined;
  list<T extends KubernetesObject>(kind: WatchedKind, namespace?: string): T[];
  /**
   * Whether the operator watches this kind. Secrets are watched only when allowed (`--detect-tls-secrets`): a check
   * that needs an unwatched kind stays silent rather than calling everything missing.
   */
  watches(kind: WatchedKind): boolean;
  /**
   * Events whose involvedObject is exactly this object (kind, namespace and name; never by name alone), oldest
   * first, without Cairn's own.
   */
  eventsFor(kind: string, namespace: string, name: string): CoreV1Event[];
  /** Epoch ms of this reconcile. */
  readonly now: number;
}

const eventTime = (e: CoreV1Event) =>
  new Date(e.lastTimestamp ?? e.eventTime ?? e.firstTimestamp ?? e.metadata?.creationTimestamp ?? 0).getTime();

const isCairns = (e: CoreV1Event) =>
  e.reportingComponent === CAIRN_EVENT_COMPONENT || e.source?.component === CAIRN_EVENT_COMPONENT;

export const eventsAbout = (
  events: readonly CoreV1Event[],
  kind: string,
  namespace: string,
  name: string,
): CoreV1Event[] =>
  events
    .filter(
      (e) =>
        e.involvedObject?.kind === kind &&
        e.involvedObject.name === name &&
        (e.involvedObject.namespace ?? '') === namespace &&
        !isCairns(e),
    )
    .sort((a, b) => eventTime(a) - eventTime(b));

export function detectionView(watch: Pick<ClusterWatch, 'get' | 'list' | 'watching'>, now: number): DetectionView {
  return {
    get: (kind, namespace, name) => watch.get(kind, namespace, name),
    list: (kind, namespace) => watch.list(kind, namespace),
    watches: (kind) => watch.watching(kind),
    eventsFor: (kind, namespace, name) =>
      eventsAbout(watch.list<CoreV1Event>('Event', namespace || undefined), kind, namespace, name),
    now,
  };
}

/** A view over plain lists, for detector tests and benchmarks; a kind given no list at all is not watched. */
export function staticView(
  objects: Partial<Record<WatchedKind, readonly KubernetesObject[]>>,
  now = Date.parse('2026-01-01T00:00:00Z'),
): DetectionView {
  const inNamespace = (object: KubernetesObject, namespace?: string) =>
    namespace === undefined || (object.metadata?.namespace ?? '') === namespace;
  const list = <T extends KubernetesObject>(kind: WatchedKind, namespace?: string) =>
    (objects[kind] ?? []).filter((o) => inNamespace(o, namespace)) as T[];
  return {
    list,
    watches: (kind) => objects[kind] !== undefined,
    get: <T extends KubernetesObject>(kind: WatchedKind, namespace: string, name: string) =>
      list<T>(kind, namespace || undefined).find((o) => o.metadata?.name === name),
    eventsFor: (kind, namespace, name) =>
      eventsAbout(list<CoreV1Event>('Event', namespace || undefined), kind, namespace, name),
    now,
  };
}

/** One check of one kind of object. */
export type Detector = (
  // biome-ignore lint/suspicious/noExplicitAny: each detector takes its own kind; the table pairs them by key.
  object: any,
  t: DetectionThresholds,
  view: DetectionView,
) => Finding[];

/** The queue key of a checked object; cluster-scoped objects have an empty namespace. */
export const detectionKey = (kind: WatchedKind, namespace: string, name: string) => `${kind}/${namespace}/${name}`;

/**
 * The detectors of one area (workloads, networking, storage…) and, per kind, which checked objects a change to an
 * object of that kind can settle or break (a pod appearing can give a Service endpoints), as keys to reconcile
 * again. Dependents are kept coarse and cheap; the keyed queue folds repeats.
 */
export interface DetectorSet {
  readonly detectors: Partial<Record<WatchedKind, Detector>>;
  readonly dependents?: Partial<
    Record<WatchedKind, (view: DetectionView, namespace: string, name: string) => string[]>
  >;
}

/** An object as the workload resolver reads it: its kind, name, namespace and owners. */
export const ownedObject = (kind: string, object: KubernetesObject): OwnedObject => ({
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
 * The workload a pod belongs to, through the ReplicaSet or Job the caches hold: Pod → ReplicaSet → Deployment,
 * Pod → Job → CronJob, Pod → StatefulSet or DaemonSet. A parent missing from the cache stops the walk there.
 */
export function podWorkload(view: Pick<DetectionView, 'get'>, pod: V1Pod): ResourceRef {
  const owned = ownedObject('Pod', pod);
  const owner = owned.ownerReferences?.find((o) => o.controller) ?? owned.ownerReferences?.[0];
  const known: OwnedObject[] = [];
  if (owner && (owner.kind === 'ReplicaSet' || owner.kind === 'Job')) {
    const parent = view.get(owner.kind, owned.namespace, owner.name);
    if (parent) known.push(ownedObject(owner.kind, parent));
  }
  return resolveWorkload(owned, known);
}
