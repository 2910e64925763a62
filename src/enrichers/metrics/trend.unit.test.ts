import { describe, expect, it } from 'vitest';
import { Direction, detectTrend, type Sample, TrendKind } from './trend.ts';

// A 30-minute window sampled every 30 s: baseline is t ≤ 600, "now" is t ≥ 1350.
const window = { start: 0, end: 1800 };
const series = (value: (t: number) => number, step = 30): Sample[] => {
  const samples: Sample[] = [];
  for (let t = window.start; t <= window.end; t += step) samples.push([t, value(t)]);
  return samples;
};

describe('detectTrend', () => {
  it('calls a flat series steady, with no change and no direction', () => {
    const trend = detectTrend(
      series(() => 100),
      window,
    );
    expect(trend.kind).toBe(TrendKind.Steady);
    expect(trend.changePercent).toBe(0);
    expect(trend.direction).toBe(Direction.Flat);
    expect(trend.baseline).toBe(100);
    expect(trend.current).toBe(100);
    expect(trend.samples).toBe(61);
  });

  it('calls small noise around the baseline steady', () => {
    const trend = detectTrend(
      series((t) => 100 + ((t / 30) % 3) * 5),
      window,
    );
    expect(trend.kind).toBe(TrendKind.Steady);
    expect(trend.direction).toBe(Direction.Flat);
  });

  it('finds a spike that came and went after the baseline', () => {
    const trend = detectTrend(
      series((t) => (t >= 900 && t <= 1020 ? 500 : 100)),
      window,
    );
    expect(trend.kind).toBe(TrendKind.Spike);
    expect(trend.peak).toBe(500);
    expect(trend.current).toBe(100);
  });

  it('calls a jump in the last samples a spike, not yet sustained', () => {
    const trend = detectTrend(
      series((t) => (t >= 1740 ? 400 : 100)),
      window,
    );
    expect(trend.kind).toBe(TrendKind.Spike);
    expect(trend.current).toBe(400);
  });

  it('finds a drop that came and went', () => {
    const trend = detectTrend(
      series((t) => (t >= 900 && t <= 1020 ? 10 : 100)),
      window,
    );
    expect(trend.kind).toBe(TrendKind.Drop);
    expect(trend.trough).toBe(10);
  });

  it('calls a level held well above the baseline through the recent part sustained high, with its change', () => {
    const trend = detectTrend(
      series((t) => (t >= 1200 ? 300 : 100)),
      window,
    );
    expect(trend.kind).toBe(TrendKind.SustainedHigh);
    expect(trend.changePercent).toBeCloseTo(200);
    expect(trend.direction).toBe(Direction.Flat);
  });

  it('calls a level held well below the baseline sustained low', () => {
    const trend = detectTrend(
      series((t) => (t >= 1200 ? 20 : 100)),
      window,
    );
    expect(trend.kind).toBe(TrendKind.SustainedLow);
    expect(trend.changePercent).toBeCloseTo(-80);
  });

  it('sees a steady climb toward a limit as sustained high and rising', () => {
    // 40 % of a limit at first, 97 % at the end.
    const trend = detectTrend(
      series((t) => 0.4 + (0.57 * t) / 1800),
      window,
    );
    expect(trend.kind).toBe(TrendKind.SustainedHigh);
    expect(trend.direction).toBe(Direction.Rising);
    expect(trend.current).toBeCloseTo(0.97);
  });

  it('tells falling from rising in the recent part', () => {
    const trend = detectTrend(
      series((t) => (t < 1350 ? 100 : 100 - (t - 1350) / 10)),
      window,
    );
    expect(trend.direction).toBe(Direction.Falling);
  });

  it('holds a short excursion below the sustained share to a spike', () => {
    // 12 of 16 recent samples high: 75 %, under the 80 % needed for sustained.
    const trend = detectTrend(
      series((t) => (t >= 1470 ? 300 : 100)),
      window,
    );
    expect(trend.kind).toBe(TrendKind.Spike);
    const sustained = detectTrend(
      series((t) => (t >= 1440 ? 300 : 100)),
      window,
    );
    expect(sustained.kind).toBe(TrendKind.SustainedHigh);
  });

  it('needs a change of at least the metric minimum from a zero baseline', () => {
    const noise = detectTrend(
      series((t) => (t >= 1200 ? 0.01 : 0)),
      window,
      { minChange: 0.05 },
    );
    expect(noise.kind).toBe(TrendKind.Steady);
    expect(noise.changePercent).toBeUndefined();
    const errors = detectTrend(
      series((t) => (t >= 1200 ? 2 : 0)),
      window,
      { minChange: 0.05 },
    );
    expect(errors.kind).toBe(TrendKind.SustainedHigh);
    expect(errors.changePercent).toBeUndefined();
    expect(errors.direction).toBe(Direction.Flat);
  });

  it('says so when there is no baseline or nothing recent, instead of guessing', () => {
    const late = detectTrend(
      series((t) => t).filter(([t]) => t > 900),
      window,
    );
    expect(late.kind).toBe(TrendKind.InsufficientData);
    expect(late.baseline).toBeNaN();
    const early = detectTrend(
      series(() => 5).filter(([t]) => t < 900),
      window,
    );
    expect(early.kind).toBe(TrendKind.InsufficientData);
    expect(detectTrend([], window).kind).toBe(TrendKind.InsufficientData);
  });

  it('ignores NaN and infinite samples (a ratio over zero requests)', () => {
    const trend = detectTrend(
      series((t) => (t % 60 === 0 ? Number.NaN : 50)),
      window,
    );
    expect(trend.kind).toBe(TrendKind.Steady);
    expect(trend.samples).toBe(30);
  });

  it('uses the median for the baseline, so one outlier there does not hide a later rise', () => {
    const trend = detectTrend(
      series((t) => (t === 300 ? 10_000 : t >= 1200 ? 300 : 100)),
      window,
    );
    expect(trend.baseline).toBe(100);
    expect(trend.kind).toBe(TrendKind.SustainedHigh);
  });

  it('takes other thresholds when given', () => {
    const samples = series((t) => (t >= 1200 ? 130 : 100));
    expect(detectTrend(samples, window).kind).toBe(TrendKind.Steady);
    expect(detectTrend(samples, window, { thresholds: { riseRatio: 0.2 } }).kind).toBe(TrendKind.SustainedHigh);
  });
});
