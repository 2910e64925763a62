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
  namespace = await createNamespace(kube, 'actions-net');
  target = { kind: 'Deployment', name: 'web', namespace };
  for (const [name, port] of [
    ['web', 80],
    ['web-v2', 8080],
  ] as const) {
    await kube.core.createNamespacedService({
      namespace,
      body: { metadata: { name }, spec: { selector: { app: name }, ports: [{ name: 'http', port }] } },
    });
  }
});
afterAll(() => deleteNamespace(kube, namespace));

const run = async (type: string, params: Record<string, string>) => {
  const action = requireAction(type);
  action.check(params, target);
  return action.execute({ clients, target, params });
};

const failure = refusalOf;

describe('UpdateIngress', () => {
  it('points the paths of an Ingress at another Service, which must exist with that port', async () => {
    await clients.networking.createNamespacedIngress({
      namespace,
      body: {
        metadata: { name: 'shop' },
        spec: {
          rules: [
            {
              host: 'shop.local',
              http: {
                paths: [
                  { path: '/', pathType: 'Prefix', backend: { service: { name: 'web', port: { number: 80 } } } },
                  { path: '/api', pathType: 'Prefix', backend: { service: { name: 'web', port: { name: 'http' } } } },
                ],
              },
            },
          ],
        },
      },
    });
    const wrongPort = await failure(
      run('UpdateIngress', { ingress: 'shop', backendService: 'web-v2', backendPort: '9999' }),
    );
    expect(wrongPort.message).toBe(`backendPort: Service ${namespace}/web-v2 has no port 9999 (it has http/8080)`);
    const noService = await failure(
      run('UpdateIngress', { ingress: 'shop', backendService: 'ghost', backendPort: '80' }),
    );
    expect(noService.category).toBe('NotFound');

    const onePath = await run('UpdateIngress', {
      ingress: 'shop',
      backendService: 'web-v2',
      backendPort: '8080',
      path: '/api',
    });
    expect(onePath.detail).toBe(`Ingress ${namespace}/shop: shop.local/api: web:http → web-v2:8080`);
    let ingress = await clients.networking.readNamespacedIngress({ name: 'shop', namespace });
    const backends = () => ingress.spec?.rules?.[0]?.http?.paths.map((p) => p.backend.service);
    expect(backends()).toEqual([
      { name: 'web', port: { number: 80 } },
      { name: 'web-v2', port: { number: 8080 } },
    ]);

    // Now it routes to two Services: without a path the change would be a guess.
    const ambiguous = await failure(
      run('UpdateIngress', { ingress: 'shop', backendService: 'web-v2', backendPort: 'http' }),
    );
    expect(ambiguous.message).toMatch(/^path: .*routes to web, web-v2/);
    await run('UpdateIngress', { ingress: 'shop', backendService: 'web-v2', backendPort: 'http', host: 'shop.local' });
    ingress = await clients.networking.readNamespacedIngress({ name: 'shop', namespace });
    expect(backends()).toEqual([
      { name: 'web-v2', port: { name: 'http' } },
      { name: 'web-v2', port: { name: 'http' } },
    ]);
  });
});

describe('PatchNetworkPolicy', () => {
  it('adds the port to the port-restricted rules, keeping their sources', async () => {
    await clients.networking.createNamespacedNetworkPolicy({
      namespace,
      body: {
        metadata: { name: 'db' },
        spec: {
          podSelector: { matchLabels: { app: 'db' } },
          policyTypes: ['Ingress'],
          ingress: [
            { _from: [{ podSelector: { matchLabels: { app: 'web' } } }], ports: [{ port: 80, protocol: 'TCP' }] },
            { _from: [{ podSelector: { matchLabels: { app: 'metrics' } } }] },
          ],
        },
      },
    });
    const result = await run('PatchNetworkPolicy', { networkPolicy: 'db', allowPort: '5432' });
    expect(result.detail).toBe(`NetworkPolicy ${namespace}/db: allowed 5432/TCP in 1 ingress rule(s)`);
    const policy = await clients.networking.readNamespacedNetworkPolicy({ name: 'db', namespace });
    expect(policy.spec?.ingress?.[0]?.ports).toEqual([
      { port: 80, protocol: 'TCP' },
      { port: 5432, protocol: 'TCP' },
    ]);
    expect(policy.spec?.ingress?.[0]?._from).toEqual([{ podSelector: { matchLabels: { app: 'web' } } }]);
    expect(policy.spec?.ingress?.[1]?.ports).toBeUndefined();
    expect(policy.spec?.ingress?.[1]?._from).toEqual([{ podSelector: { matchLabels: { app: 'metrics' } } }]);

    const again = await run('PatchNetworkPolicy', { networkPolicy: 'db', allowPort: '5432' });
    expect(again).toEqual({ detail: `NetworkPolicy ${namespace}/db already allows 5432/TCP`, touched: [] });
  });

  it('refuses to open a deny-all policy to every source', async () => {
    await clients.networking.createNamespacedNetworkPolicy({
      namespace,
      body: { metadata: { name: 'deny-all' }, spec: { podSelector: {}, policyTypes: ['Ingress'] } },
    });
    const error = await failure(run('PatchNetworkPolicy', { networkPolicy: 'deny-all', allowPort: '80' }));
    expect(error.code).toBe('action.unsafe');
    const policy = await clients.networking.readNamespacedNetworkPolicy({ name: 'deny-all', namespace });
    expect(policy.spec?.ingress).toBeUndefined();
  });
});
