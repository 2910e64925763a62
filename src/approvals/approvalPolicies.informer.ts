import * as k8s from '@kubernetes/client-node';
import type { ApprovalPolicyModel } from '../../domain/approval/approvalPolicy.ts';
import { ApiVersion } from '../../projections/kubernetesResources.projection.ts';
import { customResources } from '../adapters/kubernetes/customResources.ts';
import { conditionTransitionTime, startSpecInformer } from '../adapters/kubernetes/specInformer.ts';
import { type PolicyValidation, validateApprovalPolicy } from './policy.validation.ts';

const [GROUP, VERSION] = ApiVersion.split('/') as [string, string];
const PLURAL = 'approvalpolicies';
const FIELD_MANAGER = 'cairn-approvals';

interface Condition {
  type: string;
  status: string;
  reason: string;
  message: string;
  observedGeneration?: number;
  lastTransitionTime?: string;
}

interface PolicyObject {
  metadata?: { name?: string; namespace?: string; generation?: number; deletionTimestamp?: unknown };
  spec?: unknown;
  status?: { activeGeneration?: number; conditions?: Condition[] };
}

export interface ApprovalPolicies {
  /** The valid, enabled policies (for an invalid edit, the last valid generation); waits for the first listing. */
  current(): Promise<ApprovalPolicyModel[]>;
  stop(): Promise<void>;
}

export interface ApprovalPoliciesOptions {
  readonly config: k8s.KubeConfig;
  /** Policies here cover every namespace; elsewhere only their own. */
  readonly operatorNamespace: string;
  readonly now?: () => Date;
  readonly onError?: (what: string, error: unknown) => void;
  readonly log?: (line: string) => void;
}

export interface ReadyCondition {
  readonly status: 'True' | 'False';
  readonly reason: string;
  readonly message: string;
}

/** Ready, as the status tells a person what Cairn does with their policy. Pure. */
export function approvalPolicyReady(
  outcome: PolicyValidation,
  enabled: boolean,
  active: ApprovalPolicyModel | undefined,
): ReadyCondition {
  if (!outcome.ok) {
    const still = active
      ? `; plans are still decided by generation ${active.generation}`
      : '; this policy decides nothing until it is fixed';
    return {
      status: 'False',
      reason: 'InvalidSpec',
      message: `${outcome.problem.field}: ${outcome.problem.message}${still}`,
    };
  }
  if (!enabled)
    return { status: 'False', reason: 'Disabled', message: 'spec.enabled is false: this policy decides nothing' };
  return { status: 'True', reason: 'Valid', message: 'plans are decided by this generation' };
}

/**
 * The ApprovalPolicies of the cluster, read by an informer and reconciled by key (re-reading the object, never
 * trusting the watch payload). A policy that fails validation keeps its last valid generation in force and says
 * so in its Ready condition, naming the field.
 */
export function startApprovalPolicies(options: ApprovalPoliciesOptions): ApprovalPolicies {
  const now = options.now ?? (() => new Date());
  const custom = options.config.makeApiClient(k8s.CustomObjectsApi);
  const active = new Map<string, ApprovalPolicyModel>();
  const objects = customResources(options.config, 'ApprovalPolicy', PLURAL);

  const reconcile = async (key: string) => {
    const [namespace, name] = key.split('/') as [string, string];
    const object = (await objects.get(namespace, name)) as PolicyObject | undefined;
    if (!object || object.metadata?.deletionTimestamp) {
      if (active.delete(key)) options.log?.(`approval policy ${key} removed`);
      return;
    }
    const generation = object.metadata?.generation ?? 1;
    const outcome = validateApprovalPolicy({ namespace, name, generation }, object.spec, options.operatorNamespace);
    const enabled = (object.spec as { enabled?: boolean } | undefined)?.enabled !== false;
    if (outcome.ok) {
      if (enabled) active.set(key, outcome.policy);
      else active.delete(key);
    }
    const current = active.get(key);
    const ready = approvalPolicyReady(outcome, enabled, current);
    const previous = object.status?.conditions?.find((c) => c.type === 'Ready');
    const activeGeneration = current?.generation;
    const unchanged =
      previous !== undefined &&
      previous.status === ready.status &&
      previous.reason === ready.reason &&
      previous.message === ready.message &&
      previous.observedGeneration === generation &&
      object.status?.activeGeneration === activeGeneration;
    // Writing the same status again would come back as a watch event, and round again.
    if (unchanged) return;
    if (!outcome.ok) options.log?.(`approval policy ${key}: ${ready.message}`);
    await custom.patchNamespacedCustomObjectStatus(
      {
        group: GROUP,
        version: VERSION,
        plural: PLURAL,
        namespace,
        name,
        body: {
          apiVersion: ApiVersion,
          kind: 'ApprovalPolicy',
          metadata: { name, namespace },
          status: {
            observedGeneration: generation,
            ...(activeGeneration === undefined ? {} : { activeGeneration }),
            conditions: [
              {
                type: 'Ready',
                ...ready,
                observedGeneration: generation,
                lastTransitionTime: conditionTransitionTime(previous, ready, now().toISOString()),
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
    kind: 'ApprovalPolicy',
    plural: PLURAL,
    kindPlural: 'ApprovalPolicies',
    describe: (key) => `approval policy ${key}`,
    reconcile,
    ...(options.onError ? { onError: options.onError } : {}),
  });

  return {
    current: async () => {
      await informer.synced;
      return [...active.values()];
    },
    stop: async () => {
      await informer.stop();
    },
  };
}
