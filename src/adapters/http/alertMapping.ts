import { judgeObservedAt } from '../../../domain/correlation/observedAt.policy.ts';
import type { ResourceRef } from '../../../domain/events/common.schema.ts';
import { sha256Hex } from '../../application/detection/anomalyRecorder.ts';
import { type SignalType, signalTypes } from '../kubernetes/api/signalTypes.ts';

/**
 * How an Alertmanager alert becomes an anomaly report: which signal it is and which object it is about. Pure, so
 * every rule is unit-tested; reading the cluster (a pod's owner) happens in the route, after this.
 */

/** One alert of an Alertmanager webhook (payload version 4), reduced to what the mapping reads. */
export interface AlertmanagerAlert {
  readonly status: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly annotations?: Readonly<Record<string, string>>;
  readonly startsAt?: string;
  readonly fingerprint?: string;
}

/** An explicit `cairn_signal` label wins over the alert's name. */
export const SIGNAL_LABEL = 'cairn_signal';

/** Names from kube-prometheus' default rules, where the name alone says what it is. */
export const signalByAlertName: Readonly<Record<string, SignalType>> = {
  // The watchers report a crash loop as pod_restart; the same signal lets the two dedup into one anomaly.
  KubePodCrashLooping: 'pod_restart',
  KubePodNotReady: 'pod_not_ready',
  KubeDeploymentReplicasMismatch: 'deploy_failing',
  KubeDeploymentRolloutStuck: 'deploy_failing',
  KubeDeploymentGenerationMismatch: 'deploy_failing',
  KubeStatefulSetReplicasMismatch: 'statefulset_unavailable',
  KubeStatefulSetUpdateNotRolledOut: 'statefulset_unavailable',
  KubeDaemonSetRolloutStuck: 'daemonset_unavailable',
  KubeDaemonSetNotScheduled: 'daemonset_unavailable',
  KubeDaemonSetMisScheduled: 'daemonset_unavailable',
  KubeJobFailed: 'job_failed',
  KubeJobNotCompleted: 'job_failed',
  KubeHpaMaxedOut: 'hpa_maxed',
  KubeNodeNotReady: 'node_not_ready',
  KubeNodeUnreachable: 'node_not_ready',
  KubePersistentVolumeClaimPending: 'pvc_pending',
  CPUThrottlingHigh: 'cpu_high',
  KubeClientCertificateExpiration: 'certificate_expiring',
};

/** Then by pattern, first match wins: the more specific patterns (burn rate, ingress errors) come first. */
export const signalByPattern: readonly (readonly [RegExp, SignalType])[] = [
  [/burn.?rate|error.?budget/i, 'slo_burn_rate'],
  [/ingress.*(error|5xx)/i, 'ingress_error'],
  [/error.?rate|5xx|high.?errors/i, 'error_rate'],
  [/latency|slow.?(request|response)|response.?time/i, 'latency_spike'],
  [/OOM/, 'oom_kill'],
  [/out.?of.?memory/i, 'oom_kill'],
  [/crash.?loop|restart/i, 'pod_restart'],
  [/image.?pull/i, 'image_pull'],
  [/evict/i, 'pod_evicted'],
  [/certificate.*expir|cert.?expir/i, 'certificate_expiring'],
  [/disk.?pressure|filesystem.*(full|filling|space)/i, 'disk_pressure'],
  [/memory.?pressure/i, 'memory_pressure'],
  [/(high.?)?cpu.?(high|usage|saturat|throttl)|high.?cpu/i, 'cpu_high'],
  [/(high.?)?memory.?(high|usage)|high.?memory/i, 'memory_high'],
  [/pvc.*pending|persistent.?volume.?claim.*pending/i, 'pvc_pending'],
  [/helm.*fail/i, 'helm_release_failed'],
  [/argo.*(degraded|unhealthy)/i, 'argocd_degraded'],
  [/flux.*(not.?ready|fail)/i, 'flux_not_ready'],
  [/drift|out.?of.?sync/i, 'config_drift'],
];

const isSignalType = (value: string): value is SignalType => (signalTypes as readonly string[]).includes(value);

export type SignalChoice = { readonly ok: true; readonly signal: SignalType } | { readonly ok: false; reason: string };

export function signalOfAlert(labels: Readonly<Record<string, string>>): SignalChoice {
  const explicit = labels[SIGNAL_LABEL];
  if (explicit !== undefined) {
    return isSignalType(explicit)
      ? { ok: true, signal: explicit }
      : { ok: false, reason: `${SIGNAL_LABEL}="${explicit}" is not a signal Cairn knows` };
  }
  const name = labels.alertname ?? '';
  const exact = Object.hasOwn(signalByAlertName, name) ? signalByAlertName[name] : undefined;
  if (exact) return { ok: true, signal: exact };
  const matched = signalByPattern.find(([pattern]) => pattern.test(name));
  return { ok: true, signal: matched ? matched[1] : 'custom' };
}

/**
 * Labels that name the object, most specific first. `job` comes late: Prometheus also uses it for the scrape job
 * (`job="kube-state-metrics"`), so a Job that does not exist gives way to the labels after it.
 */
export const TargetLabels = [
  ['deployment', 'Deployment'],
  ['statefulset', 'StatefulSet'],
  ['daemonset', 'DaemonSet'],
  ['cronjob', 'CronJob'],
  ['job_name', 'Job'],
  ['pod', 'Pod'],
  ['job', 'Job'],
  ['horizontalpodautoscaler', 'HorizontalPodAutoscaler'],
  ['node', 'Node'],
] as const;

export interface Candidate {
  readonly label: string;
  readonly resource: ResourceRef;
}

export type TargetChoice =
  | { readonly ok: true; readonly candidates: readonly Candidate[] }
  | { readonly ok: false; readonly reason: string };

export function candidatesOfAlert(labels: Readonly<Record<string, string>>): TargetChoice {
  const namespace = labels.namespace ?? '';
  const candidates: Candidate[] = [];
  let needsNamespace: string | undefined;
  for (const [label, kind] of TargetLabels) {
    const name = labels[label];
    if (!name) continue;
    if (kind === 'Node') {
      candidates.push({ label, resource: { kind, name, namespace: '' } });
    } else if (namespace) {
      candidates.push({ label, resource: { kind, name, namespace } });
    } else {
      needsNamespace ??= label;
    }
  }
  if (candidates.length > 0) return { ok: true, candidates };
  if (needsNamespace) return { ok: false, reason: `label ${needsNamespace} needs a namespace label beside it` };
  return {
    ok: false,
    reason: `no label names a workload (one of ${TargetLabels.map(([label]) => label).join(', ')})`,
  };
}

const MAX_LABELS = 32; // the Anomaly CRD's limit on spec.labels
const MAX_LABEL_VALUE = 1_024;
/** A Kubernetes qualified name: a 253-character prefix, a slash and 63 characters. */
export const MAX_LABEL_NAME = 317;
const MAX_MESSAGE = 2_048; // the anomaly event's bound

const cut = (text: string, max: number) => (text.length <= max ? text : `${text.slice(0, max - 1)}…`);

/**
 * The alert's labels as the anomaly keeps them: alertname first, then the rest by name, within the CRD's bounds.
 * A name longer than any Kubernetes label name is dropped rather than cut, so two cut names cannot collide.
 */
export function keptLabels(labels: Readonly<Record<string, string>>): Record<string, string> {
  const names = Object.keys(labels)
    .filter((name) => name.length > 0 && name.length <= MAX_LABEL_NAME)
    .sort((a, b) => (a === 'alertname' ? -1 : b === 'alertname' ? 1 : a < b ? -1 : 1));
  return Object.fromEntries(
    names.slice(0, MAX_LABELS).map((name) => [name, (labels[name] ?? '').slice(0, MAX_LABEL_VALUE)]),
  );
}

export function messageOfAlert(alert: AlertmanagerAlert): string {
  const name = alert.labels.alertname ?? 'alert';
  const text = alert.annotations?.summary ?? alert.annotations?.description ?? alert.annotations?.message;
  return cut(text ? `${name}: ${text}` : `${name} is firing`, MAX_MESSAGE);
}

export interface ObservedAt {
  readonly observedAt: string;
  /** Set when the alert's start was outside the window Cairn keeps and was brought inside it. */
  readonly warning?: string;
}

/**
 * Go's zero time (`0001-01-01T00:00:00Z`) means "not set" and anything unparsable falls back to now; a start far
 * in the past or in the future is brought to the edge of the window rather than refused, because Alertmanager
 * cannot correct it and the alert itself is real.
 */
export function observedAtOfAlert(alert: AlertmanagerAlert, now: Date): ObservedAt {
  const at = alert.startsAt ? Date.parse(alert.startsAt) : Number.NaN;
  if (Number.isNaN(at) || at <= Date.parse('0001-01-01T00:00:00Z')) return { observedAt: now.toISOString() };
  const judged = judgeObservedAt(alert.startsAt, now);
  return judged.ok
    ? { observedAt: judged.observedAt }
    : { observedAt: judged.observedAt, warning: `startsAt ${judged.problem}; recorded as ${judged.observedAt}` };
}

/**
 * The same firing of the same alert always gets the same id, so Alertmanager's retries and its re-sends of a
 * group's still-firing alerts are recognised by the correlation stream instead of counted again.
 */
export function anomalyIdOfAlert(alert: AlertmanagerAlert): string {
  const identity =
    alert.fingerprint ??
    Object.keys(alert.labels)
      .sort()
      .map((name) => `${name}=${alert.labels[name]}`)
      .join(',');
  return `alert-${sha256Hex(`${identity}|${alert.startsAt ?? ''}`).slice(0, 32)}`;
}

export type AlertPlan =
  | { readonly action: 'ignore'; readonly reason: string }
  | { readonly action: 'reject'; readonly reason: string }
  | {
      readonly action: 'record';
      readonly signal: SignalType;
      readonly candidates: readonly Candidate[];
      readonly anomalyId: string;
      readonly message: string;
      readonly observedAt: string;
      readonly labels: Record<string, string>;
      /** What was changed to keep the alert within bounds (an out-of-range start). */
      readonly warning?: string;
    };

/** Everything about an alert that can be decided without the cluster. */
export function planAlert(alert: AlertmanagerAlert, now: Date): AlertPlan {
  if (alert.status !== 'firing') return { action: 'ignore', reason: `${alert.status} alerts are not recorded` };
  const signal = signalOfAlert(alert.labels);
  if (!signal.ok) return { action: 'reject', reason: signal.reason };
  const target = candidatesOfAlert(alert.labels);
  if (!target.ok) return { action: 'reject', reason: target.reason };
  const observed = observedAtOfAlert(alert, now);
  return {
    action: 'record',
    signal: signal.signal,
    candidates: target.candidates,
    anomalyId: anomalyIdOfAlert(alert),
    message: messageOfAlert(alert),
    observedAt: observed.observedAt,
    labels: keptLabels(alert.labels),
    ...(observed.warning === undefined ? {} : { warning: observed.warning }),
  };
}
