import type {
  V1ContainerStatus,
  V1DaemonSet,
  V1Deployment,
  V1Job,
  V1Pod,
  V1PodSpec,
  V1ReplicaSet,
  V1StatefulSet,
} from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { staticView } from './detectionView.ts';
import {
  detectDaemonSet,
  detectDeployment,
  detectHpa,
  detectJob,
  detectNode,
  detectPod,
  detectStatefulSet,
  type Finding,
  DefaultThresholds as t,
  workloadDetectors,
} from './detectors.ts';
import { emptySustainState, sustain } from './sustain.ts';
import { createFailureCause } from './workloadCauses.ts';

const container = (status: Partial<V1ContainerStatus>): V1ContainerStatus => ({
  name: 'app',
  image: 'shop/web:1.0',
  imageID: '',
  ready: false,
  restartCount: 0,
  ...status,
});
const pod = (phase: string, statuses: V1ContainerStatus[], ready = false): V1Pod => ({
  metadata: { name: 'web-1', namespace: 'shop' },
  status: { phase, containerStatuses: statuses, conditions: [{ type: 'Ready', status: ready ? 'True' : 'False' }] },
});
const signals = (findings: { signal: string }[]) => findings.map((f) => f.signal);

describe('pod detector', () => {
  it('reports nothing for a healthy running pod or a completed one', () => {
    expect(detectPod(pod('Running', [container({ ready: true, state: { running: {} } })], true), t)).toEqual([]);
    expect(
      detectPod(pod('Succeeded', [container({ state: { terminated: { exitCode: 0, reason: 'Completed' } } })]), t),
    ).toEqual([]);
  });

  it('reports oom_kill and pod_restart for an OOM-killed container in back-off', () => {
    const p = pod('Running', [
      container({
        restartCount: 2,
        state: { waiting: { reason: 'CrashLoopBackOff' } },
        lastState: { terminated: { exitCode: 137, reason: 'OOMKilled' } },
      }),
    ]);
    expect(signals(detectPod(p, t))).toEqual(['oom_kill', 'pod_restart']);
  });

  it('counts restarts past the threshold as pod_restart even without CrashLoopBackOff', () => {
    const running = (restartCount: number) =>
      pod('Running', [container({ restartCount, ready: true, state: { running: {} } })], true);
    expect(signals(detectPod(running(2), t))).toEqual([]);
    expect(signals(detectPod(running(3), t))).toEqual(['pod_restart']);
  });

  it('reports image_pull for ErrImagePull and ImagePullBackOff, without also calling the pod unready', () => {
    for (const reason of ['ErrImagePull', 'ImagePullBackOff']) {
      expect(signals(detectPod(pod('Pending', [container({ state: { waiting: { reason } } })]), t))).toEqual([
        'image_pull',
      ]);
    }
  });

  it('reports pod_not_ready for a running unready pod, to be sustained before it counts', () => {
    const [finding] = detectPod(pod('Running', [container({ state: { running: {} } })], false), t);
    expect(finding?.signal).toBe('pod_not_ready');
    expect(finding?.sustainSeconds).toBe(t.podNotReadySeconds);
  });

  it('does not call a pod whose container has just exited not-ready: it is crashing, not failing a probe', () => {
    const exited = container({ restartCount: 1, state: { terminated: { exitCode: 1, reason: 'Error' } } });
    expect(detectPod(pod('Running', [exited], false), t)).toEqual([]);
    const waiting = container({ restartCount: 0, state: { waiting: { reason: 'ContainerCreating' } } });
    expect(detectPod(pod('Running', [waiting], false), t)).toEqual([]);
  });

  it('ignores pods being deleted', () => {
    const p = pod('Running', [container({ state: { waiting: { reason: 'CrashLoopBackOff' } } })]);
    p.metadata = { ...p.metadata, deletionTimestamp: new Date() };
    expect(detectPod(p, t)).toEqual([]);
  });
});

describe('workload detectors', () => {
  it('deploy_failing: at once on ProgressDeadlineExceeded, after a grace period for unavailable replicas', () => {
    const stalled = detectDeployment(
      {
        metadata: { name: 'web', namespace: 'shop' },
        spec: { replicas: 2 } as never,
        status: { conditions: [{ type: 'Progressing', status: 'False', reason: 'ProgressDeadlineExceeded' }] },
      },
      t,
    );
    expect(stalled.map((f) => [f.signal, f.sustainSeconds])).toEqual([['deploy_failing', 0]]);
    const degraded = detectDeployment(
      { metadata: { name: 'web' }, spec: { replicas: 3 } as never, status: { unavailableReplicas: 1 } },
      t,
    );
    expect(degraded.map((f) => [f.signal, f.sustainSeconds])).toEqual([
      ['deploy_failing', t.workloadUnavailableSeconds],
    ]);
    expect(
      detectDeployment(
        { metadata: { name: 'web' }, spec: { replicas: 3 } as never, status: { availableReplicas: 3 } },
        t,
      ),
    ).toEqual([]);
    expect(
      detectDeployment(
        { metadata: { name: 'web' }, spec: { replicas: 0 } as never, status: { unavailableReplicas: 1 } },
        t,
      ),
    ).toEqual([]);
  });

  it('statefulset and daemonset unavailability', () => {
    expect(
      signals(detectStatefulSet({ spec: { replicas: 3 } as never, status: { replicas: 3, readyReplicas: 2 } }, t)),
    ).toEqual(['statefulset_unavailable']);
    expect(detectStatefulSet({ spec: { replicas: 3 } as never, status: { replicas: 3, readyReplicas: 3 } }, t)).toEqual(
      [],
    );
    const ds = (numberUnavailable: number) => ({
      status: {
        desiredNumberScheduled: 3,
        numberUnavailable,
        currentNumberScheduled: 3,
        numberMisscheduled: 0,
        numberReady: 3 - numberUnavailable,
      },
    });
    expect(signals(detectDaemonSet(ds(1), t))).toEqual(['daemonset_unavailable']);
    expect(detectDaemonSet(ds(0), t)).toEqual([]);
  });

  it('a failed Job is job_failed; a failed Job of a CronJob is the CronJob failing; a completed Job is fine', () => {
    const failed = { type: 'Failed', status: 'True', reason: 'BackoffLimitExceeded' };
    expect(
      detectJob({ metadata: { name: 'j', namespace: 'b' }, status: { conditions: [failed] } }).map((f) => [
        f.signal,
        f.subject.kind,
      ]),
    ).toEqual([['job_failed', 'Job']]);
    const ofCron = detectJob({
      metadata: {
        name: 'nightly-123',
        namespace: 'b',
        ownerReferences: [{ kind: 'CronJob', name: 'nightly', apiVersion: 'batch/v1', uid: 'u' }],
      },
      status: { conditions: [failed] },
    });
    expect(ofCron.map((f) => [f.signal, f.subject.kind, f.subject.name])).toEqual([
      ['cronjob_failing', 'CronJob', 'nightly'],
    ]);
    expect(detectJob({ status: { conditions: [{ type: 'Complete', status: 'True' }] } })).toEqual([]);
  });

  it('node_not_ready only when Ready is not True', () => {
    const node = (status: string) => ({
      metadata: { name: 'n1' },
      status: { conditions: [{ type: 'Ready', status }] },
    });
    expect(signals(detectNode(node('False'), t))).toEqual(['node_not_ready']);
    expect(signals(detectNode(node('Unknown'), t))).toEqual(['node_not_ready']);
    expect(detectNode(node('True'), t)).toEqual([]);
  });

  it('hpa_maxed only when the autoscaler is at its maximum and wants more, not at a normal limit', () => {
    const hpa = (current: number, desired: number, limited?: { status: string; reason: string }) => ({
      spec: { maxReplicas: 5, minReplicas: 2, scaleTargetRef: { kind: 'Deployment', name: 'web' } },
      status: {
        currentReplicas: current,
        desiredReplicas: desired,
        conditions: limited ? [{ type: 'ScalingLimited', ...limited }] : [],
      },
    });
    expect(signals(detectHpa(hpa(5, 5, { status: 'True', reason: 'TooManyReplicas' }), t))).toEqual(['hpa_maxed']);
    expect(detectHpa(hpa(5, 5, { status: 'False', reason: 'DesiredWithinRange' }), t)).toEqual([]);
    expect(detectHpa(hpa(2, 2, { status: 'True', reason: 'TooFewReplicas' }), t)).toEqual([]);
    expect(detectHpa(hpa(3, 4), t)).toEqual([]);
  });
});

describe('sustain', () => {
  const notReady = detectPod(pod('Running', [container({ state: { running: {} } })]), t);
  const crash = detectPod(pod('Running', [container({ state: { waiting: { reason: 'CrashLoopBackOff' } } })]), t);

  it('reports an immediate finding once per episode, and again after it cleared and came back', () => {
    let r = sustain(emptySustainState(), crash, 0);
    expect(signals([...r.due])).toEqual(['pod_restart']);
    r = sustain(r.state, crash, 5_000);
    expect(r.due).toEqual([]);
    r = sustain(r.state, [], 10_000);
    r = sustain(r.state, crash, 15_000);
    expect(signals([...r.due])).toEqual(['pod_restart']);
  });

  it('holds a sustained finding until it has lasted, and says when to look again', () => {
    let r = sustain(emptySustainState(), notReady, 1_000);
    expect(r.due).toEqual([]);
    expect(r.recheckAt).toBe(1_000 + t.podNotReadySeconds * 1000);
    r = sustain(r.state, notReady, 1_000 + t.podNotReadySeconds * 1000);
    expect(signals([...r.due])).toEqual(['pod_not_ready']);
  });

  it('forgets a sustained finding that clears before it ripens', () => {
    let r = sustain(emptySustainState(), notReady, 0);
    r = sustain(r.state, [], 10_000);
    r = sustain(r.state, notReady, 20_000);
    expect(r.due).toEqual([]);
    expect(r.recheckAt).toBe(20_000 + t.podNotReadySeconds * 1000);
  });
});

describe('causes behind workload signals', () => {
  const ns = 'shop';
  const web: V1Deployment = {
    metadata: { name: 'web', namespace: ns, uid: 'dep-web' },
    spec: { replicas: 2, selector: { matchLabels: { app: 'web' } }, template: {} },
    status: { unavailableReplicas: 1, availableReplicas: 1 },
  };
  const rs = (name: string, revision: number, status: Partial<NonNullable<V1ReplicaSet['status']>> = {}) =>
    ({
      metadata: {
        name,
        namespace: ns,
        uid: `rs-${name}`,
        annotations: { 'deployment.kubernetes.io/revision': String(revision) },
        ownerReferences: [{ apiVersion: 'apps/v1', kind: 'Deployment', name: 'web', uid: 'dep-web', controller: true }],
      },
      status: { replicas: 1, ...status },
    }) as V1ReplicaSet;
  const ownedPod = (name: string, ownerUid: string, status: V1Pod['status'], spec: Partial<V1PodSpec> = {}): V1Pod => ({
    metadata: {
      name,
      namespace: ns,
      creationTimestamp: new Date('2026-01-01T00:00:00Z'),
      ownerReferences: [{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'x', uid: ownerUid, controller: true }],
    },
    spec: { containers: [{ name: 'app', image: 'shop/web:2.0' }], ...spec },
    status,
  });
  const waitingOn = (reason: string, message: string) => ({
    phase: 'Pending',
    podIP: '10.0.0.9',
    containerStatuses: [container({ state: { waiting: { reason, message } } })],
  });
  const unschedulable = (message: string): V1Pod['status'] => ({
    phase: 'Pending',
    conditions: [{ type: 'PodScheduled', status: 'False', reason: 'Unschedulable', message }],
  });
  const deployFinding = (objects: Parameters<typeof staticView>[0]) => {
    const findings = detectDeployment(web, t, staticView(objects));
    expect(findings).toHaveLength(1);
    return findings[0] as Finding;
  };

  it('names the missing ConfigMap and where the template refers to it, and reports after podBlockedSeconds', () => {
    const finding = deployFinding({
      ReplicaSet: [rs('web-old', 1), rs('web-new', 2)],
      Pod: [
        ownedPod(
          'web-new-a',
          'rs-web-new',
          waitingOn('CreateContainerConfigError', 'configmap "web-settings" not found'),
          {
            containers: [{ name: 'app', image: 'shop/web:2.0', envFrom: [{ configMapRef: { name: 'web-settings' } }] }],
          },
        ),
      ],
    });
    expect(finding.cause).toMatchObject({
      code: 'config_missing',
      object: { kind: 'ConfigMap', name: 'web-settings', namespace: ns },
    });
    expect(finding.cause?.message).toContain('ConfigMap web-settings does not exist in namespace shop');
    expect(finding.cause?.message).toContain('spec.containers[app].envFrom[0].configMapRef');
    expect(finding.message).toMatch(/^1 of 2 replicas unavailable: container app of pod web-new-a cannot start/);
    expect(finding.sustainSeconds).toBe(t.podBlockedSeconds);
  });

  it('names a missing Secret key and the env entry that reads it', () => {
    const finding = deployFinding({
      ReplicaSet: [rs('web-new', 2)],
      Pod: [
        ownedPod(
          'web-new-a',
          'rs-web-new',
          waitingOn('CreateContainerConfigError', "couldn't find key password in Secret shop/db-creds"),
          {
            containers: [
              {
                name: 'app',
                image: 'shop/web:2.0',
                env: [{ name: 'DB_PASSWORD', valueFrom: { secretKeyRef: { name: 'db-creds', key: 'password' } } }],
              },
            ],
          },
        ),
      ],
    });
    expect(finding.cause).toMatchObject({ code: 'config_missing', object: { kind: 'Secret', name: 'db-creds' } });
    expect(finding.cause?.message).toContain('key password of Secret db-creds');
    expect(finding.cause?.message).toContain('spec.containers[app].env[DB_PASSWORD].valueFrom.secretKeyRef');
  });

  it('reads the missing Secret from the kubelet Failed Event about the pod when the status is terse', () => {
    const blocked = ownedPod('web-new-a', 'rs-web-new', waitingOn('CreateContainerConfigError', ''), {
      volumes: [{ name: 'tls', secret: { secretName: 'web-tls' } }],
    });
    const failed = {
      metadata: { name: 'e1', namespace: ns },
      involvedObject: { kind: 'Pod', name: 'web-new-a', namespace: ns },
      type: 'Warning',
      reason: 'Failed',
      message: 'Error: secret "web-tls" not found',
    };
    const finding = deployFinding({ ReplicaSet: [rs('web-new', 2)], Pod: [blocked], Event: [failed] });
    expect(finding.cause).toMatchObject({ code: 'config_missing', object: { kind: 'Secret', name: 'web-tls' } });
    expect(finding.cause?.message).toContain('spec.volumes[tls].secret');
  });

  it("does not take another Failed Event (an image pull's) for the missing configuration", () => {
    const blocked = ownedPod('web-new-a', 'rs-web-new', waitingOn('CreateContainerConfigError', ''));
    const pull = {
      metadata: { name: 'e2', namespace: ns },
      involvedObject: { kind: 'Pod', name: 'web-new-a', namespace: ns },
      type: 'Warning',
      reason: 'Failed',
      message: 'Failed to pull image "shop/web:2.0": not found',
    };
    const finding = deployFinding({ ReplicaSet: [rs('web-new', 2)], Pod: [blocked], Event: [pull] });
    expect(finding.cause?.code).toBe('container_create_failed');
    expect(finding.cause?.object).toBeUndefined();
  });

  it('calls a CreateContainerError what it is, with the runtime message', () => {
    const finding = deployFinding({
      ReplicaSet: [rs('web-new', 2)],
      Pod: [
        ownedPod(
          'web-new-a',
          'rs-web-new',
          waitingOn('CreateContainerError', 'failed to reserve container name "app"'),
        ),
      ],
    });
    expect(finding.cause?.code).toBe('container_create_failed');
    expect(finding.cause?.message).toContain('failed to reserve container name');
    expect(finding.cause?.object).toBeUndefined();
  });

  it("names the scheduler's reason: node selector, insufficient resources, taints", () => {
    const selector = deployFinding({
      ReplicaSet: [rs('web-new', 2)],
      Pod: [
        ownedPod(
          'web-new-a',
          'rs-web-new',
          unschedulable(
            "0/3 nodes are available: 3 node(s) didn't match Pod's node affinity/selector. preemption: 0/3 nodes are available: 3 Preemption is not helpful for scheduling.",
          ),
          { nodeSelector: { disktype: 'ssd' } },
        ),
      ],
    });
    expect(selector.cause?.code).toBe('unschedulable');
    expect(selector.cause?.message).toContain('no node has the labels disktype=ssd (spec.nodeSelector)');
    expect(selector.sustainSeconds).toBe(t.podBlockedSeconds);

    const affinity = deployFinding({
      ReplicaSet: [rs('web-new', 2)],
      Pod: [
        ownedPod(
          'web-new-a',
          'rs-web-new',
          unschedulable("0/3 nodes are available: 3 node(s) didn't match Pod's node affinity/selector."),
          {
            affinity: {
              nodeAffinity: {
                requiredDuringSchedulingIgnoredDuringExecution: {
                  nodeSelectorTerms: [{ matchExpressions: [{ key: 'zone', operator: 'In', values: ['mars-1'] }] }],
                },
              },
            },
          },
        ),
      ],
    });
    expect(affinity.cause?.message).toContain(
      'node selector: no node matches spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution',
    );
    expect(affinity.cause?.message).not.toContain('spec.nodeSelector');

    const cpu = deployFinding({
      ReplicaSet: [rs('web-new', 2)],
      Pod: [
        ownedPod(
          'web-new-a',
          'rs-web-new',
          unschedulable(
            '0/3 nodes are available: 1 node(s) had untolerated taint {dedicated: gpu}, 2 Insufficient cpu. preemption: 0/3 nodes are available: 3 No preemption victims found for incoming pod.',
          ),
          { containers: [{ name: 'app', image: 'shop/web:2.0', resources: { requests: { cpu: '64' } } }] },
        ),
      ],
    });
    expect(cpu.cause?.message).toContain('insufficient cpu: no node has room for the requested cpu (64)');
    expect(cpu.cause?.message).toContain('taint {dedicated: gpu} the pod does not tolerate (spec.tolerations)');
  });

  it('names the ResourceQuota a ReplicaSet ran into, and falls back on the condition the Deployment copies', () => {
    const quota =
      'pods "web-new-b" is forbidden: exceeded quota: one-pod, requested: pods=1, used: pods=1, limited: pods=1';
    const fromSet = deployFinding({
      ReplicaSet: [
        rs('web-new', 2, {
          replicas: 1,
          conditions: [{ type: 'ReplicaFailure', status: 'True', reason: 'FailedCreate', message: quota }],
        }),
      ],
    });
    expect(fromSet.cause).toMatchObject({
      code: 'quota_exceeded',
      object: { kind: 'ResourceQuota', name: 'one-pod', namespace: ns },
    });
    expect(fromSet.cause?.message).toContain('ResourceQuota one-pod in namespace shop is used up');
    expect(fromSet.cause?.message).toContain('requested pods=1, used pods=1, limited pods=1');
    expect(fromSet.sustainSeconds).toBe(t.podBlockedSeconds);

    const copied = detectDeployment(
      {
        ...web,
        status: {
          ...web.status,
          conditions: [{ type: 'ReplicaFailure', status: 'True', reason: 'FailedCreate', message: quota }],
        },
      },
      t,
      staticView({}),
    );
    expect(copied[0]?.cause?.object).toEqual({ kind: 'ResourceQuota', name: 'one-pod', namespace: ns });
  });

  it('tells an admission webhook denial and a LimitRange from a quota', () => {
    const webhook = createFailureCause(
      'Job nightly',
      ns,
      'Error creating: admission webhook "policy.example.com" denied the request: images must come from registry.local',
    );
    expect(webhook).toMatchObject({ code: 'admission_denied' });
    expect(webhook.message).toContain('admission webhook policy.example.com denied them: images must come from');
    const limit = createFailureCause(
      'Job nightly',
      ns,
      'Error creating: pods "nightly-x" is forbidden: maximum cpu usage per Container is 500m, but limit is 2',
    );
    expect(limit).toMatchObject({ code: 'limit_range' });
    expect(limit.message).toContain('maximum cpu usage per Container is 500m, but limit is 2');
    const several = createFailureCause(
      'ReplicaSet web-1',
      ns,
      'pods "web-1-x" is forbidden: exceeded quota: compute, requested: limits.cpu=2,pods=1, used: limits.cpu=3,pods=2, limited: limits.cpu=4,pods=10',
    );
    expect(several.object).toEqual({ kind: 'ResourceQuota', name: 'compute', namespace: ns });
    expect(several.message).toContain(
      '(requested limits.cpu=2,pods=1, used limits.cpu=3,pods=2, limited limits.cpu=4,pods=10)',
    );
    // A name no Kubernetes object could have is kept in the words, never made a reference.
    const garbled = createFailureCause('Job nightly', ns, 'forbidden: exceeded quota: Bad_Name!, requested: pods=1');
    expect(garbled.code).toBe('quota_exceeded');
    expect(garbled.object).toBeUndefined();
    expect(garbled.message).toContain('Bad_Name!');
    const other = createFailureCause('Job nightly', ns, 'Internal error occurred: etcdserver: request timed out');
    expect(other).toMatchObject({ code: 'create_failed' });
  });

  const event = (kind: string, name: string, reason: string, message: string, at: string, extra = {}) => ({
    metadata: { name: `${name}.${reason}.${at}`, namespace: ns },
    involvedObject: { kind, name, namespace: ns },
    type: reason === 'FailedCreate' ? 'Warning' : 'Normal',
    reason,
    message,
    lastTimestamp: new Date(at),
    ...extra,
  });
  const denied = 'Error creating: admission webhook "policy.example.com" denied the request: no root containers';

  it("reads a Job's and a StatefulSet's FailedCreate Events about exactly that object, the latest one only", () => {
    const job: V1Job = { metadata: { name: 'report', namespace: ns, uid: 'job-1' }, status: { active: 0 } };
    const blocked = detectJob(
      job,
      t,
      staticView({ Event: [event('Job', 'report', 'FailedCreate', denied, '2026-01-01T00:00:00Z')] }),
    );
    expect(blocked.map((f) => [f.signal, f.cause?.code, f.sustainSeconds])).toEqual([
      ['job_failed', 'admission_denied', t.podBlockedSeconds],
    ]);
    expect(blocked[0]?.message).toContain('job report cannot run: Job report cannot create pods: admission webhook');
    // A StatefulSet of the same name is another object; a Job that has since created its pod is no longer refused.
    expect(
      detectJob(
        job,
        t,
        staticView({
          Event: [
            event('StatefulSet', 'report', 'FailedCreate', denied, '2026-01-01T00:00:00Z'),
            event('Job', 'other', 'FailedCreate', denied, '2026-01-01T00:00:00Z'),
          ],
        }),
      ),
    ).toEqual([]);
    expect(
      detectJob(
        job,
        t,
        staticView({
          Event: [
            event('Job', 'report', 'FailedCreate', denied, '2026-01-01T00:00:00Z'),
            event('Job', 'report', 'SuccessfulCreate', 'Created pod: report-x', '2026-01-01T00:01:00Z'),
          ],
        }),
      ),
    ).toEqual([]);
    // Cairn's own Events never count.
    expect(
      detectJob(
        job,
        t,
        staticView({
          Event: [
            event('Job', 'report', 'FailedCreate', denied, '2026-01-01T00:00:00Z', {
              reportingComponent: 'cairn-operator',
            }),
          ],
        }),
      ),
    ).toEqual([]);
    // A completed Job is done, whatever its old Events say.
    expect(
      detectJob(
        { ...job, status: { conditions: [{ type: 'Complete', status: 'True' }] } },
        t,
        staticView({ Event: [event('Job', 'report', 'FailedCreate', denied, '2026-01-01T00:00:00Z')] }),
      ),
    ).toEqual([]);

    const set: V1StatefulSet = {
      metadata: { name: 'db', namespace: ns, uid: 'sts-1' },
      spec: { replicas: 3 } as never,
      status: { replicas: 1, readyReplicas: 1 },
    };
    const quota =
      'create Pod db-1 in StatefulSet db failed error: pods "db-1" is forbidden: exceeded quota: small, requested: pods=1, used: pods=1, limited: pods=1';
    const [finding] = detectStatefulSet(
      set,
      t,
      staticView({ Event: [event('StatefulSet', 'db', 'FailedCreate', quota, '2026-01-01T00:00:00Z')] }),
    );
    expect(finding?.cause).toMatchObject({ code: 'quota_exceeded', object: { kind: 'ResourceQuota', name: 'small' } });
    expect(finding?.message).toMatch(/^1 of 3 replicas ready: StatefulSet db cannot create pods/);
  });

  it('says a Job ran past activeDeadlineSeconds', () => {
    const [finding] = detectJob(
      {
        metadata: { name: 'backup', namespace: ns },
        spec: { activeDeadlineSeconds: 600 } as never,
        status: { conditions: [{ type: 'Failed', status: 'True', reason: 'DeadlineExceeded' }] },
      },
      t,
      staticView({}),
    );
    expect(finding).toMatchObject({ signal: 'job_failed', cause: { code: 'deadline_exceeded' }, sustainSeconds: 0 });
    expect(finding?.message).toContain('past its deadline of 600s (spec.activeDeadlineSeconds)');
  });

  it('gives DaemonSets and StatefulSets the cause of their own pods (the update revision only)', () => {
    const ds: V1DaemonSet = {
      metadata: { name: 'agent', namespace: ns, uid: 'ds-1' },
      status: { desiredNumberScheduled: 3, numberUnavailable: 1 } as never,
    };
    const [daemon] = detectDaemonSet(
      ds,
      t,
      staticView({
        Pod: [ownedPod('agent-x', 'ds-1', waitingOn('CreateContainerConfigError', 'configmap "agent-conf" not found'))],
      }),
    );
    expect(daemon?.cause?.object).toEqual({ kind: 'ConfigMap', name: 'agent-conf', namespace: ns });

    const set: V1StatefulSet = {
      metadata: { name: 'db', namespace: ns, uid: 'sts-1' },
      spec: { replicas: 2 } as never,
      status: { replicas: 2, readyReplicas: 1, updateRevision: 'db-new' },
    };
    const oldBlocked = ownedPod('db-1', 'sts-1', waitingOn('CreateContainerConfigError', 'configmap "x" not found'));
    oldBlocked.metadata = { ...oldBlocked.metadata, labels: { 'controller-revision-hash': 'db-old' } };
    const [stale] = detectStatefulSet(set, t, staticView({ Pod: [oldBlocked] }));
    expect(stale?.cause).toBeUndefined();
    expect(stale?.sustainSeconds).toBe(t.workloadUnavailableSeconds);
  });

  it('stays silent about a healthy rollout: pods not yet scheduled, ContainerCreating, or blocked in an old revision', () => {
    const quiet = deployFinding({
      ReplicaSet: [rs('web-old', 1), rs('web-new', 2)],
      Pod: [
        // Created a moment ago: no PodScheduled condition yet.
        ownedPod('web-new-a', 'rs-web-new', { phase: 'Pending' }),
        // Scheduled, the runtime creating the container.
        ownedPod('web-new-b', 'rs-web-new', waitingOn('ContainerCreating', '')),
        // Waiting on its scheduling gates: held on purpose, not rejected.
        ownedPod('web-new-c', 'rs-web-new', {
          phase: 'Pending',
          conditions: [{ type: 'PodScheduled', status: 'False', reason: 'SchedulingGated' }],
        }),
        // The previous revision's leftover: not what the rollout is waiting for.
        ownedPod('web-old-a', 'rs-web-old', waitingOn('CreateContainerConfigError', 'configmap "old" not found')),
        // Being deleted.
        {
          ...ownedPod('web-new-d', 'rs-web-new', unschedulable('0/3 nodes are available: 3 Insufficient memory.')),
          metadata: {
            name: 'web-new-d',
            namespace: ns,
            deletionTimestamp: new Date(),
            ownerReferences: [{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'x', uid: 'rs-web-new' }],
          },
        },
      ],
    });
    expect(quiet.cause).toBeUndefined();
    expect(quiet.message).toBe('1 of 2 replicas unavailable');
    expect(quiet.sustainSeconds).toBe(t.workloadUnavailableSeconds);
    // A healthy Deployment stays silent whatever its pods' history.
    expect(
      detectDeployment(
        { ...web, status: { availableReplicas: 2 } },
        t,
        staticView({ Pod: [ownedPod('web-new-a', 'rs-web-new', unschedulable('0/3 nodes are available'))] }),
      ),
    ).toEqual([]);
  });

  it('never calls a pending pod pod_not_ready: unschedulable or waiting on configuration', () => {
    const pending = ownedPod('web-new-a', 'rs-web-new', unschedulable('0/3 nodes are available: 3 Insufficient cpu.'));
    expect(detectPod(pending, t, staticView({}))).toEqual([]);
    expect(
      detectPod(
        ownedPod('web-new-b', 'rs-web-new', waitingOn('CreateContainerConfigError', 'configmap "c" not found')),
        t,
        staticView({}),
      ),
    ).toEqual([]);
    // Even reported Running with Ready=False (one container blocked), it is not a wedged pod.
    const mixed = ownedPod('web-new-c', 'rs-web-new', {
      phase: 'Running',
      conditions: [{ type: 'Ready', status: 'False' }],
      initContainerStatuses: [
        container({
          name: 'init',
          state: { waiting: { reason: 'CreateContainerConfigError', message: 'secret "s" not found' } },
        }),
      ],
      containerStatuses: [container({ state: { running: {} } })],
    });
    expect(detectPod(mixed, t, staticView({}))).toEqual([]);
  });

  it('keeps a flood of scheduler text to a short message', () => {
    const long = `0/5000 nodes are available: ${Array.from({ length: 400 }, (_, i) => `${i + 1} node(s) had untolerated taint {k${i}: v}`).join(', ')}.`;
    const finding = deployFinding({
      ReplicaSet: [rs('web-new', 2)],
      Pod: [ownedPod('web-new-a', 'rs-web-new', unschedulable(long))],
    });
    expect(finding.cause?.message.length).toBeLessThanOrEqual(1_000);
    expect(finding.message.length).toBeLessThanOrEqual(2_000);
  });

  it('re-checks the workload when one of its pods, its ReplicaSets or an Event about them changes', () => {
    const view = staticView({
      ReplicaSet: [rs('web-new', 2)],
      Pod: [
        {
          ...ownedPod('web-new-a', 'rs-web-new', { phase: 'Pending' }),
          metadata: {
            name: 'web-new-a',
            namespace: ns,
            ownerReferences: [
              { apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'web-new', uid: 'rs-web-new', controller: true },
            ],
          },
        },
      ],
      Event: [
        event('Pod', 'web-new-a', 'FailedScheduling', '0/3 nodes are available', '2026-01-01T00:00:00Z'),
        event('Job', 'report', 'FailedCreate', denied, '2026-01-01T00:00:00Z'),
      ],
    });
    const dependents = workloadDetectors.dependents ?? {};
    expect(dependents.Pod?.(view, ns, 'web-new-a')).toEqual(['Deployment/shop/web']);
    expect(dependents.ReplicaSet?.(view, ns, 'web-new')).toEqual(['Deployment/shop/web']);
    expect(dependents.Event?.(view, ns, 'web-new-a.FailedScheduling.2026-01-01T00:00:00Z')).toEqual([
      'Deployment/shop/web',
    ]);
    expect(dependents.Event?.(view, ns, 'report.FailedCreate.2026-01-01T00:00:00Z')).toEqual(['Job/shop/report']);
    expect(dependents.Pod?.(view, ns, 'gone')).toEqual([]);
  });
});
