import { Value } from '@sinclair/typebox/value';
import { describe, expect, it } from 'vitest';
import { issueName } from '../../../projections/kubernetesResources.projection.ts';
import { AnomalyStatusSchema } from './api/anomaly.kind.ts';
import { clusterScopedTargetKinds } from './api/anomalyAdmission.ts';
import { acceptedStatus, authorityRefusal, manualAnomalyId, rejectedStatus } from './manualAnomaly.controller.ts';
import { WorkloadKinds } from './workloadLookup.ts';

const workload = { kind: 'Deployment', name: 'checkout', namespace: 'shop' };
const at = '2025-03-01T12:00:00.000Z';
const dedupKey = 'a'.repeat(64);

describe('the status of a hand-made Anomaly', () => {
  it('once recorded: Accepted, correlated into the Issue it opened', () => {
    const status = acceptedStatus(
      { status: 'recorded', anomalyId: 'manual-u1', dedupKey, issueId: 'i1', openedIssue: true, repeated: false },
      workload,
      '2025-03-01T11:59:00.000Z',
      1,
      at,
    );
    expect(status).toMatchObject({
      observedGeneration: 1,
      correlated: true,
      issueRef: { name: issueName('i1', workload) },
      dedupKey,
      firstSeenAt: '2025-03-01T11:59:00.000Z',
      conditions: [
        { type: 'Accepted', status: 'True', reason: 'Recorded', observedGeneration: 1, lastTransitionTime: at },
        {
          type: 'Correlated',
          status: 'True',
          reason: 'JoinedIssue',
          message: `opened Issue ${issueName('i1', workload)}`,
        },
      ],
    });
    expect(Value.Check(AnomalyStatusSchema, status)).toBe(true);
  });

  it('as a duplicate: Accepted, naming the anomaly it repeats; correlated only when that one has an open Issue', () => {
    const duplicate = {
      status: 'deduplicated',
      anomalyId: 'manual-u2',
      dedupKey,
      duplicateOf: 'a1',
      repeated: false,
    } as const;
    const withIssue = acceptedStatus({ ...duplicate, issueId: 'i1' }, workload, at, 1, at);
    expect(withIssue.conditions[0]).toMatchObject({ reason: 'Deduplicated', message: expect.stringContaining('a1') });
    expect(withIssue.correlated).toBe(true);
    const alone = acceptedStatus(duplicate, workload, at, 1, at);
    expect(alone).toMatchObject({ correlated: false, conditions: [{}, { status: 'False', reason: 'NoOpenIssue' }] });
    expect(alone).not.toHaveProperty('issueRef');
    expect(Value.Check(AnomalyStatusSchema, alone)).toBe(true);
  });

  it('when refused: Accepted False with the reason and message, never correlated', () => {
    const status = rejectedStatus('ResourceNotFound', 'Pod shop/ghost does not exist', 2, at);
    expect(status).toEqual({
      observedGeneration: 2,
      correlated: false,
      conditions: [
        {
          type: 'Accepted',
          status: 'False',
          reason: 'ResourceNotFound',
          message: 'Pod shop/ghost does not exist',
          observedGeneration: 2,
          lastTransitionTime: at,
        },
      ],
    });
    expect(Value.Check(AnomalyStatusSchema, status)).toBe(true);
  });

  it('derives the anomaly id from the object uid alone', () => {
    expect(manualAnomalyId('0b5c-11')).toBe(manualAnomalyId('0b5c-11'));
    expect(manualAnomalyId('0b5c-11')).not.toBe(manualAnomalyId('0b5c-12'));
  });
});

describe('the authority of a hand-made Anomaly is its namespace', () => {
  it('may name an object of its own namespace, with or without saying the namespace', () => {
    expect(authorityRefusal('shop', { kind: 'Deployment', name: 'web' })).toBeUndefined();
    expect(authorityRefusal('shop', { kind: 'Pod', name: 'web-1', namespace: 'shop' })).toBeUndefined();
  });

  it('may not name an object of another namespace', () => {
    expect(authorityRefusal('shop', { kind: 'Deployment', name: 'ledger', namespace: 'payments' })).toEqual({
      reason: 'OutsideNamespace',
      message:
        'Deployment payments/ledger is outside namespace shop: an Anomaly may only name objects of its own namespace',
    });
  });

  it('may not name a Node, even one given a namespace', () => {
    for (const resource of [
      { kind: 'Node', name: 'n1' },
      { kind: 'Node', name: 'n1', namespace: 'shop' },
    ]) {
      expect(authorityRefusal('shop', resource)?.reason).toBe('ClusterScopedTarget');
    }
  });

  it('knows every cluster-scoped kind Cairn correlates on', () => {
    const clusterScoped = Object.entries(WorkloadKinds)
      .filter(([, entry]) => !entry.namespaced)
      .map(([kind]) => kind);
    expect([...clusterScopedTargetKinds]).toEqual(clusterScoped);
  });
});
