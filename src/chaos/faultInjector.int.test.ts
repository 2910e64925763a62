import { randomBytes } from 'node:crypto';
import * as k8s from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, inject, it, vi } from 'vitest';
import {
  createNamespace,
  deleteNamespace,
  eventually,
  isReady,
  type KubeClients,
  kubeClients,
  podsOf,
} from '../../test/support/kube.ts';
import { refusalOf } from '../../test/support/refusal.ts';
import { PatchAs } from '../actions/patchOptions.ts';
import { FaultMarks } from '../cluster/stages.ts';
import {
  type ChaosTarget,
  createFaultInjector,
  type FaultInjector,
  type FaultRequest,
  type InjectionPlan,
} from './faultInjector.ts';

/**
 * Every fault, injected and reverted through the real API server, with KWOK playing the kubelet. Faults on a
 * shared node would break other tests' pods, so this file brings its own KWOK nodes, tainted so that only its own
 * pods (which tolerate the taint and select the node) land there.
 */
// Waits below allow two minutes for a cluster shared with the whole suite; a test may hold a few of them.
vi.setConfig({ testTimeout: 300_000 });

let kube: KubeClients;
let injector: FaultInjector;
let namespace: string;
const suffix = randomBytes(3).toString('hex');
/** Where this file's workloads run. */
const workNode = `cairn-chaos-work-${suffix}`;
/** The node the node faults break. */
const faultNode = `cairn-chaos-fault-${suffix}`;
/** A node no KWOK controller plays: it stands for a real kubelet. */
const realNode = `cairn-chaos-real-${suffix}`;
const taintKey = 'cairn.dev/test-node';

const createNode = (name: string, kwok: boolean) =>
  kube.core.createNode({
    body: {
      metadata: {
        name,
        labels: { 'kubernetes.io/hostname': name, ...(kwok ? { type: 'kwok' } : {}) },
        ...(kwok ? { annotations: { 'kwok.x-k8s.io/node': 'fake' } } : {}),
      },
      spec: { taints: [{ key: taintKey, value: name, effect: 'NoSchedule' }] },
    },
  });

const nodeReady = (name: string) =>
  eventually(`node ${name} to be Ready`, async () =>
    (await kube.core.readNode({ name })).status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'),
  );

beforeAll(async () => {
  kube = kubeClients();
  injector = createFaultInjector(kube.config);
  namespace = await createNamespace(kube, 'chaos-inject');
  await createNode(workNode, true);
  await createNode(faultNode, true);
  await nodeReady(workNode);
  await nodeReady(faultNode);
});
afterAll(async () => {
  await deleteNamespace(kube, namespace);
  // The nodes go once their pods have, so no pod is left bound to a node nobody plays.
  await eventually('the test nodes emptied', async () => {
    const pods = await kube.core.listNamespacedPod({ namespace });
    return pods.items.length === 0;
  }).catch(() => undefined);
  await kube.core.deleteNode({ name: workNode }).catch(() => undefined);
  await kube.core.deleteNode({ name: faultNode }).catch(() => undefined);
  await kube.core.deleteNode({ name: realNode }).catch(() => undefined);
});

const Image = 'registry.local/shop/web:1.0.0';

const podTemplate = (name: string, node = workNode, options: { sidecar?: boolean } = {}): k8s.V1PodTemplateSpec => ({
  metadata: { labels: { app: name } },
  spec: {
    nodeSelector: { 'kubernetes.io/hostname': node },
    tolerations: [{ key: taintKey, operator: 'Equal', value: node, effect: 'NoSchedule' }],
    containers: [
      {
        name: 'app',
        image: Image,
        resources: { requests: { cpu: '100m', memory: '128Mi' }, limits: { memory: '128Mi' } },
      },
      // A container without a memory limit, as many sidecars are.
      ...(options.sidecar ? [{ name: 'proxy', image: 'registry.local/shop/proxy:2.1' }] : []),
    ],
  },
});

const deploymentOf = (name: string, replicas: number, options: { sidecar?: boolean } = {}): k8s.V1Deployment => ({
  metadata: { name, labels: { app: name } },
  spec: {
    replicas,
    selector: { matchLabels: { app: name } },
    strategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 1, maxSurge: 1 } },
    template: podTemplate(name, workNode, options),
  },
});

const ref = (name: string, kind: ChaosTarget['kind'] = 'Deployment'): ChaosTarget => ({ kind, namespace, name });
const nodeRef = (name: string): ChaosTarget => ({ kind: 'Node', name });

/** The plan as the controller gets it back: from the JSON of an event. */
const recorded = (plan: InjectionPlan): InjectionPlan => JSON.parse(JSON.stringify(plan));

const healthy = (target: ChaosTarget) =>
  eventually(
    `${target.kind} ${target.name} healthy`,
    async () => {
      const health = await injector.health(target);
      return health.healthy ? health : undefined;
    },
    120_000,
  );

const planned = async (request: FaultRequest): Promise<InjectionPlan> => {
  const outcome = await injector.plan(request);
  if (!outcome.ok) throw new Error(`plan refused: ${outcome.code}: ${outcome.message}`);
  return recorded(outcome.plan);
};

const refusal = async (request: FaultRequest) => {
  const outcome = await injector.plan(request);
  if (outcome.ok) throw new Error(`expected a refusal, got a plan: ${outcome.plan.summary}`);
  return outcome;
};

const createDeployment = async (name: string, replicas: number, options: { sidecar?: boolean } = {}) => {
  await kube.apps.createNamespacedDeployment({ namespace, body: deploymentOf(name, replicas, options) });
  await healthy(ref(name));
  return readDeployment(name);
};

const readDeployment = (name: string) => kube.apps.readNamespacedDeployment({ name, namespace });

const waiting = (pod: k8s.V1Pod) => (pod.status?.containerStatuses ?? []).map((s) => s.state?.waiting?.reason);

/** Pods of the current template showing `check`, at least one. */
const podsShowing = (app: string, what: string, check: (pod: k8s.V1Pod) => boolean) =>
  eventually(
    `a pod of ${app} ${what}`,
    async () => {
      const pods = (await podsOf(kube, namespace, app)).filter(check);
      return pods.length > 0 ? pods : undefined;
    },
    120_000,
  );

/** After a revert, the workload runs its original template again on ready pods only. */
const backAsBefore = async (name: string, before: k8s.V1Deployment) => {
  const after = await readDeployment(name);
  expect(after.spec?.template).toEqual(before.spec?.template);
  expect(after.spec?.replicas).toBe(before.spec?.replicas);
  const health = await healthy(ref(name));
  expect(health.ready).toBe(before.spec?.replicas);
  await eventually(`only original pods of ${name}`, async () => {
    const pods = await podsOf(kube, namespace, name);
    return (
      pods.length === before.spec?.replicas && pods.every((p) => isReady(p) && p.spec?.containers[0]?.image === Image)
    );
  });
};

describe('image_pull', () => {
  it('rolls out an image that cannot be pulled; revert restores the template and the pods become ready', async () => {
    const before = await createDeployment('pull', 2);
    const plan = await planned({ type: 'image_pull', target: ref('pull'), count: 1 });
    expect(plan.summary).toContain(`${Image}-nonexistent`);

    const injected = await injector.inject(plan);
    expect(injected.podsAffected).toBe(2);
    const broken = await readDeployment('pull');
    expect(broken.spec?.template.spec?.containers[0]?.image).toBe(`${Image}-nonexistent`);
    await podsShowing('pull', 'failing to pull', (p) =>
      waiting(p).some((r) => r === 'ErrImagePull' || r === 'ImagePullBackOff'),
    );
    const sick = await injector.health(ref('pull'));
    expect(sick).toMatchObject({ exists: true, desired: 2, healthy: false, simulated: true });

    // A second injection changes nothing more.
    const again = await injector.inject(plan);
    expect(again.summary).toMatch(/^already in place/);
    expect((await readDeployment('pull')).metadata?.generation).toBe(broken.metadata?.generation);

    // A restarted operator reverts from the recorded plan alone.
    const reverted = await createFaultInjector(kube.config).revert(recorded(plan));
    expect(reverted.reverted).toBe(true);
    expect(reverted.restored).toEqual([`image of container app back to ${Image}`]);
    await backAsBefore('pull', before);

    // Reverting twice is harmless.
    const twice = await injector.revert(plan);
    expect(twice).toMatchObject({ reverted: false, restored: [], leftAlone: [] });
    expect(twice.summary).toMatch(/nothing to revert/);
    expect((await readDeployment('pull')).spec?.template).toEqual(before.spec?.template);
  });

  it('works on a DaemonSet too, whose health counts its daemon pods', async () => {
    const body: k8s.V1DaemonSet = {
      metadata: { name: 'agent' },
      spec: { selector: { matchLabels: { app: 'agent' } }, template: podTemplate('agent') },
    };
    await kube.apps.createNamespacedDaemonSet({ namespace, body });
    const target = ref('agent', 'DaemonSet');
    const fine = await healthy(target);
    expect(fine).toMatchObject({ desired: 1, ready: 1, simulated: true });
    const before = await kube.apps.readNamespacedDaemonSet({ name: 'agent', namespace });

    const plan = await planned({ type: 'image_pull', target, count: 1 });
    await injector.inject(plan);
    await podsShowing('agent', 'failing to pull', (p) =>
      waiting(p).some((r) => r === 'ErrImagePull' || r === 'ImagePullBackOff'),
    );
    const sick = await eventually('the DaemonSet unhealthy', async () => {
      const health = await injector.health(target);
      return health.healthy ? undefined : health;
    });
    expect(sick.detail).toMatch(/daemon pod/);

    await injector.revert(plan);
    await healthy(target);
    const after = await kube.apps.readNamespacedDaemonSet({ name: 'agent', namespace });
    expect(after.spec?.template).toEqual(before.spec?.template);
  });
});

describe('crashloop', () => {
  it('crashes the new pods; a fix rolled out since is left alone by the revert', async () => {
    await createDeployment('crash', 2);
    const plan = await planned({ type: 'crashloop', target: ref('crash'), count: 1 });
    await injector.inject(plan);
    await podsShowing('crash', 'in CrashLoopBackOff', (p) => waiting(p).includes('CrashLoopBackOff'));

    // The fault is there: a second plan for it is refused rather than stacked on top.
    const stacked = await refusal({ type: 'crashloop', target: ref('crash'), count: 1 });
    expect(stacked.code).toBe('already_faulted');

    // Someone (Cairn's remediation, a person) rolls out a fixed image before the experiment ends.
    const fixed = 'registry.local/shop/web:1.0.1';
    await kube.apps.patchNamespacedDeployment(
      {
        name: 'crash',
        namespace,
        body: { spec: { template: { spec: { containers: [{ name: 'app', image: fixed }] } } } },
      },
      PatchAs.strategic,
    );
    const beforeRevert = await readDeployment('crash');
    const reverted = await injector.revert(plan);
    expect(reverted.reverted).toBe(false);
    expect(reverted.leftAlone).toEqual([`image of container app (now ${fixed})`]);
    const after = await readDeployment('crash');
    expect(after.spec?.template.spec?.containers[0]?.image).toBe(fixed);
    expect(after.metadata?.generation).toBe(beforeRevert.metadata?.generation);
    await healthy(ref('crash'));
  });

  it('after a rollback to the original image, the revert has nothing left to do', async () => {
    const before = await createDeployment('rolled', 2);
    const plan = await planned({ type: 'crashloop', target: ref('rolled'), count: 1 });
    await injector.inject(plan);
    await podsShowing('rolled', 'in CrashLoopBackOff', (p) => waiting(p).includes('CrashLoopBackOff'));
    await kube.apps.patchNamespacedDeployment(
      {
        name: 'rolled',
        namespace,
        body: { spec: { template: { spec: { containers: [{ name: 'app', image: Image }] } } } },
      },
      PatchAs.strategic,
    );
    const rolledBack = await readDeployment('rolled');
    const reverted = await injector.revert(plan);
    expect(reverted).toMatchObject({ reverted: false, restored: [], leftAlone: [] });
    expect((await readDeployment('rolled')).metadata?.generation).toBe(rolledBack.metadata?.generation);
    await backAsBefore('rolled', before);
  });
});

describe('a StatefulSet', () => {
  it('crashloop: after the revert its stuck pod is replaced, so the ordered rollout completes', async () => {
    const body: k8s.V1StatefulSet = {
      metadata: { name: 'store' },
      spec: {
        replicas: 2,
        serviceName: 'store',
        selector: { matchLabels: { app: 'store' } },
        template: podTemplate('store'),
      },
    };
    await kube.apps.createNamespacedStatefulSet({ namespace, body });
    const target = ref('store', 'StatefulSet');
    await healthy(target);
    const before = await kube.apps.readNamespacedStatefulSet({ name: 'store', namespace });
    const plan = await planned({ type: 'crashloop', target, count: 1 });
    await injector.inject(plan);
    const [stuck] = await podsShowing('store', 'in CrashLoopBackOff', (p) => waiting(p).includes('CrashLoopBackOff'));

    const reverted = await injector.revert(plan);
    expect(reverted.restored).toEqual([`image of container app back to ${Image}`, 'replaced the stuck pod(s) store-1']);
    expect(stuck?.metadata?.name).toBe('store-1');
    const health = await healthy(target);
    expect(health).toMatchObject({ desired: 2, ready: 2 });
    const after = await kube.apps.readNamespacedStatefulSet({ name: 'store', namespace });
    expect(after.spec?.template).toEqual(before.spec?.template);
    const pods = await podsOf(kube, namespace, 'store');
    expect(pods.map((p) => p.spec?.containers[0]?.image)).toEqual([Image, Image]);
    expect(pods.map((p) => p.metadata?.uid)).not.toContain(stuck?.metadata?.uid);
  });
});

describe('oom_kill', () => {
  it('declares twice the largest limit, gives a limitless container one, and takes both back', async () => {
    const before = await createDeployment('hungry', 2, { sidecar: true });
    const plan = await planned({ type: 'oom_kill', target: ref('hungry'), count: 1 });
    expect(plan.undo).toEqual([
      { step: 'templateAnnotation', key: FaultMarks.workingSet, value: '256Mi' },
      { step: 'memoryLimit', container: 'proxy', value: '128Mi' },
    ]);
    await injector.inject(plan);
    const broken = await readDeployment('hungry');
    expect(broken.spec?.template.metadata?.annotations?.[FaultMarks.workingSet]).toBe('256Mi');
    expect(broken.spec?.template.spec?.containers[1]?.resources?.limits?.memory).toBe('128Mi');
    await podsShowing('hungry', 'OOMKilled', (p) =>
      (p.status?.containerStatuses ?? []).some(
        (s) => s.state?.terminated?.reason === 'OOMKilled' || s.lastState?.terminated?.reason === 'OOMKilled',
      ),
    );

    const reverted = await injector.revert(plan);
    expect(reverted.restored).toEqual([
      `template annotation ${FaultMarks.workingSet} removed`,
      'memory limit of container proxy removed',
    ]);
    await backAsBefore('hungry', before);
  });
});

describe('missing_config', () => {
  it('points the containers at a ConfigMap that does not exist; revert removes the reference', async () => {
    const before = await createDeployment('settings', 2);
    const plan = await planned({ type: 'missing_config', target: ref('settings'), count: 1 });
    await injector.inject(plan);
    const broken = await readDeployment('settings');
    expect(broken.spec?.template.spec?.containers[0]?.envFrom).toEqual([
      { configMapRef: { name: 'settings-chaos-missing' } },
    ]);
    await podsShowing('settings', 'in CreateContainerConfigError', (p) =>
      waiting(p).includes('CreateContainerConfigError'),
    );
    // Idempotent: no second envFrom entry.
    await injector.inject(plan);
    expect((await readDeployment('settings')).spec?.template.spec?.containers[0]?.envFrom).toHaveLength(1);

    await injector.revert(plan);
    await backAsBefore('settings', before);
  });

  it('refuses when the ConfigMap it would name exists', async () => {
    await createDeployment('configured', 1);
    await kube.core.createNamespacedConfigMap({
      namespace,
      body: { metadata: { name: 'configured-chaos-missing' }, data: { a: 'b' } },
    });
    const refused = await refusal({ type: 'missing_config', target: ref('configured'), count: 1 });
    expect(refused.code).toBe('config_exists');
    expect(refused.message).toContain('configured-chaos-missing');
  });
});

describe('scale_to_zero', () => {
  it('scales to 0 and back; a scale-up made meanwhile is kept', async () => {
    const before = await createDeployment('scaled', 3);
    const plan = await planned({ type: 'scale_to_zero', target: ref('scaled'), count: 1 });
    const injected = await injector.inject(plan);
    expect(injected.podsAffected).toBe(3);
    expect((await readDeployment('scaled')).spec?.replicas).toBe(0);
    await eventually('no pods left', async () => (await podsOf(kube, namespace, 'scaled')).length === 0);

    expect((await injector.revert(plan)).restored).toEqual(['replicas back to 3']);
    await backAsBefore('scaled', before);

    // Scaled to zero again, then someone scales it to 2: the revert keeps their 2.
    const second = await planned({ type: 'scale_to_zero', target: ref('scaled'), count: 1 });
    await injector.inject(second);
    await kube.apps.patchNamespacedDeployment(
      { name: 'scaled', namespace, body: { spec: { replicas: 2 } } },
      PatchAs.merge,
    );
    const reverted = await injector.revert(second);
    expect(reverted).toMatchObject({ reverted: false, leftAlone: ['replicas (now 2)'] });
    expect((await readDeployment('scaled')).spec?.replicas).toBe(2);
    await healthy(ref('scaled'));
  });
});

describe('pod_kill', () => {
  it('deletes the chosen pods of a StatefulSet once; a replacement with the same name is never killed again', async () => {
    const body: k8s.V1StatefulSet = {
      metadata: { name: 'db' },
      spec: {
        replicas: 2,
        serviceName: 'db',
        selector: { matchLabels: { app: 'db' } },
        template: podTemplate('db'),
      },
    };
    await kube.apps.createNamespacedStatefulSet({ namespace, body });
    await healthy(ref('db', 'StatefulSet'));
    const plan = await planned({ type: 'pod_kill', target: ref('db', 'StatefulSet'), count: 1 });
    expect(plan.pods).toHaveLength(1);
    const victim = plan.pods[0] as string;
    const old = await kube.core.readNamespacedPod({ name: victim, namespace });

    expect((await injector.inject(plan)).podsAffected).toBe(1);
    const replacement = await eventually(
      `${victim} replaced`,
      async () => {
        const pod = await kube.core.readNamespacedPod({ name: victim, namespace }).catch(() => undefined);
        return pod && pod.metadata?.uid !== old.metadata?.uid && isReady(pod) ? pod : undefined;
      },
      120_000,
    );
    const again = await injector.inject(plan);
    expect(again.podsAffected).toBe(0);
    const still = await kube.core.readNamespacedPod({ name: victim, namespace });
    expect(still.metadata?.uid).toBe(replacement.metadata?.uid);
    expect(still.metadata?.deletionTimestamp).toBeUndefined();

    const reverted = await injector.revert(plan);
    expect(reverted.reverted).toBe(false);
    expect(reverted.summary).toMatch(/nothing to revert/);
    await healthy(ref('db', 'StatefulSet'));
  });
});

describe('pod_not_ready', () => {
  it('wedges count pods; revert unwedges those still there, the workload recovers', async () => {
    await createDeployment('wedge', 3);
    const plan = await planned({ type: 'pod_not_ready', target: ref('wedge'), count: 2 });
    expect(plan.pods).toHaveLength(2);
    expect((await injector.inject(plan)).podsAffected).toBe(2);
    await eventually(
      'two pods not ready',
      async () => {
        const pods = await podsOf(kube, namespace, 'wedge');
        const wedged = pods.filter((p) => plan.pods.includes(p.metadata?.name ?? ''));
        return wedged.length === 2 && wedged.every((p) => !isReady(p));
      },
      120_000,
    );
    const sick = await eventually('the Deployment short of replicas', async () => {
      const health = await injector.health(ref('wedge'));
      return health.ready === 1 ? health : undefined;
    });
    expect(sick).toMatchObject({ healthy: false, desired: 3, detail: '1 of 3 replicas available' });

    // One wedged pod is replaced meanwhile (Cairn's DeletePod): the revert only touches the other.
    await kube.core.deleteNamespacedPod({ name: plan.pods[0] as string, namespace });
    const reverted = await injector.revert(plan);
    expect(reverted.restored).toEqual([`label ${FaultMarks.wedged} on pod ${plan.pods[1]} removed`]);
    const survivor = await kube.core.readNamespacedPod({ name: plan.pods[1] as string, namespace });
    expect(survivor.metadata?.labels?.[FaultMarks.wedged]).toBeUndefined();
    await healthy(ref('wedge'));
    expect(await injector.revert(plan)).toMatchObject({
      reverted: false,
      summary: `nothing to revert on Deployment ${namespace}/wedge: pod(s) ${plan.pods[0]} gone or replaced; no wedged pod left`,
    });
  });
});

describe('node faults', () => {
  const cases = [
    { type: 'node_not_ready', condition: 'Ready', status: 'False' },
    { type: 'disk_pressure', condition: 'DiskPressure', status: 'True' },
    { type: 'memory_pressure', condition: 'MemoryPressure', status: 'True' },
  ] as const;
  for (const { type, condition, status } of cases) {
    it(`${type}: the node reports ${condition}=${status} until the revert`, async () => {
      await healthy(nodeRef(faultNode));
      const before = await kube.core.readNode({ name: faultNode });
      const plan = await planned({ type, target: nodeRef(faultNode), count: 1 });
      await injector.inject(plan);
      await eventually(
        `${condition}=${status}`,
        async () =>
          (await kube.core.readNode({ name: faultNode })).status?.conditions?.some(
            (c) => c.type === condition && c.status === status,
          ),
        120_000,
      );
      const sick = await injector.health(nodeRef(faultNode));
      expect(sick).toMatchObject({ exists: true, healthy: false, simulated: true });
      expect(sick.detail).toContain(condition);

      const reverted = await injector.revert(plan);
      expect(reverted.reverted).toBe(true);
      await healthy(nodeRef(faultNode));
      expect((await kube.core.readNode({ name: faultNode })).metadata?.labels).toEqual(before.metadata?.labels);
      expect(await injector.revert(plan)).toMatchObject({
        reverted: false,
        summary: `nothing to revert: Node ${faultNode} no longer carries the fault`,
      });
    });
  }
});

/**
 * A client whose next write to one object waits for another writer to go first: the API server then sees the
 * concurrent change between the injector's read and its patch, every time.
 */
class RacingConfig extends k8s.KubeConfig {
  private race: { path: string; write: () => Promise<unknown> } | undefined;
  beforeNextPatchOf(path: string, write: () => Promise<unknown>) {
    this.race = { path, write };
  }
  override async applySecurityAuthentication(
    context: Parameters<k8s.KubeConfig['applySecurityAuthentication']>[0],
  ): Promise<void> {
    const race = this.race;
    if (race && context.getHttpMethod() === 'PATCH' && new URL(context.getUrl()).pathname.endsWith(race.path)) {
      this.race = undefined;
      await race.write();
    }
    return super.applySecurityAuthentication(context);
  }
}

describe('a change made between the read and the write', () => {
  it('is never overwritten by a revert: the guarded patch fails, the revert reads again and leaves it', async () => {
    await createDeployment('raced', 2);
    const config = new RacingConfig();
    config.loadFromFile(inject('kubeconfig'));
    const racing = createFaultInjector(config);
    const plan = await planned({ type: 'image_pull', target: ref('raced'), count: 1 });
    await racing.inject(plan);

    const fixed = 'registry.local/shop/web:1.0.1';
    config.beforeNextPatchOf(`/namespaces/${namespace}/deployments/raced`, () =>
      kube.apps.patchNamespacedDeployment(
        {
          name: 'raced',
          namespace,
          body: { spec: { template: { spec: { containers: [{ name: 'app', image: fixed }] } } } },
        },
        PatchAs.strategic,
      ),
    );
    const reverted = await racing.revert(plan);
    expect(reverted).toMatchObject({ reverted: false, leftAlone: [`image of container app (now ${fixed})`] });
    expect((await readDeployment('raced')).spec?.template.spec?.containers[0]?.image).toBe(fixed);
    await healthy(ref('raced'));
  });

  it('is never overwritten by an injection either: it refuses the plan instead', async () => {
    await createDeployment('raced-scale', 2);
    const config = new RacingConfig();
    config.loadFromFile(inject('kubeconfig'));
    const racing = createFaultInjector(config);
    const plan = await planned({ type: 'scale_to_zero', target: ref('raced-scale'), count: 1 });
    config.beforeNextPatchOf(`/namespaces/${namespace}/deployments/raced-scale`, () =>
      kube.apps.patchNamespacedDeployment(
        { name: 'raced-scale', namespace, body: { spec: { replicas: 4 } } },
        PatchAs.merge,
      ),
    );
    const refused = await refusalOf(racing.inject(plan));
    expect(refused.code).toBe('chaos.target_changed');
    expect(refused.message).toContain('replicas is 4');
    expect((await readDeployment('raced-scale')).spec?.replicas).toBe(4);
  });
});

describe('refusals and targets that went away', () => {
  it('refuses what it cannot or must not inject', async () => {
    expect((await refusal({ type: 'crashloop', target: ref('nobody'), count: 1 })).code).toBe('target_missing');
    expect((await refusal({ type: 'node_not_ready', target: nodeRef('no-such-node'), count: 1 })).code).toBe(
      'target_missing',
    );
    for (const type of ['network_latency', 'packet_loss'] as const) {
      const refused = await refusal({ type, target: ref('nobody'), count: 1 });
      expect(refused.code).toBe('not_injectable');
      expect(refused.message).toMatch(/tc\/netem/);
    }
    expect((await refusal({ type: 'node_not_ready', target: ref('nobody'), count: 1 })).code).toBe('wrong_target_kind');
    expect((await refusal({ type: 'scale_to_zero', target: ref('agent', 'DaemonSet'), count: 1 })).code).toBe(
      'wrong_target_kind',
    );
    const bad = await refusal({ type: 'pod_kill', target: ref('nobody'), count: 0 });
    expect(bad.code).toBe('invalid_request');
    const unknown = await refusal({ type: 'disk_full' as never, target: ref('nobody'), count: 1 });
    expect(unknown).toMatchObject({ code: 'invalid_request' });
  });

  it('reports a missing target as such, and refuses a target it cannot read the health of', async () => {
    expect(await injector.health(ref('nobody'))).toEqual({
      exists: false,
      desired: 0,
      ready: 0,
      healthy: false,
      detail: `Deployment ${namespace}/nobody does not exist`,
      simulated: false,
    });
    expect((await injector.health(nodeRef('no-such-node'))).exists).toBe(false);
    const pod = await refusalOf(injector.health({ kind: 'Pod', namespace, name: 'x' } as unknown as ChaosTarget));
    expect(pod.code).toBe('chaos.invalid_target');
    const bare = await refusalOf(injector.health({ kind: 'Deployment', name: 'x' }));
    expect(bare.message).toBe('a Deployment target needs a namespace');
  });

  it('refuses pod faults on a workload with no pods', async () => {
    await kube.apps.createNamespacedDeployment({ namespace, body: deploymentOf('empty', 0) });
    expect((await refusal({ type: 'pod_kill', target: ref('empty'), count: 1 })).code).toBe('no_pods');
    expect((await refusal({ type: 'scale_to_zero', target: ref('empty'), count: 1 })).code).toBe('already_faulted');
  });

  it('refuses a simulated-only fault when the pods run on a real kubelet, and allows a real one', async () => {
    await createNode(realNode, false);
    const body = deploymentOf('onreal', 1);
    const spec = body.spec?.template.spec as k8s.V1PodSpec;
    spec.nodeName = realNode;
    delete spec.nodeSelector;
    spec.tolerations = [{ operator: 'Exists' }];
    await kube.apps.createNamespacedDeployment({ namespace, body });
    await eventually('a pod bound to the real node', async () =>
      (await podsOf(kube, namespace, 'onreal')).some((p) => p.spec?.nodeName === realNode),
    );
    try {
      for (const type of ['crashloop', 'oom_kill', 'pod_not_ready'] as const) {
        const refused = await refusal({ type, target: ref('onreal'), count: 1 });
        expect(refused.code).toBe('unsupported_here');
        expect(refused.message).toContain('real nodes');
      }
      expect((await injector.plan({ type: 'image_pull', target: ref('onreal'), count: 1 })).ok).toBe(true);
      expect((await injector.plan({ type: 'missing_config', target: ref('onreal'), count: 1 })).ok).toBe(true);
      expect((await injector.health(ref('onreal'))).simulated).toBe(false);
      expect((await refusal({ type: 'node_not_ready', target: nodeRef(realNode), count: 1 })).code).toBe(
        'unsupported_here',
      );
    } finally {
      // No kubelet will ever confirm these pods' deletion: take them away by force, then the node.
      await kube.apps.deleteNamespacedDeployment({ name: 'onreal', namespace });
      await eventually('the real node emptied', async () => {
        for (const pod of await podsOf(kube, namespace, 'onreal')) {
          await kube.core
            .deleteNamespacedPod({ name: pod.metadata?.name ?? '', namespace, gracePeriodSeconds: 0 })
            .catch(() => undefined);
        }
        const all = await kube.core.listNamespacedPod({ namespace, labelSelector: 'app=onreal' });
        return all.items.length === 0;
      });
      await kube.core.deleteNode({ name: realNode });
    }
  });

  it('a target deleted, or deleted and created again, is left alone by the revert', async () => {
    await createDeployment('gone', 1);
    const plan = await planned({ type: 'image_pull', target: ref('gone'), count: 1 });
    await injector.inject(plan);
    await kube.apps.deleteNamespacedDeployment({ name: 'gone', namespace });
    await eventually('the Deployment gone', async () => !(await readDeployment('gone').catch(() => undefined)));
    const reverted = await injector.revert(plan);
    expect(reverted).toMatchObject({ reverted: false, restored: [] });
    expect(reverted.summary).toBe(`nothing to revert: Deployment ${namespace}/gone no longer exists`);

    // A new Deployment of the same name that happens to run the marked image is someone else's: untouched.
    const body = deploymentOf('gone', 1);
    (body.spec?.template.spec?.containers[0] as k8s.V1Container).image = `${Image}-nonexistent`;
    await kube.apps.createNamespacedDeployment({ namespace, body });
    const again = await injector.revert(plan);
    expect(again.summary).toMatch(/deleted and created again/);
    expect((await readDeployment('gone')).spec?.template.spec?.containers[0]?.image).toBe(`${Image}-nonexistent`);
    const late = await refusalOf(injector.inject(plan));
    expect(late.code).toBe('chaos.target_missing');
  });

  it('does not inject a plan the target no longer matches', async () => {
    const before = await createDeployment('moved', 1);
    const plan = await planned({ type: 'crashloop', target: ref('moved'), count: 1 });
    const release = 'registry.local/shop/web:2.0.0';
    await kube.apps.patchNamespacedDeployment(
      {
        name: 'moved',
        namespace,
        body: { spec: { template: { spec: { containers: [{ name: 'app', image: release }] } } } },
      },
      PatchAs.strategic,
    );
    const released = await readDeployment('moved');
    const refused = await refusalOf(injector.inject(plan));
    expect(refused.code).toBe('chaos.target_changed');
    expect(refused.message).toBe(
      `Deployment ${namespace}/moved changed since the plan: image of container app is ${release}`,
    );
    const after = await readDeployment('moved');
    expect(after.metadata?.generation).toBe(released.metadata?.generation);
    expect(after.spec?.template.spec?.containers[0]?.image).toBe(release);
    expect(before.spec?.template.spec?.containers[0]?.image).toBe(Image);
  });

  it('refuses a plan that is not one', async () => {
    const broken = { type: 'crashloop', target: ref('x') } as unknown as InjectionPlan;
    const refused = await refusalOf(injector.revert(broken));
    expect(refused.code).toBe('chaos.invalid_plan');
    expect(refused.message).toMatch(/^not a valid injection plan: /);
  });
});
