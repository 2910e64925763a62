import * as k8s from '@kubernetes/client-node';
import { type OwnedObject, resolveWorkload } from '../../domain/correlation/workload.resolver.ts';
import { CairnError, ErrorCategory } from '../../domain/errors.ts';
import type { ResourceRef } from '../../domain/events/common.schema.ts';
import {
  buildDependencyGraph,
  type ConfigMapFact,
  type DependencyFacts,
  type DependencyGraph,
  type EndpointSliceFact,
  type EnvVarFact,
  type IngressFact,
  namespacesNamed,
  type ServiceFact,
  type WorkloadFact,
} from './dependencyGraph.ts';

/** Objects of one kind read per namespace; more are left out and the graph says it is truncated. */
export const LIST_LIMIT = 500;
/** Namespaces read beyond the ones asked for, because a workload names a Service there. */
export const MAX_EXTRA_NAMESPACES = 10;
/** Pods read to place the endpoints of Services without a selector. */
const MAX_SLICE_PODS = 100;
export const DEFAULT_GRAPH_TTL_MS = 10_000;

interface NamespaceFacts {
  readonly facts: DependencyFacts;
  readonly truncated: boolean;
}

const envOf = (spec: k8s.V1PodSpec | undefined): EnvVarFact[] =>
  [...(spec?.initContainers ?? []), ...(spec?.containers ?? [])].flatMap((container) =>
    (container.env ?? []).map((variable) => {
      const ref = variable.valueFrom?.configMapKeyRef;
      return {
        name: variable.name,
        ...(variable.value === undefined ? {} : { value: variable.value }),
        ...(ref?.name ? { configMapKeyRef: { name: ref.name, key: ref.key } } : {}),
      };
    }),
  );

const configMapsOf = (spec: k8s.V1PodSpec | undefined): WorkloadFact['configMaps'] => [
  ...[...(spec?.initContainers ?? []), ...(spec?.containers ?? [])].flatMap((container) =>
    (container.envFrom ?? []).flatMap((from) =>
      from.configMapRef?.name ? [{ name: from.configMapRef.name, via: 'envFrom' as const }] : [],
    ),
  ),
  ...(spec?.volumes ?? []).flatMap((volume) => [
    ...(volume.configMap?.name ? [{ name: volume.configMap.name, via: 'volume' as const }] : []),
    ...(volume.projected?.sources ?? []).flatMap((source) =>
      source.configMap?.name ? [{ name: source.configMap.name, via: 'volume' as const }] : [],
    ),
  ]),
];

const workloadFact = (
  kind: string,
  object: { metadata?: k8s.V1ObjectMeta; spec?: { template?: k8s.V1PodTemplateSpec } },
): WorkloadFact => ({
  ref: { kind, name: object.metadata?.name ?? '', namespace: object.metadata?.namespace ?? '' },
  podLabels: object.spec?.template?.metadata?.labels ?? {},
  annotations: { ...(object.spec?.template?.metadata?.annotations ?? {}), ...(object.metadata?.annotations ?? {}) },
  env: envOf(object.spec?.template?.spec),
  configMaps: configMapsOf(object.spec?.template?.spec),
});

const ingressServices = (ingress: k8s.V1Ingress): string[] => [
  ...(ingress.spec?.defaultBackend?.service?.name ? [ingress.spec.defaultBackend.service.name] : []),
  ...(ingress.spec?.rules ?? []).flatMap((rule) =>
    (rule.http?.paths ?? []).flatMap((path) => (path.backend.service?.name ? [path.backend.service.name] : [])),
  ),
];

const owned = (kind: string, object: k8s.KubernetesObject): OwnedObject => ({
  kind,
  name: object.metadata?.name ?? '',
  namespace: object.metadata?.namespace ?? '',
  ownerReferences: (object.metadata?.ownerReferences ?? []).map((o) => ({
    kind: o.kind,
    name: o.name,
    ...(o.controller === undefined ? {} : { controller: o.controller }),
  })),
});

/** Reads the facts of one namespace, every list bounded; a failure names the namespace and the kind, not the request. */
export function createNamespaceReader(config: k8s.KubeConfig) {
  const core = config.makeApiClient(k8s.CoreV1Api);
  const apps = config.makeApiClient(k8s.AppsV1Api);
  const discovery = config.makeApiClient(k8s.DiscoveryV1Api);
  const networking = config.makeApiClient(k8s.NetworkingV1Api);

  const list = async <T>(
    namespace: string,
    kind: string,
    call: () => Promise<{ items: T[]; metadata?: k8s.V1ListMeta }>,
  ) => {
    try {
      const result = await call();
      return { items: result.items, truncated: Boolean(result.metadata?._continue) };
    } catch (error) {
      const code = (error as { code?: number }).code;
      // Forbidden: the chart grants these lists; without them the graph is only smaller, and says so.
      if (code === 403 || code === 404) return { items: [] as T[], truncated: code === 403 };
      throw new CairnError(
        'kubernetes.unavailable',
        ErrorCategory.Transient,
        `could not list ${kind} in namespace ${namespace}${code ? ` (HTTP ${code})` : ''}`,
        { cause: error },
      );
    }
  };

  const workloadOfPod = async (namespace: string, name: string): Promise<ResourceRef | undefined> => {
    try {
      const pod = await core.readNamespacedPod({ namespace, name });
      const known: OwnedObject[] = [];
      const owner = pod.metadata?.ownerReferences?.find((o) => o.controller);
      if (owner?.kind === 'ReplicaSet') {
        known.push(owned('ReplicaSet', await apps.readNamespacedReplicaSet({ namespace, name: owner.name })));
      }
      return resolveWorkload(owned('Pod', pod), known);
    } catch (error) {
      if ((error as { code?: number }).code === 404) return undefined; // gone since the slice was written
      throw error;
    }
  };

  return async (namespace: string): Promise<NamespaceFacts> => {
    const limit = LIST_LIMIT;
    const [deployments, statefulSets, daemonSets, services, slices, configMaps, ingresses] = await Promise.all([
      list(namespace, 'Deployments', () => apps.listNamespacedDeployment({ namespace, limit })),
      list(namespace, 'StatefulSets', () => apps.listNamespacedStatefulSet({ namespace, limit })),
      list(namespace, 'DaemonSets', () => apps.listNamespacedDaemonSet({ namespace, limit })),
      list(namespace, 'Services', () => core.listNamespacedService({ namespace, limit })),
      list(namespace, 'EndpointSlices', () => discovery.listNamespacedEndpointSlice({ namespace, limit })),
      list(namespace, 'ConfigMaps', () => core.listNamespacedConfigMap({ namespace, limit })),
      list(namespace, 'Ingresses', () => networking.listNamespacedIngress({ namespace, limit })),
    ]);
    const serviceFacts: ServiceFact[] = services.items.map((service) => ({
      namespace,
      name: service.metadata?.name ?? '',
      ...(service.spec?.selector ? { selector: service.spec.selector } : {}),
    }));
    const selectorless = new Set(
      serviceFacts.filter((s) => Object.keys(s.selector ?? {}).length === 0).map((s) => s.name),
    );
    // Only the slices of Services without a selector are needed, and only the pods they name.
    const podWorkloads = new Map<string, ResourceRef | undefined>();
    const sliceFacts: EndpointSliceFact[] = [];
    for (const slice of slices.items) {
      const serviceName = slice.metadata?.labels?.['kubernetes.io/service-name'];
      if (serviceName === undefined || !selectorless.has(serviceName)) continue;
      const workloads: ResourceRef[] = [];
      for (const endpoint of slice.endpoints ?? []) {
        const target = endpoint.targetRef;
        if (target?.kind !== 'Pod' || !target.name) continue;
        if (!podWorkloads.has(target.name)) {
          if (podWorkloads.size >= MAX_SLICE_PODS) continue;
          podWorkloads.set(target.name, await workloadOfPod(namespace, target.name));
        }
        const workload = podWorkloads.get(target.name);
        if (workload !== undefined) workloads.push(workload);
      }
      sliceFacts.push({ namespace, serviceName, workloads });
    }
    const configMapFacts: ConfigMapFact[] = configMaps.items.map((configMap) => ({
      namespace,
      name: configMap.metadata?.name ?? '',
      data: configMap.data ?? {},
    }));
    const ingressFacts: IngressFact[] = ingresses.items.map((ingress) => ({
      namespace,
      name: ingress.metadata?.name ?? '',
      serviceNames: ingressServices(ingress),
    }));
    return {
      facts: {
        workloads: [
          ...deployments.items.map((o) => workloadFact('Deployment', o)),
          ...statefulSets.items.map((o) => workloadFact('StatefulSet', o)),
          ...daemonSets.items.map((o) => workloadFact('DaemonSet', o)),
        ],
        services: serviceFacts,
        endpointSlices: sliceFacts,
        configMaps: configMapFacts,
        ingresses: ingressFacts,
      },
      truncated:
        [deployments, statefulSets, daemonSets, services, slices, configMaps, ingresses].some((l) => l.truncated) ||
        podWorkloads.size >= MAX_SLICE_PODS,
    };
  };
}

const merge = (all: readonly DependencyFacts[]): DependencyFacts => ({
  workloads: all.flatMap((f) => f.workloads),
  services: all.flatMap((f) => f.services),
  endpointSlices: all.flatMap((f) => f.endpointSlices ?? []),
  configMaps: all.flatMap((f) => f.configMaps ?? []),
  ingresses: all.flatMap((f) => f.ingresses ?? []),
});

export interface DependencyGraphObserverOptions {
  /** How long one namespace's objects are reused before they are read again. */
  readonly ttlMs?: number;
  readonly now?: () => Date;
}

export interface DependencyGraphObserver {
  /** The graph of these namespaces, plus the namespaces their workloads name (bounded). */
  observe(namespaces: readonly string[]): Promise<DependencyGraph>;
}

/**
 * Reads Services, EndpointSlices, ConfigMaps, Ingresses and workloads namespace by namespace, keeps each namespace's
 * facts for a short TTL (many Issues open at once in a cascade: the graph is read once for them), and builds the
 * graph. Needs list on those kinds (the chart grants it).
 */
export function createDependencyGraphObserver(
  config: k8s.KubeConfig,
  options: DependencyGraphObserverOptions = {},
): DependencyGraphObserver {
  const read = createNamespaceReader(config);
  const ttlMs = options.ttlMs ?? DEFAULT_GRAPH_TTL_MS;
  const now = options.now ?? (() => new Date());
  const cache = new Map<string, { at: number; pending: Promise<NamespaceFacts> }>();
  const factsOf = (namespace: string) => {
    const at = now().getTime();
    const cached = cache.get(namespace);
    if (cached && at - cached.at < ttlMs) return cached.pending;
    const pending = read(namespace);
    cache.set(namespace, { at, pending });
    // A failed read is not kept: the next caller tries again.
    pending.catch(() => {
      if (cache.get(namespace)?.pending === pending) cache.delete(namespace);
    });
    for (const [key, entry] of cache) if (at - entry.at >= ttlMs) cache.delete(key);
    return pending;
  };
  return {
    async observe(namespaces) {
      const asked = [...new Set(namespaces.filter((namespace) => namespace !== ''))];
      const first = await Promise.all(asked.map(factsOf));
      const extra = namespacesNamed(merge(first.map((f) => f.facts))).slice(0, MAX_EXTRA_NAMESPACES);
      const second = await Promise.all(extra.map(factsOf));
      const all = [...first, ...second];
      const graph = buildDependencyGraph(merge(all.map((f) => f.facts)));
      return all.some((f) => f.truncated) ? { ...graph, truncated: true } : graph;
    },
  };
}

/** One graph, read now (no cache kept): for callers that need it once, such as a plan's blast radius. */
export const observeDependencyGraph = (
  config: k8s.KubeConfig,
  namespaces: readonly string[],
): Promise<DependencyGraph> => createDependencyGraphObserver(config, { ttlMs: 0 }).observe(namespaces);
