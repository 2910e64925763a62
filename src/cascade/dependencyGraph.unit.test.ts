import { describe, expect, it } from 'vitest';
import {
  buildDependencyGraph,
  type DependencyFacts,
  dependantsOf,
  dependenciesOf,
  namespacesNamed,
  servicesNamedIn,
  type WorkloadFact,
} from './dependencyGraph.ts';

const deployment = (name: string, namespace = 'shop') => ({ kind: 'Deployment', name, namespace });
const workload = (name: string, extra: Partial<WorkloadFact> = {}, namespace = 'shop'): WorkloadFact => ({
  ref: deployment(name, namespace),
  podLabels: { app: name },
  annotations: {},
  env: [],
  configMaps: [],
  ...extra,
});
const service = (name: string, app: string = name, namespace = 'shop') => ({ namespace, name, selector: { app } });
const edgesOf = (facts: DependencyFacts) =>
  buildDependencyGraph(facts).edges.map((edge) => `${edge.from.name}→${edge.to.name}`);

describe('servicesNamedIn', () => {
  const known = new Set(['shop/backend', 'shop/cache', 'data/db']);
  const namespaces = new Set(['shop', 'data']);
  const named = (text: string) => servicesNamedIn(text, 'shop', known, namespaces);

  it('finds a Service in a URL, as host:port, in every DNS form, and as the whole value', () => {
    expect(named('http://backend:8080/api')).toEqual(['shop/backend']);
    expect(named('cache:6379,backend:80')).toEqual(['shop/backend', 'shop/cache']);
    expect(named('postgres://app:s3cret@db.data.svc.cluster.local:5432/orders')).toEqual(['data/db']);
    expect(named('db.data')).toEqual(['data/db']);
    expect(named('db.data.svc')).toEqual(['data/db']);
    expect(named('backend')).toEqual(['shop/backend']);
  });

  it('reads a huge value only up to its bound, whatever it holds', () => {
    const noise = `${'a.'.repeat(20_000)}://${'x-'.repeat(20_000)}`;
    expect(named(`backend:80 ${noise}`)).toEqual(['shop/backend']);
    expect(named(`${'z'.repeat(70_000)} cache:6379`)).toEqual([]);
  });

  it('does not take ordinary words or unknown names for Services', () => {
    expect(named('the backend is slow')).toEqual([]);
    expect(named('http://example.com/backend')).toEqual([]);
    expect(named('unknown:80')).toEqual([]);
    expect(named('db.other')).toEqual([]);
  });
});

describe('buildDependencyGraph', () => {
  it('links callers to the workloads behind the Service their env names, with the variable as evidence', () => {
    const graph = buildDependencyGraph({
      workloads: [workload('web', { env: [{ name: 'API_URL', value: 'http://backend:8080' }] }), workload('backend')],
      services: [service('backend')],
    });
    expect(graph.edges).toEqual([
      {
        from: deployment('web'),
        to: deployment('backend'),
        evidence: [{ source: 'env', service: 'shop/backend', detail: 'env API_URL' }],
      },
    ]);
    // Evidence names the variable, never its value (values may carry credentials).
    expect(JSON.stringify(graph)).not.toContain('8080');
  });

  it('links to every workload a Service selects', () => {
    expect(
      edgesOf({
        workloads: [
          workload('web', { env: [{ name: 'API', value: 'api:80' }] }),
          workload('api-blue', { podLabels: { tier: 'api', colour: 'blue' } }),
          workload('api-green', { podLabels: { tier: 'api', colour: 'green' } }),
          workload('other', { podLabels: { tier: 'db' } }),
        ],
        services: [{ namespace: 'shop', name: 'api', selector: { tier: 'api' } }],
      }),
    ).toEqual(['web→api-blue', 'web→api-green']);
  });

  it('reads ConfigMaps by key reference, envFrom and volume, and the declared annotation', () => {
    const graph = buildDependencyGraph({
      workloads: [
        workload('web', {
          env: [{ name: 'UPSTREAM', configMapKeyRef: { name: 'settings', key: 'upstream' } }],
          configMaps: [{ name: 'files', via: 'volume' }],
          annotations: { 'cairn.dev/depends-on': 'queue, data/db, nope, Bad/Name!' },
        }),
        workload('backend'),
        workload('cache'),
        workload('queue'),
        workload('db', {}, 'data'),
      ],
      services: [service('backend'), service('cache'), service('queue'), service('db', 'db', 'data')],
      configMaps: [
        { namespace: 'shop', name: 'settings', data: { upstream: 'https://backend.shop.svc/v1' } },
        { namespace: 'shop', name: 'files', data: { 'app.yaml': 'redis:\n  host: cache.shop.svc.cluster.local\n' } },
      ],
    });
    const evidence = Object.fromEntries(
      graph.edges.map((edge) => [edge.to.name, edge.evidence.map((e) => `${e.source}: ${e.detail}`)]),
    );
    expect(evidence).toEqual({
      backend: ['configMap: ConfigMap settings key upstream (env UPSTREAM)'],
      cache: ['configMap: ConfigMap files key app.yaml (volume)'],
      queue: ['annotation: annotation cairn.dev/depends-on'],
      db: ['annotation: annotation cairn.dev/depends-on'],
    });
    expect(graph.unresolved.map((u) => u.detail)).toEqual([
      'annotation cairn.dev/depends-on names Service shop/nope, which does not exist',
      'annotation cairn.dev/depends-on: "Bad/Name!" is not a Service name or namespace/name',
    ]);
  });

  it('places Services without a selector through their EndpointSlices, and Ingresses as callers', () => {
    expect(
      edgesOf({
        workloads: [workload('web', { env: [{ name: 'LEGACY', value: 'legacy:9000' }] }), workload('old')],
        services: [{ namespace: 'shop', name: 'legacy' }, service('web')],
        endpointSlices: [{ namespace: 'shop', serviceName: 'legacy', workloads: [deployment('old')] }],
        ingresses: [{ namespace: 'shop', name: 'public', serviceNames: ['web', 'missing'] }],
      }),
    ).toEqual(['web→old', 'public→web']);
  });

  it('adds no edge for a workload naming its own Service, and keeps cycles', () => {
    const graph = buildDependencyGraph({
      workloads: [
        workload('a', {
          env: [
            { name: 'SELF', value: 'a:80' },
            { name: 'NEXT', value: 'b:80' },
          ],
        }),
        workload('b', { env: [{ name: 'NEXT', value: 'c:80' }] }),
        workload('c', { env: [{ name: 'NEXT', value: 'a:80' }] }),
      ],
      services: [service('a'), service('b'), service('c')],
    });
    expect(graph.edges.map((e) => `${e.from.name}→${e.to.name}`)).toEqual(['a→b', 'b→c', 'c→a']);
    // Walks end where the cycle closes, and never list the start.
    expect(dependantsOf(graph, deployment('a')).map((r) => r.name)).toEqual(['c', 'b']);
    expect(dependenciesOf(graph, deployment('a')).map((r) => r.name)).toEqual(['b', 'c']);
  });

  it('gives transitive callers nearest first, and nothing for an unknown workload', () => {
    const graph = buildDependencyGraph({
      workloads: [
        workload('web', { env: [{ name: 'API', value: 'api:80' }] }),
        workload('mobile', { env: [{ name: 'API', value: 'http://api' }] }),
        workload('api', { env: [{ name: 'DB', value: 'db:5432' }] }),
        workload('db'),
      ],
      services: [service('api'), service('db')],
    });
    expect(dependantsOf(graph, deployment('db')).map((r) => r.name)).toEqual(['api', 'mobile', 'web']);
    expect(dependantsOf(graph, deployment('ghost'))).toEqual([]);
  });
});

describe('namespacesNamed', () => {
  it('names the other namespaces a workload points at, to be read too', () => {
    expect(
      namespacesNamed({
        workloads: [
          workload('web', {
            env: [
              { name: 'DB', value: 'db.data.svc:5432' },
              { name: 'QUEUE', configMapKeyRef: { name: 'settings', key: 'queue' } },
            ],
            annotations: { 'cairn.dev/depends-on': 'billing/invoices, local' },
          }),
        ],
        services: [],
        configMaps: [{ namespace: 'shop', name: 'settings', data: { queue: 'amqp://mq.messaging:5672' } }],
      }),
    ).toEqual(['billing', 'data', 'messaging']);
  });

  it('reads a huge value once', () => {
    const env = [{ name: 'BLOB', value: `${'z'.repeat(60_000)} db.data.svc:5432` }];
    expect(namespacesNamed({ workloads: [workload('web', { env })], services: [] })).toEqual(['data']);
  });
});
