import { describe, expect, it } from 'vitest';
import { validateSlo } from './slo.validation.ts';
import { parsePrometheusDuration, retentionFromFlags, windowCoverage } from './sloCoverage.ts';

const slo = (spec: Record<string, unknown> = {}) => {
  const outcome = validateSlo(
    { namespace: 'shop', name: 'checkout', generation: 1 },
    {
      service: 'checkout',
      workload: { kind: 'Deployment', name: 'checkout' },
      indicator: { type: 'latency', latency: { metric: 'h', threshold: 0.3 } },
      target: 99.9,
      ...spec,
    },
  );
  if (!outcome.ok) throw new Error(outcome.problem.message);
  return outcome.slo;
};

describe('whether Prometheus keeps what an SLO reads', () => {
  it('reads durations as Prometheus writes them', () => {
    expect(['15d', '4w2d', '1y', '90m', '0s', '1h30m', '500ms', '0'].map(parsePrometheusDuration)).toEqual([
      15 * 86_400,
      30 * 86_400,
      365 * 86_400,
      5_400,
      0,
      5_400,
      0.5,
      0,
    ]);
    expect(parsePrometheusDuration('15 days')).toBeUndefined();
  });

  it('takes the retention from the flags, with Prometheus defaults', () => {
    expect(retentionFromFlags({ 'storage.tsdb.retention.time': '4w2d', 'storage.tsdb.retention.size': '0B' })).toEqual({
      kind: 'time',
      seconds: 30 * 86_400,
      text: '4w2d',
    });
    // Neither set: Prometheus keeps 15 days.
    expect(
      retentionFromFlags({
        'storage.tsdb.retention': '0s',
        'storage.tsdb.retention.time': '0s',
        'storage.tsdb.retention.size': '0B',
      }),
    ).toEqual({ kind: 'time', seconds: 15 * 86_400, text: '15d' });
    expect(retentionFromFlags({ 'storage.tsdb.retention': '7d', 'storage.tsdb.retention.time': '0s' })).toMatchObject({
      seconds: 7 * 86_400,
    });
    expect(retentionFromFlags({ 'storage.tsdb.retention.time': '0s', 'storage.tsdb.retention.size': '512MB' })).toEqual(
      { kind: 'size_only', size: '512MB' },
    );
    expect(retentionFromFlags({ 'storage.tsdb.retention.time': '10d', 'storage.tsdb.retention.size': '1GB' })).toEqual({
      kind: 'time',
      seconds: 10 * 86_400,
      text: '10d',
      size: '1GB',
    });
    expect(retentionFromFlags({ 'web.listen-address': ':9090' }).kind).toBe('unknown');
    expect(retentionFromFlags({ 'storage.tsdb.retention.time': 'forever' }).kind).toBe('unknown');
  });

  it('says the SLI covers at most the retention when the window is longer', () => {
    const retention = retentionFromFlags({ 'storage.tsdb.retention.time': '15d' });
    expect(windowCoverage(slo({ window: '30d' }), retention)).toEqual({
      status: 'False',
      reason: 'LongerThanRetention',
      message: "window 30d is longer than Prometheus' retention 15d: the SLI covers at most 15d",
    });
    expect(windowCoverage(slo({ window: '7d' }), retention)).toEqual({
      status: 'True',
      reason: 'WithinRetention',
      message: 'Prometheus keeps 15d: the window 7d and every burn-rate window fit',
    });
  });

  it('names the burn-rate pairs whose long window is longer than the retention', () => {
    const condition = windowCoverage(
      slo({ window: '1d' }),
      retentionFromFlags({ 'storage.tsdb.retention.time': '2d', 'storage.tsdb.retention.size': '1GB' }),
    );
    expect(condition).toEqual({
      status: 'False',
      reason: 'LongerThanRetention',
      message:
        "the long window of ticket-3d (3d) is longer than Prometheus' retention 2d: its burn rate covers at most 2d; retention.size 1GB may keep less",
    });
  });

  it('is Unknown when Prometheus keeps data by size only or does not say', () => {
    expect(windowCoverage(slo(), { kind: 'size_only', size: '512MB' })).toEqual({
      status: 'Unknown',
      reason: 'RetentionBySize',
      message: 'Prometheus keeps 512MB of data, not a duration: Cairn cannot tell whether the window 30d is covered',
    });
    expect(windowCoverage(slo(), retentionFromFlags({})).status).toBe('Unknown');
  });
});
