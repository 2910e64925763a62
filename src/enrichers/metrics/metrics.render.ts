import type { WorkloadRef } from '../../analysis/workloadFacts.ts';
import { boundText, type ContextSection } from '../enricher.ts';
import { MetricKey, type MetricQuery, MetricUnit } from './metricQueries.ts';
import { METRICS_ENRICHER, type MetricsFacts, type MetricTrendFact } from './metricsFacts.ts';
import {
  Direction,
  detectTrend,
  type Sample,
  type Trend,
  TrendKind,
  TrendThresholds,
  type TrendWindow,
} from './trend.ts';

/** What one query gave: samples (possibly none), or why it failed. */
export type QueryOutcome =
  | { readonly query: MetricQuery; readonly samples: readonly Sample[] }
  | { readonly query: MetricQuery; readonly error: string };

export interface RenderInput {
  readonly workload: WorkloadRef;
  readonly window: TrendWindow;
  readonly stepSeconds: number;
  readonly outcomes: readonly QueryOutcome[];
  /** Bound of the text; 4,000 characters by default. */
  readonly maxChars?: number;
}

const round = (value: number, digits: number) => Number(value.toFixed(digits)).toString();

const bytes = (value: number) => {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = value;
  let i = 0;
  while (Math.abs(v) >= 1024 && i < units.length - 1) {
    v /= 1024;
    i += 1;
  }
  return `${round(v, i === 0 ? 0 : 1)} ${units[i]}`;
};

/** A value as a person reads it in its unit. */
export const formatValue = (value: number, unit: MetricUnit): string => {
  if (!Number.isFinite(value)) return 'n/a';
  switch (unit) {
    case MetricUnit.Bytes:
      return bytes(value);
    case MetricUnit.BytesPerSecond:
      return `${bytes(value)}/s`;
    case MetricUnit.Cores:
      return `${round(value, 3)} cores`;
    case MetricUnit.Ratio:
      return `${round(value * 100, Math.abs(value) < 0.1 ? 1 : 0)}%`;
    case MetricUnit.PerSecond:
      return `${round(value, 2)}/s`;
    case MetricUnit.Seconds:
      return value < 1 ? `${round(value * 1000, 0)} ms` : `${round(value, 2)} s`;
    default:
      return round(value, 1);
  }
};

const kindText: Record<TrendKind, string> = {
  spike: 'spike',
  drop: 'drop',
  sustained_high: 'sustained high',
  sustained_low: 'sustained low',
  steady: 'steady',
  insufficient_data: 'too few samples for a trend',
};

const trendLine = (query: MetricQuery, trend: Trend) => {
  const f = (v: number) => formatValue(v, query.unit);
  const change =
    trend.changePercent !== undefined && trend.kind !== TrendKind.InsufficientData
      ? `, ${trend.changePercent >= 0 ? '+' : ''}${round(trend.changePercent, 0)}% vs baseline`
      : '';
  const direction = trend.direction === Direction.Flat ? '' : `, ${trend.direction}`;
  const range =
    trend.kind === TrendKind.Spike
      ? `, peak ${f(trend.peak)}`
      : trend.kind === TrendKind.Drop
        ? `, low ${f(trend.trough)}`
        : '';
  return `- ${query.title}: ${f(trend.current)} now (baseline ${f(trend.baseline)}${range}): ${kindText[trend.kind]}${change}${direction}`;
};

const trendFact = (query: MetricQuery, trend: Trend): MetricTrendFact => ({
  unit: query.unit,
  kind: trend.kind,
  current: trend.current,
  baseline: trend.baseline,
  ...(trend.changePercent !== undefined ? { changePercent: trend.changePercent } : {}),
  direction: trend.direction,
});

const isNotable = (kind: TrendKind) => kind !== TrendKind.Steady && kind !== TrendKind.InsufficientData;

/**
 * The metrics section: the findings that matter first (memory near its limit, throttling, failing requests, a
 * maxed-out HPA, restarts), then one line per metric with its trend, then what had no data or failed.
 */
export function renderMetricsSection(input: RenderInput): ContextSection {
  const { workload, window } = input;
  const trends = new Map<MetricKey, { query: MetricQuery; trend: Trend; samples: readonly Sample[] }>();
  const noData: MetricKey[] = [];
  const failed: Partial<Record<MetricKey, string>> = {};
  for (const outcome of input.outcomes) {
    if ('error' in outcome) failed[outcome.query.key] = outcome.error;
    else if (outcome.samples.filter(([, v]) => Number.isFinite(v)).length === 0) noData.push(outcome.query.key);
    else
      trends.set(outcome.query.key, {
        query: outcome.query,
        samples: outcome.samples,
        trend: detectTrend(outcome.samples, window, { minChange: outcome.query.minChange }),
      });
  }

  const findings: string[] = [];
  const described = (key: MetricKey) => {
    const entry = trends.get(key);
    if (!entry || !isNotable(entry.trend.kind)) return undefined;
    return `${kindText[entry.trend.kind]}${entry.trend.direction === Direction.Flat ? '' : `, ${entry.trend.direction}`}`;
  };

  const memoryOfLimit = trends.get(MetricKey.MemoryOfLimit)?.trend;
  let memory: MetricsFacts['memory'];
  if (memoryOfLimit && Number.isFinite(memoryOfLimit.current)) {
    const nearLimit = memoryOfLimit.current >= TrendThresholds.nearLimit;
    memory = {
      percentOfLimit: Math.round(memoryOfLimit.current * 1000) / 10,
      trend: memoryOfLimit.kind,
      direction: memoryOfLimit.direction,
      nearLimit,
    };
    if (nearLimit) {
      const heading = memoryOfLimit.direction === Direction.Flat ? '' : ` and ${memoryOfLimit.direction}`;
      findings.push(`memory working set at ${round(memory.percentOfLimit, 0)}% of its limit${heading}`);
    }
  }
  const throttling = trends.get(MetricKey.CpuThrottling)?.trend;
  if (throttling && throttling.current >= TrendThresholds.throttledShare) {
    findings.push(`CPU throttled in ${formatValue(throttling.current, MetricUnit.Ratio)} of periods`);
  }
  const errorRatio = trends.get(MetricKey.ErrorRatio)?.trend;
  if (errorRatio && errorRatio.current >= TrendThresholds.errorShare) {
    findings.push(`${formatValue(errorRatio.current, MetricUnit.Ratio)} of requests fail with 5xx`);
  }
  for (const key of [MetricKey.ErrorRate, MetricKey.LatencyP99, MetricKey.Cpu, MetricKey.RequestRate]) {
    const kind = described(key);
    const entry = trends.get(key);
    if (kind && entry)
      findings.push(`${entry.query.title}: ${kind} (${formatValue(entry.trend.current, entry.query.unit)} now)`);
  }
  const hpaOfMax = trends.get(MetricKey.HpaOfMax)?.trend;
  const hpaAtMax = hpaOfMax ? hpaOfMax.current >= 1 : undefined;
  if (hpaAtMax) findings.push('the HPA runs at its maximum replicas');
  const restarts = trends.get(MetricKey.Restarts)?.samples.filter(([, v]) => Number.isFinite(v));
  const restartsInWindow =
    restarts && restarts.length > 0
      ? Math.max(0, (restarts.at(-1)?.[1] ?? 0) - Math.min(...restarts.map(([, v]) => v)))
      : undefined;
  if (restartsInWindow) findings.push(`${restartsInWindow} container restart(s) in the window`);

  const minutes = Math.round((window.end - window.start) / 60);
  const iso = (t: number) => new Date(t * 1000).toISOString();
  const lines = [
    `Prometheus metrics of ${workload.kind} ${workload.namespace}/${workload.name}, ${minutes} min before ${iso(window.end)} (step ${input.stepSeconds}s; baseline = first third, now = last quarter):`,
    ...(findings.length > 0 ? ['Findings:', ...findings.map((f) => `- ${f}`)] : ['Findings: none stand out.']),
    'Trends:',
    ...[...trends.values()].map(({ query, trend }) => trendLine(query, trend)),
  ];
  if (trends.size === 0) lines.push('- none: no query returned data for this workload.');
  if (noData.length > 0) {
    const titles = input.outcomes.filter((o) => noData.includes(o.query.key)).map((o) => o.query.title);
    lines.push(`No data: ${titles.join(', ')}.`);
  }
  for (const [key, reason] of Object.entries(failed)) lines.push(`Query ${key} failed: ${reason}`);

  const facts: MetricsFacts = {
    window: { start: iso(window.start), end: iso(window.end), stepSeconds: input.stepSeconds },
    trends: Object.fromEntries([...trends].map(([key, { query, trend }]) => [key, trendFact(query, trend)])),
    noData,
    failed,
    ...(memory ? { memory } : {}),
    ...(restartsInWindow !== undefined ? { restartsInWindow } : {}),
    ...(hpaAtMax !== undefined ? { hpaAtMax } : {}),
    findings,
  };
  return {
    enricher: METRICS_ENRICHER,
    title: 'Metrics',
    text: boundText(lines.join('\n'), input.maxChars ?? 4_000),
    facts: facts as unknown as Record<string, unknown>,
  };
}
