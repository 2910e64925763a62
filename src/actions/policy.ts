import type { ActionSpec, ResourceRef } from '../../domain/events/common.schema.ts';
import type { ActionClients } from './action.ts';
import { display, kube, readOptional } from './actionErrors.ts';
import { drainClass, podsOnNode } from './node.actions.ts';
import { runningPodKinds, runningPods } from './podCounts.ts';
import { checkAction, findAction, implementedActionTypes } from './registry.ts';

/**
 * What a plan may do, decided from the plan and the cluster's numbers alone: no model output, no param can
 * widen it. The executor evaluates a plan before its first action and records each refusal.
 */
export interface RemediationPolicy {
  /** Action types that may run at all. */
  readonly allowedActions: readonly string[];
  /** Namespaces no action may target. */
  readonly protectedNamespaces: readonly string[];
  /** Destructive actions (see ActionDefinition.destructive) allowed in one plan. */
  readonly maxDestructivePerPlan: number;
  /** Pods one action may delete, evict, restart or scale away. */
  readonly maxPodsAffected: number;
}

export const SystemNamespaces = ['kube-system', 'kube-public', 'kube-node-lease'] as const;

export const PolicyDefaults = {
  maxDestructivePerPlan: 1,
  maxPodsAffected: 10,
} as const;

/** The default policy; configured namespaces are added to the system ones, never replace them. */
export const defaultRemediationPolicy = (
  overrides: Partial<Omit<RemediationPolicy, 'protectedNamespaces'>> & {
    readonly extraProtectedNamespaces?: readonly string[];
  } = {},
): RemediationPolicy => ({
  allowedActions: overrides.allowedActions ?? implementedActionTypes.filter((type) => type !== 'Custom'),
  protectedNamespaces: [...new Set([...SystemNamespaces, ...(overrides.extraProtectedNamespaces ?? [])])],
  maxDestructivePerPlan: overrides.maxDestructivePerPlan ?? PolicyDefaults.maxDestructivePerPlan,
  maxPodsAffected: overrides.maxPodsAffected ?? PolicyDefaults.maxPodsAffected,
});

export const PolicyCode = {
  NotAllowed: 'policy.not_allowed',
  ProtectedNamespace: 'policy.protected_namespace',
  TooManyDestructive: 'policy.too_many_destructive',
  BlastRadius: 'policy.blast_radius',
  BlastRadiusUnknown: 'policy.blast_radius_unknown',
} as const;
export type PolicyCode = (typeof PolicyCode)[keyof typeof PolicyCode];

/** Cluster numbers the blast radius needs; gathered by `observeBlastRadius`, so the evaluation stays pure. */
export interface BlastFacts {
  /**
   * The pods the target runs: spec.replicas of a Deployment, StatefulSet or ReplicaSet, the scheduled pods of a
   * DaemonSet, the active pods of a Job or of a CronJob's running Jobs.
   */
  readonly replicas?: number;
  /** The namespace of each pod a drain would evict, by node name. */
  readonly evictablePodsByNode?: Readonly<Record<string, readonly string[]>>;
}

export interface PlanRefusal {
  readonly action: ActionSpec;
  readonly reason: string;
  readonly code: string;
}

export interface PlanEvaluation {
  readonly allowed: readonly ActionSpec[];
  readonly refused: readonly PlanRefusal[];
}

type PodsAffected = { known: true; pods: number; why: string } | { known: false; why: string };

const nodeOf = (action: ActionSpec, target: ResourceRef): string | undefined =>
  action.params.node ?? (target.kind === 'Node' ? target.name : undefined);

/** How many pods one action takes down or replaces; 0 for actions that touch no pod. */
export const podsAffected = (action: ActionSpec, target: ResourceRef, facts: BlastFacts): PodsAffected => {
  const replicas = (why: string): PodsAffected =>
    facts.replicas === undefined
      ? { known: false, why: `the replica count of ${display(target)} is unknown` }
      : { known: true, pods: facts.replicas, why };
  switch (action.type) {
    case 'DeletePod':
    case 'DeleteStatefulSetPod':
    case 'ForceDeleteStatefulSetPod':
    case 'RecreateStatefulSetPVC':
    case 'DeleteDaemonSetPod':
    case 'CordonAndDeleteDaemonSetPod':
      return { known: true, pods: 1, why: 'deletes one pod' };
    case 'RestartStatefulSetPod':
      return action.params.pod ? { known: true, pods: 1, why: 'restarts one pod' } : replicas('restarts every pod');
    case 'RestartDeployment':
    case 'RestartStatefulSet':
    case 'RestartDaemonSet':
      return replicas('replaces every pod');
    case 'SuspendJob':
    case 'ForceDeleteJobPods':
    case 'DeleteCronJobActiveJobs':
      return replicas('stops every running pod');
    case 'ScaleDeployment':
    case 'ScaleStatefulSet': {
      const wanted = Number(action.params.replicas);
      if (facts.replicas === undefined)
        return { known: false, why: `the replica count of ${display(target)} is unknown` };
      const removed = Number.isFinite(wanted) ? Math.max(0, facts.replicas - wanted) : 0;
      return { known: true, pods: removed, why: `scales ${facts.replicas} → ${action.params.replicas}` };
    }
    case 'DrainNode': {
      const node = nodeOf(action, target);
      const count = node === undefined ? undefined : facts.evictablePodsByNode?.[node]?.length;
      return count === undefined
        ? { known: false, why: `the pods on node ${node ?? '(unnamed)'} are unknown` }
        : { known: true, pods: count, why: `evicts the pods of node ${node}` };
    }
    default:
      return { known: true, pods: 0, why: '' };
  }
};

/**
 * Splits a plan into what may run and what may not, in order. Refused actions do not count against the
 * destructive budget; the action's own check runs too, so bad params are refused here rather than mid-plan.
 */
export const evaluatePlan = (
  actions: readonly ActionSpec[],
  target: ResourceRef,
  policy: RemediationPolicy,
  facts: BlastFacts = {},
): PlanEvaluation => {
  const allowed: ActionSpec[] = [];
  const refused: PlanRefusal[] = [];
  let destructive = 0;
  const refuse = (action: ActionSpec, code: string, reason: string) => refused.push({ action, code, reason });

  for (const action of actions) {
    if (!policy.allowedActions.includes(action.type)) {
      refuse(action, PolicyCode.NotAllowed, `${action.type} is not in the policy's allowed actions`);
      continue;
    }
    if (target.namespace !== '' && policy.protectedNamespaces.includes(target.namespace)) {
      refuse(
        action,
        PolicyCode.ProtectedNamespace,
        `namespace ${target.namespace} is protected: Cairn never acts there`,
      );
      continue;
    }
    const node = action.type === 'DrainNode' ? nodeOf(action, target) : undefined;
    const shielded = (facts.evictablePodsByNode?.[node ?? ''] ?? []).filter((ns) =>
      policy.protectedNamespaces.includes(ns),
    );
    if (shielded.length > 0) {
      refuse(
        action,
        PolicyCode.ProtectedNamespace,
        `draining node ${node} would evict ${shielded.length} pod(s) of protected namespaces (${[...new Set(shielded)].join(', ')})`,
      );
      continue;
    }
    const checked = checkAction(action.type, action.params, target);
    if (!checked.ok) {
      refuse(action, checked.code, checked.reason);
      continue;
    }
    const blast = podsAffected(action, target, facts);
    if (!blast.known) {
      refuse(
        action,
        PolicyCode.BlastRadiusUnknown,
        `${action.type}: ${blast.why}, so its blast radius cannot be bounded`,
      );
      continue;
    }
    if (blast.pods > policy.maxPodsAffected) {
      refuse(
        action,
        PolicyCode.BlastRadius,
        `${action.type} ${blast.why}: ${blast.pods} pods, above the limit of ${policy.maxPodsAffected}`,
      );
      continue;
    }
    if (findAction(action.type)?.destructive) {
      if (destructive >= policy.maxDestructivePerPlan) {
        refuse(
          action,
          PolicyCode.TooManyDestructive,
          `${action.type} is destructive and the plan already has ${destructive} (at most ${policy.maxDestructivePerPlan})`,
        );
        continue;
      }
      destructive += 1;
    }
    allowed.push(action);
  }
  return { allowed, refused };
};

const replicaKinds = new Set(['Deployment', 'StatefulSet', 'ReplicaSet']);

/** Reads the numbers `evaluatePlan` needs for these actions from the cluster. */
export async function observeBlastRadius(
  clients: ActionClients,
  target: ResourceRef,
  actions: readonly ActionSpec[],
): Promise<BlastFacts> {
  let replicas: number | undefined;
  if (replicaKinds.has(target.kind)) {
    const { name, namespace } = target;
    const read: Record<string, () => Promise<{ spec?: { replicas?: number } }>> = {
      Deployment: () => clients.apps.readNamespacedDeployment({ name, namespace }),
      StatefulSet: () => clients.apps.readNamespacedStatefulSet({ name, namespace }),
      ReplicaSet: () => clients.apps.readNamespacedReplicaSet({ name, namespace }),
    };
    const object = await readOptional(
      `reading ${display(target)}`,
      read[target.kind] as () => Promise<{ spec?: { replicas?: number } }>,
    );
    replicas = object === undefined ? undefined : (object.spec?.replicas ?? 1);
  } else if (runningPodKinds.has(target.kind)) {
    replicas = await runningPods(clients, target);
  }
  const evictablePodsByNode: Record<string, string[]> = {};
  for (const action of actions) {
    const node = action.type === 'DrainNode' ? nodeOf(action, target) : undefined;
    if (node === undefined || Object.hasOwn(evictablePodsByNode, node)) continue;
    const pods = await kube(`listing the pods on node ${node}`, () => podsOnNode(clients, node));
    evictablePodsByNode[node] = pods.filter((p) => drainClass(p) === 'evict').map((p) => p.metadata?.namespace ?? '');
  }
  return { ...(replicas === undefined ? {} : { replicas }), evictablePodsByNode };
}
