import type * as k8s from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { trimForCache } from './clusterWatch.ts';

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

  it('leaves the object it was given unchanged', () => {
    const original = cronJob();
    const before = JSON.stringify(original);
    trimForCache(original);
    expect(JSON.stringify(original)).toBe(before);
  });

  it('returns an object with nothing to trim (or no metadata at all) as it is', () => {
    const plain: k8s.V1Pod = { metadata: { name: 'web-1', namespace: 'shop', annotations: { a: 'b' } } };
    expect(trimForCache(plain)).toBe(plain);
    const bare = {} as k8s.KubernetesObject;
    expect(trimForCache(bare)).toBe(bare);
  });

  it('keeps an entry that owns no field (an empty fieldsV1) without inventing sections', () => {
    const pod: k8s.V1Pod = {
      metadata: { name: 'web-1', managedFields: [{ manager: 'cairn', operation: 'Apply', fieldsV1: {} }] },
    };
    expect(trimForCache(pod).metadata?.managedFields).toEqual([{ manager: 'cairn', operation: 'Apply' }]);
  });
});
