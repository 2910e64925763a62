import * as k8s from '@kubernetes/client-node';

/**
 * Informers over the kinds Cairn watches. Each keeps a cache that reconcilers read (never the watch payload), and
 * reports the key of every object that changed. A watch that ends with 410 Gone re-lists by itself (the client
 * does that); any other failure restarts the informer after a growing delay, and is reported, never swallowed.
 */
export const WatchedKinds = [
  'Pod',
  'ReplicaSet',
  'Deployment',
  'StatefulSet',
  'DaemonSet',
  'Job',
  'CronJob',
  'Node',
  'HorizontalPodAutoscaler',
  'Event',
  'Service',
  'EndpointSlice',
  'Ingress',
  'PersistentVolumeClaim',
  'StorageClass',
  'NetworkPolicy',
  'ValidatingWebhookConfiguration',
  'MutatingWebhookConfiguration',
  'Secret',
] as const;
export type WatchedKind = (typeof WatchedKinds)[number];

type Cached = k8s.KubernetesObject;
type InformerWithCache = k8s.Informer<Cached> & k8s.ObjectCache<Cached>;

export interface ClusterWatch {
  get<T extends Cached>(kind: WatchedKind, namespace: string, name: string): T | undefined;
  list<T extends Cached>(kind: WatchedKind, namespace?: string): T[];
  /** Whether this kind is watched at all: an empty list of an unwatched kind means "not known", not "none". */
  watching(kind: WatchedKind): boolean;
  /** Resolves once every informer has listed its kind. */
  synced(): Promise<void>;
  stop(): Promise<void>;
}

export interface ClusterWatchOptions {
  readonly kinds?: readonly WatchedKind[];
  readonly onChange: (kind: WatchedKind, namespace: string, name: string) => void;
  readonly onError?: (kind: WatchedKind, error: unknown) => void;
}

/**
 * Only TLS Secrets are cached, and only so an Ingress can be told its certificate is missing: Cairn has no use for
 * the others, and holding every Secret of a cluster in memory would be a liability.
 */
const TLS_SECRETS = 'type=kubernetes.io/tls';

const LAST_APPLIED = 'kubectl.kubernetes.io/last-applied-configuration';

/**
 * What the caches keep of an object. `managedFields` (which manager owns which field, down to every leaf) is a third
 * to a half of a typical object and more once parsed; readers only ask who last wrote which top-level section and
 * when (a CronJob's last spec edit, Cairn's own writes), so an entry that owns nested fields keeps its manager,
 * operation, subresource, time and the top-level sections it owns. kubectl's last-applied annotation is a second
 * copy of the spec. Trimmed in place: the objects come fresh from a list or watch response that nothing else holds,
 * and a copy of each would cost more than it saves on small objects such as Events.
 */
export function trimForCache<T extends Cached>(object: T): T {
  const metadata = object?.metadata;
  if (!metadata) return object;
  if (metadata.annotations?.[LAST_APPLIED] !== undefined) delete metadata.annotations[LAST_APPLIED];
  const entries = metadata.managedFields;
  if (entries?.some(ownsNestedFields))
    metadata.managedFields = entries.map((e) => (ownsNestedFields(e) ? summary(e) : e));
  return object;
}

const ownsNestedFields = (entry: k8s.V1ManagedFieldsEntry): boolean => {
  const fields = entry.fieldsV1 as Record<string, unknown> | undefined;
  if (!fields || typeof fields !== 'object') return false;
  return Object.values(fields).some((v) => v !== null && typeof v === 'object' && Object.keys(v).length > 0);
};

const summary = (entry: k8s.V1ManagedFieldsEntry): k8s.V1ManagedFieldsEntry => {
  const kept: k8s.V1ManagedFieldsEntry = {};
  if (entry.manager !== undefined) kept.manager = entry.manager;
  if (entry.operation !== undefined) kept.operation = entry.operation;
  if (entry.apiVersion !== undefined) kept.apiVersion = entry.apiVersion;
  if (entry.subresource !== undefined) kept.subresource = entry.subresource;
  if (entry.time !== undefined) kept.time = entry.time;
  if (entry.fieldsType !== undefined) kept.fieldsType = entry.fieldsType;
  kept.fieldsV1 = Object.fromEntries(Object.keys(entry.fieldsV1 as object).map((section) => [section, {}]));
  return kept;
};

/**
 * The Events detectors read: every Warning (a failed mount, scheduling or creation), every Event about a claim or a
 * CronJob (the volume controller reports FailedBinding and ExternalProvisioning as Normal), and SuccessfulCreate,
 * which clears an earlier FailedCreate. The rest (Scheduled, Pulled, Started, ScalingReplicaSet…) are most of a busy
 * cluster's Events and are never read, so they never enter the cache.
 */
const KINDS_WHOSE_EVENTS_ARE_READ = new Set(['PersistentVolumeClaim', 'CronJob']);
export const isEventRead = (event: k8s.CoreV1Event): boolean =>
  event.type === 'Warning' ||
  event.reason === 'SuccessfulCreate' ||
  KINDS_WHOSE_EVENTS_ARE_READ.has(event.involvedObject?.kind ?? '');

/** A watch whose objects are trimmed (and, with `keep`, chosen) before the informer caches them. */
class TrimmingWatch extends k8s.Watch {
  constructor(
    config: k8s.KubeConfig,
    private readonly keep?: (object: Cached) => boolean,
  ) {
    super(config);
  }

  override watch(
    path: string,
    queryParams: Record<string, string | number | boolean | undefined>,
    // biome-ignore lint/suspicious/noExplicitAny: the client's own callback type.
    callback: (phase: string, apiObj: any, watchObj?: any) => void,
    // biome-ignore lint/suspicious/noExplicitAny: the client's own callback type.
    done: (err: any) => void,
  ): Promise<AbortController> {
    return super.watch(
      path,
      queryParams,
      (phase, object) => {
        if (phase === 'ERROR' || phase === 'BOOKMARK') return callback(phase, object);
        // An object never kept is never added, so its updates and deletion have nothing to touch either.
        if (this.keep && !this.keep(object)) return;
        callback(phase, trimForCache(object));
      },
      done,
    );
  }
}

/** One page of a list: the API server cuts a large list into consistent pages chained by a continue token. */
interface Page {
  readonly limit: number;
  readonly _continue?: string;
}
/**
 * Lists are read a page at a time and each page is trimmed before the next is asked for, so the first listing of a
 * large cluster never holds a whole response (its text, its parsed and its typed form) of every object at once.
 */
const PAGE_SIZE = 500;

async function listInPages(
  list: Lister['list'],
  keep?: (object: Cached) => boolean,
): Promise<k8s.KubernetesListObject<Cached>> {
  const items: Cached[] = [];
  let page = await list({ limit: PAGE_SIZE });
  for (;;) {
    for (const item of page.items) if (!keep || keep(item)) items.push(trimForCache(item));
    const token = page.metadata?._continue;
    if (!token) return { ...page, items };
    page = await list({ limit: PAGE_SIZE, _continue: token });
  }
}

interface Lister {
  readonly path: string;
  readonly list: (page: Page) => Promise<k8s.KubernetesListObject<Cached>>;
  readonly fieldSelector?: string;
  /** Which objects of the kind the cache holds; all when absent. */
  readonly keep?: (object: Cached) => boolean;
}

function listers(config: k8s.KubeConfig): Record<WatchedKind, Lister> {
  const core = config.makeApiClient(k8s.CoreV1Api);
  const apps = config.makeApiClient(k8s.AppsV1Api);
  const batch = config.makeApiClient(k8s.BatchV1Api);
  const autoscaling = config.makeApiClient(k8s.AutoscalingV2Api);
  const discovery = config.makeApiClient(k8s.DiscoveryV1Api);
  const networking = config.makeApiClient(k8s.NetworkingV1Api);
  const storage = config.makeApiClient(k8s.StorageV1Api);
  const admission = config.makeApiClient(k8s.AdmissionregistrationV1Api);
  return {
    Pod: { path: '/api/v1/pods', list: (page) => core.listPodForAllNamespaces(page) },
    ReplicaSet: { path: '/apis/apps/v1/replicasets', list: (page) => apps.listReplicaSetForAllNamespaces(page) },
    Deployment: { path: '/apis/apps/v1/deployments', list: (page) => apps.listDeploymentForAllNamespaces(page) },
    StatefulSet: { path: '/apis/apps/v1/statefulsets', list: (page) => apps.listStatefulSetForAllNamespaces(page) },
    DaemonSet: { path: '/apis/apps/v1/daemonsets', list: (page) => apps.listDaemonSetForAllNamespaces(page) },
    Job: { path: '/apis/batch/v1/jobs', list: (page) => batch.listJobForAllNamespaces(page) },
    CronJob: { path: '/apis/batch/v1/cronjobs', list: (page) => batch.listCronJobForAllNamespaces(page) },
    Node: { path: '/api/v1/nodes', list: (page) => core.listNode(page) },
    HorizontalPodAutoscaler: {
      path: '/apis/autoscaling/v2/horizontalpodautoscalers',
      list: (page) => autoscaling.listHorizontalPodAutoscalerForAllNamespaces(page),
    },
    Event: {
      path: '/api/v1/events',
      list: (page) => core.listEventForAllNamespaces(page),
      keep: (event) => isEventRead(event as k8s.CoreV1Event),
    },
    Service: { path: '/api/v1/services', list: (page) => core.listServiceForAllNamespaces(page) },
    EndpointSlice: {
      path: '/apis/discovery.k8s.io/v1/endpointslices',
      list: (page) => discovery.listEndpointSliceForAllNamespaces(page),
    },
    Ingress: {
      path: '/apis/networking.k8s.io/v1/ingresses',
      list: (page) => networking.listIngressForAllNamespaces(page),
    },
    PersistentVolumeClaim: {
      path: '/api/v1/persistentvolumeclaims',
      list: (page) => core.listPersistentVolumeClaimForAllNamespaces(page),
    },
    StorageClass: { path: '/apis/storage.k8s.io/v1/storageclasses', list: (page) => storage.listStorageClass(page) },
    NetworkPolicy: {
      path: '/apis/networking.k8s.io/v1/networkpolicies',
      list: (page) => networking.listNetworkPolicyForAllNamespaces(page),
    },
    ValidatingWebhookConfiguration: {
      path: '/apis/admissionregistration.k8s.io/v1/validatingwebhookconfigurations',
      list: (page) => admission.listValidatingWebhookConfiguration(page),
    },
    MutatingWebhookConfiguration: {
      path: '/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations',
      list: (page) => admission.listMutatingWebhookConfiguration(page),
    },
    Secret: {
      path: '/api/v1/secrets',
      list: (page) => core.listSecretForAllNamespaces({ ...page, fieldSelector: TLS_SECRETS }),
      fieldSelector: TLS_SECRETS,
    },
  };
}

export function watchCluster(config: k8s.KubeConfig, options: ClusterWatchOptions): ClusterWatch {
  const kinds = options.kinds ?? WatchedKinds;
  const all = listers(config);
  const informers = new Map<WatchedKind, InformerWithCache>();
  const restarts = new Map<WatchedKind, NodeJS.Timeout>();
  let stopped = false;

  const starting = kinds.map((kind) => {
    const { path, list, fieldSelector, keep } = all[kind];
    const informer = new k8s.ListWatch(
      path,
      new TrimmingWatch(config, keep),
      () => listInPages(list, keep),
      false,
      undefined,
      fieldSelector,
    ) as InformerWithCache;
    informers.set(kind, informer);
    const changed = (object: Cached) =>
      options.onChange(kind, object.metadata?.namespace ?? '', object.metadata?.name ?? '');
    informer.on(k8s.ADD, changed);
    informer.on(k8s.UPDATE, changed);
    informer.on(k8s.DELETE, changed);
    let failures = 0;
    informer.on(k8s.CONNECT, () => {
      failures = 0;
    });
    informer.on(k8s.ERROR, (error) => {
      if (stopped) return;
      failures += 1;
      options.onError?.(kind, error);
      const delay = Math.min(30_000, 500 * 2 ** Math.min(failures - 1, 6));
      restarts.set(
        kind,
        setTimeout(() => {
          if (!stopped) informer.start().catch((e) => options.onError?.(kind, e));
        }, delay),
      );
    });
    return informer.start();
  });
  const synced = Promise.all(starting).then(() => undefined);

  return {
    get: <T extends Cached>(kind: WatchedKind, namespace: string, name: string) =>
      informers.get(kind)?.get(name, namespace || undefined) as T | undefined,
    list: <T extends Cached>(kind: WatchedKind, namespace?: string) =>
      (informers.get(kind)?.list(namespace) ?? []) as T[],
    watching: (kind: WatchedKind) => informers.has(kind),
    synced: () => synced,
    stop: async () => {
      stopped = true;
      for (const timer of restarts.values()) clearTimeout(timer);
      await Promise.all([...informers.values()].map((i) => i.stop()));
    },
  };
}
