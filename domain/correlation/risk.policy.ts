import { Severity } from '../events/common.schema.ts';

/**
 * The one table of signal weights. The first six come from the reference operator; the rest are ours, placed by
 * how directly users feel the failure: a whole node or an unavailable stateful set is as bad as an OOM kill, a
 * failed batch job or a maxed-out HPA is a warning that something is about to hurt.
 */
export const SignalWeights = {
  oom_kill: 30,
  error_rate: 25,
  deploy_failing: 25,
  latency_spike: 20,
  pod_restart: 20,
  pod_not_ready: 20,
  crashloop: 25,
  image_pull: 20,
  job_failed: 15,
  cronjob_failing: 15,
  statefulset_unavailable: 25,
  daemonset_unavailable: 20,
  node_not_ready: 30,
  // A node short of disk or memory evicts pods next; an eviction is a pod lost, rescheduled elsewhere if it can be.
  disk_pressure: 20,
  memory_pressure: 20,
  pod_evicted: 15,
  hpa_maxed: 15,
  // Configuration faults: the workload may run, but users cannot reach it (a Service or Ingress pointing at nothing)
  // or the next change will fail (an admission webhook with no backend blocks every write it intercepts).
  service_no_endpoints: 25,
  ingress_misconfigured: 20,
  webhook_unavailable: 25,
  pvc_pending: 15,
  cronjob_missed: 15,
  hpa_misconfigured: 10,
  // A policy that selects nothing protects nothing: worth a look, never a page.
  netpol_selects_nothing: 5,
  manual: 20,
  // A ServiceLevelObjective spending its error budget too fast: users already feel it, as with error_rate.
  slo_burn_rate: 25,
} as const;
export type KnownSignal = keyof typeof SignalWeights;

/** For signals outside the table (any Alertmanager alert can become one): enough to show, not to alarm. */
export const DEFAULT_SIGNAL_WEIGHT = 10;
export const MAX_RISK_SCORE = 100;

export const isKnownSignal = (signal: string): signal is KnownSignal => Object.hasOwn(SignalWeights, signal);

export const signalWeight = (signal: string): number =>
  isKnownSignal(signal) ? SignalWeights[signal] : DEFAULT_SIGNAL_WEIGHT;

/** Each signal counts once per Issue: a pod restarting ten times is one pod_restart, not a critical incident. */
export const riskScore = (signals: Iterable<string>): number => {
  let sum = 0;
  for (const signal of new Set(signals)) sum += signalWeight(signal);
  return Math.min(sum, MAX_RISK_SCORE);
};

export const severityFor = (score: number): Severity => {
  if (score >= 80) return Severity.Critical;
  if (score >= 60) return Severity.High;
  if (score >= 40) return Severity.Medium;
  return Severity.Low;
};
