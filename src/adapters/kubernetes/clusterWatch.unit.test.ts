import type * as k8s from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { isEventRead, trimForCache } from './clusterWatch.ts';

const cronJob = (): k8s.V1CronJob => ({
  metadata: {
    name: 'nightly',
    namespace: 'shop',
    resourceVersion: '42',
    labels: { app: 'nightly' },
    annotations: {
      'kubectl.kubernetes.io/last-applied-configuration': JSON.stringify({ spec: { schedule: '0 3 * * *' } }),
      'team.example.com/owner': 'billing',
    },
    managedFields: [
      {
        manager: 'kubectl-client-side-apply',
        operation: 'Update',
        apiVersion: 'batch/v1',
        time: new Date('2026-12-01T03:00:00Z'),
        fieldsType: 'FieldsV1',
        fieldsV1: { 'f:metadata': { 'f:labels': { '.': {}, 'f:app': {} } }, 'f:spec': { 'f:schedule': {} } },
      },
      {
        manager: 'kube-controller-manager',
        operation: 'Update',
        subresource: 'status',
        time: new Date('2026-12-02T03:00:00Z'),
        fieldsType: 'FieldsV1',
        fieldsV1: { 'f:status': { 'f:lastScheduleTime': {} } },
      },
    ],
  },
  spec: { schedule: '0 3 * * *', jobTemplate: { spec: { template: { spec: { containers: [] } } } } },
});

describe('trimForCache: what the informer caches keep of an object', () => {
  it('keeps who wrote which top-level section and when, not every leaf they own', () => {
    const trimmed = trimForCache(cronJob());
    expect(trimmed.metadata?.managedFields).toEqual([
      {
        manager: 'kubectl-client-side-apply',
        operation: 'Update',
        apiVersion: 'batch/v1',
        time: new Date('2026-12-01T03:00:00Z'),
        fieldsType: 'FieldsV1',
        fieldsV1: { 'f:metadata': {}, 'f:spec': {} },
      },
      {
        manager: 'kube-controller-manager',
        operation: 'Update',
        subresource: 'status',
        time: new Date('2026-12-02T03:00:00Z'),
        fieldsType: 'FieldsV1',
        fieldsV1: { 'f:status': {} },
      },
    ]);
  });

  it("drops kubectl's last-applied copy of the object and keeps every other annotation, label and the spec", () => {
    const original = cronJob();
    const trimmed = trimForCache(original);
    expect(trimmed.metadata?.annotations).toEqual({ 'team.example.com/owner': 'billing' });
    expect(trimmed.metadata).toMatchObject({ name: 'nightly', namespace: 'shop', resourceVersion: '42' });
    expect(trimmed.metadata?.labels).toEqual({ app: 'nightly' });
    expect(trimmed.spec).toEqual(original.spec);
  });

  it('trims the object it is given and returns it (a fresh list or watch object nothing else holds)', () => {
    const original = cronJob();
    expect(trimForCache(original)).toBe(original);
    expect(original.metadata?.annotations).not.toHaveProperty(['kubectl.kubernetes.io/last-applied-configuration']);
  });

  it('keeps entries that own only top-level fields as they are: summarising them would save nothing', () => {
    // An Event's managers write flat fields only.
    const entry: k8s.V1ManagedFieldsEntry = {
      manager: 'kube-scheduler',
      operation: 'Update',
      fieldsType: 'FieldsV1',
      fieldsV1: { 'f:reason': {}, 'f:note': {}, 'f:type': {} },
    };
    const event: k8s.CoreV1Event = {
      metadata: { name: 'web-1.1', namespace: 'shop', managedFields: [entry] },
      involvedObject: { kind: 'Pod', name: 'web-1' },
    };
    const fields = event.metadata.managedFields;
    trimForCache(event);
    expect(event.metadata.managedFields).toBe(fields);
    expect(event.metadata.managedFields?.[0]).toBe(entry);
  });

  it('leaves an object with no metadata, or nothing to trim, alone', () => {
    const plain: k8s.V1Pod = { metadata: { name: 'web-1', namespace: 'shop', annotations: { a: 'b' } } };
    const before = JSON.stringify(plain);
    expect(trimForCache(plain)).toBe(plain);
    expect(JSON.stringify(plain)).toBe(before);
    const bare = {} as k8s.KubernetesObject;
    expect(trimForCache(bare)).toBe(bare);
  });

  it('summarises one entry of several and keeps an entry that owns nothing as it is', () => {
    const empty: k8s.V1ManagedFieldsEntry = { manager: 'cairn', operation: 'Apply', fieldsV1: {} };
    const pod: k8s.V1Pod = {
      metadata: {
        name: 'web-1',
        managedFields: [
          empty,
          {
            manager: 'kubelet',
            operation: 'Update',
            subresource: 'status',
            fieldsV1: { 'f:status': { 'f:phase': {} } },
          },
        ],
      },
    };
    expect(trimForCache(pod).metadata?.managedFields).toEqual([
      empty,
      { manager: 'kubelet', operation: 'Update', subresource: 'status', fieldsV1: { 'f:status': {} } },
    ]);
  });
});

describe('which Events the cache keeps', () => {
  const event = (type: string, reason: string, kind = 'Pod') =>
    ({ type, reason, involvedObject: { kind, name: 'x', namespace: 'shop' } }) as k8s.CoreV1Event;

  it('keeps every Warning, every Event about a claim or a CronJob, and SuccessfulCreate', () => {
    expect(isEventRead(event('Warning', 'FailedScheduling'))).toBe(true);
    expect(isEventRead(event('Warning', 'Failed'))).toBe(true);
    expect(isEventRead(event('Normal', 'FailedBinding', 'PersistentVolumeClaim'))).toBe(true);
    expect(isEventRead(event('Normal', 'ExternalProvisioning', 'PersistentVolumeClaim'))).toBe(true);
    expect(isEventRead(event('Normal', 'SawCompletedJob', 'CronJob'))).toBe(true);
    expect(isEventRead(event('Normal', 'SuccessfulCreate', 'ReplicaSet'))).toBe(true);
  });

  it('drops the routine Normal rest', () => {
    for (const reason of ['Scheduled', 'Pulled', 'Created', 'Started', 'Killing']) {
      expect(isEventRead(event('Normal', reason)), reason).toBe(false);
    }
    expect(isEventRead(event('Normal', 'ScalingReplicaSet', 'Deployment'))).toBe(false);
  });
});
