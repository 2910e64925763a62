import { describe, expect, it } from 'vitest';
import { createAnomalyIntake } from '../../application/detection/anomalyIntake.ts';
import { correlationStream, createAnomalyRecorder } from '../../application/detection/anomalyRecorder.ts';
import type { WorkloadLookup } from '../../ports/workloadLookup.ts';
import { createMemoryEventStore } from '../eventstore/memory.eventStore.ts';
import type { WireAlertInfo } from './aiops.proto.ts';
import { planServerAlert, pollServerAlerts } from './alertPoller.ts';

const now = new Date('2026-01-01T00:10:00.000Z');
const alert = (overrides: Partial<WireAlertInfo> = {}): WireAlertInfo => ({
  alertType: 'OOMKilled',
  deployment: 'web',
  namespace: 'shop',
  message: 'container app was OOMKilled',
  severity: 'high',
  timestamp: 1767225600,
  resourceKind: '',
  resourceName: '',
  signal: '',
  ...overrides,
});

/** Every object exists and is its own workload, except pods, which belong to the `web` Deployment. */
const workloads: WorkloadLookup = {
  resolve: async (resource) => ({
    ok: true,
    resource: { kind: resource.kind, name: resource.name, namespace: resource.namespace },
    workload:
      resource.kind === 'Pod'
        ? { kind: 'Deployment', name: 'web', namespace: resource.namespace }
        : { kind: resource.kind, name: resource.name, namespace: resource.namespace },
  }),
};

describe('AI server alerts as anomalies', () => {
  it('maps the reference alert names and Cairn signals, and keeps the object', () => {
    expect(planServerAlert(alert(), 'ai:1', now)).toMatchObject({
      action: 'record',
      signal: 'oom_kill',
      resource: { kind: 'Deployment', name: 'web', namespace: 'shop' },
      observedAt: '2026-01-01T00:00:00.000Z',
      message: 'OOMKilled: container app was OOMKilled',
      labels: { alertname: 'OOMKilled', severity: 'high', ai_server: 'ai:1' },
    });
    expect(planServerAlert(alert({ alertType: 'HighRestartCount' }), 'ai:1', now)).toMatchObject({
      signal: 'pod_restart',
    });
    expect(
      planServerAlert(
        alert({ alertType: 'x', signal: 'pod_not_ready', resourceKind: 'StatefulSet', resourceName: 'db' }),
        'ai:1',
        now,
      ),
    ).toMatchObject({ signal: 'pod_not_ready', resource: { kind: 'StatefulSet', name: 'db' } });
    expect(planServerAlert(alert({ alertType: 'SomethingOdd' }), 'ai:1', now)).toMatchObject({ signal: 'custom' });
    expect(planServerAlert(alert({ deployment: '' }), 'ai:1', now)).toEqual({
      action: 'skip',
      reason: 'OOMKilled names no workload',
    });
    expect(planServerAlert(alert({ timestamp: 0 }), 'ai:1', now)).toMatchObject({ observedAt: now.toISOString() });
  });

  it('records each alert once, however often it is polled, and dedups a second alert about the same fault', async () => {
    const store = createMemoryEventStore();
    let id = 0;
    const recorder = createAnomalyRecorder({ store, newId: () => `id-${++id}`, now: () => now, actor: 'system:grpc' });
    const intake = createAnomalyIntake({ record: recorder, store });
    let alerts = [alert(), alert({ alertType: 'PodNotReady', resourceKind: 'Pod', resourceName: 'web-1' })];
    const poll = () =>
      pollServerAlerts({ getAlerts: async () => alerts, server: 'ai:1', intake, workloads, now: () => now });

    expect(await poll()).toEqual({ recorded: 2, repeated: 0, deduplicated: 0, skipped: 0 });
    expect(await poll()).toEqual({ recorded: 0, repeated: 2, deduplicated: 0, skipped: 0 });
    // The same fault reported again later (a new timestamp): the correlation stream's dedup window holds it.
    alerts = [alert({ timestamp: 1767225660 })];
    expect(await poll()).toEqual({ recorded: 0, repeated: 0, deduplicated: 1, skipped: 0 });

    const events = await store.readStream(correlationStream({ kind: 'Deployment', name: 'web', namespace: 'shop' }));
    const detected = events
      .filter((e) => e.type === 'AnomalyDetected')
      .map((e) => e.data as { signal: string; source: string });
    expect(detected).toEqual([
      expect.objectContaining({ signal: 'oom_kill', source: 'grpc' }),
      expect.objectContaining({ signal: 'pod_not_ready', source: 'grpc' }),
    ]);
  });

  it('asks for one namespace when the operator watches one, and drops alerts outside the watched ones', async () => {
    const asked: string[] = [];
    const store = createMemoryEventStore();
    const recorder = createAnomalyRecorder({ store, newId: () => Math.random().toString(16).slice(2), now: () => now });
    const intake = createAnomalyIntake({ record: recorder, store });
    const summary = await pollServerAlerts({
      getAlerts: async (namespace) => {
        asked.push(namespace);
        return [alert(), alert({ namespace: 'other' })];
      },
      server: 'ai:1',
      intake,
      workloads,
      namespaces: ['shop'],
      now: () => now,
    });
    expect(asked).toEqual(['shop']);
    expect(summary.recorded).toBe(1);
  });
});
