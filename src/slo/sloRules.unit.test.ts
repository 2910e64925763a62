import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { validateSlo } from './slo.validation.ts';
import { type AlertingRule, errorRatioRecord, type RecordingRule, sloPrometheusRule, toYaml } from './sloRules.ts';

const meta = { namespace: 'shop', name: 'checkout', generation: 1 };
const evaluated = (spec: Record<string, unknown>) => {
  const outcome = validateSlo(meta, {
    service: 'checkout',
    workload: { kind: 'Deployment', name: 'checkout' },
    target: 99.9,
    ...spec,
  });
  if (!outcome.ok) throw new Error(`${outcome.problem.field}: ${outcome.problem.message}`);
  return outcome.slo;
};
const ratio = {
  indicator: {
    type: 'availability',
    good: 'sum(increase(http_requests_total{service="checkout",code!~"5.."}[$window]))',
    total: 'increase(http_requests_total{service="checkout"}[$window])',
  },
};
const latency = {
  indicator: {
    type: 'latency',
    latency: { metric: 'http_request_duration_seconds', selector: '{service="checkout"}', threshold: 0.3 },
  },
};

const recordings = (doc: ReturnType<typeof sloPrometheusRule>) => doc.spec.groups[0]!.rules as RecordingRule[];
const alerts = (doc: ReturnType<typeof sloPrometheusRule>) => doc.spec.groups[1]!.rules as AlertingRule[];

describe('the PrometheusRule of an SLO', () => {
  it('records the error ratio of every window the default pairs and the 30d window read', () => {
    const doc = sloPrometheusRule(evaluated(latency), { service: 'checkout' });
    expect(doc).toMatchObject({
      apiVersion: 'monitoring.coreos.com/v1',
      kind: 'PrometheusRule',
      metadata: { name: 'slo-checkout', namespace: 'shop' },
    });
    expect(doc.metadata.labels).toBeUndefined();
    expect(doc.spec.groups.map((g) => g.name)).toEqual([
      'slo-shop-checkout-error-ratios',
      'slo-shop-checkout-burn-rates',
    ]);
    expect(recordings(doc).map((r) => r.record)).toEqual([
      'slo:sli_error:ratio_rate5m',
      'slo:sli_error:ratio_rate30m',
      'slo:sli_error:ratio_rate1h',
      'slo:sli_error:ratio_rate2h',
      'slo:sli_error:ratio_rate6h',
      'slo:sli_error:ratio_rate1d',
      'slo:sli_error:ratio_rate3d',
      'slo:sli_error:ratio_rate30d',
    ]);
    expect(recordings(doc).at(-1)).toEqual({
      record: 'slo:sli_error:ratio_rate30d',
      expr: '1 - (sum(increase(http_request_duration_seconds_bucket{service="checkout",le="0.3"}[30d])) / sum(increase(http_request_duration_seconds_count{service="checkout"}[30d])))',
      labels: { slo: 'checkout', namespace: 'shop' },
    });
  });

  it('alerts per default pair when both windows are over factor × (1 − target), with severity and urgency', () => {
    const doc = sloPrometheusRule(evaluated(latency), { service: 'checkout' });
    expect(alerts(doc).map((a) => [a.labels.slo_alert, a.labels.severity, a.labels.urgency])).toEqual([
      ['page-1h', 'critical', 'page'],
      ['page-6h', 'critical', 'page'],
      ['ticket-1d', 'medium', 'ticket'],
      ['ticket-3d', 'medium', 'ticket'],
    ]);
    const page = alerts(doc)[0]!;
    expect(page.alert).toBe('SLOErrorBudgetBurn');
    expect(page.expr).toBe(
      [
        'slo:sli_error:ratio_rate1h{slo="checkout",namespace="shop"} > (14.4 * 0.001)',
        'and',
        'slo:sli_error:ratio_rate5m{slo="checkout",namespace="shop"} > (14.4 * 0.001)',
      ].join('\n'),
    );
    expect(page.annotations.summary).toBe(
      'SLO shop/checkout (checkout, 99.9% over 30d) burns its error budget more than 14.4x too fast',
    );
    expect(page.annotations.description).toBe(
      'The error ratio of checkout is above 14.4 × 0.1% = 1.44% over both 1h and 5m (page-1h, page); at that rate the 30d error budget lasts 50h. Over 1h it is {{ $value | humanizePercentage }}.',
    );
    expect(alerts(doc)[3]!.annotations.description).toContain('the 30d error budget lasts 30d');
  });

  it('takes custom pairs and the ratio form, summing a query that is not one sum', () => {
    const doc = sloPrometheusRule(
      evaluated({
        ...ratio,
        target: 99.5,
        window: '4w',
        alerting: {
          burnRates: [
            { name: 'fast', shortWindow: '5s', longWindow: '15s', factor: 2, severity: 'high' },
            { name: 'slow', shortWindow: '15s', longWindow: '90m', factor: 1.5, severity: 'low' },
          ],
        },
      }),
      { service: 'checkout', labels: { release: 'prometheus' } },
    );
    expect(doc.metadata.labels).toEqual({ release: 'prometheus' });
    expect(recordings(doc).map((r) => r.record)).toEqual([
      'slo:sli_error:ratio_rate5s',
      'slo:sli_error:ratio_rate15s',
      'slo:sli_error:ratio_rate90m',
      'slo:sli_error:ratio_rate4w',
    ]);
    expect(recordings(doc)[0]!.expr).toBe(
      '1 - (sum(increase(http_requests_total{service="checkout",code!~"5.."}[5s])) / sum(increase(http_requests_total{service="checkout"}[5s])))',
    );
    expect(alerts(doc).map((a) => [a.labels.slo_alert, a.labels.urgency, a.expr.split('\n')[0]])).toEqual([
      ['fast', 'page', 'slo:sli_error:ratio_rate15s{slo="checkout",namespace="shop"} > (2 * 0.005)'],
      ['slow', 'ticket', 'slo:sli_error:ratio_rate90m{slo="checkout",namespace="shop"} > (1.5 * 0.005)'],
    ]);
    expect(alerts(doc)[1]!.annotations.description).toContain('= 0.75% over both 90m and 15s');
  });

  it('does not take a sum followed by more PromQL for one sum', () => {
    const doc = sloPrometheusRule(
      evaluated({
        indicator: {
          type: 'availability',
          good: 'sum(increase(a_total{x=")"}[$window])) - sum(increase(b_total[$window]))',
          total: 'sum(increase(c_total[$window]))',
        },
      }),
      { service: 'checkout' },
    );
    expect(recordings(doc)[0]!.expr).toBe(
      '1 - (sum(sum(increase(a_total{x=")"}[5m])) - sum(increase(b_total[5m]))) / sum(increase(c_total[5m])))',
    );
  });

  it('names windows as Prometheus reads them', () => {
    expect([30 * 86_400, 28 * 86_400, 90, 3_600].map(errorRatioRecord)).toEqual([
      'slo:sli_error:ratio_rate30d',
      'slo:sli_error:ratio_rate4w',
      'slo:sli_error:ratio_rate90s',
      'slo:sli_error:ratio_rate1h',
    ]);
  });

  it('writes YAML that reads back to the same document, without anchors', () => {
    const doc = sloPrometheusRule(evaluated(latency), { service: 'checkout' });
    const text = toYaml(doc);
    expect(text).not.toMatch(/[&*]a\d/);
    expect(parse(text)).toEqual(JSON.parse(JSON.stringify(doc)));
  });
});
