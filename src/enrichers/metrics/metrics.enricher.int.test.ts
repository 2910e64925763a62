import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type RunningPrometheus,
  type SeriesSpec,
  serveScriptedMetrics,
  startPrometheus,
} from '../../../test/support/prometheus.ts';
import { createPrometheusClient } from '../../adapters/prometheus/prometheus.client.ts';
import { analyzeWithRules } from '../../analysis/rules.provider.ts';
import { absentWorkloadFacts } from '../../analysis/workloadFacts.ts';
import { type EnrichmentTarget, runEnrichers } from '../enricher.ts';
import { createMetricsEnricher } from './metrics.enricher.ts';
import { metricsFactsOf } from './metricsFacts.ts';

// Series are backfilled two hours in the past, sampled every 15 s over the 40 minutes before the Issue.
const detectedAt = Math.floor(Date.now() / 1000 / 60) * 60 - 2 * 3600;
const MiB = 1024 * 1024;
const namespace = 'shop';

const gauge = (name: string, labels: Record<string, string>, value: (ago: number) => number): SeriesSpec => {
  const samples: [number, number][] = [];
  for (let ago = 2400; ago >= 0; ago -= 15) samples.push([detectedAt - ago, value(ago)]);
  return { name, labels, samples };
};
/** A counter growing at `rate(ago)` per second. */
const counter = (name: string, labels: Record<string, string>, rate: (ago: number) => number): SeriesSpec => {
  let total = 0;
  return gauge(name, labels, (ago) => {
    total += rate(ago) * 15;
    return total;
  });
};
const container = (pod: string) => ({ namespace, pod, container: 'app' });

// One Deployment per trend kind, told apart by its memory working set; times are seconds before detection.
const memoryShapes: Record<string, (ago: number) => number> = {
  steady: () => 300 * MiB,
  spike: (ago) => (ago <= 900 && ago >= 780 ? 900 * MiB : 300 * MiB),
  drop: (ago) => (ago <= 900 && ago >= 780 ? 50 * MiB : 300 * MiB),
  sustained_high: (ago) => (ago <= 600 ? 800 * MiB : 300 * MiB),
  sustained_low: (ago) => (ago <= 600 ? 60 * MiB : 300 * MiB),
};

const backfill: SeriesSpec[] = [
  ...Object.entries(memoryShapes).map(([shape, value]) =>
    gauge('container_memory_working_set_bytes', container(`${shape.replace('_', '')}-5d8f7c9b6-abcde`), value),
  ),
  // `cache` climbs from 400 MiB to 990 MiB against a 1 GiB limit.
  gauge('container_memory_working_set_bytes', container('cache-6c4d9f7b8-q2w3e'), (ago) =>
    Math.round((990 - (590 * Math.min(ago, 1800)) / 1800) * MiB),
  ),
  gauge(
    'kube_pod_container_resource_limits',
    { ...container('cache-6c4d9f7b8-q2w3e'), resource: 'memory' },
    () => 1024 * MiB,
  ),
  // cAdvisor's pod-level series (no container) must not count as the app's.
  gauge(
    'container_memory_working_set_bytes',
    { namespace, pod: 'cache-6c4d9f7b8-q2w3e', container: '' },
    () => 5000 * MiB,
  ),
  // `api`: 20 requests/s throughout; 5xx from none to 4/s in the last 8 minutes; slower answers then too.
  counter('http_requests_total', { namespace, pod: 'api-7b9c8d6f5-k8s9x', code: '200' }, (ago) =>
    ago <= 480 ? 16 : 20,
  ),
  counter('http_requests_total', { namespace, pod: 'api-7b9c8d6f5-k8s9x', code: '500' }, (ago) => (ago <= 480 ? 4 : 0)),
  ...[
    ['0.1', 0.9, 0.2],
    ['0.5', 1, 0.5],
    ['1', 1, 0.9],
    ['+Inf', 1, 1],
  ].map(([le, before, after]) =>
    counter(
      'http_request_duration_seconds_bucket',
      { namespace, pod: 'api-7b9c8d6f5-k8s9x', le: le as string },
      (ago) => 20 * (ago <= 480 ? (after as number) : (before as number)),
    ),
  ),
  counter('container_cpu_usage_seconds_total', container('api-7b9c8d6f5-k8s9x'), (ago) => (ago <= 600 ? 0.9 : 0.2)),
  counter('container_cpu_cfs_periods_total', container('api-7b9c8d6f5-k8s9x'), () => 10),
  counter('container_cpu_cfs_throttled_periods_total', container('api-7b9c8d6f5-k8s9x'), (ago) => (ago <= 600 ? 6 : 0)),
  counter(
    'container_network_receive_bytes_total',
    { namespace, pod: 'api-7b9c8d6f5-k8s9x', interface: 'eth0' },
    () => 50_000,
  ),
  gauge('kube_pod_container_status_restarts_total', container('api-7b9c8d6f5-k8s9x'), (ago) => (ago <= 300 ? 2 : 0)),
  gauge(
    'kube_horizontalpodautoscaler_info',
    { namespace, horizontalpodautoscaler: 'api-hpa', scaletargetref_name: 'api' },
    () => 1,
  ),
  gauge(
    'kube_horizontalpodautoscaler_status_current_replicas',
    { namespace, horizontalpodautoscaler: 'api-hpa' },
    (ago) => (ago <= 600 ? 10 : 4),
  ),
  gauge('kube_horizontalpodautoscaler_spec_max_replicas', { namespace, horizontalpodautoscaler: 'api-hpa' }, () => 10),
];

const target = (name: string, at = detectedAt): EnrichmentTarget => ({
  issueId: `issue-${name}`,
  workload: { kind: 'Deployment', name, namespace },
  signal: 'pod_restart',
  signals: ['pod_restart'],
  detectedAt: new Date(at * 1000).toISOString(),
});

describe('metrics enricher against a real Prometheus', () => {
  let prometheus: RunningPrometheus;
  beforeAll(async () => {
    prometheus = await startPrometheus({ backfill });
  });
  afterAll(async () => {
    await prometheus?.stop();
  });
  const enricher = () =>
    createMetricsEnricher({ client: createPrometheusClient({ url: prometheus.url }), rateWindow: '1m' });

  it.each(Object.keys(memoryShapes))('detects a %s memory trend', async (shape) => {
    const [section] = await runEnrichers([enricher()], target(shape.replace('_', '')));
    const facts = metricsFactsOf([section!]);
    expect(section?.unavailable).toBeUndefined();
    expect(facts?.trends.memory?.kind).toBe(shape);
    expect(section?.text).toContain(`memory working set (largest container): `);
    expect(section?.text).toContain(shape.replace('_', ' '));
  });

  it('says that a workload whose memory climbs toward its limit is near it and rising', async () => {
    const [section] = await runEnrichers([enricher()], target('cache'));
    expect(section?.text).toContain('memory working set at 97% of its limit and rising');
    expect(section?.text).toMatch(/memory working set \(largest container\): 990 MiB now/);
    const facts = metricsFactsOf([section!]);
    expect(facts?.memory).toMatchObject({ nearLimit: true, direction: 'rising', trend: 'sustained_high' });
    expect(facts?.memory?.percentOfLimit).toBeCloseTo(96.7, 0);
    // The rules provider reads the same fact: a restart signal with memory at its limit is a memory problem.
    const result = analyzeWithRules({
      issueId: 'issue-cache',
      namespace,
      workload: { kind: 'Deployment', name: 'cache', namespace },
      signal: 'pod_restart',
      signals: ['pod_restart'],
      severity: 'high',
      riskScore: 40,
      description: 'pod_restart',
      context: {
        text: '',
        facts: {
          ...absentWorkloadFacts({ kind: 'Deployment', name: 'cache', namespace }),
          found: true,
          containers: [{ name: 'app', image: 'cache:1', memoryLimit: '1Gi' }],
          maxRestarts: 2,
        },
      },
      sections: [section!],
      previousFailures: [],
      doNotRepeat: [],
    });
    expect(result.analysis).toContain('97% of its memory limit and rising');
    expect(result.suggestedActions[0]).toMatchObject({ type: 'AdjustResources', params: { memory_limit: '2Gi' } });
  });

  it('reads request, error, latency, CPU, throttling, restarts, HPA and network from counters and histograms', async () => {
    const [section] = await runEnrichers([enricher()], target('api'));
    const facts = metricsFactsOf([section!])!;
    expect(facts.failed).toEqual({});
    expect(facts.trends.requestRate).toMatchObject({ kind: 'steady' });
    expect(facts.trends.requestRate?.current).toBeCloseTo(20, 0);
    expect(facts.trends.errorRate).toMatchObject({ kind: 'sustained_high' });
    expect(facts.trends.errorRate?.current).toBeCloseTo(4, 0);
    expect(facts.trends.errorRatio?.current).toBeCloseTo(0.2, 1);
    expect(facts.trends.latencyP99?.kind).toBe('sustained_high');
    expect(facts.trends.latencyP99?.current).toBeGreaterThan(0.5);
    expect(facts.trends.latencyP50?.baseline).toBeLessThan(0.1);
    expect(facts.trends.cpu).toMatchObject({ kind: 'sustained_high' });
    expect(facts.trends.cpu?.current).toBeCloseTo(0.9, 1);
    expect(facts.trends.cpuThrottling?.current).toBeCloseTo(0.6, 1);
    expect(facts.trends.networkReceive?.current).toBeCloseTo(50_000, -2);
    expect(facts.restartsInWindow).toBe(2);
    expect(facts.hpaAtMax).toBe(true);
    expect(section?.text).toContain('20% of requests fail with 5xx');
    expect(section?.text).toContain('CPU throttled in 60% of periods');
    expect(section?.text).toContain('the HPA runs at its maximum replicas');
    // `api` exports no transmit counter and no memory: that is no data, not an error.
    expect(facts.noData).toEqual(expect.arrayContaining(['memory', 'memoryOfLimit', 'networkTransmit']));
    expect(section?.text).toContain('No data: memory working set (largest container)');
  });

  it('treats a workload Prometheus knows nothing about as no data', async () => {
    const [section] = await runEnrichers([enricher()], target('unknown'));
    expect(section?.unavailable).toBeUndefined();
    expect(section?.text).toContain('- none: no query returned data for this workload.');
    expect(metricsFactsOf([section!])?.noData).toHaveLength(15);
  });

  it('reads only the window before detection: an hour earlier, the climb has not started', async () => {
    const [section] = await runEnrichers([enricher()], target('sustainedhigh', detectedAt - 700));
    expect(metricsFactsOf([section!])?.trends.memory?.kind).toBe('steady');
  });
});

describe('metrics enricher on live scrapes', () => {
  it('sees memory that climbs toward the limit over real scrapes', async () => {
    // Scrapes 0–5 hold 40 % of a 100 MiB limit, then the working set climbs 10 points a scrape up to 97 %.
    const ratio = (n: number) => Math.min(0.97, n < 6 ? 0.4 : 0.4 + (n - 5) * 0.1);
    const scripted = await serveScriptedMetrics((n) =>
      [
        `container_memory_working_set_bytes{namespace="live",pod="worker-0",container="main"} ${Math.round(ratio(n) * 100 * MiB)}`,
        `kube_pod_container_resource_limits{namespace="live",pod="worker-0",container="main",resource="memory"} ${100 * MiB}`,
        '',
      ].join('\n'),
    );
    const prometheus = await startPrometheus({ scrape: [{ job: 'app', targets: [scripted.target] }] });
    try {
      await prometheus.waitForSeries('container_memory_working_set_bytes');
      while (scripted.scrapes() < 14) await new Promise((r) => setTimeout(r, 250));
      const enricher = createMetricsEnricher({
        client: createPrometheusClient({ url: prometheus.url }),
        windowMinutes: 12 / 60,
        stepSeconds: 1,
      });
      const [section] = await runEnrichers([enricher], {
        ...target('worker'),
        workload: { kind: 'StatefulSet', name: 'worker', namespace: 'live' },
        detectedAt: new Date().toISOString(),
      });
      const facts = metricsFactsOf([section!]);
      expect(facts?.memory?.nearLimit, section?.text).toBe(true);
      expect(facts?.memory?.trend).toBe('sustained_high');
      expect(section?.text).toContain('memory working set at 97% of its limit');
    } finally {
      await prometheus.stop();
      await scripted.close();
    }
  });
});

describe('metrics enricher without Prometheus', () => {
  it('returns an unavailable section with the reason, and the analysis goes on', async () => {
    const prometheus = await startPrometheus();
    const url = prometheus.url;
    await prometheus.stop();
    const enricher = createMetricsEnricher({ client: createPrometheusClient({ url, timeoutMs: 2_000 }) });
    const [section] = await runEnrichers([enricher], target('cache'));
    // A refused connection is reported as such, not left to the client's 2 s timeout or the enrichers' 10 s one.
    expect(section?.unavailable).toMatch(/Prometheus at http:\/\/127\.0\.0\.1:\d+ is unreachable \(ECONNREFUSED\)/);
    expect(section?.text).toContain('Metrics: not available');
    expect(metricsFactsOf([section!])).toBeUndefined();
    const result = analyzeWithRules({
      issueId: 'issue-cache',
      namespace,
      workload: { kind: 'Deployment', name: 'cache', namespace },
      signal: 'pod_restart',
      signals: ['pod_restart'],
      severity: 'high',
      riskScore: 40,
      description: 'pod_restart',
      context: { text: '', facts: absentWorkloadFacts({ kind: 'Deployment', name: 'cache', namespace }) },
      sections: [section!],
      previousFailures: [],
      doNotRepeat: [],
    });
    expect(result.analysis).toBe('unknown');
  });
});
