import { describe, expect, it } from 'vitest';
import {
  alertChanges,
  burnRate,
  DefaultBurnRateRules,
  errorBudgetRemaining,
  formatWindow,
  judgeRules,
  parseWindow,
  windowSli,
  windowsOf,
} from './burnRate.ts';

describe('SLO burn-rate math', () => {
  it('computes the SLI, the burn rate and the budget left from good and total counts', () => {
    const sli = windowSli({ good: 990, total: 1000 });
    expect(sli).toEqual({ kind: 'measured', sli: 0.99 });
    // 1 % errors against a 0.1 % budget burns ten times too fast.
    expect(burnRate(sli, 99.9)).toBeCloseTo(10, 9);
    expect(errorBudgetRemaining(windowSli({ good: 9995, total: 10000 }), 99.9)).toBeCloseTo(0.5, 9);
    expect(errorBudgetRemaining(sli, 99.9)).toBeCloseTo(-9, 9);
  });

  it('never treats no data as a perfect SLI', () => {
    expect(windowSli({ good: undefined, total: undefined })).toEqual({ kind: 'no_data' });
    expect(windowSli({ good: 0, total: 0 })).toEqual({ kind: 'no_data' });
    expect(windowSli({ good: Number.NaN, total: 10 })).toEqual({ kind: 'no_data' });
    expect(burnRate({ kind: 'no_data' }, 99)).toBeUndefined();
    expect(errorBudgetRemaining({ kind: 'no_data' }, 99)).toBeUndefined();
  });

  it('refuses a target of 100 % (no budget to burn) or 0', () => {
    expect(() => burnRate({ kind: 'measured', sli: 1 }, 100)).toThrow(/strictly between 0 and 100/);
    expect(() => burnRate({ kind: 'measured', sli: 1 }, 0)).toThrow(/strictly between 0 and 100/);
  });

  it('fires a pair only when both windows burn faster than its factor', () => {
    const rules = [{ name: 'fast', shortWindow: 15, longWindow: 60, factor: 14.4, urgency: 'page' as const }];
    const judge = (short: number | undefined, long: number | undefined) =>
      judgeRules(
        rules,
        new Map([
          [15, short],
          [60, long],
        ]),
      )[0]!.state;
    expect(judge(20, 20)).toBe('firing');
    expect(judge(20, 10)).toBe('ok');
    expect(judge(10, 20)).toBe('ok');
    expect(judge(14.4, 20)).toBe('ok');
    expect(judge(undefined, 20)).toBe('unknown');
    expect(judge(undefined, undefined)).toBe('unknown');
  });

  it('reports only changes: fired once, cleared once, and a silent window changes nothing', () => {
    const rules = [{ name: 'fast', shortWindow: 15, longWindow: 60, factor: 2, urgency: 'page' as const }];
    const verdicts = (s: number | undefined, l: number | undefined) =>
      judgeRules(
        rules,
        new Map([
          [15, s],
          [60, l],
        ]),
      );
    expect(alertChanges(new Set(), verdicts(5, 5)).map((c) => c.change)).toEqual(['fired']);
    expect(alertChanges(new Set(['fast']), verdicts(5, 5))).toEqual([]);
    expect(alertChanges(new Set(['fast']), verdicts(undefined, 5))).toEqual([]);
    expect(alertChanges(new Set(['fast']), verdicts(1, 5)).map((c) => c.change)).toEqual(['cleared']);
    expect(alertChanges(new Set(), verdicts(1, 1))).toEqual([]);
  });

  it('ships the SRE workbook pairs, pages before tickets', () => {
    expect(
      DefaultBurnRateRules.map((r) => [formatWindow(r.longWindow), formatWindow(r.shortWindow), r.factor, r.urgency]),
    ).toEqual([
      ['1h', '5m', 14.4, 'page'],
      ['6h', '30m', 6, 'page'],
      ['1d', '2h', 3, 'ticket'],
      ['3d', '6h', 1, 'ticket'],
    ]);
    expect(windowsOf(DefaultBurnRateRules).map(formatWindow)).toEqual(['5m', '30m', '1h', '2h', '6h', '1d', '3d']);
  });

  it('parses windows and refuses what is not one', () => {
    expect(parseWindow('30d')).toBe(2_592_000);
    expect(parseWindow('1h30m')).toBe(5_400);
    expect(parseWindow('15s')).toBe(15);
    expect(parseWindow('0s')).toBeUndefined();
    expect(parseWindow('5 minutes')).toBeUndefined();
    expect(parseWindow('')).toBeUndefined();
    expect(formatWindow(90)).toBe('90s');
  });
});
