import type {
  CoreV1Event,
  KubernetesObject,
  V1EndpointSlice,
  V1HorizontalPodAutoscaler,
  V1Ingress,
  V1IngressBackend,
  V1LimitRange,
  V1MutatingWebhookConfiguration,
  V1NetworkPolicy,
  V1PersistentVolumeClaim,
  V1Pod,
  V1PodTemplateSpec,
  V1ReplicaSet,
  V1ResourceQuota,
  V1Service,
  V1StorageClass,
  V1ValidatingWebhookConfiguration,
  V2HorizontalPodAutoscaler,
} from '@kubernetes/client-node';
import { createFailureCause } from '../adapters/kubernetes/detection/workloadCauses.ts';
import { parseMemoryBytes } from '../analysis/memoryQuantity.ts';
import { redactSecrets } from '../analysis/redaction.ts';
import type {
  BlockerFacts,
  IngressFacts,
  PvcFacts,
  QuotaFacts,
  ServiceFacts,
  SubjectFacts,
} from '../analysis/workloadFacts.ts';
import { BlockerCode } from '../analysis/workloadFacts.ts';

/**
 * What lies around a workload and can stop it from serving even when its pods are fine (Services, Ingresses,
 * claims, quotas), why its pods cannot start, and what changed between two pod templates. Pure: the builder reads,
 * this reads the objects and says what they mean.
 */

/** Objects of the workload's namespace (and, for webhooks, of their Services' namespaces). */
export interface Surroundings {
  readonly services: readonly V1Service[];
  readonly endpointSlices: readonly V1EndpointSlice[];
  readonly ingresses: readonly V1Ingress[];
  readonly pvcs: readonly V1PersistentVolumeClaim[];
  readonly storageClasses: readonly V1StorageClass[];
  readonly quotas: readonly V1ResourceQuota[];
  readonly limitRanges: readonly V1LimitRange[];
  /** Names of the namespace's TLS Secrets (never their content). */
  readonly tlsSecretNames: readonly string[];
  /** Every live pod of the namespace: what a selector could match. */
  readonly namespacePods: readonly V1Pod[];
  /** For an HPA: whether its scale target exists (undefined: not read). */
  readonly scaleTargetExists?: boolean;
}

export const emptySurroundings: Surroundings = {
  services: [],
  endpointSlices: [],
  ingresses: [],
  pvcs: [],
  storageClasses: [],
  quotas: [],
  limitRanges: [],
  tlsSecretNames: [],
  namespacePods: [],
};

export const RelatedLimits = {
  blockers: 8,
  services: 5,
  ingresses: 5,
  pvcs: 5,
  quotas: 5,
  limitRanges: 5,
  templateChanges: 12,
  webhooks: 10,
  /** Problems said about one subject (an Ingress with many paths). */
  problems: 10,
  message: 300,
} as const;

const oneLine = (text: string | undefined, max: number = RelatedLimits.message) => {
  const flat = (text ?? '').replace(/\s+/g, ' ').trim();
  return redactSecrets(flat.length > max ? `${flat.slice(0, max - 1)}…` : flat);
};
const nameOf = (object: { metadata?: { name?: string } } | undefined) => object?.metadata?.name ?? '';
const labelsText = (labels: Readonly<Record<string, string>>) =>
  Object.entries(labels)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([k, v]) => `${k}=${v}`)
    .join(',');

// ---------------------------------------------------------------------------------------------------------------
// Template changes

const isPlainObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

const namedItems = (value: unknown): Map<string, unknown> | undefined => {
  if (!Array.isArray(value)) return undefined;
  const names = value.map((v) => (isPlainObject(v) && typeof v.name === 'string' ? v.name : undefined));
  if (names.some((n) => n === undefined) || new Set(names).size !== names.length) return undefined;
  return new Map(value.map((v, i) => [names[i] as string, v]));
};

const segment = (key: string) => (/^[A-Za-z_][A-Za-z0-9_]*$/.test(key) ? `.${key}` : `[${key}]`);

/**
 * The fields that differ between two pod templates, as paths. Lists of named items (containers, volumes, env) are
 * compared by name; the `pod-template-hash` label differs between every two ReplicaSets and is not a change.
 */
export const templateChangePaths = (
  older: V1PodTemplateSpec | undefined,
  newer: V1PodTemplateSpec | undefined,
): string[] => {
  const strip = (template: V1PodTemplateSpec | undefined): unknown => {
    const copy = JSON.parse(JSON.stringify(template ?? {})) as {
      metadata?: { labels?: Record<string, string>; creationTimestamp?: unknown };
    };
    if (copy.metadata?.labels) delete copy.metadata.labels['pod-template-hash'];
    if (copy.metadata) delete copy.metadata.creationTimestamp;
    return copy;
  };
  const paths: string[] = [];
  const walk = (a: unknown, b: unknown, path: string) => {
    if (JSON.stringify(a) === JSON.stringify(b)) return;
    if (isPlainObject(a) && isPlainObject(b)) {
      const keys = [...new Set([...Object.keys(a), ...Object.keys(b)])].filter((k) => !k.startsWith('$')).sort();
      for (const key of keys) walk(a[key], b[key], `${path}${segment(key)}`);
      return;
    }
    // A map of strings that appears (or goes away) whole, such as a first nodeSelector: name its keys.
    const stringMap = (v: unknown) =>
      isPlainObject(v) && !('name' in v) && Object.values(v).every((x) => typeof x === 'string');
    if ((a === undefined && stringMap(b)) || (b === undefined && stringMap(a))) {
      for (const key of Object.keys((a ?? b) as object).sort()) paths.push(`${path}${segment(key)}`.replace(/^\./, ''));
      return;
    }
    const before = namedItems(a);
    const after = namedItems(b);
    if (before && after) {
      for (const name of [...new Set([...before.keys(), ...after.keys()])].sort()) {
        walk(before.get(name), after.get(name), `${path}[${name}]`);
      }
      return;
    }
    // An empty map that appears or goes away is no change a person would see.
    const empty = (v: unknown) =>
      v === undefined ||
      v === null ||
      (isPlainObject(v) && Object.keys(v).length === 0) ||
      (Array.isArray(v) && v.length === 0);
    if (empty(a) && empty(b)) return;
    paths.push(path.replace(/^\./, ''));
  };
  walk(strip(older), strip(newer), '');
  return paths;
};

// ---------------------------------------------------------------------------------------------------------------
// Blockers

const CONFIG_OBJECT = /\b(secret|configmap)s? "([^"]+)" not found/i;
const CONFIG_KEY = /couldn't find key (\S+) in (Secret|ConfigMap) ([^/\s]+)\/([^\s]+)/i;

const configObject = (message: string): BlockerFacts['object'] | undefined => {
  const key = CONFIG_KEY.exec(message);
  if (key) return { kind: key[2] === 'Secret' ? 'Secret' : 'ConfigMap', name: key[4] as string };
  const missing = CONFIG_OBJECT.exec(message);
  if (missing)
    return {
      kind: (missing[1] as string).toLowerCase() === 'secret' ? 'Secret' : 'ConfigMap',
      name: missing[2] as string,
    };
  return undefined;
};

/** The field of the pod template the scheduler's words point at. */
const schedulingField = (message: string): string => {
  if (/node affinity|selector/i.test(message)) return 'spec.template.spec.nodeSelector / affinity.nodeAffinity';
  if (/insufficient/i.test(message)) return 'spec.template.spec.containers[*].resources.requests';
  if (/taint/i.test(message)) return 'spec.template.spec.tolerations';
  if (/pod affinity|anti-affinity/i.test(message)) return 'spec.template.spec.affinity';
  if (/persistentvolumeclaim|volume/i.test(message)) return 'spec.template.spec.volumes (its PersistentVolumeClaims)';
  return 'spec.template.spec (scheduling constraints)';
};

/**
 * A FailedCreate message, told apart (quota, admission webhook, LimitRange, a missing ServiceAccount, anything else)
 * by the same reading detection uses, with the field of the workload to look at.
 */
export const createFailure = (message: string, seenOn: string, revision?: number): BlockerFacts => {
  const cause = createFailureCause(seenOn, '', message);
  const field =
    cause.code === BlockerCode.QuotaExceeded
      ? 'spec.template.spec.containers[*].resources (or the ResourceQuota)'
      : cause.code === BlockerCode.LimitRange
        ? 'spec.template.spec.containers[*].resources'
        : cause.code === BlockerCode.ConfigMissing
          ? 'spec.template.spec.serviceAccountName'
          : undefined;
  return {
    code: cause.code as BlockerCode,
    message: oneLine(message),
    seenOn,
    ...(cause.object ? { object: { kind: cause.object.kind, name: cause.object.name } } : {}),
    ...(field ? { field } : {}),
    ...(revision === undefined ? {} : { revision }),
  };
};

/** Why each pod cannot run: configuration it waits for, a node the scheduler cannot find. */
export const podBlockers = (pod: V1Pod, revision: number | undefined): BlockerFacts[] => {
  const seenOn = `Pod/${nameOf(pod)}`;
  const at = revision === undefined ? {} : { revision };
  const out: BlockerFacts[] = [];
  if (pod.metadata?.deletionTimestamp) return out;
  const scheduled = (pod.status?.conditions ?? []).find((c) => c.type === 'PodScheduled');
  if (scheduled?.status === 'False' && (scheduled.reason ?? 'Unschedulable') === 'Unschedulable') {
    const message = scheduled.message ?? 'the scheduler found no node for the pod';
    out.push({
      code: BlockerCode.Unschedulable,
      message: oneLine(message),
      seenOn,
      field: schedulingField(message),
      ...at,
    });
  }
  const statuses = [...(pod.status?.initContainerStatuses ?? []), ...(pod.status?.containerStatuses ?? [])];
  for (const s of statuses) {
    const waiting = s.state?.waiting;
    if (waiting?.reason !== 'CreateContainerConfigError' && waiting?.reason !== 'CreateContainerError') continue;
    const message = waiting.message ?? waiting.reason;
    const object = configObject(message);
    const config = waiting.reason === 'CreateContainerConfigError' || object !== undefined;
    out.push({
      code: config ? BlockerCode.ConfigMissing : BlockerCode.ContainerCreateFailed,
      message: oneLine(`container ${s.name}: ${message}`),
      seenOn,
      ...(object ? { object } : {}),
      field: `spec.template.spec.containers[${s.name}] (env / envFrom / volumes)`,
      ...at,
    });
  }
  return out;
};

/** Why a ReplicaSet (or a Job, StatefulSet) could not create its pods: its condition and FailedCreate events. */
export const creationBlockers = (
  replicaSets: readonly { set: V1ReplicaSet; revision?: number }[],
  events: readonly CoreV1Event[],
  revisionOfOwner: (kind: string, name: string) => number | undefined,
  /** Whether the object an Event names still lacks pods: an Event outlives the fault by up to an hour. */
  stillShort: (kind: string, name: string) => boolean = () => true,
): BlockerFacts[] => {
  const out: BlockerFacts[] = [];
  const seen = new Set<string>();
  for (const { set, revision } of replicaSets) {
    const failure = (set.status?.conditions ?? []).find((c) => c.type === 'ReplicaFailure' && c.status === 'True');
    if (!failure?.message) continue;
    const blocker = createFailure(failure.message, `ReplicaSet/${nameOf(set)}`, revision);
    seen.add(`${blocker.seenOn}:${blocker.code}`);
    out.push(blocker);
  }
  for (const event of events) {
    if (event.reason !== 'FailedCreate' || event.type !== 'Warning') continue;
    const kind = event.involvedObject.kind ?? '';
    const name = event.involvedObject.name ?? '';
    if (!stillShort(kind, name)) continue;
    const blocker = createFailure(event.message ?? '', `${kind}/${name}`, revisionOfOwner(kind, name));
    const key = `${blocker.seenOn}:${blocker.code}`;
    if (seen.has(key)) continue;
    seen.add(key);
    out.push(blocker);
  }
  return out;
};

export const jobDeadlineBlocker = (job: {
  metadata?: { name?: string };
  spec?: { activeDeadlineSeconds?: number };
  status?: { conditions?: { type: string; status: string; reason?: string; message?: string }[] };
}): BlockerFacts | undefined => {
  const failed = (job.status?.conditions ?? []).find(
    (c) => c.type === 'Failed' && c.status === 'True' && c.reason === 'DeadlineExceeded',
  );
  if (!failed) return undefined;
  return {
    code: BlockerCode.DeadlineExceeded,
    message: oneLine(
      `${failed.message ?? 'Job was active longer than specified deadline'} (activeDeadlineSeconds ${job.spec?.activeDeadlineSeconds ?? '?'})`,
    ),
    seenOn: `Job/${nameOf(job)}`,
    field: 'spec.activeDeadlineSeconds',
  };
};

// ---------------------------------------------------------------------------------------------------------------
// Services, Ingresses, claims, quotas

const selects = (selector: Readonly<Record<string, string>>, labels: Readonly<Record<string, string>> | undefined) =>
  Object.keys(selector).length > 0 && Object.entries(selector).every(([k, v]) => labels?.[k] === v);

const live = (pod: V1Pod) =>
  !pod.metadata?.deletionTimestamp && pod.status?.phase !== 'Succeeded' && pod.status?.phase !== 'Failed';

const endpointCounts = (service: string, slices: readonly V1EndpointSlice[]) => {
  let ready = 0;
  let notReady = 0;
  for (const slice of slices) {
    if (slice.metadata?.labels?.['kubernetes.io/service-name'] !== service) continue;
    for (const endpoint of slice.endpoints ?? []) {
      if (endpoint.conditions?.ready === false) notReady += 1;
      else ready += 1;
    }
  }
  return { ready, notReady };
};

/** 1 for equal strings, towards 0 as more edits separate them. */
const similarity = (a: string, b: string): number => {
  const row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let previous = row[0] as number;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const kept = row[j] as number;
      row[j] = Math.min(kept + 1, (row[j - 1] as number) + 1, previous + (a[i - 1] === b[j - 1] ? 0 : 1));
      previous = kept;
    }
  }
  return 1 - (row[b.length] as number) / Math.max(a.length, b.length, 1);
};

/** The selector's labels the nearest label set lacks or carries with another value. */
/** The label set nearest a selector, and how near: equal values count most, then keys present, then how near a
 * differing value is (a typo is near). */
const nearest = (
  selector: Readonly<Record<string, string>>,
  candidates: readonly Readonly<Record<string, string>>[],
): { labels?: Readonly<Record<string, string>>; score: number } => {
  let best: Readonly<Record<string, string>> | undefined;
  let bestScore = 0;
  for (const labels of candidates) {
    const score = Object.entries(selector).reduce((sum, [k, v]) => {
      const have = labels[k];
      if (have === undefined) return sum;
      return sum + (have === v ? 3 : 1 + similarity(have, v));
    }, 0);
    if (score > bestScore) {
      best = labels;
      bestScore = score;
    }
  }
  return { ...(best ? { labels: best } : {}), score: bestScore };
};

/** The selector's labels the nearest label set lacks or carries with another value. */
const mismatch = (
  selector: Readonly<Record<string, string>>,
  near: Readonly<Record<string, string>> | undefined,
): NonNullable<ServiceFacts['mismatchedLabels']> => {
  if (!near) return Object.entries(selector).map(([key, wants]) => ({ key, wants }));
  return Object.entries(selector)
    .filter(([k, v]) => near[k] !== v)
    .map(([key, wants]) => ({ key, wants, ...(near[key] === undefined ? {} : { podsHave: near[key] }) }));
};

export interface RelatedInput {
  readonly surroundings: Surroundings;
  /** The workload's pods (or the subject's selected pods). */
  readonly pods: readonly V1Pod[];
  /** Labels the workload's pod template gives its pods; undefined when the subject is no workload. */
  readonly templateLabels?: Readonly<Record<string, string>>;
  /** Claim names the workload's pods mount. */
  readonly claimNames: readonly string[];
  /** The Issue's subject when it is a Service, Ingress or PVC: always listed. */
  readonly subject?: { readonly kind: string; readonly name: string };
  readonly events: readonly CoreV1Event[];
}

export const serviceFacts = (input: RelatedInput): ServiceFacts[] => {
  const { surroundings, pods, templateLabels, subject } = input;
  const nsPods = surroundings.namespacePods.filter(live);
  const own = [...(templateLabels ? [templateLabels] : []), ...pods.map((p) => p.metadata?.labels ?? {})];
  const ownNames = new Set(pods.map((p) => nameOf(p)));
  const others = nsPods.filter((p) => !ownNames.has(nameOf(p))).map((p) => p.metadata?.labels ?? {});
  const facts: ServiceFacts[] = [];
  for (const service of surroundings.services) {
    const name = nameOf(service);
    const selector = service.spec?.selector ?? {};
    const isSubject = subject?.kind === 'Service' && subject.name === name;
    const matching = nsPods.filter((p) => selects(selector, p.metadata?.labels));
    const selectsWorkload =
      isSubject ||
      (templateLabels !== undefined && selects(selector, templateLabels)) ||
      pods.some((p) => selects(selector, p.metadata?.labels));
    const selectsNothing = Object.keys(selector).length > 0 && matching.length === 0;
    if (!selectsWorkload && !selectsNothing) continue;
    let near: Readonly<Record<string, string>> | undefined;
    if (selectsNothing) {
      const ours = nearest(selector, own);
      const theirs = nearest(selector, others);
      // A workload's context lists a Service selecting nothing only when the workload's pods are the nearest it
      // comes to: a typo in another team's Service is not this workload's cause.
      if (!isSubject && templateLabels !== undefined && (ours.score === 0 || theirs.score > ours.score)) continue;
      near = ours.score >= theirs.score ? ours.labels : theirs.labels;
    }
    const { ready, notReady } = endpointCounts(name, surroundings.endpointSlices);
    facts.push({
      name,
      type: service.spec?.type ?? 'ClusterIP',
      selector: { ...selector },
      matchingPods: matching.length,
      readyEndpoints: ready,
      notReadyEndpoints: notReady,
      selectsWorkload,
      ...(selectsNothing ? { mismatchedLabels: mismatch(selector, near) } : {}),
    });
  }
  // The subject first, then those of the workload, then Services selecting nothing whose labels are nearest.
  const rank = (s: ServiceFacts) =>
    (subject?.kind === 'Service' && subject.name === s.name ? 0 : s.selectsWorkload ? 1 : 2) * 100 +
    (s.mismatchedLabels?.length ?? 0);
  return facts.sort((a, b) => rank(a) - rank(b) || a.name.localeCompare(b.name)).slice(0, RelatedLimits.services);
};

const backendsOf = (ingress: V1Ingress) => {
  const out: { service: string; port: string; path: string }[] = [];
  const add = (backend: V1IngressBackend | undefined, path: string) => {
    const service = backend?.service;
    if (!service) return;
    out.push({ service: service.name, port: String(service.port?.number ?? service.port?.name ?? ''), path });
  };
  add(ingress.spec?.defaultBackend, 'spec.defaultBackend');
  (ingress.spec?.rules ?? []).forEach((rule, r) => {
    (rule.http?.paths ?? []).forEach((p, i) => {
      add(p.backend, `spec.rules[${r}].http.paths[${i}].backend`);
    });
  });
  return out;
};

export const ingressFacts = (input: RelatedInput, services: readonly ServiceFacts[]): IngressFacts[] => {
  const { surroundings, subject } = input;
  const byName = new Map(surroundings.services.map((s) => [nameOf(s), s]));
  const ours = new Set(services.filter((s) => s.selectsWorkload).map((s) => s.name));
  const tls = new Set(surroundings.tlsSecretNames);
  return surroundings.ingresses
    .filter((ingress) => {
      if (subject?.kind === 'Ingress') return nameOf(ingress) === subject.name;
      return backendsOf(ingress).some((b) => ours.has(b.service));
    })
    .slice(0, RelatedLimits.ingresses)
    .map((ingress) => ({
      name: nameOf(ingress),
      backends: backendsOf(ingress).map((b) => {
        const service = byName.get(b.service);
        const portExists =
          service !== undefined &&
          (service.spec?.ports ?? []).some(
            (p) => String(p.port) === b.port || (p.name !== undefined && p.name === b.port),
          );
        return { service: b.service, port: b.port, serviceExists: service !== undefined, portExists };
      }),
      missingTlsSecrets: (ingress.spec?.tls ?? [])
        .map((t) => t.secretName ?? '')
        .filter((n) => n.length > 0 && !tls.has(n)),
    }));
};

export const pvcFacts = (input: RelatedInput): PvcFacts[] => {
  const { surroundings, claimNames, subject, events } = input;
  const wanted = new Set(claimNames);
  if (subject?.kind === 'PersistentVolumeClaim') wanted.add(subject.name);
  const classes = new Map(surroundings.storageClasses.map((c) => [nameOf(c), c]));
  const defaultClass = surroundings.storageClasses.find(
    (c) => c.metadata?.annotations?.['storageclass.kubernetes.io/is-default-class'] === 'true',
  );
  return surroundings.pvcs
    .filter(
      (claim) => wanted.has(nameOf(claim)) || claimNames.some((n) => n.endsWith('-') && nameOf(claim).startsWith(n)),
    )
    .slice(0, RelatedLimits.pvcs)
    .map((claim) => {
      const className = claim.spec?.storageClassName;
      const storageClass = className === undefined ? defaultClass : classes.get(className);
      // An empty class name asks for no dynamic provisioning at all: a matching PV is what it waits for.
      const exists = className === '' || storageClass !== undefined;
      const warning = events
        .filter(
          (e) =>
            e.type === 'Warning' &&
            e.involvedObject.kind === 'PersistentVolumeClaim' &&
            e.involvedObject.name === nameOf(claim),
        )
        .at(-1);
      return {
        name: nameOf(claim),
        phase: claim.status?.phase ?? 'Pending',
        ...(className !== undefined
          ? { storageClass: className }
          : storageClass
            ? { storageClass: nameOf(storageClass) }
            : {}),
        storageClassExists: exists,
        ...(storageClass?.volumeBindingMode ? { bindingMode: storageClass.volumeBindingMode } : {}),
        ...(warning ? { problem: oneLine(`${warning.reason ?? ''}: ${warning.message ?? ''}`) } : {}),
      };
    });
};

export const quotaFacts = (quotas: readonly V1ResourceQuota[]): QuotaFacts[] =>
  quotas.slice(0, RelatedLimits.quotas).map((quota) => {
    const hard = quota.status?.hard ?? quota.spec?.hard ?? {};
    const used = quota.status?.used ?? {};
    const usage: Record<string, string> = {};
    const exhausted: string[] = [];
    for (const resource of Object.keys(hard).sort()) {
      const h = hard[resource] as string;
      const u = used[resource] ?? '0';
      usage[resource] = `${u}/${h}`;
      const hv = parseMemoryBytes(h);
      const uv = parseMemoryBytes(u);
      if (hv !== undefined && uv !== undefined && uv >= hv) exhausted.push(resource);
    }
    return { name: nameOf(quota), usage, exhausted };
  });

export const limitRangeLines = (ranges: readonly V1LimitRange[]): string[] =>
  ranges.slice(0, RelatedLimits.limitRanges).map((range) => {
    const items = (range.spec?.limits ?? []).map((l) => {
      const parts = [
        ['max', l.max],
        ['min', l.min],
        ['default', l._default],
        ['defaultRequest', l.defaultRequest],
      ]
        .filter(([, v]) => v && Object.keys(v).length > 0)
        .map(([k, v]) => `${k} ${labelsText(v as Record<string, string>)}`);
      return `${l.type} ${parts.join(', ') || '(no bounds)'}`;
    });
    return oneLine(`${nameOf(range)}: ${items.join('; ') || '(empty)'}`);
  });

export const serviceLine = (s: ServiceFacts) => {
  const selector = labelsText(s.selector) || '(none: endpoints managed outside Kubernetes selectors)';
  const mismatched = s.mismatchedLabels?.length
    ? `; selects NO pod: ${s.mismatchedLabels
        .map(
          (m) =>
            `${m.key}=${m.wants} (${m.podsHave === undefined ? 'no pod has this label' : `the nearest pods have ${m.key}=${m.podsHave}`})`,
        )
        .join(', ')}`
    : '';
  return redactSecrets(
    `- Service ${s.name} (${s.type}) selector ${selector}: ${s.matchingPods} pod(s) match, endpoints ready ${s.readyEndpoints}, not ready ${s.notReadyEndpoints}${mismatched}`,
  );
};

export const ingressLine = (i: IngressFacts) => {
  const backends = i.backends
    .map(
      (b) =>
        `${b.service}:${b.port}${!b.serviceExists ? ' (Service MISSING)' : !b.portExists ? ' (port MISSING)' : ''}`,
    )
    .join(', ');
  const tls = i.missingTlsSecrets.length > 0 ? `; TLS Secret MISSING: ${i.missingTlsSecrets.join(', ')}` : '';
  return redactSecrets(`- Ingress ${i.name}: backends ${backends || 'none'}${tls}`);
};

export const pvcLine = (p: PvcFacts) =>
  redactSecrets(
    `- PersistentVolumeClaim ${p.name}: ${p.phase}, class ${p.storageClass ?? '(default)'}${p.storageClassExists ? '' : ' (StorageClass MISSING)'}${
      p.bindingMode ? `, binding ${p.bindingMode}` : ''
    }${p.problem ? `; ${p.problem}` : ''}`,
  );

export const quotaLine = (q: QuotaFacts) =>
  redactSecrets(
    `- ResourceQuota ${q.name}: ${Object.entries(q.usage)
      .map(([r, u]) => `${r} ${u}`)
      .join(', ')}${q.exhausted.length > 0 ? ` — EXHAUSTED: ${q.exhausted.join(', ')}` : ''}`,
  );

export const blockerLine = (b: BlockerFacts) =>
  redactSecrets(
    `- ${b.code} on ${b.seenOn}${b.revision === undefined ? '' : ` [revision ${b.revision}]`}: ${b.message}${
      b.object ? ` (fix ${b.object.kind}${b.object.name ? ` ${b.object.name}` : ''})` : ''
    }${b.field ? ` (field ${b.field})` : ''}`,
  );

// ---------------------------------------------------------------------------------------------------------------
// Subjects that are not workloads

type WebhookConfiguration = V1ValidatingWebhookConfiguration | V1MutatingWebhookConfiguration;

export interface SubjectPart {
  readonly lines: string[];
  readonly subject: SubjectFacts;
}

/** Status lines and problems of a Service, Ingress, PVC, NetworkPolicy or webhook configuration. */
export const subjectPart = (
  kind: string,
  object: KubernetesObject,
  related: {
    readonly services: readonly ServiceFacts[];
    readonly ingresses: readonly IngressFacts[];
    readonly pvcs: readonly PvcFacts[];
    readonly surroundings: Surroundings;
  },
): SubjectPart | undefined => {
  const name = nameOf(object);
  switch (kind) {
    case 'Service': {
      const service = object as V1Service;
      const facts = related.services.find((s) => s.name === name);
      const problems: string[] = [];
      const selector = service.spec?.selector ?? {};
      if (service.spec?.type === 'ExternalName') {
        // Nothing to select: it is a DNS alias.
      } else if (Object.keys(selector).length === 0) {
        // No selector: endpoints are written by hand or by another controller.
      } else if (facts?.mismatchedLabels?.length) {
        problems.push(
          `spec.selector of Service ${name} matches no pod: ${facts.mismatchedLabels
            .map((m) =>
              m.podsHave === undefined
                ? `no pod carries ${m.key}=${m.wants}`
                : `${m.key} is ${m.wants} but the nearest pods have ${m.key}=${m.podsHave}`,
            )
            .join('; ')}`,
        );
      } else if (facts && facts.readyEndpoints === 0) {
        problems.push(`Service ${name} selects ${facts.matchingPods} pod(s) but none is ready`);
      }
      const ports = (service.spec?.ports ?? []).map(
        (p) => `${p.name ? `${p.name} ` : ''}${p.port}→${p.targetPort ?? p.port}/${p.protocol ?? 'TCP'}`,
      );
      return {
        lines: [
          `Type ${service.spec?.type ?? 'ClusterIP'}${service.spec?.clusterIP === 'None' ? ' (headless)' : ''}${service.spec?.externalName ? `, externalName ${service.spec.externalName}` : ''}`,
          `Selector: ${labelsText(selector) || 'none'}; ports: ${ports.join(', ') || 'none'}`,
          ...(facts
            ? [
                `Pods matching: ${facts.matchingPods}; endpoints ready ${facts.readyEndpoints}, not ready ${facts.notReadyEndpoints}`,
              ]
            : []),
          ...problems.map((p) => `PROBLEM: ${p}`),
        ],
        subject: { problems },
      };
    }
    case 'Ingress': {
      const facts = related.ingresses.find((i) => i.name === name);
      const problems: string[] = [];
      const ingress = object as V1Ingress;
      const paths = new Map(backendsOf(ingress).map((b) => [`${b.service}:${b.port}`, b.path]));
      for (const b of facts?.backends ?? []) {
        const path = paths.get(`${b.service}:${b.port}`) ?? 'spec.rules';
        if (!b.serviceExists) problems.push(`${path}.service.name: Service ${b.service} does not exist`);
        else if (!b.portExists) problems.push(`${path}.service.port: Service ${b.service} has no port ${b.port}`);
      }
      for (const secret of facts?.missingTlsSecrets ?? [])
        problems.push(`spec.tls[].secretName: TLS Secret ${secret} does not exist`);
      return {
        lines: [
          `Class ${ingress.spec?.ingressClassName ?? '(default)'}; hosts ${(ingress.spec?.rules ?? []).map((r) => r.host ?? '*').join(', ') || 'none'}`,
          ...(facts ? [ingressLine(facts)] : []),
          ...problems.map((p) => `PROBLEM: ${p}`),
        ],
        subject: { problems },
      };
    }
    case 'PersistentVolumeClaim': {
      const claim = object as V1PersistentVolumeClaim;
      const facts = related.pvcs.find((p) => p.name === name);
      const problems: string[] = [];
      if (facts && facts.phase === 'Pending') {
        if (!facts.storageClassExists) {
          problems.push(
            facts.storageClass
              ? `spec.storageClassName: StorageClass ${facts.storageClass} does not exist`
              : 'spec.storageClassName is unset and the cluster has no default StorageClass',
          );
        } else if (facts.bindingMode !== 'WaitForFirstConsumer' && facts.problem) {
          problems.push(`claim ${name} is Pending: ${facts.problem}`);
        }
      }
      return {
        lines: [
          `Phase ${claim.status?.phase ?? 'Pending'}; requests ${claim.spec?.resources?.requests?.storage ?? '?'}; access ${(claim.spec?.accessModes ?? []).join(',') || '?'}; volume ${claim.spec?.volumeName || 'none'}`,
          ...(facts ? [pvcLine(facts)] : []),
          ...problems.map((p) => `PROBLEM: ${p}`),
        ],
        subject: { problems },
      };
    }
    case 'NetworkPolicy': {
      const policy = object as V1NetworkPolicy;
      const selector = policy.spec?.podSelector?.matchLabels ?? {};
      const expressions = policy.spec?.podSelector?.matchExpressions ?? [];
      const nsPods = related.surroundings.namespacePods.filter(live);
      // An empty podSelector selects every pod of the namespace.
      const selected =
        expressions.length > 0
          ? undefined
          : Object.keys(selector).length === 0
            ? nsPods.length
            : nsPods.filter((p) => selects(selector, p.metadata?.labels)).length;
      const problems =
        selected === 0 ? [`spec.podSelector ${labelsText(selector)} of NetworkPolicy ${name} selects no pod`] : [];
      return {
        lines: [
          `Pod selector: ${labelsText(selector) || (expressions.length > 0 ? '(expressions)' : 'all pods')}; policy types ${(policy.spec?.policyTypes ?? []).join(', ') || 'Ingress'}`,
          `Pods selected now: ${selected ?? 'not computed (matchExpressions)'}`,
          ...problems.map((p) => `PROBLEM: ${p}`),
        ],
        subject: { problems, ...(selected === undefined ? {} : { selectedPods: selected }) },
      };
    }
    case 'ValidatingWebhookConfiguration':
    case 'MutatingWebhookConfiguration': {
      const config = object as WebhookConfiguration;
      const webhooks = (config.webhooks ?? []).slice(0, RelatedLimits.webhooks).map((w) => {
        const service = w.clientConfig.service;
        const counts = service
          ? endpointCounts(
              service.name,
              related.surroundings.endpointSlices.filter((s) => s.metadata?.namespace === service.namespace),
            )
          : undefined;
        return {
          name: w.name,
          ...(service ? { service: `${service.namespace}/${service.name}` } : {}),
          readyEndpoints: counts?.ready ?? 0,
          failurePolicy: w.failurePolicy ?? 'Fail',
          url: service === undefined,
        };
      });
      const problems = webhooks
        .filter((w) => !w.url && w.readyEndpoints === 0)
        .map(
          (w) =>
            `webhook ${w.name}: Service ${w.service} has no ready endpoint (failurePolicy ${w.failurePolicy}${w.failurePolicy === 'Fail' ? ': matching requests are rejected' : ''}); fix that Service's pods or webhooks[${w.name}].clientConfig.service`,
        );
      return {
        lines: [
          ...webhooks.map(
            (w) =>
              `- webhook ${w.name}: ${w.url ? 'URL endpoint' : `Service ${w.service}, ready endpoints ${w.readyEndpoints}`}, failurePolicy ${w.failurePolicy}`,
          ),
          ...problems.map((p) => `PROBLEM: ${p}`),
        ],
        subject: {
          problems,
          webhooks: webhooks.map(({ url: _url, ...w }) => w),
        },
      };
    }
    case 'HorizontalPodAutoscaler': {
      const hpa = object as V2HorizontalPodAutoscaler | V1HorizontalPodAutoscaler;
      const ref = hpa.spec?.scaleTargetRef;
      const problems: string[] = [];
      if (related.surroundings.scaleTargetExists === false) {
        problems.push(`spec.scaleTargetRef: ${ref?.kind ?? '?'} ${ref?.name ?? '?'} does not exist`);
      }
      const conditions =
        (
          hpa.status as
            | { conditions?: { type: string; status: string; reason?: string; message?: string }[] }
            | undefined
        )?.conditions ?? [];
      const active = conditions.find((c) => c.type === 'ScalingActive');
      if (active?.status === 'False' && related.surroundings.scaleTargetExists !== false) {
        problems.push(
          `spec.metrics cannot be computed (${active.reason ?? 'ScalingActive=False'}): ${oneLine(active.message, 200)}`,
        );
      }
      return {
        lines: problems.map((p) => `PROBLEM: ${p}`),
        subject: {
          problems,
          ...(related.surroundings.scaleTargetExists === undefined
            ? {}
            : { targetExists: related.surroundings.scaleTargetExists }),
        },
      };
    }
    default:
      return undefined;
  }
};

/** Selector of a Service or NetworkPolicy subject, as the pod list query the builder runs. */
export const subjectPodSelector = (kind: string, object: KubernetesObject): Record<string, string> | undefined => {
  if (kind === 'Service') {
    const selector = (object as V1Service).spec?.selector ?? {};
    return Object.keys(selector).length > 0 ? selector : undefined;
  }
  return undefined;
};

export const podsSelectedBy = (selector: Readonly<Record<string, string>>, pods: readonly V1Pod[]) =>
  pods.filter((p) => live(p) && selects(selector, p.metadata?.labels));

/** Names of the claims a pod template mounts; a StatefulSet's claim templates become `<template>-<set>-` prefixes. */
export const claimNamesOf = (
  template: V1PodTemplateSpec | undefined,
  statefulSet?: { name: string; claimTemplates: readonly string[] },
): string[] => [
  ...(template?.spec?.volumes ?? []).flatMap((v) =>
    v.persistentVolumeClaim ? [v.persistentVolumeClaim.claimName] : [],
  ),
  ...(statefulSet?.claimTemplates ?? []).map((t) => `${t}-${statefulSet?.name}-`),
];
