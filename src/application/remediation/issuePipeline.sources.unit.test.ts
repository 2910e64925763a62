import { describe, expect, it } from 'vitest';
import type { AnomalySource } from '../../../domain/events/common.schema.ts';
import { openEventStore } from '../../adapters/eventstore/openEventStore.ts';
import { createAnomalyRecorder } from '../detection/anomalyRecorder.ts';
import { issueCorrelationReactor } from '../detection/issueCorrelation.reactor.ts';
import type { Reactor } from '../reactor.ts';
import { type Analysis, issuePipelineReactor, type PipelineDeps } from './issuePipeline.reactor.ts';

/*
 * A signal Cairn's own watchers did not see on the live object (a hand-made Anomaly, a REST call, an alert, a
 * polled AI server) may open an Issue, but its remediation waits for people unless a watcher confirms it.
 */

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

const everyExternal: readonly AnomalySource[] = ['manual', 'prometheus', 'grpc', 'kafka'];

/** The real recorder, correlation and pipeline over one store; `run` hands every new event to both reactors. */
function setUp(options: Pick<PipelineDeps, 'unconfirmedSourcesNeedApproval'>) {
  const store = openEventStore('memory:');
  let ids = 0;
  let clock = 0;
  const now = () => at(clock);
  const record = createAnomalyRecorder({ store, newId: () => `id${++ids}`, now });
  const reactors: Reactor[] = [
    issueCorrelationReactor({ store }),
    issuePipelineReactor({ store, now, analyze: async () => restart, ...options }),
  ];
  let seen = 0;
  const run = async () => {
    for (;;) {
      const events = await store.readAll();
      if (seen >= events.length) return;
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
  };
  const signal = async (source: AnomalySource, signal = 'oom_kill') => {
    clock += 1;
    await record({
      anomalyId: `${source}-${signal}`,
      signal,
      source,
      resource: workload,
      workload,
      message: `${signal} from ${source}`,
      observedAt: now().toISOString(),
    });
  };
  const plans = async () =>
    (await store.readAll())
      .filter((e) => e.type === 'RemediationPlanCreated')
      .map((e) => e.data as { actions: { type: string }[]; approval?: { required: boolean } })
      .map((d) => ({ actions: d.actions.map((a) => a.type), approvalRequired: d.approval?.required === true }));
  return { run, signal, plans };
}

describe('remediation of signals no watcher of Cairn saw', () => {
  it.each(everyExternal)('waits for approval when the Issue rests on %s alone', async (source) => {
    const t = setUp({ unconfirmedSourcesNeedApproval: everyExternal });
    await t.signal(source);
    await t.run();
    expect(await t.plans()).toEqual([{ actions: ['RestartDeployment'], approvalRequired: true }]);
  });

  it('acts at once on what the watcher saw', async () => {
    const t = setUp({ unconfirmedSourcesNeedApproval: everyExternal });
    await t.signal('watcher');
    await t.run();
    expect(await t.plans()).toEqual([{ actions: ['RestartDeployment'], approvalRequired: false }]);
  });

  it('counts an Issue that also holds a watcher anomaly as confirmed', async () => {
    const t = setUp({ unconfirmedSourcesNeedApproval: everyExternal });
    await t.signal('manual', 'error_rate');
    // The watcher's finding joins the Issue before its analysis is turned into a plan.
    await t.signal('watcher', 'oom_kill');
    await t.run();
    expect(await t.plans()).toEqual([{ actions: ['RestartDeployment'], approvalRequired: false }]);
  });

  it('is configured per source: a source left off the list is trusted, alone or beside a doubted one', async () => {
    const manualOnly = setUp({ unconfirmedSourcesNeedApproval: ['manual'] });
    await manualOnly.signal('prometheus');
    await manualOnly.run();
    expect((await manualOnly.plans())[0]).toMatchObject({ approvalRequired: false });

    const mixed = setUp({ unconfirmedSourcesNeedApproval: ['manual'] });
    await mixed.signal('manual', 'error_rate');
    await mixed.signal('prometheus', 'oom_kill');
    await mixed.run();
    expect((await mixed.plans())[0]).toMatchObject({ approvalRequired: false });

    const doubted = setUp({ unconfirmedSourcesNeedApproval: ['manual'] });
    await doubted.signal('manual');
    await doubted.run();
    expect((await doubted.plans())[0]).toMatchObject({ approvalRequired: true });
  });

  it('does not ask when the option is off', async () => {
    for (const options of [{}, { unconfirmedSourcesNeedApproval: [] }]) {
      const t = setUp(options);
      await t.signal('manual');
      await t.run();
      expect((await t.plans())[0]).toMatchObject({ approvalRequired: false });
    }
  });
});
