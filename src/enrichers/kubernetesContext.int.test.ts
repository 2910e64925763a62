import type * as k8s from '@kubernetes/client-node';
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
  testCluster,
} from '../../test/support/kube.ts';
import { type AnalysisRequest, assertAnalysisResult } from '../analysis/provider.ts';
import { analyzeWithRules } from '../analysis/rules.provider.ts';
import type { KubernetesContext } from '../analysis/workloadFacts.ts';
import { applyFault, markImage } from '../cluster/faults.ts';
import { kubectl, type LocalCluster } from '../cluster/localCluster.ts';
import { FaultMarks } from '../cluster/stages.ts';
import { createKubernetesContextBuilder, type KubernetesContextBuilder } from './kubernetesContext.ts';

let clients: KubeClients;
let cluster: LocalCluster;
let namespace: string;
let builder: KubernetesContextBuilder;

const GOOD = 'registry.local/shop/web:1.0.0';

beforeAll(async () => {
  clients = kubeClients();
  cluster = await testCluster();
  namespace = await createNamespace(clients, 'context');
  builder = createKubernetesContextBuilder(clients.config);
});
afterAll(() => deleteNamespace(clients, namespace));

const ref = (name: string, kind = 'Deployment') => ({ kind, name, namespace });

const allReady = (app: string, count: number, image?: string) =>
  eventually(`${count} ready pods of ${app}`, async () => {
    const pods = await podsOf(clients, namespace, app);
    const ready = pods.filter((p) => isReady(p) && (!image || p.spec?.containers[0]?.image === image));
    return pods.length === count && ready.length === count ? pods : undefined;
  });

const request = (context: KubernetesContext, signal: string): AnalysisRequest => ({
  issueId: `${context.facts.name}-issue`,
  namespace,
  workload: ref(context.facts.name, context.facts.kind),
  signal,
  signals: [signal],
  severity: 'high',
  riskScore: 60,
  description: `${signal} on ${context.facts.name}`,
  context,
  previousFailures: [],
  doNotRepeat: [],
});

const restarts = (pod: k8s.V1Pod) => pod.status?.containerStatuses?.[0]?.restartCount ?? 0;

describe('the Kubernetes context of a Deployment rolled to a crashing image', () => {
  let context: KubernetesContext;
  const broken = markImage(GOOD, FaultMarks.crashImage);

  beforeAll(async () => {
    await clients.apps.createNamespacedDeployment({ namespace, body: deployment('web', { replicas: 2 }) });
    await allReady('web', 2, GOOD);
    await applyFault(cluster, 'crashloop', `${namespace}/web`);
    // Wait for the evidence a real incident would show: restarts and BackOff events on the new pods.
    context = await eventually('a crash-looping pod with BackOff events in the context', async () => {
      const built = await builder.build(ref('web'));
      const looping = built.facts.pods.some((p) => p.restarts >= 2 && !p.ready);
      return looping && built.text.includes('BackOff') ? built : undefined;
    });
  });

  it('lists both revisions with the image diff, the new one current and the old one serving', () => {
    const { text, facts } = context;
    expect(facts.found).toBe(true);
    expect(facts.currentRevision).toBe(2);
    const [current, previous] = facts.revisions;
    expect(current).toMatchObject({ revision: 2, current: true, ready: false, images: { app: broken } });
    expect(current?.imageChanges).toEqual([{ container: 'app', from: GOOD, to: broken }]);
    expect(previous).toMatchObject({ revision: 1, current: false, ready: true, images: { app: GOOD } });
    expect(text).toMatch(
      new RegExp(
        `revision 2 \\(web-[a-z0-9]+\\) CURRENT: .*image changed: app ${escapeRegExp(GOOD)} → ${escapeRegExp(broken)}`,
      ),
    );
    expect(text).toMatch(/revision 1 \(web-[a-z0-9]+\): \d pod\(s\), [1-9] ready/);
  });

  it('shows the crashing pod first and the BackOff events', () => {
    const { text, facts } = context;
    const first = facts.pods[0];
    expect(first).toMatchObject({ revision: 2, ready: false });
    expect(first?.restarts).toBeGreaterThanOrEqual(2);
    expect(facts.crashLooping).toBe(true);
    expect(facts.warningReasons).toContain('BackOff');
    const podsSection = text.slice(text.indexOf('== Pods'), text.indexOf('== Recent events'));
    expect(podsSection.split('\n')[1]).toContain(first?.name);
    expect(podsSection).toContain(broken);
    expect(text).toMatch(/Warning BackOff Pod\/web-/);
    expect(text.length).toBeLessThanOrEqual(12_000);
  });

  it('leads the rules provider to a rollback to revision 1, which really clears the fault', async () => {
    const result = assertAnalysisResult('rules', analyzeWithRules(request(context, 'pod_restart')));
    expect(result.suggestedActions).toHaveLength(1);
    expect(result.suggestedActions[0]).toMatchObject({ type: 'RollbackDeployment', params: { toRevision: '1' } });
    expect(result.confidence).toBeGreaterThanOrEqual(0.8);
    // What the executor will do with it, done by hand: the suggestion is right only if it heals the workload.
    await kubectl(cluster, ['-n', namespace, 'rollout', 'undo', 'deployment/web', '--to-revision=1']);
    await allReady('web', 2, GOOD);
  });
});

describe('the Kubernetes context of an OOM-killed Deployment', () => {
  it('shows the OOM kill and leads the rules provider to a higher memory limit, which clears it', async () => {
    await clients.apps.createNamespacedDeployment({
      namespace,
      body: deployment('mem', { replicas: 1, memoryLimit: '128Mi' }),
    });
    await allReady('mem', 1);
    await applyFault(cluster, 'oom', `${namespace}/mem`);
    const context = await eventually('an OOMKilled container in the context', async () => {
      const built = await builder.build(ref('mem'));
      return built.facts.oomKilled ? built : undefined;
    });
    expect(context.facts.oomKilledContainers).toEqual(['app']);
    expect(context.text).toContain('OOMKilled (exit 137)');
    expect(context.facts.containers[0]).toMatchObject({ name: 'app', memoryLimit: '128Mi' });

    const result = assertAnalysisResult('rules', analyzeWithRules(request(context, 'oom_kill')));
    expect(result.suggestedActions).toEqual([
      expect.objectContaining({
        type: 'AdjustResources',
        params: { container: 'app', memory_limit: '256Mi', memory_request: '256Mi' },
      }),
    ]);
    const params = result.suggestedActions[0]?.params ?? {};
    await kubectl(cluster, [
      '-n',
      namespace,
      'set',
      'resources',
      'deployment/mem',
      '-c',
      'app',
      `--limits=memory=${params.memory_limit}`,
      `--requests=memory=${params.memory_request}`,
    ]);
    await eventually('the resized pod to stay ready', async () => {
      const pods = await podsOf(clients, namespace, 'mem');
      const resized = pods.filter((p) => p.spec?.containers[0]?.resources?.limits?.memory === '256Mi');
      return (
        resized.length === 1 &&
        pods.length === 1 &&
        isReady(resized[0] as k8s.V1Pod) &&
        restarts(resized[0] as k8s.V1Pod) === 0
      );
    });
  });
});

describe('the size bound and redaction on a busy workload', () => {
  it('stays under 12,000 characters with many pods and events, says what it left out, and leaks no secret', async () => {
    const body = deployment('crowd', { replicas: 20, image: markImage(GOOD, FaultMarks.crashImage) });
    const container = body.spec?.template.spec?.containers[0] as k8s.V1Container;
    container.env = [
      { name: 'DB_PASSWORD', value: 'PlantedPassw0rd' },
      { name: 'DATABASE_URL', value: 'postgres://shop:PlantedPgSecret@db:5432/shop' },
    ];
    container.args = ['--api-token=PlantedToken123'];
    // Sidecars with long environments make every pod and the container list big enough to press on the bound.
    const env = Array.from({ length: 15 }, (_, i) => ({ name: `SETTING_${i}`, value: `value-${i}-${'x'.repeat(40)}` }));
    body.spec?.template.spec?.containers.push(
      ...Array.from({ length: 6 }, (_, i) => ({
        name: `sidecar-${i}`,
        image: `registry.local/shop/sidecar-${i}:1.0`,
        env,
      })),
    );
    await clients.apps.createNamespacedDeployment({ namespace, body });
    const pods = await eventually('20 pods of crowd', async () => {
      const list = await podsOf(clients, namespace, 'crowd');
      return list.length === 20 ? list : undefined;
    });
    // Events a noisy cluster would hold, with long messages and a credential an application logged.
    const long = `connection to redis://:PlantedRedisPw@cache:6379 refused; ${'retrying '.repeat(120)}`;
    await Promise.all(
      Array.from({ length: 60 }, (_, i) => {
        const pod = pods[i % pods.length] as k8s.V1Pod;
        const when = new Date(Date.now() - i * 1000);
        return clients.core.createNamespacedEvent({
          namespace,
          body: {
            metadata: { name: `crowd-synthetic-${i}` },
            involvedObject: { kind: 'Pod', name: pod.metadata?.name, namespace, uid: pod.metadata?.uid },
            reason: 'ProbeWarning',
            message: long,
            type: 'Warning',
            count: 1,
            firstTimestamp: when,
            lastTimestamp: when,
            source: { component: 'kubelet' },
          },
        });
      }),
    );

    // The sidecars' settings are allowlisted, so their long values are shown and press on the bound.
    const envAllowlist = ['SETTING_*'];
    const context = await createKubernetesContextBuilder(clients.config, { envAllowlist }).build(ref('crowd'));
    expect(context.text.length).toBeLessThanOrEqual(12_000);
    expect(context.facts.podCount).toBe(20);
    expect(context.facts.pods).toHaveLength(5);
    expect(context.text).toMatch(/omitted to fit the size limit/);
    expect(context.text).toContain('== Recent events');
    for (const secret of ['PlantedPassw0rd', 'PlantedPgSecret', 'PlantedToken123', 'PlantedRedisPw']) {
      expect(context.text).not.toContain(secret);
    }
    expect(context.text).toContain('DB_PASSWORD=[REDACTED]');
    expect(context.text).toContain(`SETTING_0=value-0-${'x'.repeat(40)}`);

    const tight = await createKubernetesContextBuilder(clients.config, { maxChars: 2_500, envAllowlist }).build(
      ref('crowd'),
    );
    expect(tight.text.length).toBeLessThanOrEqual(2_500);
    expect(tight.text).toMatch(/omitted to fit the size limit/);
    expect(tight.text).toContain('== Deployment');
  });
});

describe('other workloads', () => {
  it('says when the workload does not exist', async () => {
    const context = await builder.build(ref('nothing-here'));
    expect(context.facts.found).toBe(false);
    expect(context.text).toContain('was not found');
    expect(analyzeWithRules(request(context, 'oom_kill')).analysis).toBe('unknown');
  });

  it('reads a StatefulSet’s ControllerRevisions with the image diff', async () => {
    const labels = { app: 'db' };
    await clients.apps.createNamespacedStatefulSet({
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
    await allReady('db', 2);
    await kubectl(cluster, ['-n', namespace, 'set', 'image', 'statefulset/db', 'db=registry.local/shop/db:17']);
    const context = await eventually('two revisions of the StatefulSet', async () => {
      const built = await builder.build(ref('db', 'StatefulSet'));
      return built.facts.revisions.length === 2 ? built : undefined;
    });
    expect(context.facts.revisions[0]?.imageChanges).toEqual([
      { container: 'db', from: 'registry.local/shop/db:16', to: 'registry.local/shop/db:17' },
    ]);
    expect(context.facts.revisions[0]?.current).toBe(true);
    expect(context.text).toContain('Update strategy: RollingUpdate');
    expect(context.facts.podCount).toBe(2);
  });

  it('reads a failed Job with its pods and reason', async () => {
    await clients.batch.createNamespacedJob({
      namespace,
      body: {
        metadata: { name: 'report' },
        spec: {
          backoffLimit: 0,
          template: {
            spec: {
              restartPolicy: 'Never',
              containers: [{ name: 'report', image: markImage('registry.local/shop/report:1', FaultMarks.crashImage) }],
            },
          },
        },
      },
    });
    const context = await eventually('the Job to fail', async () => {
      const built = await builder.build(ref('report', 'Job'));
      return built.facts.job?.state.startsWith('Failed') ? built : undefined;
    });
    expect(context.facts.job).toMatchObject({ failed: 1, backoffLimit: 0 });
    expect(context.facts.podCount).toBe(1);
    expect(context.text).toContain('BackoffLimitExceeded');
  });
});

function escapeRegExp(text: string) {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
