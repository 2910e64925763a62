import { FaultMarks } from './stages.ts';

/**
 * Kubelet-style container metrics for the local control plane: KWOK serves them per node at
 * `/metrics/nodes/<node>/metrics/resource` on its controller's port (listed for Prometheus at
 * `/discovery/prometheus`), so a real Prometheus scrapes container usage as it would from cAdvisor.
 *
 * A pod's memory working set is its `fault.cairn.dev/memory-working-set` annotation, the same figure the OOM stage
 * compares with the limit: a working set below the limit shows as usage, one above it gets the container killed.
 * CPU comes from `fault.cairn.dev/cpu-usage`. Memory limits are exported the way kube-state-metrics names them.
 */
export const UsageMarks = {
  workingSet: FaultMarks.workingSet,
  cpu: 'fault.cairn.dev/cpu-usage',
} as const;

const annotated = (key: string, fallback: string) =>
  `"${key}" in pod.metadata.annotations ? Quantity(pod.metadata.annotations["${key}"]) : Quantity("${fallback}")`;

const containerLabels = [
  { name: 'container', value: 'container.name' },
  { name: 'namespace', value: 'pod.metadata.namespace' },
  { name: 'pod', value: 'pod.metadata.name' },
];

export const localClusterMetrics = () => [
  {
    apiVersion: 'kwok.x-k8s.io/v1alpha1',
    kind: 'ClusterResourceUsage',
    metadata: { name: 'cairn-usage' },
    spec: {
      usages: [
        {
          usage: {
            cpu: { expression: annotated(UsageMarks.cpu, '1m') },
            memory: { expression: annotated(UsageMarks.workingSet, '1Mi') },
          },
        },
      ],
    },
  },
  {
    apiVersion: 'kwok.x-k8s.io/v1alpha1',
    kind: 'Metric',
    metadata: { name: 'metrics-resource' },
    spec: {
      path: '/metrics/nodes/{nodeName}/metrics/resource',
      metrics: [
        {
          name: 'container_cpu_usage_seconds_total',
          dimension: 'container',
          help: 'Cumulative CPU time consumed by the container in core-seconds',
          kind: 'counter',
          labels: containerLabels,
          value: 'pod.CumulativeUsage("cpu", container.name)',
        },
        {
          name: 'container_memory_working_set_bytes',
          dimension: 'container',
          help: 'Current working set of the container in bytes',
          kind: 'gauge',
          labels: containerLabels,
          value: 'pod.Usage("memory", container.name)',
        },
        {
          name: 'kube_pod_container_resource_limits',
          dimension: 'container',
          help: 'The container memory limit in bytes (0 when it has none)',
          kind: 'gauge',
          labels: [...containerLabels, { name: 'resource', value: '"memory"' }, { name: 'unit', value: '"byte"' }],
          value: '"memory" in container.resources.limits ? container.resources.limits["memory"] : Quantity("0")',
        },
      ],
    },
  },
];
