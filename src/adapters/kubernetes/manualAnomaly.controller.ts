import * as k8s from '@kubernetes/client-node';
import { Value } from '@sinclair/typebox/value';
import { judgeObservedAt } from '../../../domain/correlation/observedAt.policy.ts';
import type { ResourceRef } from '../../../domain/events/common.schema.ts';
import { ApiVersion, issueName, Labels } from '../../../projections/kubernetesResources.projection.ts';
import type { AnomalyIntake, AnomalyOutcome } from '../../application/detection/anomalyIntake.ts';
import { createKeyedQueue } from '../../application/keyedQueue.ts';
import type { WorkloadLookup } from '../../ports/workloadLookup.ts';
import { type AnomalyResource, AnomalySpecSchema } from './api/anomaly.kind.ts';
import { clusterScopedTargetKinds } from './api/anomalyAdmission.ts';
import { customResources } from './customResources.ts';

/*
 * Anomalies written by hand (`kubectl apply`) are recorded like any detected one, always with source `manual`:
 * whatever their spec says, a person is not one of Cairn's detectors. Their authority is their namespace's: one
 * that names an object of another namespace, or a Node, is refused (the admission policy of
 * api/anomalyAdmission.ts refuses it earlier for most writers; this holds for every writer and every install).
 *
 * Who writes an Anomaly's status, one writer per object:
 * - objects Cairn wrote (they carry the `aiops.cairn.dev/anomaly-id` label): the resource writer, from the events;
 * - objects a user wrote (no such label): this controller, and only it. It decides once per generation, writing
 *   condition `Accepted` (True once recorded, False with a reason when it cannot be), and, from the same decision,
 *   the correlation fields (`correlated`, `issueRef`, `dedupKey`, condition `Correlated`). The resource writer
 *   leaves these objects alone: it makes no copy of them and lists them in their Issue under their own name.
 */

const [GROUP, VERSION] = ApiVersion.split('/') as [string, string];
const PLURAL = 'anomalies';
const FIELD_MANAGER = 'cairn-manual-anomalies';

/** On the anomaly's events: the hand-made object it came from, so the resource writer knows not to write one. */
export const HandMadeAnomalyLabel = 'aiops.cairn.dev/anomaly-object';

/** The anomaly id of a hand-made object: the same object is the same anomaly, however often it is delivered. */
export const manualAnomalyId = (uid: string) => `manual-${uid}`;

export const AcceptedReason = {
  Recorded: 'Recorded',
  Deduplicated: 'Deduplicated',
  InvalidSpec: 'InvalidSpec',
  /** It names an object of another namespace: whoever may write Anomalies here may not act there. */
  OutsideNamespace: 'OutsideNamespace',
  /** It names a Node: only Cairn's own watcher raises signals on cluster-scoped objects. */
  ClusterScopedTarget: 'ClusterScopedTarget',
} as const;

/** Why a hand-made Anomaly in `namespace` may not name `resource`, or undefined when it may. Pure. */
export function authorityRefusal(
  namespace: string,
  resource: { readonly kind: string; readonly name: string; readonly namespace?: string | undefined },
): { readonly reason: string; readonly message: string } | undefined {
  if ((clusterScopedTargetKinds as readonly string[]).includes(resource.kind)) {
    return {
      reason: AcceptedReason.ClusterScopedTarget,
      message: `${resource.kind} ${resource.name} is cluster-scoped: an Anomaly in namespace ${namespace} may only name objects of its own namespace, and only Cairn's own watcher raises signals on a ${resource.kind}`,
    };
  }
  if (resource.namespace !== undefined && resource.namespace !== namespace) {
    return {
      reason: AcceptedReason.OutsideNamespace,
      message: `${resource.kind} ${resource.namespace}/${resource.name} is outside namespace ${namespace}: an Anomaly may only name objects of its own namespace`,
    };
  }
  return undefined;
}

type Condition = {
  type: string;
  status: 'True' | 'False';
  reason: string;
  message: string;
  observedGeneration: number;
  lastTransitionTime: string;
};

const display = (ref: ResourceRef) => `${ref.kind} ${ref.namespace ? `${ref.namespace}/` : ''}${ref.name}`;

/** The status of a hand-made Anomaly once the correlation stream has decided. Pure, for the tests' sake too. */
export function acceptedStatus(
  outcome: AnomalyOutcome,
  workload: ResourceRef,
  firstSeenAt: string,
  generation: number,
  at: string,
) {
  const issue = outcome.issueId ? issueName(outcome.issueId, workload) : undefined;
  const accepted: Condition =
    outcome.status === 'recorded'
      ? {
          type: 'Accepted',
          status: 'True',
          reason: AcceptedReason.Recorded,
          message: `recorded as anomaly ${outcome.anomalyId} on ${display(workload)}`,
          observedGeneration: generation,
          lastTransitionTime: at,
        }
      : {
          type: 'Accepted',
          status: 'True',
          reason: AcceptedReason.Deduplicated,
          message: `the same signal on ${display(workload)} is already open as anomaly ${outcome.duplicateOf}`,
          observedGeneration: generation,
          lastTransitionTime: at,
        };
  const correlated: Condition = {
    type: 'Correlated',
    status: issue ? 'True' : 'False',
    reason: issue ? 'JoinedIssue' : 'NoOpenIssue',
    message: issue
      ? `${outcome.status === 'recorded' && outcome.openedIssue ? 'opened' : 'correlated into'} Issue ${issue}`
      : 'its duplicate belongs to no open Issue',
    observedGeneration: generation,
    lastTransitionTime: at,
  };
  return {
    observedGeneration: generation,
    correlated: issue !== undefined,
    ...(issue ? { issueRef: { name: issue } } : {}),
    ...(outcome.dedupKey ? { dedupKey: outcome.dedupKey } : {}),
    firstSeenAt,
    conditions: [accepted, correlated],
  };
}

export function rejectedStatus(reason: string, message: string, generation: number, at: string) {
  return {
    observedGeneration: generation,
    correlated: false,
    conditions: [
      {
        type: 'Accepted',
        status: 'False',
        reason,
        message,
        observedGeneration: generation,
        lastTransitionTime: at,
      } satisfies Condition,
    ],
  };
}

/** True once this generation has been decided, either way: a restart re-lists every object and must not redo it. */
const decided = (object: AnomalyResource, generation: number) =>
  (object.status?.conditions ?? []).some(
    (c) => c.type === 'Accepted' && c.status !== 'Unknown' && c.observedGeneration === generation,
  );

/** Timestamps the API server accepts (RFC 3339) written the way events want them (ISO, UTC). */
const isoInstant = (value: string | undefined | Date, fallback: Date) => {
  const at = value === undefined ? Number.NaN : new Date(value).getTime();
  return new Date(Number.isNaN(at) ? fallback : at).toISOString();
};

export interface ManualAnomalyControllerOptions {
  readonly config: k8s.KubeConfig;
  readonly intake: AnomalyIntake;
  readonly workloads: WorkloadLookup;
  readonly now?: () => Date;
  readonly onRecorded?: (object: { namespace: string; name: string }, outcome: AnomalyOutcome) => void;
  readonly onError?: (what: string, error: unknown) => void;
}

export interface ManualAnomalyController {
  stop(): Promise<void>;
}

/**
 * Watches the Anomalies nobody in Cairn wrote (a label selector keeps Cairn's own out of the cache) and records
 * each through the one recorder. Reconciles by key, re-reading the object; a transient failure is retried by the
 * queue, a bad object is Rejected in its status and never retried.
 */
export function startManualAnomalyController(options: ManualAnomalyControllerOptions): ManualAnomalyController {
  const now = options.now ?? (() => new Date());
  const custom = options.config.makeApiClient(k8s.CustomObjectsApi);
  const core = options.config.makeApiClient(k8s.CoreV1Api);
  const selector = `!${Labels.anomalyId}`;

  const writeStatus = (namespace: string, name: string, status: object) =>
    custom.patchNamespacedCustomObjectStatus(
      {
        group: GROUP,
        version: VERSION,
        plural: PLURAL,
        namespace,
        name,
        body: { apiVersion: ApiVersion, kind: 'Anomaly', metadata: { name, namespace }, status },
        fieldManager: FIELD_MANAGER,
        force: true,
      },
      k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.ServerSideApply),
    );

  const objects = customResources(options.config, 'Anomaly', PLURAL);
  const read = (namespace: string, name: string) =>
    objects.get(namespace, name) as Promise<AnomalyResource | undefined>;

  /** A Warning Event on the Anomaly, so `kubectl describe` and event-based alerting see the refusal too. */
  const warn = async (object: AnomalyResource, generation: number, reason: string, message: string, at: string) => {
    const namespace = object.metadata?.namespace ?? '';
    const name = object.metadata?.name ?? '';
    const when = new Date(at);
    try {
      await core.createNamespacedEvent({
        namespace,
        body: {
          metadata: { name: `${name}.cairn-rejected-${generation}`, namespace },
          involvedObject: {
            apiVersion: ApiVersion,
            kind: 'Anomaly',
            name,
            namespace,
            ...(object.metadata?.uid ? { uid: object.metadata.uid } : {}),
          },
          type: 'Warning',
          reason,
          message: `Cairn did not record this Anomaly: ${message}`.slice(0, 1024),
          source: { component: 'cairn-operator' },
          firstTimestamp: when,
          lastTimestamp: when,
          count: 1,
          reportingComponent: 'cairn-operator',
        },
      });
    } catch (error) {
      // 409: an earlier attempt made it. Anything else must not keep the refusal out of the status.
      if ((error as { code?: number }).code !== 409) options.onError?.(`event for Anomaly ${namespace}/${name}`, error);
    }
  };

  const reconcile = async (key: string) => {
    const [namespace, name] = key.split('/') as [string, string];
    const object = await read(namespace, name);
    if (!object || object.metadata?.deletionTimestamp) return;
    if (object.metadata?.labels?.[Labels.anomalyId]) return; // Cairn's own: the resource writer's
    const generation = object.metadata?.generation ?? 1;
    if (decided(object, generation)) return;
    const at = now().toISOString();
    const reject = async (reason: string, message: string) => {
      // The Event first: once the status says decided, a retry would not come back to it.
      await warn(object, generation, reason, message, at);
      await writeStatus(namespace, name, rejectedStatus(reason, message, generation, at));
    };

    // The API server validated it against the same schema; this guards against an older CRD being installed.
    if (!Value.Check(AnomalySpecSchema, object.spec)) {
      const first = Value.Errors(AnomalySpecSchema, object.spec).First();
      await reject(AcceptedReason.InvalidSpec, `spec${first?.path ?? ''}: ${first?.message ?? 'invalid'}`);
      return;
    }
    const spec = object.spec;
    const refused = authorityRefusal(namespace, spec.resource);
    if (refused) {
      await reject(refused.reason, refused.message);
      return;
    }
    // MTTD is measured from observedAt: one from year 1 or 9999 is refused, for its writer to correct.
    const observed = spec.observedAt === undefined ? undefined : judgeObservedAt(spec.observedAt, now());
    if (observed !== undefined && !observed.ok) {
      await reject(AcceptedReason.InvalidSpec, `spec.observedAt ${observed.problem}`);
      return;
    }
    const resolution = await options.workloads.resolve({
      kind: spec.resource.kind,
      name: spec.resource.name,
      namespace: spec.resource.namespace ?? namespace,
      ...(spec.resource.apiVersion ? { apiVersion: spec.resource.apiVersion } : {}),
    });
    if (!resolution.ok) {
      await reject(resolution.reason, resolution.message);
      return;
    }

    const created = object.metadata?.creationTimestamp;
    const observedAt = isoInstant(spec.observedAt ?? created, now());
    const outcome = await options.intake({
      anomalyId: manualAnomalyId(object.metadata?.uid ?? `${namespace}/${name}`),
      signal: spec.signal,
      source: 'manual',
      resource: resolution.resource,
      workload: resolution.workload,
      message: spec.message ?? `${spec.signal} reported by hand on ${display(resolution.resource)}`,
      observedAt,
      labels: {
        ...spec.labels,
        ...(spec.alertName ? { alertname: spec.alertName } : {}),
        [HandMadeAnomalyLabel]: name,
      },
    });
    await writeStatus(namespace, name, acceptedStatus(outcome, resolution.workload, observedAt, generation, at));
    options.onRecorded?.({ namespace, name }, outcome);
  };

  const queue = createKeyedQueue(reconcile, {
    onError: (key, error, attempt) => options.onError?.(`manual anomaly ${key} (attempt ${attempt})`, error),
  });

  const informer = k8s.makeInformer<k8s.KubernetesObject>(
    options.config,
    `/apis/${GROUP}/${VERSION}/${PLURAL}`,
    () =>
      custom.listClusterCustomObject({
        group: GROUP,
        version: VERSION,
        plural: PLURAL,
        labelSelector: selector,
      }) as Promise<k8s.KubernetesListObject<k8s.KubernetesObject>>,
    selector,
  );
  const changed = (object: k8s.KubernetesObject) =>
    queue.add(`${object.metadata?.namespace ?? ''}/${object.metadata?.name ?? ''}`);
  informer.on(k8s.ADD, changed);
  informer.on(k8s.UPDATE, changed);
  let stopped = false;
  let failures = 0;
  let restart: NodeJS.Timeout | undefined;
  informer.on(k8s.CONNECT, () => {
    failures = 0;
  });
  // The client re-lists by itself on 410 Gone; any other failure restarts the watch after a growing pause.
  const restartLater = (error: unknown) => {
    if (stopped) return;
    failures += 1;
    options.onError?.('watch Anomaly', error);
    clearTimeout(restart);
    restart = setTimeout(
      () => {
        if (!stopped) informer.start().catch(restartLater);
      },
      Math.min(30_000, 500 * 2 ** Math.min(failures - 1, 6)),
    );
  };
  informer.on(k8s.ERROR, restartLater);
  informer.start().catch(restartLater);

  return {
    stop: async () => {
      stopped = true;
      clearTimeout(restart);
      await informer.stop();
      await queue.stop();
    },
  };
}
