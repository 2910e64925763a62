import type {
  KubernetesObject,
  V1CronJob,
  V1DaemonSet,
  V1Deployment,
  V1EndpointSlice,
  V1Ingress,
  V1IngressBackend,
  V1Job,
  V1LabelSelector,
  V1MutatingWebhookConfiguration,
  V1NetworkPolicy,
  V1Pod,
  V1Service,
  V1StatefulSet,
  V1ValidatingWebhookConfiguration,
} from '@kubernetes/client-node';
import type { AnomalyCause } from '../../../../domain/events/anomaly.events.ts';
import type { ResourceRef } from '../../../../domain/events/common.schema.ts';
import { type DetectionView, type DetectorSet, detectionKey, podWorkload } from './detectionView.ts';
import type { DetectionThresholds, Finding } from './detectors.ts';

type Labels = Readonly<Record<string, string>>;

/** `matchLabels` and `matchExpressions` both hold; an unknown operator matches nothing (the API server rejects it). */
export function labelSelectorMatches(selector: V1LabelSelector | undefined, labels: Labels | undefined): boolean {
  const have = labels ?? {};
  for (const [key, value] of Object.entries(selector?.matchLabels ?? {})) if (have[key] !== value) return false;
  for (const e of selector?.matchExpressions ?? []) {
    const present = Object.hasOwn(have, e.key);
    const listed = present && (e.values ?? []).includes(have[e.key] as string);
    const holds =
      e.operator === 'In'
        ? listed
        : e.operator === 'NotIn'
          ? !listed
          : e.operator === 'Exists'
            ? present
            : e.operator === 'DoesNotExist'
              ? !present
              : false;
    if (!holds) return false;
  }
  return true;
}

const isEmptySelector = (selector: V1LabelSelector | undefined) =>
  Object.keys(selector?.matchLabels ?? {}).length === 0 && (selector?.matchExpressions ?? []).length === 0;

/** A Service selector is a plain map: every pair must be on the pod. */
const mapMatches = (selector: Labels, labels: Labels | undefined) =>
  Object.entries(selector).every(([key, value]) => labels?.[key] === value);

const pairs = (labels: Labels) =>
  Object.entries(labels)
    .map(([key, value]) => `${key}=${value}`)
    .join(',');

const selectorText = (selector: V1LabelSelector) => {
  const parts = Object.entries(selector.matchLabels ?? {}).map(([key, value]) => `${key}=${value}`);
  for (const e of selector.matchExpressions ?? []) {
    const values = (e.values ?? []).join(',');
    if (e.operator === 'In') parts.push(`${e.key} in (${values})`);
    else if (e.operator === 'NotIn') parts.push(`${e.key} notin (${values})`);
    else if (e.operator === 'Exists') parts.push(e.key);
    else if (e.operator === 'DoesNotExist') parts.push(`!${e.key}`);
    else parts.push(`${e.key} ${e.operator} (${values})`);
  }
  return parts.join(',');
};

const refOf = (kind: string, object: KubernetesObject): ResourceRef => ({
  kind,
  name: object.metadata?.name ?? '',
  namespace: object.metadata?.namespace ?? '',
});
const display = (ref: ResourceRef) =>
  ref.namespace ? `${ref.kind} ${ref.namespace}/${ref.name}` : `${ref.kind} ${ref.name}`;

/** Pods a selector can still count on: not being deleted and not finished. */
const isLive = (pod: V1Pod) =>
  !pod.metadata?.deletionTimestamp && pod.status?.phase !== 'Succeeded' && pod.status?.phase !== 'Failed';

/** Anomaly messages are bounded (2,048 characters); a long list of problems keeps its head. */
const MAX_MESSAGE = 2_000;
const clip = (text: string) => (text.length <= MAX_MESSAGE ? text : `${text.slice(0, MAX_MESSAGE - 1)}…`);

/** Levenshtein distance, for telling a typo (`web-frontnd`) from an unrelated label (`db`). */
export function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const substitution = (previous[j - 1] as number) + (a[i - 1] === b[j - 1] ? 0 : 1);
      current.push(Math.min((previous[j] as number) + 1, (current[j - 1] as number) + 1, substitution));
    }
    previous = current;
  }
  return previous[b.length] as number;
}

const isNear = (a: string, b: string) =>
  editDistance(a, b) <= Math.max(2, Math.floor(Math.max(a.length, b.length) / 3));

// ---------------------------------------------------------------------------------------------------------------
// Services

type PodTemplateOwner = V1Deployment | V1StatefulSet | V1DaemonSet;
const TEMPLATE_KINDS = ['Deployment', 'StatefulSet', 'DaemonSet'] as const;

interface Workload {
  readonly ref: ResourceRef;
  readonly labels: Labels;
  /** Scaled to zero on purpose (or a DaemonSet that no node asks for): no pods is what was asked. */
  readonly idle: boolean;
  readonly wanted: number;
}

function workloadsIn(view: DetectionView, namespace: string): Workload[] {
  return TEMPLATE_KINDS.flatMap((kind) =>
    view.list<PodTemplateOwner>(kind, namespace).map((object) => {
      const wanted =
        kind === 'DaemonSet'
          ? ((object as V1DaemonSet).status?.desiredNumberScheduled ?? 0)
          : ((object as V1Deployment | V1StatefulSet).spec?.replicas ?? 1);
      return {
        ref: refOf(kind, object),
        labels: object.spec?.template?.metadata?.labels ?? {},
        idle: wanted === 0,
        wanted,
      };
    }),
  );
}

/** How a pod template's labels differ from a selector, and how far (fewer differing keys first, then smaller edits). */
interface LabelDifference {
  readonly workload: Workload;
  /** One phrase per selector label the template does not carry as written: `app=web-frontend`, `no label tier`. */
  readonly differences: readonly string[];
  readonly edits: number;
  readonly near: boolean;
}

function compareLabels(selector: Labels, workload: Workload): LabelDifference {
  const have = workload.labels;
  const differences: string[] = [];
  let edits = 0;
  let near = false;
  for (const [key, value] of Object.entries(selector)) {
    if (have[key] === value) {
      near = true;
      continue;
    }
    if (have[key] !== undefined) {
      differences.push(`${key}=${have[key]}`);
      edits += editDistance(value, have[key]);
      near ||= isNear(value, have[key]);
      continue;
    }
    // The key itself may be the typo (`ap=web`): a label with the same value under a near key.
    const renamed = Object.entries(have).find(([k, v]) => v === value && isNear(k, key));
    if (renamed) {
      differences.push(`${renamed[0]}=${renamed[1]}`);
      edits += editDistance(key, renamed[0]);
      near = true;
    } else {
      differences.push(`no label ${key}`);
      edits += key.length + value.length;
    }
  }
  return { workload, differences, edits, near };
}

/** The workload whose pods the selector was most likely meant for; undefined when none shares a label or a near one. */
export function nearestWorkload(selector: Labels, workloads: readonly Workload[]): LabelDifference | undefined {
  return workloads
    .map((w) => compareLabels(selector, w))
    .filter((d) => d.near && d.differences.length > 0)
    .sort(
      (a, b) =>
        a.differences.length - b.differences.length ||
        a.edits - b.edits ||
        display(a.workload.ref).localeCompare(display(b.workload.ref)),
    )[0];
}

const SERVICE_NAME_LABEL = 'kubernetes.io/service-name';

const slicesOf = (view: DetectionView, namespace: string, service: string) =>
  view
    .list<V1EndpointSlice>('EndpointSlice', namespace)
    .filter((slice) => slice.metadata?.labels?.[SERVICE_NAME_LABEL] === service);

/** An endpoint whose readiness is unknown counts as ready, as kube-proxy counts it. */
const hasReadyAddress = (slices: readonly V1EndpointSlice[]) =>
  slices.some((slice) =>
    (slice.endpoints ?? []).some((e) => (e.addresses ?? []).length > 0 && e.conditions?.ready !== false),
  );

const isPodReady = (pod: V1Pod) =>
  pod.status?.phase === 'Running' &&
  (pod.status.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True');

/** The workload most of the pods belong to (ties by name, so the choice is repeatable). */
function commonWorkload(view: DetectionView, pods: readonly V1Pod[]): ResourceRef {
  const counts = new Map<string, { ref: ResourceRef; count: number }>();
  for (const pod of pods) {
    const ref = podWorkload(view, pod);
    const key = display(ref);
    const entry = counts.get(key) ?? { ref, count: 0 };
    counts.set(key, { ref, count: entry.count + 1 });
  }
  const [best] = [...counts.entries()].sort(([ka, a], [kb, b]) => b.count - a.count || ka.localeCompare(kb));
  return (best as [string, { ref: ResourceRef }])[1].ref;
}

/** A Deployment or StatefulSet whose latest template is still being rolled out. */
export function rollingOut(view: DetectionView, workload: ResourceRef): boolean {
  if (workload.kind === 'Deployment') {
    const d = view.get<V1Deployment>('Deployment', workload.namespace, workload.name);
    if (!d) return false;
    if ((d.status?.observedGeneration ?? 0) < (d.metadata?.generation ?? 0)) return true;
    const progressing = d.status?.conditions?.find((c) => c.type === 'Progressing');
    return progressing?.status === 'True' && progressing.reason !== 'NewReplicaSetAvailable';
  }
  if (workload.kind === 'StatefulSet') {
    const set = view.get<V1StatefulSet>('StatefulSet', workload.namespace, workload.name);
    if (!set) return false;
    if ((set.status?.observedGeneration ?? 0) < (set.metadata?.generation ?? 0)) return true;
    return set.status?.updateRevision !== undefined && set.status.currentRevision !== set.status.updateRevision;
  }
  return false;
}

export function detectService(service: V1Service, t: DetectionThresholds, view: DetectionView): Finding[] {
  const selector = service.spec?.selector ?? {};
  // No selector: the endpoints are managed by hand (or the Service is headless for something else), and an
  // ExternalName Service is a DNS alias; neither has pods for Cairn to look for.
  if (service.spec?.type === 'ExternalName' || Object.keys(selector).length === 0) return [];
  // Without the pods in view nothing can be said about what the selector matches.
  if (!view.watches('Pod')) return [];
  const subject = refOf('Service', service);
  const namespace = subject.namespace;
  const text = pairs(selector);
  const finding = (text: string, workload: ResourceRef, cause: Omit<AnomalyCause, 'message'>): Finding[] => {
    const message = clip(text);
    // A workload still rolling out its pods (a new app starting) is given the time its own signal gives it.
    const sustainSeconds = rollingOut(view, workload)
      ? Math.max(t.serviceNoEndpointsSeconds, t.workloadUnavailableSeconds)
      : t.serviceNoEndpointsSeconds;
    return [
      {
        signal: 'service_no_endpoints',
        subject,
        message,
        sustainSeconds,
        cause: { ...cause, message },
        workload,
      },
    ];
  };

  const pods = view.list<V1Pod>('Pod', namespace).filter((p) => isLive(p) && mapMatches(selector, p.metadata?.labels));
  if (pods.length > 0) {
    // EndpointSlices are what traffic follows; without them in view, the pods' own readiness is the next best.
    const ready = view.watches('EndpointSlice')
      ? hasReadyAddress(slicesOf(view, namespace, subject.name))
      : pods.some(isPodReady);
    if (ready) return [];
    const workload = commonWorkload(view, pods);
    const count = pods.length === 1 ? '1 pod matches' : `${pods.length} pods match`;
    const message = `${count} selector ${text} of Service ${namespace}/${subject.name} but none is ready (pods of ${display(workload)}): the Service has no ready address to send traffic to`;
    return finding(message, workload, { code: 'no_ready_pods', object: workload });
  }

  const workloads = workloadsIn(view, namespace);
  const intended = workloads.filter((w) => mapMatches(selector, w.labels));
  // A workload scaled to zero on purpose: no pods, and none expected.
  if (intended.some((w) => w.idle)) return [];
  const [owner] = intended;
  if (owner) {
    const message = `selector ${text} matches no running pod: ${display(owner.ref)} wants ${owner.wanted} but has none`;
    return finding(message, owner.ref, { code: 'no_pods', object: owner.ref });
  }
  const nearest = nearestWorkload(selector, workloads);
  const message = nearest
    ? `selector ${text} matches no pod; nearest: ${display(nearest.workload.ref)} has ${nearest.differences.join(', ')} (fix spec.selector of Service ${namespace}/${subject.name})`
    : `selector ${text} matches no pod, and no Deployment, StatefulSet or DaemonSet in namespace ${namespace} has pod labels near it (fix spec.selector of Service ${namespace}/${subject.name})`;
  return finding(message, subject, {
    code: 'selector_matches_nothing',
    ...(nearest ? { object: nearest.workload.ref } : {}),
  });
}

// ---------------------------------------------------------------------------------------------------------------
// Ingresses

interface BackendAt {
  readonly field: string;
  readonly backend: V1IngressBackend;
}

const backendsOf = (ingress: V1Ingress): BackendAt[] => {
  const found: BackendAt[] = [];
  if (ingress.spec?.defaultBackend) found.push({ field: 'spec.defaultBackend', backend: ingress.spec.defaultBackend });
  (ingress.spec?.rules ?? []).forEach((rule, r) => {
    (rule.http?.paths ?? []).forEach((path, p) => {
      if (path.backend) found.push({ field: `spec.rules[${r}].http.paths[${p}].backend`, backend: path.backend });
    });
  });
  return found;
};

const portText = (port: { name?: string; number?: number } | undefined) =>
  port?.name !== undefined ? `port ${port.name}` : `port ${port?.number}`;

export function detectIngress(ingress: V1Ingress, t: DetectionThresholds, view: DetectionView): Finding[] {
  const subject = refOf('Ingress', ingress);
  const namespace = subject.namespace;
  const causes: AnomalyCause[] = [];
  const seen = new Set<string>();
  const servicesWatched = view.watches('Service');
  const add = (cause: AnomalyCause) => {
    if (seen.has(cause.message)) return;
    seen.add(cause.message);
    causes.push(cause);
  };
  // Resource backends (a bucket, a custom kind) are the controller's business: only Service backends are checked.
  for (const { field, backend } of backendsOf(ingress)) {
    const name = backend.service?.name;
    if (!name || !servicesWatched) continue;
    const ref = { kind: 'Service', name, namespace };
    const service = view.get<V1Service>('Service', namespace, name);
    if (!service) {
      add({
        code: 'backend_service_missing',
        message: `${field}.service.name: no Service ${namespace}/${name}`,
        object: ref,
      });
      continue;
    }
    // An ExternalName Service has no ports of its own to compare with.
    if (service.spec?.type === 'ExternalName') continue;
    const port = backend.service?.port;
    if (port?.name === undefined && port?.number === undefined) continue;
    const exposed = (service.spec?.ports ?? []).some((p) =>
      port.name !== undefined ? p.name === port.name : p.port === port.number,
    );
    if (!exposed) {
      const offered = (service.spec?.ports ?? []).map((p) => (p.name ? `${p.name}/${p.port}` : `${p.port}`)).join(', ');
      add({
        code: 'backend_port_missing',
        message: `${field}.service.port: Service ${namespace}/${name} does not expose ${portText(port)} (it has ${offered || 'no ports'})`,
        object: ref,
      });
    }
  }
  // Secrets are watched only when the operator may (--detect-tls-secrets); without them nothing can be called missing.
  // Only kubernetes.io/tls Secrets are cached, so a Secret of another type by that name counts as missing: an
  // ingress controller would not serve it as a certificate either.
  const secretsWatched = view.watches('Secret');
  (ingress.spec?.tls ?? []).forEach((tls, i) => {
    const secretName = tls.secretName;
    if (!secretsWatched || !secretName || view.get('Secret', namespace, secretName)) return;
    add({
      code: 'tls_secret_missing',
      message: `spec.tls[${i}].secretName: no TLS Secret ${namespace}/${secretName} (of type kubernetes.io/tls)`,
      object: { kind: 'Secret', name: secretName, namespace },
    });
  });
  const [first] = causes;
  if (!first) return [];
  return [
    {
      signal: 'ingress_misconfigured',
      subject,
      message: clip(`Ingress ${namespace}/${subject.name}: ${causes.map((c) => c.message).join('; ')}`),
      sustainSeconds: t.ingressMisconfiguredSeconds,
      cause: first,
    },
  ];
}

// ---------------------------------------------------------------------------------------------------------------
// NetworkPolicies

const templatesIn = (view: DetectionView, namespace: string): Labels[] => [
  ...TEMPLATE_KINDS.flatMap((kind) =>
    view.list<PodTemplateOwner>(kind, namespace).map((w) => w.spec?.template?.metadata?.labels ?? {}),
  ),
  ...view.list<V1Job>('Job', namespace).map((j) => j.spec?.template?.metadata?.labels ?? {}),
  ...view.list<V1CronJob>('CronJob', namespace).map((c) => c.spec?.jobTemplate?.spec?.template?.metadata?.labels ?? {}),
];

export function detectNetworkPolicy(policy: V1NetworkPolicy, t: DetectionThresholds, view: DetectionView): Finding[] {
  const selector = policy.spec?.podSelector;
  // An empty podSelector selects every pod of the namespace: it cannot select nothing.
  if (isEmptySelector(selector) || !view.watches('Pod')) return [];
  const subject = refOf('NetworkPolicy', policy);
  const namespace = subject.namespace;
  // Finished pods count (a CronJob's policy between runs), and so does a workload whose pods are yet to come (scaled
  // to zero, a CronJob that has not run).
  if (view.list<V1Pod>('Pod', namespace).some((p) => labelSelectorMatches(selector, p.metadata?.labels))) return [];
  if (templatesIn(view, namespace).some((labels) => labelSelectorMatches(selector, labels))) return [];
  const message = clip(
    `spec.podSelector ${selectorText(selector as V1LabelSelector)} of NetworkPolicy ${namespace}/${subject.name} matches no pod and no workload's pod template in namespace ${namespace}: the policy applies to nothing`,
  );
  return [
    {
      signal: 'netpol_selects_nothing',
      subject,
      message,
      sustainSeconds: t.netpolSelectsNothingSeconds,
      cause: { code: 'selector_matches_nothing', message },
    },
  ];
}

// ---------------------------------------------------------------------------------------------------------------
// Admission webhooks

type WebhookConfiguration = V1ValidatingWebhookConfiguration | V1MutatingWebhookConfiguration;
const WEBHOOK_KINDS = ['ValidatingWebhookConfiguration', 'MutatingWebhookConfiguration'] as const;

const failureMeaning = (policy: string | undefined) =>
  (policy ?? 'Fail') === 'Ignore'
    ? 'failurePolicy Ignore: its checks are skipped'
    : 'failurePolicy Fail: writes it intercepts are rejected';

function detectWebhooks(kind: (typeof WEBHOOK_KINDS)[number]) {
  return (configuration: WebhookConfiguration, t: DetectionThresholds, view: DetectionView): Finding[] => {
    const subject = refOf(kind, configuration);
    const causes: AnomalyCause[] = [];
    if (!view.watches('Service')) return [];
    // Without EndpointSlices in view, only a missing Service can be told.
    const slicesWatched = view.watches('EndpointSlice');
    // A webhook reached by URL is outside the cluster: Cairn cannot see whether it answers.
    for (const webhook of configuration.webhooks ?? []) {
      const target = webhook.clientConfig?.service;
      if (!target?.name || !target.namespace) continue;
      const ref = { kind: 'Service', name: target.name, namespace: target.namespace };
      const service = view.get<V1Service>('Service', target.namespace, target.name);
      if (service?.spec?.type === 'ExternalName') continue;
      const problem = !service
        ? 'which does not exist'
        : !slicesWatched || hasReadyAddress(slicesOf(view, target.namespace, target.name))
          ? undefined
          : 'which has no ready endpoint';
      if (!problem) continue;
      causes.push({
        code: service ? 'webhook_service_unready' : 'webhook_service_missing',
        message: `webhook ${webhook.name} calls Service ${target.namespace}/${target.name}, ${problem}; ${failureMeaning(webhook.failurePolicy)}`,
        object: ref,
      });
    }
    const [first] = causes;
    if (!first) return [];
    return [
      {
        signal: 'webhook_unavailable',
        subject,
        message: clip(`${kind} ${subject.name}: ${causes.map((c) => c.message).join('; ')}`),
        sustainSeconds: t.webhookUnavailableSeconds,
        cause: first,
      },
    ];
  };
}

// ---------------------------------------------------------------------------------------------------------------
// What a change can settle or break

const usesService = (configuration: WebhookConfiguration, namespace: string, name: string) =>
  (configuration.webhooks ?? []).some(
    (w) => w.clientConfig?.service?.namespace === namespace && w.clientConfig.service.name === name,
  );

const webhooksUsing = (view: DetectionView, namespace: string, name: string) =>
  WEBHOOK_KINDS.flatMap((kind) =>
    view
      .list<WebhookConfiguration>(kind)
      .filter((c) => usesService(c, namespace, name))
      .map((c) => detectionKey(kind, '', c.metadata?.name ?? '')),
  );

const ingressesWhere = (view: DetectionView, namespace: string, uses: (ingress: V1Ingress) => boolean) =>
  view
    .list<V1Ingress>('Ingress', namespace)
    .filter(uses)
    .map((i) => detectionKey('Ingress', namespace, i.metadata?.name ?? ''));

/**
 * The Service an EndpointSlice serves, from its label; a deleted slice is no longer in the cache, and the
 * EndpointSlice controller names its slices `<service>-<5 random characters>`.
 */
const serviceOfSlice = (view: DetectionView, namespace: string, name: string): string | undefined => {
  const slice = view.get<V1EndpointSlice>('EndpointSlice', namespace, name);
  if (slice) return slice.metadata?.labels?.[SERVICE_NAME_LABEL];
  const guess = name.replace(/-[a-z0-9]{5}$/, '');
  return guess !== name && view.get('Service', namespace, guess) ? guess : undefined;
};

const servicesForTemplate = (
  view: DetectionView,
  kind: (typeof TEMPLATE_KINDS)[number],
  namespace: string,
  name: string,
) => {
  const labels = view.get<PodTemplateOwner>(kind, namespace, name)?.spec?.template?.metadata?.labels;
  if (!labels) return [];
  return view
    .list<V1Service>('Service', namespace)
    .filter((s) => Object.keys(s.spec?.selector ?? {}).length > 0 && mapMatches(s.spec?.selector ?? {}, labels))
    .map((s) => detectionKey('Service', namespace, s.metadata?.name ?? ''));
};

export const networkDependents: NonNullable<DetectorSet['dependents']> = {
  EndpointSlice: (view, namespace, name) => {
    const service = serviceOfSlice(view, namespace, name);
    return service ? [detectionKey('Service', namespace, service), ...webhooksUsing(view, namespace, service)] : [];
  },
  Pod: (view, namespace, name) => {
    const pod = view.get<V1Pod>('Pod', namespace, name);
    const policies = view.list<V1NetworkPolicy>('NetworkPolicy', namespace);
    // A deleted pod's labels are gone with it: every policy of its namespace may have lost its last pod (policies
    // are few). Services hear of it from their EndpointSlices.
    if (!pod) return policies.map((p) => detectionKey('NetworkPolicy', namespace, p.metadata?.name ?? ''));
    const labels = pod.metadata?.labels;
    return [
      ...view
        .list<V1Service>('Service', namespace)
        .filter((s) => Object.keys(s.spec?.selector ?? {}).length > 0 && mapMatches(s.spec?.selector ?? {}, labels))
        .map((s) => detectionKey('Service', namespace, s.metadata?.name ?? '')),
      ...policies
        .filter((p) => !isEmptySelector(p.spec?.podSelector) && labelSelectorMatches(p.spec?.podSelector, labels))
        .map((p) => detectionKey('NetworkPolicy', namespace, p.metadata?.name ?? '')),
    ];
  },
  Service: (view, namespace, name) => [
    ...ingressesWhere(view, namespace, (ingress) => backendsOf(ingress).some((b) => b.backend.service?.name === name)),
    ...webhooksUsing(view, namespace, name),
  ],
  // A workload scaled to zero (or back) decides whether a Service selecting its template may have no pods.
  Deployment: (view, namespace, name) => servicesForTemplate(view, 'Deployment', namespace, name),
  StatefulSet: (view, namespace, name) => servicesForTemplate(view, 'StatefulSet', namespace, name),
  DaemonSet: (view, namespace, name) => servicesForTemplate(view, 'DaemonSet', namespace, name),
  Secret: (view, namespace, name) =>
    ingressesWhere(view, namespace, (ingress) => (ingress.spec?.tls ?? []).some((tls) => tls.secretName === name)),
};

/** Services, Ingresses, NetworkPolicies and admission webhooks: configuration that points at nothing. */
export const networkDetectors: DetectorSet = {
  detectors: {
    Service: detectService,
    Ingress: detectIngress,
    NetworkPolicy: detectNetworkPolicy,
    ValidatingWebhookConfiguration: detectWebhooks('ValidatingWebhookConfiguration'),
    MutatingWebhookConfiguration: detectWebhooks('MutatingWebhookConfiguration'),
  },
  dependents: networkDependents,
};
