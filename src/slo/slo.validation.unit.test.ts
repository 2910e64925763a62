import { describe, expect, it } from 'vitest';
import { goFloat, leMatcher, leSpellings, parseSelector, queryFor, validateSlo } from './slo.validation.ts';

const meta = { namespace: 'shop', name: 'checkout', generation: 3 };
const spec = (overrides: Record<string, unknown> = {}) => ({
  service: 'checkout',
  workload: { kind: 'Deployment', name: 'checkout' },
  indicator: {
    type: 'availability',
    good: 'sum(increase(http_requests_total{code!~"5.."}[$window]))',
    total: 'sum(increase(http_requests_total[$window]))',
  },
  target: 99.9,
  ...overrides,
});
const problem = (s: unknown) => {
  const outcome = validateSlo(meta, s);
  return outcome.ok ? undefined : outcome.problem;
};

describe('ServiceLevelObjective validation', () => {
  it('turns a spec into the SRE workbook pairs over 30 days, on the workload in its own namespace', () => {
    const outcome = validateSlo(meta, spec());
    expect(outcome.ok).toBe(true);
    if (!outcome.ok) return;
    expect(outcome.slo).toMatchObject({
      generation: 3,
      target: 99.9,
      windowSeconds: 30 * 86_400,
      workload: { kind: 'Deployment', name: 'checkout', namespace: 'shop' },
      enabled: true,
    });
    expect(outcome.slo.rules.map((r) => [r.name, r.urgency, r.severity])).toEqual([
      ['page-1h', 'page', 'critical'],
      ['page-6h', 'page', 'critical'],
      ['ticket-1d', 'ticket', 'medium'],
      ['ticket-3d', 'ticket', 'medium'],
    ]);
  });

  it('takes configured pairs, with seconds-long windows, paging on critical and high only', () => {
    const outcome = validateSlo(
      meta,
      spec({
        alerting: {
          burnRates: [
            { name: 'fast', shortWindow: '15s', longWindow: '1m', factor: 14.4, severity: 'high' },
            { name: 'slow', shortWindow: '30m', longWindow: '6h', factor: 1, severity: 'low' },
          ],
        },
      }),
    );
    expect(outcome.ok && outcome.slo.rules.map((r) => [r.shortWindow, r.longWindow, r.urgency])).toEqual([
      [15, 60, 'page'],
      [1_800, 21_600, 'ticket'],
    ]);
  });

  it('names the field at fault', () => {
    expect(problem(spec({ target: 100 }))).toEqual({
      field: 'spec.target',
      message: 'a target of 100% leaves no error budget to burn; use e.g. 99.9',
    });
    expect(problem(spec({ target: 120 }))?.field).toBe('spec.target');
    expect(problem(spec({ workload: undefined }))?.field).toBe('spec.workload');
    expect(
      problem(spec({ indicator: { type: 'availability', good: 'sum(good_total)', total: 'sum(total[$window])' } })),
    ).toEqual({ field: 'spec.indicator.good', message: 'must use $window as its range, e.g. [$window]' });
    expect(problem(spec({ indicator: { type: 'availability', good: 'x[$window]' } }))?.field).toBe(
      'spec.indicator.total',
    );
    expect(
      problem(
        spec({
          alerting: {
            burnRates: [{ name: 'bad', shortWindow: '1h', longWindow: '5m', factor: 2, severity: 'critical' }],
          },
        }),
      ),
    ).toEqual({ field: 'spec.alerting.burnRates[0].shortWindow', message: 'must be shorter than longWindow' });
    expect(problem(spec({ indicator: { type: 'availability', good: 'sum(up[$window])' } }))?.field).toBe(
      'spec.indicator.total',
    );
    expect(problem('not an object')?.field).toBe('spec');
  });

  it('puts the window into every $window of a query', () => {
    expect(queryFor('sum(increase(a[$window])) / sum(increase(b[$window]))', '5m')).toBe(
      'sum(increase(a[5m])) / sum(increase(b[5m]))',
    );
  });

  it('refuses an indicator with neither form, or with both, naming the field', () => {
    expect(problem(spec({ indicator: { type: 'availability' } }))).toEqual({
      field: 'spec.indicator.good',
      message: 'is required: give good and total (PromQL), or latency (a histogram threshold) instead of both',
    });
    expect(
      problem(
        spec({
          indicator: {
            type: 'latency',
            good: 'sum(increase(a[$window]))',
            total: 'sum(increase(b[$window]))',
            latency: { metric: 'http_request_duration_seconds', threshold: 0.3 },
          },
        }),
      ),
    ).toEqual({ field: 'spec.indicator.latency', message: 'latency replaces good and total: give one form, not both' });
    expect(problem(spec({ indicator: { type: 'availability', latency: { metric: 'h', threshold: 0.3 } } }))).toEqual({
      field: 'spec.indicator.type',
      message: 'an indicator with latency is of type latency, not availability',
    });
  });
});

const latencySpec = (latency: Record<string, unknown>) => spec({ indicator: { type: 'latency', latency } });

describe('a latency indicator from a histogram', () => {
  it('counts requests in the threshold bucket as good and every request as total, with the service matchers', () => {
    const outcome = validateSlo(
      meta,
      latencySpec({ metric: 'http_request_duration_seconds', selector: '{service="checkout"}', threshold: 0.3 }),
    );
    expect(outcome.ok).toBe(true);
    if (!outcome.ok) return;
    expect(outcome.slo.good).toBe(
      'sum(increase(http_request_duration_seconds_bucket{service="checkout",le="0.3"}[$window]))',
    );
    expect(outcome.slo.total).toBe('sum(increase(http_request_duration_seconds_count{service="checkout"}[$window]))');
    expect(queryFor(outcome.slo.total, '5m')).toBe(
      'sum(increase(http_request_duration_seconds_count{service="checkout"}[5m]))',
    );
    expect(outcome.slo.latency).toEqual({
      metric: 'http_request_duration_seconds',
      matchers: ['service="checkout"'],
      threshold: 0.3,
      le: ['0.3'],
    });
  });

  it('matches both spellings of a whole-number bound, and takes no selector as every series', () => {
    const outcome = validateSlo(meta, latencySpec({ metric: 'rpc:latency_seconds', threshold: 1 }));
    expect(outcome.ok && outcome.slo.good).toBe('sum(increase(rpc:latency_seconds_bucket{le=~"1|1\\\\.0"}[$window]))');
    expect(outcome.ok && outcome.slo.total).toBe('sum(increase(rpc:latency_seconds_count[$window]))');
  });

  it('keeps several matchers of every operator and quoting as written', () => {
    const outcome = validateSlo(
      meta,
      latencySpec({
        metric: 'h',
        selector: `{ service = "a,b}", code!~'5..' , path=~\`/api/.*\`, }`,
        threshold: 2.5,
      }),
    );
    expect(outcome.ok && outcome.slo.latency?.matchers).toEqual(['service = "a,b}"', "code!~'5..'", 'path=~`/api/.*`']);
    expect(outcome.ok && outcome.slo.good).toBe(
      'sum(increase(h_bucket{service = "a,b}",code!~\'5..\',path=~`/api/.*`,le="2.5"}[$window]))',
    );
  });

  it('spells a bound as Go, Prometheus 3 and the client libraries write le', () => {
    expect(['1', '0.3', '1e+06', '1.234567e+06', '123456', '1e-05', '0.0001', '2.5', '1e+21', '1e+20']).toEqual(
      [1, 0.3, 1e6, 1234567, 123456, 1e-5, 0.0001, 2.5, 1e21, 1e20].map(goFloat),
    );
    expect(leSpellings(0.3)).toEqual(['0.3']);
    expect(leSpellings(1)).toEqual(['1', '1.0']);
    expect(leSpellings(1e6)).toEqual(['1e+06', '1000000', '1000000.0']);
    expect(leSpellings(0.00001)).toEqual(['1e-05', '0.00001']);
    expect(leMatcher(['0.3'])).toBe('le="0.3"');
    expect(leMatcher(leSpellings(1e6))).toBe('le=~"1e\\\\+06|1000000|1000000\\\\.0"');
  });

  it('refuses a metric that is not a PromQL identifier, naming the field', () => {
    expect(problem(latencySpec({ metric: 'http-request-duration', threshold: 0.3 }))).toEqual({
      field: 'spec.indicator.latency.metric',
      message:
        '"http-request-duration" is not a Prometheus metric name (letters, digits, _ and :, not starting with a digit), e.g. http_request_duration_seconds',
    });
    expect(problem(latencySpec({ metric: '9lives', threshold: 0.3 }))?.field).toBe('spec.indicator.latency.metric');
    expect(problem(latencySpec({ metric: 'up{job="x"}', threshold: 0.3 }))?.field).toBe(
      'spec.indicator.latency.metric',
    );
    expect(problem(latencySpec({ threshold: 0.3 }))?.field).toBe('spec.indicator.latency.metric');
    expect(problem(latencySpec({ metric: 'http_request_duration_seconds_bucket', threshold: 0.3 }))).toEqual({
      field: 'spec.indicator.latency.metric',
      message: 'name the histogram without its _bucket suffix: http_request_duration_seconds',
    });
  });

  it('refuses a selector that is not label matchers in braces', () => {
    const selectorProblem = (selector: unknown) => problem(latencySpec({ metric: 'h', selector, threshold: 0.3 }));
    expect(selectorProblem('service="checkout"')).toEqual({
      field: 'spec.indicator.latency.selector',
      message: '"service=\\"checkout\\"" is not label matchers in braces, e.g. {service="checkout"}',
    });
    expect(selectorProblem('{service="checkout"} or vector(1) or x{a="b"}')?.field).toBe(
      'spec.indicator.latency.selector',
    );
    expect(selectorProblem('{service=checkout}')?.message).toBe('the value of service must be a quoted string');
    expect(selectorProblem('{service="checkout}')?.message).toBe('the value of service is not a closed string');
    expect(selectorProblem('{service}')?.message).toBe('expected =, !=, =~ or !~ after service');
    expect(selectorProblem('{le="0.5"}')?.message).toBe('must not match le: threshold chooses the bucket');
    expect(selectorProblem('{__name__="x"}')?.message).toBe('must not match __name__: metric names the histogram');
    expect(selectorProblem('{a="1" b="2"}')?.message).toMatch(/^expected , between matchers/);
    expect(selectorProblem(42)?.field).toBe('spec.indicator.latency.selector');
    expect(parseSelector('{}')).toEqual({ ok: true, matchers: [] });
    expect(parseSelector('{a="x\\"}y"}')).toEqual({ ok: true, matchers: ['a="x\\"}y"'] });
  });

  it('refuses a threshold at or under 0, or not a number', () => {
    for (const threshold of [0, -0.3, '0.3', null]) {
      expect(problem(latencySpec({ metric: 'h', threshold }))?.field).toBe('spec.indicator.latency.threshold');
    }
    expect(problem(latencySpec({ metric: 'h', threshold: 0 }))?.message).toBe(
      "must be a number above 0, one of the histogram's bucket bounds (e.g. 0.3), not 0",
    );
  });
});
