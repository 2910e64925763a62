import type * as k8s from '@kubernetes/client-node';
import { CairnError } from '../../domain/errors.ts';
import { customResources } from '../adapters/kubernetes/customResources.ts';
import { conditionTransitionTime, startSpecInformer } from '../adapters/kubernetes/specInformer.ts';
import type { CairnMetrics } from '../adapters/metrics/prometheus.metrics.ts';
import { type PrometheusClient, PrometheusErrorCode } from '../adapters/prometheus/prometheus.client.ts';
import type { AnomalyIntake } from '../application/detection/anomalyIntake.ts';
import type { EventStore } from '../ports/eventStore.ts';
import { type EvaluatedSlo, histogramSelector, queryFor, type SloProblem, validateSlo } from './slo.validation.ts';
import {
  type CoverageCondition,
  type Retention,
  retentionFromFlags,
  WINDOW_COVERED,
  windowCoverage,
} from './sloCoverage.ts';
import { evaluateSlo, type SloEvaluation } from './sloEvaluator.ts';

const PLURAL = 'servicelevelobjectives';
const FIELD_MANAGER = 'cairn-slo';

export interface SloOptions {
  readonly config: k8s.KubeConfig;
  readonly store: EventStore;
  readonly prometheus: PrometheusClient;
  readonly intake: AnomalyIntake;
  /** The SLO gauges of /metrics. */
  readonly metrics?: Pick<CairnMetrics, 'observeSlo'>;
  readonly now?: () => Date;
  /** How often every SLO is evaluated; 30 s by default. */
  readonly intervalMs?: number;
  readonly log?: (line: string) => void;
  readonly onError?: (what: string, error: unknown) => void;
}

export interface RunningSlo {
  /** Evaluates every valid SLO now (the interval does this too); resolves when each is evaluated and its status written. */
  evaluate(): Promise<void>;
  stop(): Promise<void>;
}

interface SloObject {
  metadata?: { name?: string; namespace?: string; generation?: number; deletionTimestamp?: unknown };
  spec?: unknown;
  status?: Record<string, unknown> & {
    activeGeneration?: number;
    activeSpec?: unknown;
    conditions?: { type: string; status: string; reason: string; message: string; lastTransitionTime?: string }[];
  };
}

/** Ready, as it tells a person what Cairn does with their SLO. Pure. */
export function sloReadyCondition(problem: SloProblem | undefined, active: EvaluatedSlo | undefined) {
  if (problem === undefined) {
    return { status: 'True' as const, reason: 'Valid', message: 'evaluated against Prometheus by this generation' };
  }
  const still = active
    ? `; generation ${active.generation} is still evaluated`
    : '; nothing is evaluated until it is fixed';
  return {
    status: 'False' as const,
    reason: 'InvalidSpec',
    message: `${problem.field}: ${problem.message}${still}`,
  };
}

/** Asks Prometheus to parse the PromQL of a spec; only a refusal (bad_data) is the spec's fault. */
async function promqlProblem(prometheus: PrometheusClient, slo: EvaluatedSlo): Promise<SloProblem | undefined> {
  for (const key of ['good', 'total'] as const) {
    try {
      await prometheus.query(queryFor(slo[key], '5m'));
    } catch (error) {
      if (error instanceof CairnError && error.code === PrometheusErrorCode.BadQuery) {
        // In the latency form Cairn wrote the query: only the selector's matchers can make it unparsable.
        return {
          field: slo.latency ? 'spec.indicator.latency.selector' : `spec.indicator.${key}`,
          message: error.message,
        };
      }
      // Unreachable or failing: the spec may well be right; the evaluation reports Prometheus' state.
      return undefined;
    }
  }
  return undefined;
}

const MAX_LISTED_BOUNDS = 40;

/** Prometheus spells infinite bounds `+Inf`. */
const boundValue = (le: string): number => (le === '+Inf' ? Number.POSITIVE_INFINITY : Number(le));

/**
 * A latency threshold must be a bucket bound, or good would count a different threshold than the spec says. Asks
 * Prometheus which `le` the histogram's buckets have over the SLO window; no series at all is no data yet, not an
 * error.
 */
async function bucketProblem(
  prometheus: PrometheusClient,
  slo: EvaluatedSlo,
  at: Date,
): Promise<SloProblem | undefined> {
  const latency = slo.latency;
  if (latency === undefined) return undefined;
  const series = histogramSelector(`${latency.metric}_bucket`, latency.matchers);
  const end = Math.floor(at.getTime() / 1000);
  let values: string[];
  try {
    values = await prometheus.labelValues('le', { match: series, start: end - slo.windowSeconds, end });
  } catch (error) {
    if (error instanceof CairnError && error.code === PrometheusErrorCode.BadQuery) {
      return { field: 'spec.indicator.latency.selector', message: error.message };
    }
    return undefined;
  }
  const bounds = values
    .map((text) => ({ text, value: boundValue(text) }))
    .filter((b) => !Number.isNaN(b.value))
    .sort((a, b) => a.value - b.value);
  if (bounds.length === 0) return undefined;
  const equal = bounds.filter((b) => b.value === latency.threshold);
  if (equal.length === 0) {
    const listed = bounds.filter((b) => Number.isFinite(b.value)).map((b) => b.text);
    const shown =
      listed.length > MAX_LISTED_BOUNDS
        ? `${listed.slice(0, MAX_LISTED_BOUNDS).join(', ')} and ${listed.length - MAX_LISTED_BOUNDS} more`
        : listed.join(', ');
    return {
      field: 'spec.indicator.latency.threshold',
      message: `${latency.threshold} is not a bucket bound of ${series}, so the SLI would not count what it says; its bounds (le) are ${shown || 'only +Inf'}`,
    };
  }
  if (!equal.some((b) => latency.le.includes(b.text))) {
    return {
      field: 'spec.indicator.latency.threshold',
      message: `the bucket is written le="${equal[0]!.text}", a spelling Cairn does not match (${latency.le.join(', ')}); write good and total by hand instead`,
    };
  }
  return undefined;
}

/** Prometheus' retention from its flags, or undefined when Prometheus could not be asked. */
async function readRetention(prometheus: PrometheusClient): Promise<Retention | undefined> {
  try {
    return retentionFromFlags(await prometheus.flags());
  } catch (error) {
    if (error instanceof CairnError && error.code === PrometheusErrorCode.QueryFailed) {
      // Answered, but without a flags endpoint (a Thanos or Mimir query frontend, say).
      return { kind: 'unknown', why: `has no flags to read (${error.message})` };
    }
    return undefined;
  }
}

/**
 * ServiceLevelObjectives, wired as one capability: the informer (validation against the schema and against
 * Prometheus' own parser, Ready naming the field, the last valid generation kept) and the evaluator that queries
 * Prometheus every interval, records burn alerts as they fire and clear, and writes the status. It is the only
 * writer of an SLO's status. Leader only.
 */
export function startSlo(options: SloOptions): RunningSlo {
  const now = options.now ?? (() => new Date());
  const onError = options.onError ?? (() => {});
  const objects = customResources(options.config, 'ServiceLevelObjective', PLURAL);
  const active = new Map<string, { slo: EvaluatedSlo; spec: unknown }>();
  const problems = new Map<string, SloProblem | undefined>();
  const evaluations = new Map<string, SloEvaluation>();
  const coverage = new Map<string, { generation: number; condition: CoverageCondition }>();

  const writeStatus = async (key: string, object: SloObject) => {
    const [namespace, name] = key.split('/') as [string, string];
    const generation = object.metadata?.generation ?? 1;
    const current = active.get(key);
    const ready = sloReadyCondition(problems.get(key), current?.slo);
    const evaluation = evaluations.get(key);
    const previous = object.status?.conditions?.find((c) => c.type === 'Ready');
    const stamp = now().toISOString();
    const covered = current ? coverage.get(key) : undefined;
    const coveredCondition = covered && covered.generation === current?.slo.generation ? covered.condition : undefined;
    const previousCovered = object.status?.conditions?.find((c) => c.type === WINDOW_COVERED);
    const status = {
      observedGeneration: generation,
      ...(current ? { activeGeneration: current.slo.generation, activeSpec: current.spec } : {}),
      ...(evaluation
        ? {
            lastEvaluatedAt: evaluation.evaluatedAt,
            ...(evaluation.current === undefined ? {} : { current: evaluation.current }),
            ...(evaluation.errorBudgetRemaining === undefined
              ? {}
              : { errorBudgetRemaining: evaluation.errorBudgetRemaining }),
            ...(evaluation.current === undefined || !current
              ? {}
              : { targetMet: evaluation.current >= current.slo.target }),
            noData: evaluation.current === undefined && evaluation.prometheusError === undefined,
            burnRates: evaluation.burnRates,
            firing: evaluation.firing,
            ...(evaluation.prometheusError ? { prometheusError: evaluation.prometheusError } : {}),
          }
        : {}),
      conditions: [
        {
          type: 'Ready',
          ...ready,
          observedGeneration: generation,
          lastTransitionTime: conditionTransitionTime(previous, ready, stamp),
        },
        ...(coveredCondition
          ? [
              {
                type: WINDOW_COVERED,
                ...coveredCondition,
                observedGeneration: generation,
                lastTransitionTime: conditionTransitionTime(previousCovered, coveredCondition, stamp),
              },
            ]
          : []),
      ],
    };
    if (coveredCondition?.status === 'False' && previousCovered?.message !== coveredCondition.message) {
      options.log?.(`slo ${key}: ${coveredCondition.message}`);
    }
    if (ready.status === 'False' && previous?.message !== ready.message) options.log?.(`slo ${key}: ${ready.message}`);
    await objects.applyStatus(namespace, name, status, FIELD_MANAGER);
  };

  /** WindowCovered for the SLO evaluated under key; an unreachable Prometheus (no retention) keeps what was known. */
  const checkCoverage = (key: string, retention: Retention | undefined) => {
    const current = active.get(key);
    if (!current || retention === undefined) return;
    coverage.set(key, { generation: current.slo.generation, condition: windowCoverage(current.slo, retention) });
  };

  const judged = new Map<string, number>();
  const reconcile = async (key: string) => {
    const [namespace, name] = key.split('/') as [string, string];
    const object = (await objects.get(namespace, name)) as SloObject | undefined;
    if (!object || object.metadata?.deletionTimestamp) {
      active.delete(key);
      problems.delete(key);
      evaluations.delete(key);
      options.metrics?.observeSlo({ namespace, name }, undefined);
      coverage.delete(key);
      judged.delete(key);
      return;
    }
    const generation = object.metadata?.generation ?? 1;
    // Status writes come back as watch events: a generation already judged is not judged (nor written) again.
    if (judged.get(key) === generation) return;
    const outcome = validateSlo({ namespace, name, generation }, object.spec);
    let problem = outcome.ok ? await promqlProblem(options.prometheus, outcome.slo) : outcome.problem;
    if (outcome.ok && problem === undefined) problem = await bucketProblem(options.prometheus, outcome.slo, now());
    if (outcome.ok && problem === undefined) {
      active.set(key, { slo: outcome.slo, spec: object.spec });
    } else if (!active.has(key)) {
      // Started (or restarted) on an invalid spec: the status keeps the last valid one, which is evaluated meanwhile.
      const kept = object.status?.activeSpec;
      const keptGeneration = object.status?.activeGeneration;
      if (kept !== undefined && typeof keptGeneration === 'number') {
        const previous = validateSlo({ namespace, name, generation: keptGeneration }, kept);
        if (previous.ok) active.set(key, { slo: previous.slo, spec: kept });
      }
    }
    problem = outcome.ok ? problem : outcome.problem;
    problems.set(key, problem);
    checkCoverage(key, await readRetention(options.prometheus));
    await writeStatus(key, object);
    judged.set(key, generation);
  };

  let stopped = false;
  const informer = startSpecInformer({
    config: options.config,
    kind: 'ServiceLevelObjective',
    plural: PLURAL,
    kindPlural: 'ServiceLevelObjectives',
    describe: (key) => `slo ${key}`,
    reconcile,
    // Evaluation rounds, not a first listing, are what callers wait for.
    initialSync: false,
    onError,
  });

  let running: Promise<void> | undefined;
  const evaluateAll = async () => {
    // Once a round, not once an SLO: Prometheus restarted with another retention shows within one round.
    const retention = active.size > 0 ? await readRetention(options.prometheus) : undefined;
    for (const [key, { slo }] of [...active.entries()]) {
      if (stopped) return;
      if (!slo.enabled) continue;
      try {
        const evaluation = await evaluateSlo(
          {
            store: options.store,
            prometheus: options.prometheus,
            intake: options.intake,
            now,
            ...(options.log ? { log: options.log } : {}),
          },
          slo,
        );
        evaluations.set(key, evaluation);
        // An evaluation without data (or that could not query Prometheus) shows no numbers rather than stale ones.
        options.metrics?.observeSlo(slo, evaluation);
        // Prometheus may have been unreachable when the generation was judged, or restarted with another retention.
        checkCoverage(key, retention);
        const object = (await objects.get(slo.namespace, slo.name)) as SloObject | undefined;
        if (object) await writeStatus(key, object);
      } catch (error) {
        onError(`evaluating slo ${key}`, error);
      }
    }
  };
  const evaluate = () => {
    // One evaluation at a time: a slow Prometheus makes rounds later, never overlapping.
    running ??= evaluateAll().finally(() => {
      running = undefined;
    });
    return running;
  };
  const timer = setInterval(() => void evaluate(), options.intervalMs ?? 30_000);
  timer.unref();

  return {
    evaluate,
    stop: async () => {
      stopped = true;
      clearInterval(timer);
      await informer.stop(async () => {
        await running;
      });
      // A replica that no longer leads evaluates nothing: its gauges would only go stale.
      for (const key of evaluations.keys()) {
        const [namespace, name] = key.split('/') as [string, string];
        options.metrics?.observeSlo({ namespace, name }, undefined);
      }
    },
  };
}
