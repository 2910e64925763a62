import type { CoreV1Event, V1Container, V1Node, V1Pod } from '@kubernetes/client-node';
import { parseQuantity } from '../actions/quantity.ts';
import { redactSecrets } from '../analysis/redaction.ts';
import {
  absentWorkloadFacts,
  type KubernetesContext,
  type WorkloadFacts,
  type WorkloadRef,
} from '../analysis/workloadFacts.ts';

/**
 * Turns what was read about a Node (the node, the pods bound to it, the events about it) into the context's text and
 * facts. Pure: the grouping, the arithmetic and the size bound are tested without a cluster; nodeContext.ts reads.
 */

export interface NodeSnapshot {
  readonly ref: WorkloadRef;
  /** Undefined when the node does not exist (any more). */
  readonly node?: V1Node;
  /** Pods whose spec.nodeName is the node, any phase. */
  readonly pods: readonly V1Pod[];
  /** Events whose involved object is the node. */
  readonly events: readonly CoreV1Event[];
  /** Parts that could not be read, said in the text rather than silently missing. */
  readonly notes: readonly string[];
}

export const NodeContextLimits = {
  maxChars: 12_000,
  /** Owner workloads listed; the rest are counted. */
  workloads: 15,
  /** Warning events listed, newest first. */
  events: 10,
  messageChars: 200,
} as const;

export interface NodeConditionFacts {
  readonly type: string;
  readonly status: string;
  readonly reason?: string;
  readonly message?: string;
  readonly lastTransitionTime?: string;
}

export interface NodeTaintFacts {
  readonly key: string;
  readonly value?: string;
  readonly effect: string;
  readonly timeAdded?: string;
}

export interface NodeResourceFacts {
  /** Cores. */
  readonly allocatableCpu?: number;
  readonly requestedCpu: number;
  /** Bytes. */
  readonly allocatableMemory?: number;
  readonly requestedMemory: number;
  readonly allocatablePods?: number;
  readonly pods: number;
}

export interface NodeWorkloadFacts {
  /** `Deployment`, `StatefulSet`, `DaemonSet`, `Job`, `ReplicaSet`, … or `Pod` for a pod with no controller. */
  readonly kind: string;
  readonly namespace: string;
  readonly name: string;
  readonly pods: number;
  readonly notReady: number;
}

export interface NodeFacts {
  readonly name: string;
  readonly ready: 'True' | 'False' | 'Unknown';
  readonly unschedulable: boolean;
  readonly conditions: readonly NodeConditionFacts[];
  /** Conditions other than Ready that are True (MemoryPressure, DiskPressure, PIDPressure, NetworkUnavailable). */
  readonly pressure: readonly string[];
  readonly taints: readonly NodeTaintFacts[];
  readonly resources: NodeResourceFacts;
  /** Largest first (at most NodeContextLimits.workloads); `workloadCount` counts them all. */
  readonly workloads: readonly NodeWorkloadFacts[];
  readonly workloadCount: number;
  /** Running pods on the node that are not Ready, over every workload. */
  readonly notReadyPods: number;
  readonly warningEvents: readonly { readonly reason: string; readonly message: string; readonly at?: string }[];
}

/** The context of a Node: the workload facts' shape (so every rule reads it) plus what is particular to a node. */
export type NodeKubernetesContext = KubernetesContext & {
  readonly facts: WorkloadFacts & { readonly node?: NodeFacts };
};

const isTerminated = (pod: V1Pod) => pod.status?.phase === 'Succeeded' || pod.status?.phase === 'Failed';

const isReady = (pod: V1Pod) => (pod.status?.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True');

const amount = (text: string | undefined): number => (text === undefined ? 0 : (parseQuantity(text) ?? 0));

const sumRequests = (containers: readonly V1Container[] | undefined, resource: string) =>
  (containers ?? []).reduce((total, c) => total + amount(c.resources?.requests?.[resource]), 0);

/** What the scheduler counts for a pod: its containers' requests, or its largest init container if that is more. */
export const podRequest = (pod: V1Pod, resource: 'cpu' | 'memory'): number => {
  const main = sumRequests(pod.spec?.containers, resource);
  const init = Math.max(0, ...(pod.spec?.initContainers ?? []).map((c) => amount(c.resources?.requests?.[resource])));
  return Math.max(main, init) + amount(pod.spec?.overhead?.[resource]);
};

/**
 * The workload a pod belongs to. A ReplicaSet whose name is `<deployment>-<pod-template-hash>` is a Deployment's;
 * a Job named `<cronjob>-<digits>` stays a Job (its CronJob is not certain from the name alone).
 */
export const ownerWorkload = (pod: V1Pod): { kind: string; namespace: string; name: string } => {
  const namespace = pod.metadata?.namespace ?? '';
  const owner = (pod.metadata?.ownerReferences ?? []).find((o) => o.controller) ?? pod.metadata?.ownerReferences?.[0];
  if (!owner) return { kind: 'Pod', namespace, name: pod.metadata?.name ?? '' };
  const hash = pod.metadata?.labels?.['pod-template-hash'];
  if (owner.kind === 'ReplicaSet' && hash && owner.name.endsWith(`-${hash}`)) {
    return { kind: 'Deployment', namespace, name: owner.name.slice(0, -(hash.length + 1)) };
  }
  return { kind: owner.kind, namespace, name: owner.name };
};

const time = (value: Date | string | undefined): string | undefined => {
  if (value === undefined || value === null) return undefined;
  const date = value instanceof Date ? value : new Date(value);
  return Number.isNaN(date.getTime()) ? String(value) : date.toISOString();
};

const clipLine = (text: string, max: number = NodeContextLimits.messageChars) =>
  text.length > max ? `${text.slice(0, max - 1)}…` : text;

const cores = (value: number) => (value < 1 ? `${Math.round(value * 1000)}m` : `${Number(value.toFixed(2))}`);

const bytes = (value: number) => {
  const units = ['B', 'Ki', 'Mi', 'Gi', 'Ti'];
  let v = value;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i += 1;
  }
  return `${Number(v.toFixed(1))}${units[i]}`;
};

const share = (requested: number, allocatable: number | undefined) =>
  allocatable && allocatable > 0 ? ` (${Math.round((requested / allocatable) * 100)}%)` : '';

export function nodeFacts(snapshot: NodeSnapshot): NodeFacts | undefined {
  const { node } = snapshot;
  if (!node) return undefined;
  const conditions: NodeConditionFacts[] = (node.status?.conditions ?? []).map((c) => ({
    type: c.type,
    status: c.status,
    ...(c.reason ? { reason: c.reason } : {}),
    ...(c.message ? { message: clipLine(c.message) } : {}),
    ...(time(c.lastTransitionTime) ? { lastTransitionTime: time(c.lastTransitionTime) } : {}),
  }));
  const readyStatus = conditions.find((c) => c.type === 'Ready')?.status;
  const ready = readyStatus === 'True' || readyStatus === 'False' ? readyStatus : 'Unknown';
  const taints: NodeTaintFacts[] = (node.spec?.taints ?? []).map((t) => ({
    key: t.key,
    ...(t.value ? { value: t.value } : {}),
    effect: t.effect,
    ...(time(t.timeAdded) ? { timeAdded: time(t.timeAdded) } : {}),
  }));
  const active = snapshot.pods.filter((p) => !isTerminated(p));
  const allocatable = node.status?.allocatable ?? {};
  const optional = (text: string | undefined) => (text === undefined ? undefined : parseQuantity(text));
  const allocatableCpu = optional(allocatable.cpu);
  const allocatableMemory = optional(allocatable.memory);
  const allocatablePods = optional(allocatable.pods);
  const resources: NodeResourceFacts = {
    requestedCpu: active.reduce((t, p) => t + podRequest(p, 'cpu'), 0),
    requestedMemory: active.reduce((t, p) => t + podRequest(p, 'memory'), 0),
    pods: active.length,
    ...(allocatableCpu === undefined ? {} : { allocatableCpu }),
    ...(allocatableMemory === undefined ? {} : { allocatableMemory }),
    ...(allocatablePods === undefined ? {} : { allocatablePods }),
  };
  const groups = new Map<string, { kind: string; namespace: string; name: string; pods: number; notReady: number }>();
  for (const pod of active) {
    const owner = ownerWorkload(pod);
    const key = `${owner.kind}/${owner.namespace}/${owner.name}`;
    const group = groups.get(key) ?? { ...owner, pods: 0, notReady: 0 };
    group.pods += 1;
    if (!isReady(pod)) group.notReady += 1;
    groups.set(key, group);
  }
  const workloads = [...groups.values()].sort(
    (a, b) => b.pods - a.pods || `${a.namespace}/${a.name}`.localeCompare(`${b.namespace}/${b.name}`),
  );
  const eventTime = (e: CoreV1Event) =>
    time(e.lastTimestamp ?? e.eventTime ?? e.firstTimestamp ?? e.metadata?.creationTimestamp);
  const warningEvents = snapshot.events
    .filter((e) => e.type === 'Warning')
    .map((e) => ({ reason: e.reason ?? '', message: clipLine(e.message ?? ''), at: eventTime(e) }))
    .sort((a, b) => (b.at ?? '').localeCompare(a.at ?? ''))
    .slice(0, NodeContextLimits.events)
    .map((e) => (e.at === undefined ? { reason: e.reason, message: e.message } : e));
  return {
    name: node.metadata?.name ?? snapshot.ref.name,
    ready,
    unschedulable: node.spec?.unschedulable === true,
    conditions,
    pressure: conditions.filter((c) => c.type !== 'Ready' && c.status === 'True').map((c) => c.type),
    taints,
    resources,
    workloads: workloads.slice(0, NodeContextLimits.workloads),
    workloadCount: workloads.length,
    notReadyPods: workloads.reduce((t, g) => t + g.notReady, 0),
    warningEvents,
  };
}

const conditionLine = (c: NodeConditionFacts) =>
  `- ${c.type}=${c.status}${c.reason ? ` (${c.reason})` : ''}${c.lastTransitionTime ? ` since ${c.lastTransitionTime}` : ''}${c.message ? `: ${c.message}` : ''}`;

const taintLine = (t: NodeTaintFacts) =>
  `- ${t.key}${t.value ? `=${t.value}` : ''}:${t.effect}${t.timeAdded ? ` (added ${t.timeAdded})` : ''}`;

const workloadLine = (w: NodeWorkloadFacts) =>
  `- ${w.kind} ${w.namespace}/${w.name}: ${w.pods} pod${w.pods === 1 ? '' : 's'}${w.notReady > 0 ? `, ${w.notReady} not ready` : ''}`;

/** Renders the node's context. Sections shrink from the end of their lists until the text fits `maxChars`. */
export function renderNodeContext(
  snapshot: NodeSnapshot,
  options: { readonly maxChars?: number } = {},
): NodeKubernetesContext {
  const maxChars = options.maxChars ?? NodeContextLimits.maxChars;
  const { ref } = snapshot;
  const facts = nodeFacts(snapshot);
  const notes = snapshot.notes.map((n) => `- ${clipLine(n)}`);
  if (!facts) {
    const text = [`Node ${ref.name} does not exist.`, ...(notes.length ? ['Notes:', ...notes] : [])].join('\n');
    return { text: redactSecrets(text.slice(0, maxChars)), facts: absentWorkloadFacts(ref) };
  }
  const r = facts.resources;
  const header = [
    `Node ${facts.name}: Ready=${facts.ready}${facts.unschedulable ? ', cordoned (unschedulable)' : ''}${
      facts.pressure.length ? `, under ${facts.pressure.join(', ')}` : ''
    }`,
    'Conditions:',
    ...facts.conditions.map(conditionLine),
    facts.taints.length ? 'Taints:' : 'Taints: none',
    ...facts.taints.map(taintLine),
    'Resources (requested by running pods / allocatable):',
    `- cpu ${cores(r.requestedCpu)} / ${r.allocatableCpu === undefined ? '?' : cores(r.allocatableCpu)}${share(r.requestedCpu, r.allocatableCpu)}`,
    `- memory ${bytes(r.requestedMemory)} / ${r.allocatableMemory === undefined ? '?' : bytes(r.allocatableMemory)}${share(r.requestedMemory, r.allocatableMemory)}`,
    `- pods ${r.pods} / ${r.allocatablePods ?? '?'}`,
  ];
  const workloadLines = facts.workloads.map(workloadLine);
  const eventLines = facts.warningEvents.map((e) => `- ${e.at ?? '?'} ${e.reason}: ${e.message}`);
  const compose = (w: number, e: number) => {
    const shownWorkloads = workloadLines.slice(0, w);
    const hidden = facts.workloadCount - shownWorkloads.length;
    return [
      ...header,
      `Workloads with pods on the node (${facts.workloadCount}, ${r.pods} pods):`,
      ...(shownWorkloads.length ? shownWorkloads : ['- none']),
      ...(hidden > 0 ? [`- … and ${hidden} more`] : []),
      'Recent Warning events about the node:',
      ...(e > 0 ? eventLines.slice(0, e) : ['- none']),
      ...(e < eventLines.length && e > 0 ? [`- … and ${eventLines.length - e} more`] : []),
      ...(notes.length ? ['Notes:', ...notes] : []),
    ].join('\n');
  };
  let w = workloadLines.length;
  let e = eventLines.length;
  let text = compose(w, e);
  while (text.length > maxChars && (w > 1 || e > 1)) {
    if (e >= w && e > 1) e -= 1;
    else w -= 1;
    text = compose(w, e);
  }
  if (text.length > maxChars) {
    const marker = `\n[context cut at ${maxChars} characters]`;
    text = `${text.slice(0, Math.max(0, maxChars - marker.length))}${marker}`;
  }
  return {
    text: redactSecrets(text),
    facts: {
      ...absentWorkloadFacts(ref),
      found: true,
      podCount: r.pods,
      notReadyPods: facts.notReadyPods,
      warningReasons: [...new Set(facts.warningEvents.map((ev) => ev.reason))],
      subject: {
        problems: [
          ...(facts.ready !== 'True' ? [`node ${facts.name} is Ready=${facts.ready}`] : []),
          ...facts.pressure.map((p) => `node ${facts.name} reports ${p}`),
          ...(facts.unschedulable ? [`node ${facts.name} is cordoned (spec.unschedulable)`] : []),
        ],
      },
      node: facts,
    },
  };
}
