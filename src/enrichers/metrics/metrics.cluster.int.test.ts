import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import {
  createNamespace,
  deleteNamespace,
  eventually,
  type KubeClients,
  kubeClients,
} from '../../../test/support/kube.ts';
import { kwokMetricsDiscoveryUrl, type RunningPrometheus, startPrometheus } from '../../../test/support/prometheus.ts';
import { PatchAs } from '../../actions/patchOptions.ts';
import { createPrometheusClient } from '../../adapters/prometheus/prometheus.client.ts';
import { UsageMarks } from '../../cluster/kubeletMetrics.ts';
import { runEnrichers } from '../enricher.ts';
import { createMetricsEnricher } from './metrics.enricher.ts';
import { metricsFactsOf } from './metricsFacts.ts';

/**
 * Prometheus scrapes the local cluster's kubelet-style endpoints (KWOK), where a pod's memory working set follows
 * its `fault.cairn.dev/memory-working-set` annotation; the test raises it toward the limit scrape by scrape.
 */
describe('metrics enricher on the local cluster', () => {
  let clients: KubeClients;
  let namespace: string;
  let prometheus: RunningPrometheus;

  beforeAll(async () => {
    clients = kubeClients();
    namespace = await createNamespace(clients, 'metrics');
    prometheus = await startPrometheus({
      scrape: [{ job: 'kubelet', httpSdUrl: await kwokMetricsDiscoveryUrl(inject('kubeconfig')) }],
    });
  });
  afterAll(async () => {
    await prometheus?.stop();
    if (namespace) await deleteNamespace(clients, namespace);
  });

  it('sees a pod’s memory climbing toward its limit', async () => {
    await clients.apps.createNamespacedDeployment({
      namespace,
      body: {
        metadata: { name: 'cache' },
        spec: {
          replicas: 1,
          selector: { matchLabels: { app: 'cache' } },
          template: {
            metadata: { labels: { app: 'cache' }, annotations: { [UsageMarks.workingSet]: '40Mi' } },
            spec: { containers: [{ name: 'app', image: 'cache:1', resources: { limits: { memory: '100Mi' } } }] },
          },
        },
      },
    });
    const pod = await eventually('a running pod', async () => {
      const pods = await clients.core.listNamespacedPod({ namespace, labelSelector: 'app=cache' });
      return pods.items.find((p) => p.status?.phase === 'Running')?.metadata?.name;
    });
    const memory = `container_memory_working_set_bytes{namespace="${namespace}", pod="${pod}"}`;
    await prometheus.waitForSeries(memory, 60_000);
    // Six seconds at 40 %, then a step up each second to 97 %, held for the last seconds of the window.
    await new Promise((r) => setTimeout(r, 6_000));
    for (const need of ['55Mi', '70Mi', '85Mi', '97Mi']) {
      await clients.core.patchNamespacedPod(
        { name: pod, namespace, body: { metadata: { annotations: { [UsageMarks.workingSet]: need } } } },
        PatchAs.merge,
      );
      await new Promise((r) => setTimeout(r, 1_000));
    }
    await eventually(
      '97 % scraped',
      async () => (await prometheus.query(memory))[0]?.value === 97 * 1024 * 1024,
      20_000,
    );
    await new Promise((r) => setTimeout(r, 4_000));

    const enricher = createMetricsEnricher({
      client: createPrometheusClient({ url: prometheus.url }),
      windowMinutes: 15 / 60,
      stepSeconds: 1,
      rateWindow: '5s',
    });
    const [section] = await runEnrichers([enricher], {
      issueId: 'issue-cache',
      workload: { kind: 'Deployment', name: 'cache', namespace },
      signal: 'pod_restart',
      signals: ['pod_restart'],
      detectedAt: new Date().toISOString(),
    });
    const facts = metricsFactsOf([section!]);
    expect(facts?.memory, section?.text).toMatchObject({
      percentOfLimit: 97,
      nearLimit: true,
      trend: 'sustained_high',
    });
    expect(section?.text).toContain('memory working set at 97% of its limit');
    expect(section?.text).toMatch(/memory working set \(largest container\): 97 MiB now \(baseline 40 MiB/);
    // The pod never ran out: the working set stayed under the limit, so KWOK did not kill it.
    const after = await clients.core.readNamespacedPod({ name: pod, namespace });
    expect(after.status?.containerStatuses?.[0]?.restartCount ?? 0).toBe(0);
  });
});
