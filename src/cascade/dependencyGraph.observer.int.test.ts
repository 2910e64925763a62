import * as k8s from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createNamespace,
  deleteNamespace,
  deployment,
  eventually,
  type KubeClients,
  kubeClients,
  podsOf,
} from '../../test/support/kube.ts';
import { createDependencyGraphObserver, observeDependencyGraph } from './dependencyGraph.observer.ts';
import { type DependencyGraph, dependantsOf } from './dependencyGraph.ts';

let clients: KubeClients;
let shop: string;
let data: string;

const ref = (name: string, namespace = shop) => ({ kind: 'Deployment', name, namespace });
const withEnv = (name: string, env: k8s.V1EnvVar[], extra: Partial<k8s.V1PodSpec> = {}) => {
  const body = deployment(name, { replicas: 1 });
  body.spec!.template.spec!.containers[0]!.env = env;
  Object.assign(body.spec!.template.spec!, extra);
  return body;
};
const service = (name: string, selector?: Record<string, string>): k8s.V1Service => ({
  metadata: { name },
  spec: { ...(selector ? { selector } : {}), ports: [{ port: 80, targetPort: 8080 }] },
});
const edges = (graph: DependencyGraph) =>
  graph.edges.map((e) => `${e.from.kind}/${e.from.name}→${e.to.name}: ${e.evidence.map((x) => x.detail).join(', ')}`);

beforeAll(async () => {
  clients = kubeClients();
  shop = await createNamespace(clients, 'graph-shop');
  data = await createNamespace(clients, 'graph-data');
  const apps = clients.apps;
  const core = clients.core;
  // data/db, called from shop by its full DNS name.
  await apps.createNamespacedDeployment({ namespace: data, body: deployment('db', { replicas: 1 }) });
  await core.createNamespacedService({ namespace: data, body: service('db', { app: 'db' }) });

  await core.createNamespacedConfigMap({
    namespace: shop,
    body: { metadata: { name: 'web-settings' }, data: { 'upstreams.yaml': `cart: http://cart.${shop}.svc\n` } },
  });
  await core.createNamespacedConfigMap({
    namespace: shop,
    body: {
      metadata: { name: 'api-settings' },
      data: { DATABASE: `postgres://app:hunter2@db.${data}.svc.cluster.local:5432/x` },
    },
  });
  await apps.createNamespacedDeployment({
    namespace: shop,
    body: withEnv('web', [{ name: 'API_URL', value: 'http://api:80' }], {
      volumes: [{ name: 'settings', configMap: { name: 'web-settings' } }],
    }),
  });
  await apps.createNamespacedDeployment({
    namespace: shop,
    body: withEnv('api', [
      { name: 'DATABASE_URL', valueFrom: { configMapKeyRef: { name: 'api-settings', key: 'DATABASE' } } },
      { name: 'LEGACY', value: 'legacy:9000' },
    ]),
  });
  // A cycle: cart calls api through its env, api declares it depends on cart.
  const cart = withEnv('cart', [{ name: 'PRICES', value: 'api:80' }]);
  await apps.createNamespacedDeployment({ namespace: shop, body: cart });
  await apps.patchNamespacedDeployment({
    namespace: shop,
    name: 'api',
    body: [{ op: 'add', path: '/metadata/annotations', value: { 'cairn.dev/depends-on': 'cart, ghost' } }],
  });
  await apps.createNamespacedDeployment({ namespace: shop, body: deployment('old', { replicas: 1 }) });
  for (const name of ['web', 'api', 'cart']) {
    await core.createNamespacedService({ namespace: shop, body: service(name, { app: name }) });
  }
  // A Service without a selector, whose EndpointSlice names a pod of `old`.
  await core.createNamespacedService({ namespace: shop, body: service('legacy') });
  const pod = await eventually('a pod of old', async () => (await podsOf(clients, shop, 'old'))[0], 120_000);
  await clients.config.makeApiClient(k8s.DiscoveryV1Api).createNamespacedEndpointSlice({
    namespace: shop,
    body: {
      metadata: { name: 'legacy-1', labels: { 'kubernetes.io/service-name': 'legacy' } },
      addressType: 'IPv4',
      endpoints: [{ addresses: ['10.9.9.9'], targetRef: { kind: 'Pod', name: pod.metadata!.name!, namespace: shop } }],
      ports: [{ port: 8080 }],
    },
  });
  await clients.config.makeApiClient(k8s.NetworkingV1Api).createNamespacedIngress({
    namespace: shop,
    body: {
      metadata: { name: 'public' },
      spec: {
        rules: [
          {
            http: {
              paths: [{ path: '/', pathType: 'Prefix', backend: { service: { name: 'web', port: { number: 80 } } } }],
            },
          },
        ],
      },
    },
  });
}, 180_000);

afterAll(async () => {
  for (const namespace of [shop, data]) if (namespace) await deleteNamespace(clients, namespace);
});

describe('observeDependencyGraph against the API server', () => {
  it('finds edges from env, ConfigMaps, the annotation, EndpointSlices, an Ingress and across namespaces', async () => {
    const graph = await observeDependencyGraph(clients.config, [shop]);
    expect(edges(graph).sort()).toEqual(
      [
        `Deployment/api→cart: annotation cairn.dev/depends-on`,
        `Deployment/api→db: ConfigMap api-settings key DATABASE (env DATABASE_URL)`,
        'Deployment/api→old: env LEGACY',
        'Deployment/cart→api: env PRICES',
        'Deployment/web→api: env API_URL',
        'Deployment/web→cart: ConfigMap web-settings key upstreams.yaml (volume)',
        'Ingress/public→web: Ingress public backend web',
      ].sort(),
    );
    expect(graph.edges.find((e) => e.to.name === 'db')?.to).toEqual(ref('db', data));
    // The unknown name in the annotation is reported, not guessed; no value (a password in a URL) is kept.
    expect(graph.unresolved.map((u) => u.detail)).toEqual([
      `annotation cairn.dev/depends-on names Service ${shop}/ghost, which does not exist`,
    ]);
    expect(JSON.stringify(graph)).not.toContain('hunter2');
    expect(graph.truncated).toBeUndefined();
  });

  it('walks callers transitively through the cycle and ends', async () => {
    const graph = await observeDependencyGraph(clients.config, [shop]);
    const callers = dependantsOf(graph, ref('db', data)).map((r) => `${r.kind}/${r.name}`);
    expect(callers.sort()).toEqual(['Deployment/api', 'Deployment/cart', 'Deployment/web', 'Ingress/public']);
  });

  it('reuses what it read within the TTL and reads again after it', async () => {
    let clock = 0;
    const observer = createDependencyGraphObserver(clients.config, { ttlMs: 1_000, now: () => new Date(clock) });
    const first = await observer.observe([shop]);
    await clients.core.createNamespacedService({ namespace: shop, body: service('old', { app: 'old' }) });
    await clients.apps.createNamespacedDeployment({
      namespace: shop,
      body: withEnv('batch', [{ name: 'TARGET', value: 'old:80' }]),
    });
    expect(edges(await observer.observe([shop]))).toEqual(edges(first));
    clock = 5_000;
    expect(edges(await observer.observe([shop]))).toContain('Deployment/batch→old: env TARGET');
  });
});
