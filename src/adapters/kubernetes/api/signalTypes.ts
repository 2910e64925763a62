/**
 * The signals an Anomaly can carry. The CRD enum is built from this list, so a watcher, the Alertmanager receiver or
 * a hand-written Anomaly cannot introduce a signal the correlation weights do not know. `custom` carries an alert
 * that maps to no known signal; its name travels in `spec.alertName`.
 */
export const signalTypes = [
  // pods and containers
  'oom_kill',
  'pod_restart',
  'crashloop',
  'pod_not_ready',
  'image_pull',
  'pod_evicted',
  // workloads
  'deploy_failing',
  'statefulset_unavailable',
  'daemonset_unavailable',
  'job_failed',
  'cronjob_failing',
  'hpa_maxed',
  'hpa_misconfigured',
  'cronjob_missed',
  // services, networking and admission
  'service_no_endpoints',
  'ingress_misconfigured',
  'netpol_selects_nothing',
  'webhook_unavailable',
  // nodes and storage
  'node_not_ready',
  'disk_pressure',
  'memory_pressure',
  'pvc_pending',
  // metrics and alerts
  'error_rate',
  'latency_spike',
  'cpu_high',
  'memory_high',
  'ingress_error',
  'certificate_expiring',
  'slo_burn_rate',
  // delivery
  'helm_release_failed',
  'argocd_degraded',
  'flux_not_ready',
  'config_drift',
  // raised by hand
  'manual',
  'custom',
] as const;

export type SignalType = (typeof signalTypes)[number];

/** Where an Anomaly came from (DESIGN.md "Pipeline", step 1); the same values as the domain's AnomalySource. */
export const anomalySources = ['watcher', 'prometheus', 'kafka', 'grpc', 'manual'] as const;
export type AnomalySource = (typeof anomalySources)[number];
