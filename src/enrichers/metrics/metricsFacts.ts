import type { ContextSection } from '../enricher.ts';
import type { MetricKey, MetricUnit } from './metricQueries.ts';
import type { Direction, TrendKind } from './trend.ts';

/** The metrics enricher's section name. */
export const METRICS_ENRICHER = 'metrics';

export interface MetricTrendFact {
  readonly unit: MetricUnit;
  readonly kind: TrendKind;
  readonly current: number;
  readonly baseline: number;
  readonly changePercent?: number;
  readonly direction: Direction;
}

/** What the metrics section found, for code (the rules provider) to read. */
export interface MetricsFacts {
  readonly window: { readonly start: string; readonly end: string; readonly stepSeconds: number };
  readonly trends: Readonly<Partial<Record<MetricKey, MetricTrendFact>>>;
  /** Queries that answered with no series: the workload does not export that metric, or nothing scraped it. */
  readonly noData: readonly MetricKey[];
  /** Queries that failed, with why. */
  readonly failed: Readonly<Partial<Record<MetricKey, string>>>;
  /** The container closest to its memory limit, when Prometheus knows the limit. */
  readonly memory?: {
    readonly percentOfLimit: number;
    readonly trend: TrendKind;
    readonly direction: Direction;
    /** At or above TrendThresholds.nearLimit. */
    readonly nearLimit: boolean;
  };
  /** Container restarts counted in the window. */
  readonly restartsInWindow?: number;
  /** The HPA runs at its maximum replica count. */
  readonly hpaAtMax?: boolean;
  /** The notable findings, one sentence each, as the text shows them. */
  readonly findings: readonly string[];
}

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/** The metrics facts among an analysis' sections, if the metrics enricher ran and could read Prometheus. */
export function metricsFactsOf(sections: readonly ContextSection[] | undefined): MetricsFacts | undefined {
  const section = sections?.find((s) => s.enricher === METRICS_ENRICHER && s.unavailable === undefined);
  const facts = section?.facts;
  if (!isRecord(facts) || !isRecord(facts.trends) || !Array.isArray(facts.findings)) return undefined;
  return facts as unknown as MetricsFacts;
}
