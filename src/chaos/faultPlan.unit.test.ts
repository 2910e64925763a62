import type * as k8s from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { FaultMarks } from '../cluster/stages.ts';
import {
  type ChaosTarget,
  chaosFaultTypes,
  checkInjectionPlan,
  choosePods,
  deploymentHealth,
  type FaultRequest,
  type InjectionPlan,
  injectPatch,
  type JsonPatchOp,
  nodeHealth,
  type PlanInputs,
  planFault,
  podCarriesFault,
  requestProblem,
  revertPatch,
  runsSimulated,
  statefulSetHealth,
  type UndoStep,
} from './faultPlan.ts';

const deployment: ChaosTarget = { kind: 'Deployment', namespace: 'shop', name: 'web' };
const node: ChaosTarget = { kind: 'Node', name: 'n1' };

const workload = (
  containers: k8s.V1Container[],
  extra: { annotations?: Record<string, string>; replicas?: number } = {},
) => ({
  metadata: { name: 'web', namespace: 'shop', uid: 'uid-web', resourceVersion: '42' },
  spec: {
    replicas: extra.replicas ?? 3,
    template: {
      metadata: { labels: { app: 'web' }, ...(extra.annotations ? { annotations: extra.annotations } : {}) },
      spec: { containers },
    },
  },
});

const app: k8s.V1Container = {
  name: 'app',
  image: 'registry.local/shop/web:1.0.0',
  resources: { requests: { memory: '128Mi' }, limits: { memory: '512Mi' } },
};
const sidecar: k8s.V1Container = { name: 'proxy', image: 'envoy', resources: { requests: { memory: '300Mi' } } };

const pod = (
  name: string,
  options: { ready?: boolean; created?: string; labels?: Record<string, string>; node?: string } = {},
) =>
  ({
    metadata: {
      name,
      uid: `uid-${name}`,
      labels: { app: 'web', ...options.labels },
      creationTimestamp: new Date(options.created ?? '2026-12-07T10:00:00Z'),
    },
    spec: { containers: [], nodeName: options.node ?? 'kwok-0' },
    status: {
      phase: 'Running',
      conditions: [{ type: 'Ready', status: options.ready === false ? 'False' : 'True' }],
    },
  }) as k8s.V1Pod;

const kwokNode = (name: string): k8s.V1Node => ({
  metadata: { name, uid: `uid-${name}`, annotations: { 'kwok.x-k8s.io/node': 'fake' } },
});
const realNode = (name: string): k8s.V1Node => ({ metadata: { name, uid: `uid-${name}` } });

const inputs = (request: FaultRequest, extra: Partial<PlanInputs> = {}): PlanInputs => ({
  request,
  workload: workload([app]),
  pods: [pod('web-a'), pod('web-b'), pod('web-c')],
  simulated: true,
  ...extra,
});

const plan = (request: FaultRequest, extra: Partial<PlanInputs> = {}): InjectionPlan => {
  const outcome = planFault(inputs(request, extra));
  if (!outcome.ok) throw new Error(`${outcome.code}: ${outcome.message}`);
  return outcome.plan;
};
const refusal = (request: FaultRequest, extra: Partial<PlanInputs> = {}) => {
  const outcome = planFault(inputs(request, extra));
  if (outcome.ok) throw new Error(`planned: ${outcome.plan.summary}`);
  return outcome;
};

/** Just enough RFC 6902 for these patches, applied the way the API server does (a failed test rejects all). */
function applyPatch<T>(document: T, ops: readonly JsonPatchOp[]): T {
  const copy = structuredClone(document) as unknown;
  const parse = (path: string) =>
    path
      .split('/')
      .slice(1)
      .map((s) => s.replaceAll('~1', '/').replaceAll('~0', '~'));
  for (const op of ops) {
    const keys = parse(op.path);
    const last = keys.pop() as string;
    let parent = copy as Record<string, unknown>;
    for (const key of keys) parent = parent[key] as Record<string, unknown>;
    if (op.op === 'test') {
      if (JSON.stringify(parent[last]) !== JSON.stringify(op.value)) throw new Error(`test failed at ${op.path}`);
    } else if (op.op === 'remove') {
      if (Array.isArray(parent)) parent.splice(Number(last), 1);
      else delete parent[last];
    } else if (Array.isArray(parent)) {
      if (last === '-') parent.push(op.value);
      else if (op.op === 'add') parent.splice(Number(last), 0, op.value);
      else parent[Number(last)] = op.value;
    } else parent[last] = op.value;
  }
  return copy as T;
}

/** What the API server sends back: Go drops empty maps and lists (omitempty). */
const normalised = (value: unknown): unknown => {
  if (Array.isArray(value)) return value.map(normalised);
  if (value && typeof value === 'object') {
    const entries = Object.entries(value)
      .map(([k, v]) => [k, normalised(v)] as const)
      .filter(([, v]) => !(v && typeof v === 'object' && Object.keys(v).length === 0));
    return Object.fromEntries(entries);
  }
  return value;
};

const view = (object: ReturnType<typeof workload>) => ({
  templatePath: '/spec/template',
  template: object.spec.template,
  replicas: object.spec.replicas,
});

describe('the catalogue', () => {
  it('names every fault type with its scope and whether it needs the simulated kubelet', () => {
    const summary = Object.fromEntries(
      Object.entries(chaosFaultTypes).map(([type, info]) => [type, [info.scope, info.simulatedOnly, info.injectable]]),
    );
    expect(summary).toEqual({
      pod_kill: ['pods', false, true],
      pod_not_ready: ['pods', true, true],
      crashloop: ['workload', true, true],
      image_pull: ['workload', false, true],
      oom_kill: ['workload', true, true],
      missing_config: ['workload', false, true],
      scale_to_zero: ['workload', false, true],
      node_not_ready: ['node', true, true],
      disk_pressure: ['node', true, true],
      memory_pressure: ['node', true, true],
      network_latency: ['pods', false, false],
      packet_loss: ['pods', false, false],
    });
    expect(chaosFaultTypes.scale_to_zero.targetKinds).toEqual(['Deployment', 'StatefulSet']);
  });
});

describe('reading a request', () => {
  it('names what is wrong with a malformed request', () => {
    expect(requestProblem({ type: 'disk_full' as never, target: deployment, count: 1 })?.message).toMatch(
      /^unknown fault type "disk_full"; known: pod_kill, /,
    );
    expect(requestProblem(null as never)?.code).toBe('invalid_request');
    expect(requestProblem({ type: 'pod_kill', target: { kind: 'Deployment', name: 'web' }, count: 1 })?.message).toBe(
      'target.namespace must be a namespace name for a Deployment, got "undefined"',
    );
    expect(requestProblem({ type: 'pod_kill', target: { ...deployment, name: 'Web!' }, count: 1 })?.code).toBe(
      'invalid_request',
    );
    for (const count of [0, -1, 1.5, 101]) {
      expect(requestProblem({ type: 'pod_kill', target: deployment, count })?.message).toMatch(/^count must be/);
    }
    // count only matters to the pod faults.
    expect(requestProblem({ type: 'crashloop', target: deployment, count: 0 })).toBeUndefined();
  });

  it('refuses the network faults rather than faking them, and targets of the wrong kind', () => {
    for (const type of ['network_latency', 'packet_loss'] as const) {
      const problem = requestProblem({ type, target: deployment, count: 1 });
      expect(problem?.code).toBe('not_injectable');
      expect(problem?.message).toContain("network fault agent (tc/netem) in the pod's network namespace");
    }
    expect(requestProblem({ type: 'node_not_ready', target: deployment, count: 1 })?.code).toBe('wrong_target_kind');
    expect(requestProblem({ type: 'crashloop', target: node, count: 1 })?.code).toBe('wrong_target_kind');
    expect(
      requestProblem({ type: 'scale_to_zero', target: { ...deployment, kind: 'DaemonSet' }, count: 1 })?.message,
    ).toBe('scale_to_zero targets Deployment or StatefulSet, not DaemonSet');
  });
});

describe('simulated or real', () => {
  const nodes = new Map<string, k8s.V1Node | undefined>([
    ['kwok-0', kwokNode('kwok-0')],
    ['metal-0', realNode('metal-0')],
    ['gone', undefined],
  ]);
  it('is simulated only when every node its pods run on is a KWOK node', () => {
    expect(runsSimulated([pod('a'), pod('b')], nodes, [])).toBe(true);
    expect(runsSimulated([pod('a'), pod('b', { node: 'metal-0' })], nodes, [])).toBe(false);
    expect(runsSimulated([pod('a', { node: 'gone' })], nodes, [])).toBe(false);
  });
  it('with no pod bound yet, asks whether every node of the cluster is a KWOK node', () => {
    expect(runsSimulated([], nodes, [kwokNode('k1'), kwokNode('k2')])).toBe(true);
    expect(runsSimulated([], nodes, [kwokNode('k1'), realNode('m1')])).toBe(false);
    expect(runsSimulated([], nodes, [])).toBe(false);
  });
  it('refuses a simulated-only fault on real nodes and plans a real one', () => {
    for (const type of ['crashloop', 'oom_kill', 'pod_not_ready'] as const) {
      expect(refusal({ type, target: deployment, count: 1 }, { simulated: false }).code).toBe('unsupported_here');
    }
    expect(
      refusal({ type: 'node_not_ready', target: node, count: 1 }, { node: realNode('n1'), simulated: false }).code,
    ).toBe('unsupported_here');
    for (const type of ['pod_kill', 'image_pull', 'missing_config', 'scale_to_zero'] as const) {
      expect(planFault(inputs({ type, target: deployment, count: 1 }, { simulated: false })).ok).toBe(true);
    }
  });
});

describe('planning', () => {
  it('refuses a target that does not exist', () => {
    const missing = refusal({ type: 'crashloop', target: deployment, count: 1 }, { workload: undefined });
    expect(missing).toEqual({ ok: false, code: 'target_missing', message: 'Deployment shop/web does not exist' });
    expect(refusal({ type: 'disk_pressure', target: node, count: 1 }).code).toBe('target_missing');
  });

  it('marks every container image for crashloop and image_pull, recording the image it replaces', () => {
    const crash = plan({ type: 'crashloop', target: deployment, count: 1 }, { workload: workload([app, sidecar]) });
    expect(crash.undo).toEqual([
      {
        step: 'image',
        container: 'app',
        from: 'registry.local/shop/web:1.0.0',
        to: 'registry.local/shop/web:1.0.0-broken',
      },
      { step: 'image', container: 'proxy', from: 'envoy', to: 'envoy:broken' },
    ]);
    expect(crash).toMatchObject({ version: 1, targetUid: 'uid-web', pods: [] });
    const pull = plan({ type: 'image_pull', target: deployment, count: 1 });
    expect(pull.undo).toEqual([
      {
        step: 'image',
        container: 'app',
        from: 'registry.local/shop/web:1.0.0',
        to: 'registry.local/shop/web:1.0.0-nonexistent',
      },
    ]);
    const pinned = plan(
      { type: 'image_pull', target: deployment, count: 1 },
      {
        workload: workload([
          { name: 'a', image: `registry.local/web@sha256:${'a'.repeat(64)}` },
          { name: 'b', image: `registry.local:5000/web:2.0@sha256:${'b'.repeat(64)}` },
        ]),
      },
    );
    expect(pinned.undo.map((s) => (s.step === 'image' ? s.to : ''))).toEqual([
      'registry.local/web:nonexistent',
      'registry.local:5000/web:2.0-nonexistent',
    ]);
    const already = refusal(
      { type: 'image_pull', target: deployment, count: 1 },
      {
        workload: workload([{ ...app, image: 'web:1-nonexistent' }]),
      },
    );
    expect(already).toMatchObject({
      code: 'already_faulted',
      message: 'container app of Deployment shop/web already runs web:1-nonexistent',
    });
  });

  it('oom_kill: twice the largest limit; a limitless container gets one, never below its request', () => {
    const oom = plan({ type: 'oom_kill', target: deployment, count: 1 }, { workload: workload([app, sidecar]) });
    expect(oom.undo).toEqual([
      { step: 'templateAnnotation', key: FaultMarks.workingSet, value: '1024Mi' },
      { step: 'memoryLimit', container: 'proxy', value: '300Mi' },
    ]);
    const bare = plan(
      { type: 'oom_kill', target: deployment, count: 1 },
      { workload: workload([{ name: 'a', image: 'a' }]) },
    );
    expect(bare.undo).toEqual([
      { step: 'templateAnnotation', key: FaultMarks.workingSet, value: '256Mi' },
      { step: 'memoryLimit', container: 'a', value: '128Mi' },
    ]);
    const odd = refusal(
      { type: 'oom_kill', target: deployment, count: 1 },
      {
        workload: workload([{ ...app, resources: { limits: { memory: '1e9' } } }]),
      },
    );
    expect(odd.code).toBe('unsupported_here');
    expect(
      refusal(
        { type: 'oom_kill', target: deployment, count: 1 },
        {
          workload: workload([app], { annotations: { [FaultMarks.workingSet]: '1Gi' } }),
        },
      ).code,
    ).toBe('already_faulted');
  });

  it('missing_config: an annotation and one envFrom per container, refused when the ConfigMap exists', () => {
    const missing = plan(
      { type: 'missing_config', target: deployment, count: 1 },
      { workload: workload([app, sidecar]) },
    );
    expect(missing.undo).toEqual([
      { step: 'templateAnnotation', key: FaultMarks.missingConfig, value: 'web-chaos-missing' },
      { step: 'envFrom', container: 'app', configMap: 'web-chaos-missing' },
      { step: 'envFrom', container: 'proxy', configMap: 'web-chaos-missing' },
    ]);
    expect(refusal({ type: 'missing_config', target: deployment, count: 1 }, { configMapExists: true })).toEqual({
      ok: false,
      code: 'config_exists',
      message: 'ConfigMap shop/web-chaos-missing exists; missing_config needs a name that does not',
    });
  });

  it('scale_to_zero records the replicas to go back to', () => {
    expect(plan({ type: 'scale_to_zero', target: deployment, count: 1 }).undo).toEqual([
      { step: 'replicas', from: 3, to: 0 },
    ]);
    expect(
      refusal({ type: 'scale_to_zero', target: deployment, count: 1 }, { workload: workload([app], { replicas: 0 }) })
        .code,
    ).toBe('already_faulted');
  });

  it('pod faults take ready pods first, then the oldest, and never one already wedged', () => {
    const pods = [
      pod('web-c', { created: '2026-12-07T09:00:00Z' }),
      pod('web-a', { ready: false, created: '2026-12-07T08:00:00Z' }),
      pod('web-b', { created: '2026-12-07T09:00:00Z' }),
      pod('web-d', { created: '2026-12-07T07:00:00Z' }),
    ];
    expect(choosePods(pods, 3).map((p) => p.metadata?.name)).toEqual(['web-d', 'web-b', 'web-c']);
    const kill = plan({ type: 'pod_kill', target: deployment, count: 2 }, { pods });
    expect(kill.pods).toEqual(['web-d', 'web-b']);
    expect(kill.undo).toEqual([
      { step: 'deletePod', pod: 'web-d', uid: 'uid-web-d' },
      { step: 'deletePod', pod: 'web-b', uid: 'uid-web-b' },
    ]);
    const wedged = [pod('web-d', { labels: { [FaultMarks.wedged]: 'true' } }), pod('web-e')];
    const wedge = plan({ type: 'pod_not_ready', target: deployment, count: 5 }, { pods: wedged });
    expect(wedge.pods).toEqual(['web-e']);
    expect(wedge.summary).toContain('(5 asked, 1 there)');
    expect(
      refusal({ type: 'pod_not_ready', target: deployment, count: 1 }, { pods: [wedged[0] as k8s.V1Pod] }),
    ).toMatchObject({
      code: 'no_pods',
      message: 'every pod of Deployment shop/web is already wedged',
    });
    expect(refusal({ type: 'pod_kill', target: deployment, count: 1 }, { pods: [] }).code).toBe('no_pods');
  });

  it('node faults set one label, refused when a fault label is there already', () => {
    const n = { metadata: { name: 'n1', uid: 'uid-n1', labels: { zone: 'a' } } };
    expect(plan({ type: 'disk_pressure', target: node, count: 1 }, { node: n }).undo).toEqual([
      { step: 'nodeLabel', key: FaultMarks.nodePressure, value: 'disk' },
    ]);
    expect(plan({ type: 'node_not_ready', target: node, count: 1 }, { node: n }).undo).toEqual([
      { step: 'nodeLabel', key: FaultMarks.nodeDown, value: 'true' },
    ]);
    const pressed = { metadata: { ...n.metadata, labels: { [FaultMarks.nodePressure]: 'memory' } } };
    expect(refusal({ type: 'disk_pressure', target: node, count: 1 }, { node: pressed }).code).toBe('already_faulted');
  });

  it('plans survive the JSON of an event and are checked when read back', () => {
    const original = plan({ type: 'oom_kill', target: deployment, count: 1 }, { workload: workload([app, sidecar]) });
    const back = checkInjectionPlan(JSON.parse(JSON.stringify(original)));
    expect(back).toEqual({ ok: true, plan: original });
    const tampered = { ...original, undo: [{ step: 'replicas', from: 0, to: 0 }] };
    const checked = checkInjectionPlan(tampered);
    expect(checked.ok).toBe(false);
    expect(checkInjectionPlan({ ...original, version: 2 }).ok).toBe(false);
    // Well formed, but not what its fault makes: refused before anything is touched.
    expect(checkInjectionPlan({ ...original, undo: [{ step: 'nodeLabel', key: 'a', value: 'b' }] })).toEqual({
      ok: false,
      message: 'oom_kill makes no nodeLabel change',
    });
    expect(checkInjectionPlan({ ...original, target: { kind: 'Node', name: 'n1' } })).toEqual({
      ok: false,
      message: 'oom_kill does not target a Node',
    });
    expect(checkInjectionPlan({ ...original, target: { kind: 'Deployment', name: 'web' } }).ok).toBe(false);
    expect(checkInjectionPlan({ ...original, type: 'packet_loss' })).toEqual({
      ok: false,
      message: 'packet_loss is never injected',
    });
  });
});

describe('patches', () => {
  const faults = ['crashloop', 'image_pull', 'oom_kill', 'missing_config', 'scale_to_zero'] as const;
  const shapes = {
    'one container with a limit': workload([app]),
    'a sidecar without limits': workload([app, sidecar]),
    'existing annotations and envFrom': workload(
      [
        { ...app, envFrom: [{ secretRef: { name: 'creds' } }] },
        { name: 'bare', image: 'b:1' },
      ],
      {
        annotations: { team: 'shop' },
      },
    ),
  };
  for (const type of faults) {
    for (const [shape, object] of Object.entries(shapes)) {
      it(`${type} on ${shape}: inject then revert gives the object back; inject again adds nothing`, () => {
        const steps = plan({ type, target: deployment, count: 1 }, { workload: object }).undo;
        const inject = injectPatch(view(object), steps, '42');
        expect(inject.ops[0]).toEqual({ op: 'test', path: '/metadata/resourceVersion', value: '42' });
        const broken = applyPatch(object, inject.ops);
        expect(broken).not.toEqual(object);
        expect(injectPatch(view(broken), steps, '43').ops).toEqual([]);
        expect(injectPatch(view(broken), steps, '43').readings.every((r) => r.state === 'applied')).toBe(true);

        const revert = revertPatch(view(broken), steps);
        expect(normalised(applyPatch(broken, revert.ops))).toEqual(normalised(object));
        expect(revertPatch(view(object), steps).ops).toEqual([]);
      });
    }
  }

  it('a revert keeps what changed since the fault and takes back the rest', () => {
    const object = workload([app, sidecar]);
    const steps: UndoStep[] = plan({ type: 'oom_kill', target: deployment, count: 1 }, { workload: object }).undo;
    const broken = applyPatch(object, injectPatch(view(object), steps, '42').ops);
    // Cairn's AdjustResources raised the sidecar's limit in between.
    const adjusted = structuredClone(broken);
    (adjusted.spec.template.spec.containers[1] as k8s.V1Container).resources = {
      requests: { memory: '300Mi' },
      limits: { memory: '2Gi' },
    };
    const revert = revertPatch(view(adjusted), steps);
    expect(revert.readings.map((r) => r.state)).toEqual(['applied', 'changed']);
    const after = applyPatch(adjusted, revert.ops);
    expect(after.spec.template.metadata.annotations).toEqual({});
    expect(after.spec.template.spec.containers[1]?.resources?.limits).toEqual({ memory: '2Gi' });
  });

  it('every revert write is guarded by a test of the value the fault left', () => {
    const object = workload([app]);
    const steps = plan({ type: 'crashloop', target: deployment, count: 1 }, { workload: object }).undo;
    const broken = applyPatch(object, injectPatch(view(object), steps, '42').ops);
    expect(revertPatch(view(broken), steps).ops).toEqual([
      { op: 'test', path: '/spec/template/spec/containers/0/name', value: 'app' },
      { op: 'test', path: '/spec/template/spec/containers/0/image', value: 'registry.local/shop/web:1.0.0-broken' },
      { op: 'replace', path: '/spec/template/spec/containers/0/image', value: 'registry.local/shop/web:1.0.0' },
    ]);
    // A concurrent rollback between the read and the patch makes the test fail, so nothing is overwritten.
    const rolledBack = applyPatch(broken, [
      { op: 'replace', path: '/spec/template/spec/containers/0/image', value: 'registry.local/shop/web:0.9.0' },
    ]);
    expect(() => applyPatch(rolledBack, revertPatch(view(broken), steps).ops)).toThrow(/test failed/);
  });
});

describe('pods made from the faulted template', () => {
  it('are told by their own spec, whatever step the fault made', () => {
    const object = workload([app, sidecar]);
    const crash = plan({ type: 'crashloop', target: deployment, count: 1 }, { workload: object }).undo;
    const missing = plan({ type: 'missing_config', target: deployment, count: 1 }, { workload: object }).undo;
    const oom = plan({ type: 'oom_kill', target: deployment, count: 1 }, { workload: object }).undo;
    const healthyPod = { ...pod('web-0'), spec: { containers: [app, sidecar] } };
    expect(podCarriesFault(healthyPod, [...crash, ...missing, ...oom])).toBe(false);
    const crashing = { ...healthyPod, spec: { containers: [{ ...app, image: `${app.image}-broken` }, sidecar] } };
    expect(podCarriesFault(crashing, crash)).toBe(true);
    const reading = {
      ...healthyPod,
      spec: { containers: [app, { ...sidecar, envFrom: [{ configMapRef: { name: 'web-chaos-missing' } }] }] },
    };
    expect(podCarriesFault(reading, missing)).toBe(true);
    const hungry = {
      ...healthyPod,
      metadata: { ...healthyPod.metadata, annotations: { [FaultMarks.workingSet]: '1024Mi' } },
    };
    expect(podCarriesFault(hungry, oom)).toBe(true);
    expect(podCarriesFault(hungry, crash)).toBe(false);
  });
});

describe('health', () => {
  const d = (status: k8s.V1DeploymentStatus, generation = 2): k8s.V1Deployment => ({
    metadata: { generation },
    spec: { replicas: 3, selector: {}, template: {} },
    status,
  });
  it('a Deployment is healthy when its current template is available on every replica', () => {
    const full = { observedGeneration: 2, replicas: 3, updatedReplicas: 3, availableReplicas: 3, readyReplicas: 3 };
    expect(deploymentHealth(d(full))).toEqual({ desired: 3, ready: 3, healthy: true, detail: 'healthy' });
    expect(deploymentHealth(d({ ...full, availableReplicas: 1, unavailableReplicas: 2 })).detail).toBe(
      '1 of 3 replicas available',
    );
    expect(deploymentHealth(d({ ...full, updatedReplicas: 1, replicas: 4 })).detail).toBe(
      '1 of 3 replicas updated to the current template',
    );
    expect(deploymentHealth(d(full, 3)).healthy).toBe(false);
    expect(deploymentHealth(d({ ...full, replicas: 4 })).detail).toBe('1 old replica(s) still running');
  });
  it('a StatefulSet needs every replica updated, ready and available', () => {
    const set = (status: k8s.V1StatefulSetStatus): k8s.V1StatefulSet => ({
      metadata: { generation: 1 },
      spec: { replicas: 2, selector: {}, serviceName: 's', template: {} },
      status,
    });
    const full = { observedGeneration: 1, replicas: 2, updatedReplicas: 2, readyReplicas: 2, availableReplicas: 2 };
    expect(statefulSetHealth(set(full)).healthy).toBe(true);
    expect(statefulSetHealth(set({ ...full, readyReplicas: 1, availableReplicas: 1 })).detail).toBe(
      '1 of 2 replicas ready',
    );
  });
  it('a Node is healthy when Ready and under no pressure', () => {
    const n = (conditions: k8s.V1NodeCondition[]): k8s.V1Node => ({ status: { conditions } });
    expect(nodeHealth(n([{ type: 'Ready', status: 'True' }])).healthy).toBe(true);
    expect(
      nodeHealth(
        n([
          { type: 'Ready', status: 'True' },
          { type: 'DiskPressure', status: 'True' },
        ]),
      ),
    ).toEqual({ desired: 1, ready: 1, healthy: false, detail: 'DiskPressure is True' });
    expect(nodeHealth(n([{ type: 'Ready', status: 'False', reason: 'KubeletNotReady' }])).detail).toBe(
      'Ready is False (KubeletNotReady)',
    );
    expect(nodeHealth(n([])).detail).toBe('Ready is not reported');
  });
});
