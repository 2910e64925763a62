/**
 * Trend detection over one metric's samples in the window before an incident. The window's first part is the
 * baseline (how the workload behaved before), its last part is "now"; the kind says how now compares:
 * - `sustained_high` / `sustained_low`: most of the last part is above / below the baseline by the threshold;
 * - `spike` / `drop`: the metric crossed that line after the baseline, but did not stay there;
 * - `steady`: it never did; `insufficient_data`: too few samples to tell.
 * Pure: samples in, a verdict out, every threshold in `TrendThresholds`.
 */
export const TrendThresholds = {
  /** The first third of the window is the baseline. */
  baselineFraction: 1 / 3,
  /** The last quarter of the window is "now". */
  recentFraction: 1 / 4,
  /** Above baseline × 1.5 is high, below baseline × 0.5 is low (and the change is at least the metric's minimum). */
  riseRatio: 0.5,
  dropRatio: 0.5,
  /** A level is sustained when at least 80 % of the recent samples hold it. */
  sustainedFraction: 0.8,
  /** Recent samples move by at least 5 % of their level across the recent part: rising or falling. */
  directionRatio: 0.05,
  /** Fewer samples than this in the baseline or in the recent part and nothing can be said. */
  minSamples: 2,
  /** A usage at or above 90 % of its limit is near it. */
  nearLimit: 0.9,
  /** Findings worth naming on their own: throttled in a quarter of CPU periods, 5 % of requests failing. */
  throttledShare: 0.25,
  errorShare: 0.05,
} as const;

export const TrendKind = {
  Spike: 'spike',
  Drop: 'drop',
  SustainedHigh: 'sustained_high',
  SustainedLow: 'sustained_low',
  Steady: 'steady',
  InsufficientData: 'insufficient_data',
} as const;
export type TrendKind = (typeof TrendKind)[keyof typeof TrendKind];

export const Direction = { Rising: 'rising', Falling: 'falling', Flat: 'flat' } as const;
export type Direction = (typeof Direction)[keyof typeof Direction];

export type Sample = readonly [time: number, value: number];

export interface Trend {
  readonly kind: TrendKind;
  /** Median of the baseline part. */
  readonly baseline: number;
  /** The last sample's value. */
  readonly current: number;
  /** Mean of the recent part. */
  readonly recent: number;
  /** Highest and lowest values after the baseline. */
  readonly peak: number;
  readonly trough: number;
  /** (recent − baseline) / baseline in percent; absent when the baseline is zero. */
  readonly changePercent?: number;
  /** Where the recent part is heading. */
  readonly direction: Direction;
  readonly samples: number;
}

export interface TrendWindow {
  readonly start: number;
  readonly end: number;
}

export interface TrendOptions {
  /** The smallest change that counts, in the metric's unit (see MetricQuery.minChange). */
  readonly minChange?: number;
  readonly thresholds?: { readonly [K in keyof typeof TrendThresholds]?: number };
}

const median = (values: readonly number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1
    ? (sorted[mid] as number)
    : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
};

const mean = (values: readonly number[]) => values.reduce((sum, v) => sum + v, 0) / values.length;

/** Least-squares slope times the span: how much the fitted line moves across the samples. */
const fittedChange = (samples: readonly Sample[]) => {
  if (samples.length < 2) return 0;
  const tMean = mean(samples.map(([t]) => t));
  const vMean = mean(samples.map(([, v]) => v));
  let num = 0;
  let den = 0;
  for (const [t, v] of samples) {
    num += (t - tMean) * (v - vMean);
    den += (t - tMean) ** 2;
  }
  if (den === 0) return 0;
  const span = (samples.at(-1)?.[0] ?? 0) - (samples[0]?.[0] ?? 0);
  return (num / den) * span;
};

/**
 * The trend of `samples` (time-ordered, non-finite values ignored) over `window`; the window, not the samples,
 * decides what baseline and recent mean, so a series that starts late has no baseline rather than a wrong one.
 */
export function detectTrend(samples: readonly Sample[], window: TrendWindow, options: TrendOptions = {}): Trend {
  const th = { ...TrendThresholds, ...options.thresholds };
  const minChange = options.minChange ?? 0;
  const finite = samples.filter(([, v]) => Number.isFinite(v));
  const span = window.end - window.start;
  const baselineEnd = window.start + span * th.baselineFraction;
  const recentStart = window.end - span * th.recentFraction;
  const base = finite.filter(([t]) => t <= baselineEnd).map(([, v]) => v);
  const after = finite.filter(([t]) => t > baselineEnd);
  const recentSamples = finite.filter(([t]) => t >= recentStart);
  const recent = recentSamples.map(([, v]) => v);
  const afterValues = after.map(([, v]) => v);
  const current = finite.at(-1)?.[1] ?? Number.NaN;

  if (base.length < th.minSamples || recent.length < th.minSamples) {
    return {
      kind: TrendKind.InsufficientData,
      baseline: base.length > 0 ? median(base) : Number.NaN,
      current,
      recent: recent.length > 0 ? mean(recent) : Number.NaN,
      peak: afterValues.length > 0 ? Math.max(...afterValues) : Number.NaN,
      trough: afterValues.length > 0 ? Math.min(...afterValues) : Number.NaN,
      direction: Direction.Flat,
      samples: finite.length,
    };
  }

  const baseline = median(base);
  const level = Math.abs(baseline);
  const highLine = Math.max(baseline + level * th.riseRatio, baseline + minChange);
  const lowLine = Math.min(baseline - level * th.dropRatio, baseline - minChange);
  const share = (test: (v: number) => boolean) => recent.filter(test).length / recent.length;
  const recentMean = mean(recent);
  const peak = Math.max(...afterValues);
  const trough = Math.min(...afterValues);

  let kind: TrendKind = TrendKind.Steady;
  if (share((v) => v > highLine) >= th.sustainedFraction) kind = TrendKind.SustainedHigh;
  else if (share((v) => v < lowLine) >= th.sustainedFraction) kind = TrendKind.SustainedLow;
  else if (peak > highLine) kind = TrendKind.Spike;
  else if (trough < lowLine) kind = TrendKind.Drop;

  const moved = fittedChange(recentSamples);
  const scale = Math.max(Math.abs(recentMean), level);
  const directionLine = Math.max(scale * th.directionRatio, minChange / 2);
  const direction =
    scale === 0 || Math.abs(moved) < directionLine ? Direction.Flat : moved > 0 ? Direction.Rising : Direction.Falling;

  return {
    kind,
    baseline,
    current,
    recent: recentMean,
    peak,
    trough,
    ...(baseline !== 0 ? { changePercent: ((recentMean - baseline) / level) * 100 } : {}),
    direction,
    samples: finite.length,
  };
}
