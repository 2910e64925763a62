import type * as k8s from '@kubernetes/client-node';
import type { EscalationState } from '../../domain/escalation/escalation.decider.ts';
import { customResources } from '../adapters/kubernetes/customResources.ts';
import { conditionTransitionTime, startSpecInformer } from '../adapters/kubernetes/specInformer.ts';
import type { ValidPolicy } from '../notifications/policy.validation.ts';
import {
  type EscalationPolicyProblem,
  type ValidEscalationPolicy,
  validateEscalationPolicy,
} from './escalationPolicy.validation.ts';
import { escalationsOfPolicy } from './escalationPolicyStatus.ts';

const PLURAL = 'escalationpolicies';
const FIELD_MANAGER = 'cairn-escalation';

interface PolicyObject {
  metadata?: { name?: string; namespace?: string; generation?: number; deletionTimestamp?: unknown };
  spec?: unknown;
  status?: Record<string, unknown> & {
    conditions?: { type: string; status: string; reason: string; message: string; lastTransitionTime?: string }[];
  };
}

export interface EscalationPolicies {
  /** The valid, enabled policies; waits for the first listing. */
  current(): Promise<ValidEscalationPolicy[]>;
  /** Writes the policy's status again (its escalations changed). */
  touch(namespace: string, name: string): void;
  stop(): Promise<void>;
}

export interface EscalationPoliciesOptions {
  readonly config: k8s.KubeConfig;
  readonly operatorNamespace: string;
  /** The NotificationPolicy a policy pages through, as Cairn routes with it now. */
  readonly notificationPolicy: (namespace: string, name: string) => ValidPolicy | undefined;
  /** The escalations not yet over, folded from the log, and how many of each policy ended; waits for the fold. */
  readonly escalations: () => Promise<{
    readonly running: Iterable<EscalationState>;
    ended(namespace: string, name: string): number;
  }>;
  readonly now?: () => Date;
  /** How often every policy is checked again (its NotificationPolicy may have changed); 30 s by default. */
  readonly resyncMs?: number;
  readonly onError?: (what: string, error: unknown) => void;
  readonly log?: (line: string) => void;
}

export interface ReadyCondition {
  readonly status: 'True' | 'False';
  readonly reason: string;
  readonly message: string;
}

/** Ready, as the status tells a person what Cairn does with their policy. Pure. */
export function escalationReady(
  outcome: { ok: true } | { ok: false; problem: EscalationPolicyProblem },
  enabled: boolean,
  active: ValidEscalationPolicy | undefined,
  channelProblems: readonly string[],
): ReadyCondition {
  if (!outcome.ok) {
    const still = active
      ? `; new escalations still follow generation ${active.generation}`
      : '; this policy escalates nothing until it is fixed';
    return {
      status: 'False',
      reason: 'InvalidSpec',
      message: `${outcome.problem.field}: ${outcome.problem.message}${still}`,
    };
  }
  if (!enabled) return { status: 'False', reason: 'Disabled', message: 'spec.enabled is false: nothing is escalated' };
  if (channelProblems.length > 0) {
    return {
      status: 'False',
      reason: 'ChannelNotFound',
      message: `${channelProblems.join('; ')}: pages to these channels fail until they exist`,
    };
  }
  return { status: 'True', reason: 'Valid', message: 'new escalations follow this generation' };
}

/** Each level's channels, looked up in the NotificationPolicy the policy references. */
export function channelProblems(policy: ValidEscalationPolicy, notification: ValidPolicy | undefined): string[] {
  if (notification === undefined) {
    return [
      `spec.notificationPolicyRef.name: NotificationPolicy ${policy.namespace}/${policy.notificationPolicy} is not found or not valid`,
    ];
  }
  const problems: string[] = [];
  for (const [i, level] of policy.levels.entries()) {
    for (const [j, channel] of level.channels.entries()) {
      if (!notification.channels.has(channel)) {
        problems.push(
          `spec.levels[${i}].channels[${j}]: NotificationPolicy ${policy.namespace}/${policy.notificationPolicy} has no channel ${channel}`,
        );
      }
    }
  }
  return problems;
}

/**
 * The EscalationPolicies of the cluster, read by an informer and reconciled by key (re-reading the object). A
 * policy that fails validation keeps its last valid generation for new escalations and says so in Ready, naming
 * the field. This is the one writer of the policy's status: Ready, and the escalations folded from the log.
 */
export function startEscalationPolicies(options: EscalationPoliciesOptions): EscalationPolicies {
  const now = options.now ?? (() => new Date());
  const active = new Map<string, ValidEscalationPolicy>();
  const known = new Set<string>();
  const objects = customResources(options.config, 'EscalationPolicy', PLURAL);
  const read = (namespace: string, name: string) => objects.get(namespace, name) as Promise<PolicyObject | undefined>;

  const reconcile = async (key: string) => {
    const [namespace, name] = key.split('/') as [string, string];
    const object = await read(namespace, name);
    if (!object || object.metadata?.deletionTimestamp) {
      known.delete(key);
      if (active.delete(key)) options.log?.(`escalation policy ${key} removed`);
      return;
    }
    known.add(key);
    const generation = object.metadata?.generation ?? 1;
    const outcome = validateEscalationPolicy({ namespace, name, generation }, object.spec, options.operatorNamespace);
    const enabled = (object.spec as { enabled?: boolean } | undefined)?.enabled !== false;
    if (outcome.ok) {
      if (enabled) active.set(key, outcome.policy);
      else active.delete(key);
    }
    const current = active.get(key);
    const problems =
      outcome.ok && enabled
        ? channelProblems(outcome.policy, options.notificationPolicy(namespace, outcome.policy.notificationPolicy))
        : [];
    const ready = escalationReady(outcome, enabled, current, problems);
    const escalations = await options.escalations();
    const { totalEscalations, active: running } = escalationsOfPolicy(
      escalations.running,
      namespace,
      name,
      escalations.ended(namespace, name),
    );
    const previous = object.status?.conditions?.find((c) => c.type === 'Ready');
    const status = {
      observedGeneration: generation,
      ...(current === undefined ? {} : { activeGeneration: current.generation }),
      totalEscalations,
      active: running,
      conditions: [
        {
          type: 'Ready',
          ...ready,
          observedGeneration: generation,
          lastTransitionTime: conditionTransitionTime(previous, ready, now().toISOString()),
        },
      ],
    };
    // Keys sorted: the API server hands objects back with their keys in its own order.
    const comparable = (s: unknown) =>
      JSON.stringify(s, (k, v) =>
        k === 'lastTransitionTime'
          ? undefined
          : v !== null && typeof v === 'object' && !Array.isArray(v)
            ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => (a < b ? -1 : 1)))
            : v,
      );
    const had = object.status ?? {};
    const unchanged =
      comparable({ ...status, active: status.active }) ===
      comparable({
        observedGeneration: had.observedGeneration,
        ...(had.activeGeneration === undefined ? {} : { activeGeneration: had.activeGeneration }),
        totalEscalations: had.totalEscalations,
        active: had.active ?? [],
        conditions: (had.conditions ?? []).map((c) => ({
          type: c.type,
          status: c.status,
          reason: c.reason,
          message: c.message,
          observedGeneration: (c as { observedGeneration?: number }).observedGeneration,
        })),
      });
    // Writing the same status again would come back as a watch event, and round again.
    if (unchanged) return;
    if (!outcome.ok) options.log?.(`escalation policy ${key}: ${ready.message}`);
    await objects.applyStatus(namespace, name, status, FIELD_MANAGER);
  };

  const informer = startSpecInformer({
    config: options.config,
    kind: 'EscalationPolicy',
    plural: PLURAL,
    kindPlural: 'EscalationPolicies',
    describe: (key) => `escalation policy ${key}`,
    reconcile,
    ...(options.onError ? { onError: options.onError } : {}),
  });
  const resync = setInterval(() => {
    for (const key of known) informer.refresh(key);
  }, options.resyncMs ?? 30_000);
  resync.unref();

  return {
    current: async () => {
      await informer.synced;
      return [...active.values()];
    },
    touch: (namespace, name) => informer.refresh(`${namespace}/${name}`),
    stop: async () => {
      clearInterval(resync);
      await informer.stop();
    },
  };
}
