import { describe, expect, it } from 'vitest';
import { dedupKeyInput, isSha256Hex } from './dedup.policy.ts';
import { type OwnedObject, resolveWorkload, sameWorkload, workloadKey } from './workload.resolver.ts';

const ns = 'shop';
const pod = (owners: OwnedObject['ownerReferences']): OwnedObject => ({
  kind: 'Pod',
  name: 'p-1',
  namespace: ns,
  ownerReferences: owners,
});

describe('resolveWorkload', () => {
  it('Pod → ReplicaSet → Deployment', () => {
    const replicaSet: OwnedObject = {
      kind: 'ReplicaSet',
      name: 'checkout-7d9f',
      namespace: ns,
      ownerReferences: [{ kind: 'Deployment', name: 'checkout', controller: true }],
    };
    const workload = resolveWorkload(pod([{ kind: 'ReplicaSet', name: 'checkout-7d9f', controller: true }]), [
      replicaSet,
    ]);
    expect(workload).toEqual({ kind: 'Deployment', name: 'checkout', namespace: ns });
  });

  it('stops at the ReplicaSet when its owners were not supplied', () => {
    expect(resolveWorkload(pod([{ kind: 'ReplicaSet', name: 'rs', controller: true }]))).toEqual({
      kind: 'ReplicaSet',
      name: 'rs',
      namespace: ns,
    });
  });

  it.each(['StatefulSet', 'DaemonSet', 'Job'])('Pod → %s', (kind) => {
    expect(resolveWorkload(pod([{ kind, name: 'w', controller: true }]))).toEqual({ kind, name: 'w', namespace: ns });
  });

  it('Pod → Job → CronJob', () => {
    const job: OwnedObject = {
      kind: 'Job',
      name: 'nightly-2901',
      namespace: ns,
      ownerReferences: [{ kind: 'CronJob', name: 'nightly', controller: true }],
    };
    expect(resolveWorkload(pod([{ kind: 'Job', name: 'nightly-2901', controller: true }]), [job])).toEqual({
      kind: 'CronJob',
      name: 'nightly',
      namespace: ns,
    });
  });

  it('a bare Pod is its own workload; so is a mirror pod owned by its Node', () => {
    expect(resolveWorkload(pod(undefined))).toEqual({ kind: 'Pod', name: 'p-1', namespace: ns });
    expect(resolveWorkload(pod([{ kind: 'Node', name: 'node-1', controller: true }]))).toEqual({
      kind: 'Pod',
      name: 'p-1',
      namespace: ns,
    });
  });

  it('follows the controller among several owners, and refuses to guess without one', () => {
    const owners = [
      { kind: 'ConfigMap', name: 'cm' },
      { kind: 'StatefulSet', name: 'db', controller: true },
    ];
    expect(resolveWorkload(pod(owners)).kind).toBe('StatefulSet');
    expect(
      resolveWorkload(
        pod([
          { kind: 'A', name: 'a' },
          { kind: 'B', name: 'b' },
        ]),
      ).kind,
    ).toBe('Pod');
    expect(resolveWorkload(pod([{ kind: 'Rollout', name: 'web' }])).kind).toBe('Rollout');
  });

  it('ends on an ownership cycle instead of looping', () => {
    const a: OwnedObject = {
      kind: 'A',
      name: 'a',
      namespace: ns,
      ownerReferences: [{ kind: 'B', name: 'b', controller: true }],
    };
    const b: OwnedObject = {
      kind: 'B',
      name: 'b',
      namespace: ns,
      ownerReferences: [{ kind: 'A', name: 'a', controller: true }],
    };
    expect(resolveWorkload(a, [a, b])).toEqual({ kind: 'B', name: 'b', namespace: ns });
  });

  it('keeps the cluster of a federated object', () => {
    const remote = { ...pod([{ kind: 'DaemonSet', name: 'agent', controller: true }]), cluster: 'eu-1' };
    const workload = resolveWorkload(remote);
    expect(workload).toEqual({ kind: 'DaemonSet', name: 'agent', namespace: ns, cluster: 'eu-1' });
    expect(sameWorkload(workload, { kind: 'DaemonSet', name: 'agent', namespace: ns })).toBe(false);
    expect(workloadKey(workload)).toBe('eu-1/shop/DaemonSet/agent');
  });
});

describe('dedup key input', () => {
  it('is signal|kind|name|namespace, the string the caller hashes', () => {
    expect(dedupKeyInput('oom_kill', 'Deployment', 'checkout', 'shop')).toBe('oom_kill|Deployment|checkout|shop');
  });

  it('accepts only lower-case SHA-256 hex digests', () => {
    expect(isSha256Hex('a'.repeat(64))).toBe(true);
    expect(isSha256Hex('A'.repeat(64))).toBe(false);
    expect(isSha256Hex('a'.repeat(63))).toBe(false);
    expect(isSha256Hex('oom_kill|Deployment|checkout|shop')).toBe(false);
  });
});
