import type { ActionSpec, ResourceRef } from '../../domain/events/common.schema.ts';
import type { ApprovalVerdict } from '../../domain/remediation/approval.policy.ts';
import type { ActionClients } from './action.ts';
import { display, kube, readOptional } from './actionErrors.ts';
import {
  type ActionBlastRadius,
  blastRadiusKey,
  DisruptionGuard,
  disruptionReason,
  observeBlastRadius,
  quotaReason,
} from './blastRadius.ts';
import { checkEnvelope, EnvelopeDefaults, type EnvelopeFacts, type EnvelopeLimits } from './envelope.ts';
import { observeEnvelope, type RevisionVerdicts } from './envelopeFacts.ts';
import { drainClass, podsOnNode } from './node.actions.ts';
import { runningPodKinds, runningPods } from './podCounts.ts';
import { checkAction, findAction, implementedActionTypes } from './registry.ts';
import { observeSloFacts } from './sloFacts.ts';
import { type SloFact, SloGuard, sloGuardReason } from './sloGuard.ts';

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
  /** Pods one action may delete, evict, restart or scale away, in any namespace. */
  readonly maxPodsAffected: number;
  /** Bounds on the values parametric actions may set (see envelope.ts). */
  readonly envelope: EnvelopeLimits;
  /**
   * Node actions for an Issue on that very Node (node_not_ready) may run without approval. Off by default; an
   * Issue of a namespace never disrupts a node without people, whatever this says.
   */
  readonly autonomousNodeActions: boolean;
  /** Action types refused whatever the allowlist says, with their own refusal code. */
  readonly deniedActions: readonly string[];
  /**
   * The share (0 to 1] of a workload's replicas one action may take down or replace; 1 bounds nothing beyond
   * `maxPodsAffected`.
   */
  readonly maxReplicaShare: number;
  /** What Cairn does in a namespace that `namespaceModes` does not name (and for cluster-scoped objects). */
  readonly mode: RemediationMode;
  readonly namespaceModes: Readonly<Record<string, RemediationMode>>;
  /** The least approval any plan needs: none, or one person's; approval rules (ApprovalPolicies) may ask for more. */
  readonly defaultApproval: DefaultApproval;
  /**
   * Destructive actions on a workload whose SLO has no error budget left or a page-urgency burn firing: run as any
   * other (off), wait for one person (approve) or are refused (refuse).
   */
  readonly sloGuard: SloGuard;
  /**
   * An action that would take down more pods than a PodDisruptionBudget allows, or every ready endpoint of a
   * Service, is refused (refuse, the default; in approve mode it runs only in a plan people approved) or runs
   * (off). With refuse, an action that would exceed a ResourceQuota is refused too.
   */
  readonly disruptionGuard?: DisruptionGuard;
  /**
   * Workloads that may depend on a plan's target (from the dependency graph) before the plan waits for people.
   */
  readonly maxDependants?: number;
}

/**
 * observe: detect and analyse, record the plan Cairn would run and never act; approve: every plan waits for
 * people; auto: the approval rules decide.
 */
export const RemediationMode = { Observe: 'observe', Approve: 'approve', Auto: 'auto' } as const;
export type RemediationMode = (typeof RemediationMode)[keyof typeof RemediationMode];
export const remediationModes: readonly RemediationMode[] = Object.values(RemediationMode);

export const DefaultApproval = { Auto: 'auto', Single: 'single' } as const;
export type DefaultApproval = (typeof DefaultApproval)[keyof typeof DefaultApproval];

/** The mode of the namespace an action targets; cluster-scoped targets (namespace '') take the default mode. */
export const modeFor = (policy: RemediationPolicy, namespace: string): RemediationMode =>
  (namespace !== '' && Object.hasOwn(policy.namespaceModes, namespace)
    ? policy.namespaceModes[namespace]
    : undefined) ?? policy.mode;

export const SystemNamespaces = ['kube-system', 'kube-public', 'kube-node-lease'] as const;

export const PolicyDefaults = {
  maxDestructivePerPlan: 1,
  maxPodsAffected: 10,
  maxReplicaShare: 1,
  mode: RemediationMode.Auto,
  defaultApproval: DefaultApproval.Auto,
  sloGuard: SloGuard.Off,
  disruptionGuard: DisruptionGuard.Refuse,
  maxDependants: 5,
} as const;

/** The default policy; configured namespaces are added to the system ones, never replace them. */
export const defaultRemediationPolicy = (
  overrides: Partial<Omit<RemediationPolicy, 'protectedNamespaces' | 'envelope'>> & {
    readonly extraProtectedNamespaces?: readonly string[];
    readonly envelope?: Partial<EnvelopeLimits>;
  } = {},
): RemediationPolicy => ({
  allowedActions: overrides.allowedActions ?? implementedActionTypes.filter((type) => type !== 'Custom'),
  protectedNamespaces: [...new Set([...SystemNamespaces, ...(overrides.extraProtectedNamespaces ?? [])])],
  maxDestructivePerPlan: overrides.maxDestructivePerPlan ?? PolicyDefaults.maxDestructivePerPlan,
  maxPodsAffected: overrides.maxPodsAffected ?? PolicyDefaults.maxPodsAffected,
  envelope: { ...EnvelopeDefaults, ...overrides.envelope },
  autonomousNodeActions: overrides.autonomousNodeActions ?? false,
  deniedActions: [...new Set(overrides.deniedActions ?? [])],
  maxReplicaShare: overrides.maxReplicaShare ?? PolicyDefaults.maxReplicaShare,
  mode: overrides.mode ?? PolicyDefaults.mode,
  namespaceModes: { ...overrides.namespaceModes },
  defaultApproval: overrides.defaultApproval ?? PolicyDefaults.defaultApproval,
  sloGuard: overrides.sloGuard ?? PolicyDefaults.sloGuard,
  disruptionGuard: overrides.disruptionGuard ?? PolicyDefaults.disruptionGuard,
  maxDependants: overrides.maxDependants ?? PolicyDefaults.maxDependants,
});

export const PolicyCode = {
  NotAllowed: 'policy.not_allowed',
  ProtectedNamespace: 'policy.protected_namespace',
  TooManyDestructive: 'policy.too_many_destructive',
  BlastRadius: 'policy.blast_radius',
  BlastRadiusUnknown: 'policy.blast_radius_unknown',
  NeedsApproval: 'policy.needs_approval',
  OneNodePerIssue: 'policy.one_node_per_issue',
  Denied: 'policy.denied',
  BlastRadiusShare: 'policy.blast_radius_share',
  ObserveMode: 'policy.observe_mode',
  SloBudget: 'policy.slo_budget',
  Disruption: 'policy.disruption',
  QuotaExceeded: 'policy.quota_exceeded',
} as const;
export type PolicyCode = (typeof PolicyCode)[keyof typeof PolicyCode];

/** Cluster numbers the policy needs; gathered by `observePlanFacts`, so the evaluation stays pure. */
export interface PlanFacts {
  /**
   * The pods the target runs: spec.replicas of a Deployment, StatefulSet or ReplicaSet, the scheduled pods of a
   * DaemonSet, the active pods of a Job or of a CronJob's running Jobs.
   */
  readonly replicas?: number;
  /** The namespace of each pod a drain would evict, by node name. */
  readonly evictablePodsByNode?: Readonly<Record<string, readonly string[]>>;
  /** What the sanity envelope compares new values with. */
  readonly envelope?: EnvelopeFacts;
  /** The last evaluation of each SLO naming the target as its workload (see `sloGuard`). */
  readonly slos?: readonly SloFact[];
  /** What each action would do to the pods around it, by blastRadiusKey (see blastRadius.ts). */
  readonly blastRadius?: Readonly<Record<string, ActionBlastRadius>>;
}

/** An action that ran (or started) for the Issue before this plan, and the target it ran on. */
export interface EarlierAction {
  readonly target: ResourceRef;
  readonly type: string;
  readonly params: Readonly<Record<string, string>>;
}

/** Where the plan stands with people and with the Issue's history. */
export interface PlanContext {
  /**
   * True once people approved the plan, false for a plan running without approval. Undefined while a proposal is
   * screened, before any plan exists: actions that need approval are then listed in `needsApproval`, not refused.
   */
  readonly approved?: boolean;
  /** Actions earlier remediations of the same Issue started: a node they disrupted counts against this plan. */
  readonly earlier?: readonly EarlierAction[];
}

export interface PlanRefusal {
  readonly action: ActionSpec;
  readonly reason: string;
  readonly code: string;
}

export interface PlanEvaluation {
  readonly allowed: readonly ActionSpec[];
  readonly refused: readonly PlanRefusal[];
  /** Allowed actions that may run only once people approve the plan, with why. */
  readonly needsApproval: readonly { readonly action: ActionSpec; readonly reason: string }[];
}

type PodsAffected = { known: true; pods: number; why: string } | { known: false; why: string };

const nodeOf = (action: ActionSpec, target: ResourceRef): string | undefined =>
  action.params.node ?? (target.kind === 'Node' ? target.name : undefined);

/** How many pods one action takes down or replaces; 0 for actions that touch no pod. */
export const podsAffected = (action: ActionSpec, target: ResourceRef, facts: PlanFacts): PodsAffected => {
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

/** Node actions: every namespace schedules on a node, so their effect is never the Issue's alone. */
const NodeActions = new Set(['CordonNode', 'UncordonNode', 'DrainNode', 'CordonAndDeleteDaemonSetPod']);
/** The node actions that take capacity away (uncordoning gives it back). */
const NodeDisruptions = new Set(['CordonNode', 'DrainNode', 'CordonAndDeleteDaemonSetPod']);

/** Why an action reaches beyond the Issue's own namespace, or undefined when it does not. */
export const effectBeyondNamespace = (action: ActionSpec, target: ResourceRef): string | undefined => {
  if (NodeActions.has(action.type)) {
    return `${action.type} acts on node ${nodeOf(action, target) ?? '(unnamed)'}, which pods of every namespace share`;
  }
  if (action.type === 'ArgoSyncApp')
    return 'ArgoSyncApp syncs an Argo CD Application, which may deploy into any namespace';
  if (action.type === 'HelmRollback')
    return 'HelmRollback rolls back a whole Helm release, whose objects may span namespaces';
  return undefined;
};

/**
 * Why the action may run only in a plan people approved, or undefined. Node actions for an Issue on that same Node
 * are exempt only when the policy says so.
 */
export const approvalReason = (action: ActionSpec, target: ResourceRef, policy: RemediationPolicy) => {
  const ownNode = policy.autonomousNodeActions && target.kind === 'Node' && nodeOf(action, target) === target.name;
  return ownNode ? undefined : effectBeyondNamespace(action, target);
};

/** The node an action disrupts, if it disrupts one. */
export const nodeDisruptedBy = (
  action: { type: string; params: Readonly<Record<string, string>> },
  target: ResourceRef,
) => (NodeDisruptions.has(action.type) ? nodeOf(action as ActionSpec, target) : undefined);

/**
 * Splits a plan into what may run and what may not, in order. Refused actions do not count against the
 * destructive budget; the action's own check and the sanity envelope run too, so bad params are refused here
 * rather than mid-plan. A node disrupted by an earlier action of the Issue (or of this plan) is the only node the
 * plan may disrupt.
 */
export const evaluatePlan = (
  actions: readonly ActionSpec[],
  target: ResourceRef,
  policy: RemediationPolicy,
  facts: PlanFacts = {},
  context: PlanContext = {},
): PlanEvaluation => {
  const allowed: ActionSpec[] = [];
  const refused: PlanRefusal[] = [];
  const needsApproval: { action: ActionSpec; reason: string }[] = [];
  const disrupted = new Set((context.earlier ?? []).flatMap((a) => nodeDisruptedBy(a, a.target) ?? []));
  let destructive = 0;
  const refuse = (action: ActionSpec, code: string, reason: string) => refused.push({ action, code, reason });

  const mode = modeFor(policy, target.namespace);
  const sloRisk = policy.sloGuard === SloGuard.Off ? undefined : sloGuardReason(facts.slos);
  for (const action of actions) {
    if (mode === RemediationMode.Observe) {
      refuse(action, PolicyCode.ObserveMode, observeReason(target.namespace));
      continue;
    }
    if (policy.deniedActions.includes(action.type)) {
      refuse(action, PolicyCode.Denied, `${action.type} is on the policy's deny list`);
      continue;
    }
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
    const drained = action.type === 'DrainNode' ? nodeOf(action, target) : undefined;
    const shielded = (facts.evictablePodsByNode?.[drained ?? ''] ?? []).filter((ns) =>
      policy.protectedNamespaces.includes(ns),
    );
    if (shielded.length > 0) {
      refuse(
        action,
        PolicyCode.ProtectedNamespace,
        `draining node ${drained} would evict ${shielded.length} pod(s) of protected namespaces (${[...new Set(shielded)].join(', ')})`,
      );
      continue;
    }
    const checked = checkAction(action.type, action.params, target);
    if (!checked.ok) {
      refuse(action, checked.code, checked.reason);
      continue;
    }
    const bounded = checkEnvelope(action, target, facts.envelope ?? {}, policy.envelope);
    if (!bounded.ok) {
      refuse(action, bounded.code, bounded.reason);
      continue;
    }
    const beyond = approvalReason(action, target, policy);
    if (beyond !== undefined && context.approved === false) {
      refuse(action, PolicyCode.NeedsApproval, `${beyond}: it runs only in a plan people approved`);
      continue;
    }
    if (mode === RemediationMode.Approve && context.approved === false) {
      refuse(action, PolicyCode.NeedsApproval, `${approveReason(target.namespace)}: this plan was not approved`);
      continue;
    }
    const node = nodeDisruptedBy(action, target);
    if (node !== undefined) {
      const other = [...disrupted].find((n) => n !== node);
      if (other !== undefined) {
        refuse(
          action,
          PolicyCode.OneNodePerIssue,
          `${action.type} would disrupt node ${node}, but this Issue already disrupted node ${other}: at most one node per Issue`,
        );
        continue;
      }
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
    const share = replicaShare(action, blast.pods, facts);
    if (share !== undefined && share > policy.maxReplicaShare) {
      refuse(
        action,
        PolicyCode.BlastRadiusShare,
        `${action.type} ${blast.why}: ${blast.pods} of ${facts.replicas} replicas (${percent(share)}), above the limit of ${percent(policy.maxReplicaShare)}`,
      );
      continue;
    }
    const guard = policy.disruptionGuard ?? PolicyDefaults.disruptionGuard;
    const radius = guard === DisruptionGuard.Off ? undefined : facts.blastRadius?.[blastRadiusKey(action)];
    const overQuota = radius === undefined ? undefined : quotaReason(action, radius);
    if (overQuota !== undefined) {
      refuse(action, PolicyCode.QuotaExceeded, overQuota);
      continue;
    }
    const disruption = radius === undefined ? undefined : disruptionReason(action, radius);
    // In approve mode (or with the guard on approve) people see the numbers and may still approve; elsewhere nobody
    // would, so it is refused.
    const askPeople = mode === RemediationMode.Approve || guard === DisruptionGuard.Approve;
    if (disruption !== undefined && (!askPeople || context.approved === false)) {
      refuse(
        action,
        PolicyCode.Disruption,
        askPeople ? `${disruption}: it runs only in a plan people approved` : disruption,
      );
      continue;
    }
    const guarded = sloRisk !== undefined && findAction(action.type)?.destructive === true;
    if (guarded && policy.sloGuard === SloGuard.Refuse) {
      refuse(
        action,
        PolicyCode.SloBudget,
        `${action.type} is destructive and ${sloRisk}: refused until the SLO recovers`,
      );
      continue;
    }
    if (guarded && context.approved === false) {
      refuse(
        action,
        PolicyCode.NeedsApproval,
        `${action.type} is destructive and ${sloRisk}: it runs only in a plan people approved`,
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
    if (node !== undefined) disrupted.add(node);
    if (beyond !== undefined && context.approved === undefined) needsApproval.push({ action, reason: beyond });
    else if (disruption !== undefined && context.approved === undefined)
      needsApproval.push({ action, reason: disruption });
    else if (guarded && context.approved === undefined)
      needsApproval.push({ action, reason: `${action.type} is destructive and ${sloRisk}` });
    allowed.push(action);
  }
  return { allowed, refused, needsApproval };
};

const percent = (share: number) => `${Math.round(share * 1000) / 10}%`;

/** The share of the target's replicas an action takes down, when it acts on the target's own pods. */
const replicaShare = (action: ActionSpec, pods: number, facts: PlanFacts): number | undefined => {
  if (action.type === 'DrainNode' || pods === 0 || facts.replicas === undefined || facts.replicas <= 0)
    return undefined;
  return pods / facts.replicas;
};

const observeReason = (namespace: string) =>
  namespace === ''
    ? 'Cairn runs in observe mode: it detects, analyses and records the plan, and never acts'
    : `namespace ${namespace} is in observe mode: Cairn detects, analyses and records the plan, and never acts there`;

const approveReason = (namespace: string) =>
  namespace === ''
    ? 'Cairn runs in approve mode: every plan waits for people'
    : `namespace ${namespace} is in approve mode: every plan there waits for people`;

/**
 * Why nothing may run for this target, when its namespace is in observe mode; the pipeline records the plan it
 * would have run as refused and hands the Issue to people.
 */
export const observeOnly = (policy: RemediationPolicy, target: ResourceRef): string | undefined =>
  modeFor(policy, target.namespace) === RemediationMode.Observe ? observeReason(target.namespace) : undefined;

/**
 * What the operator policy adds to the approval rules' verdict: approve mode makes every plan wait for people, however
 * a rule would have let it through. It never lifts a requirement.
 */
export const approvalUnderPolicy = (
  policy: RemediationPolicy,
  namespace: string,
  verdict: ApprovalVerdict,
): ApprovalVerdict => {
  if (verdict.required) return verdict;
  if (modeFor(policy, namespace) === RemediationMode.Approve) {
    return { ...verdict, required: true, requiredApprovals: 1, rule: approveReason(namespace) };
  }
  return verdict;
};

/**
 * The default approval (`--default-approval`): what a plan no approval rule matched needs. The caller applies it only
 * when no ApprovalPolicy rule matched either; undefined when it asks for nothing more than the verdict.
 */
export const defaultApproval = (policy: RemediationPolicy, verdict: ApprovalVerdict): ApprovalVerdict | undefined =>
  policy.defaultApproval === DefaultApproval.Single && !verdict.required
    ? { ...verdict, required: true, requiredApprovals: 1, rule: 'the default approval: one person, as no rule matched' }
    : undefined;

/**
 * What the SLO guard adds to the approval verdict (`--slo-guard approve`): a plan with a destructive action on a
 * workload whose SLO is out of budget or burning fast waits for one person. It never lifts a requirement.
 */
export const sloApproval = (
  policy: RemediationPolicy,
  actions: readonly { readonly type: string }[],
  slos: readonly SloFact[],
  verdict: ApprovalVerdict,
): ApprovalVerdict => {
  if (verdict.required || policy.sloGuard !== SloGuard.Approve) return verdict;
  const risk = sloGuardReason(slos);
  const destructive = actions.filter((a) => findAction(a.type)?.destructive === true).map((a) => a.type);
  if (risk === undefined || destructive.length === 0) return verdict;
  return {
    ...verdict,
    required: true,
    requiredApprovals: 1,
    rule: `the SLO guard: ${destructive.join(', ')} destructive while ${risk}`,
  };
};

const replicaKinds = new Set(['Deployment', 'StatefulSet', 'ReplicaSet']);

/** Reads the numbers `evaluatePlan` needs for these actions from the cluster: blast radius and envelope. */
export async function observePlanFacts(
  clients: ActionClients,
  target: ResourceRef,
  actions: readonly ActionSpec[],
  verdicts?: RevisionVerdicts,
  policy?: Pick<RemediationPolicy, 'sloGuard' | 'disruptionGuard'>,
): Promise<PlanFacts> {
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
  const envelope = await observeEnvelope(clients, target, actions, verdicts);
  const slos =
    policy?.sloGuard !== undefined &&
    policy.sloGuard !== SloGuard.Off &&
    actions.some((a) => findAction(a.type)?.destructive)
      ? await observeSloFacts(clients, target)
      : undefined;
  const blastRadius =
    policy?.disruptionGuard === DisruptionGuard.Off ? undefined : await observeBlastRadius(clients, target, actions);
  return {
    ...(replicas === undefined ? {} : { replicas }),
    evictablePodsByNode,
    envelope,
    ...(slos === undefined ? {} : { slos }),
    ...(blastRadius === undefined ? {} : { blastRadius }),
  };
}
