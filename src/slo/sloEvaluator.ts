import type { Severity } from '../../domain/events/common.schema.ts';
import type { SloBurnAlertFiredData, SloEvent } from '../../domain/events/slo.events.ts';
import type { RecordedEvent } from '../../domain/messages.ts';
import {
  alertChanges,
  burnRate,
  errorBudgetRemaining,
  formatWindow,
  judgeRules,
  type RuleVerdict,
  type WindowCounts,
  windowSli,
  windowsOf,
} from '../../domain/slo/burnRate.ts';
import { StreamCategory, streamName } from '../../domain/streams.ts';
import type { PrometheusClient, PrometheusSeries } from '../adapters/prometheus/prometheus.client.ts';
import type { AnomalyIntake } from '../application/detection/anomalyIntake.ts';
import type { EventStore } from '../ports/eventStore.ts';
import { type EvaluatedSlo, queryFor } from './slo.validation.ts';

export const sloStream = (slo: { namespace: string; name: string }): string =>
  streamName(StreamCategory.Slo, `${slo.namespace}.${slo.name}`);

/** What the last evaluation found, for the SLO's status. */
export interface SloEvaluation {
  readonly evaluatedAt: string;
  /** The SLI over the SLO window, percent; absent when the window counted nothing. */
  readonly current?: number;
  readonly errorBudgetRemaining?: number;
  readonly burnRates: readonly { readonly window: string; readonly rate?: number }[];
  readonly firing: readonly { readonly name: string; readonly severity: Severity; readonly since: string }[];
  readonly prometheusError?: string;
}

/** The value of a query answering one series (or none); several series are summed, as a ratio needs one number. */
const countOf = (series: readonly PrometheusSeries[]): number | undefined => {
  if (series.length === 0) return undefined;
  let sum = 0;
  for (const s of series) {
    const sample = s.samples.at(-1);
    if (sample === undefined) return undefined;
    sum += sample[1];
  }
  return sum;
};

interface FiringAlert {
  readonly since: string;
  readonly severity: Severity;
}

/** The alerts firing according to the SLO's stream, and how many times each has fired (for stable anomaly ids). */
const firingFrom = (events: readonly RecordedEvent[], slo: EvaluatedSlo) => {
  const firing = new Map<string, FiringAlert>();
  const fired = new Map<string, number>();
  for (const event of events as unknown as RecordedEvent<SloEvent>[]) {
    if (event.type === 'SloBurnAlertFired') {
      const severity = slo.rules.find((r) => r.name === event.data.alert)?.severity ?? 'critical';
      firing.set(event.data.alert, { since: event.metadata.occurredAt, severity });
      fired.set(event.data.alert, (fired.get(event.data.alert) ?? 0) + 1);
    } else if (event.type === 'SloBurnAlertCleared') {
      firing.delete(event.data.alert);
    }
  }
  return { firing, fired };
};

export interface SloEvaluatorDeps {
  readonly store: EventStore;
  readonly prometheus: PrometheusClient;
  readonly intake: AnomalyIntake;
  readonly now: () => Date;
  readonly log?: (line: string) => void;
}

/**
 * Evaluates one SLO once: counts good and total events over the SLO window and every alert window, judges each
 * burn-rate pair, and records only what changed. A fired alert is first recorded as a slo_burn_rate anomaly on the
 * SLO's workload (named by the SLO, the alert and how often it fired, so a retry after a crash records it once),
 * then as SloBurnAlertFired with the Issue it opened or joined.
 */
export async function evaluateSlo(deps: SloEvaluatorDeps, slo: EvaluatedSlo): Promise<SloEvaluation> {
  const at = deps.now();
  const evaluatedAt = at.toISOString();
  const time = at.getTime() / 1000;
  const stream = sloStream(slo);
  const history = await deps.store.readStream(stream);
  const { firing, fired } = firingFrom(history, slo);
  const firingList = () => [...firing.entries()].map(([name, f]) => ({ name, severity: f.severity, since: f.since }));

  const count = async (seconds: number): Promise<WindowCounts> => {
    const range = formatWindow(seconds);
    const [good, total] = await Promise.all([
      deps.prometheus.query(queryFor(slo.good, range), { time }),
      deps.prometheus.query(queryFor(slo.total, range), { time }),
    ]);
    return { good: countOf(good), total: countOf(total) };
  };
  const windows = windowsOf(slo.rules);
  // Each distinct window once (a pair's window may be the SLO window too), one window after another: sending all
  // of them at once queued them inside a busy Prometheus and made no round measurably faster (bench/slo.bench.ts).
  const queried = windows.includes(slo.windowSeconds) ? windows : [slo.windowSeconds, ...windows];
  const perWindow = new Map<number, WindowCounts>();
  try {
    for (const w of queried) perWindow.set(w, await count(w));
  } catch (error) {
    return {
      evaluatedAt,
      burnRates: [],
      firing: firingList(),
      prometheusError: (error instanceof Error ? error.message : String(error)).slice(0, 1000),
    };
  }
  const sli = windowSli(perWindow.get(slo.windowSeconds)!);
  const rates = new Map(windows.map((w) => [w, burnRate(windowSli(perWindow.get(w)!), slo.target)] as const));
  const verdicts = judgeRules(slo.rules, rates);
  const changes = alertChanges(new Set(firing.keys()), verdicts);
  let revision = history.at(-1)?.revision;
  for (const change of changes) {
    const rule = slo.rules.find((r) => r.name === change.name)!;
    const common = alertData(slo, change.verdict);
    if (change.change === 'fired') {
      const n = (fired.get(change.name) ?? 0) + 1;
      const anomalyId = `slo-${slo.namespace}.${slo.name}.${change.name}.${n}`;
      const outcome = await deps.intake({
        anomalyId,
        signal: 'slo_burn_rate',
        source: 'prometheus',
        resource: slo.workload,
        workload: slo.workload,
        message: `SLO ${slo.namespace}/${slo.name} burns its error budget ${round(common.shortRate)}x (${formatWindow(rule.shortWindow)}) and ${round(common.longRate)}x (${formatWindow(rule.longWindow)}) faster than its ${slo.target}% target allows: ${rule.urgency} at ${rule.factor}x`,
        observedAt: evaluatedAt,
        labels: {
          slo: `${slo.namespace}/${slo.name}`,
          alert: change.name,
          urgency: rule.urgency,
          severity: rule.severity,
        },
      });
      const data: SloBurnAlertFiredData = {
        ...common,
        anomalyId,
        ...(outcome.issueId ? { issueId: outcome.issueId } : {}),
      };
      const result = await deps.store.appendToStream(
        stream,
        [{ type: 'SloBurnAlertFired', data, metadata: { occurredAt: evaluatedAt, actor: 'system:slo' } }],
        { expectedRevision: revision ?? 'no_stream' },
      );
      revision = result.nextExpectedRevision;
      firing.set(change.name, { since: evaluatedAt, severity: rule.severity });
      deps.log?.(`slo ${slo.namespace}/${slo.name}: ${change.name} fired (${rule.urgency})`);
    } else {
      const result = await deps.store.appendToStream(
        stream,
        [{ type: 'SloBurnAlertCleared', data: common, metadata: { occurredAt: evaluatedAt, actor: 'system:slo' } }],
        { expectedRevision: revision ?? 'no_stream' },
      );
      revision = result.nextExpectedRevision;
      firing.delete(change.name);
      deps.log?.(`slo ${slo.namespace}/${slo.name}: ${change.name} cleared`);
    }
  }
  const budget = errorBudgetRemaining(sli, slo.target);
  return {
    evaluatedAt,
    ...(sli.kind === 'measured' ? { current: sli.sli * 100 } : {}),
    ...(budget === undefined ? {} : { errorBudgetRemaining: budget }),
    burnRates: windows.map((w) => {
      const rate = rates.get(w);
      return { window: goDuration(w), ...(rate === undefined ? {} : { rate }) };
    }),
    firing: firingList(),
  };
}

const round = (n: number) => Math.round(n * 10) / 10;

/**
 * A window as the status writes it: a Go duration (`5m`, `24h`, `72h`), as the CRD's schema and the spec's own
 * burn-rate windows spell it. PromQL reads days, the status does not.
 */
export const goDuration = (seconds: number): string => {
  for (const [unit, size] of [
    ['h', 3_600],
    ['m', 60],
  ] as const) {
    if (seconds % size === 0) return `${seconds / size}${unit}`;
  }
  return `${seconds}s`;
};

const alertData = (slo: EvaluatedSlo, verdict: RuleVerdict) => ({
  slo: { namespace: slo.namespace, name: slo.name, generation: slo.generation },
  alert: verdict.name,
  urgency: verdict.urgency,
  factor: verdict.factor,
  shortWindow: verdict.shortWindow,
  longWindow: verdict.longWindow,
  shortRate: verdict.shortRate ?? 0,
  longRate: verdict.longRate ?? 0,
  workload: slo.workload,
});
