import type { WorkloadRef } from '../../analysis/workloadFacts.ts';

/**
 * The metric and label names the metrics enricher queries, in one table. The defaults are the names cAdvisor
 * (through the kubelet), kube-state-metrics and the usual HTTP instrumentation (`http_requests_total`,
 * `http_request_duration_seconds`) export; a installation with other names overrides entries here.
 */
export const DefaultMetricNames = {
  cpuUsage: 'container_cpu_usage_seconds_total',
  cpuThrottledPeriods: 'container_cpu_cfs_throttled_periods_total',
  cpuPeriods: 'container_cpu_cfs_periods_total',
  memoryWorkingSet: 'container_memory_working_set_bytes',
  /** kube-state-metrics; its `resource` label is matched to `memory`. */
  memoryLimit: 'kube_pod_container_resource_limits',
  restarts: 'kube_pod_container_status_restarts_total',
  httpRequests: 'http_requests_total',
  httpDurationBucket: 'http_request_duration_seconds_bucket',
  hpaCurrentReplicas: 'kube_horizontalpodautoscaler_status_current_replicas',
  hpaMaxReplicas: 'kube_horizontalpodautoscaler_spec_max_replicas',
  /** Joins an HPA to the workload it scales (`scaletargetref_name`). */
  hpaInfo: 'kube_horizontalpodautoscaler_info',
  networkReceive: 'container_network_receive_bytes_total',
  networkTransmit: 'container_network_transmit_bytes_total',
  /** Label names. */
  namespaceLabel: 'namespace',
  podLabel: 'pod',
  containerLabel: 'container',
  /** The HTTP status label of `httpRequests`; values matching `5..` are errors. */
  statusLabel: 'code',
} as const;
export type MetricNames = { readonly [K in keyof typeof DefaultMetricNames]: string };

export const MetricUnit = {
  Cores: 'cores',
  Bytes: 'bytes',
  BytesPerSecond: 'bytes/s',
  Ratio: 'ratio',
  PerSecond: 'per second',
  Seconds: 'seconds',
  Count: 'count',
  Replicas: 'replicas',
} as const;
export type MetricUnit = (typeof MetricUnit)[keyof typeof MetricUnit];

export const MetricKey = {
  Cpu: 'cpu',
  CpuThrottling: 'cpuThrottling',
  Memory: 'memory',
  MemoryOfLimit: 'memoryOfLimit',
  Restarts: 'restarts',
  RequestRate: 'requestRate',
  ErrorRate: 'errorRate',
  ErrorRatio: 'errorRatio',
  LatencyP50: 'latencyP50',
  LatencyP95: 'latencyP95',
  LatencyP99: 'latencyP99',
  HpaReplicas: 'hpaReplicas',
  HpaOfMax: 'hpaOfMax',
  NetworkReceive: 'networkReceive',
  NetworkTransmit: 'networkTransmit',
} as const;
export type MetricKey = (typeof MetricKey)[keyof typeof MetricKey];

export interface MetricQuery {
  readonly key: MetricKey;
  readonly title: string;
  readonly unit: MetricUnit;
  readonly expr: string;
  /**
   * The smallest change from the baseline that counts as one, in the metric's unit: keeps noise around a zero
   * baseline (a stray error, a few bytes) from reading as a spike.
   */
  readonly minChange: number;
}

/** Kubernetes names hold dots; in a regular expression those must match only a dot. */
const escapeRegex = (text: string) => text.replace(/[\\^$.*+?()[\]{}|]/g, '\\$&');
/** A PromQL double-quoted string. */
const quote = (text: string) => `"${text.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;

/**
 * The names the workload's pods get from their controllers: a Deployment's go through a ReplicaSet
 * (`name-<hash>-<suffix>`), a StatefulSet's are numbered, a CronJob's go through a Job named after the schedule.
 * Prometheus anchors the pattern at both ends.
 */
export const podNamePattern = (workload: Pick<WorkloadRef, 'kind' | 'name'>): string => {
  const name = escapeRegex(workload.name);
  switch (workload.kind) {
    case 'Pod':
      return name;
    case 'Deployment':
      return `${name}-[a-z0-9]+-[a-z0-9]+`;
    case 'StatefulSet':
      return `${name}-[0-9]+`;
    case 'CronJob':
      return `${name}-[0-9]+-[a-z0-9]+`;
    default:
      return `${name}-[a-z0-9]+`;
  }
};

export interface QueryOptions {
  readonly names?: Partial<MetricNames>;
  /** The range of `rate()`; at least two scrape intervals. */
  readonly rateWindow?: string;
}

/** Every query the enricher runs for one workload, in the order its section shows them. */
export function metricQueries(workload: WorkloadRef, options: QueryOptions = {}): MetricQuery[] {
  const n: MetricNames = { ...DefaultMetricNames, ...options.names };
  const r = options.rateWindow ?? '2m';
  const pods = `${n.namespaceLabel}=${quote(workload.namespace)}, ${n.podLabel}=~${quote(podNamePattern(workload))}`;
  // cAdvisor also reports the pod's own cgroup (container "") and the pause container; neither is the app.
  const containers = `${pods}, ${n.containerLabel}!="", ${n.containerLabel}!="POD"`;
  const byContainer = `${n.podLabel}, ${n.containerLabel}`;
  const errors = `${pods}, ${n.statusLabel}=~"5.."`;
  const quantile = (q: number) =>
    `histogram_quantile(${q}, sum by (le) (rate(${n.httpDurationBucket}{${pods}}[${r}])))`;
  const hpa = (metric: string) =>
    `${metric}{${n.namespaceLabel}=${quote(workload.namespace)}} and on (${n.namespaceLabel}, horizontalpodautoscaler) ${n.hpaInfo}{${n.namespaceLabel}=${quote(workload.namespace)}, scaletargetref_name=${quote(workload.name)}}`;
  return [
    {
      key: MetricKey.Cpu,
      title: 'CPU usage',
      unit: MetricUnit.Cores,
      expr: `sum(rate(${n.cpuUsage}{${containers}}[${r}]))`,
      minChange: 0.01,
    },
    {
      key: MetricKey.CpuThrottling,
      title: 'CPU throttled periods',
      unit: MetricUnit.Ratio,
      expr: `sum(rate(${n.cpuThrottledPeriods}{${containers}}[${r}])) / sum(rate(${n.cpuPeriods}{${containers}}[${r}]))`,
      minChange: 0.05,
    },
    {
      key: MetricKey.Memory,
      title: 'memory working set (largest container)',
      unit: MetricUnit.Bytes,
      expr: `max(${n.memoryWorkingSet}{${containers}})`,
      minChange: 1024 * 1024,
    },
    {
      key: MetricKey.MemoryOfLimit,
      title: 'memory working set of limit (closest container)',
      unit: MetricUnit.Ratio,
      expr: `max(sum by (${byContainer}) (${n.memoryWorkingSet}{${containers}}) / sum by (${byContainer}) (${n.memoryLimit}{${pods}, resource="memory"} > 0))`,
      minChange: 0.05,
    },
    {
      key: MetricKey.Restarts,
      title: 'container restarts (total)',
      unit: MetricUnit.Count,
      expr: `sum(${n.restarts}{${pods}})`,
      minChange: 1,
    },
    {
      key: MetricKey.RequestRate,
      title: 'request rate',
      unit: MetricUnit.PerSecond,
      expr: `sum(rate(${n.httpRequests}{${pods}}[${r}]))`,
      minChange: 0.1,
    },
    {
      key: MetricKey.ErrorRate,
      title: '5xx rate',
      unit: MetricUnit.PerSecond,
      expr: `sum(rate(${n.httpRequests}{${errors}}[${r}]))`,
      minChange: 0.05,
    },
    {
      key: MetricKey.ErrorRatio,
      title: '5xx share of requests',
      unit: MetricUnit.Ratio,
      // `or vector(0)`: no 5xx series at all means no errors, as long as there are requests.
      expr: `(sum(rate(${n.httpRequests}{${errors}}[${r}])) or vector(0)) / sum(rate(${n.httpRequests}{${pods}}[${r}]))`,
      minChange: 0.01,
    },
    { key: MetricKey.LatencyP50, title: 'latency p50', unit: MetricUnit.Seconds, expr: quantile(0.5), minChange: 0.01 },
    {
      key: MetricKey.LatencyP95,
      title: 'latency p95',
      unit: MetricUnit.Seconds,
      expr: quantile(0.95),
      minChange: 0.01,
    },
    {
      key: MetricKey.LatencyP99,
      title: 'latency p99',
      unit: MetricUnit.Seconds,
      expr: quantile(0.99),
      minChange: 0.01,
    },
    {
      key: MetricKey.HpaReplicas,
      title: 'HPA current replicas',
      unit: MetricUnit.Replicas,
      expr: `max(${hpa(n.hpaCurrentReplicas)})`,
      minChange: 1,
    },
    {
      key: MetricKey.HpaOfMax,
      title: 'HPA replicas of max',
      unit: MetricUnit.Ratio,
      expr: `max(${hpa(n.hpaCurrentReplicas)}) / max(${hpa(n.hpaMaxReplicas)})`,
      minChange: 0.1,
    },
    {
      key: MetricKey.NetworkReceive,
      title: 'network receive',
      unit: MetricUnit.BytesPerSecond,
      // Network counters belong to the pod's sandbox, so no container filter here.
      expr: `sum(rate(${n.networkReceive}{${pods}}[${r}]))`,
      minChange: 1024,
    },
    {
      key: MetricKey.NetworkTransmit,
      title: 'network transmit',
      unit: MetricUnit.BytesPerSecond,
      expr: `sum(rate(${n.networkTransmit}{${pods}}[${r}]))`,
      minChange: 1024,
    },
  ];
}
