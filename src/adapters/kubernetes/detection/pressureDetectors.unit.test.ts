import type { V1Node, V1Pod } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { DefaultThresholds } from './detectors.ts';
import { detectEvictedPod, detectNodePressure } from './pressureDetectors.ts';

const node = (conditions: { type: string; status: string; message?: string }[]): V1Node => ({
  metadata: { name: 'worker-1' },
  status: { conditions },
});

const healthyConditions = [
  { type: 'Ready', status: 'True' },
  { type: 'MemoryPressure', status: 'False' },
  { type: 'DiskPressure', status: 'False' },
  { type: 'PIDPressure', status: 'False' },
];

describe('node pressure', () => {
  it('says nothing about a node with every pressure condition False', () => {
    expect(detectNodePressure(node(healthyConditions), DefaultThresholds)).toEqual([]);
  });

  it('reports disk and memory pressure separately, on the node, with the kubelet message', () => {
    const findings = detectNodePressure(
      node([
        { type: 'Ready', status: 'True' },
        { type: 'DiskPressure', status: 'True', message: 'kubelet has disk pressure' },
        { type: 'MemoryPressure', status: 'True' },
      ]),
      DefaultThresholds,
    );
    expect(findings.map((f) => f.signal)).toEqual(['disk_pressure', 'memory_pressure']);
    expect(findings[0]).toMatchObject({
      subject: { kind: 'Node', name: 'worker-1', namespace: '' },
      sustainSeconds: DefaultThresholds.nodeNotReadySeconds,
      cause: { code: 'node_disk_pressure', object: { kind: 'Node', name: 'worker-1' } },
    });
    expect(findings[0]?.message).toContain('kubelet has disk pressure');
  });

  it('treats an Unknown pressure condition (an unreachable kubelet) as no pressure: NotReady covers that node', () => {
    expect(detectNodePressure(node([{ type: 'DiskPressure', status: 'Unknown' }]), DefaultThresholds)).toEqual([]);
  });
});

describe('evicted pods', () => {
  const pod = (status: V1Pod['status'], extra: Partial<V1Pod['metadata']> = {}): V1Pod => ({
    metadata: { name: 'web-abc', namespace: 'shop', ...extra },
    spec: { nodeName: 'worker-1', containers: [] },
    status,
  });

  it('reports an evicted pod with the kubelet reason and the node it left', () => {
    const [finding, ...more] = detectEvictedPod(
      pod({ phase: 'Failed', reason: 'Evicted', message: 'The node was low on resource: memory.' }),
    );
    expect(more).toEqual([]);
    expect(finding).toMatchObject({
      signal: 'pod_evicted',
      subject: { kind: 'Pod', name: 'web-abc', namespace: 'shop' },
      cause: { code: 'evicted', object: { kind: 'Node', name: 'worker-1' } },
    });
    expect(finding?.message).toBe('pod was evicted from node worker-1: The node was low on resource: memory.');
  });

  it('says nothing about a pod that failed for another reason, a running pod, or one being deleted', () => {
    expect(detectEvictedPod(pod({ phase: 'Failed', reason: 'DeadlineExceeded' }))).toEqual([]);
    expect(detectEvictedPod(pod({ phase: 'Running' }))).toEqual([]);
    expect(
      detectEvictedPod(pod({ phase: 'Failed', reason: 'Evicted' }, { deletionTimestamp: new Date('2026-01-01') })),
    ).toEqual([]);
  });
});
