import type * as k8s from '@kubernetes/client-node';
import { type Static, Type } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import { parseQuantity } from '../actions/quantity.ts';
import type { chaosFaults } from '../adapters/kubernetes/api/chaosExperiment.kind.ts';
import { markImage } from '../cluster/faults.ts';
import { FaultMarks } from '../cluster/stages.ts';

/**
 * The pure half of the chaos fault injector: which faults exist, what a plan for one looks like, and the JSON
 * patches that put a fault in place or take it back, computed from objects already read. Nothing here talks to the
 * API server, so every decision (what to refuse, what a revert may touch) is testable on plain objects.
 */

export const ChaosWorkloadKinds = ['Deployment', 'StatefulSet', 'DaemonSet'] as const;
export type ChaosWorkloadKind = (typeof ChaosWorkloadKinds)[number];
export type ChaosTargetKind = ChaosWorkloadKind | 'Node';

/** Where a fault lands: some pods of a workload, the workload's pod template or spec, or a node. */
export type FaultScope = 'pods' | 'workload' | 'node';

interface FaultTypeInfo {
  readonly scope: FaultScope;
  /** The kinds it can target. */
  readonly targetKinds: readonly ChaosTargetKind[];
  /** Only KWOK's simulated kubelet turns the trigger into the symptom; on a real node it would do nothing. */
  readonly simulatedOnly: boolean;
  /** False for faults Cairn refuses to fake (they need an agent in the pod's network namespace). */
  readonly injectable: boolean;
  /** What the target shows while the fault is in place. */
  readonly shows: string;
}

type ChaosFaultName = (typeof chaosFaults)[number];

const workloads = ChaosWorkloadKinds;

export const chaosFaultTypes = {
  pod_kill: {
    scope: 'pods',
    targetKinds: workloads,
    simulatedOnly: false,
    injectable: true,
    shows:
      'the chosen pods are deleted and their controller replaces them; the workload is short of ready pods meanwhile',
  },
  pod_not_ready: {
    scope: 'pods',
    targetKinds: workloads,
    simulatedOnly: true,
    injectable: true,
    shows: 'the chosen pods keep running but fail their readiness probe (Ready=False); the workload loses availability',
  },
  crashloop: {
    scope: 'workload',
    targetKinds: workloads,
    simulatedOnly: true,
    injectable: true,
    shows: 'a rollout whose new pods exit with status 1 on start and wait in CrashLoopBackOff',
  },
  image_pull: {
    scope: 'workload',
    targetKinds: workloads,
    simulatedOnly: false,
    injectable: true,
    shows: 'a rollout whose new pods stay Pending in ErrImagePull / ImagePullBackOff (the image tag does not exist)',
  },
  oom_kill: {
    scope: 'workload',
    targetKinds: workloads,
    simulatedOnly: true,
    injectable: true,
    shows: 'a rollout whose new pods need twice their memory limit: OOMKilled (exit 137), then CrashLoopBackOff',
  },
  missing_config: {
    scope: 'workload',
    targetKinds: workloads,
    simulatedOnly: false,
    injectable: true,
    shows: 'a rollout whose new pods read a ConfigMap that does not exist and wait in CreateContainerConfigError',
  },
  scale_to_zero: {
    scope: 'workload',
    targetKinds: ['Deployment', 'StatefulSet'],
    simulatedOnly: false,
    injectable: true,
    shows: 'the workload scaled to 0 replicas: no pods serve',
  },
  node_not_ready: {
    scope: 'node',
    targetKinds: ['Node'],
    simulatedOnly: true,
    injectable: true,
    shows: 'the node stops reporting Ready (Ready=False, NodeNotReady) and the node lifecycle controller taints it',
  },
  disk_pressure: {
    scope: 'node',
    targetKinds: ['Node'],
    simulatedOnly: true,
    injectable: true,
    shows: 'the node reports DiskPressure=True and is tainted so nothing new is scheduled there',
  },
  memory_pressure: {
    scope: 'node',
    targetKinds: ['Node'],
    simulatedOnly: true,
    injectable: true,
    shows: 'the node reports MemoryPressure=True and is tainted so nothing new is scheduled there',
  },
  network_latency: {
    scope: 'pods',
    targetKinds: workloads,
    simulatedOnly: false,
    injectable: false,
    shows: 'never injected: delay needs a tc/netem agent in the pod network namespace, which Cairn does not run',
  },
  packet_loss: {
    scope: 'pods',
    targetKinds: workloads,
    simulatedOnly: false,
    injectable: false,
    shows: 'never injected: loss needs a tc/netem agent in the pod network namespace, which Cairn does not run',
  },
  // Exactly the faults the ChaosExperiment schema accepts: a name added to one list and not the other does not compile.
} as const satisfies Record<ChaosFaultName, FaultTypeInfo>;

export type ChaosFaultType = keyof typeof chaosFaultTypes;
export const chaosFaultTypeNames = Object.keys(chaosFaultTypes) as ChaosFaultType[];
export const isChaosFaultType = (name: string): name is ChaosFaultType => Object.hasOwn(chaosFaultTypes, name);

export interface ChaosTarget {
  readonly kind: ChaosTargetKind;
  /** Required for workloads; a Node has none. */
  readonly namespace?: string;
  readonly name: string;
}

export interface FaultRequest {
  readonly type: ChaosFaultType;
  readonly target: ChaosTarget;
  /** Pods affected, for the pod-scoped faults (pod_kill, pod_not_ready); ignored by the others. */
  readonly count: number;
}

/** The most pods one request may reach: a typo (300 for 3) is refused rather than obeyed. */
export const MaxChaosPods = 100;
/** What a container without a memory limit gets for oom_kill (unless its request is larger). */
export const DefaultOomLimit = '128Mi';
/** The label value the pod and node faults set. */
const On = 'true';

// --- The plan: recorded in an event before any change is made, so it must hold all a revert needs -------------

const Name = Type.String({ minLength: 1, maxLength: 253 });
const Uid = Type.String({ minLength: 1, maxLength: 64 });
const LabelKey = Type.String({ minLength: 1, maxLength: 317 });
const Short = Type.String({ maxLength: 1024 });

/**
 * One change the fault makes, with the value it writes and what was there before: inject writes `to` where it
 * still finds `from`, revert writes `from` back only where it still finds `to`. A change someone made since (a
 * rollback by Cairn, a scale-up by a person) is never undone.
 */
export const UndoStepSchema = Type.Union([
  /** pod_kill: the pod, by uid so a StatefulSet's replacement of the same name is never killed again. */
  Type.Object({ step: Type.Literal('deletePod'), pod: Name, uid: Uid }, { additionalProperties: false }),
  /** pod_not_ready: a label on one pod. */
  Type.Object(
    { step: Type.Literal('podLabel'), pod: Name, uid: Uid, key: LabelKey, value: Short },
    { additionalProperties: false },
  ),
  /** crashloop, image_pull: one container's image in the pod template. */
  Type.Object(
    { step: Type.Literal('image'), container: Name, from: Short, to: Short },
    { additionalProperties: false },
  ),
  /** scale_to_zero. */
  Type.Object(
    { step: Type.Literal('replicas'), from: Type.Integer({ minimum: 1 }), to: Type.Literal(0) },
    { additionalProperties: false },
  ),
  /** oom_kill, missing_config: an annotation on the pod template, absent before. */
  Type.Object(
    { step: Type.Literal('templateAnnotation'), key: LabelKey, value: Short },
    { additionalProperties: false },
  ),
  /** oom_kill: a memory limit given to a container that had none. */
  Type.Object({ step: Type.Literal('memoryLimit'), container: Name, value: Short }, { additionalProperties: false }),
  /** missing_config: an envFrom configMapRef appended to one container. */
  Type.Object({ step: Type.Literal('envFrom'), container: Name, configMap: Name }, { additionalProperties: false }),
  /** node faults: a label on the node, absent before. */
  Type.Object({ step: Type.Literal('nodeLabel'), key: LabelKey, value: Short }, { additionalProperties: false }),
]);
export type UndoStep = Static<typeof UndoStepSchema>;

export const InjectionPlanSchema = Type.Object(
  {
    version: Type.Literal(1),
    type: Type.Union(chaosFaultTypeNames.map((t) => Type.Literal(t))),
    target: Type.Object(
      {
        kind: Type.Union([...ChaosWorkloadKinds, 'Node' as const].map((k) => Type.Literal(k))),
        namespace: Type.Optional(Name),
        name: Name,
      },
      { additionalProperties: false },
    ),
    /** The object the plan was made for: a target deleted and created again under its name is another object. */
    targetUid: Uid,
    /** One line for people: what the fault does to what. */
    summary: Type.String({ maxLength: 2048 }),
    /** The pods a pod fault picked (empty for the others). */
    pods: Type.Array(Name, { maxItems: MaxChaosPods }),
    undo: Type.Array(UndoStepSchema, { maxItems: 4 * MaxChaosPods }),
  },
  { additionalProperties: false },
);

/** JSON-serialisable; see UndoStep for how inject and revert read it. */
export type InjectionPlan = Static<typeof InjectionPlanSchema>;

export type PlanOutcome = { ok: true; plan: InjectionPlan } | { ok: false; code: PlanRefusalCode; message: string };

export const PlanRefusal = {
  /** The request itself is malformed (unknown type, count out of range, a workload without a namespace). */
  InvalidRequest: 'invalid_request',
  TargetMissing: 'target_missing',
  WrongTargetKind: 'wrong_target_kind',
  /** network_latency, packet_loss. */
  NotInjectable: 'not_injectable',
  /** A simulated-only fault on a target that runs on real kubelets. */
  UnsupportedHere: 'unsupported_here',
  NoPods: 'no_pods',
  /** missing_config: the ConfigMap it would reference exists. */
  ConfigExists: 'config_exists',
  /** The target already carries this fault's trigger (from another experiment, or by hand). */
  AlreadyFaulted: 'already_faulted',
} as const;
export type PlanRefusalCode = (typeof PlanRefusal)[keyof typeof PlanRefusal];

/** Whether `value` is a plan this version can act on; the message names the first thing wrong. */
export const checkInjectionPlan = (
  value: unknown,
): { ok: true; plan: InjectionPlan } | { ok: false; message: string } => {
  if (!Value.Check(InjectionPlanSchema, value)) {
    const first = Value.Errors(InjectionPlanSchema, value).First();
    return { ok: false, message: first ? `${first.path || '/'}: ${first.message}` : 'not an injection plan' };
  }
  // Well formed is not enough: the steps must be the ones its fault makes, on a target it can have.
  const info: FaultTypeInfo = chaosFaultTypes[value.type];
  if (!info.injectable) return { ok: false, message: `${value.type} is never injected` };
  if (!info.targetKinds.includes(value.target.kind)) {
    return { ok: false, message: `${value.type} does not target a ${value.target.kind}` };
  }
  if (value.target.kind !== 'Node' && value.target.namespace === undefined) {
    return { ok: false, message: `/target/namespace: a ${value.target.kind} needs one` };
  }
  const allowed: readonly UndoStep['step'][] = stepsOf[value.type];
  const stray = value.undo.find((step) => !allowed.includes(step.step));
  if (stray) return { ok: false, message: `${value.type} makes no ${stray.step} change` };
  return { ok: true, plan: value };
};

/** The changes each fault makes. */
const stepsOf: Record<ChaosFaultType, readonly UndoStep['step'][]> = {
  pod_kill: ['deletePod'],
  pod_not_ready: ['podLabel'],
  crashloop: ['image'],
  image_pull: ['image'],
  oom_kill: ['templateAnnotation', 'memoryLimit'],
  missing_config: ['templateAnnotation', 'envFrom'],
  scale_to_zero: ['replicas'],
  node_not_ready: ['nodeLabel'],
  disk_pressure: ['nodeLabel'],
  memory_pressure: ['nodeLabel'],
  network_latency: [],
  packet_loss: [],
};

// --- Reading the request ------------------------------------------------------------------------------------

const dnsLabel = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const dnsSubdomain = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

/** A request's own mistakes, before anything is read: undefined when it is well formed. */
export const requestProblem = (request: FaultRequest): { code: PlanRefusalCode; message: string } | undefined => {
  const invalid = (message: string) => ({ code: PlanRefusal.InvalidRequest, message });
  if (typeof request !== 'object' || request === null) return invalid('a fault request must be an object');
  const type = (request as { type?: unknown }).type;
  if (typeof type !== 'string' || !isChaosFaultType(type)) {
    return invalid(`unknown fault type "${String(type)}"; known: ${chaosFaultTypeNames.join(', ')}`);
  }
  const info: FaultTypeInfo = chaosFaultTypes[type];
  if (!info.injectable) {
    return {
      code: PlanRefusal.NotInjectable,
      message: `${type} needs a network fault agent (tc/netem) in the pod's network namespace, which Cairn does not run; it is refused rather than faked`,
    };
  }
  const target = request.target as Partial<ChaosTarget> | undefined;
  if (!target || typeof target.name !== 'string' || target.name.length > 253 || !dnsSubdomain.test(target.name)) {
    return invalid(`target.name must be a Kubernetes object name, got "${String(target?.name)}"`);
  }
  if (!info.targetKinds.includes(target.kind as ChaosTargetKind)) {
    return {
      code: PlanRefusal.WrongTargetKind,
      message: `${type} targets ${info.targetKinds.join(' or ')}, not ${String(target.kind)}`,
    };
  }
  if (target.kind !== 'Node') {
    if (typeof target.namespace !== 'string' || target.namespace.length > 63 || !dnsLabel.test(target.namespace)) {
      return invalid(
        `target.namespace must be a namespace name for a ${target.kind}, got "${String(target.namespace)}"`,
      );
    }
  }
  if (
    info.scope === 'pods' &&
    (!Number.isInteger(request.count) || request.count < 1 || request.count > MaxChaosPods)
  ) {
    return invalid(`count must be a whole number of pods from 1 to ${MaxChaosPods}, got ${String(request.count)}`);
  }
  return undefined;
};

export const displayTarget = (target: ChaosTarget): string =>
  target.kind === 'Node' ? `Node ${target.name}` : `${target.kind} ${target.namespace}/${target.name}`;

// --- Simulated or real --------------------------------------------------------------------------------------

/** The annotation KWOK manages its fake nodes by. */
export const KwokNodeAnnotation = 'kwok.x-k8s.io/node';
export const isKwokNode = (node: k8s.V1Node): boolean => node.metadata?.annotations?.[KwokNodeAnnotation] === 'fake';

/**
 * Whether the target's pods run on KWOK's simulated kubelets: every node its pods are bound to is a KWOK node.
 * With no pod bound yet, the cluster's nodes decide (all of them KWOK). A pod bound to a node that is gone counts
 * as real: nothing can be said for it.
 */
export const runsSimulated = (
  pods: readonly k8s.V1Pod[],
  nodes: ReadonlyMap<string, k8s.V1Node | undefined>,
  allNodes: readonly k8s.V1Node[],
): boolean => {
  const bound = [...new Set(pods.map((p) => p.spec?.nodeName).filter((n): n is string => !!n))];
  if (bound.length > 0)
    return bound.every((name) => {
      const node = nodes.get(name);
      return node !== undefined && isKwokNode(node);
    });
  return allNodes.length > 0 && allNodes.every(isKwokNode);
};

// --- Pods ---------------------------------------------------------------------------------------------------

const isLive = (pod: k8s.V1Pod) => pod.metadata?.deletionTimestamp == null;
export const isReadyPod = (pod: k8s.V1Pod) =>
  pod.status?.phase === 'Running' &&
  (pod.status.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True');

/**
 * The pods a pod fault takes, in a repeatable order: ready ones first (a fault on a pod that is already down shows
 * nothing), then the oldest, then by name.
 */
export const choosePods = (pods: readonly k8s.V1Pod[], count: number): k8s.V1Pod[] =>
  pods
    .filter(isLive)
    .filter((p) => p.metadata?.name && p.metadata.uid)
    .sort(
      (a, b) =>
        Number(isReadyPod(b)) - Number(isReadyPod(a)) ||
        new Date(a.metadata?.creationTimestamp ?? 0).getTime() -
          new Date(b.metadata?.creationTimestamp ?? 0).getTime() ||
        (a.metadata?.name ?? '').localeCompare(b.metadata?.name ?? ''),
    )
    .slice(0, count);

// --- Planning from what was read ----------------------------------------------------------------------------

/** A workload as far as the faults care: the typed models of Deployment, StatefulSet and DaemonSet all fit. */
export interface WorkloadObject {
  readonly metadata?: k8s.V1ObjectMeta;
  readonly spec?: { readonly replicas?: number; readonly template: k8s.V1PodTemplateSpec };
}

export interface PlanInputs {
  readonly request: FaultRequest;
  /** The target as read; undefined when it does not exist. */
  readonly workload?: WorkloadObject;
  readonly node?: k8s.V1Node;
  /** The workload's live pods. */
  readonly pods: readonly k8s.V1Pod[];
  /** Whether the target runs on simulated kubelets (see runsSimulated). */
  readonly simulated: boolean;
  /** missing_config: whether the ConfigMap it would name exists. */
  readonly configMapExists?: boolean;
}

type Refusal = { ok: false; code: PlanRefusalCode; message: string };
const refuse = (code: PlanRefusalCode, message: string): Refusal => ({ ok: false, code, message });

/**
 * The image reference with the fault's mark in its tag. A pinned digest is dropped (`web@sha256:…` becomes
 * `web:nonexistent`): a tag after a digest is no valid reference, and a real kubelet would then report
 * InvalidImageName instead of the fault's own symptom. The plan keeps the original to put back.
 */
export const markedImage = (image: string, mark: string): string => {
  const at = image.indexOf('@');
  return markImage(at < 0 ? image : image.slice(0, at), mark);
};

/** The ConfigMap missing_config points the containers at; it must not exist. */
export const missingConfigName = (workload: string): string => `${workload}-chaos-missing`;

/** The memory quantities KWOK's OOM stage can compare (a number with an optional K/M/G/T suffix). */
const stageQuantity = /^[0-9.]+([KMGT]i?)?$/;
const MiB = 2 ** 20;

/** Decides the plan for a request from what was read. The request must have passed requestProblem. */
export function planFault(inputs: PlanInputs): PlanOutcome {
  const { request } = inputs;
  const problem = requestProblem(request);
  if (problem) return { ok: false, ...problem };
  const { type, target } = request;
  const info: FaultTypeInfo = chaosFaultTypes[type];
  const where = displayTarget(target);
  const object = target.kind === 'Node' ? inputs.node : inputs.workload;
  const uid = object?.metadata?.uid;
  if (!object || !uid) return refuse(PlanRefusal.TargetMissing, `${where} does not exist`);
  if (info.simulatedOnly && !inputs.simulated) {
    return refuse(
      PlanRefusal.UnsupportedHere,
      `${type} only shows on KWOK's simulated kubelet, and ${where} runs on real nodes: on them the trigger would change nothing`,
    );
  }
  const plan = (summary: string, undo: UndoStep[], pods: string[] = []): PlanOutcome => ({
    ok: true,
    plan: { version: 1, type, target: { ...target }, targetUid: uid, summary, pods, undo },
  });

  if (target.kind === 'Node') {
    const labels = inputs.node?.metadata?.labels ?? {};
    const key = type === 'node_not_ready' ? FaultMarks.nodeDown : FaultMarks.nodePressure;
    const value = type === 'node_not_ready' ? On : type === 'disk_pressure' ? 'disk' : 'memory';
    if (labels[key] !== undefined) {
      return refuse(PlanRefusal.AlreadyFaulted, `${where} already carries the fault label ${key}=${labels[key]}`);
    }
    const what = type === 'node_not_ready' ? 'stops reporting Ready' : `reports ${value} pressure`;
    return plan(`${where} ${what} (label ${key}=${value})`, [{ step: 'nodeLabel', key, value }]);
  }

  const workload = inputs.workload as WorkloadObject;
  const template = workload.spec?.template;
  const containers = template?.spec?.containers ?? [];
  const annotations = template?.metadata?.annotations ?? {};

  switch (type) {
    case 'pod_kill':
    case 'pod_not_ready': {
      const candidates =
        type === 'pod_not_ready'
          ? inputs.pods.filter((p) => p.metadata?.labels?.[FaultMarks.wedged] === undefined)
          : inputs.pods;
      const chosen = choosePods(candidates, request.count);
      if (chosen.length === 0) {
        return refuse(
          PlanRefusal.NoPods,
          type === 'pod_not_ready' && inputs.pods.some(isLive)
            ? `every pod of ${where} is already wedged`
            : `${where} has no running pods to ${type === 'pod_kill' ? 'kill' : 'wedge'}`,
        );
      }
      const names = chosen.map((p) => p.metadata?.name as string);
      const short = chosen.length < request.count ? ` (${request.count} asked, ${chosen.length} there)` : '';
      if (type === 'pod_kill') {
        return plan(
          `delete ${names.length} pod(s) of ${where}: ${names.join(', ')}${short}`,
          chosen.map((p) => ({ step: 'deletePod', pod: p.metadata?.name as string, uid: p.metadata?.uid as string })),
          names,
        );
      }
      return plan(
        `wedge ${names.length} pod(s) of ${where} so readiness fails: ${names.join(', ')}${short}`,
        chosen.map((p) => ({
          step: 'podLabel',
          pod: p.metadata?.name as string,
          uid: p.metadata?.uid as string,
          key: FaultMarks.wedged,
          value: On,
        })),
        names,
      );
    }
    case 'crashloop':
    case 'image_pull': {
      const mark = type === 'crashloop' ? FaultMarks.crashImage : FaultMarks.missingImage;
      if (containers.length === 0) return refuse(PlanRefusal.TargetMissing, `${where} has no containers`);
      const marked = containers.find((c) => (c.image ?? '').includes(mark));
      if (marked) {
        return refuse(PlanRefusal.AlreadyFaulted, `container ${marked.name} of ${where} already runs ${marked.image}`);
      }
      const steps: UndoStep[] = containers.map((c) => ({
        step: 'image',
        container: c.name,
        from: c.image ?? '',
        to: markedImage(c.image ?? '', mark),
      }));
      const images = steps.map((s) => (s.step === 'image' ? s.to : '')).join(', ');
      return plan(
        `roll out ${where} with ${type === 'crashloop' ? 'crashing' : 'unpullable'} image(s) ${images}`,
        steps,
      );
    }
    case 'oom_kill': {
      if (annotations[FaultMarks.workingSet] !== undefined) {
        return refuse(
          PlanRefusal.AlreadyFaulted,
          `${where} already declares a working set (${FaultMarks.workingSet}=${annotations[FaultMarks.workingSet]})`,
        );
      }
      if (containers.length === 0) return refuse(PlanRefusal.TargetMissing, `${where} has no containers`);
      const steps: UndoStep[] = [];
      const limits: number[] = [];
      for (const c of containers) {
        const limit = c.resources?.limits?.memory;
        if (limit !== undefined) {
          const bytes = parseQuantity(limit);
          if (bytes === undefined || !stageQuantity.test(limit)) {
            return refuse(
              PlanRefusal.UnsupportedHere,
              `container ${c.name} of ${where} has a memory limit (${limit}) the simulated kubelet cannot compare`,
            );
          }
          limits.push(bytes);
          continue;
        }
        // A limit below the request is invalid: a container asking for more than the default gets its request.
        const request = parseQuantity(c.resources?.requests?.memory ?? '') ?? 0;
        const value =
          request > (parseQuantity(DefaultOomLimit) ?? 0) ? `${Math.ceil(request / MiB)}Mi` : DefaultOomLimit;
        steps.push({ step: 'memoryLimit', container: c.name, value });
        limits.push(parseQuantity(value) ?? 0);
      }
      const need = `${Math.ceil((2 * Math.max(...limits)) / MiB)}Mi`;
      steps.unshift({ step: 'templateAnnotation', key: FaultMarks.workingSet, value: need });
      const added = steps.filter((s) => s.step === 'memoryLimit').length;
      return plan(
        `roll out ${where} needing ${need} of memory, twice its largest limit${added > 0 ? ` (${added} container(s) given a limit first)` : ''}`,
        steps,
      );
    }
    case 'missing_config': {
      const configMap = missingConfigName(target.name);
      if (configMap.length > 253)
        return refuse(PlanRefusal.InvalidRequest, `${where} has too long a name for ${configMap}`);
      if (annotations[FaultMarks.missingConfig] !== undefined) {
        return refuse(
          PlanRefusal.AlreadyFaulted,
          `${where} already reads a missing ConfigMap (${FaultMarks.missingConfig}=${annotations[FaultMarks.missingConfig]})`,
        );
      }
      if (inputs.configMapExists) {
        return refuse(
          PlanRefusal.ConfigExists,
          `ConfigMap ${target.namespace}/${configMap} exists; missing_config needs a name that does not`,
        );
      }
      if (containers.length === 0) return refuse(PlanRefusal.TargetMissing, `${where} has no containers`);
      return plan(`roll out ${where} reading its environment from ConfigMap ${configMap}, which does not exist`, [
        { step: 'templateAnnotation', key: FaultMarks.missingConfig, value: configMap },
        ...containers.map((c): UndoStep => ({ step: 'envFrom', container: c.name, configMap })),
      ]);
    }
    case 'scale_to_zero': {
      const replicas = workload.spec?.replicas ?? 1;
      if (replicas === 0) return refuse(PlanRefusal.AlreadyFaulted, `${where} already has 0 replicas`);
      return plan(`scale ${where} from ${replicas} to 0 replicas`, [{ step: 'replicas', from: replicas, to: 0 }]);
    }
    default:
      return refuse(PlanRefusal.WrongTargetKind, `${type} does not apply to ${where}`);
  }
}

// --- JSON patches -------------------------------------------------------------------------------------------

export type JsonPatchOp =
  | { op: 'test' | 'add' | 'replace'; path: string; value: unknown }
  | { op: 'remove'; path: string };

/** A JSON Pointer segment: `/` and `~` are escaped. */
export const pointer = (segment: string | number): string =>
  String(segment).replaceAll('~', '~0').replaceAll('/', '~1');

/** Where a step stands on the object now. */
export type StepState = 'applied' | 'notApplied' | 'changed';

export interface StepReading {
  readonly step: UndoStep;
  readonly state: StepState;
  /** What is there now, for the summary of a step left alone. */
  readonly now: string;
}

export interface PatchPlan {
  readonly ops: JsonPatchOp[];
  readonly readings: StepReading[];
}

interface TemplateView {
  readonly templatePath: string;
  readonly template?: k8s.V1PodTemplateSpec;
  readonly replicas?: number;
}

const containerAt = (view: TemplateView, name: string) => {
  const containers = view.template?.spec?.containers ?? [];
  const index = containers.findIndex((c) => c.name === name);
  return index < 0 ? undefined : { index, container: containers[index] as k8s.V1Container };
};

const envFromIndex = (container: k8s.V1Container, configMap: string) =>
  (container.envFrom ?? []).findIndex((e) => e.configMapRef?.name === configMap);

/** How a step reads on the workload now. */
export const readStep = (view: TemplateView, step: UndoStep): StepReading => {
  const reading = (state: StepState, now: string) => ({ step, state, now });
  switch (step.step) {
    case 'image': {
      const found = containerAt(view, step.container);
      const image = found?.container.image;
      if (image === undefined) return reading('changed', `container ${step.container} is gone`);
      return reading(image === step.to ? 'applied' : image === step.from ? 'notApplied' : 'changed', image);
    }
    case 'replicas': {
      const replicas = view.replicas ?? 1;
      return reading(replicas === 0 ? 'applied' : replicas === step.from ? 'notApplied' : 'changed', String(replicas));
    }
    case 'templateAnnotation': {
      const value = view.template?.metadata?.annotations?.[step.key];
      return reading(
        value === step.value ? 'applied' : value === undefined ? 'notApplied' : 'changed',
        value ?? '(none)',
      );
    }
    case 'memoryLimit': {
      const found = containerAt(view, step.container);
      if (!found) return reading('changed', `container ${step.container} is gone`);
      const limit = found.container.resources?.limits?.memory;
      return reading(
        limit === step.value ? 'applied' : limit === undefined ? 'notApplied' : 'changed',
        limit ?? '(none)',
      );
    }
    case 'envFrom': {
      const found = containerAt(view, step.container);
      if (!found) return reading('changed', `container ${step.container} is gone`);
      return envFromIndex(found.container, step.configMap) >= 0
        ? reading('applied', step.configMap)
        : reading('notApplied', '(none)');
    }
    default:
      throw new Error(`${step.step} is not a workload change`);
  }
};

/**
 * The patch that puts the workload steps in place where they are not yet: every write is preceded by a `test` of
 * the value it expects, so a concurrent change makes the whole patch fail rather than be overwritten.
 */
export const injectPatch = (view: TemplateView, steps: readonly UndoStep[], resourceVersion: string): PatchPlan => {
  const readings = steps.map((step) => readStep(view, step));
  const ops: JsonPatchOp[] = [];
  const t = view.templatePath;
  let annotationsAdded = false;
  for (const { step, state } of readings) {
    if (state !== 'notApplied') continue;
    switch (step.step) {
      case 'image': {
        const { index } = containerAt(view, step.container) as { index: number };
        const path = `${t}/spec/containers/${index}`;
        ops.push({ op: 'test', path: `${path}/name`, value: step.container });
        ops.push({ op: 'test', path: `${path}/image`, value: step.from });
        ops.push({ op: 'replace', path: `${path}/image`, value: step.to });
        break;
      }
      case 'replicas':
        ops.push({ op: 'test', path: '/spec/replicas', value: step.from });
        ops.push({ op: 'replace', path: '/spec/replicas', value: 0 });
        break;
      case 'templateAnnotation':
        if (!view.template?.metadata?.annotations && !annotationsAdded) {
          ops.push({ op: 'add', path: `${t}/metadata/annotations`, value: {} });
          annotationsAdded = true;
        }
        ops.push({ op: 'add', path: `${t}/metadata/annotations/${pointer(step.key)}`, value: step.value });
        break;
      case 'memoryLimit': {
        const { index, container } = containerAt(view, step.container) as {
          index: number;
          container: k8s.V1Container;
        };
        const path = `${t}/spec/containers/${index}`;
        ops.push({ op: 'test', path: `${path}/name`, value: step.container });
        if (!container.resources)
          ops.push({ op: 'add', path: `${path}/resources`, value: { limits: { memory: step.value } } });
        else if (!container.resources.limits) {
          ops.push({ op: 'add', path: `${path}/resources/limits`, value: { memory: step.value } });
        } else ops.push({ op: 'add', path: `${path}/resources/limits/memory`, value: step.value });
        break;
      }
      case 'envFrom': {
        const { index, container } = containerAt(view, step.container) as {
          index: number;
          container: k8s.V1Container;
        };
        const path = `${t}/spec/containers/${index}`;
        const ref = { configMapRef: { name: step.configMap } };
        ops.push({ op: 'test', path: `${path}/name`, value: step.container });
        ops.push(
          container.envFrom
            ? { op: 'add', path: `${path}/envFrom/-`, value: ref }
            : { op: 'add', path: `${path}/envFrom`, value: [ref] },
        );
        break;
      }
    }
  }
  // Adding a map or list where none was read is only safe if nothing changed since the read.
  if (ops.length > 0) ops.unshift({ op: 'test', path: '/metadata/resourceVersion', value: resourceVersion });
  return { ops, readings };
};

/** The patch that takes back the workload steps still as the fault left them; the others are left alone. */
export const revertPatch = (view: TemplateView, steps: readonly UndoStep[]): PatchPlan => {
  const readings = steps.map((step) => readStep(view, step));
  const ops: JsonPatchOp[] = [];
  const t = view.templatePath;
  for (const { step, state } of readings) {
    if (state !== 'applied') continue;
    switch (step.step) {
      case 'image': {
        const { index } = containerAt(view, step.container) as { index: number };
        const path = `${t}/spec/containers/${index}`;
        ops.push({ op: 'test', path: `${path}/name`, value: step.container });
        ops.push({ op: 'test', path: `${path}/image`, value: step.to });
        ops.push({ op: 'replace', path: `${path}/image`, value: step.from });
        break;
      }
      case 'replicas':
        ops.push({ op: 'test', path: '/spec/replicas', value: 0 });
        ops.push({ op: 'replace', path: '/spec/replicas', value: step.from });
        break;
      case 'templateAnnotation': {
        const path = `${t}/metadata/annotations/${pointer(step.key)}`;
        ops.push({ op: 'test', path, value: step.value });
        ops.push({ op: 'remove', path });
        break;
      }
      case 'memoryLimit': {
        const { index } = containerAt(view, step.container) as { index: number };
        const path = `${t}/spec/containers/${index}`;
        ops.push({ op: 'test', path: `${path}/name`, value: step.container });
        ops.push({ op: 'test', path: `${path}/resources/limits/memory`, value: step.value });
        ops.push({ op: 'remove', path: `${path}/resources/limits/memory` });
        break;
      }
      case 'envFrom': {
        const { index, container } = containerAt(view, step.container) as {
          index: number;
          container: k8s.V1Container;
        };
        const path = `${t}/spec/containers/${index}`;
        const entry = envFromIndex(container, step.configMap);
        ops.push({ op: 'test', path: `${path}/name`, value: step.container });
        ops.push({ op: 'test', path: `${path}/envFrom/${entry}/configMapRef/name`, value: step.configMap });
        ops.push({ op: 'remove', path: `${path}/envFrom/${entry}` });
        break;
      }
    }
  }
  return { ops, readings };
};

/**
 * Whether a pod was made from the faulted template: its own spec still shows one of the template steps. Such a
 * pod, not ready, is what an ordered StatefulSet rollout waits on forever after the template is put back.
 */
export const podCarriesFault = (pod: k8s.V1Pod, steps: readonly UndoStep[]): boolean =>
  steps.some((step) => {
    const containers = pod.spec?.containers ?? [];
    switch (step.step) {
      case 'image':
        return containers.some((c) => c.name === step.container && c.image === step.to);
      case 'templateAnnotation':
        return pod.metadata?.annotations?.[step.key] === step.value;
      case 'envFrom':
        return containers.some((c) => c.name === step.container && envFromIndex(c, step.configMap) >= 0);
      default:
        return false;
    }
  });

/** Says what a step is, for summaries. */
export const describeStep = (step: UndoStep): string => {
  switch (step.step) {
    case 'deletePod':
      return `pod ${step.pod}`;
    case 'podLabel':
      return `label ${step.key} on pod ${step.pod}`;
    case 'image':
      return `image of container ${step.container}`;
    case 'replicas':
      return 'replicas';
    case 'templateAnnotation':
      return `template annotation ${step.key}`;
    case 'memoryLimit':
      return `memory limit of container ${step.container}`;
    case 'envFrom':
      return `envFrom ConfigMap ${step.configMap} of container ${step.container}`;
    case 'nodeLabel':
      return `node label ${step.key}`;
  }
};

/** What restoring a step writes back, for summaries. */
export const restoredTo = (step: UndoStep): string => {
  switch (step.step) {
    case 'image':
      return `${describeStep(step)} back to ${step.from}`;
    case 'replicas':
      return `replicas back to ${step.from}`;
    default:
      return `${describeStep(step)} removed`;
  }
};

// --- Health -------------------------------------------------------------------------------------------------

export interface TargetHealth {
  readonly exists: boolean;
  /** Replicas (or scheduled daemon pods) wanted; 1 for a Node. */
  readonly desired: number;
  /** Of them, available now (Ready for a Node). */
  readonly ready: number;
  readonly healthy: boolean;
  /** What is missing, e.g. "1 of 3 replicas available"; "healthy" when nothing is. */
  readonly detail: string;
  /** Its pods' nodes (or the node itself) are KWOK nodes. */
  readonly simulated: boolean;
}

const stale = (metadata: k8s.V1ObjectMeta | undefined, observed: number | undefined) =>
  (observed ?? 0) < (metadata?.generation ?? 0);

type HealthFacts = Omit<TargetHealth, 'simulated' | 'exists'>;

export const deploymentHealth = (d: k8s.V1Deployment): HealthFacts => {
  const desired = d.spec?.replicas ?? 1;
  const s = d.status ?? {};
  const available = s.availableReplicas ?? 0;
  const result = (detail?: string) => ({
    desired,
    ready: available,
    healthy: detail === undefined,
    detail: detail ?? 'healthy',
  });
  if (stale(d.metadata, s.observedGeneration))
    return result('its latest change is not yet observed by the Deployment controller');
  if ((s.updatedReplicas ?? 0) < desired)
    return result(`${s.updatedReplicas ?? 0} of ${desired} replicas updated to the current template`);
  if (available < desired) return result(`${available} of ${desired} replicas available`);
  if ((s.unavailableReplicas ?? 0) > 0) return result(`${s.unavailableReplicas} replica(s) unavailable`);
  if ((s.replicas ?? 0) > desired) return result(`${(s.replicas ?? 0) - desired} old replica(s) still running`);
  return result();
};

export const statefulSetHealth = (set: k8s.V1StatefulSet): HealthFacts => {
  const desired = set.spec?.replicas ?? 1;
  const s = set.status ?? { replicas: 0 };
  const available = s.availableReplicas ?? 0;
  const result = (detail?: string) => ({
    desired,
    ready: available,
    healthy: detail === undefined,
    detail: detail ?? 'healthy',
  });
  if (stale(set.metadata, s.observedGeneration))
    return result('its latest change is not yet observed by the StatefulSet controller');
  if ((s.updatedReplicas ?? 0) < desired)
    return result(`${s.updatedReplicas ?? 0} of ${desired} replicas updated to the current revision`);
  if ((s.readyReplicas ?? 0) < desired) return result(`${s.readyReplicas ?? 0} of ${desired} replicas ready`);
  if (available < desired) return result(`${available} of ${desired} replicas available`);
  if ((s.replicas ?? 0) > desired) return result(`${(s.replicas ?? 0) - desired} replica(s) above the desired count`);
  return result();
};

export const daemonSetHealth = (set: k8s.V1DaemonSet): HealthFacts => {
  const s = set.status ?? {
    currentNumberScheduled: 0,
    desiredNumberScheduled: 0,
    numberMisscheduled: 0,
    numberReady: 0,
  };
  const desired = s.desiredNumberScheduled ?? 0;
  const available = s.numberAvailable ?? 0;
  const result = (detail?: string) => ({
    desired,
    ready: available,
    healthy: detail === undefined,
    detail: detail ?? 'healthy',
  });
  if (stale(set.metadata, s.observedGeneration))
    return result('its latest change is not yet observed by the DaemonSet controller');
  if ((s.updatedNumberScheduled ?? 0) < desired)
    return result(`${s.updatedNumberScheduled ?? 0} of ${desired} daemon pods updated`);
  if (available < desired) return result(`${available} of ${desired} daemon pods available`);
  if ((s.numberUnavailable ?? 0) > 0) return result(`${s.numberUnavailable} daemon pod(s) unavailable`);
  if ((s.numberMisscheduled ?? 0) > 0)
    return result(`${s.numberMisscheduled} daemon pod(s) on nodes that should not run one`);
  return result();
};

const nodeTroubles = ['MemoryPressure', 'DiskPressure', 'PIDPressure', 'NetworkUnavailable'];

export const nodeHealth = (node: k8s.V1Node): HealthFacts => {
  const conditions = node.status?.conditions ?? [];
  const ready = conditions.find((c) => c.type === 'Ready');
  const troubles = conditions.filter((c) => nodeTroubles.includes(c.type) && c.status === 'True').map((c) => c.type);
  const isReady = ready?.status === 'True';
  const missing = [
    ...(isReady ? [] : [`Ready is ${ready?.status ?? 'not reported'}${ready?.reason ? ` (${ready.reason})` : ''}`]),
    ...troubles.map((t) => `${t} is True`),
  ];
  return {
    desired: 1,
    ready: isReady ? 1 : 0,
    healthy: missing.length === 0,
    detail: missing.length === 0 ? 'healthy' : missing.join('; '),
  };
};
