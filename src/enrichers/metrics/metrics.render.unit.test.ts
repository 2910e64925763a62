import { describe, expect, it } from 'vitest';
import { MetricKey, MetricUnit, metricQueries, podNamePattern } from './metricQueries.ts';
import { formatValue, type QueryOutcome, renderMetricsSection } from './metrics.render.ts';
import { metricsFactsOf } from './metricsFacts.ts';
import type { Sample } from './trend.ts';

const workload = { kind: 'Deployment', name: 'shop', namespace: 'prod' };
const window = { start: 0, end: 1800 };
const series = (value: (t: number) => number): Sample[] => {
  const samples: Sample[] = [];
  for (let t = 0; t <= 1800; t += 30) samples.push([t, value(t)]);
  return samples;
};
const queries = metricQueries(workload);
const query = (key: MetricKey) => queries.find((q) => q.key === key)!;

describe('metricQueries', () => {
  it('selects the pods each kind of controller names', () => {
    const matches = (kind: string, pod: string) =>
      new RegExp(`^(?:${podNamePattern({ kind, name: 'web.v2' })})$`).test(pod);
    expect(matches('Deployment', 'web.v2-7d9f8b6c5d-x2k4p')).toBe(true);
    expect(matches('Deployment', 'web.v2-api-7d9f8b6c5d-x2k4p')).toBe(false);
    expect(matches('Deployment', 'webxv2-7d9f8b6c5d-x2k4p')).toBe(false);
    expect(matches('StatefulSet', 'web.v2-0')).toBe(true);
    expect(matches('StatefulSet', 'web.v2-abc')).toBe(false);
    expect(matches('DaemonSet', 'web.v2-x2k4p')).toBe(true);
    expect(matches('CronJob', 'web.v2-29012345-x2k4p')).toBe(true);
    expect(matches('Pod', 'web.v2')).toBe(true);
  });

  it('covers CPU, throttling, memory and its limit, restarts, requests, errors, latency, HPA and network', () => {
    expect(queries.map((q) => q.key)).toEqual(Object.values(MetricKey));
    expect(query(MetricKey.LatencyP99).expr).toContain('histogram_quantile(0.99');
    expect(query(MetricKey.Memory).expr).toContain(
      'container_memory_working_set_bytes{namespace="prod", pod=~"shop-[a-z0-9]+-[a-z0-9]+", container!="", container!="POD"}',
    );
    expect(query(MetricKey.ErrorRate).expr).toContain('code=~"5.."');
  });

  it('takes metric and label names from one table that an installation may override', () => {
    const custom = metricQueries(workload, {
      names: { httpRequests: 'requests_total', statusLabel: 'status' },
      rateWindow: '30s',
    });
    const errors = custom.find((q) => q.key === MetricKey.ErrorRate)!;
    expect(errors.expr).toBe(
      'sum(rate(requests_total{namespace="prod", pod=~"shop-[a-z0-9]+-[a-z0-9]+", status=~"5.."}[30s]))',
    );
  });
});

describe('formatValue', () => {
  it('writes each unit as a person reads it', () => {
    expect(formatValue(970 * 1024 * 1024, MetricUnit.Bytes)).toBe('970 MiB');
    expect(formatValue(2048, MetricUnit.BytesPerSecond)).toBe('2 KiB/s');
    expect(formatValue(0.973, MetricUnit.Ratio)).toBe('97%');
    expect(formatValue(0.012, MetricUnit.Ratio)).toBe('1.2%');
    expect(formatValue(0.25, MetricUnit.Seconds)).toBe('250 ms');
    expect(formatValue(1.5, MetricUnit.Seconds)).toBe('1.5 s');
    expect(formatValue(0.1234, MetricUnit.Cores)).toBe('0.123 cores');
    expect(formatValue(Number.NaN, MetricUnit.Cores)).toBe('n/a');
  });
});

describe('renderMetricsSection', () => {
  const outcomes: QueryOutcome[] = [
    { query: query(MetricKey.Cpu), samples: series(() => 0.2) },
    { query: query(MetricKey.MemoryOfLimit), samples: series((t) => 0.4 + (0.57 * t) / 1800) },
    { query: query(MetricKey.Restarts), samples: series((t) => (t > 1500 ? 3 : 1)) },
    { query: query(MetricKey.ErrorRatio), samples: series((t) => (t > 1200 ? 0.2 : 0)) },
    { query: query(MetricKey.HpaOfMax), samples: series(() => 1) },
    { query: query(MetricKey.LatencyP99), samples: [] },
    { query: query(MetricKey.NetworkReceive), error: 'Prometheus refused the query: bad_data: parse error' },
  ];
  const section = renderMetricsSection({ workload, window, stepSeconds: 30, outcomes });

  it('puts memory near its limit first, and gives the rules provider the same finding as a fact', () => {
    expect(section.text).toContain('memory working set at 97% of its limit and rising');
    const facts = metricsFactsOf([section]);
    expect(facts?.memory).toEqual({
      percentOfLimit: 97,
      trend: 'sustained_high',
      direction: 'rising',
      nearLimit: true,
    });
    expect(facts?.trends.cpu?.kind).toBe('steady');
  });

  it('names restarts, failing requests and a maxed-out HPA', () => {
    expect(section.text).toContain('2 container restart(s) in the window');
    expect(section.text).toContain('20% of requests fail with 5xx');
    expect(section.text).toContain('the HPA runs at its maximum replicas');
    const facts = metricsFactsOf([section]);
    expect(facts?.restartsInWindow).toBe(2);
    expect(facts?.hpaAtMax).toBe(true);
  });

  it('keeps "no data" apart from a failed query', () => {
    expect(section.text).toContain('No data: latency p99.');
    expect(section.text).toContain('Query networkReceive failed: Prometheus refused the query');
    const facts = metricsFactsOf([section]);
    expect(facts?.noData).toEqual(['latencyP99']);
    expect(Object.keys(facts?.failed ?? {})).toEqual(['networkReceive']);
  });

  it('stays within its bound', () => {
    const small = renderMetricsSection({ workload, window, stepSeconds: 30, outcomes, maxChars: 300 });
    expect(small.text.length).toBeLessThanOrEqual(300);
    expect(small.text).toContain('(truncated)');
    // Every metric with data in the full set: still well under the default bound.
    const all = renderMetricsSection({
      workload,
      window,
      stepSeconds: 30,
      outcomes: queries.map((q) => ({ query: q, samples: series((t) => (t > 1300 ? 5 : 1)) })),
    });
    expect(all.text.length).toBeLessThanOrEqual(4_000);
    expect(all.text.split('\n').filter((l) => l.startsWith('- ')).length).toBeGreaterThanOrEqual(queries.length);
  });

  it('says when nothing stands out', () => {
    const quiet = renderMetricsSection({
      workload,
      window,
      stepSeconds: 30,
      outcomes: [{ query: query(MetricKey.Cpu), samples: series(() => 0.2) }],
    });
    expect(quiet.text).toContain('Findings: none stand out.');
    expect(metricsFactsOf([quiet])?.memory).toBeUndefined();
  });

  it('reads no facts from an unavailable section', () => {
    expect(
      metricsFactsOf([
        { enricher: 'metrics', title: 'Metrics', text: 'x', unavailable: 'down', facts: section.facts! },
      ]),
    ).toBeUndefined();
    expect(metricsFactsOf(undefined)).toBeUndefined();
  });
});
