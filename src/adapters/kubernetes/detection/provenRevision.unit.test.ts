import type * as k8s from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { provenDeploymentRevision, provenStatefulSetRevision } from './provenRevision.ts';

const deployment = (status: k8s.V1DeploymentStatus, generation = 2): k8s.V1Deployment => ({
  metadata: { name: 'web', uid: 'd1', generation, annotations: { 'deployment.kubernetes.io/revision': '3' } },
  spec: { replicas: 2, selector: {}, template: {} },
  status: { observedGeneration: 2, ...status },
});
const rs = (revision: string, hash: string, available: number, owner = 'd1'): k8s.V1ReplicaSet => ({
  metadata: {
    name: `web-${hash}`,
    labels: { 'pod-template-hash': hash },
    annotations: { 'deployment.kubernetes.io/revision': revision },
    ownerReferences: [{ apiVersion: 'apps/v1', kind: 'Deployment', name: 'web', uid: owner, controller: true }],
  },
  status: { replicas: available, availableReplicas: available },
});
const done = { replicas: 2, updatedReplicas: 2, availableReplicas: 2 };

describe('a Deployment proves its revision', () => {
  it('when its rollout completed: every replica updated and available, the old ones gone', () => {
    expect(provenDeploymentRevision(deployment(done), [rs('2', 'old', 0), rs('3', 'new', 2)])).toBe('new');
  });

  it('not while the rollout is under way, failing, or not yet observed', () => {
    const sets = [rs('2', 'old', 1), rs('3', 'new', 2)];
    expect(provenDeploymentRevision(deployment({ ...done, replicas: 3 }), sets)).toBeUndefined();
    expect(provenDeploymentRevision(deployment({ ...done, updatedReplicas: 1 }), sets)).toBeUndefined();
    expect(
      provenDeploymentRevision(deployment({ ...done, availableReplicas: 1, unavailableReplicas: 1 }), sets),
    ).toBeUndefined();
    expect(provenDeploymentRevision(deployment(done, 3), sets)).toBeUndefined();
    // The ReplicaSet of the current revision must itself count the pods as available.
    expect(provenDeploymentRevision(deployment(done), [rs('3', 'new', 1)])).toBeUndefined();
    // Another Deployment's ReplicaSet with the same revision number proves nothing.
    expect(provenDeploymentRevision(deployment(done), [rs('3', 'new', 2, 'other')])).toBeUndefined();
  });

  it('not at zero replicas', () => {
    const idle = deployment({ ...done, replicas: 0, updatedReplicas: 0, availableReplicas: 0 });
    idle.spec = { ...idle.spec!, replicas: 0 };
    expect(provenDeploymentRevision(idle, [rs('3', 'new', 0)])).toBeUndefined();
  });
});

describe('a StatefulSet proves its revision', () => {
  const set = (status: Partial<k8s.V1StatefulSetStatus>): k8s.V1StatefulSet => ({
    metadata: { name: 'db', generation: 1 },
    spec: { replicas: 3, selector: {}, serviceName: 'db', template: {} },
    status: {
      observedGeneration: 1,
      replicas: 3,
      readyReplicas: 3,
      currentRevision: 'db-aaa',
      updateRevision: 'db-aaa',
      ...status,
    },
  });
  it('when every pod runs the update revision and is ready', () => {
    expect(provenStatefulSetRevision(set({}))).toBe('db-aaa');
  });
  it('not during a rollout or with pods not ready', () => {
    expect(provenStatefulSetRevision(set({ updateRevision: 'db-bbb' }))).toBeUndefined();
    expect(provenStatefulSetRevision(set({ readyReplicas: 2 }))).toBeUndefined();
  });
});
