import { describe, expect, it } from 'vitest';
import { type IssueEvent, issueDecider } from '../../domain/issue/issue.decider.ts';
import type { RecordedEvent } from '../../domain/messages.ts';
import { StreamCategory, streamName } from '../../domain/streams.ts';
import { defaultRemediationPolicy, evaluatePlan, observeOnly, PolicyCode } from '../actions/policy.ts';
import { openEventStore } from '../adapters/eventstore/openEventStore.ts';
import { createCommandHandler } from '../application/commandHandler.ts';
import {
  type Analysis,
  issuePipelineReactor,
  type RunbookSource,
} from '../application/remediation/issuePipeline.reactor.ts';

const at = (s: number) => new Date(Date.UTC(2026, 0, 1, 0, 0, s)).toISOString();

const answer: Analysis = {
  analysis: 'the memory limit is too low',
  confidence: 0.9,
  recommendations: [],
  suggestedActions: [
    {
      name: 'raise',
      type: 'AdjustResources',
      description: 'more memory',
      params: { container: 'app', memory_limit: '512Mi' },
    },
  ],
  provider: 'rules',
  model: 'rules',
};

async function pipelineIn(namespace: string, runbooks?: RunbookSource) {
  const workload = { kind: 'Deployment', name: 'web', namespace };
  const issueStream = streamName(StreamCategory.Issue, 'iss-1');
  const policy = defaultRemediationPolicy({ namespaceModes: { lab: 'observe' } });
  const store = openEventStore('memory:');
  await createCommandHandler(store, issueDecider)(issueStream, {
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
    metadata: { occurredAt: at(0), actor: 'system:test' },
  });
  const reactor = issuePipelineReactor({
    store,
    now: () => new Date(at(30)),
    analyze: async () => answer,
    ...(runbooks ? { runbooks } : {}),
    screen: async (actions, target) => evaluatePlan(actions, target, policy, { replicas: 2, envelope: {} }),
    observeOnly: (target) => observeOnly(policy, target),
    observeCode: PolicyCode.ObserveMode,
    agentic: {},
  });
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
  return { store, run, issueEvents };
}

describe('observe mode in the pipeline', () => {
  it('records the analysis and the plan as refused by the policy, hands the Issue to people, and plans nothing', async () => {
    const t = await pipelineIn('lab');
    await t.run();
    const events = await t.issueEvents();
    const types = events.map((e) => e.type);
    expect(types).toContain('AnalysisCompleted');
    expect(types).not.toContain('RemediationStarted');
    const refused = events.filter((e) => e.type === 'ProposalRefused').map((e) => e.data as Record<string, unknown>);
    expect(refused.map((r) => [r.stage, r.code, (r.action as { type?: string } | undefined)?.type])).toEqual([
      ['policy', 'policy.observe_mode', 'AdjustResources'],
      ['policy', 'policy.observe_mode', undefined],
    ]);
    const escalated = events.find((e) => e.type === 'IssueEscalated')?.data as { reason: string; detail: string };
    expect(escalated).toMatchObject({ reason: 'no_remediation' });
    expect(escalated.detail).toMatch(/namespace lab is in observe mode/);
    expect((await t.store.readAll()).some((e) => e.type === 'RemediationPlanCreated')).toBe(false);
    // Handled again (a restart), nothing new is recorded.
    const before = (await t.store.readAll()).length;
    await t.run();
    expect((await t.store.readAll()).length).toBe(before);
  });

  it('records a matching runbook’s steps as the plan it would have run', async () => {
    const runbooks: RunbookSource = {
      list: async () => [
        {
          name: 'restart-on-oom',
          trigger: { signal: 'oom_kill', severity: 'low', resourceKind: 'Deployment' },
          steps: [{ name: 'restart', type: 'RestartDeployment', params: {} }],
        } as never,
      ],
      recordSuggestion: async () => 'unused',
    };
    const t = await pipelineIn('lab', runbooks);
    await t.run();
    const refused = (await t.issueEvents())
      .filter((e) => e.type === 'ProposalRefused')
      .map((e) => e.data as { code: string; reason: string; action?: { type: string } });
    expect(refused).toHaveLength(1);
    expect(refused[0]).toMatchObject({ code: 'policy.observe_mode', action: { type: 'RestartDeployment' } });
    expect(refused[0]?.reason).toMatch(/^runbook restart-on-oom: namespace lab is in observe mode/);
  });

  it('plans as usual in a namespace that is not observed', async () => {
    const t = await pipelineIn('shop');
    await t.run();
    expect((await t.store.readAll()).some((e) => e.type === 'RemediationPlanCreated')).toBe(true);
  });
});
