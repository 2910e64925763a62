import type {
  CoreV1Event,
  V1Container,
  V1DaemonSet,
  V1Deployment,
  V1Job,
  V1Pod,
  V1PodSpec,
  V1ReplicaSet,
  V1StatefulSet,
} from '@kubernetes/client-node';
import type { AnomalyCause } from '../../../../domain/events/anomaly.events.ts';
import type { DetectionView } from './detectionView.ts';

/**
 * Why a workload's pods are not there or not running, read from what Kubernetes already says: a container status
 * waiting on configuration, a pod the scheduler rejected, a controller whose pod creation was refused. Each cause
 * names the object or field a person has to change. Pure: everything comes from the object and the view.
 */

/** Longest cause message kept; the scheduler's and the API server's own words are cut past this. */
const MAX_CAUSE = 1_000;
const clip = (text: string, max = MAX_CAUSE) => (text.length > max ? `${text.slice(0, max - 1)}…` : text);

type ConfigKind = 'ConfigMap' | 'Secret';

/**
 * The object a cause points at, only when the name read out of a message is one Kubernetes could have given it (a
 * DNS subdomain): a garbled message still gives its words, never a reference to nothing.
 */
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const objectRef = (kind: string, name: string, namespace: string) =>
  name.length <= 253 && DNS_SUBDOMAIN.test(name) ? { object: { kind, name, namespace } } : {};

/** Where a pod spec refers to this ConfigMap or Secret, as field paths a person can find in the manifest. */
export function configReferences(spec: V1PodSpec | undefined, kind: ConfigKind, name: string): string[] {
  if (!spec) return [];
  const refs: string[] = [];
  const containers: [string, V1Container[] | undefined][] = [
    ['initContainers', spec.initContainers],
    ['containers', spec.containers],
  ];
  for (const [list, items] of containers)
    for (const c of items ?? []) {
      (c.envFrom ?? []).forEach((from, i) => {
        const ref = kind === 'ConfigMap' ? from.configMapRef : from.secretRef;
        if (ref?.name === name)
          refs.push(`${list}[${c.name}].envFrom[${i}].${kind === 'ConfigMap' ? 'configMapRef' : 'secretRef'}`);
      });
      for (const env of c.env ?? []) {
        const ref = kind === 'ConfigMap' ? env.valueFrom?.configMapKeyRef : env.valueFrom?.secretKeyRef;
        if (ref?.name === name)
          refs.push(
            `${list}[${c.name}].env[${env.name}].valueFrom.${kind === 'ConfigMap' ? 'configMapKeyRef' : 'secretKeyRef'}`,
          );
      }
    }
  for (const volume of spec.volumes ?? []) {
    if (kind === 'ConfigMap' && volume.configMap?.name === name) refs.push(`volumes[${volume.name}].configMap`);
    if (kind === 'Secret' && volume.secret?.secretName === name) refs.push(`volumes[${volume.name}].secret`);
    for (const source of volume.projected?.sources ?? []) {
      if (kind === 'ConfigMap' && source.configMap?.name === name) refs.push(`volumes[${volume.name}].projected`);
      if (kind === 'Secret' && source.secret?.name === name) refs.push(`volumes[${volume.name}].projected`);
    }
  }
  return refs;
}

/** Field paths within the pod spec, which is the workload's pod template: the place a person edits. */
const referencedAt = (refs: string[]) =>
  refs.length > 0 ? ` (the pod template refers to it at spec.${refs.join(', spec.')})` : '';

/**
 * The kubelet's words for configuration it cannot find: `configmap "x" not found`, `secret "x" not found` (the
 * API's NotFound for the resource), and `couldn't find key k in ConfigMap ns/x` for a missing key.
 */
function configCause(pod: V1Pod, container: string, reason: string, message: string): AnomalyCause {
  const namespace = pod.metadata?.namespace ?? '';
  const podName = pod.metadata?.name ?? '';
  const missing = /\b(configmap|secret)s? "([^"]+)" not found/i.exec(message);
  const missingKey = /couldn't find key (\S+) in (ConfigMap|Secret) ([^/\s]+)\/(\S+)/.exec(message);
  if (missing || missingKey) {
    const kind: ConfigKind =
      (missing?.[1] ?? missingKey?.[2] ?? '').toLowerCase() === 'secret' ? 'Secret' : 'ConfigMap';
    const name = (missing?.[2] ?? missingKey?.[4] ?? '').replace(/[.,;:]+$/, '');
    const refs = configReferences(pod.spec, kind, name);
    const what = missingKey ? `key ${missingKey[1]} of ${kind} ${name}` : `${kind} ${name}`;
    return {
      code: 'config_missing',
      message: clip(
        `container ${container} of pod ${podName} cannot start: ${what} does not exist in namespace ${namespace}${referencedAt(refs)}; create it or fix the reference`,
      ),
      ...objectRef(kind, name, namespace),
    };
  }
  return {
    code: 'container_create_failed',
    message: clip(`container ${container} of pod ${podName} cannot be created (${reason}): ${message || 'no detail'}`),
  };
}

/** The scheduler's `0/3 nodes are available: …` summary, one entry per reason, without the preemption part. */
export function schedulerReasons(message: string): string[] {
  const head = message.split(/\.?\s*preemption:/)[0] ?? message;
  const list = head.includes('are available:') ? head.slice(head.indexOf('are available:') + 14) : head;
  return list
    .split(/,\s*(?=\d+\s)/)
    .map((part) => part.trim().replace(/\.$/, ''))
    .filter((part) => part.length > 0);
}

const totalRequest = (spec: V1PodSpec | undefined, resource: string) =>
  (spec?.containers ?? [])
    .map((c) => c.resources?.requests?.[resource] ?? c.resources?.limits?.[resource])
    .filter((q): q is string => q !== undefined);

/** Which of the pod's own fields the scheduler's reasons point at, in words a person can act on. */
function unschedulableDetail(pod: V1Pod, reasons: string[]): string[] {
  const spec = pod.spec;
  const details: string[] = [];
  const seen = new Set<string>();
  const add = (key: string, text: string) => {
    if (!seen.has(key)) details.push(text);
    seen.add(key);
  };
  for (const reason of reasons) {
    const insufficient = /Insufficient (\S+)/.exec(reason);
    if (insufficient?.[1]) {
      const resource = insufficient[1];
      const asked = totalRequest(spec, resource);
      add(
        `insufficient ${resource}`,
        `insufficient ${resource}: no node has room for the requested ${resource}${asked.length > 0 ? ` (${asked.join(' + ')})` : ''} in spec.containers[].resources.requests`,
      );
    } else if (/node affinity\/selector|node\(s\) didn't match node selector/.test(reason)) {
      const selector = Object.entries(spec?.nodeSelector ?? {}).map(([k, v]) => `${k}=${v}`);
      const affinity = (
        spec?.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution?.nodeSelectorTerms ?? []
      ).length;
      const fields = [
        ...(selector.length > 0 ? [`no node has the labels ${selector.join(', ')} (spec.nodeSelector)`] : []),
        ...(affinity > 0 || selector.length === 0
          ? ['no node matches spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution']
          : []),
      ];
      add('selector', `node selector: ${fields.join(', or ')}`);
    } else if (/untolerated taint/.test(reason)) {
      const taint = /untolerated taint(?:\(s\))?\s*(\{[^}]*\})?/.exec(reason)?.[1];
      add(
        `taint ${taint ?? ''}`,
        `taints: the nodes have a taint${taint ? ` ${taint}` : ''} the pod does not tolerate (spec.tolerations)`,
      );
    } else if (/anti-affinity/.test(reason)) {
      add(
        'anti-affinity',
        'pod anti-affinity: every node already runs a pod it must avoid (spec.affinity.podAntiAffinity)',
      );
    } else if (/pod affinity/.test(reason)) {
      add('affinity', 'pod affinity: no node runs the pods it must be next to (spec.affinity.podAffinity)');
    } else if (/Too many pods/.test(reason)) {
      add('pods', 'the nodes are at their pod limit');
    } else if (/free ports/.test(reason)) {
      add('ports', 'host ports: the requested hostPort is taken on every node (spec.containers[].ports[].hostPort)');
    } else if (/were unschedulable/.test(reason)) {
      add('cordoned', 'the nodes are cordoned (spec.unschedulable)');
    } else if (/volume|PersistentVolumeClaim/i.test(reason)) {
      add('volumes', `volumes: ${reason.replace(/^\d+\s+/, '')}`);
    }
  }
  return details;
}

function scheduleCause(pod: V1Pod, message: string): AnomalyCause {
  const details = unschedulableDetail(pod, schedulerReasons(message));
  const podName = pod.metadata?.name ?? '';
  const why = details.length > 0 ? details.join('; ') : 'the scheduler found no node for it';
  return {
    code: 'unschedulable',
    message: clip(`pod ${podName} cannot be scheduled: ${why} (scheduler: ${message.trim()})`),
  };
}

/** A kubelet message that names the ConfigMap or Secret it could not find. */
const NAMES_CONFIG = /\b(?:configmap|secret)s? "[^"]+" not found|couldn't find key \S+ in (?:ConfigMap|Secret) /i;

const CONFIG_REASONS = new Set(['CreateContainerConfigError', 'CreateContainerError']);

const latest = (events: CoreV1Event[], reasons: string[]) =>
  [...events].reverse().find((e) => e.type === 'Warning' && reasons.includes(e.reason ?? ''));

/**
 * What keeps this pod from running, or undefined when nothing does or when it is merely on its way (created but
 * not yet scheduled, pulling, ContainerCreating): waiting on configuration it cannot find, or rejected by the
 * scheduler. A pod being deleted is on its way out and blocks nothing.
 */
export function podBlockedCause(pod: V1Pod, view?: DetectionView): AnomalyCause | undefined {
  if (pod.metadata?.deletionTimestamp) return undefined;
  const phase = pod.status?.phase;
  if (phase === 'Succeeded' || phase === 'Failed') return undefined;
  const statuses = [...(pod.status?.initContainerStatuses ?? []), ...(pod.status?.containerStatuses ?? [])];
  const waiting = statuses.find((s) => CONFIG_REASONS.has(s.state?.waiting?.reason ?? ''));
  if (waiting) {
    const reason = waiting.state?.waiting?.reason ?? '';
    let message = waiting.state?.waiting?.message ?? '';
    if (!NAMES_CONFIG.test(message) && view) {
      // The kubelet's Failed Event says the same as the status, as "Error: …"; read it when the status is terse.
      const event = latest(view.eventsFor('Pod', pod.metadata?.namespace ?? '', pod.metadata?.name ?? ''), ['Failed']);
      const said = event?.message?.replace(/^Error:\s*/, '') ?? '';
      if (NAMES_CONFIG.test(said)) message = said;
    }
    return configCause(pod, waiting.name, reason, message);
  }
  if (phase !== 'Pending' || pod.spec?.nodeName) return undefined;
  const scheduled = pod.status?.conditions?.find((c) => c.type === 'PodScheduled');
  if (scheduled?.status !== 'False' || scheduled.reason !== 'Unschedulable') return undefined;
  let message = scheduled.message ?? '';
  if (!message && view) {
    const event = latest(view.eventsFor('Pod', pod.metadata?.namespace ?? '', pod.metadata?.name ?? ''), [
      'FailedScheduling',
    ]);
    message = event?.message ?? '';
  }
  return scheduleCause(pod, message);
}

/**
 * A refused pod creation, in the API server's words (`pods "x" is forbidden: exceeded quota: q, …`, `admission
 * webhook "w" denied the request: …`, LimitRanger's `maximum cpu usage per Container is …`).
 */
export function createFailureCause(owner: string, namespace: string, message: string): AnomalyCause {
  const quota = /exceeded quota: ([^,\s]+)(?:, requested: (.*?), used: (.*?), limited: ([^\n]*))?/.exec(message);
  if (quota?.[1]) {
    const name = quota[1];
    const numbers = quota[2] ? ` (requested ${quota[2]}, used ${quota[3]}, limited ${quota[4]?.trim()})` : '';
    return {
      code: 'quota_exceeded',
      message: clip(
        `${owner} cannot create pods: ResourceQuota ${name} in namespace ${namespace} is used up${numbers}; raise its spec.hard or lower the replicas or requests`,
      ),
      ...objectRef('ResourceQuota', name, namespace),
    };
  }
  const unsatisfied = /failed quota: ([^:\s]+): (.+)$/m.exec(message);
  if (unsatisfied?.[1]) {
    return {
      code: 'quota_exceeded',
      message: clip(
        `${owner} cannot create pods: ResourceQuota ${unsatisfied[1]} in namespace ${namespace} refuses them: ${unsatisfied[2]}`,
      ),
      ...objectRef('ResourceQuota', unsatisfied[1], namespace),
    };
  }
  const webhook = /admission webhook "([^"]+)" denied the request:?\s*(.*)$/m.exec(message);
  if (webhook?.[1]) {
    return {
      code: 'admission_denied',
      message: clip(
        `${owner} cannot create pods: admission webhook ${webhook[1]} denied them${webhook[2] ? `: ${webhook[2]}` : ''}`,
      ),
    };
  }
  const limit =
    /((?:maximum|minimum) \S+ usage per (?:Container|Pod) is [^,]+, but (?:limit|request) is [^.,\s]+|\S+ max limit to request ratio per (?:Container|Pod) is [^,]+, but provided ratio is [\d.]+)/.exec(
      message,
    );
  if (limit?.[1]) {
    return {
      code: 'limit_range',
      message: clip(
        `${owner} cannot create pods: a LimitRange in namespace ${namespace} refuses them: ${limit[1]}; fix spec.containers[].resources or the LimitRange`,
      ),
    };
  }
  const account = /serviceaccount "([^"]+)" not found/.exec(message);
  if (account?.[1]) {
    return {
      code: 'config_missing',
      message: clip(
        `${owner} cannot create pods: ServiceAccount ${account[1]} does not exist in namespace ${namespace} (spec.serviceAccountName)`,
      ),
      ...objectRef('ServiceAccount', account[1], namespace),
    };
  }
  return { code: 'create_failed', message: clip(`${owner} cannot create pods: ${message.trim()}`) };
}

const conditionOf = <C extends { type: string }>(conditions: C[] | undefined, type: string) =>
  conditions?.find((c) => c.type === type);

/** A ReplicaFailure condition (ReplicaSets, and Deployments that copy it) that says creation was refused. */
function replicaFailure(
  object: V1ReplicaSet | V1Deployment,
  owner: string,
  namespace: string,
): AnomalyCause | undefined {
  const failure = conditionOf(object.status?.conditions, 'ReplicaFailure');
  if (failure?.status !== 'True' || failure.reason !== 'FailedCreate') return undefined;
  return createFailureCause(owner, namespace, failure.message ?? failure.reason);
}

/**
 * The controller's own Events about this exact object: a FailedCreate more recent than any SuccessfulCreate means
 * it is still being refused (Events linger for an hour after the refusal stopped).
 */
function failedCreateEvent(view: DetectionView, kind: string, namespace: string, name: string) {
  const event = [...view.eventsFor(kind, namespace, name)]
    .reverse()
    .find((e) => e.reason === 'FailedCreate' || e.reason === 'SuccessfulCreate');
  return event?.reason === 'FailedCreate' && event.type === 'Warning' ? event : undefined;
}

const ownedBy = (object: { metadata?: { ownerReferences?: { uid: string }[] } }, uid: string | undefined) =>
  uid !== undefined && (object.metadata?.ownerReferences ?? []).some((o) => o.uid === uid);

const revisionOf = (rs: V1ReplicaSet) => Number(rs.metadata?.annotations?.['deployment.kubernetes.io/revision'] ?? 0);

/** The first blocked pod's cause, oldest pod first so the message does not flip between replicas. */
function firstBlocked(pods: V1Pod[], view: DetectionView): AnomalyCause | undefined {
  const ordered = [...pods].sort(
    (a, b) =>
      String(a.metadata?.creationTimestamp ?? '').localeCompare(String(b.metadata?.creationTimestamp ?? '')) ||
      (a.metadata?.name ?? '').localeCompare(b.metadata?.name ?? ''),
  );
  for (const pod of ordered) {
    const cause = podBlockedCause(pod, view);
    if (cause) return cause;
  }
  return undefined;
}

/** Why a Deployment lacks replicas: its (or its newest ReplicaSet's) refused creation, else its newest pods. */
export function deploymentCause(deployment: V1Deployment, view: DetectionView): AnomalyCause | undefined {
  const namespace = deployment.metadata?.namespace ?? '';
  const name = deployment.metadata?.name ?? '';
  const uid = deployment.metadata?.uid;
  const sets = view
    .list<V1ReplicaSet>('ReplicaSet', namespace)
    .filter((rs) => ownedBy(rs, uid))
    .sort((a, b) => revisionOf(b) - revisionOf(a));
  const current = sets[0];
  const refused =
    (current && replicaFailure(current, `ReplicaSet ${current.metadata?.name}`, namespace)) ??
    replicaFailure(deployment, `Deployment ${name}`, namespace);
  if (refused) return refused;
  if (!current?.metadata?.uid) return undefined;
  const currentUid = current.metadata.uid;
  return firstBlocked(
    view.list<V1Pod>('Pod', namespace).filter((p) => ownedBy(p, currentUid)),
    view,
  );
}

/** Why a StatefulSet lacks replicas: a refused creation (its Events), else its pods of the update revision. */
export function statefulSetCause(set: V1StatefulSet, view: DetectionView): AnomalyCause | undefined {
  const namespace = set.metadata?.namespace ?? '';
  const name = set.metadata?.name ?? '';
  const refused = failedCreateEvent(view, 'StatefulSet', namespace, name);
  if (refused) return createFailureCause(`StatefulSet ${name}`, namespace, refused.message ?? '');
  const revision = set.status?.updateRevision;
  return firstBlocked(
    view
      .list<V1Pod>('Pod', namespace)
      .filter(
        (p) =>
          ownedBy(p, set.metadata?.uid) && (!revision || p.metadata?.labels?.['controller-revision-hash'] === revision),
      ),
    view,
  );
}

export function daemonSetCause(set: V1DaemonSet, view: DetectionView): AnomalyCause | undefined {
  const namespace = set.metadata?.namespace ?? '';
  const name = set.metadata?.name ?? '';
  const refused = failedCreateEvent(view, 'DaemonSet', namespace, name);
  if (refused) return createFailureCause(`DaemonSet ${name}`, namespace, refused.message ?? '');
  return firstBlocked(
    view.list<V1Pod>('Pod', namespace).filter((p) => ownedBy(p, set.metadata?.uid)),
    view,
  );
}

export function jobCause(job: V1Job, view: DetectionView): AnomalyCause | undefined {
  const namespace = job.metadata?.namespace ?? '';
  const name = job.metadata?.name ?? '';
  const refused = failedCreateEvent(view, 'Job', namespace, name);
  if (refused) return createFailureCause(`Job ${name}`, namespace, refused.message ?? '');
  return firstBlocked(
    view.list<V1Pod>('Pod', namespace).filter((p) => ownedBy(p, job.metadata?.uid)),
    view,
  );
}
