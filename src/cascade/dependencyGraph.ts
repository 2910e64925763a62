import type { ResourceRef } from '../../domain/events/common.schema.ts';

/**
 * Which workload calls which, read from what the cluster already says: Services and the pods they select (or their
 * EndpointSlices name), environment variables and ConfigMaps that name a Service, Ingress backends, and the
 * `cairn.dev/depends-on` annotation. Pure: the facts come in, the graph goes out. The adapter that reads the facts
 * from the API server is `dependencyGraph.observer.ts` (`observeDependencyGraph`).
 */

/** Names Services the workload calls: `name` (its own namespace) or `namespace/name`, separated by commas. */
export const DEPENDS_ON_ANNOTATION = 'cairn.dev/depends-on';

/** Kinds whose pod template a Service may select. */
export const TEMPLATE_KINDS = ['Deployment', 'StatefulSet', 'DaemonSet'] as const;

export interface EnvVarFact {
  readonly name: string;
  readonly value?: string;
  readonly configMapKeyRef?: { readonly name: string; readonly key: string };
}

export interface WorkloadFact {
  readonly ref: ResourceRef;
  /** The labels of its pod template, which Services select. */
  readonly podLabels: Readonly<Record<string, string>>;
  readonly annotations: Readonly<Record<string, string>>;
  /** Every container's and init container's env, in order. */
  readonly env: readonly EnvVarFact[];
  /** ConfigMaps taken whole: `envFrom` and mounted volumes (projected ones included). */
  readonly configMaps: readonly { readonly name: string; readonly via: 'envFrom' | 'volume' }[];
}

export interface ServiceFact {
  readonly namespace: string;
  readonly name: string;
  /** Absent or empty: the Service selects nothing, its EndpointSlices say where it goes. */
  readonly selector?: Readonly<Record<string, string>>;
}

/** An EndpointSlice of a Service, reduced to the workloads of the pods it names (resolved by the adapter). */
export interface EndpointSliceFact {
  readonly namespace: string;
  readonly serviceName: string;
  readonly workloads: readonly ResourceRef[];
}

export interface ConfigMapFact {
  readonly namespace: string;
  readonly name: string;
  readonly data: Readonly<Record<string, string>>;
}

export interface IngressFact {
  readonly namespace: string;
  readonly name: string;
  /** Service names of its default backend and rules, in its namespace. */
  readonly serviceNames: readonly string[];
}

export interface DependencyFacts {
  readonly workloads: readonly WorkloadFact[];
  readonly services: readonly ServiceFact[];
  readonly endpointSlices?: readonly EndpointSliceFact[];
  readonly configMaps?: readonly ConfigMapFact[];
  readonly ingresses?: readonly IngressFact[];
}

export const EvidenceSource = {
  Env: 'env',
  ConfigMap: 'configMap',
  Annotation: 'annotation',
  Ingress: 'ingress',
} as const;
export type EvidenceSource = (typeof EvidenceSource)[keyof typeof EvidenceSource];

/** Why an edge exists. Never a value: an env var or ConfigMap value may hold credentials, only its name is kept. */
export interface DependencyEvidence {
  readonly source: EvidenceSource;
  /** The Service named, `namespace/name`. */
  readonly service: string;
  /** `env API_URL`, `ConfigMap settings key upstream`, `annotation cairn.dev/depends-on`, `Ingress web`. */
  readonly detail: string;
}

/** `from` calls `to`: when `to` fails, `from` may fail because of it. */
export interface DependencyEdge {
  readonly from: ResourceRef;
  readonly to: ResourceRef;
  readonly evidence: readonly DependencyEvidence[];
}

/** A name that looked like a dependency but matches no Service (a typo in the annotation, another cluster). */
export interface UnresolvedReference {
  readonly from: ResourceRef;
  readonly name: string;
  readonly detail: string;
}

export interface DependencyGraph {
  readonly edges: readonly DependencyEdge[];
  readonly unresolved: readonly UnresolvedReference[];
  /** Some list was cut at its bound: edges may be missing. */
  readonly truncated?: boolean;
}

export const emptyDependencyGraph: DependencyGraph = { edges: [], unresolved: [] };

/** Identity within one cluster's graph; the cluster field of a reference does not take part. */
export const nodeKey = (ref: ResourceRef): string => `${ref.namespace}/${ref.kind}/${ref.name}`;

const serviceKey = (namespace: string, name: string) => `${namespace}/${name}`;

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
const MAX_UNRESOLVED = 200;
const MAX_TEXT = 64 * 1024;

const selects = (selector: Readonly<Record<string, string>>, labels: Readonly<Record<string, string>>): boolean =>
  Object.entries(selector).every(([key, value]) => labels[key] === value);

/**
 * The Services a text names, as `namespace/name`. A dotted host (`svc.ns`, `svc.ns.svc`, `svc.ns.svc.cluster.local`)
 * counts anywhere it stands as a word; a bare `svc` only where it cannot be ordinary words: as a URL's host, before
 * `:port`, or as the whole value.
 */
export const servicesNamedIn = (
  text: string,
  namespace: string,
  known: ReadonlySet<string>,
  namespaces: ReadonlySet<string>,
): string[] => {
  const found = new Set<string>();
  const lower = text.slice(0, MAX_TEXT).toLowerCase();
  const tryHost = (host: string, bareAllowed: boolean) => {
    const labels = host.replace(/\.$/, '').split('.');
    if (labels.length === 1) {
      if (bareAllowed && DNS_LABEL.test(labels[0]!) && known.has(serviceKey(namespace, labels[0]!))) {
        found.add(serviceKey(namespace, labels[0]!));
      }
      return;
    }
    const [name, ns, svc] = labels;
    if (!DNS_LABEL.test(name!) || !DNS_LABEL.test(ns!)) return;
    // `a.b` is also how ordinary domains look: it names a Service only if namespace b has a Service a.
    if (labels.length > 2 && svc !== 'svc') return;
    if (namespaces.has(ns!) && known.has(serviceKey(ns!, name!))) found.add(serviceKey(ns!, name!));
  };
  const whole = lower.trim();
  if (DNS_LABEL.test(whole)) tryHost(whole, true);
  // scheme://[user[:password]@]host[:port]
  // Every pattern starts after a delimiter, so a long run of letters is read once, not once per position.
  for (const match of lower.matchAll(/(?:^|[^a-z0-9+.-])[a-z][a-z0-9+.-]*:\/\/(?:[^\s/@]*@)?([a-z0-9.-]+)/g)) {
    tryHost(match[1]!, true);
  }
  // host:port, alone or in a list
  for (const match of lower.matchAll(/(?:^|[\s,;="'(])([a-z0-9][a-z0-9.-]*):\d{1,5}(?![\d.])/g)) {
    tryHost(match[1]!, true);
  }
  // dotted hosts anywhere
  for (const match of lower.matchAll(/(?:^|[^a-z0-9.-])([a-z0-9][a-z0-9-]*(?:\.[a-z0-9][a-z0-9-]*)+)/g)) {
    tryHost(match[1]!, false);
  }
  return [...found].sort();
};

/** The annotation's entries: `name` or `namespace/name`, resolved to `namespace/name`; blanks dropped. */
export const parseDependsOn = (value: string, namespace: string): { service: string; valid: boolean }[] =>
  value
    .split(/[,\s]+/)
    .map((entry) => entry.trim())
    .filter((entry) => entry !== '')
    .slice(0, 100)
    .map((entry) => {
      const parts = entry.split('/');
      const [ns, name] = parts.length === 2 ? parts : [namespace, parts[0]];
      const valid = parts.length <= 2 && DNS_LABEL.test(ns!) && DNS_LABEL.test(name!);
      return { service: valid ? serviceKey(ns!, name!) : entry.slice(0, 253), valid };
    });

/**
 * The graph the facts describe. Edges run from the caller to the workloads behind the Service it names; a workload
 * naming its own Service adds no edge, and cycles are kept as they are (callers of the graph must terminate on them).
 */
export const buildDependencyGraph = (facts: DependencyFacts): DependencyGraph => {
  const services = new Map(facts.services.map((service) => [serviceKey(service.namespace, service.name), service]));
  const namespaces = new Set(facts.services.map((service) => service.namespace));
  const known = new Set(services.keys());

  // Service → the workloads behind it
  const behind = new Map<string, ResourceRef[]>();
  const addBehind = (key: string, ref: ResourceRef) => {
    const list = behind.get(key) ?? [];
    if (!list.some((existing) => nodeKey(existing) === nodeKey(ref))) list.push(ref);
    behind.set(key, list);
  };
  for (const service of facts.services) {
    const selector = service.selector ?? {};
    if (Object.keys(selector).length === 0) continue;
    for (const workload of facts.workloads) {
      if (workload.ref.namespace === service.namespace && selects(selector, workload.podLabels)) {
        addBehind(serviceKey(service.namespace, service.name), workload.ref);
      }
    }
  }
  for (const slice of facts.endpointSlices ?? []) {
    const service = services.get(serviceKey(slice.namespace, slice.serviceName));
    // A Service with a selector is read from its selector; its slices say the same thing, later.
    if (service === undefined || Object.keys(service.selector ?? {}).length > 0) continue;
    for (const workload of slice.workloads) addBehind(serviceKey(slice.namespace, slice.serviceName), workload);
  }

  const configMaps = new Map(
    (facts.configMaps ?? []).map((configMap) => [serviceKey(configMap.namespace, configMap.name), configMap]),
  );
  const edges = new Map<string, { from: ResourceRef; to: ResourceRef; evidence: DependencyEvidence[] }>();
  const unresolved: UnresolvedReference[] = [];
  const link = (from: ResourceRef, service: string, source: EvidenceSource, detail: string) => {
    for (const to of behind.get(service) ?? []) {
      if (nodeKey(to) === nodeKey(from)) continue; // a workload calling its own Service depends on nothing new
      const key = `${nodeKey(from)}→${nodeKey(to)}`;
      const edge = edges.get(key) ?? { from, to, evidence: [] };
      if (!edge.evidence.some((e) => e.source === source && e.service === service && e.detail === detail)) {
        edge.evidence.push({ source, service, detail });
      }
      edges.set(key, edge);
    }
  };

  for (const workload of facts.workloads) {
    const from = workload.ref;
    const namespace = from.namespace;
    const named = (text: string, source: EvidenceSource, detail: string) => {
      for (const service of servicesNamedIn(text, namespace, known, namespaces)) link(from, service, source, detail);
    };
    for (const variable of workload.env) {
      if (variable.value !== undefined) named(variable.value, EvidenceSource.Env, `env ${variable.name}`);
      const ref = variable.configMapKeyRef;
      const value = ref && configMaps.get(serviceKey(namespace, ref.name))?.data[ref.key];
      if (ref && value !== undefined) {
        named(value, EvidenceSource.ConfigMap, `ConfigMap ${ref.name} key ${ref.key} (env ${variable.name})`);
      }
    }
    for (const { name, via } of workload.configMaps) {
      const configMap = configMaps.get(serviceKey(namespace, name));
      if (configMap === undefined) continue;
      for (const [key, value] of Object.entries(configMap.data)) {
        named(value, EvidenceSource.ConfigMap, `ConfigMap ${name} key ${key} (${via})`);
      }
    }
    const declared = workload.annotations[DEPENDS_ON_ANNOTATION];
    if (declared !== undefined) {
      for (const { service, valid } of parseDependsOn(declared, namespace)) {
        if (valid && known.has(service)) {
          link(from, service, EvidenceSource.Annotation, `annotation ${DEPENDS_ON_ANNOTATION}`);
        } else if (unresolved.length < MAX_UNRESOLVED) {
          unresolved.push({
            from,
            name: service,
            detail: valid
              ? `annotation ${DEPENDS_ON_ANNOTATION} names Service ${service}, which does not exist`
              : `annotation ${DEPENDS_ON_ANNOTATION}: ${JSON.stringify(service)} is not a Service name or namespace/name`,
          });
        }
      }
    }
  }

  for (const ingress of facts.ingresses ?? []) {
    const from: ResourceRef = { kind: 'Ingress', name: ingress.name, namespace: ingress.namespace };
    for (const name of new Set(ingress.serviceNames)) {
      const service = serviceKey(ingress.namespace, name);
      if (known.has(service)) link(from, service, EvidenceSource.Ingress, `Ingress ${ingress.name} backend ${name}`);
      else if (unresolved.length < MAX_UNRESOLVED) {
        unresolved.push({
          from,
          name: service,
          detail: `Ingress ${ingress.name} routes to Service ${name}, which does not exist`,
        });
      }
    }
  }

  const sorted = [...edges.values()].sort(
    (a, b) => nodeKey(a.from).localeCompare(nodeKey(b.from)) || nodeKey(a.to).localeCompare(nodeKey(b.to)),
  );
  return { edges: sorted, unresolved };
};

const walk = (graph: DependencyGraph, start: ResourceRef, direction: 'callers' | 'callees'): ResourceRef[] => {
  const next = new Map<string, ResourceRef[]>();
  for (const edge of graph.edges) {
    const [key, ref] = direction === 'callers' ? [nodeKey(edge.to), edge.from] : [nodeKey(edge.from), edge.to];
    next.set(key, [...(next.get(key) ?? []), ref]);
  }
  const startKey = nodeKey(start);
  const seen = new Set([startKey]);
  const found: ResourceRef[] = [];
  const queue = [startKey];
  // Breadth first with a visited set: a cycle ends the walk where it closes.
  for (let key = queue.shift(); key !== undefined; key = queue.shift()) {
    for (const ref of next.get(key) ?? []) {
      const refKey = nodeKey(ref);
      if (seen.has(refKey)) continue;
      seen.add(refKey);
      found.push(ref);
      queue.push(refKey);
    }
  }
  return found;
};

/** Everything that calls the workload, directly or through others, nearest first; never the workload itself. */
export const dependantsOf = (graph: DependencyGraph, workload: ResourceRef): ResourceRef[] =>
  walk(graph, workload, 'callers');

/** Everything the workload calls, directly or through others, nearest first; never the workload itself. */
export const dependenciesOf = (graph: DependencyGraph, workload: ResourceRef): ResourceRef[] =>
  walk(graph, workload, 'callees');

/** Namespaces the facts name (dotted hosts, `namespace/name` in the annotation) besides the ones they came from. */
export const namespacesNamed = (facts: DependencyFacts): string[] => {
  const read = new Set(facts.workloads.map((w) => w.ref.namespace));
  const wanted = new Set<string>();
  const scan = (text: string) => {
    for (const match of text
      .toLowerCase()
      .matchAll(/(?:^|[^a-z0-9.-])[a-z0-9][a-z0-9-]*\.([a-z0-9][a-z0-9-]*)(?:\.svc\b|[:/]|$|\s)/g)) {
      if (DNS_LABEL.test(match[1]!)) wanted.add(match[1]!);
    }
  };
  const configMaps = new Map((facts.configMaps ?? []).map((c) => [serviceKey(c.namespace, c.name), c]));
  for (const workload of facts.workloads) {
    for (const variable of workload.env) {
      if (variable.value) scan(variable.value.slice(0, MAX_TEXT));
      const keyRef = variable.configMapKeyRef;
      const value = keyRef && configMaps.get(serviceKey(workload.ref.namespace, keyRef.name))?.data[keyRef.key];
      if (value) scan(value.slice(0, MAX_TEXT));
    }
    for (const { name } of workload.configMaps) {
      for (const value of Object.values(configMaps.get(serviceKey(workload.ref.namespace, name))?.data ?? {})) {
        scan(value.slice(0, MAX_TEXT));
      }
    }
    const declared = workload.annotations[DEPENDS_ON_ANNOTATION];
    for (const entry of declared ? parseDependsOn(declared, workload.ref.namespace) : []) {
      if (entry.valid) wanted.add(entry.service.split('/')[0]!);
    }
  }
  return [...wanted].filter((namespace) => !read.has(namespace)).sort();
};
