import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ResourceRef } from '../../domain/events/common.schema.ts';
import { createNamespace, deleteNamespace, type KubeClients, kubeClients } from '../../test/support/kube.ts';
import { refusalOf } from '../../test/support/refusal.ts';
import { type ActionClients, createActionClients } from './action.ts';
import { requireAction } from './registry.ts';

let kube: KubeClients;
let clients: ActionClients;
let namespace: string;
let target: ResourceRef;

beforeAll(async () => {
  kube = kubeClients();
  clients = createActionClients(kube.config);
  namespace = await createNamespace(kube, 'actions-config');
  target = { kind: 'Deployment', name: 'web', namespace };
});
afterAll(() => deleteNamespace(kube, namespace));

const run = async (type: string, params: Record<string, string>) => {
  const action = requireAction(type);
  action.check(params, target);
  return action.execute({ clients, target, params });
};

const failure = refusalOf;

const decoded = (data: Record<string, string> | undefined, key: string) =>
  Buffer.from(data?.[key] ?? '', 'base64').toString('utf8');

describe('PatchConfig', () => {
  it('sets a key of a ConfigMap and leaves the others', async () => {
    await kube.core.createNamespacedConfigMap({
      namespace,
      body: { metadata: { name: 'app' }, data: { LOG_LEVEL: 'info', POOL: '10' } },
    });
    const result = await run('PatchConfig', { configmap: 'app', key: 'POOL', value: '50' });
    expect(result).toEqual({
      detail: `ConfigMap ${namespace}/app: changed POOL from "10" to "50"`,
      touched: [{ kind: 'ConfigMap', name: 'app', namespace }],
    });
    const map = await kube.core.readNamespacedConfigMap({ name: 'app', namespace });
    expect(map.data).toEqual({ LOG_LEVEL: 'info', POOL: '50' });
    expect(
      await requireAction('PatchConfig').isDone?.({
        clients,
        target,
        params: { configmap: 'app', key: 'POOL', value: '50' },
      }),
    ).toBe(true);
  });

  it('says when the ConfigMap does not exist', async () => {
    const error = await failure(run('PatchConfig', { configmap: 'nope', key: 'A', value: '1' }));
    expect(error.category).toBe('NotFound');
    expect(error.message).toBe(`there is no ConfigMap ${namespace}/nope`);
  });
});

describe('RotateSecret', () => {
  it('sets one value, or copies from a source Secret, and never reports the values', async () => {
    await kube.core.createNamespacedSecret({
      namespace,
      body: { metadata: { name: 'db' }, stringData: { username: 'app', password: 'old-pass' } },
    });
    await kube.core.createNamespacedSecret({
      namespace,
      body: { metadata: { name: 'db-next' }, stringData: { username: 'app2', password: 'next-pass' } },
    });

    const one = await run('RotateSecret', { secret: 'db', key: 'password', value: 'n3w-pass' });
    expect(one.detail).toBe(`rotated password of Secret ${namespace}/db; pods read new values only when restarted`);
    let secret = await kube.core.readNamespacedSecret({ name: 'db', namespace });
    expect(decoded(secret.data, 'password')).toBe('n3w-pass');
    expect(decoded(secret.data, 'username')).toBe('app');

    const copied = await run('RotateSecret', { secret: 'db', sourceSecret: 'db-next' });
    expect(copied.detail).not.toMatch(/next-pass|app2/);
    secret = await kube.core.readNamespacedSecret({ name: 'db', namespace });
    expect(decoded(secret.data, 'password')).toBe('next-pass');
    expect(decoded(secret.data, 'username')).toBe('app2');
  });

  it("refuses to rewrite a Secret the cluster's machinery owns", async () => {
    await kube.core.createNamespacedSecret({
      namespace,
      body: {
        metadata: { name: 'sh.helm.release.v1.shop.v1' },
        type: 'helm.sh/release.v1',
        stringData: { release: 'x' },
      },
    });
    const error = await failure(
      run('RotateSecret', { secret: 'sh.helm.release.v1.shop.v1', key: 'release', value: 'y' }),
    );
    expect(error.code).toBe('action.unsafe');
  });
});

describe('ApplyManifest', () => {
  const manifests = {
    service: JSON.stringify({
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'web', labels: { app: 'web' } },
      spec: { selector: { app: 'web' }, ports: [{ name: 'http', port: 80, targetPort: 8080 }] },
    }),
    budget: JSON.stringify({
      apiVersion: 'policy/v1',
      kind: 'PodDisruptionBudget',
      metadata: { name: 'web' },
      spec: { maxUnavailable: 1, selector: { matchLabels: { app: 'web' } } },
    }),
    policy: JSON.stringify({
      apiVersion: 'networking.k8s.io/v1',
      kind: 'NetworkPolicy',
      metadata: { name: 'web' },
      spec: {
        podSelector: { matchLabels: { app: 'web' } },
        policyTypes: ['Ingress'],
        ingress: [{ from: [{ podSelector: { matchLabels: { app: 'edge' } } }], ports: [{ port: 8080 }] }],
      },
    }),
    secret: JSON.stringify({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 'x' }, stringData: { a: 'b' } }),
    elsewhere: JSON.stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'x', namespace: 'default' } }),
    broken: '{"apiVersion": "v1",',
  };

  beforeAll(() =>
    kube.core.createNamespacedConfigMap({ namespace, body: { metadata: { name: 'manifests' }, data: manifests } }),
  );

  it('creates, then updates, an allowlisted object from a ConfigMap key', async () => {
    const created = await run('ApplyManifest', { configmap: 'manifests', key: 'service' });
    expect(created.detail).toBe(`created Service ${namespace}/web from ConfigMap ${namespace}/manifests key service`);
    const service = await kube.core.readNamespacedService({ name: 'web', namespace });
    expect(service.spec?.ports?.[0]).toMatchObject({ name: 'http', port: 80, targetPort: 8080 });

    await run('ApplyManifest', { configmap: 'manifests', key: 'budget' });
    const budget = await clients.policy.readNamespacedPodDisruptionBudget({ name: 'web', namespace });
    expect(budget.spec?.maxUnavailable).toBe(1);

    // Applied as raw JSON: a typed client model would have dropped `from` and opened the policy to everyone.
    await run('ApplyManifest', { configmap: 'manifests', key: 'policy' });
    const policy = (await clients.custom.getNamespacedCustomObject({
      group: 'networking.k8s.io',
      version: 'v1',
      plural: 'networkpolicies',
      namespace,
      name: 'web',
    })) as { spec: { ingress: { from: unknown }[] } };
    expect(policy.spec.ingress[0]?.from).toEqual([{ podSelector: { matchLabels: { app: 'edge' } } }]);

    const again = await run('ApplyManifest', { configmap: 'manifests', key: 'service' });
    expect(again.detail).toMatch(/^updated Service/);
  });

  it('refuses kinds outside the allowlist, other namespaces and broken JSON, creating nothing', async () => {
    expect((await failure(run('ApplyManifest', { configmap: 'manifests', key: 'secret' }))).code).toBe('action.unsafe');
    const elsewhere = await failure(run('ApplyManifest', { configmap: 'manifests', key: 'elsewhere' }));
    expect(elsewhere.code).toBe('action.unsafe');
    expect(elsewhere.message).toMatch(/targets namespace "default"/);
    expect((await failure(run('ApplyManifest', { configmap: 'manifests', key: 'broken' }))).code).toBe(
      'action.invalid_params',
    );
    const missingKey = await failure(run('ApplyManifest', { configmap: 'manifests', key: 'nothing' }));
    expect(missingKey.message).toMatch(/^key: ConfigMap .* has no key "nothing"/);
    const secrets = await kube.core.listNamespacedSecret({ namespace, fieldSelector: 'metadata.name=x' });
    expect(secrets.items).toEqual([]);
    await expect(kube.core.readNamespacedConfigMap({ name: 'x', namespace: 'default' })).rejects.toMatchObject({
      code: 404,
    });
  });
});
