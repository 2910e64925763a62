import { afterAll, beforeAll, describe, expect, it } from 'vitest';
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
import { type AnalysisRequest, assertAnalysisResult } from '../analysis/provider.ts';
import { analyzeWithRules } from '../analysis/rules.provider.ts';
import type { KubernetesContext } from '../analysis/workloadFacts.ts';
import { createKubernetesContextBuilder, type KubernetesContextBuilder } from './kubernetesContext.ts';

/** The context of Issues about Services and quotas, read from the real API server and its controllers. */

let clients: KubeClients;
let builder: KubernetesContextBuilder;
const namespaces: string[] = [];

beforeAll(async () => {
  clients = kubeClients();
  builder = createKubernetesContextBuilder(clients.config);
});
afterAll(async () => {
  for (const namespace of namespaces) await deleteNamespace(clients, namespace);
});

const request = (context: KubernetesContext, signal: string): AnalysisRequest => ({
  issueId: `${context.facts.name}-issue`,
  namespace: context.facts.namespace,
  workload: { kind: context.facts.kind, name: context.facts.name, namespace: context.facts.namespace },
  signal,
  signals: [signal],
  severity: 'medium',
  riskScore: 40,
  description: `${signal} on ${context.facts.name}`,
  context,
  previousFailures: [],
  doNotRepeat: [],
});

const analyze = (context: KubernetesContext, signal: string) => {
  const result = analyzeWithRules(request(context, signal));
  assertAnalysisResult('rules', result);
  return result;
};

describe('an Issue about a Service', () => {
  let namespace: string;

  beforeAll(async () => {
    namespace = await createNamespace(clients, 'ctxsvc');
    namespaces.push(namespace);
    await clients.apps.createNamespacedDeployment({ namespace, body: deployment('catalog', { replicas: 1 }) });
    await eventually('catalog ready', async () => (await podsOf(clients, namespace, 'catalog')).some(isReady), 120_000);
    for (const [name, app] of [
      ['catalog', 'catalog'],
      ['catalog-typo', 'catalgo'],
    ] as const) {
      await clients.core.createNamespacedService({
        namespace,
        body: {
          metadata: { name },
          spec: { selector: { app }, ports: [{ name: 'http', port: 80, targetPort: 8080 }] },
        },
      });
    }
  }, 180_000);

  it('a selector with a typo: the context reads the Service, names the label, and the rules propose nothing', async () => {
    const context = await builder.build({ kind: 'Service', name: 'catalog-typo', namespace });
    expect(context.facts.found).toBe(true);
    expect(context.facts.subject?.problems).toEqual([
      'spec.selector of Service catalog-typo matches no pod: app is catalgo but the nearest pods have app=catalog',
    ]);
    expect(context.text).toContain('Selector: app=catalgo');
    const result = analyze(context, 'service_no_endpoints');
    expect(result.suggestedActions).toEqual([]);
    expect(result.confidence).toBeLessThanOrEqual(0.3);
    expect(result.analysis).toContain('spec.selector of Service catalog-typo');
  });

  it('a healthy Service: its pods, its ready endpoints from the EndpointSlices, no problem', async () => {
    const context = await eventually(
      'the EndpointSlice of catalog to list a ready address',
      async () => {
        const built = await builder.build({ kind: 'Service', name: 'catalog', namespace });
        return built.facts.services?.[0]?.readyEndpoints === 1 ? built : undefined;
      },
      120_000,
    );
    expect(context.facts.subject?.problems).toEqual([]);
    expect(context.facts.podCount).toBe(1);
    expect(context.facts.services?.[0]).toMatchObject({ name: 'catalog', matchingPods: 1, selectsWorkload: true });
  });

  it("the Deployment's own context lists the Service that selects it and the one that almost does", async () => {
    const context = await builder.build({ kind: 'Deployment', name: 'catalog', namespace });
    expect(context.facts.services?.map((s) => [s.name, s.selectsWorkload, s.mismatchedLabels])).toEqual([
      ['catalog', true, undefined],
      ['catalog-typo', false, [{ key: 'app', wants: 'catalgo', podsHave: 'catalog' }]],
    ]);
    expect(context.text).toContain('Service catalog-typo (ClusterIP) selector app=catalgo: 0 pod(s) match');
  });
});

describe('quota state', () => {
  let namespace: string;

  beforeAll(async () => {
    namespace = await createNamespace(clients, 'ctxquota');
    namespaces.push(namespace);
    await clients.core.createNamespacedResourceQuota({
      namespace,
      body: { metadata: { name: 'compute' }, spec: { hard: { pods: '1', 'limits.memory': '1Gi' } } },
    });
    await clients.core.createNamespacedLimitRange({
      namespace,
      body: {
        metadata: { name: 'bounds' },
        spec: { limits: [{ type: 'Container', max: { memory: '512Mi' } }] },
      },
    });
    // The quota controller fills in the status; admission refuses pods until it has.
    await eventually(
      'the quota status',
      async () =>
        (await clients.core.readNamespacedResourceQuota({ name: 'compute', namespace })).status?.hard?.pods === '1',
      60_000,
    );
    await clients.apps.createNamespacedDeployment({ namespace, body: deployment('batch', { replicas: 2 }) });
  }, 120_000);

  it('a ReplicaSet past the quota: the context shows used/hard and the blocker, and the rules escalate', async () => {
    const context = await eventually(
      'the ReplicaSet to report the exceeded quota',
      async () => {
        const built = await builder.build({ kind: 'Deployment', name: 'batch', namespace });
        return built.facts.blockers?.some((b) => b.code === 'quota_exceeded') &&
          built.facts.quotas?.[0]?.exhausted.includes('pods')
          ? built
          : undefined;
      },
      120_000,
    );
    expect(context.facts.quotas).toEqual([
      { name: 'compute', usage: { 'limits.memory': '128Mi/1Gi', pods: '1/1' }, exhausted: ['pods'] },
    ]);
    expect(context.facts.blockers?.[0]).toMatchObject({
      code: 'quota_exceeded',
      object: { kind: 'ResourceQuota', name: 'compute' },
      revision: 1,
    });
    // The API server fills a LimitRange's defaults from its max.
    expect(context.facts.limitRanges).toEqual([
      'bounds: Container max memory=512Mi, default memory=512Mi, defaultRequest memory=512Mi',
    ]);
    expect(context.text).toContain('ResourceQuota compute: limits.memory 128Mi/1Gi, pods 1/1 — EXHAUSTED: pods');

    const result = analyze(context, 'deploy_failing');
    expect(result.suggestedActions).toEqual([]);
    expect(result.confidence).toBeLessThanOrEqual(0.3);
    expect(result.analysis).toContain('ResourceQuota compute: limits.memory 128Mi/1Gi, pods 1/1');
    expect(result.recommendations.join(' ')).toContain('Raise the hard limits of ResourceQuota compute');
  });
});
