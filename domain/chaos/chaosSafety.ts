import type { ChaosCheck } from '../events/chaos.events.ts';

/**
 * The safety checks of a chaos run, as pure functions of what the module read from the cluster. A run starts only
 * when every check passes; a run under way is aborted (its fault taken back) when `midRunProblem` finds one.
 */

export interface ChaosSafety {
  readonly minHealthyPods?: number;
  readonly maxPodsPercent: number;
  readonly requireHealthyTarget: boolean;
  readonly respectSloBudget: boolean;
  readonly blockedNamespaces: readonly string[];
}

export const defaultSafety: ChaosSafety = {
  maxPodsPercent: 50,
  requireHealthyTarget: true,
  respectSloBudget: true,
  blockedNamespaces: ['kube-system'],
};

/** Pods faults reach some pods; workload faults change the template or the scale, so they reach every replica. */
export type FaultScope = 'pods' | 'workload' | 'node';

export interface TargetState {
  readonly exists: boolean;
  readonly desired: number;
  readonly ready: number;
  readonly healthy: boolean;
  readonly detail: string;
}

export interface SafetyInputs {
  readonly targetLabel: string;
  /** Empty for a Node. */
  readonly targetNamespace: string;
  readonly scope: FaultScope;
  readonly count: number;
  readonly safety: ChaosSafety;
  readonly health: TargetState;
  /** Why the injector cannot produce this fault on this target, or undefined when it can. */
  readonly notInjectable?: { readonly code: string; readonly message: string };
  /** Why an SLO of the target is at risk (budget spent, page burn), or undefined. */
  readonly sloRisk?: string;
  /** Another experiment's run under way on the same target, or undefined. */
  readonly busyWith?: string;
}

export interface SafetyVerdict {
  readonly checks: ChaosCheck[];
  /** The first failed check, as the run's refusal. */
  readonly refusal?: { readonly code: string; readonly message: string };
}

/** How many pods the fault reaches at start. */
export const podsReached = (scope: FaultScope, count: number, desired: number): number =>
  scope === 'pods' ? Math.min(count, desired) : scope === 'workload' ? desired : 0;

export function checkSafety(input: SafetyInputs): SafetyVerdict {
  const checks: (ChaosCheck & { code: string })[] = [];
  const add = (name: string, code: string, passed: boolean, detail: string) =>
    checks.push({ name, code, passed, detail });
  const { safety, health } = input;

  if (input.targetNamespace !== '') {
    const blocked = safety.blockedNamespaces.includes(input.targetNamespace);
    add(
      'namespace',
      'blocked_namespace',
      !blocked,
      blocked
        ? `namespace ${input.targetNamespace} is blocked by safety.blockedNamespaces`
        : `namespace ${input.targetNamespace} is allowed`,
    );
  }
  add(
    'target',
    'target_missing',
    health.exists,
    health.exists ? `${input.targetLabel} exists` : `${input.targetLabel} does not exist`,
  );
  if (health.exists) {
    if (safety.requireHealthyTarget) {
      add(
        'healthy',
        'target_unhealthy',
        health.healthy,
        health.healthy
          ? `${input.targetLabel} is healthy: ${health.detail}`
          : `${input.targetLabel} is not healthy: ${health.detail}`,
      );
    }
    if (input.scope !== 'node') {
      const reached = podsReached(input.scope, input.count, health.desired);
      const percent = health.desired === 0 ? 100 : Math.ceil((reached / health.desired) * 100);
      const within = percent <= safety.maxPodsPercent;
      const what =
        input.scope === 'workload' ? 'the fault reaches every replica' : `the fault reaches ${reached} pod(s)`;
      add(
        'share',
        'too_many_pods',
        within,
        `${what}: ${reached} of ${health.desired} (${percent}%), at most ${safety.maxPodsPercent}% allowed by safety.maxPodsPercent`,
      );
      if (safety.minHealthyPods !== undefined) {
        const left = Math.max(0, health.ready - reached);
        add(
          'min_healthy',
          'too_few_healthy_pods',
          left >= safety.minHealthyPods,
          `${left} ready pod(s) would be left, safety.minHealthyPods is ${safety.minHealthyPods}`,
        );
      }
    }
  }
  if (safety.respectSloBudget) {
    add(
      'slo_budget',
      'slo_budget_exhausted',
      input.sloRisk === undefined,
      input.sloRisk ?? 'no SLO of the target is out of budget or burning at page level',
    );
  }
  add(
    'target_free',
    'target_busy',
    input.busyWith === undefined,
    input.busyWith ?? 'no other experiment is running on the target',
  );
  if (input.notInjectable !== undefined || health.exists) {
    add(
      'injectable',
      input.notInjectable?.code ?? 'not_injectable',
      input.notInjectable === undefined,
      input.notInjectable?.message ?? 'the fault can be produced on this target',
    );
  }
  const failed = checks.find((c) => !c.passed);
  return {
    checks: checks.map(({ code: _code, ...check }) => check),
    ...(failed ? { refusal: { code: failed.code, message: failed.detail } } : {}),
  };
}

/** Why a run under way must be aborted, or undefined while it may go on. */
export function midRunProblem(input: {
  readonly safety: ChaosSafety;
  readonly health: TargetState;
  readonly sloRisk?: string;
  readonly scope: FaultScope;
}): string | undefined {
  const { safety, health } = input;
  if (
    input.scope !== 'node' &&
    safety.minHealthyPods !== undefined &&
    health.exists &&
    health.ready < safety.minHealthyPods
  ) {
    return `only ${health.ready} ready pod(s), below safety.minHealthyPods (${safety.minHealthyPods})`;
  }
  if (safety.respectSloBudget && input.sloRisk !== undefined) return `${input.sloRisk}: the error budget comes first`;
  return undefined;
}
