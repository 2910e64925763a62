import { isCairnError } from '../../../domain/errors.ts';
import { type PrometheusClient, PrometheusErrorCode } from '../../adapters/prometheus/prometheus.client.ts';
import type { ContextEnricher, ContextSection } from '../enricher.ts';
import { type MetricNames, metricQueries } from './metricQueries.ts';
import { type QueryOutcome, renderMetricsSection } from './metrics.render.ts';
import { METRICS_ENRICHER } from './metricsFacts.ts';

export interface MetricsEnricherOptions {
  readonly client: PrometheusClient;
  /** How far before the Issue's detection to look; 30 minutes by default. */
  readonly windowMinutes?: number;
  /** Resolution of the range queries; the window over 60 by default (30 s for 30 minutes). */
  readonly stepSeconds?: number;
  /** The range of `rate()`; 2m by default (at least two scrape intervals). */
  readonly rateWindow?: string;
  readonly names?: Partial<MetricNames>;
  readonly maxChars?: number;
}

/** Failures that say Prometheus itself cannot be read, rather than that one query is wrong. */
const sourceDown = new Set<string>([
  PrometheusErrorCode.Unreachable,
  PrometheusErrorCode.Timeout,
  PrometheusErrorCode.InvalidResponse,
]);

/**
 * Reads the workload's metrics from Prometheus over a window ending when the Issue was detected, and turns them
 * into trends (metrics.render.ts). A query with no series is "no data"; Prometheus being unreachable makes the
 * whole section unavailable, which never blocks the analysis.
 */
export function createMetricsEnricher(options: MetricsEnricherOptions): ContextEnricher {
  const windowSeconds = (options.windowMinutes ?? 30) * 60;
  const stepSeconds = options.stepSeconds ?? Math.max(1, Math.round(windowSeconds / 60));
  return {
    name: METRICS_ENRICHER,
    async enrich(target, { signal }): Promise<ContextSection> {
      const detected = Date.parse(target.detectedAt);
      const end = Math.floor((Number.isNaN(detected) ? Date.now() : detected) / 1000);
      const window = { start: end - windowSeconds, end };
      const queries = metricQueries(target.workload, {
        ...(options.names ? { names: options.names } : {}),
        ...(options.rateWindow ? { rateWindow: options.rateWindow } : {}),
      });
      const failures: unknown[] = [];
      const outcomes = await Promise.all(
        queries.map(async (query): Promise<QueryOutcome> => {
          try {
            const series = await options.client.queryRange(query.expr, { ...window, stepSeconds }, { signal });
            // Every query aggregates to one series; should a custom name break that, the first one stands.
            return { query, samples: series[0]?.samples ?? [] };
          } catch (error) {
            failures.push(error);
            return { query, error: error instanceof Error ? error.message : String(error) };
          }
        }),
      );
      if (failures.length === queries.length) {
        const down = failures.find((e) => isCairnError(e) && sourceDown.has(e.code)) ?? failures[0];
        const reason = down instanceof Error ? down.message : String(down);
        return {
          enricher: METRICS_ENRICHER,
          title: 'Metrics',
          text: `Metrics: not available (${reason}).`,
          unavailable: reason,
        };
      }
      return renderMetricsSection({
        workload: target.workload,
        window,
        stepSeconds,
        outcomes,
        ...(options.maxChars ? { maxChars: options.maxChars } : {}),
      });
    },
  };
}
