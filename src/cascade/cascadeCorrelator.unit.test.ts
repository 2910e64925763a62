import { afterEach, describe, expect, it } from 'vitest';
import type { ResourceRef } from '../../domain/events/common.schema.ts';
import type { IssueCommand } from '../../domain/issue/issue.commands.ts';
import { type IssueEvent, issueDecider } from '../../domain/issue/issue.decider.ts';
import type { RecordedEvent } from '../../domain/messages.ts';
import { instant } from '../../test/support/incidentLog.ts';
import { openEventStore } from '../adapters/eventstore/openEventStore.ts';
import { createCommandHandler } from '../application/commandHandler.ts';
import { runReactor } from '../application/reactor.ts';
import {
  type CascadeCorrelatorDeps,
  createCascadeCorrelator,
  parseCascadeWindow,
  parseRecoveryGrace,
} from './cascadeCorrelator.ts';
import type { DependencyEdge } from './dependencyGraph.ts';

const deployment = (name: string): ResourceRef => ({ kind: 'Deployment', name, namespace: 'shop' });
const edge = (from: string, to: string): DependencyEdge => ({
  from: deployment(from),
  to: deployment(to),
  evidence: [{ source: 'env', service: `shop/${to}`, detail: 'env URL' }],
});

const stops: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const stop of stops.splice(0)) await stop();
});

async function setUp(edges: DependencyEdge[], options: Partial<CascadeCorrelatorDeps> = {}) {
  const store = openEventStore('memory:');
  const issues = createCommandHandler(store, issueDecider);
  const correlator = createCascadeCorrelator({ store, graph: async () => ({ edges }), windowMinutes: 15, ...options });
  correlator.follow((error) => {
    throw error;
  });
  const saved = new Map<string, bigint>();
  const reactor = runReactor(
    store,
    { read: (n) => saved.get(n), write: (n, p) => saved.set(n, p) },
    correlator.reactor,
  );
  stops.push(async () => {
    await correlator.stop();
    await reactor.close();
  });
  const tell = (issueId: string, command: Omit<IssueCommand, 'metadata'>, minute: number) =>
    issues(`issue-${issueId}`, {
      ...command,
      metadata: { occurredAt: instant(minute), actor: 'system:test' },
    } as IssueCommand);
  const detect = async (issueId: string, name: string, minute: number) => {
    await tell(
      issueId,
      {
        type: 'DetectIssue',
        data: {
          issueId,
          workload: deployment(name),
          resource: deployment(name),
          signal: 'pod_not_ready',
          source: 'watcher',
          anomalyId: `an-${issueId}`,
          description: 'not ready',
        },
      },
      minute,
    );
  };
  /** Analysed, with a plan about to be made. */
  const analyse = async (issueId: string, minute: number) => {
    await tell(issueId, { type: 'RequestAnalysis', data: { insightId: `${issueId}-insight-1` } }, minute);
    await tell(
      issueId,
      {
        type: 'CompleteAnalysis',
        data: {
          insightId: `${issueId}-insight-1`,
          analysis: 'not ready',
          confidence: 0.7,
          recommendations: [],
          suggestedActions: [],
          provider: 'rules',
          model: 'rules-v1',
        },
      },
      minute,
    );
  };
  const state = async (issueId: string) =>
    ((await store.readStream(`issue-${issueId}`)) as unknown as RecordedEvent<IssueEvent>[]).reduce(
      issueDecider.evolve,
      issueDecider.initialState(),
    );
  const settled = async (check: () => Promise<boolean>) => {
    for (let i = 0; i < 200 && !(await check()); i++) await new Promise((r) => setTimeout(r, 10));
    expect(await check()).toBe(true);
  };
  return { store, correlator, tell, detect, analyse, state, settled };
}

describe('cascade correlator', () => {
  it('names the backend the root when frontends that call it fail, even if they failed first', async () => {
    const { detect, state, settled } = await setUp([edge('web', 'api'), edge('mobile', 'api')]);
    await detect('i-web', 'web', 0);
    await detect('i-mobile', 'mobile', 1);
    await detect('i-api', 'api', 2);
    await settled(async () => (await state('i-web')).cascade?.chain.length === 3);
    for (const id of ['i-web', 'i-mobile', 'i-api']) {
      expect((await state(id)).cascade).toEqual({ rootIssueId: 'i-api', chain: ['i-api', 'i-web', 'i-mobile'] });
    }
  });

  it('defers a dependant plan while the root is open and releases it when the root is resolved', async () => {
    const { detect, analyse, state, settled, correlator, tell } = await setUp([edge('web', 'api')]);
    await detect('i-api', 'api', 0);
    await detect('i-web', 'web', 1);
    await analyse('i-web', 2);
    await settled(async () => correlator.openIssues().length === 2);
    const meta = { occurredAt: instant(3), actor: 'system:pipeline' };
    expect(await correlator.deferIfDependant(await state('i-web'), meta)).toBe(true);
    expect((await state('i-web')).remediationDeferral).toMatchObject({ rootIssueId: 'i-api' });
    // The root asks too: it waits for nobody.
    await analyse('i-api', 3);
    expect(await correlator.deferIfDependant(await state('i-api'), meta)).toBe(false);

    await tell('i-api', { type: 'ResolveIssue', data: { note: 'fixed' } }, 5);
    await settled(async () => (await state('i-web')).remediationDeferral === null);
    const released = (await correlator.openIssues()).find((m) => m.issueId === 'i-web');
    expect(released?.deferredTo).toBeNull();
  });

  it('lets a dependant be remediated on its own when the root is escalated without a fix', async () => {
    const { detect, analyse, state, settled, correlator, tell, store } = await setUp([edge('web', 'api')]);
    await detect('i-api', 'api', 0);
    await detect('i-web', 'web', 1);
    await analyse('i-web', 2);
    await settled(async () => correlator.openIssues().length === 2);
    await correlator.deferIfDependant(await state('i-web'), { occurredAt: instant(3), actor: 'system:pipeline' });
    await tell('i-api', { type: 'EscalateIssue', data: { reason: 'manual', detail: 'needs a schema fix' } }, 4);
    await settled(async () => (await state('i-web')).remediationDeferral === null);
    const released = (await store.readStream('issue-i-web')).filter((e) => e.type === 'IssueRemediationReleased');
    expect(released.map((e) => e.data)).toEqual([{ rootIssueId: 'i-api', reason: 'root_escalated' }]);
  });

  it('does not hold a plan for a root that ended before the deferral was asked for', async () => {
    const { detect, analyse, state, settled, correlator, tell } = await setUp([edge('web', 'api')]);
    await detect('i-api', 'api', 0);
    await detect('i-web', 'web', 1);
    await analyse('i-web', 2);
    await tell('i-api', { type: 'ResolveIssue', data: {} }, 3);
    await settled(async () => correlator.openIssues().length === 1);
    expect(
      await correlator.deferIfDependant(await state('i-web'), { occurredAt: instant(4), actor: 'system:pipeline' }),
    ).toBe(false);
    expect((await state('i-web')).remediationDeferral).toBeNull();
  });

  it('moves a deferral to a more upstream root that appears later', async () => {
    const { detect, analyse, state, settled, correlator } = await setUp([edge('web', 'api'), edge('api', 'db')]);
    await detect('i-api', 'api', 0);
    await detect('i-web', 'web', 1);
    await analyse('i-web', 2);
    await settled(async () => correlator.openIssues().length === 2);
    await correlator.deferIfDependant(await state('i-web'), { occurredAt: instant(3), actor: 'system:pipeline' });
    await detect('i-db', 'db', 4);
    await settled(async () => (await state('i-web')).remediationDeferral?.rootIssueId === 'i-db');
    expect((await state('i-api')).cascade?.rootIssueId).toBe('i-db');
  });

  it('terminates on a dependency cycle and lets detection time pick the root', async () => {
    const { detect, state, settled } = await setUp([edge('a', 'b'), edge('b', 'a')]);
    await detect('i-b', 'b', 0);
    await detect('i-a', 'a', 1);
    await settled(async () => (await state('i-a')).cascade !== null);
    expect((await state('i-a')).cascade?.rootIssueId).toBe('i-b');
  });
});

describe('cascade correlator across a restart', () => {
  it('rebuilds its index from the log, so a new leader releases a plan deferred under the old one', async () => {
    const { store, detect, analyse, state, settled, correlator, tell } = await setUp([edge('web', 'api')]);
    await detect('i-api', 'api', 0);
    await detect('i-web', 'web', 1);
    await analyse('i-web', 2);
    await settled(async () => correlator.openIssues().length === 2);
    await correlator.deferIfDependant(await state('i-web'), { occurredAt: instant(3), actor: 'system:pipeline' });
    await correlator.stop();

    // Another replica leads: a fresh index, the reactor from its saved checkpoint.
    const next = createCascadeCorrelator({ store, graph: async () => ({ edges: [edge('web', 'api')] }) });
    next.follow((error) => {
      throw error;
    });
    const running = runReactor(store, { read: () => undefined, write: () => {} }, next.reactor);
    stops.push(async () => {
      await next.stop();
      await running.close();
    });
    await settled(async () => next.openIssues().some((m) => m.issueId === 'i-web' && m.deferredTo !== null));
    await tell('i-api', { type: 'ResolveIssue', data: {} }, 5);
    await settled(async () => (await state('i-web')).remediationDeferral === null);
  });
});

describe('a cascade that changes under a waiting plan (no_longer_dependant)', () => {
  const releases = async (store: { readStream(id: string): Promise<readonly { type: string; data: unknown }[]> }) =>
    (await store.readStream('issue-i-web')).filter((e) => e.type === 'IssueRemediationReleased').map((e) => e.data);

  it('releases a waiting plan when a new signal finds the Issue in no cascade any more', async () => {
    const edges = [edge('web', 'api')];
    const { detect, analyse, state, settled, correlator, tell, store } = await setUp(edges);
    await detect('i-api', 'api', 0);
    await detect('i-web', 'web', 1);
    await analyse('i-web', 2);
    await settled(async () => correlator.openIssues().length === 2);
    await correlator.deferIfDependant(await state('i-web'), { occurredAt: instant(3), actor: 'system:pipeline' });
    // The dependency is gone from the cluster (the env var was changed), then the frontend shows a new signal.
    edges.splice(0);
    await tell('i-web', { type: 'AttachAnomaly', data: { anomalyId: 'an-web-2', signal: 'crash_loop' } }, 4);
    await settled(async () => (await state('i-web')).remediationDeferral === null);
    expect(await releases(store)).toEqual([
      { rootIssueId: 'i-api', reason: 'no_longer_dependant', detail: 'it is in no cascade any more' },
    ]);
    // The root is still open: nothing else was released.
    expect((await state('i-api')).status).not.toBe('Resolved');
  });

  it('releases a waiting plan when a new chain makes its Issue the root', async () => {
    const edges = [edge('web', 'api')];
    const { detect, analyse, state, settled, correlator, store } = await setUp(edges);
    await detect('i-api', 'api', 0);
    await detect('i-web', 'web', 1);
    await analyse('i-web', 2);
    await settled(async () => correlator.openIssues().length === 2);
    await correlator.deferIfDependant(await state('i-web'), { occurredAt: instant(3), actor: 'system:pipeline' });
    // The graph turned around (api now calls web); a third Issue, on a caller of api, recomputes the chain.
    edges.splice(0, edges.length, edge('api', 'web'), edge('mobile', 'api'));
    await detect('i-mobile', 'mobile', 4);
    await settled(async () => (await state('i-web')).remediationDeferral === null);
    expect((await state('i-mobile')).cascade?.rootIssueId).toBe('i-web');
    expect(await releases(store)).toEqual([
      { rootIssueId: 'i-api', reason: 'no_longer_dependant', detail: 'it is the root of its cascade now' },
    ]);
  });
});

describe('dependants that recover with their root', () => {
  const setUpRecovery = async (healthy: boolean | 'unreadable') => {
    let clock = new Date(instant(0));
    const checked: { workload: ResourceRef; signals: readonly string[] }[] = [];
    const ctx = await setUp([edge('web', 'api')], {
      now: () => clock,
      recoveryGraceSeconds: 60,
      checkWorkload: async (workload, signals) => {
        checked.push({ workload, signals });
        if (healthy === 'unreadable') throw new Error('deployments.apps "web" is forbidden');
        return healthy
          ? { healthy: true, detail: '2 of 2 replicas available' }
          : { healthy: false, detail: '0 of 2 available' };
      },
    });
    await ctx.detect('i-api', 'api', 0);
    await ctx.detect('i-web', 'web', 1);
    await ctx.analyse('i-web', 2);
    await ctx.settled(async () => ctx.correlator.openIssues().length === 2);
    await ctx.correlator.deferIfDependant(await ctx.state('i-web'), {
      occurredAt: instant(3),
      actor: 'system:pipeline',
    });
    await ctx.tell('i-api', { type: 'ResolveIssue', data: { note: 'rolled back' } }, 5);
    await ctx.settled(async () => (await ctx.state('i-web')).remediationDeferral?.recoveryCheckDueAt !== undefined);
    const setClock = (iso: string) => {
      clock = new Date(iso);
    };
    return { ...ctx, checked, setClock };
  };

  it('checks the dependant only once the grace has passed, and resolves it with its root when healthy', async () => {
    const { correlator, state, checked, setClock, store } = await setUpRecovery(true);
    // The plan still waits during the grace: readiness may not be back yet.
    expect((await state('i-web')).remediationDeferral?.recoveryCheckDueAt).toBe(
      new Date(Date.parse(instant(5)) + 60_000).toISOString(),
    );
    setClock(new Date(Date.parse(instant(5)) + 59_000).toISOString());
    expect(await correlator.sweepRecoveryChecks()).toBe(0);
    expect(checked).toEqual([]);

    setClock(new Date(Date.parse(instant(5)) + 60_000).toISOString());
    expect(await correlator.sweepRecoveryChecks()).toBe(2);
    expect(checked).toEqual([{ workload: deployment('web'), signals: ['pod_not_ready'] }]);
    const web = await state('i-web');
    expect(web.status).toBe('Resolved');
    expect(web.remediationDeferral).toBeNull();
    const types = (await store.readStream('issue-i-web')).map((e) => e.type);
    expect(types.slice(-2)).toEqual(['IssueRecoveredWithRoot', 'IssueResolved']);
    expect(types).not.toContain('IssueRemediationReleased');
    const resolved = (await store.readStream('issue-i-web')).at(-1)!;
    expect(resolved.data).toMatchObject({ resolution: 'recovered_with_root', resolvedBy: 'system:cascade' });
    // A second sweep (another replica, a restart) changes nothing.
    expect(await correlator.sweepRecoveryChecks()).toBe(0);
  });

  it('releases the plan of a dependant still failing after the grace, saying what is still wrong', async () => {
    const { correlator, state, setClock, store } = await setUpRecovery(false);
    setClock(instant(10));
    expect(await correlator.sweepRecoveryChecks()).toBe(1);
    expect((await state('i-web')).status).not.toBe('Resolved');
    const released = (await store.readStream('issue-i-web')).filter((e) => e.type === 'IssueRemediationReleased');
    expect(released.map((e) => e.data)).toEqual([
      {
        rootIssueId: 'i-api',
        reason: 'root_resolved',
        detail: 'still failing after the root was fixed: 0 of 2 available',
      },
    ]);
  });

  it('releases the plan when the workload cannot be read (nothing shows it recovered)', async () => {
    const { correlator, state, setClock } = await setUpRecovery('unreadable');
    setClock(instant(10));
    expect(await correlator.sweepRecoveryChecks()).toBe(1);
    expect((await state('i-web')).remediationDeferral).toBeNull();
    expect((await state('i-web')).status).not.toBe('Resolved');
  });
});

describe('a recovery check across a restart', () => {
  it('is read from the log by a new leader, which fires it when due', async () => {
    const clock = { now: new Date(instant(0)) };
    const healthy = async () => ({ healthy: true, detail: '1 of 1 available' });
    const { store, detect, analyse, state, settled, correlator, tell } = await setUp([edge('web', 'api')], {
      now: () => clock.now,
      checkWorkload: healthy,
      recoveryGraceSeconds: 30,
    });
    await detect('i-api', 'api', 0);
    await detect('i-web', 'web', 1);
    await analyse('i-web', 2);
    await settled(async () => correlator.openIssues().length === 2);
    await correlator.deferIfDependant(await state('i-web'), { occurredAt: instant(3), actor: 'system:pipeline' });
    await tell('i-api', { type: 'ResolveIssue', data: {} }, 5);
    await settled(async () => (await state('i-web')).remediationDeferral?.recoveryCheckDueAt !== undefined);
    // The leader stops before the check is due.
    await correlator.stop();

    const next = createCascadeCorrelator({
      store,
      graph: async () => ({ edges: [edge('web', 'api')] }),
      now: () => clock.now,
      checkWorkload: healthy,
    });
    next.follow((error) => {
      throw error;
    });
    stops.push(() => next.stop());
    await settled(async () => next.openIssues().some((m) => m.deferredTo?.recoveryCheckDueAt !== undefined));
    clock.now = new Date(instant(6));
    expect(await next.sweepRecoveryChecks()).toBe(2);
    expect((await state('i-web')).status).toBe('Resolved');
  });
});

describe('parseCascadeWindow', () => {
  it('reads whole minutes, takes 0 or off as "correlation off", and refuses anything else with the flag named', () => {
    expect(parseCascadeWindow(' 30 ')).toBe(30);
    expect(parseCascadeWindow('1440')).toBe(1_440);
    expect(parseCascadeWindow('0')).toBe(0);
    expect(parseCascadeWindow('OFF')).toBe(0);
    for (const bad of ['ten', '1441', '-5', '2.5', '', '1e3']) {
      expect(() => parseCascadeWindow(bad)).toThrow(
        /--cascade-window must be a whole number of minutes from 1 to 1440/,
      );
    }
    expect(() => parseCascadeWindow('ten')).toThrow(/got "ten"/);
  });
});

describe('parseRecoveryGrace', () => {
  it('reads whole seconds from 0 to 3600 and refuses anything else with the flag named', () => {
    expect(parseRecoveryGrace('0')).toBe(0);
    expect(parseRecoveryGrace(' 45 ')).toBe(45);
    expect(parseRecoveryGrace('3600')).toBe(3_600);
    for (const bad of ['3601', '-1', '1.5', 'soon', '', '99999999999']) {
      expect(() => parseRecoveryGrace(bad)).toThrow(/--cascade-recovery-grace must be a whole number of seconds/);
    }
  });
});

describe('cascade correlation turned off (window 0)', () => {
  it('neither links Issues nor holds a plan', async () => {
    const { detect, analyse, state, settled, correlator } = await setUp([edge('web', 'api')], { windowMinutes: 0 });
    await detect('i-api', 'api', 0);
    await detect('i-web', 'web', 1);
    await analyse('i-web', 2);
    await settled(async () => correlator.openIssues().length === 2);
    expect(
      await correlator.deferIfDependant(await state('i-web'), { occurredAt: instant(3), actor: 'system:pipeline' }),
    ).toBe(false);
    expect((await state('i-web')).cascade).toBeNull();
    expect((await state('i-web')).remediationDeferral).toBeNull();
  });
});
