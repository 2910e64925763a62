import type * as k8s from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ResourceRef } from '../../domain/events/common.schema.ts';
import {
  createNamespace,
  deleteNamespace,
  deployment,
  eventually,
  isReady,
  type KubeClients,
  kubeClients,
  podsOf,
} from '../../test/support/kube.ts';
import { refusalOf } from '../../test/support/refusal.ts';
import { type ActionClients, createActionClients } from './action.ts';
import { PatchAs } from './patchOptions.ts';
import { requireAction } from './registry.ts';

let kube: KubeClients;
let clients: ActionClients;
let namespace: string;

beforeAll(async () => {
  kube = kubeClients();
  clients = createActionClients(kube.config);
  namespace = await createNamespace(kube, 'actions-pod');
});
afterAll(() => deleteNamespace(kube, namespace));

const run = async (type: string, target: ResourceRef, params: Record<string, string> = {}) => {
  const action = requireAction(type);
  action.check(params, target);
  return action.execute({ clients, target, params });
};

const failure = refusalOf;

const allReady = (app: string, count: number, check: (pod: k8s.V1Pod) => boolean = () => true) =>
  eventually(`${count} ready pods of ${app}`, async () => {
    const pods = await podsOf(kube, namespace, app);
    return pods.length === count && pods.every((p) => isReady(p) && check(p)) ? pods : undefined;
  });

const names = (pods: readonly k8s.V1Pod[]) => new Set(pods.map((p) => p.metadata?.name));

describe('DeletePod', () => {
  it('deletes the sickest pod (the wedged one) and its controller replaces it', async () => {
    await kube.apps.createNamespacedDeployment({ namespace, body: deployment('web', { replicas: 3 }) });
    const before = await allReady('web', 3);
    const sick = before[1]?.metadata?.name ?? '';
    await kube.core.patchNamespacedPod(
      { name: sick, namespace, body: { metadata: { labels: { 'fault.cairn.dev/wedged': 'true' } } } },
      PatchAs.merge,
    );
    await eventually(
      'the wedged pod to be unready',
      async () => !isReady(await kube.core.readNamespacedPod({ name: sick, namespace })),
    );
    const startedAt = new Date().toISOString();

    const target: ResourceRef = { kind: 'Deployment', name: 'web', namespace };
    const result = await run('DeletePod', target);
    expect(result.detail).toMatch(
      new RegExp(`^deleted pod ${sick} of Deployment ${namespace}/web \\(sickest: Running`),
    );
    expect(result.touched).toEqual([{ kind: 'Pod', name: sick, namespace }]);
    const after = await allReady('web', 3);
    expect(names(after).has(sick)).toBe(false);
    expect([...names(before)].filter((n) => n !== sick).every((n) => names(after).has(n))).toBe(true);
    expect(await requireAction('DeletePod').isDone?.({ clients, target, params: {}, startedAt })).toBe(true);
  });

  it('deletes a named pod, and refuses a pod of another workload', async () => {
    const pods = await podsOf(kube, namespace, 'web');
    const chosen = pods[0]?.metadata?.name ?? '';
    const target: ResourceRef = { kind: 'Deployment', name: 'web', namespace };
    await run('DeletePod', target, { pod: chosen });
    await allReady('web', 3, (p) => p.metadata?.name !== chosen);
    const wrong = await failure(run('DeletePod', target, { pod: 'not-a-pod-of-web' }));
    expect(wrong.message).toMatch(/^pod: pod not-a-pod-of-web is not a live pod of Deployment/);
  });

  it('refuses to delete the last pod of a workload, and the pod stays', async () => {
    await kube.apps.createNamespacedDeployment({ namespace, body: deployment('single', { replicas: 1 }) });
    const [only] = await allReady('single', 1);
    const refused = await failure(run('DeletePod', { kind: 'Deployment', name: 'single', namespace }));
    expect(refused.code).toBe('action.unsafe');
    expect(refused.message).toBe(
      `pod: pod ${only?.metadata?.name} is the last pod of Deployment ${namespace}/single: deleting it would take the workload down`,
    );
    // Naming the pod, or targeting it directly, changes nothing.
    const direct = await failure(run('DeletePod', { kind: 'Pod', name: only?.metadata?.name ?? '', namespace }));
    expect(direct.code).toBe('action.unsafe');
    const [still] = await allReady('single', 1);
    expect(still?.metadata?.uid).toBe(only?.metadata?.uid);
  });
});

describe('RestartStatefulSetPod', () => {
  const target = (): ResourceRef => ({ kind: 'StatefulSet', name: 'db', namespace });

  it('recreates one named pod with the same name, or rolls them all', async () => {
    const labels = { app: 'db' };
    await kube.apps.createNamespacedStatefulSet({
      namespace,
      body: {
        metadata: { name: 'db', labels },
        spec: {
          replicas: 2,
          serviceName: 'db',
          selector: { matchLabels: labels },
          template: {
            metadata: { labels },
            spec: { containers: [{ name: 'db', image: 'registry.local/shop/db:16' }] },
          },
        },
      },
    });
    const before = await allReady('db', 2);
    const uid = (pods: readonly k8s.V1Pod[], name: string) =>
      pods.find((p) => p.metadata?.name === name)?.metadata?.uid;
    const startedAt = new Date().toISOString();

    const one = await run('RestartStatefulSetPod', target(), { pod: 'db-1' });
    expect(one.detail).toMatch(/^restarted pod db-1 of StatefulSet .*same name and volumes$/);
    const after = await allReady(
      'db',
      2,
      (p) => p.metadata?.name !== 'db-1' || p.metadata?.uid !== uid(before, 'db-1'),
    );
    expect(uid(after, 'db-0')).toBe(uid(before, 'db-0'));
    expect(
      await requireAction('RestartStatefulSetPod').isDone?.({
        clients,
        target: target(),
        params: { pod: 'db-1' },
        startedAt,
      }),
    ).toBe(true);

    await run('RestartStatefulSetPod', target());
    await allReady('db', 2, (p) => p.metadata?.uid !== uid(after, p.metadata?.name ?? ''));
  });
});

describe('ExecDiagnostic', () => {
  it('tries the exec through the API server and says clearly that this cluster cannot run it', async () => {
    const target: ResourceRef = { kind: 'Deployment', name: 'web', namespace };
    const error = await failure(run('ExecDiagnostic', target, { command: 'cat /proc/meminfo' }));
    expect(error.code).toBe('action.unavailable');
    expect(error.category).toBe('IllegalState');
    // The simulated kubelet has no exec for this container: that is what the API server answers.
    expect(error.message).toMatch(
      new RegExp(
        `^could not run the command in pod ${namespace}/web-\\S+ \\(container app\\): .*no exec found for container`,
      ),
    );
  });

  it('refuses a command that is not on the allowlist before reaching the cluster', async () => {
    const error = await failure(
      run('ExecDiagnostic', { kind: 'Deployment', name: 'web', namespace }, { command: 'rm -rf /' }),
    );
    expect(error.code).toBe('action.unsafe');
  });
});
