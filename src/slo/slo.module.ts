import * as k8s from '@kubernetes/client-node';
import { CairnError } from '../../domain/errors.ts';
import { ApiVersion } from '../../projections/kubernetesResources.projection.ts';
import { customResources } from '../adapters/kubernetes/customResources.ts';
import { conditionTransitionTime, startSpecInformer } from '../adapters/kubernetes/specInformer.ts';
import { type PrometheusClient, PrometheusErrorCode } from '../adapters/prometheus/prometheus.client.ts';
import type { AnomalyIntake } from '../application/detection/anomalyIntake.ts';
import type { EventStore } from '../ports/eventStore.ts';
import { type EvaluatedSlo, queryFor, type SloProblem, validateSlo } from './slo.validation.ts';
import { evaluateSlo, type SloEvaluation } from './sloEvaluator.ts';

const [GROUP, VERSION] = ApiVersion.split('/') as [string, string];
const PLURAL = 'servicelevelobjectives';
const FIELD_MANAGER = 'cairn-slo';

export interface SloOptions {
  readonly config: k8s.KubeConfig;
  readonly store: EventStore;
  readonly prometheus: PrometheusClient;
  readonly intake: AnomalyIntake;
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
        return { field: `spec.indicator.${key}`, message: error.message };
      }
      // Unreachable or failing: the spec may well be right; the evaluation reports Prometheus' state.
      return undefined;
    }
  }
  return undefined;
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
  const custom = options.config.makeApiClient(k8s.CustomObjectsApi);
  const objects = customResources(options.config, 'ServiceLevelObjective', PLURAL);
  const active = new Map<string, { slo: EvaluatedSlo; spec: unknown }>();
  const problems = new Map<string, SloProblem | undefined>();
  const evaluations = new Map<string, SloEvaluation>();

  const writeStatus = async (key: string, object: SloObject) => {
    const [namespace, name] = key.split('/') as [string, string];
    const generation = object.metadata?.generation ?? 1;
    const current = active.get(key);
    const ready = sloReadyCondition(problems.get(key), current?.slo);
    const evaluation = evaluations.get(key);
    const previous = object.status?.conditions?.find((c) => c.type === 'Ready');
    const stamp = now().toISOString();
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
      ],
    };
    if (ready.status === 'False' && previous?.message !== ready.message) options.log?.(`slo ${key}: ${ready.message}`);
    await custom.patchNamespacedCustomObjectStatus(
      {
        group: GROUP,
        version: VERSION,
        plural: PLURAL,
        namespace,
        name,
        body: { apiVersion: ApiVersion, kind: 'ServiceLevelObjective', metadata: { name, namespace }, status },
        fieldManager: FIELD_MANAGER,
        force: true,
      },
      k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.ServerSideApply),
    );
  };

  const judged = new Map<string, number>();
  const reconcile = async (key: string) => {
    const [namespace, name] = key.split('/') as [string, string];
    const object = (await objects.get(namespace, name)) as SloObject | undefined;
    if (!object || object.metadata?.deletionTimestamp) {
      active.delete(key);
      problems.delete(key);
      evaluations.delete(key);
      judged.delete(key);
      return;
    }
    const generation = object.metadata?.generation ?? 1;
    // Status writes come back as watch events: a generation already judged is not judged (nor written) again.
    if (judged.get(key) === generation) return;
    const outcome = validateSlo({ namespace, name, generation }, object.spec);
    let problem = outcome.ok ? await promqlProblem(options.prometheus, outcome.slo) : outcome.problem;
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
    },
  };
}
