import * as k8s from '@kubernetes/client-node';
import type { ChannelHealth } from '../../domain/notification/channelHealth.ts';
import { ApiVersion } from '../../projections/kubernetesResources.projection.ts';
import { customResources } from '../adapters/kubernetes/customResources.ts';
import { conditionTransitionTime, startSpecInformer } from '../adapters/kubernetes/specInformer.ts';
import { channelStatus } from './channelStatus.ts';
import { channelSecretRefs, type PolicyProblem, type ValidPolicy, validatePolicy } from './policy.validation.ts';

const [GROUP, VERSION] = ApiVersion.split('/') as [string, string];
const PLURAL = 'notificationpolicies';
const FIELD_MANAGER = 'cairn-notifications';

interface PolicyObject {
  metadata?: { name?: string; namespace?: string; generation?: number; deletionTimestamp?: unknown };
  spec?: unknown;
  status?: {
    activeGeneration?: number;
    channels?: unknown[];
    conditions?: { type: string; status: string; reason: string; message: string; observedGeneration?: number }[];
  };
}

export interface NotificationPolicies {
  /** The valid, enabled policies; waits for the first listing. */
  current(): Promise<ValidPolicy[]>;
  find(namespace: string, name: string): ValidPolicy | undefined;
  /** Reconciles the policy again (its channels' health moved). */
  refresh(namespace: string, name: string): void;
  stop(): Promise<void>;
}

export interface NotificationPoliciesOptions {
  readonly config: k8s.KubeConfig;
  /** Policies here hear of every namespace; elsewhere only of their own. */
  readonly operatorNamespace: string;
  readonly now?: () => Date;
  readonly onError?: (what: string, error: unknown) => void;
  readonly log?: (line: string) => void;
  /** The policy's channels' health by channel name, folded from the recorded delivery outcomes. */
  readonly channelHealth?: (namespace: string, name: string) => ReadonlyMap<string, ChannelHealth>;
}

export interface ReadyCondition {
  readonly status: 'True' | 'False';
  readonly reason: string;
  readonly message: string;
}

/** Ready, as the status tells a person what Cairn does with their policy. Pure. */
export function readyCondition(
  outcome: { ok: true } | { ok: false; problem: PolicyProblem },
  enabled: boolean,
  active: ValidPolicy | undefined,
  missingSecrets: readonly string[],
): ReadyCondition {
  if (!outcome.ok) {
    const still = active
      ? `; notifications still follow generation ${active.routing.generation}`
      : '; nothing is routed by this policy until it is fixed';
    return {
      status: 'False',
      reason: 'InvalidSpec',
      message: `${outcome.problem.field}: ${outcome.problem.message}${still}`,
    };
  }
  if (!enabled) return { status: 'False', reason: 'Disabled', message: 'spec.enabled is false: nothing is routed' };
  if (missingSecrets.length > 0) {
    return {
      status: 'False',
      reason: 'SecretNotFound',
      message: `${missingSecrets.join('; ')}: deliveries to these channels fail and are retried until it exists`,
    };
  }
  return { status: 'True', reason: 'Valid', message: 'notifications follow this generation' };
}

/**
 * The NotificationPolicies of the cluster, read by an informer and reconciled by key (re-reading the object, never
 * trusting the watch payload). A policy that fails validation keeps its last valid generation in force and says
 * so in its Ready condition, naming the field.
 */
export function startNotificationPolicies(options: NotificationPoliciesOptions): NotificationPolicies {
  const now = options.now ?? (() => new Date());
  const custom = options.config.makeApiClient(k8s.CustomObjectsApi);
  const core = options.config.makeApiClient(k8s.CoreV1Api);
  const active = new Map<string, ValidPolicy>();

  const objects = customResources(options.config, 'NotificationPolicy', PLURAL);
  const read = (namespace: string, name: string) => objects.get(namespace, name) as Promise<PolicyObject | undefined>;

  const secretMissing = async (namespace: string, ref: { name: string; key: string }, field: string) => {
    try {
      const secret = await core.readNamespacedSecret({ namespace, name: ref.name });
      if (secret.data?.[ref.key] === undefined && secret.stringData?.[ref.key] === undefined) {
        return `${field}: Secret ${namespace}/${ref.name} has no key ${ref.key}`;
      }
      return undefined;
    } catch (error) {
      if ((error as { code?: number }).code === 404) return `${field}: Secret ${namespace}/${ref.name} not found`;
      throw error;
    }
  };

  const reconcile = async (key: string) => {
    const [namespace, name] = key.split('/') as [string, string];
    const object = await read(namespace, name);
    if (!object || object.metadata?.deletionTimestamp) {
      if (active.delete(key)) options.log?.(`notification policy ${key} removed`);
      return;
    }
    const generation = object.metadata?.generation ?? 1;
    const outcome = validatePolicy({ namespace, name, generation }, object.spec, options.operatorNamespace);
    const enabled = (object.spec as { enabled?: boolean } | undefined)?.enabled !== false;
    const missing: string[] = [];
    if (outcome.ok) {
      if (enabled) active.set(key, outcome.policy);
      else active.delete(key);
      for (const [i, c] of [...outcome.policy.channels.values()].entries()) {
        for (const [field, ref] of channelSecretRefs(c)) {
          const problem = await secretMissing(namespace, ref, `spec.channels[${i}].${field}`);
          if (problem && !missing.includes(problem)) missing.push(problem);
        }
      }
    }
    const current = active.get(key);
    const ready = readyCondition(outcome, enabled, current, missing);
    const previous = object.status?.conditions?.find((c) => c.type === 'Ready');
    const activeGeneration = current?.routing.generation;
    const declared = Array.isArray((object.spec as { channels?: unknown })?.channels)
      ? ((object.spec as { channels: { name?: unknown }[] }).channels
          .map((c) => c?.name)
          .filter((n) => typeof n === 'string') as string[])
      : [];
    const health = channelStatus(declared, options.channelHealth?.(namespace, name) ?? new Map());
    const previousDegraded = object.status?.conditions?.find((c) => c.type === 'Degraded');
    const unchanged =
      previous !== undefined &&
      previous.status === ready.status &&
      previous.reason === ready.reason &&
      previous.message === ready.message &&
      previous.observedGeneration === generation &&
      object.status?.activeGeneration === activeGeneration &&
      previousDegraded?.status === health.degraded.status &&
      previousDegraded?.message === health.degraded.message &&
      JSON.stringify(object.status?.channels ?? []) === JSON.stringify(health.channels);
    // Writing the same status again would come back as a watch event, and round again.
    if (unchanged) return;
    if (!outcome.ok) options.log?.(`notification policy ${key}: ${ready.message}`);
    await custom.patchNamespacedCustomObjectStatus(
      {
        group: GROUP,
        version: VERSION,
        plural: PLURAL,
        namespace,
        name,
        body: {
          apiVersion: ApiVersion,
          kind: 'NotificationPolicy',
          metadata: { name, namespace },
          status: {
            observedGeneration: generation,
            ...(activeGeneration === undefined ? {} : { activeGeneration }),
            channels: health.channels,
            conditions: [
              {
                type: 'Ready',
                ...ready,
                observedGeneration: generation,
                lastTransitionTime: conditionTransitionTime(
                  previous as { status: string; lastTransitionTime?: string } | undefined,
                  ready,
                  now().toISOString(),
                ),
              },
              {
                type: 'Degraded',
                ...health.degraded,
                observedGeneration: generation,
                lastTransitionTime: conditionTransitionTime(
                  previousDegraded as { status: string; lastTransitionTime?: string } | undefined,
                  health.degraded,
                  now().toISOString(),
                ),
              },
            ],
          },
        },
        fieldManager: FIELD_MANAGER,
        force: true,
      },
      k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.ServerSideApply),
    );
  };

  const informer = startSpecInformer({
    config: options.config,
    kind: 'NotificationPolicy',
    plural: PLURAL,
    kindPlural: 'NotificationPolicies',
    describe: (key) => `notification policy ${key}`,
    reconcile,
    ...(options.onError ? { onError: options.onError } : {}),
  });

  return {
    current: async () => {
      await informer.synced;
      return [...active.values()];
    },
    find: (namespace, name) => active.get(`${namespace}/${name}`),
    refresh: (namespace, name) => informer.refresh(`${namespace}/${name}`),
    stop: async () => {
      await informer.stop();
    },
  };
}
