import type * as k8s from '@kubernetes/client-node';
import type { ActionSpec, ResourceRef } from '../../domain/events/common.schema.ts';
import type { PlanBlastRadius } from '../../domain/events/remediation.events.ts';
import { observeDependencyGraph } from '../cascade/dependencyGraph.observer.ts';
import { dependantsOf } from '../cascade/dependencyGraph.ts';
import type { ActionClients } from './action.ts';
import { display } from './actionErrors.ts';
import { type ActionBlastRadius, blastRadiusKey, DisruptionGuard, observeBlastRadius } from './blastRadius.ts';
import { PolicyDefaults, type RemediationPolicy } from './policy.ts';

/**
 * The blast radius a plan records (RemediationPlanCreated.blastRadius): for each action that takes pods down or
 * adds to a quota, the numbers the policy judged it on, and the workloads that depend on the target. Pure: the
 * assessments and the dependants come in.
 */

/** The event's bounds: lists of 32, 50 actions, 64 dependants. */
const MAX_LIST = 32;
const MAX_ACTIONS = 50;
const MAX_DEPENDANTS = 64;

export const recordedBlastRadius = (
  actions: readonly ActionSpec[],
  assessed: Readonly<Record<string, ActionBlastRadius>>,
  dependants: readonly ResourceRef[],
): PlanBlastRadius => ({
  actions: actions
    .flatMap((action) => {
      const radius = Object.hasOwn(assessed, blastRadiusKey(action)) ? assessed[blastRadiusKey(action)] : undefined;
      if (!radius) return [];
      return [
        {
          actionId: action.actionId,
          type: action.type,
          pods: radius.pods.length,
          ...(radius.replicas ? { replicas: { ...radius.replicas } } : {}),
          pdbViolations: radius.pdbViolations.slice(0, MAX_LIST).map((v) => ({
            namespace: v.namespace,
            name: v.name,
            disruptionsAllowed: v.disruptionsAllowed,
            podsTaken: v.podsTaken,
          })),
          servicesEmptied: radius.servicesEmptied
            .slice(0, MAX_LIST)
            .map((s) => ({ namespace: s.namespace, name: s.name, readyEndpoints: s.readyEndpoints })),
          // A quantity too large for a number (an absurd quota) cannot be recorded; the policy has judged it already.
          quotaOverflows: radius.quotaOverflows
            .filter((q) => [q.used, q.added, q.hard].every(Number.isFinite))
            .slice(0, MAX_LIST)
            .map((q) => ({ ...q })),
        },
      ];
    })
    .slice(0, MAX_ACTIONS),
  dependants: dependants.slice(0, MAX_DEPENDANTS).map((d) => ({ kind: d.kind, name: d.name, namespace: d.namespace })),
});

/**
 * Why the plan's blast radius makes it wait for people, one reason per limit crossed: more dependants than
 * `maxDependants`, or (with `--disruption-guard approve`) a PodDisruptionBudget it would violate or a Service it
 * would empty. Refusals (quota, disruption under `refuse`) are the policy's evaluation, not this.
 */
export const blastRadiusApproval = (
  policy: Pick<RemediationPolicy, 'maxDependants' | 'disruptionGuard'>,
  target: ResourceRef,
  radius: PlanBlastRadius,
): string[] => {
  const reasons: string[] = [];
  const limit = policy.maxDependants ?? PolicyDefaults.maxDependants;
  if (radius.dependants.length > limit) {
    reasons.push(
      `${radius.dependants.length} workload(s) depend on ${display(target)}, above the limit of ${limit} (--max-dependants)`,
    );
  }
  if ((policy.disruptionGuard ?? PolicyDefaults.disruptionGuard) === DisruptionGuard.Approve) {
    const budgets = radius.actions.reduce((n, a) => n + a.pdbViolations.length, 0);
    const services = radius.actions.reduce((n, a) => n + a.servicesEmptied.length, 0);
    if (budgets + services > 0) {
      reasons.push(
        `the plan would violate ${budgets} PodDisruptionBudget(s) and leave ${services} Service(s) with no ready endpoint (--disruption-guard approve)`,
      );
    }
  }
  return reasons;
};

/**
 * The workloads that call the target, directly or through others, from the dependency graph of its namespace (and
 * of the namespaces its objects name), read when the plan is made. A cluster-scoped target has none.
 */
export const graphDependants =
  (config: k8s.KubeConfig) =>
  async (target: ResourceRef): Promise<readonly ResourceRef[]> =>
    target.namespace === '' ? [] : dependantsOf(await observeDependencyGraph(config, [target.namespace]), target);

/**
 * One action's blast radius as an agentic step records it (the event's shape); undefined when the disruption guard
 * is off or the action takes no pod down and adds nothing to a quota.
 */
export const assessActionBlastRadius =
  (deps: Pick<PlanBlastRadiusDeps, 'clients' | 'policy'>) =>
  async (action: ActionSpec, target: ResourceRef): Promise<PlanBlastRadius['actions'][number] | undefined> => {
    if ((deps.policy.disruptionGuard ?? PolicyDefaults.disruptionGuard) === DisruptionGuard.Off) return undefined;
    const assessed = await observeBlastRadius(deps.clients, target, [action]);
    return recordedBlastRadius([action], assessed, []).actions[0];
  };

export interface PlanBlastRadiusDeps {
  readonly clients: ActionClients;
  readonly policy: RemediationPolicy;
  /** The workloads that depend on the target (the dependency graph); none known when absent. */
  readonly dependantsOf?: (target: ResourceRef) => Promise<readonly ResourceRef[]>;
}

/**
 * Reads the cluster and returns the plan's blast radius and the approvals it asks for; undefined when the disruption
 * guard is off (nothing is assessed then).
 */
export const assessPlanBlastRadius =
  (deps: PlanBlastRadiusDeps) =>
  async (
    actions: readonly ActionSpec[],
    target: ResourceRef,
  ): Promise<{ radius: PlanBlastRadius; approval: readonly string[] } | undefined> => {
    if ((deps.policy.disruptionGuard ?? PolicyDefaults.disruptionGuard) === DisruptionGuard.Off) return undefined;
    const assessed = await observeBlastRadius(deps.clients, target, actions);
    const dependants = deps.dependantsOf ? await deps.dependantsOf(target) : [];
    const radius = recordedBlastRadius(actions, assessed, dependants);
    return { radius, approval: blastRadiusApproval(deps.policy, target, radius) };
  };
