import type * as k8s from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ResourceRef } from '../../domain/events/common.schema.ts';
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
import { daemonSet } from '../../test/support/workloads.ts';
import { markImage } from '../cluster/faults.ts';
import { FaultMarks } from '../cluster/stages.ts';
import { type ActionClients, createActionClients } from './action.ts';
import { PatchAs } from './patchOptions.ts';
import { requireAction } from './registry.ts';
import { restoreSnapshot, type Snapshot, takeSnapshot } from './snapshot.ts';

let kube: KubeClients;
let clients: ActionClients;
let namespace: string;
/** The KWOK nodes every DaemonSet here runs on (nodes other test files add are excluded by a selector). */
let nodes: string[];
const cordoned: string[] = [];

beforeAll(async () => {
  kube = kubeClients();
  clients = createActionClients(kube.config);
  namespace = await createNamespace(kube, 'actions-ds');
  nodes = (await kube.core.listNode({ labelSelector: 'type=kwok' })).items
    .map((n) => n.metadata?.name ?? '')
    .filter((n) => /^kwok-node-\d+$/.test(n))
    .sort();
});
afterAll(async () => {
  for (const name of cordoned) {
    await kube.core.patchNode({ name, body: { spec: { unschedulable: null } } }, PatchAs.merge).catch(() => undefined);
  }
  await deleteNamespace(kube, namespace);
});

const ref = (name: string): ResourceRef => ({ kind: 'DaemonSet', name, namespace });

const run = async (type: string, target: ResourceRef, params: Record<string, string> = {}) => {
  const action = requireAction(type);
  action.check(params, target);
  return action.execute({ clients, target, params });
};

const image = (pod: k8s.V1Pod) => pod.spec?.containers[0]?.image;

const allReady = (app: string, count: number, check: (pod: k8s.V1Pod) => boolean = () => true) =>
  eventually(`${count} ready pods of ${app}`, async () => {
    const pods = await podsOf(kube, namespace, app);
    return pods.length === count && pods.every((p) => isReady(p) && check(p)) ? pods : undefined;
  });

async function create(
  name: string,
  options: Parameters<typeof daemonSet>[1] & { onNodes?: string[]; wait?: boolean } = {},
) {
  const body = daemonSet(name, options);
  const on = options.onNodes ?? nodes;
  // Only the cluster's own KWOK nodes, so a node another test adds never changes the pod count.
  (body.spec as k8s.V1DaemonSetSpec).template.spec = {
    ...(body.spec?.template.spec as k8s.V1PodSpec),
    affinity: {
      nodeAffinity: {
        requiredDuringSchedulingIgnoredDuringExecution: {
          nodeSelectorTerms: [{ matchExpressions: [{ key: 'kubernetes.io/hostname', operator: 'In', values: on }] }],
        },
      },
    },
  };
  await kube.apps.createNamespacedDaemonSet({ namespace, body });
  return options.wait === false ? [] : allReady(name, on.length);
}

const read = (name: string) => kube.apps.readNamespacedDaemonSet({ name, namespace });

const setImage = (name: string, value: string) =>
  kube.apps.patchNamespacedDaemonSet(
    { name, namespace, body: [{ op: 'replace', path: '/spec/template/spec/containers/0/image', value }] },
    PatchAs.json,
  );

const wedge = (pod: string) =>
  kube.core.patchNamespacedPod(
    { name: pod, namespace, body: { metadata: { labels: { [FaultMarks.wedged]: 'true' } } } },
    PatchAs.merge,
  );

describe('RestartDaemonSet', () => {
  it('replaces the pod on every node; refuses a set that uses OnDelete', async () => {
    const before = await create('agent');
    await wedge(before[0]?.metadata?.name ?? '');
    const startedAt = new Date().toISOString();
    const result = await run('RestartDaemonSet', ref('agent'));
    expect(result.detail).toMatch(/^rolling restart of DaemonSet .*\/agent \(kubectl\.kubernetes\.io\/restartedAt=/);
    const old = new Set(before.map((p) => p.metadata?.uid));
    await allReady('agent', nodes.length, (p) => !old.has(p.metadata?.uid));
    expect(
      await requireAction('RestartDaemonSet').isDone?.({ clients, target: ref('agent'), params: {}, startedAt }),
    ).toBe(true);

    await run('PauseDaemonSetRollout', ref('agent'));
    const refused = await refusalOf(run('RestartDaemonSet', ref('agent')));
    expect(refused.code).toBe('action.illegal_state');
  });
});

describe('RollbackDaemonSet', () => {
  it('rolls a crash-looping release back to the previous ControllerRevision on every node', async () => {
    await create('logger');
    await setImage('logger', markImage('registry.local/shop/db:1.0.0', FaultMarks.crashImage));
    await eventually('a crash-looping pod', async () =>
      (await podsOf(kube, namespace, 'logger')).some(
        (p) => image(p)?.endsWith('-broken') && (p.status?.containerStatuses?.[0]?.restartCount ?? 0) >= 1,
      ),
    );
    const result = await run('RollbackDaemonSet', ref('logger'));
    expect(result.detail).toMatch(
      /^rolled DaemonSet .*\/logger back to revision 1 \(ControllerRevision logger-\w+: registry\.local\/shop\/db:1\.0\.0\)$/,
    );
    await allReady('logger', nodes.length, (p) => image(p) === 'registry.local/shop/db:1.0.0');
    const again = await refusalOf(run('RollbackDaemonSet', ref('logger'), { toRevision: '7' }));
    expect(again.category).toBe('NotFound');
  });
});

describe('AdjustDaemonSetResources', () => {
  it('raises the memory of OOM-killed pods on every node; refuses a limit below the request', async () => {
    await create('hungry', { needsMemory: '200Mi', onNodes: nodes.slice(0, 2), wait: false });
    await eventually('OOMKilled pods', async () =>
      (await podsOf(kube, namespace, 'hungry')).some(
        (p) => p.status?.containerStatuses?.[0]?.lastState?.terminated?.reason === 'OOMKilled',
      ),
    );
    const below = await refusalOf(run('AdjustDaemonSetResources', ref('hungry'), { memory_request: '1Gi' }));
    expect(below.code).toBe('action.unsafe');
    expect(below.message).toMatch(/^memory_request: memory limit 128Mi would be below its request 1Gi/);
    const result = await run('AdjustDaemonSetResources', ref('hungry'), { memory_limit: '256Mi' });
    expect(result.detail).toBe(`set memory_limit 128Mi → 256Mi on container app of DaemonSet ${namespace}/hungry`);
    await allReady('hungry', 2, (p) => p.spec?.containers[0]?.resources?.limits?.memory === '256Mi');
  });
});

describe('DeleteDaemonSetPod', () => {
  it('deletes the pod on a node and the set recreates it there; never the last pod', async () => {
    const before = await create('probe');
    const node = nodes[1] as string;
    const old = before.find((p) => p.spec?.nodeName === node);
    const result = await run('DeleteDaemonSetPod', ref('probe'), { node });
    expect(result.detail).toMatch(new RegExp(`^deleted pod ${old?.metadata?.name} of DaemonSet .* on node ${node}`));
    const pods = await allReady('probe', nodes.length, (p) => p.metadata?.uid !== old?.metadata?.uid);
    expect(pods.filter((p) => p.spec?.nodeName === node)).toHaveLength(1);

    const other = pods.find((p) => p.spec?.nodeName !== node);
    const mismatch = await refusalOf(
      run('DeleteDaemonSetPod', ref('probe'), { pod: other?.metadata?.name ?? '', node }),
    );
    expect(mismatch.message).toMatch(
      new RegExp(`^node: pod .* runs on node ${other?.spec?.nodeName}, not on ${node}$`),
    );

    await create('lonely', { onNodes: [nodes[0] as string] });
    const last = await refusalOf(run('DeleteDaemonSetPod', ref('lonely')));
    expect(last.code).toBe('action.unsafe');
    expect(last.message).toMatch(/^pod: pod lonely-\w+ is the last pod of DaemonSet/);
    const elsewhere = await refusalOf(run('DeleteDaemonSetPod', ref('lonely'), { node: nodes[2] as string }));
    expect(elsewhere.category).toBe('NotFound');
  });
});

describe('UpdateDaemonSetStrategy and PauseDaemonSetRollout', () => {
  it('a paused set keeps its pods through a template change; surge settings roll it out again', async () => {
    await create('paused');
    const pause = await run('PauseDaemonSetRollout', ref('paused'));
    expect(pause.detail).toMatch(
      /^paused the rollout of DaemonSet .*\/paused at 3 of 3 pods updated \(was RollingUpdate \(maxUnavailable=1, maxSurge=0\);/,
    );
    expect((await read('paused')).spec?.updateStrategy).toEqual({ type: 'OnDelete' });
    await setImage('paused', 'registry.local/shop/db:1.1.0');
    await eventually('the template change observed', async () => {
      const s = await read('paused');
      return (
        (s.status?.observedGeneration ?? 0) >= (s.metadata?.generation ?? 0) &&
        (s.status?.updatedNumberScheduled ?? 0) === 0
      );
    });
    expect(new Set((await podsOf(kube, namespace, 'paused')).map(image))).toEqual(
      new Set(['registry.local/shop/db:1.0.0']),
    );

    const resumed = await run('UpdateDaemonSetStrategy', ref('paused'), {
      type: 'RollingUpdate',
      maxUnavailable: '0',
      maxSurge: '1',
    });
    expect(resumed.detail).toBe(
      `update strategy of DaemonSet ${namespace}/paused: OnDelete → RollingUpdate (maxUnavailable=0, maxSurge=1)`,
    );
    await allReady('paused', nodes.length, (p) => image(p) === 'registry.local/shop/db:1.1.0');

    const stuck = await refusalOf(
      run('UpdateDaemonSetStrategy', ref('paused'), { type: 'RollingUpdate', maxUnavailable: '0%', maxSurge: '0' }),
    );
    expect(stuck.code).toBe('action.unsafe');
    // maxSurge alone to 0 while maxUnavailable is 0 already: refused against the set's current values.
    const implied = await refusalOf(
      run('UpdateDaemonSetStrategy', ref('paused'), { type: 'RollingUpdate', maxSurge: '0' }),
    );
    expect(implied.message).toBe(
      'maxSurge: maxUnavailable and maxSurge would both be 0: no pod could ever be replaced',
    );
    const onDelete = await refusalOf(
      run('UpdateDaemonSetStrategy', ref('paused'), { type: 'OnDelete', maxSurge: '1' }),
    );
    expect(onDelete.message).toBe('maxSurge: applies only to type=RollingUpdate');
  });
});

describe('CordonAndDeleteDaemonSetPod', () => {
  it('cordons the node and replaces the pod on it; the node is restored by the snapshot', async () => {
    const before = await create('netd');
    const node = nodes[2] as string;
    cordoned.push(node);
    const plan = [{ type: 'CordonAndDeleteDaemonSetPod', params: { node } }];
    const snapshot = JSON.parse(JSON.stringify(await takeSnapshot(clients, ref('netd'), plan))) as Snapshot;
    expect(Object.keys(snapshot.captured).sort()).toEqual([`DaemonSet/${namespace}/netd`, `Node//${node}`]);

    const startedAt = new Date().toISOString();
    const result = await run('CordonAndDeleteDaemonSetPod', ref('netd'), { node });
    expect(result.detail).toMatch(new RegExp(`^cordoned node ${node}; deleted pod netd-\\w+ of DaemonSet`));
    expect((await kube.core.readNode({ name: node })).spec?.unschedulable).toBe(true);
    const old = before.find((p) => p.spec?.nodeName === node)?.metadata?.uid;
    const pods = await allReady('netd', nodes.length, (p) => p.metadata?.uid !== old);
    expect(pods.filter((p) => p.spec?.nodeName === node)).toHaveLength(1);
    expect(
      await requireAction('CordonAndDeleteDaemonSetPod').isDone?.({
        clients,
        target: ref('netd'),
        params: { node },
        startedAt,
      }),
    ).toBe(true);

    await restoreSnapshot(clients, snapshot);
    expect((await kube.core.readNode({ name: node })).spec?.unschedulable).toBeUndefined();

    const required = await refusalOf(run('CordonAndDeleteDaemonSetPod', ref('netd')));
    expect(required.message).toBe('node: is required by CordonAndDeleteDaemonSetPod');
  });
});

describe('snapshot of a DaemonSet', () => {
  it('a failed plan puts the spec back exactly', async () => {
    await create('restored');
    const raw = async () =>
      (
        (await clients.custom.getNamespacedCustomObject({
          group: 'apps',
          version: 'v1',
          plural: 'daemonsets',
          namespace,
          name: 'restored',
        })) as { spec: unknown }
      ).spec;
    const original = await raw();
    const plan: { type: string; params: Record<string, string> }[] = [
      { type: 'AdjustDaemonSetResources', params: { cpu_request: '200m' } },
      { type: 'UpdateDaemonSetStrategy', params: { type: 'RollingUpdate', maxUnavailable: '2' } },
      { type: 'RestartDaemonSet', params: {} },
      { type: 'PauseDaemonSetRollout', params: {} },
    ];
    const snapshot = JSON.parse(JSON.stringify(await takeSnapshot(clients, ref('restored'), plan))) as Snapshot;
    for (const step of plan) await run(step.type, ref('restored'), step.params);
    expect(await raw()).not.toEqual(original);
    await restoreSnapshot(clients, snapshot);
    expect(await raw()).toEqual(original);
  });
});
