import { describe, expect, it } from 'vitest';
import type { PlanBlastRadius } from '../../../domain/events/remediation.events.ts';
import { openEventStore } from '../../adapters/eventstore/openEventStore.ts';
import { createAnomalyRecorder } from '../detection/anomalyRecorder.ts';
import { issueCorrelationReactor } from '../detection/issueCorrelation.reactor.ts';
import type { Reactor } from '../reactor.ts';
import { type Analysis, issuePipelineReactor, type PipelineDeps } from './issuePipeline.reactor.ts';

/* The pipeline records the blast radius it is given with the plan, and a limit it crosses makes the plan wait. */

const workload = { kind: 'Deployment', name: 'ledger', namespace: 'payments' };
const at = (s: number) => new Date(Date.UTC(2026, 0, 1, 0, 0, s));

const restart: Analysis = {
  analysis: 'the pods ran out of memory',
  confidence: 0.9,
  recommendations: [],
  suggestedActions: [{ name: 'restart', type: 'RestartDeployment', description: 'restart', params: {} }],
  provider: 'rules',
  model: 'rules-v1',
};

const radius: PlanBlastRadius = {
  actions: [
    {
      actionId: '1-restartdeployment',
      type: 'RestartDeployment',
      pods: 1,
      pdbViolations: [{ namespace: 'payments', name: 'ledger-pdb', disruptionsAllowed: 0, podsTaken: 1 }],
      servicesEmptied: [{ namespace: 'payments', name: 'ledger', readyEndpoints: 1 }],
      quotaOverflows: [],
    },
  ],
  dependants: [{ kind: 'Deployment', name: 'checkout', namespace: 'payments' }],
};

async function planWith(blastRadius: PipelineDeps['blastRadius'], store = openEventStore('memory:')) {
  let ids = 0;
  const now = () => at(1);
  const record = createAnomalyRecorder({ store, newId: () => `id${++ids}`, now });
  const reactors: Reactor[] = [
    issueCorrelationReactor({ store }),
    issuePipelineReactor({ store, now, analyze: async () => restart, ...(blastRadius ? { blastRadius } : {}) }),
  ];
  await record({
    anomalyId: 'a1',
    signal: 'oom_kill',
    source: 'watcher',
    resource: workload,
    workload,
    message: 'oom',
    observedAt: now().toISOString(),
  });
  let seen = 0;
  for (;;) {
    const events = await store.readAll();
    if (seen >= events.length) break;
    for (const event of events.slice(seen)) {
      for (const reactor of reactors) {
        const { eventTypes, streamPrefixes } = reactor.filter ?? {};
        if (eventTypes && !eventTypes.includes(event.type)) continue;
        if (streamPrefixes && !streamPrefixes.some((p) => event.streamId.startsWith(p))) continue;
        await reactor.handle(event);
      }
    }
    seen = events.length;
  }
  const created = (await store.readAll()).find((e) => e.type === 'RemediationPlanCreated');
  return created?.data as
    | { blastRadius?: PlanBlastRadius; approval: { required: boolean; rule?: string }; actions: unknown[] }
    | undefined;
}

describe('the blast radius of a plan', () => {
  it('is recorded with the plan, for the actions the plan holds', async () => {
    const seen: string[] = [];
    const plan = await planWith(async (actions, target) => {
      seen.push(`${target.name}: ${actions.map((a) => a.type).join(', ')}`);
      return { radius, approval: [] };
    });
    expect(seen).toEqual(['ledger: RestartDeployment']);
    expect(plan?.blastRadius).toEqual(radius);
    expect(plan?.approval.required).toBe(false);
  });

  it('makes the plan wait for people when a limit is crossed, naming it', async () => {
    const plan = await planWith(async () => ({
      radius,
      approval: ['1 workload(s) depend on it, above the limit of 0'],
    }));
    expect(plan?.approval).toMatchObject({ required: true, rule: '1 workload(s) depend on it, above the limit of 0' });
  });

  it('is left out when nothing was assessed', async () => {
    const plan = await planWith(async () => undefined);
    expect(plan?.actions).toHaveLength(1);
    expect(plan && Object.hasOwn(plan, 'blastRadius')).toBe(false);
  });

  it('holds the Issue in analysis while the cluster cannot be read, and plans once it can', async () => {
    const store = openEventStore('memory:');
    await expect(
      planWith(async () => {
        throw new Error('listing the pods of namespace payments: forbidden');
      }, store),
    ).rejects.toThrow('forbidden');
    const types = (await store.readAll()).map((e) => e.type);
    expect(types).toContain('AnalysisCompleted');
    expect(types).not.toContain('RemediationStarted');
    expect(types).not.toContain('RemediationPlanCreated');
    // The event is handled again (the reactor retries it) and the cluster answers now.
    const retried = issuePipelineReactor({
      store,
      now: () => at(2),
      analyze: async () => restart,
      blastRadius: async () => ({ radius, approval: [] }),
    });
    const completed = (await store.readAll()).find((e) => e.type === 'AnalysisCompleted')!;
    await retried.handle(completed);
    const created = (await store.readAll()).find((e) => e.type === 'RemediationPlanCreated');
    expect((created?.data as { blastRadius?: unknown } | undefined)?.blastRadius).toEqual(radius);
  });
});
