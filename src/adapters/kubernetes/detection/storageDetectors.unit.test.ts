import type {
  CoreV1Event,
  V1CronJob,
  V1Deployment,
  V1Job,
  V1PersistentVolumeClaim,
  V1Pod,
  V1ReplicaSet,
  V1StorageClass,
  V2HorizontalPodAutoscaler,
  V2HorizontalPodAutoscalerCondition,
} from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { trimForCache } from '../clusterWatch.ts';
import { staticView } from './detectionView.ts';
import { DefaultThresholds } from './detectors.ts';
import {
  detectCronJobMissed,
  detectHpaMisconfigured,
  detectPvcPending,
  missedRuns,
  storageDetectors,
} from './storageDetectors.ts';

const t = { ...DefaultThresholds, cronJobMissedGraceSeconds: 30 };
const ns = 'shop';

// ─── PersistentVolumeClaims ──────────────────────────────────────────────────────────────────────────────────────

const claim = (spec: V1PersistentVolumeClaim['spec'] = {}, extra: Partial<V1PersistentVolumeClaim> = {}) =>
  ({
    metadata: { name: 'data', namespace: ns, ...extra.metadata },
    spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '10Gi' } }, ...spec },
    status: { phase: 'Pending', ...extra.status },
  }) as V1PersistentVolumeClaim;
const storageClass = (name: string, extra: Partial<V1StorageClass> = {}): V1StorageClass => ({
  metadata: { name },
  provisioner: 'ebs.csi.aws.com',
  ...extra,
});
const eventAbout = (kind: string, name: string, reason: string, message: string, at = '2026-01-01T00:00:00Z') =>
  ({
    metadata: { name: `${name}.${reason}.${at}`, namespace: ns },
    involvedObject: { kind, name, namespace: ns },
    reason,
    message,
    type: 'Warning',
    lastTimestamp: new Date(at),
  }) as CoreV1Event;

describe('pvc_pending', () => {
  it('is silent for a bound claim, a claim being deleted, and a WaitForFirstConsumer claim no pod uses yet', () => {
    const wffc = storageClass('local-wffc', { volumeBindingMode: 'WaitForFirstConsumer' });
    const view = staticView({ StorageClass: [wffc] });
    expect(detectPvcPending(claim({}, { status: { phase: 'Bound' } }), t, view)).toEqual([]);
    expect(
      detectPvcPending(
        claim({ storageClassName: 'missing' }, { metadata: { deletionTimestamp: new Date() } as never }),
        t,
        view,
      ),
    ).toEqual([]);
    expect(detectPvcPending(claim({ storageClassName: 'local-wffc' }), t, view)).toEqual([]);
  });

  it('a WaitForFirstConsumer claim the scheduler has placed on a node is waiting for its provisioner', () => {
    const wffc = storageClass('local-wffc', { volumeBindingMode: 'WaitForFirstConsumer' });
    const placed = claim(
      { storageClassName: 'local-wffc' },
      { metadata: { annotations: { 'volume.kubernetes.io/selected-node': 'node-1' } } as never },
    );
    const [finding] = detectPvcPending(placed, t, staticView({ StorageClass: [wffc] }));
    expect(finding?.cause?.code).toBe('waiting_for_provisioner');
    expect(finding?.message).toContain('ebs.csi.aws.com');
  });

  it('names a StorageClass that does not exist, from the cache even before any Event, and lists the ones that do', () => {
    const view = staticView({ StorageClass: [storageClass('standard'), storageClass('fast')] });
    const [finding, ...more] = detectPvcPending(claim({ storageClassName: 'fast-ssd' }), t, view);
    expect(more).toEqual([]);
    expect(finding).toMatchObject({
      signal: 'pvc_pending',
      subject: { kind: 'PersistentVolumeClaim', name: 'data', namespace: ns },
      sustainSeconds: t.pvcPendingSeconds,
      cause: { code: 'storage_class_missing', object: { kind: 'StorageClass', name: 'fast-ssd', namespace: '' } },
      workload: { kind: 'PersistentVolumeClaim', name: 'data', namespace: ns },
    });
    expect(finding?.message).toContain('spec.storageClassName "fast-ssd"');
    expect(finding?.message).toContain('one of: fast, standard');
  });

  it('reads the legacy storage-class annotation as the class name', () => {
    const legacy = claim(
      {},
      { metadata: { annotations: { 'volume.beta.kubernetes.io/storage-class': 'old' } } as never },
    );
    expect(detectPvcPending(legacy, t, staticView({}))[0]?.cause?.code).toBe('storage_class_missing');
  });

  it('with no class and no matching volume, says so and quotes the FailedBinding Event', () => {
    const event = eventAbout(
      'PersistentVolumeClaim',
      'data',
      'FailedBinding',
      'no persistent volumes available for this claim and no storage class is set',
    );
    const [finding] = detectPvcPending(claim(), t, staticView({ Event: [event] }));
    expect(finding?.cause?.code).toBe('no_matching_volume');
    expect(finding?.cause?.object).toBeUndefined();
    expect(finding?.message).toContain('spec.storageClassName is not set');
    expect(finding?.message).toContain('10Gi ReadWriteOnce');
    expect(finding?.message).toContain('no persistent volumes available for this claim');
  });

  it('tells an explicit empty class and a requested volume apart from an unset class', () => {
    const [empty] = detectPvcPending(claim({ storageClassName: '' }), t, staticView({}));
    expect(empty?.cause?.code).toBe('no_matching_volume');
    expect(empty?.message).toContain('spec.storageClassName is "" (no dynamic provisioning)');
    const [named] = detectPvcPending(claim({ storageClassName: '', volumeName: 'pv-7' }), t, staticView({}));
    expect(named?.message).toContain('spec.volumeName asks for PersistentVolume pv-7');
    // A default class exists (the volume controller will assign it): no claim that there is none.
    const fallback = storageClass('standard', {
      metadata: { name: 'standard', annotations: { 'storageclass.kubernetes.io/is-default-class': 'true' } },
    });
    const [unset] = detectPvcPending(claim(), t, staticView({ StorageClass: [fallback] }));
    expect(unset?.message).toContain('spec.storageClassName is not set and no PersistentVolume matches');
  });

  it('reads Events only about this claim: the same name on another kind or namespace is not its reason', () => {
    const onPod = eventAbout('Pod', 'data', 'ProvisioningFailed', 'something about a pod');
    const elsewhere = { ...eventAbout('PersistentVolumeClaim', 'data', 'ProvisioningFailed', 'other namespace') };
    elsewhere.involvedObject = { ...elsewhere.involvedObject, namespace: 'other' };
    elsewhere.metadata = { ...elsewhere.metadata, namespace: 'other' };
    const view = staticView({ StorageClass: [storageClass('gp3')], Event: [onPod, elsewhere] });
    const [finding] = detectPvcPending(claim({ storageClassName: 'gp3' }), t, view);
    expect(finding?.cause?.code).toBe('waiting_for_provisioner');
    expect(finding?.message).not.toContain('pod');
  });

  it('of two Events in the same second, takes the one listed last (the newer)', () => {
    const view = staticView({
      StorageClass: [storageClass('gp3')],
      Event: [
        eventAbout('PersistentVolumeClaim', 'data', 'ExternalProvisioning', 'waiting', '2026-01-01T00:01:00Z'),
        eventAbout('PersistentVolumeClaim', 'data', 'ProvisioningFailed', 'disk quota', '2026-01-01T00:01:00Z'),
      ],
    });
    expect(detectPvcPending(claim({ storageClassName: 'gp3' }), t, view)[0]?.cause?.code).toBe('provisioning_failed');
  });

  it('reports a provisioning failure with the provisioner and the message of the newest Event', () => {
    const view = staticView({
      StorageClass: [storageClass('gp3')],
      Event: [
        eventAbout('PersistentVolumeClaim', 'data', 'ExternalProvisioning', 'waiting', '2026-01-01T00:00:00Z'),
        eventAbout(
          'PersistentVolumeClaim',
          'data',
          'ProvisioningFailed',
          'quota exceeded for volumes',
          '2026-01-01T00:01:00Z',
        ),
      ],
    });
    const [finding] = detectPvcPending(claim({ storageClassName: 'gp3' }), t, view);
    expect(finding?.cause).toMatchObject({
      code: 'provisioning_failed',
      object: { kind: 'StorageClass', name: 'gp3' },
    });
    expect(finding?.message).toContain('provisioner ebs.csi.aws.com');
    expect(finding?.message).toContain('quota exceeded for volumes');
  });

  it('a class without a provisioner waits for a hand-made PersistentVolume, not for a provisioner', () => {
    const local = storageClass('manual', { provisioner: 'kubernetes.io/no-provisioner' });
    const [finding] = detectPvcPending(claim({ storageClassName: 'manual' }), t, staticView({ StorageClass: [local] }));
    expect(finding?.cause?.code).toBe('no_matching_volume');
    expect(finding?.message).toContain('no PersistentVolume of StorageClass "manual"');
    // Local volumes bind on first use: once the scheduler picked a node, the volume must be on that node.
    const localWait = storageClass('local', {
      provisioner: 'kubernetes.io/no-provisioner',
      volumeBindingMode: 'WaitForFirstConsumer',
    });
    const placed = claim(
      { storageClassName: 'local' },
      { metadata: { annotations: { 'volume.kubernetes.io/selected-node': 'node-3' } } as never },
    );
    const [onNode] = detectPvcPending(placed, t, staticView({ StorageClass: [localWait] }));
    expect(onNode?.message).toContain('no PersistentVolume of StorageClass "local" on node node-3 matches');
  });

  it('joins the Issue of the Deployment whose pod mounts the claim', () => {
    const rs: V1ReplicaSet = {
      metadata: {
        name: 'db-7c9',
        namespace: ns,
        ownerReferences: [{ apiVersion: 'apps/v1', kind: 'Deployment', name: 'db', uid: 'd', controller: true }],
      },
    };
    const pod: V1Pod = {
      metadata: {
        name: 'db-7c9-x1',
        namespace: ns,
        ownerReferences: [{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'db-7c9', uid: 'r', controller: true }],
      },
      spec: { containers: [], volumes: [{ name: 'v', persistentVolumeClaim: { claimName: 'data' } }] },
    };
    const unrelated: V1Pod = {
      metadata: { name: 'a-other', namespace: ns },
      spec: { containers: [], volumes: [{ name: 'v', persistentVolumeClaim: { claimName: 'other' } }] },
    };
    const [finding] = detectPvcPending(claim(), t, staticView({ Pod: [unrelated, pod], ReplicaSet: [rs] }));
    expect(finding?.workload).toEqual({ kind: 'Deployment', name: 'db', namespace: ns });
    expect(finding?.message).toContain('pod db-7c9-x1 waits for it');
  });

  it("with no pod mounting it yet, follows its own owners: a StatefulSet, or an ephemeral volume's pod", () => {
    const kept = claim(
      { storageClassName: 'nope' },
      {
        metadata: {
          name: 'data-pg-1',
          ownerReferences: [{ apiVersion: 'apps/v1', kind: 'StatefulSet', name: 'pg', uid: 's', controller: true }],
        } as never,
      },
    );
    expect(detectPvcPending(kept, t, staticView({}))[0]?.workload).toEqual({
      kind: 'StatefulSet',
      name: 'pg',
      namespace: ns,
    });
    const rs: V1ReplicaSet = {
      metadata: {
        name: 'web-5d',
        namespace: ns,
        ownerReferences: [{ apiVersion: 'apps/v1', kind: 'Deployment', name: 'web', uid: 'd', controller: true }],
      },
    };
    // A pod being deleted no longer mounts it, but it still owns its ephemeral claim.
    const leaving: V1Pod = {
      metadata: {
        name: 'web-5d-q',
        namespace: ns,
        deletionTimestamp: new Date(),
        ownerReferences: [{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'web-5d', uid: 'r', controller: true }],
      },
      spec: { containers: [], volumes: [{ name: 'scratch', ephemeral: {} }] },
    };
    const ephemeral = claim(
      { storageClassName: 'nope' },
      {
        metadata: {
          name: 'web-5d-q-scratch',
          ownerReferences: [{ apiVersion: 'v1', kind: 'Pod', name: 'web-5d-q', uid: 'p', controller: true }],
        } as never,
      },
    );
    expect(detectPvcPending(ephemeral, t, staticView({ Pod: [leaving], ReplicaSet: [rs] }))[0]?.workload).toEqual({
      kind: 'Deployment',
      name: 'web',
      namespace: ns,
    });
  });

  it('joins the StatefulSet whose pod mounts its volume claim template', () => {
    const pod: V1Pod = {
      metadata: {
        name: 'pg-0',
        namespace: ns,
        ownerReferences: [{ apiVersion: 'apps/v1', kind: 'StatefulSet', name: 'pg', uid: 's', controller: true }],
      },
      spec: { containers: [], volumes: [{ name: 'data', persistentVolumeClaim: { claimName: 'data-pg-0' } }] },
    };
    const pvc = claim({ storageClassName: 'nope' }, { metadata: { name: 'data-pg-0' } as never });
    expect(detectPvcPending(pvc, t, staticView({ Pod: [pod] }))[0]?.workload).toEqual({
      kind: 'StatefulSet',
      name: 'pg',
      namespace: ns,
    });
  });
});

// ─── HorizontalPodAutoscalers ────────────────────────────────────────────────────────────────────────────────────

const target: V1Deployment = { metadata: { name: 'web', namespace: ns }, spec: { replicas: 2 } as never };
const hpa = (
  conditions: V2HorizontalPodAutoscalerCondition[] = [],
  targetName = 'web',
  kind = 'Deployment',
): V2HorizontalPodAutoscaler => ({
  metadata: { name: 'web-hpa', namespace: ns },
  spec: {
    scaleTargetRef: { apiVersion: 'apps/v1', kind, name: targetName },
    minReplicas: 1,
    maxReplicas: 5,
    metrics: [{ type: 'Resource', resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: 60 } } }],
  },
  status: { desiredReplicas: 2, currentReplicas: 2, conditions },
});
const condition = (type: string, status: string, reason: string, message = '') => ({ type, status, reason, message });
const healthy = [
  condition('AbleToScale', 'True', 'ReadyForNewScale'),
  condition('ScalingActive', 'True', 'ValidMetricFound'),
];

describe('hpa_misconfigured', () => {
  it('is silent when the target exists and the metrics are computed', () => {
    expect(detectHpaMisconfigured(hpa(healthy), t, staticView({ Deployment: [target] }))).toEqual([]);
  });

  it('is silent for an autoscaler whose target was scaled to zero (ScalingDisabled is a decision)', () => {
    const zero = hpa([
      condition('AbleToScale', 'True', 'SucceededGetScale'),
      condition(
        'ScalingActive',
        'False',
        'ScalingDisabled',
        'scaling is disabled since the replica count of the target is zero',
      ),
    ]);
    expect(detectHpaMisconfigured(zero, t, staticView({ Deployment: [target] }))).toEqual([]);
  });

  it('names a target missing from the caches, in its namespace only', () => {
    const elsewhere = { ...target, metadata: { name: 'web', namespace: 'other' } };
    const [finding] = detectHpaMisconfigured(hpa([], 'web'), t, staticView({ Deployment: [elsewhere] }));
    expect(finding).toMatchObject({
      signal: 'hpa_misconfigured',
      subject: { kind: 'HorizontalPodAutoscaler', name: 'web-hpa', namespace: ns },
      sustainSeconds: t.hpaMisconfiguredSeconds,
      cause: { code: 'scale_target_missing', object: { kind: 'Deployment', name: 'web', namespace: ns } },
    });
    expect(finding?.message).toContain('targets Deployment web, which does not exist');
    expect(finding?.message).toContain('spec.scaleTargetRef');
  });

  it('checks StatefulSet and ReplicaSet targets too, and leaves other kinds to their conditions', () => {
    expect(detectHpaMisconfigured(hpa(healthy, 'pg', 'StatefulSet'), t, staticView({}))[0]?.cause?.code).toBe(
      'scale_target_missing',
    );
    expect(detectHpaMisconfigured(hpa(healthy, 'rs', 'ReplicaSet'), t, staticView({}))[0]?.cause?.code).toBe(
      'scale_target_missing',
    );
    const rollout = hpa(healthy, 'web', 'Rollout');
    if (rollout.spec) rollout.spec.scaleTargetRef.apiVersion = 'argoproj.io/v1alpha1';
    expect(detectHpaMisconfigured(rollout, t, staticView({}))).toEqual([]);
  });

  it('reports a target whose scale cannot be read, with the condition message', () => {
    const conditions = [
      condition(
        'AbleToScale',
        'False',
        'FailedGetScale',
        "the HPA controller was unable to get the target's current scale: forbidden",
      ),
    ];
    const [finding] = detectHpaMisconfigured(hpa(conditions), t, staticView({ Deployment: [target] }));
    expect(finding?.cause?.code).toBe('scale_target_unreadable');
    expect(finding?.message).toContain('FailedGetScale');
    expect(finding?.message).toContain('forbidden');
  });

  it('names an oddly spelled target kind without making it the object to fix', () => {
    const odd = hpa(
      [condition('AbleToScale', 'False', 'FailedGetScale', 'no matches for kind "deployment"')],
      'web',
      'deployment',
    );
    const [finding] = detectHpaMisconfigured(odd, t, staticView({ Deployment: [target] }));
    expect(finding?.cause?.code).toBe('scale_target_unreadable');
    expect(finding?.cause?.object).toBeUndefined();
    expect(finding?.message).toContain('deployment web');
  });

  it.each([
    ['FailedGetResourceMetric', 'metrics_unavailable'],
    ['FailedGetPodsMetric', 'metrics_unavailable'],
    ['FailedGetExternalMetric', 'metrics_unavailable'],
    ['FailedGetContainerResourceMetric', 'metrics_unavailable'],
    ['InvalidMetricSourceType', 'invalid_metric'],
  ])('reports ScalingActive False (%s) naming the metric', (reason, code) => {
    const conditions = [
      condition('AbleToScale', 'True', 'SucceededGetScale'),
      condition(
        'ScalingActive',
        'False',
        reason,
        'the HPA was unable to compute the replica count: no metrics returned',
      ),
    ];
    const [finding] = detectHpaMisconfigured(hpa(conditions), t, staticView({ Deployment: [target] }));
    expect(finding?.cause?.code).toBe(code);
    expect(finding?.message).toContain(reason);
    expect(finding?.message).toContain('resource cpu');
    expect(finding?.message).toContain('unable to compute the replica count');
  });
});

// ─── CronJob schedules ───────────────────────────────────────────────────────────────────────────────────────────

const at = (iso: string) => Date.parse(iso);
const cronJob = (spec: Partial<V1CronJob['spec']> = {}, status: V1CronJob['status'] = {}): V1CronJob =>
  ({
    metadata: { name: 'report', namespace: ns, creationTimestamp: new Date('2026-01-01T00:00:30Z') },
    spec: { schedule: '*/5 * * * *', jobTemplate: { spec: { template: {} } }, ...spec },
    status,
  }) as V1CronJob;
const job = (name: string, done = false): V1Job => ({
  metadata: {
    name,
    namespace: ns,
    ownerReferences: [{ apiVersion: 'batch/v1', kind: 'CronJob', name: 'report', uid: 'c', controller: true }],
  },
  status: {
    startTime: new Date('2026-01-01T00:05:01Z'),
    ...(done ? { conditions: [{ type: 'Complete', status: 'True' }] } : {}),
  },
});

describe('cronjob_missed', () => {
  const ran = { lastScheduleTime: new Date('2026-01-01T00:05:00Z') };

  it('is silent while the next run is not yet due past the grace, and once it has run', () => {
    // 00:10 is due, but only 20 s ago: inside the 30 s grace.
    expect(detectCronJobMissed(cronJob({}, ran), t, staticView({}, at('2026-01-01T00:10:20Z')))).toEqual([]);
    const ranAgain = { lastScheduleTime: new Date('2026-01-01T00:10:00Z') };
    expect(detectCronJobMissed(cronJob({}, ranAgain), t, staticView({}, at('2026-01-01T00:14:59Z')))).toEqual([]);
  });

  it('is silent for a suspended CronJob and one being deleted', () => {
    const now = at('2026-01-01T03:00:00Z');
    expect(detectCronJobMissed(cronJob({ suspend: true }, ran), t, staticView({}, now))).toEqual([]);
    const deleting = cronJob({}, ran);
    deleting.metadata = { ...deleting.metadata, deletionTimestamp: new Date() };
    expect(detectCronJobMissed(deleting, t, staticView({}, now))).toEqual([]);
  });

  it('does not count runs before the CronJob existed', () => {
    // Created 00:00:30, never ran; the first run is 00:05, now 00:05:20 is inside the grace.
    expect(detectCronJobMissed(cronJob(), t, staticView({}, at('2026-01-01T00:05:20Z')))).toEqual([]);
    const [finding] = detectCronJobMissed(cronJob(), t, staticView({}, at('2026-01-01T00:05:31Z')));
    expect(finding?.message).toContain('at 2026-01-01T00:05:00.000Z');
    expect(finding?.message).toContain('it has never run');
  });

  it('reports the first missed run past the grace, with the schedule and the count', () => {
    const [finding, ...more] = detectCronJobMissed(cronJob({}, ran), t, staticView({}, at('2026-01-01T00:20:31Z')));
    expect(more).toEqual([]);
    expect(finding).toMatchObject({
      signal: 'cronjob_missed',
      subject: { kind: 'CronJob', name: 'report', namespace: ns },
      sustainSeconds: 0,
      cause: { code: 'run_not_started' },
    });
    expect(finding?.message).toContain(
      'schedule "*/5 * * * *" (UTC) should have started a Job at 2026-01-01T00:10:00.000Z',
    );
    expect(finding?.message).toContain('(3 runs missed)');
    expect(finding?.message).toContain('last run was scheduled at 2026-01-01T00:05:00.000Z');
  });

  it('adds startingDeadlineSeconds to the grace', () => {
    const late = cronJob({ startingDeadlineSeconds: 120 }, ran);
    expect(detectCronJobMissed(late, t, staticView({}, at('2026-01-01T00:12:29Z')))).toEqual([]);
    expect(detectCronJobMissed(late, t, staticView({}, at('2026-01-01T00:12:31Z')))).toHaveLength(1);
  });

  it('names the Job still running under concurrencyPolicy Forbid', () => {
    const forbid = cronJob(
      { concurrencyPolicy: 'Forbid' },
      { ...ran, active: [{ kind: 'Job', name: 'report-29000005', namespace: ns }] },
    );
    const view = staticView(
      { Job: [job('report-29000000', true), job('report-29000005')] },
      at('2026-01-01T00:11:00Z'),
    );
    const [finding] = detectCronJobMissed(forbid, t, view);
    expect(finding?.cause).toMatchObject({
      code: 'previous_run_active',
      object: { kind: 'Job', name: 'report-29000005', namespace: ns },
    });
    expect(finding?.message).toContain('concurrencyPolicy Forbid and Job report-29000005 is still running');
  });

  it('quotes the CronJob controller when it failed to create the Job', () => {
    const event = eventAbout(
      'CronJob',
      'report',
      'FailedCreate',
      'Error creating job: exceeded quota: jobs',
      '2026-01-01T00:10:01Z',
    );
    const [finding] = detectCronJobMissed(
      cronJob({}, ran),
      t,
      staticView({ Event: [event] }, at('2026-01-01T00:11:00Z')),
    );
    expect(finding?.cause?.code).toBe('job_creation_failed');
    expect(finding?.message).toContain('exceeded quota: jobs');
  });

  it('honours spec.timeZone', () => {
    // 09:00 in Berlin (UTC+1 in January) is 08:00 UTC.
    const daily = cronJob(
      { schedule: '0 9 * * *', timeZone: 'Europe/Berlin' },
      { lastScheduleTime: new Date('2026-01-01T08:00:00Z') },
    );
    expect(detectCronJobMissed(daily, t, staticView({}, at('2026-01-02T08:00:29Z')))).toEqual([]);
    const [finding] = detectCronJobMissed(daily, t, staticView({}, at('2026-01-02T08:00:31Z')));
    expect(finding?.message).toContain('(Europe/Berlin) should have started a Job at 2026-01-02T08:00:00.000Z');
  });

  it('does not hold the runs a suspension skipped against a CronJob just resumed', () => {
    // Suspended at 00:07, resumed at 01:00:10; the controller has not started the next run yet.
    const resumed = cronJob({}, ran);
    resumed.metadata = {
      ...resumed.metadata,
      managedFields: [
        {
          manager: 'kubectl-create',
          operation: 'Update',
          time: new Date('2026-01-01T00:00:30Z'),
          fieldsV1: { 'f:spec': {} },
        },
        {
          manager: 'kubectl-patch',
          operation: 'Update',
          time: new Date('2026-01-01T01:00:10Z'),
          fieldsV1: { 'f:spec': { 'f:suspend': {} } },
        },
        // The CronJob controller's own writes are status, and move nothing.
        {
          manager: 'kube-controller-manager',
          operation: 'Update',
          subresource: 'status',
          time: new Date('2026-01-01T01:00:20Z'),
          fieldsV1: { 'f:status': {} },
        },
      ],
    };
    expect(detectCronJobMissed(resumed, t, staticView({}, at('2026-01-01T01:00:40Z')))).toEqual([]);
    // The informer cache keeps only the sections each manager owns, which is all this needs.
    const cached = trimForCache(structuredClone(resumed));
    expect(cached.metadata?.managedFields?.[1]?.fieldsV1).toEqual({ 'f:spec': {} });
    expect(detectCronJobMissed(cached, t, staticView({}, at('2026-01-01T01:00:40Z')))).toEqual([]);
    // A run due after the resume and still not started is missed.
    const [finding] = detectCronJobMissed(resumed, t, staticView({}, at('2026-01-01T01:05:31Z')));
    expect(finding?.message).toContain('should have started a Job at 2026-01-01T01:05:00.000Z');
  });

  it('is silent for a schedule it cannot read', () => {
    expect(
      detectCronJobMissed(cronJob({ schedule: 'every tuesday' }, ran), t, staticView({}, at('2026-02-01T00:00:00Z'))),
    ).toEqual([]);
    expect(
      detectCronJobMissed(
        cronJob({ schedule: '0 * * * *', timeZone: 'Mars/Olympus' }, ran),
        t,
        staticView({}, at('2026-02-01T00:00:00Z')),
      ),
    ).toEqual([]);
  });
});

describe('missedRuns', () => {
  it('skips a run whose wall-clock time a spring-forward jump removes, as the CronJob controller does', () => {
    // New York, 8 March 2026: 02:00 EST becomes 03:00 EDT, so 02:30 does not happen that night.
    const lastRun = at('2026-03-07T07:30:00Z'); // 02:30 EST on the 7th
    expect(missedRuns('30 2 * * *', 'America/New_York', lastRun, at('2026-03-09T06:00:00Z'))).toBeUndefined();
    expect(missedRuns('30 2 * * *', 'America/New_York', lastRun, at('2026-03-09T06:31:00Z'))).toEqual({
      first: at('2026-03-09T06:30:00Z'), // 02:30 EDT on the 9th
      count: 1,
      zone: 'America/New_York',
    });
  });

  it('counts a fall-back night once an hour later in UTC', () => {
    // 1 November 2026: 02:00 EDT becomes 01:00 EST; 03:15 local is 08:15 UTC that day, not 07:15.
    const lastRun = at('2026-10-31T07:15:00Z');
    expect(missedRuns('15 3 * * *', 'America/New_York', lastRun, at('2026-11-01T08:14:00Z'))).toBeUndefined();
    expect(missedRuns('15 3 * * *', 'America/New_York', lastRun, at('2026-11-01T08:16:00Z'))?.first).toBe(
      at('2026-11-01T08:15:00Z'),
    );
  });

  it('reads the legacy CRON_TZ prefix, descriptors and @every', () => {
    expect(
      missedRuns('CRON_TZ=Asia/Tokyo 0 9 * * *', undefined, at('2026-01-01T00:00:00Z'), at('2026-01-02T01:00:00Z')),
    ).toEqual({
      first: at('2026-01-02T00:00:00Z'),
      count: 1,
      zone: 'Asia/Tokyo',
    });
    expect(missedRuns('@midnight', undefined, at('2026-01-01T00:00:00Z'), at('2026-01-03T00:00:00Z'))?.count).toBe(2);
    expect(missedRuns('@hourly', undefined, at('2026-01-01T00:00:00Z'), at('2026-01-01T03:30:00Z'))?.count).toBe(3);
    expect(missedRuns('@every 1h30m', undefined, at('2026-01-01T00:00:00Z'), at('2026-01-01T03:00:00Z'))).toEqual({
      first: at('2026-01-01T01:30:00Z'),
      count: 2,
      zone: 'UTC',
    });
    expect(missedRuns('@every soon', undefined, 0, at('2026-01-01T03:00:00Z'))).toBeUndefined();
  });

  it('stops counting at the limit for a CronJob far behind', () => {
    expect(missedRuns('* * * * *', undefined, at('2026-01-01T00:00:00Z'), at('2026-01-02T00:00:00Z'))?.count).toBe(100);
  });
});

// ─── Dependents ──────────────────────────────────────────────────────────────────────────────────────────────────

describe('storage dependents', () => {
  const deps = storageDetectors.dependents ?? {};

  it('an Event about a claim or a CronJob re-checks that object, and nothing for other kinds', () => {
    const view = staticView({
      Event: [
        eventAbout('PersistentVolumeClaim', 'data', 'FailedBinding', 'x'),
        eventAbout('CronJob', 'report', 'JobAlreadyActive', 'y'),
        eventAbout('Pod', 'web-1', 'BackOff', 'z'),
      ],
    });
    const keys = view.list<CoreV1Event>('Event').map((e) => deps.Event?.(view, ns, e.metadata?.name ?? ''));
    expect(keys).toEqual([['PersistentVolumeClaim/shop/data'], ['CronJob/shop/report'], []]);
  });

  it('a StorageClass re-checks the claims that name it, in every namespace', () => {
    const view = staticView({
      PersistentVolumeClaim: [
        claim({ storageClassName: 'gp3' }),
        { ...claim({ storageClassName: 'gp3' }), metadata: { name: 'logs', namespace: 'ops' } },
        { ...claim({ storageClassName: 'other' }), metadata: { name: 'x', namespace: ns } },
      ],
    });
    expect(deps.StorageClass?.(view, '', 'gp3')).toEqual([
      'PersistentVolumeClaim/shop/data',
      'PersistentVolumeClaim/ops/logs',
    ]);
  });

  it('a workload re-checks the autoscalers that target it by kind and name', () => {
    const view = staticView({
      HorizontalPodAutoscaler: [
        hpa([], 'web'),
        { ...hpa([], 'web', 'StatefulSet'), metadata: { name: 'sts-hpa', namespace: ns } },
      ],
    });
    expect(deps.Deployment?.(view, ns, 'web')).toEqual(['HorizontalPodAutoscaler/shop/web-hpa']);
    expect(deps.StatefulSet?.(view, ns, 'web')).toEqual(['HorizontalPodAutoscaler/shop/sts-hpa']);
    expect(deps.ReplicaSet?.(view, ns, 'web')).toEqual([]);
    expect(deps.Deployment?.(view, 'other', 'web')).toEqual([]);
  });

  it('a Job re-checks its CronJob; a pod re-checks the claims it mounts', () => {
    const pod: V1Pod = {
      metadata: { name: 'p', namespace: ns },
      spec: {
        containers: [],
        volumes: [
          { name: 'a', persistentVolumeClaim: { claimName: 'data' } },
          { name: 'scratch', ephemeral: { volumeClaimTemplate: { spec: {} } } },
          { name: 'cfg', configMap: { name: 'c' } },
        ],
      },
    };
    const view = staticView({ Job: [job('report-1'), { metadata: { name: 'lonely', namespace: ns } }], Pod: [pod] });
    expect(deps.Job?.(view, ns, 'report-1')).toEqual(['CronJob/shop/report']);
    expect(deps.Job?.(view, ns, 'lonely')).toEqual([]);
    expect(deps.Pod?.(view, ns, 'p')).toEqual([
      'PersistentVolumeClaim/shop/data',
      'PersistentVolumeClaim/shop/p-scratch',
    ]);
    expect(deps.Pod?.(view, ns, 'gone')).toEqual([]);
  });
});

// ─── Odd shapes ──────────────────────────────────────────────────────────────────────────────────────────────────

describe('objects with odd shapes', () => {
  const nullish = { metadata: null, spec: null, status: null } as never;
  const view = staticView(
    {
      Pod: [{ metadata: { name: 'p', namespace: ns }, spec: { containers: [], volumes: null } } as never, nullish],
      Job: [{ metadata: { name: 'j', namespace: ns, ownerReferences: null } } as never],
      Event: [{ metadata: { name: 'e', namespace: ns }, involvedObject: null } as never],
      StorageClass: [nullish],
      PersistentVolumeClaim: [nullish],
      HorizontalPodAutoscaler: [{ metadata: { name: 'h', namespace: ns }, spec: null } as never],
    },
    at('2026-01-01T01:00:00Z'),
  );

  it('are read without throwing and flag nothing they cannot judge', () => {
    for (const detect of Object.values(storageDetectors.detectors)) expect(detect?.(nullish, t, view)).toEqual([]);
    const noTarget = {
      metadata: { name: 'h', namespace: ns },
      spec: { metrics: [null] },
      status: { conditions: null },
    };
    expect(detectHpaMisconfigured(noTarget as never, t, view)).toEqual([]);
    const noSchedule = { metadata: { name: 'c', namespace: ns, managedFields: [{ fieldsV1: null }] }, spec: {} };
    expect(detectCronJobMissed(noSchedule as never, t, view)).toEqual([]);
  });

  it('a schedule that never comes round (30 February) is never missed', () => {
    const never = cronJob({ schedule: '0 0 30 2 *' }, ran0());
    expect(detectCronJobMissed(never, t, staticView({}, at('2030-01-01T00:00:00Z')))).toEqual([]);
  });

  it('keep every message within the Anomaly bound, however long the names and lists they quote', () => {
    const long = (c: string) => c.repeat(253);
    const classes = ['a', 'b', 'c', 'd', 'e', 'f'].map((c) => storageClass(long(c)));
    const mounting: V1Pod = {
      metadata: { name: long('p'), namespace: ns },
      spec: { containers: [], volumes: [{ name: 'v', persistentVolumeClaim: { claimName: long('y') } }] },
    };
    const pvc = claim({ storageClassName: long('z') }, { metadata: { name: long('y') } as never });
    const [pending] = detectPvcPending(pvc, t, staticView({ StorageClass: classes, Pod: [mounting] }));
    const manyMetrics = hpa([condition('ScalingActive', 'False', 'FailedGetExternalMetric', 'x'.repeat(3000))]);
    if (manyMetrics.spec)
      manyMetrics.spec.metrics = Array.from({ length: 30 }, (_, i) => ({
        type: 'External',
        external: { metric: { name: `${long('m')}${i}` }, target: { type: 'Value', value: '1' } },
      }));
    const [unreadable] = detectHpaMisconfigured(manyMetrics, t, staticView({ Deployment: [target] }));
    for (const finding of [pending, unreadable]) {
      expect(finding?.message.length).toBeGreaterThan(100);
      expect(finding?.message.length).toBeLessThanOrEqual(2048);
      expect(finding?.cause?.message.length).toBeLessThanOrEqual(2048);
    }
  });

  it('dependents tolerate missing fields', () => {
    const deps = storageDetectors.dependents ?? {};
    expect(deps.Event?.(view, ns, 'e')).toEqual([]);
    expect(deps.Job?.(view, ns, 'j')).toEqual([]);
    expect(deps.Pod?.(view, ns, 'p')).toEqual([]);
    expect(deps.StorageClass?.(view, '', 'gp3')).toEqual([]);
    expect(deps.Deployment?.(view, ns, 'web')).toEqual([]);
  });
});

function ran0(): V1CronJob['status'] {
  return { lastScheduleTime: new Date('2026-01-01T00:05:00Z') };
}
