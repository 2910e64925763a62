import * as k8s from '@kubernetes/client-node';
import type { ApprovalPolicyModel } from '../../domain/approval/approvalPolicy.ts';
import { ApiVersion } from '../../projections/kubernetesResources.projection.ts';
import { customResources } from '../adapters/kubernetes/customResources.ts';
import { createKeyedQueue } from '../application/keyedQueue.ts';
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
                lastTransitionTime:
                  previous && previous.status === ready.status
                    ? (previous.lastTransitionTime ?? now().toISOString())
                    : now().toISOString(),
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

  const queue = createKeyedQueue(reconcile, {
    onError: (key, error, attempt) => options.onError?.(`approval policy ${key} (attempt ${attempt})`, error),
  });
  const list = () =>
    custom.listClusterCustomObject({ group: GROUP, version: VERSION, plural: PLURAL }) as Promise<
      k8s.KubernetesListObject<k8s.KubernetesObject>
    >;
  const informer = k8s.makeInformer<k8s.KubernetesObject>(options.config, `/apis/${GROUP}/${VERSION}/${PLURAL}`, list);
  const keyOf = (object: k8s.KubernetesObject) => `${object.metadata?.namespace ?? ''}/${object.metadata?.name ?? ''}`;
  informer.on(k8s.ADD, (o) => queue.add(keyOf(o)));
  informer.on(k8s.UPDATE, (o) => queue.add(keyOf(o)));
  informer.on(k8s.DELETE, (o) => queue.add(keyOf(o)));
  let stopped = false;
  let restart: NodeJS.Timeout | undefined;
  let failures = 0;
  informer.on(k8s.CONNECT, () => {
    failures = 0;
  });
  const restartLater = (error: unknown) => {
    if (stopped) return;
    failures += 1;
    options.onError?.('watch ApprovalPolicy', error);
    clearTimeout(restart);
    restart = setTimeout(
      () => {
        if (!stopped) informer.start().catch(restartLater);
      },
      Math.min(30_000, 500 * 2 ** Math.min(failures, 6)),
    );
  };
  informer.on(k8s.ERROR, restartLater);

  // Plans wait for this: every policy listed and decided once, so none is created against an empty cache.
  const synced = (async () => {
    for (;;) {
      try {
        const { items } = await list();
        await Promise.all(
          items.map((o) => reconcile(keyOf(o)).catch((e) => options.onError?.(`approval policy ${keyOf(o)}`, e))),
        );
        return;
      } catch (error) {
        if (stopped) return;
        options.onError?.('listing ApprovalPolicies', error);
        await new Promise((r) => setTimeout(r, 2_000));
      }
    }
  })();
  informer.start().catch(restartLater);

  return {
    current: async () => {
      await synced;
      return [...active.values()];
    },
    stop: async () => {
      stopped = true;
      clearTimeout(restart);
      await informer.stop();
      await queue.stop();
    },
  };
}
