import type { V1Node, V1Pod } from '@kubernetes/client-node';
import type { DetectorSet } from './detectionView.ts';
import type { DetectionThresholds, Finding } from './detectors.ts';

/** The node conditions that say the kubelet is short of something and may start evicting pods. */
const PRESSURES = [
  ['DiskPressure', 'disk_pressure', 'disk'],
  ['MemoryPressure', 'memory_pressure', 'memory'],
] as const;

/**
 * A node short of disk or memory. Conditions are rewritten at each kubelet heartbeat, so the same sustain as a
 * NotReady node keeps one flapping reading from becoming an Anomaly.
 */
export function detectNodePressure(node: V1Node, t: DetectionThresholds): Finding[] {
  const name = node.metadata?.name ?? '';
  return PRESSURES.flatMap(([type, signal, what]) => {
    const condition = node.status?.conditions?.find((c) => c.type === type);
    if (condition?.status !== 'True') return [];
    return [
      {
        signal,
        subject: { kind: 'Node', name, namespace: '' },
        message: `node is low on ${what} (${type}${condition.message ? `: ${condition.message}` : ''}); the kubelet may evict pods`,
        sustainSeconds: t.nodeNotReadySeconds,
        cause: {
          code: `node_${what}_pressure`,
          message: condition.message ?? `${type} is True`,
          object: { kind: 'Node', name, namespace: '' },
        },
      },
    ];
  });
}

/**
 * A pod the kubelet evicted (phase Failed, reason Evicted). It stays listed until someone deletes it, which is
 * why one episode per pod is reported once; it is attributed to its workload like any pod.
 */
export function detectEvictedPod(pod: V1Pod): Finding[] {
  if (pod.status?.phase !== 'Failed' || pod.status.reason !== 'Evicted' || pod.metadata?.deletionTimestamp) return [];
  const node = pod.spec?.nodeName;
  return [
    {
      signal: 'pod_evicted',
      subject: { kind: 'Pod', name: pod.metadata?.name ?? '', namespace: pod.metadata?.namespace ?? '' },
      message: `pod was evicted${node ? ` from node ${node}` : ''}: ${pod.status.message ?? 'no reason given'}`,
      sustainSeconds: 0,
      cause: {
        code: 'evicted',
        message: pod.status.message ?? 'evicted by the kubelet',
        ...(node ? { object: { kind: 'Node', name: node, namespace: '' } } : {}),
      },
    },
  ];
}

/** Node resource pressure and the evictions it causes. */
export const pressureDetectors: DetectorSet = {
  detectors: { Node: detectNodePressure, Pod: detectEvictedPod },
};
