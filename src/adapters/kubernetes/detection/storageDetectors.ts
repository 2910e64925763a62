import type {
  CoreV1Event,
  KubernetesObject,
  V1CronJob,
  V1Job,
  V1PersistentVolumeClaim,
  V1Pod,
  V1StorageClass,
  V2HorizontalPodAutoscaler,
  V2MetricSpec,
} from '@kubernetes/client-node';
import { CronExpressionParser } from 'cron-parser';
import { DateTime } from 'luxon';
import { resolveWorkload } from '../../../../domain/correlation/workload.resolver.ts';
import type { AnomalyCause } from '../../../../domain/events/anomaly.events.ts';
import type { WatchedKind } from '../clusterWatch.ts';
import type { DetectionView, DetectorSet } from './detectionView.ts';
import { detectionKey, ownedObject, podWorkload } from './detectionView.ts';
import type { DetectionThresholds, Finding } from './detectors.ts';

type Subject = Finding['subject'];

const subjectOf = (kind: string, object: KubernetesObject): Subject => ({
  kind,
  name: object.metadata?.name ?? '',
  namespace: object.metadata?.namespace ?? '',
});

/** Event and condition text is written by other controllers; it is quoted, never allowed to overflow a message. */
const clip = (text: string, max = 600) => (text.length > max ? `${text.slice(0, max - 1)}…` : text);

/** Anomaly messages are bounded (2,048 characters); a finding over the bound could never be recorded. */
const bounded = (finding: Finding): Finding => ({
  ...finding,
  message: clip(finding.message, 2000),
  ...(finding.cause ? { cause: { ...finding.cause, message: clip(finding.cause.message, 1500) } } : {}),
});

const eventTime = (e: CoreV1Event) =>
  new Date(e.lastTimestamp ?? e.eventTime ?? e.firstTimestamp ?? e.metadata?.creationTimestamp ?? 0).getTime();

/** The newest of an object's Events with one of these reasons; of two in the same second, the later listed. */
const latestEvent = (events: readonly CoreV1Event[], reasons: ReadonlySet<string>) =>
  events
    .filter((e) => reasons.has(e.reason ?? ''))
    .reduce<CoreV1Event | undefined>(
      (newest, e) => (newest === undefined || eventTime(e) >= eventTime(newest) ? e : newest),
      undefined,
    );

/** The workload a pod belongs to, as a Subject. */
const workloadOfPod = (pod: V1Pod, view: DetectionView): Subject => {
  const { kind, name, namespace } = podWorkload(view, pod);
  return { kind, name, namespace };
};

// ─── PersistentVolumeClaims ──────────────────────────────────────────────────────────────────────────────────────

/** Set by the scheduler on a WaitForFirstConsumer claim once a pod using it is placed; provisioning starts then. */
const SELECTED_NODE = 'volume.kubernetes.io/selected-node';
/** The class name before spec.storageClassName existed; the volume controller still honours it. */
const BETA_CLASS = 'volume.beta.kubernetes.io/storage-class';
const DEFAULT_CLASS = 'storageclass.kubernetes.io/is-default-class';
/** A class whose volumes are created by hand (local volumes): a claim of it waits for a matching PersistentVolume. */
const NO_PROVISIONER = 'kubernetes.io/no-provisioner';
const PVC_REASONS = new Set(['FailedBinding', 'ProvisioningFailed', 'ExternalProvisioning']);

const claimNamesOf = (pod: V1Pod): string[] =>
  (pod.spec?.volumes ?? []).flatMap((v) => {
    if (v.persistentVolumeClaim?.claimName) return [v.persistentVolumeClaim.claimName];
    // A generic ephemeral volume's claim is named after the pod and the volume.
    if (v.ephemeral) return [`${pod.metadata?.name ?? ''}-${v.name}`];
    return [];
  });

/** The pods of the claim's namespace that mount it, by name so the choice is stable. */
const podsMounting = (view: DetectionView, namespace: string, claim: string) =>
  view
    .list<V1Pod>('Pod', namespace)
    .filter((p) => !p.metadata?.deletionTimestamp && claimNamesOf(p).includes(claim))
    .sort((a, b) => (a.metadata?.name ?? '').localeCompare(b.metadata?.name ?? ''));

/**
 * The workload of a claim no running pod mounts yet, through its own owners: a StatefulSet that keeps its claims
 * (persistentVolumeClaimRetentionPolicy), the pod of a generic ephemeral volume; the claim itself when it has none.
 */
const claimOwner = (pvc: V1PersistentVolumeClaim, view: DetectionView): Subject => {
  const owned = ownedObject('PersistentVolumeClaim', pvc);
  const owner = owned.ownerReferences?.find((o) => o.controller) ?? owned.ownerReferences?.[0];
  const pod = owner?.kind === 'Pod' ? view.get<V1Pod>('Pod', owned.namespace, owner.name) : undefined;
  if (pod) return workloadOfPod(pod, view);
  const { kind, name, namespace } = resolveWorkload(owned);
  return { kind, name, namespace };
};

const requestOf = (pvc: V1PersistentVolumeClaim) => {
  const size = pvc.spec?.resources?.requests?.storage;
  const modes = pvc.spec?.accessModes ?? [];
  return [size === undefined ? '' : String(size), modes.join(',')].filter(Boolean).join(' ');
};

/**
 * A claim stuck in Pending, with the reason the volume controller gave in its Events. A claim whose class binds on
 * first use is Pending by design until a pod is scheduled with it; one being deleted is on its way out.
 */
export function detectPvcPending(pvc: V1PersistentVolumeClaim, t: DetectionThresholds, view: DetectionView): Finding[] {
  if (pvc.metadata?.deletionTimestamp || pvc.status?.phase !== 'Pending') return [];
  const subject = subjectOf('PersistentVolumeClaim', pvc);
  const className = pvc.spec?.storageClassName ?? pvc.metadata?.annotations?.[BETA_CLASS];
  const storageClass = className ? view.get<V1StorageClass>('StorageClass', '', className) : undefined;
  const selectedNode = pvc.metadata?.annotations?.[SELECTED_NODE];
  if (storageClass?.volumeBindingMode === 'WaitForFirstConsumer' && !selectedNode) return [];

  const classRef = (name: string) => ({ kind: 'StorageClass', name, namespace: '' });
  const event = latestEvent(view.eventsFor('PersistentVolumeClaim', subject.namespace, subject.name), PVC_REASONS);
  const said = event?.message ? `: ${clip(event.message)}` : '';
  let cause: AnomalyCause;
  const staticOnly = storageClass?.provisioner === NO_PROVISIONER;
  if (className && !storageClass) {
    const others = view
      .list<V1StorageClass>('StorageClass')
      .map((c) => c.metadata?.name ?? '')
      .filter(Boolean)
      .sort();
    cause = {
      code: 'storage_class_missing',
      message:
        `spec.storageClassName "${className}" names a StorageClass that does not exist; create it (or a PersistentVolume of that class) or set ` +
        `spec.storageClassName to ${others.length > 0 ? `one of: ${others.slice(0, 5).join(', ')}` : 'an existing class (the cluster has none)'}`,
      object: classRef(className),
    };
  } else if (event?.reason === 'ProvisioningFailed' && !staticOnly) {
    cause = {
      code: 'provisioning_failed',
      message: `provisioning failed for StorageClass "${className}" (provisioner ${storageClass?.provisioner ?? 'unknown'})${said}`,
      ...(className ? { object: classRef(className) } : {}),
    };
  } else if (
    !staticOnly &&
    (event?.reason === 'ExternalProvisioning' || (storageClass && event?.reason !== 'FailedBinding'))
  ) {
    const provisioner = storageClass?.provisioner ?? 'unknown';
    cause = {
      code: 'waiting_for_provisioner',
      message:
        `waiting for the external provisioner "${provisioner}" of StorageClass "${className}" to create the ` +
        'volume; check that the provisioner is installed and running',
      ...(className ? { object: classRef(className) } : {}),
    };
  } else {
    const volumeName = pvc.spec?.volumeName;
    const hasDefault = view
      .list<V1StorageClass>('StorageClass')
      .some((c) => c.metadata?.annotations?.[DEFAULT_CLASS] === 'true');
    const what = volumeName
      ? `spec.volumeName asks for PersistentVolume ${volumeName}, which is not available to it (missing, taken, or too small for ${requestOf(pvc)})`
      : className
        ? `no PersistentVolume of StorageClass "${className}"${selectedNode ? ` on node ${selectedNode}` : ''} matches the request (${requestOf(pvc)}); create one`
        : className === ''
          ? `spec.storageClassName is "" (no dynamic provisioning) and no PersistentVolume without a class matches the request (${requestOf(pvc)}); create one or set spec.storageClassName`
          : `spec.storageClassName is not set${hasDefault ? '' : ', the cluster has no default StorageClass,'} and no PersistentVolume matches the request (${requestOf(pvc)}); set spec.storageClassName or create a matching PersistentVolume`;
    cause = {
      code: 'no_matching_volume',
      message: what + said,
      ...(className ? { object: classRef(className) } : {}),
    };
  }
  const [pod] = podsMounting(view, subject.namespace, subject.name);
  const blocks = pod ? `; pod ${pod.metadata?.name} waits for it` : '';
  return [
    bounded({
      signal: 'pvc_pending',
      subject,
      message: `claim ${subject.name} is Pending: ${cause.message}${blocks}`,
      sustainSeconds: t.pvcPendingSeconds,
      cause,
      workload: pod ? workloadOfPod(pod, view) : claimOwner(pvc, view),
    }),
  ];
}

// ─── HorizontalPodAutoscalers ────────────────────────────────────────────────────────────────────────────────────

/** Targets the caches hold; an autoscaler of another kind (a custom resource) is judged by its conditions only. */
const CACHED_TARGETS: ReadonlySet<string> = new Set<WatchedKind>(['Deployment', 'StatefulSet', 'ReplicaSet']);
/** ScalingActive=False for these reasons means the metrics cannot be read or make no sense; ScalingDisabled is a decision. */
const METRIC_FAILURE = /^(FailedGet\w*Metric|InvalidMetricSourceType|InvalidSelector|FailedComputeMetricsReplicas)$/;

const KIND = /^[A-Z][A-Za-z0-9]{0,62}$/;

const describeMetric = (m: V2MetricSpec): string => {
  switch (m.type) {
    case 'Resource':
      return `resource ${m.resource?.name}`;
    case 'ContainerResource':
      return `container ${m.containerResource?.container} resource ${m.containerResource?.name}`;
    case 'Pods':
      return `pods metric ${m.pods?.metric?.name}`;
    case 'Object':
      return `object metric ${m.object?.metric?.name} of ${m.object?.describedObject?.kind} ${m.object?.describedObject?.name}`;
    case 'External':
      return `external metric ${m.external?.metric?.name}`;
    default:
      return `metric of type ${m.type}`;
  }
};

/** An autoscaler that cannot do its job: its target is gone, or its metrics cannot be computed. */
export function detectHpaMisconfigured(
  hpa: V2HorizontalPodAutoscaler,
  t: DetectionThresholds,
  view: DetectionView,
): Finding[] {
  if (hpa.metadata?.deletionTimestamp) return [];
  const subject = subjectOf('HorizontalPodAutoscaler', hpa);
  const target = hpa.spec?.scaleTargetRef;
  const finding = (message: string, cause: AnomalyCause): Finding[] => [
    bounded({ signal: 'hpa_misconfigured', subject, message, sustainSeconds: t.hpaMisconfiguredSeconds, cause }),
  ];
  // Only a reference an Anomaly can carry: the API server does not check the kind's spelling.
  const targetRef =
    target && KIND.test(target.kind ?? '') && target.name
      ? { kind: target.kind, name: target.name, namespace: subject.namespace }
      : undefined;
  const group = target?.apiVersion?.includes('/') ? target.apiVersion.split('/')[0] : '';
  const cachedKind = target !== undefined && CACHED_TARGETS.has(target.kind) && (group === 'apps' || group === '');
  if (target && targetRef && cachedKind && !view.get(target.kind as WatchedKind, subject.namespace, target.name)) {
    return finding(
      `autoscaler ${subject.name} targets ${target.kind} ${target.name}, which does not exist in namespace ${subject.namespace}; fix spec.scaleTargetRef or create the ${target.kind}`,
      {
        code: 'scale_target_missing',
        message: `spec.scaleTargetRef names ${target.kind} ${target.name}, which does not exist`,
        object: targetRef,
      },
    );
  }
  const conditions = hpa.status?.conditions ?? [];
  const ableToScale = conditions.find((c) => c.type === 'AbleToScale');
  if (ableToScale?.status === 'False' && ableToScale.reason === 'FailedGetScale') {
    const said = clip(ableToScale.message ?? ableToScale.reason);
    return finding(
      `autoscaler ${subject.name} cannot read the scale of ${target?.kind} ${target?.name} (AbleToScale False, FailedGetScale): ${said}`,
      {
        code: 'scale_target_unreadable',
        message: `AbleToScale False (FailedGetScale) for spec.scaleTargetRef ${target?.kind} ${target?.name}: ${said}`,
        ...(targetRef ? { object: targetRef } : {}),
      },
    );
  }
  const active = conditions.find((c) => c.type === 'ScalingActive');
  if (active?.status === 'False' && METRIC_FAILURE.test(active.reason ?? '')) {
    const metrics = (hpa.spec?.metrics ?? []).filter(Boolean).map(describeMetric);
    const said = clip(active.message ?? '');
    const invalid = active.reason === 'InvalidMetricSourceType' || active.reason === 'InvalidSelector';
    return finding(
      `autoscaler ${subject.name} cannot compute its metrics (ScalingActive False, ${active.reason})${metrics.length > 0 ? ` for ${metrics.join(', ')}` : ''}: ${said}`,
      {
        code: invalid ? 'invalid_metric' : 'metrics_unavailable',
        message: `ScalingActive False (${active.reason}) in spec.metrics${metrics.length > 0 ? ` (${metrics.join(', ')})` : ''}: ${said}`,
      },
    );
  }
  return [];
}

// ─── CronJob schedules ───────────────────────────────────────────────────────────────────────────────────────────

/** Descriptors the CronJob controller accepts that cron-parser spells differently or not at all. */
const DESCRIPTORS: Record<string, string> = { '@midnight': '0 0 * * *' };
const EVERY = /^@every\s+(.+)$/;
const GO_DURATION = /(\d+(?:\.\d+)?)(h|ms|m|s)/g;
const UNIT_MS: Record<string, number> = { h: 3_600_000, m: 60_000, s: 1_000, ms: 1 };

/** A Go duration as `@every` takes it (1h30m, 90s); undefined when it is not one. */
const goDurationMs = (text: string): number | undefined => {
  const compact = text.trim();
  let total = 0;
  let consumed = '';
  for (const [whole, amount, unit] of compact.matchAll(GO_DURATION)) {
    total += Number(amount) * (UNIT_MS[unit ?? ''] ?? 0);
    consumed += whole;
  }
  return consumed === compact && total > 0 ? total : undefined;
};

/** Splits a legacy `CRON_TZ=Zone ` or `TZ=Zone ` prefix off the schedule. */
const zoneAndLine = (schedule: string, timeZone: string | undefined) => {
  const prefixed = /^(?:CRON_TZ|TZ)=(\S+)\s+(.*)$/.exec(schedule.trim());
  return prefixed
    ? { zone: prefixed[1] ?? 'UTC', line: prefixed[2] ?? '' }
    : { zone: timeZone ?? 'UTC', line: schedule.trim() };
};

export interface MissedRuns {
  /** The first run that should have started after the last one and did not. */
  readonly first: number;
  /** How many runs are missed up to the cut-off (at most `limit`). */
  readonly count: number;
  readonly zone: string;
}

/**
 * The runs of `schedule` after `after` and no later than `until` (epoch ms), as the CronJob controller computes them:
 * in `timeZone` (UTC when unset), and skipping a wall-clock time that a daylight-saving jump removes (the controller
 * does not start a 02:30 run on the night 02:00 becomes 03:00). Undefined when nothing is missed or the schedule
 * cannot be read (the API server refuses such schedules, so there is nothing to judge).
 */
export function missedRuns(
  schedule: string,
  timeZone: string | undefined,
  after: number,
  until: number,
  limit = 100,
): MissedRuns | undefined {
  if (until <= after) return undefined;
  const { zone, line } = zoneAndLine(schedule, timeZone);
  if (!DateTime.fromMillis(after, { zone }).isValid) return undefined;
  const every = EVERY.exec(line);
  if (every) {
    const step = goDurationMs(every[1] ?? '');
    if (step === undefined) return undefined;
    const step1s = Math.max(1000, Math.floor(step / 1000) * 1000);
    const count = Math.floor((until - after) / step1s);
    return count > 0 ? { first: after + step1s, count: Math.min(count, limit), zone } : undefined;
  }
  let expression: ReturnType<typeof CronExpressionParser.parse>;
  try {
    expression = CronExpressionParser.parse(DESCRIPTORS[line] ?? line, { currentDate: new Date(after), tz: zone });
  } catch {
    return undefined;
  }
  const hours = new Set(expression.fields.hour.values);
  const minutes = new Set(expression.fields.minute.values);
  let first: number | undefined;
  let count = 0;
  // Bounded: a schedule that never fires again, or one far behind, stops the walk.
  for (let step = 0; step < 10_000 && count < limit; step++) {
    let at: number;
    try {
      at = expression.next().getTime();
    } catch {
      break;
    }
    if (at > until) break;
    const local = DateTime.fromMillis(at, { zone });
    if (!hours.has(local.hour as never) || !minutes.has(local.minute as never)) continue;
    first ??= at;
    count += 1;
  }
  return first === undefined ? undefined : { first, count, zone };
}

const iso = (ms: number) => new Date(ms).toISOString();

const jobFinished = (job: V1Job) =>
  (job.status?.conditions ?? []).some((c) => (c.type === 'Complete' || c.type === 'Failed') && c.status === 'True');

/** The CronJob's Jobs that still run: the controller's status.active, checked against the Job cache when it has them. */
const runningJobs = (cronJob: V1CronJob, view: DetectionView): V1Job[] => {
  const namespace = cronJob.metadata?.namespace ?? '';
  const owned = view
    .list<V1Job>('Job', namespace)
    .filter((j) => j.metadata?.ownerReferences?.some((o) => o.kind === 'CronJob' && o.name === cronJob.metadata?.name));
  const listed = (cronJob.status?.active ?? []).map((ref) => ref?.name ?? '').filter(Boolean);
  const byName = new Map(owned.map((j) => [j.metadata?.name ?? '', j]));
  const fromStatus = listed
    .map((name) => byName.get(name) ?? ({ metadata: { name, namespace } } as V1Job))
    .filter((j) => !jobFinished(j));
  const extra = owned.filter((j) => !listed.includes(j.metadata?.name ?? '') && !jobFinished(j));
  return [...fromStatus, ...extra];
};

/**
 * When the spec was last edited (resumed, rescheduled), from the field managers' timestamps; the CronJob controller
 * writes only status. Runs due before an edit are not held against the new spec: the ones a suspension skipped
 * were skipped on purpose. A manager's timestamp is its latest write of any field, so this errs towards silence.
 */
const lastSpecEdit = (cronJob: V1CronJob): number =>
  Math.max(
    0,
    ...(cronJob.metadata?.managedFields ?? [])
      .filter((m) => m.subresource !== 'status' && m.time && Object.hasOwn(m.fieldsV1 ?? {}, 'f:spec'))
      .map((m) => new Date(m.time ?? 0).getTime())
      .filter((time) => !Number.isNaN(time)),
  );

const CRON_REASONS = new Set(['FailedCreate', 'FailedNeedsStart', 'TooManyMissedTimes', 'UnexpectedJob']);

/**
 * A CronJob whose run is overdue: a scheduled time later than its last run, its creation and its last spec edit has passed by more
 * than its startingDeadlineSeconds plus a grace, with no Job started for it. Reported only once it is missed (no
 * finding before): the controller looks at CronJobs again when their Jobs or Events change and at its periodic
 * recheck, so a run missed silently is still found.
 */
export function detectCronJobMissed(cronJob: V1CronJob, t: DetectionThresholds, view: DetectionView): Finding[] {
  const schedule = cronJob.spec?.schedule;
  if (!schedule || cronJob.spec?.suspend || cronJob.metadata?.deletionTimestamp) return [];
  const created = new Date(cronJob.metadata?.creationTimestamp ?? Number.NaN).getTime();
  const last = cronJob.status?.lastScheduleTime ? new Date(cronJob.status.lastScheduleTime).getTime() : Number.NaN;
  const after = Math.max(Number.isNaN(created) ? 0 : created, Number.isNaN(last) ? 0 : last, lastSpecEdit(cronJob));
  if (after === 0) return [];
  const slackMs = (t.cronJobMissedGraceSeconds + Math.max(0, cronJob.spec?.startingDeadlineSeconds ?? 0)) * 1000;
  const missed = missedRuns(schedule, cronJob.spec?.timeZone, after, view.now - slackMs);
  if (!missed) return [];

  const subject = subjectOf('CronJob', cronJob);
  const running = runningJobs(cronJob, view);
  const lastText = Number.isNaN(last) ? 'it has never run' : `its last run was scheduled at ${iso(last)}`;
  const runs = missed.count > 1 ? ` (${missed.count >= 100 ? '100 or more' : missed.count} runs missed)` : '';
  const head = `schedule "${schedule}" (${missed.zone}) should have started a Job at ${iso(missed.first)}${runs}; ${lastText}`;
  let cause: AnomalyCause;
  const blocking = running[0];
  if (cronJob.spec?.concurrencyPolicy === 'Forbid' && blocking) {
    const since = blocking.status?.startTime ? ` since ${new Date(blocking.status.startTime).toISOString()}` : '';
    cause = {
      code: 'previous_run_active',
      message: `concurrencyPolicy Forbid and Job ${blocking.metadata?.name} is still running${since}; it must finish (or spec.concurrencyPolicy change) before the next run can start`,
      object: { kind: 'Job', name: blocking.metadata?.name ?? '', namespace: subject.namespace },
    };
  } else {
    const event = latestEvent(view.eventsFor('CronJob', subject.namespace, subject.name), CRON_REASONS);
    cause = event
      ? {
          code: event.reason === 'FailedCreate' ? 'job_creation_failed' : 'run_not_started',
          message: `the CronJob controller said ${event.reason}: ${clip(event.message ?? '')}`,
        }
      : {
          code: 'run_not_started',
          message:
            'no Job was started and the CronJob controller gave no reason; check that kube-controller-manager is running',
        };
  }
  return [
    bounded({ signal: 'cronjob_missed', subject, message: `${head}: ${cause.message}`, sustainSeconds: 0, cause }),
  ];
}

// ─── Dependents ──────────────────────────────────────────────────────────────────────────────────────────────────

/** HPAs of the namespace that scale this object. */
const hpasTargeting = (kind: string) => (view: DetectionView, namespace: string, name: string) =>
  view
    .list<V2HorizontalPodAutoscaler>('HorizontalPodAutoscaler', namespace)
    .filter((h) => h.spec?.scaleTargetRef?.kind === kind && h.spec.scaleTargetRef.name === name)
    .map((h) => detectionKey('HorizontalPodAutoscaler', namespace, h.metadata?.name ?? ''));

/** PersistentVolumeClaims, autoscaler targets and CronJob schedules. */
export const storageDetectors: DetectorSet = {
  detectors: {
    PersistentVolumeClaim: detectPvcPending,
    HorizontalPodAutoscaler: detectHpaMisconfigured,
    CronJob: detectCronJobMissed,
  },
  dependents: {
    // The volume controller's Events carry the reason a claim waits; the CronJob controller's say why a run did not start.
    Event: (view, namespace, name) => {
      const about = view.get<CoreV1Event>('Event', namespace, name)?.involvedObject;
      if (about?.kind === 'PersistentVolumeClaim' || about?.kind === 'CronJob')
        return [detectionKey(about.kind, about.namespace ?? namespace, about.name ?? '')];
      return [];
    },
    StorageClass: (view, _namespace, name) =>
      view
        .list<V1PersistentVolumeClaim>('PersistentVolumeClaim')
        .filter((c) => (c.spec?.storageClassName ?? c.metadata?.annotations?.[BETA_CLASS]) === name)
        .map((c) => detectionKey('PersistentVolumeClaim', c.metadata?.namespace ?? '', c.metadata?.name ?? '')),
    Deployment: hpasTargeting('Deployment'),
    StatefulSet: hpasTargeting('StatefulSet'),
    ReplicaSet: hpasTargeting('ReplicaSet'),
    Job: (view, namespace, name) =>
      (view.get<V1Job>('Job', namespace, name)?.metadata?.ownerReferences ?? [])
        .filter((o) => o.kind === 'CronJob')
        .map((o) => detectionKey('CronJob', namespace, o.name)),
    Pod: (view, namespace, name) => {
      const pod = view.get<V1Pod>('Pod', namespace, name);
      return pod ? claimNamesOf(pod).map((claim) => detectionKey('PersistentVolumeClaim', namespace, claim)) : [];
    },
  },
};
