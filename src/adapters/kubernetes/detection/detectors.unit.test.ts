import type { V1ContainerStatus, V1Pod } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import {
  detectDaemonSet,
  detectDeployment,
  detectHpa,
  detectJob,
  detectNode,
  detectPod,
  detectStatefulSet,
  DefaultThresholds as t,
} from './detectors.ts';
import { emptySustainState, sustain } from './sustain.ts';

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
