import * as k8s from '@kubernetes/client-node';
import { Value } from '@sinclair/typebox/value';
import {
  type ChaosCommand,
  type ChaosRun,
  type ChaosState,
  chaosDecider,
  isActive,
  mayBeInjected,
  RunPhase,
} from '../../domain/chaos/chaos.decider.ts';
import {
  type ChaosSafety,
  checkSafety,
  defaultSafety,
  midRunProblem,
  type TargetState,
} from '../../domain/chaos/chaosSafety.ts';
import { dueScheduledRun, nextScheduledRun, STARTING_DEADLINE_MS } from '../../domain/chaos/chaosSchedule.ts';
import {
  type ChaosEvent,
  ChaosObservation,
  ChaosOutcome,
  ChaosRevertReason,
  ChaosTrigger,
  type ChaosTarget as EventTarget,
} from '../../domain/events/chaos.events.ts';
import { RemediationSource } from '../../domain/events/common.schema.ts';
import type { IssueDetectedData } from '../../domain/events/issue.events.ts';
import type { RemediationPlanCreatedData } from '../../domain/events/remediation.events.ts';
import type { RecordedEvent } from '../../domain/messages.ts';
import { parseStreamName, StreamCategory, streamName } from '../../domain/streams.ts';
import { sloFactsFor } from '../actions/sloFacts.ts';
import { sloGuardReason } from '../actions/sloGuard.ts';
import {
  type ChaosExperimentSpec,
  ChaosExperimentSpecSchema,
  type chaosStates,
} from '../adapters/kubernetes/api/chaosExperiment.kind.ts';
import { apiGroup, apiVersion } from '../adapters/kubernetes/api/kindDefinition.ts';
import type { ServiceLevelObjectiveResource } from '../adapters/kubernetes/api/serviceLevelObjective.kind.ts';
import { customResources } from '../adapters/kubernetes/customResources.ts';
import { conditionTransitionTime } from '../adapters/kubernetes/specInformer.ts';
import { createCommandHandler } from '../application/commandHandler.ts';
import { createKeyedQueue } from '../application/keyedQueue.ts';
import { type ReactorCheckpoints, type RunningReactor, runReactor } from '../application/reactor.ts';
import { durationSeconds } from '../notifications/policy.validation.ts';
import type { EventStore } from '../ports/eventStore.ts';
import { type ChaosTarget, chaosFaultTypes, type FaultInjector, type InjectionPlan } from './faultInjector.ts';

const PLURAL = 'chaosexperiments';
const FIELD_MANAGER = 'cairn-chaos';
const ACTOR = 'system:chaos';
export const CHAOS_OBSERVER = 'chaos-observer';

export interface ChaosOptions {
  readonly config: k8s.KubeConfig;
  readonly store: EventStore;
  readonly checkpoints: ReactorCheckpoints;
  readonly injector: FaultInjector;
  /** Only experiments in these namespaces (the operator's watched ones); all when absent. */
  readonly namespaces?: readonly string[];
  readonly now?: () => Date;
  /** How often a run under way is looked at (health, deadlines, safety); 1 s by default. */
  readonly tickMs?: number;
  readonly log?: (line: string) => void;
  readonly onError?: (what: string, error: unknown) => void;
}

export interface RunningChaos {
  /** Takes back nothing: a fault in place stays for the next leader (or this process restarted) to take back. */
  stop(): Promise<void>;
}

interface ExperimentObject {
  metadata?: {
    name?: string;
    namespace?: string;
    generation?: number;
    creationTimestamp?: string | Date;
    deletionTimestamp?: unknown;
  };
  spec?: unknown;
  status?: {
    conditions?: { type: string; status: string; reason: string; message: string; lastTransitionTime?: string }[];
  };
}

/** The spec a run is started from, with the defaults filled in. */
interface RunSpec {
  readonly fault: keyof typeof chaosFaultTypes;
  readonly count: number;
  readonly target: EventTarget;
  readonly durationSeconds: number;
  readonly recovery: { expect: 'WorkloadReady' | 'IssueResolved'; withinSeconds: number; slo?: string };
  readonly dryRun: boolean;
  readonly enabled: boolean;
  readonly schedule?: string;
  readonly concurrencyPolicy: 'Forbid' | 'Replace';
  readonly safety: ChaosSafety;
}

/** Checks what the schema cannot and fills in defaults; the first problem names its field. Pure. */
export function chaosRunSpec(
  namespace: string,
  spec: unknown,
): { ok: true; spec: RunSpec } | { ok: false; field: string; message: string } {
  if (!Value.Check(ChaosExperimentSpecSchema, spec)) {
    const first = Value.Errors(ChaosExperimentSpecSchema, spec).First();
    const path = (first?.path ?? '').split('/').filter(Boolean);
    return {
      ok: false,
      field: `spec${path.map((p) => (/^\d+$/.test(p) ? `[${p}]` : `.${p}`)).join('')}`,
      message: first?.message ?? 'is invalid',
    };
  }
  const s = spec as ChaosExperimentSpec;
  const duration = durationSeconds(s.duration);
  if (duration === undefined || duration <= 0)
    return { ok: false, field: 'spec.duration', message: `${s.duration} is not a duration such as 2m` };
  const within = durationSeconds(s.recovery.within);
  if (within === undefined || within <= 0) {
    return { ok: false, field: 'spec.recovery.within', message: `${s.recovery.within} is not a duration such as 5m` };
  }
  const info = chaosFaultTypes[s.fault.type];
  if (!(info.targetKinds as readonly string[]).includes(s.target.kind)) {
    return { ok: false, field: 'spec.target.kind', message: `${s.fault.type} cannot target a ${s.target.kind}` };
  }
  const isNode = s.target.kind === 'Node';
  const safety: ChaosSafety = {
    ...defaultSafety,
    ...(s.safety?.minHealthyPods === undefined ? {} : { minHealthyPods: s.safety.minHealthyPods }),
    maxPodsPercent: s.safety?.maxPodsPercent ?? defaultSafety.maxPodsPercent,
    requireHealthyTarget: s.safety?.requireHealthyTarget ?? true,
    respectSloBudget: s.safety?.respectSloBudget ?? true,
    blockedNamespaces: s.safety?.blockedNamespaces ?? defaultSafety.blockedNamespaces,
  };
  return {
    ok: true,
    spec: {
      fault: s.fault.type,
      count: s.fault.count ?? 1,
      target: { kind: s.target.kind, namespace: isNode ? '' : (s.target.namespace ?? namespace), name: s.target.name },
      durationSeconds: duration,
      recovery: {
        expect: s.recovery.expect,
        withinSeconds: within,
        ...(s.recovery.slo ? { slo: s.recovery.slo } : {}),
      },
      dryRun: s.dryRun ?? false,
      enabled: s.enabled ?? true,
      ...(s.schedule ? { schedule: s.schedule } : {}),
      concurrencyPolicy: s.concurrencyPolicy ?? 'Forbid',
      safety,
    },
  };
}

const injectorTarget = (t: EventTarget): ChaosTarget =>
  t.kind === 'Node' ? { kind: 'Node', name: t.name } : { kind: t.kind, namespace: t.namespace, name: t.name };
const targetKey = (t: EventTarget) => `${t.kind}/${t.namespace}/${t.name}`;
const targetLabel = (t: EventTarget) =>
  t.namespace === '' ? `${t.kind} ${t.name}` : `${t.kind} ${t.namespace}/${t.name}`;
const experimentKey = (stream: string) => {
  const id = parseStreamName(stream).id;
  const dot = id.indexOf('.');
  return `${id.slice(0, dot)}/${id.slice(dot + 1)}`;
};
const chaosStream = (key: string) => streamName(StreamCategory.Chaos, key.replace('/', '.'));
const messageOf = (error: unknown) => (error instanceof Error ? error.message : String(error));

const outcomeState = {
  [ChaosOutcome.Passed]: 'Passed',
  [ChaosOutcome.Failed]: 'Failed',
  [ChaosOutcome.Aborted]: 'Aborted',
  [ChaosOutcome.DryRun]: 'DryRun',
} as const satisfies Record<ChaosOutcome, (typeof chaosStates)[number]>;

/** The status a person reads, from the latest run. Pure: the stream decides it, nothing else. */
export function chaosStatus(state: ChaosState) {
  const run = state.current;
  if (run === null) return { state: 'Pending' as const };
  const stateName = (() => {
    switch (run.phase) {
      case RunPhase.Refused:
        return 'Refused' as const;
      case RunPhase.Planned:
      case RunPhase.Injected:
        return 'Running' as const;
      case RunPhase.Reverting:
      case RunPhase.Reverted:
        return 'Verifying' as const;
      case RunPhase.Completed: {
        return outcomeState[run.completed?.outcome ?? ChaosOutcome.Aborted];
      }
    }
  })();
  const figures = run.completed;
  const result =
    run.refusal !== undefined
      ? `refused (${run.refusal.code}): ${run.refusal.message}`
      : figures !== undefined
        ? figures.reason
        : run.lastRevertError !== undefined
          ? `taking the fault back failed ${run.revertFailures} time(s), retrying: ${run.lastRevertError}`
          : run.revertReason !== undefined
            ? `taking the fault back (${run.revertReason}): ${run.revertDetail ?? ''}`
            : run.planned !== undefined
              ? `injected: ${run.planned.summary}`
              : 'starting';
  return {
    state: stateName,
    run: run.run,
    startedAt: run.startedAt,
    lastRunAt: run.startedAt,
    ...(run.injectedAt ? { injectedAt: run.injectedAt } : {}),
    ...(run.revertedAt ? { removedAt: run.revertedAt } : {}),
    ...(run.observed[ChaosObservation.TargetRecovered]
      ? { recoveredAt: run.observed[ChaosObservation.TargetRecovered]?.at }
      : {}),
    ...(run.completedAt ? { completedAt: run.completedAt } : {}),
    ...(run.podsAffected === undefined ? {} : { podsAffected: run.podsAffected }),
    ...(figures
      ? {
          ...(figures.outcome === 'passed' || figures.outcome === 'failed'
            ? { recovered: figures.outcome === 'passed' }
            : {}),
          remediatedByCairn: figures.remediatedByCairn,
          ...(figures.timeToDetectSeconds === undefined ? {} : { timeToDetectSeconds: figures.timeToDetectSeconds }),
          ...(figures.timeToPlanSeconds === undefined ? {} : { timeToPlanSeconds: figures.timeToPlanSeconds }),
          ...(figures.timeToRecoverSeconds === undefined ? {} : { timeToRecoverSeconds: figures.timeToRecoverSeconds }),
        }
      : {}),
    ...(run.observed[ChaosObservation.IssueDetected]?.issueId
      ? { issueRef: { name: run.observed[ChaosObservation.IssueDetected]?.issueId } }
      : {}),
    checks: run.started.checks.map((c) => ({ name: c.name, passed: c.passed, detail: c.detail.slice(0, 512) })),
    result: result.slice(0, 4096),
  };
}

/**
 * ChaosExperiments, wired as one capability: the informer, one run at a time per experiment (safety checks, the
 * plan recorded, the fault injected, watched and taken back), the observer that links the run to the Issue and
 * remediation Cairn produced, and the status, which it alone writes. A fault is never left behind: a run whose
 * experiment is deleted or disabled, whose safety check fails mid-run, or that a previous operator process left
 * injected is taken back first thing. Leader only.
 */
export function startChaos(options: ChaosOptions): RunningChaos {
  const now = options.now ?? (() => new Date());
  const tickMs = options.tickMs ?? 1_000;
  const onError = options.onError ?? (() => {});
  const injector = options.injector;
  const custom = options.config.makeApiClient(k8s.CustomObjectsApi);
  const objects = customResources(options.config, 'ChaosExperiment', PLURAL);
  const handle = createCommandHandler(options.store, chaosDecider, { maxAttempts: 5 });
  /** Runs this process planned: any other run found with a fault in was left by an earlier process. */
  const ownRuns = new Set<string>();
  /** Experiments with a run under way, by target, so another experiment on the same target waits its turn. */
  const activeTargets = new Map<string, string>();
  /** Desired replicas when each run started: scale_to_zero has recovered only when they are back. */
  const startDesired = new Map<string, number>();
  /** The last status written per experiment. */
  const written = new Map<string, string>();
  let stopped = false;

  const send = async (key: string, type: ChaosCommand['type'], data: unknown): Promise<ChaosState> => {
    const command = { type, data, metadata: { occurredAt: now().toISOString(), actor: ACTOR } } as ChaosCommand;
    return (await handle(chaosStream(key), command)).state;
  };
  const fold = async (key: string): Promise<ChaosState> => {
    const history = await options.store.readStream(chaosStream(key));
    return history.reduce((s, e) => chaosDecider.evolve(s, e as unknown as ChaosEvent), chaosDecider.initialState());
  };

  const sloRisk = async (target: EventTarget): Promise<string | undefined> => {
    if (target.namespace === '') return undefined;
    const list = (await custom.listNamespacedCustomObject({
      group: apiGroup,
      version: apiVersion,
      plural: 'servicelevelobjectives',
      namespace: target.namespace,
    })) as { items?: ServiceLevelObjectiveResource[] };
    return sloGuardReason(
      sloFactsFor(list.items ?? [], { kind: target.kind, namespace: target.namespace, name: target.name }),
    );
  };
  const sloFiring = async (namespace: string, name: string): Promise<string | undefined> => {
    const object = (await custom
      .getNamespacedCustomObject({
        group: apiGroup,
        version: apiVersion,
        plural: 'servicelevelobjectives',
        namespace,
        name,
      })
      .catch(() => undefined)) as ServiceLevelObjectiveResource | undefined;
    if (object === undefined) return `SLO ${namespace}/${name} does not exist`;
    const firing = object.status?.firing ?? [];
    return firing.length === 0
      ? undefined
      : `SLO ${namespace}/${name} still has ${firing.map((f) => f.name).join(', ')} firing`;
  };

  const writeStatus = async (
    key: string,
    object: ExperimentObject,
    state: ChaosState,
    problem?: { field: string; message: string },
    nextRunAt?: Date,
  ) => {
    const [namespace, name] = key.split('/') as [string, string];
    const generation = object.metadata?.generation ?? 1;
    const ready = problem
      ? { status: 'False' as const, reason: 'InvalidSpec', message: `${problem.field}: ${problem.message}` }
      : { status: 'True' as const, reason: 'Valid', message: 'runs as specified' };
    const previous = object.status?.conditions?.find((c) => c.type === 'Ready');
    const body = {
      ...chaosStatus(state),
      ...(nextRunAt ? { nextRunAt: nextRunAt.toISOString() } : {}),
      generation,
      ready,
    };
    // The status write comes back as a watch event: an unchanged status is not written again.
    const fingerprint = JSON.stringify(body);
    if (written.get(key) === fingerprint) return;
    const status = {
      ...chaosStatus(state),
      ...(nextRunAt ? { nextRunAt: nextRunAt.toISOString() } : {}),
      observedGeneration: generation,
      conditions: [
        {
          type: 'Ready',
          ...ready,
          observedGeneration: generation,
          lastTransitionTime: conditionTransitionTime(previous, ready, now().toISOString()),
        },
      ],
    };
    await objects.applyStatus(namespace, name, status, FIELD_MANAGER);
    written.set(key, fingerprint);
  };

  const inject = async (key: string, run: ChaosRun) => {
    const plan = run.planned?.plan as unknown as InjectionPlan;
    try {
      const result = await injector.inject(plan);
      options.log?.(`chaos ${key} run ${run.run}: ${result.summary}`);
      const state = await send(key, 'RecordInjection', {
        run: run.run,
        podsAffected: result.podsAffected,
        summary: result.summary,
      });
      // A pod kill is visible the moment the pods are gone, however fast their controller replaces them.
      if (run.started.fault.type === 'pod_kill') {
        await send(key, 'Observe', {
          run: run.run,
          what: ChaosObservation.FaultVisible,
          at: state.current?.injectedAt ?? now().toISOString(),
          detail: result.summary,
        });
      }
    } catch (error) {
      await send(key, 'RecordInjectionFailure', { run: run.run, error: messageOf(error) });
    }
  };

  const revert = async (key: string, run: ChaosRun) => {
    const plan = run.planned?.plan as unknown as InjectionPlan | undefined;
    if (plan === undefined) {
      await send(key, 'RecordRevert', {
        run: run.run,
        changed: false,
        summary: 'nothing was planned, so nothing to take back',
      });
      return;
    }
    try {
      const result = await injector.revert(plan);
      options.log?.(`chaos ${key} run ${run.run}: ${result.summary}`);
      await send(key, 'RecordRevert', { run: run.run, changed: result.reverted, summary: result.summary });
    } catch (error) {
      await send(key, 'RecordRevertFailure', { run: run.run, error: messageOf(error) });
      onError(`taking back the fault of chaos ${key} run ${run.run}`, error);
    }
  };

  /** Health, as the run judges it: a scale-down has recovered only when the replicas are back. */
  const healthOf = async (key: string, run: ChaosRun): Promise<TargetState & { recovered: boolean }> => {
    const health = await injector.health(injectorTarget(run.started.target));
    const desiredAtStart = startDesired.get(`${key}#${run.run}`) ?? 0;
    return { ...health, recovered: health.exists && health.healthy && health.desired >= desiredAtStart };
  };

  const watchRun = async (key: string, run: ChaosRun, spec: RunSpec | undefined) => {
    const health = await healthOf(key, run);
    const at = now().toISOString();
    if (run.observed[ChaosObservation.FaultVisible] === undefined) {
      if (!health.recovered)
        await send(key, 'Observe', { run: run.run, what: ChaosObservation.FaultVisible, at, detail: health.detail });
    } else if (run.observed[ChaosObservation.TargetRecovered] === undefined && health.recovered) {
      const slo = run.started.recovery.slo;
      const sloProblem = slo === undefined ? undefined : await sloFiring(run.started.target.namespace, slo);
      if (sloProblem === undefined) {
        await send(key, 'Observe', { run: run.run, what: ChaosObservation.TargetRecovered, at, detail: health.detail });
      }
    }
    if (run.phase === RunPhase.Injected && spec !== undefined) {
      const scope = chaosFaultTypes[run.started.fault.type as keyof typeof chaosFaultTypes]?.scope ?? 'workload';
      const problem = midRunProblem({
        safety: spec.safety,
        health,
        scope,
        ...(spec.safety.respectSloBudget ? { sloRisk: await sloRisk(run.started.target) } : {}),
      });
      if (problem !== undefined) {
        await send(key, 'RequestRevert', {
          run: run.run,
          reason: ChaosRevertReason.SafetyCheckFailed,
          detail: problem,
        });
      }
    }
  };

  const start = async (
    key: string,
    spec: RunSpec,
    generation: number,
    trigger: (typeof ChaosTrigger)[keyof typeof ChaosTrigger],
  ) => {
    const health = await injector.health(injectorTarget(spec.target));
    const info = chaosFaultTypes[spec.fault];
    const outcome = await injector.plan({
      type: spec.fault,
      target: injectorTarget(spec.target),
      count: spec.count,
    });
    const busy = activeTargets.get(targetKey(spec.target));
    const verdict = checkSafety({
      targetLabel: targetLabel(spec.target),
      targetNamespace: spec.target.namespace,
      scope: info.scope,
      count: spec.count,
      safety: spec.safety,
      health,
      ...(outcome.ok ? {} : { notInjectable: { code: outcome.code, message: outcome.message } }),
      ...(spec.safety.respectSloBudget ? { sloRisk: await sloRisk(spec.target) } : {}),
      ...(busy !== undefined && busy !== key
        ? { busyWith: `ChaosExperiment ${busy} is running on ${targetLabel(spec.target)}` }
        : {}),
    });
    const state = await send(key, 'StartRun', {
      trigger,
      generation,
      fault: { type: spec.fault, count: spec.count },
      target: spec.target,
      durationSeconds: spec.durationSeconds,
      recovery: spec.recovery,
      dryRun: spec.dryRun,
      checks: verdict.checks,
      ...(verdict.refusal ? { refusal: verdict.refusal } : {}),
      ...(outcome.ok
        ? { plan: { summary: outcome.plan.summary, plan: outcome.plan as unknown as Record<string, unknown> } }
        : {}),
    });
    const run = state.current;
    if (run === null) return;
    if (verdict.refusal) options.log?.(`chaos ${key} run ${run.run} refused: ${verdict.refusal.message}`);
    if (run.phase !== RunPhase.Planned) return;
    ownRuns.add(`${key}#${run.run}`);
    startDesired.set(`${key}#${run.run}`, health.desired);
    activeTargets.set(targetKey(spec.target), key);
    await inject(key, run);
  };

  const step = async (key: string) => {
    if (stopped) return;
    const [namespace, name] = key.split('/') as [string, string];
    if (options.namespaces !== undefined && !options.namespaces.includes(namespace)) return;
    const object = (await objects.get(namespace, name)) as ExperimentObject | undefined;
    const gone = object === undefined || object.metadata?.deletionTimestamp !== undefined;
    const parsed = gone ? undefined : chaosRunSpec(namespace, object.spec);
    const spec = parsed?.ok ? parsed.spec : undefined;
    let state = await fold(key);
    const first = state.current;
    if (mayBeInjected(first) && first.phase !== RunPhase.Reverting) {
      const own = ownRuns.has(`${key}#${first.run}`);
      const abort = !own
        ? {
            reason: ChaosRevertReason.OperatorRestarted,
            detail: 'the operator restarted during the run; the fault is taken back rather than left unwatched',
          }
        : gone
          ? { reason: ChaosRevertReason.ExperimentDeleted, detail: 'the experiment was deleted' }
          : spec?.enabled === false
            ? { reason: ChaosRevertReason.Disabled, detail: 'the experiment was disabled' }
            : undefined;
      if (abort) await send(key, 'RequestRevert', { run: first.run, ...abort });
      else if (first.phase === RunPhase.Planned) await inject(key, first);
      state = await fold(key);
    }
    const injected = state.current;
    if (injected !== null && injected.phase === RunPhase.Injected) {
      await watchRun(key, injected, spec);
      state = await fold(key);
    }
    const reverting = state.current;
    if (reverting !== null && reverting.phase === RunPhase.Reverting) {
      await revert(key, reverting);
      state = await fold(key);
    }
    const reverted = state.current;
    if (reverted !== null && reverted.phase === RunPhase.Reverted) {
      // The target may only now come back (the fault was taken back): the verdict waits for it until the deadline.
      if (reverted.observed[ChaosObservation.FaultVisible] !== undefined) {
        if (reverted.observed[ChaosObservation.TargetRecovered] === undefined) await watchRun(key, reverted, spec);
      } else if ((await healthOf(key, reverted)).recovered) {
        await send(key, 'Observe', {
          run: reverted.run,
          what: ChaosObservation.FaultVisible,
          at: reverted.injectedAt ?? reverted.startedAt,
          detail: 'the fault was taken back before it showed',
        });
      }
      state = await fold(key);
    }
    const judged = state.current;
    if (isActive(judged)) state = await send(key, 'Judge', { run: judged.run });
    const run = state.current;
    if (!isActive(run)) {
      for (const [t, k] of activeTargets) if (k === key) activeTargets.delete(t);
    }

    let nextRunAt: Date | undefined;
    let waiting = false;
    if (!gone && spec !== undefined && spec.enabled && !stopped) {
      const generation = object.metadata?.generation ?? 1;
      if (spec.schedule !== undefined) {
        const created = object.metadata?.creationTimestamp ? new Date(object.metadata.creationTimestamp) : now();
        const since = run !== null ? new Date(run.startedAt) : created;
        const due = dueScheduledRun(spec.schedule, since, now());
        if (due !== undefined) {
          if (!isActive(run)) {
            // A target still coming back (from a replaced run, say) is waited for until the starting deadline.
            const waitForHealth =
              spec.safety.requireHealthyTarget &&
              now().getTime() - due.getTime() < STARTING_DEADLINE_MS - 2 * tickMs &&
              !(await injector.health(injectorTarget(spec.target))).healthy;
            if (waitForHealth) waiting = true;
            else state = await startLogged(key, spec, generation, ChaosTrigger.Schedule, state);
          } else if (spec.concurrencyPolicy === 'Replace' && mayBeInjected(run) && run.phase !== RunPhase.Reverting) {
            await send(key, 'RequestRevert', {
              run: run.run,
              reason: ChaosRevertReason.Replaced,
              detail: `a scheduled run fell due at ${due.toISOString()}`,
            });
            queue.add(key);
          }
        }
        nextRunAt = nextScheduledRun(spec.schedule, now());
      } else if (!isActive(run) && state.current?.started.generation !== generation) {
        state = await startLogged(
          key,
          spec,
          generation,
          run === null ? ChaosTrigger.Created : ChaosTrigger.Edited,
          state,
        );
      }
    }
    if (gone) written.delete(key);
    else {
      const problem = parsed !== undefined && !parsed.ok ? { field: parsed.field, message: parsed.message } : undefined;
      await writeStatus(key, object, state, problem, nextRunAt);
    }
    if (isActive(state.current) || waiting) queue.addAfter(key, tickMs);
    else if (nextRunAt !== undefined)
      queue.addAfter(key, Math.max(tickMs, Math.min(60_000, nextRunAt.getTime() - now().getTime())));
  };

  const startLogged = async (
    key: string,
    spec: RunSpec,
    generation: number,
    trigger: (typeof ChaosTrigger)[keyof typeof ChaosTrigger],
    state: ChaosState,
  ) => {
    try {
      await start(key, spec, generation, trigger);
    } catch (error) {
      onError(`starting a run of chaos ${key}`, error);
      return state;
    }
    return fold(key);
  };

  const queue = createKeyedQueue(step, {
    concurrency: 2,
    onError: (key, error, attempt) => onError(`chaos ${key} (attempt ${attempt})`, error),
  });

  // Every experiment with a stream is looked at once at start-up: that is where a fault left by a crash is found.
  const index = options.store.subscribeToAll(
    { filter: { streamPrefixes: [`${StreamCategory.Chaos}-`], eventTypes: ['ChaosRunStarted'] } },
    (event) => {
      queue.add(experimentKey(event.streamId));
    },
  );

  const informer = k8s.makeInformer<k8s.KubernetesObject>(
    options.config,
    `/apis/${apiGroup}/${apiVersion}/${PLURAL}`,
    () =>
      custom.listClusterCustomObject({ group: apiGroup, version: apiVersion, plural: PLURAL }) as Promise<
        k8s.KubernetesListObject<k8s.KubernetesObject>
      >,
  );
  const keyOf = (o: k8s.KubernetesObject) => `${o.metadata?.namespace}/${o.metadata?.name}`;
  informer.on(k8s.ADD, (o) => queue.add(keyOf(o)));
  informer.on(k8s.UPDATE, (o) => queue.add(keyOf(o)));
  informer.on(k8s.DELETE, (o) => queue.add(keyOf(o)));
  let restart: NodeJS.Timeout | undefined;
  informer.on(k8s.ERROR, (error) => {
    // stop() aborts the watch: that is no error.
    if (stopped) return;
    onError('watch ChaosExperiment', error);
    clearTimeout(restart);
    restart = setTimeout(() => void informer.start().catch((e) => onError('watch ChaosExperiment', e)), 2_000);
  });
  const informerStarted = informer.start().catch((error) => onError('watch ChaosExperiment', error));

  // The observer: what Cairn did about the fault, from the Issue streams, on the run of the target's experiment.
  const issueWorkloads = new Map<string, string>();
  const workloadOfIssue = async (issueId: string): Promise<string | undefined> => {
    const known = issueWorkloads.get(issueId);
    if (known !== undefined) return known;
    const [first] = await options.store.readStream(streamName(StreamCategory.Issue, issueId), { maxCount: 1 });
    if (first?.type !== 'IssueDetected') return undefined;
    const w = (first.data as IssueDetectedData).workload;
    const key = `${w.kind}/${w.namespace}/${w.name}`;
    issueWorkloads.set(issueId, key);
    return key;
  };
  const observe = async (event: RecordedEvent) => {
    const plan = event.type === 'RemediationPlanCreated' ? (event.data as RemediationPlanCreatedData) : undefined;
    // A plan that holds no action (the Issue is escalated instead) is no plan to fix anything; an agentic one
    // decides its actions as it goes.
    if (plan !== undefined && plan.actions.length === 0 && plan.source !== RemediationSource.Agentic) return;
    const issueId = plan?.issueId ?? parseStreamName(event.streamId).id;
    if (event.type === 'IssueDetected') {
      const w = (event.data as IssueDetectedData).workload;
      issueWorkloads.set(issueId, `${w.kind}/${w.namespace}/${w.name}`);
    }
    if (activeTargets.size === 0) return;
    const workload = await workloadOfIssue(issueId);
    const key = workload === undefined ? undefined : activeTargets.get(workload);
    if (key === undefined) return;
    const run = (await fold(key)).current;
    if (!isActive(run)) return;
    const data = event.data as { remediationId?: string; resolution?: string; reason?: string };
    const at = event.metadata.occurredAt;
    const what =
      event.type === 'IssueDetected' || event.type === 'IssueAnomalyAttached'
        ? ChaosObservation.IssueDetected
        : plan !== undefined
          ? ChaosObservation.PlanCreated
          : event.type === 'IssueResolved'
            ? ChaosObservation.IssueResolved
            : ChaosObservation.IssueEscalated;
    await send(key, 'Observe', {
      run: run.run,
      what,
      at,
      issueId,
      ...(data.remediationId ? { remediationId: data.remediationId } : {}),
      ...(data.resolution ? { resolution: data.resolution } : {}),
      ...(data.reason ? { detail: `escalated: ${data.reason}` } : {}),
    });
    queue.add(key);
  };
  const observer: RunningReactor = runReactor(
    options.store,
    options.checkpoints,
    {
      name: CHAOS_OBSERVER,
      filter: {
        streamPrefixes: [`${StreamCategory.Issue}-`, `${StreamCategory.Remediation}-`],
        eventTypes: [
          'IssueDetected',
          'IssueAnomalyAttached',
          'RemediationPlanCreated',
          'IssueResolved',
          'IssueEscalated',
        ],
      },
      handle: observe,
    },
    { onError: (error) => onError('observing Issues for chaos runs', error) },
  );

  return {
    stop: async () => {
      stopped = true;
      clearTimeout(restart);
      await informerStarted;
      await informer.stop();
      await index.close();
      await observer.close();
      await queue.stop();
    },
  };
}
