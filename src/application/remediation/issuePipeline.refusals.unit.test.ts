import { describe, expect, it } from 'vitest';
import type { ActionSpec } from '../../../domain/events/common.schema.ts';
import { type IssueEvent, issueDecider } from '../../../domain/issue/issue.decider.ts';
import type { RecordedEvent } from '../../../domain/messages.ts';
import { remediationDecider } from '../../../domain/remediation/remediation.decider.ts';
import { StreamCategory, streamName } from '../../../domain/streams.ts';
import { openEventStore } from '../../adapters/eventstore/openEventStore.ts';
import { createCommandHandler } from '../commandHandler.ts';
import { type Analysis, issuePipelineReactor, type PipelineDeps } from './issuePipeline.reactor.ts';

const workload = { kind: 'Deployment', name: 'web', namespace: 'shop' };
const issueStream = streamName(StreamCategory.Issue, 'iss-1');
const at = (s: number) => new Date(Date.UTC(2026, 0, 1, 0, 0, s)).toISOString();
const meta = (s: number) => ({ occurredAt: at(s), actor: 'system:test' });

const drain = { name: 'drain', type: 'DrainNode', description: 'drain the node', params: { node: 'worker-2' } };
const restart = { name: 'restart', type: 'RestartDeployment', description: 'restart', params: {} };
const raise = {
  name: 'raise',
  type: 'AdjustResources',
  description: 'more memory',
  params: { container: 'app', memory_limit: '4Ti' },
};

const answer = (suggestedActions: Analysis['suggestedActions'], refusedProposals?: Analysis['refusedProposals']) =>
  ({
    analysis: 'the memory limit is too low',
    confidence: 0.8,
    recommendations: [],
    suggestedActions,
    provider: 'openai',
    model: 'hostile-1',
    ...(refusedProposals ? { refusedProposals } : {}),
  }) satisfies Analysis;

/** The policy of these tests: DrainNode is over the destructive budget, 4Ti is out of the envelope. */
const screen: NonNullable<PipelineDeps['screen']> = async (actions) => {
  const refused = actions.flatMap((action: ActionSpec) =>
    action.type === 'DrainNode'
      ? [{ action, code: 'policy.too_many_destructive', reason: 'DrainNode is over the budget of 1' }]
      : action.params.memory_limit === '4Ti'
        ? [{ action, code: 'envelope.memory_above_factor', reason: 'memory_limit 4Ti is above 4× the current 256Mi' }]
        : [],
  );
  return { allowed: actions.filter((a) => !refused.some((r) => r.action === a)), refused };
};

async function setUp(analyses: Analysis[]) {
  const policy = { screen };
  // The real catalogue validates every event, as the operator's store does.
  const store = openEventStore('memory:');
  const issues = createCommandHandler(store, issueDecider);
  await issues(issueStream, {
    type: 'DetectIssue',
    data: {
      issueId: 'iss-1',
      workload,
      resource: workload,
      signal: 'oom_kill',
      source: 'watcher',
      anomalyId: 'an-1',
      description: 'OOMKilled',
      maxAttempts: 3,
    },
    metadata: meta(0),
  });
  const reactor = issuePipelineReactor({
    store,
    now: () => new Date(at(30)),
    analyze: async () => analyses.shift() ?? answer([]),
    screen: (actions, target) => policy.screen(actions, target),
  });
  /** Hands every event the reactor listens to over to it, in order, as the reactor runner would. */
  let seen = 0;
  const run = async () => {
    for (;;) {
      const events = await store.readAll();
      if (seen >= events.length) return;
      for (const event of events.slice(seen)) {
        if (reactor.filter?.eventTypes?.includes(event.type)) await reactor.handle(event);
      }
      seen = events.length;
    }
  };
  const issueEvents = async () => (await store.readStream(issueStream)) as unknown as RecordedEvent<IssueEvent>[];
  const state = async () => (await issueEvents()).reduce(issueDecider.evolve, issueDecider.initialState());
  const refusals = async () =>
    (await issueEvents()).filter((e) => e.type === 'ProposalRefused').map((e) => e.data as Record<string, unknown>);
  return { store, reactor, run, state, refusals, issueEvents, policy };
}

describe('refusals of the pipeline on the record', () => {
  it('records what the parser and the policy refused, plans only the rest, and records nothing twice', async () => {
    const t = await setUp([
      answer(
        [drain, restart],
        [{ action: { type: 'DeleteNamespace', params: {} }, code: 'parser.unknown_action_type', reason: 'unknown' }],
      ),
    ]);
    await t.run();
    expect(await t.refusals()).toEqual([
      {
        refusalId: 'iss-1-insight-1/answer/1',
        insightId: 'iss-1-insight-1',
        stage: 'parser',
        action: { type: 'DeleteNamespace', params: {} },
        code: 'parser.unknown_action_type',
        reason: 'unknown',
        fingerprint: 'DeleteNamespace',
      },
      {
        refusalId: 'iss-1-insight-1/proposal/1-drainnode',
        insightId: 'iss-1-insight-1',
        stage: 'policy',
        action: { type: 'DrainNode', params: { node: 'worker-2' } },
        code: 'policy.too_many_destructive',
        reason: 'DrainNode is over the budget of 1',
        fingerprint: 'DrainNode(node=worker-2)',
      },
    ]);
    const plan = (await t.store.readStream(streamName(StreamCategory.Remediation, 'iss-1-insight-1-plan')))[0]!;
    expect(plan.data).toMatchObject({
      actions: [{ type: 'RestartDeployment' }],
      doNotRepeat: ['DeleteNamespace', 'DrainNode(node=worker-2)'],
    });
    expect((await t.state()).doNotRepeat).toEqual(['DeleteNamespace', 'DrainNode(node=worker-2)']);

    // Every event handled again, as after a restart: the record does not grow.
    const before = (await t.issueEvents()).length;
    for (const event of await t.store.readAll()) {
      if (t.reactor.filter?.eventTypes?.includes(event.type)) await t.reactor.handle(event);
    }
    expect((await t.issueEvents()).length).toBe(before);
  });

  it('remembers what the executor refused inside a plan, so the re-analysis cannot bring it back', async () => {
    const t = await setUp([answer([raise, restart]), answer([raise, restart])]);
    // A screen that does not look at the envelope lets the plan through; the executor's admission refuses it.
    t.policy.screen = async (actions) => ({ allowed: actions, refused: [] });
    await t.run();
    t.policy.screen = screen;
    const remediationStream = streamName(StreamCategory.Remediation, 'iss-1-insight-1-plan');
    const remediations = createCommandHandler(t.store, remediationDecider);
    const tell = (type: string, data: object, s: number) =>
      remediations(remediationStream, { type, data, metadata: meta(s) } as never);
    await tell('StartSnapshot', { snapshotId: 'snap-1' }, 40);
    await tell('RecordSnapshot', { snapshotId: 'snap-1', captured: {} }, 41);
    await tell(
      'RefuseAction',
      { actionId: '1-adjustresources', policy: 'envelope.memory_above_factor', reason: '4Ti is above 4× 256Mi' },
      42,
    );
    expect((await t.store.readStream(remediationStream)).map((e) => e.type)).toContain('RemediationFailed');

    // From here the operator's pipeline (with its screen) takes over.
    await t.run();
    const refused = await t.refusals();
    expect(refused[0]).toEqual({
      refusalId: 'iss-1-insight-1-plan/1-adjustresources',
      insightId: 'iss-1-insight-1',
      remediationId: 'iss-1-insight-1-plan',
      stage: 'envelope',
      action: { type: 'AdjustResources', params: { container: 'app', memory_limit: '4Ti' } },
      code: 'envelope.memory_above_factor',
      reason: '4Ti is above 4× 256Mi',
      fingerprint: 'AdjustResources(container=app,memory_limit=4Ti)',
    });
    // The re-analysis proposed it again: refused at once as already refused, never screened or planned.
    expect(refused[1]).toMatchObject({
      insightId: 'iss-1-insight-1-plan-reanalysis',
      stage: 'do_not_repeat',
      code: 'do-not-repeat',
      action: { type: 'AdjustResources' },
    });
    const reanalysis = (await t.issueEvents()).find((e) => e.type === 'ReanalysisRequested')!;
    expect((reanalysis.data as { doNotRepeat: string[] }).doNotRepeat).toContain(
      'AdjustResources(container=app,memory_limit=4Ti)',
    );
    const second = (
      await t.store.readStream(streamName(StreamCategory.Remediation, 'iss-1-insight-1-plan-reanalysis-plan'))
    )[0];
    // RestartDeployment failed with the first plan, so nothing is left to try: the Issue is escalated.
    expect(second).toBeUndefined();
    expect((await t.state()).status).toBe('Escalated');
  });

  it('records a refused approval for every action of the plan', async () => {
    const t = await setUp([]);
    const issues = createCommandHandler(t.store, issueDecider);
    await issues(issueStream, { type: 'RequestAnalysis', data: { insightId: 'ins-1' }, metadata: meta(1) });
    await issues(issueStream, {
      type: 'CompleteAnalysis',
      data: { insightId: 'ins-1', ...(answer([restart]) as Omit<Analysis, 'refusedProposals'>) },
      metadata: meta(2),
    });
    await issues(issueStream, {
      type: 'StartRemediation',
      data: { remediationId: 'rem-1', source: 'ai-runbook' },
      metadata: meta(3),
    });
    const remediationStream = streamName(StreamCategory.Remediation, 'rem-1');
    const remediations = createCommandHandler(t.store, remediationDecider);
    const tell = (type: string, data: object, s: number) =>
      remediations(remediationStream, { type, data, metadata: meta(s) } as never);
    await tell(
      'CreateRemediationPlan',
      {
        remediationId: 'rem-1',
        issueId: 'iss-1',
        attempt: 1,
        source: 'ai-runbook',
        target: workload,
        actions: [{ actionId: '1-restartdeployment', type: 'RestartDeployment', params: {} }],
        doNotRepeat: [],
        approval: { required: true },
      },
      4,
    );
    await tell('RequestApproval', { requestId: 'apr-1' }, 5);
    await tell('RefuseApproval', { requestId: 'apr-1', approver: 'key:alice', reason: 'not during the sale' }, 6);
    const failed = (await t.store.readStream(remediationStream)).find((e) => e.type === 'RemediationFailed')!;
    await t.reactor.handle(failed);
    expect(await t.refusals()).toEqual([
      {
        refusalId: 'rem-1/approval/1-restartdeployment',
        insightId: 'ins-1',
        remediationId: 'rem-1',
        stage: 'approval',
        action: { type: 'RestartDeployment', params: {} },
        code: 'approval.refused',
        reason: 'refused by key:alice: not during the sale',
        fingerprint: 'RestartDeployment',
      },
    ]);
  });
});
