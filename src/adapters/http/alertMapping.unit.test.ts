import { describe, expect, it } from 'vitest';
import { signalTypes } from '../kubernetes/api/signalTypes.ts';
import {
  anomalyIdOfAlert,
  candidatesOfAlert,
  keptLabels,
  messageOfAlert,
  observedAtOfAlert,
  planAlert,
  signalByAlertName,
  signalByPattern,
  signalOfAlert,
} from './alertMapping.ts';

const now = new Date('2025-03-01T12:00:00.000Z');

describe('signalOfAlert', () => {
  it.each([
    ['HighErrorRate', 'error_rate'],
    ['CheckoutErrorRateHigh', 'error_rate'],
    ['Http5xxTooHigh', 'error_rate'],
    ['HighLatency', 'latency_spike'],
    ['P99LatencyAboveSlo', 'latency_spike'],
    ['KubePodCrashLooping', 'pod_restart'],
    ['KubePodNotReady', 'pod_not_ready'],
    ['KubeDeploymentReplicasMismatch', 'deploy_failing'],
    ['KubeStatefulSetReplicasMismatch', 'statefulset_unavailable'],
    ['KubeDaemonSetRolloutStuck', 'daemonset_unavailable'],
    ['KubeJobFailed', 'job_failed'],
    ['KubeHpaMaxedOut', 'hpa_maxed'],
    ['KubeNodeNotReady', 'node_not_ready'],
    ['ContainerOOMKilled', 'oom_kill'],
    ['ErrorBudgetBurn', 'slo_burn_rate'],
    ['NginxIngressHigh5xxErrors', 'ingress_error'],
    ['NodeFilesystemSpaceFillingUp', 'disk_pressure'],
    ['CPUThrottlingHigh', 'cpu_high'],
    ['HighMemoryUsage', 'memory_high'],
    ['ArgoAppDegraded', 'argocd_degraded'],
    ['Watchdog', 'custom'],
    ['', 'custom'],
  ])('maps alertname %j to %s', (alertname, signal) => {
    expect(signalOfAlert({ alertname })).toEqual({ ok: true, signal });
  });

  it('prefers an explicit cairn_signal label over the name', () => {
    expect(signalOfAlert({ alertname: 'HighErrorRate', cairn_signal: 'latency_spike' })).toEqual({
      ok: true,
      signal: 'latency_spike',
    });
  });

  it('refuses a cairn_signal the Anomaly CRD does not know, naming it', () => {
    const choice = signalOfAlert({ alertname: 'X', cairn_signal: 'bogus' });
    expect(choice.ok).toBe(false);
    expect(!choice.ok && choice.reason).toContain('"bogus"');
  });

  it('only ever emits signals the Anomaly CRD enum contains (the types say so too)', () => {
    const emitted = [...Object.values(signalByAlertName), ...signalByPattern.map(([, signal]) => signal), 'custom'];
    for (const signal of emitted) expect(signalTypes).toContain(signal);
  });
});

describe('candidatesOfAlert', () => {
  it('names a workload directly by its label, in the alert namespace', () => {
    expect(candidatesOfAlert({ namespace: 'shop', deployment: 'checkout' })).toEqual({
      ok: true,
      candidates: [{ label: 'deployment', resource: { kind: 'Deployment', name: 'checkout', namespace: 'shop' } }],
    });
  });

  it.each([
    ['statefulset', 'StatefulSet'],
    ['daemonset', 'DaemonSet'],
    ['cronjob', 'CronJob'],
    ['job_name', 'Job'],
    ['job', 'Job'],
    ['pod', 'Pod'],
  ])('reads the %s label as a %s', (label, kind) => {
    const choice = candidatesOfAlert({ namespace: 'ns', [label]: 'x' });
    expect(choice.ok && choice.candidates[0]?.resource).toEqual({ kind, name: 'x', namespace: 'ns' });
  });

  it('orders candidates most specific first, the scrape-job-like `job` label after the pod', () => {
    const choice = candidatesOfAlert({ namespace: 'ns', job: 'kube-state-metrics', pod: 'web-1', node: 'n1' });
    expect(choice.ok && choice.candidates.map((c) => c.label)).toEqual(['pod', 'job', 'node']);
  });

  it('maps a node label to the cluster-scoped Node, with or without a namespace', () => {
    expect(candidatesOfAlert({ node: 'kwok-node-1' })).toEqual({
      ok: true,
      candidates: [{ label: 'node', resource: { kind: 'Node', name: 'kwok-node-1', namespace: '' } }],
    });
  });

  it('requires the namespace label for namespaced objects', () => {
    expect(candidatesOfAlert({ deployment: 'checkout' })).toEqual({
      ok: false,
      reason: 'label deployment needs a namespace label beside it',
    });
  });

  it('says which labels it looks for when none is there', () => {
    const choice = candidatesOfAlert({ alertname: 'Watchdog', namespace: 'monitoring' });
    expect(choice.ok).toBe(false);
    expect(!choice.ok && choice.reason).toMatch(/no label names a workload .*deployment.*pod.*node/);
  });
});

describe('the rest of an alert', () => {
  const alert = {
    status: 'firing',
    labels: { alertname: 'HighErrorRate', namespace: 'shop', deployment: 'checkout', severity: 'critical' },
    annotations: { summary: '5xx ratio 12% over 5m', description: 'longer text' },
    startsAt: '2025-03-01T11:58:00.123456789Z',
    fingerprint: 'a1b2c3d4e5f6',
  };

  it('builds the message from the summary, then description, then the name alone', () => {
    expect(messageOfAlert(alert)).toBe('HighErrorRate: 5xx ratio 12% over 5m');
    expect(messageOfAlert({ ...alert, annotations: { description: 'd' } })).toBe('HighErrorRate: d');
    expect(messageOfAlert({ ...alert, annotations: {} })).toBe('HighErrorRate is firing');
  });

  it('takes the time from startsAt, and now for a missing, zero or unparsable one', () => {
    expect(observedAtOfAlert(alert, now)).toEqual({ observedAt: '2025-03-01T11:58:00.123Z' });
    expect(observedAtOfAlert({ ...alert, startsAt: '0001-01-01T00:00:00Z' }, now)).toEqual({
      observedAt: now.toISOString(),
    });
    expect(observedAtOfAlert({ ...alert, startsAt: 'soon' }, now).observedAt).toBe(now.toISOString());
    const { startsAt: _, ...without } = alert;
    expect(observedAtOfAlert(without, now).observedAt).toBe(now.toISOString());
  });

  it('brings a start from year 1 or 9999 to the edge of the kept window, with a warning saying so', () => {
    const ancient = planAlert({ ...alert, startsAt: '0001-01-01T00:00:01Z' }, now);
    expect(ancient).toMatchObject({
      action: 'record',
      observedAt: '2025-02-22T12:00:00.000Z',
      warning: expect.stringMatching(/^startsAt 0001-01-01T00:00:01Z is more than 7 days before now/),
    });
    const future = planAlert({ ...alert, startsAt: '9999-12-31T23:59:59Z' }, now);
    expect(future).toMatchObject({ observedAt: '2025-03-01T12:05:00.000Z', warning: /5 minutes after now/ });
  });

  it('bounds what it keeps of oversized labels and annotations', () => {
    const huge = 'x'.repeat(100_000);
    const plan = planAlert(
      { ...alert, labels: { ...alert.labels, [huge]: 'v', note: huge }, annotations: { summary: huge } },
      now,
    );
    if (plan.action !== 'record') throw new Error(`planned ${plan.action}`);
    expect(Object.keys(plan.labels).every((name) => name.length <= 317)).toBe(true);
    expect(plan.labels.note).toHaveLength(1_024);
    expect(plan.message.length).toBeLessThanOrEqual(2_048);
  });

  it('gives the same firing the same id, and a new firing a new one', () => {
    expect(anomalyIdOfAlert(alert)).toBe(anomalyIdOfAlert({ ...alert, annotations: { summary: 'changed' } }));
    expect(anomalyIdOfAlert(alert)).not.toBe(anomalyIdOfAlert({ ...alert, startsAt: '2025-03-01T13:00:00Z' }));
    const { fingerprint: _, ...unprinted } = alert;
    expect(anomalyIdOfAlert(unprinted)).toBe(
      anomalyIdOfAlert({ ...unprinted, labels: Object.fromEntries(Object.entries(unprinted.labels).reverse()) }),
    );
    expect(anomalyIdOfAlert(alert)).toMatch(/^alert-[0-9a-f]{32}$/);
  });

  it('keeps at most 32 labels, alertname first, values cut to 1024 characters', () => {
    const many = Object.fromEntries(Array.from({ length: 40 }, (_, i) => [`l${String(i).padStart(2, '0')}`, 'v']));
    const kept = keptLabels({ ...many, alertname: 'A', long: 'x'.repeat(2_000) });
    expect(Object.keys(kept)).toHaveLength(32);
    expect(Object.keys(kept)[0]).toBe('alertname');
    expect(keptLabels({ long: 'x'.repeat(2_000) }).long).toHaveLength(1_024);
  });

  it('plans a firing alert for recording and ignores a resolved one', () => {
    expect(planAlert(alert, now)).toEqual({
      action: 'record',
      signal: 'error_rate',
      candidates: [{ label: 'deployment', resource: { kind: 'Deployment', name: 'checkout', namespace: 'shop' } }],
      anomalyId: anomalyIdOfAlert(alert),
      message: 'HighErrorRate: 5xx ratio 12% over 5m',
      observedAt: '2025-03-01T11:58:00.123Z',
      labels: { alertname: 'HighErrorRate', deployment: 'checkout', namespace: 'shop', severity: 'critical' },
    });
    expect(planAlert({ ...alert, status: 'resolved' }, now)).toEqual({
      action: 'ignore',
      reason: 'resolved alerts are not recorded',
    });
  });

  it('rejects, with the reason, an alert it cannot place', () => {
    expect(planAlert({ ...alert, labels: { alertname: 'HighErrorRate' } }, now)).toMatchObject({
      action: 'reject',
      reason: expect.stringContaining('no label names a workload'),
    });
  });
});
