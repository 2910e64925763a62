import type { CoreV1Event, V1Node, V1Pod } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { NodeContextLimits, ownerWorkload, podRequest, renderNodeContext } from './nodeContext.render.ts';

const ref = { kind: 'Node', name: 'n1', namespace: '' };

const node = (overrides: Partial<V1Node> = {}): V1Node => ({
  metadata: { name: 'n1' },
  spec: {
    unschedulable: true,
    taints: [
      { key: 'node.kubernetes.io/memory-pressure', effect: 'NoSchedule', timeAdded: new Date('2026-12-07T10:00:05Z') },
    ],
  },
  status: {
    allocatable: { cpu: '2', memory: '4Gi', pods: '110' },
    conditions: [
      {
        type: 'MemoryPressure',
        status: 'True',
        reason: 'KubeletHasInsufficientMemory',
        message: 'kubelet has insufficient memory available',
        lastTransitionTime: new Date('2026-12-07T10:00:00Z'),
      },
      { type: 'DiskPressure', status: 'False', reason: 'KubeletHasNoDiskPressure' },
      { type: 'Ready', status: 'True', reason: 'KubeletReady' },
    ],
  },
  ...overrides,
});

const pod = (
  name: string,
  owner: { kind: string; name: string } | undefined,
  options: { hash?: string; cpu?: string; memory?: string; phase?: string; ready?: boolean; init?: string } = {},
): V1Pod => ({
  metadata: {
    name,
    namespace: 'shop',
    ...(options.hash ? { labels: { 'pod-template-hash': options.hash } } : {}),
    ...(owner
      ? { ownerReferences: [{ ...owner, apiVersion: 'apps/v1', uid: `${owner.name}-uid`, controller: true }] }
      : {}),
  },
  spec: {
    nodeName: 'n1',
    containers: [
      { name: 'app', resources: { requests: { cpu: options.cpu ?? '250m', memory: options.memory ?? '256Mi' } } },
    ],
    ...(options.init ? { initContainers: [{ name: 'init', resources: { requests: { cpu: options.init } } }] } : {}),
  },
  status: {
    phase: options.phase ?? 'Running',
    conditions: [{ type: 'Ready', status: options.ready === false ? 'False' : 'True' }],
  },
});

const warning = (reason: string, message: string, at: string): CoreV1Event => ({
  metadata: { name: `${reason}-${at}` },
  involvedObject: { kind: 'Node', name: 'n1' },
  type: 'Warning',
  reason,
  message,
  lastTimestamp: new Date(at),
});

describe('ownerWorkload', () => {
  it('names the Deployment behind a ReplicaSet, keeps other controllers, and a bare pod as itself', () => {
    expect(ownerWorkload(pod('web-abc12-x', { kind: 'ReplicaSet', name: 'web-abc12' }, { hash: 'abc12' }))).toEqual({
      kind: 'Deployment',
      namespace: 'shop',
      name: 'web',
    });
    expect(ownerWorkload(pod('rs-x', { kind: 'ReplicaSet', name: 'plain' }))).toEqual({
      kind: 'ReplicaSet',
      namespace: 'shop',
      name: 'plain',
    });
    expect(ownerWorkload(pod('db-0', { kind: 'StatefulSet', name: 'db' }))).toEqual({
      kind: 'StatefulSet',
      namespace: 'shop',
      name: 'db',
    });
    expect(ownerWorkload(pod('loner', undefined))).toEqual({ kind: 'Pod', namespace: 'shop', name: 'loner' });
  });
});

describe('podRequest', () => {
  it('counts an init container when it asks for more than the containers together', () => {
    expect(podRequest(pod('a', undefined, { cpu: '250m' }), 'cpu')).toBeCloseTo(0.25);
    expect(podRequest(pod('a', undefined, { cpu: '250m', init: '1' }), 'cpu')).toBe(1);
    expect(podRequest(pod('a', undefined, { memory: '1Gi' }), 'memory')).toBe(2 ** 30);
  });
});

describe('renderNodeContext', () => {
  const pods = [
    pod('web-abc12-1', { kind: 'ReplicaSet', name: 'web-abc12' }, { hash: 'abc12' }),
    pod('web-abc12-2', { kind: 'ReplicaSet', name: 'web-abc12' }, { hash: 'abc12', ready: false }),
    pod('db-0', { kind: 'StatefulSet', name: 'db' }, { cpu: '500m', memory: '1Gi' }),
    pod('done', { kind: 'Job', name: 'batch' }, { phase: 'Succeeded' }),
  ];
  const events = [
    warning('EvictionThresholdMet', 'Attempting to reclaim memory', '2026-12-07T10:01:00Z'),
    warning('NodeHasInsufficientMemory', 'Node n1 status is now: NodeHasInsufficientMemory', '2026-12-07T10:02:00Z'),
    { ...warning('Starting', 'Starting kubelet.', '2026-12-07T09:00:00Z'), type: 'Normal' },
  ];

  it('shows conditions, taints, cordon, requests against allocatable, workloads and Warning events', () => {
    const { text, facts } = renderNodeContext({ ref, node: node(), pods, events, notes: [] });
    expect(text).toContain('Node n1: Ready=True, cordoned (unschedulable), under MemoryPressure');
    expect(text).toContain(
      '- MemoryPressure=True (KubeletHasInsufficientMemory) since 2026-12-07T10:00:00.000Z: kubelet has insufficient memory available',
    );
    expect(text).toContain('- node.kubernetes.io/memory-pressure:NoSchedule (added 2026-12-07T10:00:05.000Z)');
    // The finished Job pod requests nothing any more.
    expect(text).toContain('- cpu 1 / 2 (50%)');
    expect(text).toContain('- memory 1.5Gi / 4Gi (38%)');
    expect(text).toContain('- pods 3 / 110');
    expect(text).toContain('- Deployment shop/web: 2 pods, 1 not ready');
    expect(text).toContain('- StatefulSet shop/db: 1 pod');
    expect(text).not.toContain('batch');
    // Newest Warning first; Normal events are left out.
    expect(text.indexOf('NodeHasInsufficientMemory:')).toBeLessThan(text.indexOf('EvictionThresholdMet:'));
    expect(text).not.toContain('Starting kubelet');
    expect(facts.found).toBe(true);
    expect(facts.podCount).toBe(3);
    expect(facts.notReadyPods).toBe(1);
    expect(facts.warningReasons).toEqual(['NodeHasInsufficientMemory', 'EvictionThresholdMet']);
    expect(facts.subject?.problems).toEqual([
      'node n1 reports MemoryPressure',
      'node n1 is cordoned (spec.unschedulable)',
    ]);
    expect(facts.node?.pressure).toEqual(['MemoryPressure']);
    expect(facts.node?.workloadCount).toBe(2);
  });

  it('stays within its bound by listing fewer workloads and events, and counts the rest', () => {
    const many = Array.from({ length: 60 }, (_, i) =>
      pod(`p${i}`, { kind: 'StatefulSet', name: `a-rather-long-statefulset-name-number-${i}` }),
    );
    const noisy = Array.from({ length: 30 }, (_, i) =>
      warning(`Reason${i}`, 'x'.repeat(300), `2026-12-07T10:${String(i).padStart(2, '0')}:00Z`),
    );
    const { text, facts } = renderNodeContext(
      { ref, node: node(), pods: many, events: noisy, notes: [] },
      { maxChars: 2_000 },
    );
    expect(text.length).toBeLessThanOrEqual(2_000);
    expect(text).toContain('Workloads with pods on the node (60, 60 pods):');
    expect(text).toMatch(/- … and \d+ more/);
    expect(text).toContain('Ready=True');
    expect(facts.node?.workloads).toHaveLength(NodeContextLimits.workloads);
    expect(facts.node?.warningEvents).toHaveLength(NodeContextLimits.events);
  });

  it('says which parts could not be read, without credentials', () => {
    const { text } = renderNodeContext({
      ref,
      node: node(),
      pods: [],
      events: [],
      notes: ['events about the node could not be read: 403 for token=abcdef0123456789abcdef'],
    });
    expect(text).toContain('Notes:\n- events about the node could not be read: 403');
    expect(text).not.toContain('abcdef0123456789abcdef');
    expect(text).toContain('Workloads with pods on the node (0, 0 pods):\n- none');
  });

  it('shows an unreadable allocatable figure as unknown rather than failing', () => {
    const odd = node({ status: { allocatable: { cpu: 'lots', memory: '4Gi' }, conditions: [] } });
    const { text, facts } = renderNodeContext({
      ref,
      node: odd,
      pods: [pod('a', undefined, { cpu: 'x' })],
      events: [],
      notes: [],
    });
    expect(text).toContain('- cpu 0m / ?');
    expect(text).toContain('Node n1: Ready=Unknown');
    expect(facts.node?.resources.allocatableCpu).toBeUndefined();
    expect(facts.subject?.problems).toContain('node n1 is Ready=Unknown');
  });

  it('reports a node that is gone as not found', () => {
    const context = renderNodeContext({ ref, pods: [], events: [], notes: [] });
    expect(context.facts.found).toBe(false);
    expect(context.text).toBe('Node n1 does not exist.');
  });
});
