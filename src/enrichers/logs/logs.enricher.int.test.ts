import { readFileSync } from 'node:fs';
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
} from '../../../test/support/kube.ts';
import { applyFault, markImage } from '../../cluster/faults.ts';
import type { LocalCluster } from '../../cluster/localCluster.ts';
import { servePodLogs } from '../../cluster/podLogs.ts';
import { FaultMarks } from '../../cluster/stages.ts';
import { type ContextSection, type EnrichmentTarget, runEnrichers } from '../enricher.ts';
import type { LogFacts } from './logReport.render.ts';
import { createLogEnricher } from './logs.enricher.ts';

let clients: KubeClients;
let cluster: LocalCluster;
let namespace: string;

const fixture = (name: string) => readFileSync(new URL(`../../../test/fixtures/logs/${name}`, import.meta.url), 'utf8');

const GOOD = 'registry.local/shop/web:1.0.0';

beforeAll(async () => {
  clients = kubeClients();
  cluster = await testCluster();
  namespace = await createNamespace(clients, 'logs');
});
afterAll(() => deleteNamespace(clients, namespace));

const target = (name: string, detectedAt = new Date()): EnrichmentTarget => ({
  issueId: `${name}-issue`,
  workload: { kind: 'Deployment', name, namespace },
  signal: 'crashloop',
  signals: ['crashloop'],
  detectedAt: detectedAt.toISOString(),
});

const enrich = (name: string, options: Parameters<typeof createLogEnricher>[1] = {}) =>
  createLogEnricher(clients.config, options).enrich(target(name), { signal: new AbortController().signal });

const factsOf = (section: ContextSection) => section.facts as unknown as LogFacts;

const create = async (body: k8s.V1Deployment) => {
  await clients.apps.createNamespacedDeployment({ namespace, body });
  const name = body.metadata?.name ?? '';
  return eventually(`a pod of ${name}`, async () => {
    const pods = await podsOf(clients, namespace, name);
    return pods.length === (body.spec?.replicas ?? 1) && pods.every((p) => p.status?.podIP) ? pods : undefined;
  });
};

const nameOf = (pod: k8s.V1Pod) => pod.metadata?.name ?? '';

describe('the logs enricher on the local control plane', () => {
  it('shows a Java exception in a pod log: the trace, its category and the lines around it', async () => {
    const [pod] = await create(deployment('orders', { replicas: 1 }));
    await eventually('orders ready', async () => (await podsOf(clients, namespace, 'orders')).every(isReady));
    await servePodLogs(cluster, {
      namespace,
      pod: nameOf(pod!),
      containers: { app: { current: fixture('java-spring-startup.log') } },
    });

    const section = await enrich('orders');
    expect(section.unavailable).toBeUndefined();
    expect(section.text).toContain(`${nameOf(pod!)}/app:`);
    expect(section.text).toContain('Stack trace (java)');
    expect(section.text).toContain(
      'org.springframework.beans.factory.BeanCreationException: Error creating bean with name',
    );
    expect(section.text).toContain('caused by: org.postgresql.util.PSQLException');
    expect(section.text).toMatch(/crash\/startup-failure ×\d+/);
    expect(section.text).toMatch(/database\/db-connection ×\d+/);
    // The critical line, marked, with the lines before it.
    expect(section.text).toMatch(/ {5}\d+ {2}.*Stopping service \[Tomcat\]\n {4}> +\d+ {2}.*Application run failed/);
    const facts = factsOf(section);
    expect(facts.stackTraces[0]).toMatchObject({ container: 'app', previous: false, language: 'java' });
    expect(facts.categories.crash).toBeGreaterThan(0);
    expect(facts.finding).toContain('java stack trace');
  });

  it("reads a restarted container's previous run beside its current one", async () => {
    const [pod] = await create(deployment('inventory', { replicas: 1, image: markImage(GOOD, FaultMarks.crashImage) }));
    await eventually('inventory restarted', async () => {
      const [p] = await podsOf(clients, namespace, 'inventory');
      return (p?.status?.containerStatuses?.[0]?.restartCount ?? 0) > 0;
    });
    await servePodLogs(cluster, {
      namespace,
      pod: nameOf(pod!),
      containers: {
        app: {
          current: [
            '2026/03/14 11:04:00 starting inventory-api version=1.9.4',
            '2026/03/14 11:04:00 listening on :8080',
          ],
          previous: fixture('go-panic-nil-map.log'),
        },
      },
    });

    const section = await enrich('inventory');
    expect(section.text).toContain(`${nameOf(pod!)}/app [previous run], restarts`);
    expect(section.text).toContain('Stack trace (go)');
    expect(section.text).toContain('panic: assignment to entry in nil map');
    expect(section.text).toMatch(/\/app, restarts \d+: 2 of 2 lines in the window.*no errors found/);
    expect(factsOf(section).stackTraces).toEqual([
      expect.objectContaining({ container: 'app', previous: true, language: 'go' }),
    ]);
  });

  it("reads an init container's and a sidecar's errors", async () => {
    const body = deployment('checkout', { replicas: 1 });
    const spec = body.spec!.template.spec!;
    spec.initContainers = [{ name: 'migrate', image: 'registry.local/shop/migrate:1.0.0' }];
    spec.containers.push({ name: 'istio-proxy', image: 'registry.local/istio/proxyv2:1.22.0' });
    const [pod] = await create(body);
    await servePodLogs(cluster, {
      namespace,
      pod: nameOf(pod!),
      containers: {
        migrate: { current: fixture('init-migrate.log') },
        app: { current: fixture('go-zap-json.log') },
        'istio-proxy': { current: fixture('sidecar-envoy.log') },
      },
    });

    const section = await enrich('checkout');
    expect(section.text).toContain(`${nameOf(pod!)}/migrate (init):`);
    expect(section.text).toContain(`${nameOf(pod!)}/istio-proxy (sidecar):`);
    expect(section.text).toMatch(/database\/db-schema ×2/);
    expect(section.text).toMatch(/connectivity\/unreachable ×\d+/);
    expect(section.text).toMatch(/dns\/dns-resolution ×3/);
    expect(section.text).toContain('(8 JSON)');
    expect(factsOf(section)).toMatchObject({ podsRead: 1, logsRead: 3, logsUnavailable: 0 });
    expect(factsOf(section).categories).toMatchObject({ database: 2, dns: 3 });
  });

  it('says the logs are unavailable, and why, when nothing serves them', async () => {
    await create(deployment('billing', { replicas: 2 }));
    const section = await enrich('billing');
    expect(section.unavailable).toMatch(
      /^no container log could be read from 2 pods: HTTP 400: no logs found for container "app"/,
    );
    expect(section.text).toContain('Logs of Deployment');
    expect(section.text).toContain('not available');

    const missing = await enrich('nothing-here');
    expect(missing.unavailable).toBe('Deployment nothing-here does not exist');
  });

  it('reads only the window before the incident and keeps the section within its bound', async () => {
    const [pod] = await create(deployment('search', { replicas: 1 }));
    const noisy = Array.from({ length: 3_000 }, (_, i) =>
      i % 3 === 0
        ? `ERROR request ${i} failed: dial tcp 10.0.${i % 250}.7:5432: connect: connection refused`
        : i % 3 === 1
          ? `WARN cache miss storm on key user:${i}, redis timeout after 250ms`
          : `INFO served /search?q=${i} in ${i % 97}ms`,
    );
    await servePodLogs(cluster, {
      namespace,
      pod: nameOf(pod!),
      containers: { app: { current: [...noisy, ...fixture('node-unhandled-rejection.log').split('\n')] } },
      stepMs: 1,
    });

    const bounded = await enrich('search', { maxChars: 1_500, tailLines: 500 });
    expect(bounded.text.length).toBeLessThanOrEqual(1_500);
    expect(bounded.text).toMatch(/500 of 500 lines in the window/);
    expect(bounded.text).toContain('connectivity');
    expect(bounded.text).toContain('Error: connect ECONNREFUSED 10.0.33.4:6379');

    const sections = await runEnrichers([createLogEnricher(clients.config)], target('search'), { maxChars: 2_000 });
    expect(sections[0]!.text.length).toBeLessThanOrEqual(2_000);
    expect(sections[0]!.text).toContain('node stack trace');
    expect(sections[0]!.text).toContain('unhandled promise rejection');
  });

  it('leaves out lines written before the window', async () => {
    const [pod] = await create(deployment('ledger', { replicas: 1 }));
    await servePodLogs(cluster, {
      namespace,
      pod: nameOf(pod!),
      containers: { app: { current: fixture('java-kafka-consumer.log') } },
      end: new Date(Date.now() - 60 * 60_000),
    });
    const section = await enrich('ledger');
    expect(section.text).toMatch(/0 of 0 lines in the window.*no errors found/);
    const wide = await enrich('ledger', { windowMinutes: 120 });
    expect(wide.text).toMatch(/messaging\/kafka ×\d+/);
  });

  it('the crashloop fault comes with a crash log that the analysis shows', async () => {
    await create(deployment('payments', { replicas: 1 }));
    await eventually('payments ready', async () => (await podsOf(clients, namespace, 'payments')).every(isReady));
    await applyFault(cluster, 'crashloop', `${namespace}/payments`);
    const section = await eventually('the crash log', async () => {
      const s = await enrich('payments');
      return s.text.includes('[previous run]') && s.text.includes('Stack trace (java)') ? s : undefined;
    });
    expect(section.text).toContain('java.lang.IllegalStateException: Failed to start payments');
    expect(section.text).toContain('caused by: java.lang.NumberFormatException: For input string: "v3"');
    expect(factsOf(section).finding).toContain('IllegalStateException');
  });
});
