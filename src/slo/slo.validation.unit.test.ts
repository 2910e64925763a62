import { describe, expect, it } from 'vitest';
import { queryFor, validateSlo } from './slo.validation.ts';

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
});
