import { describe, expect, it } from 'vitest';
import { CairnError, ErrorCategory } from '../../../domain/errors.ts';
import { type IssueEvent, issueDecider } from '../../../domain/issue/issue.decider.ts';
import type { RecordedEvent } from '../../../domain/messages.ts';
import { StreamCategory, streamName } from '../../../domain/streams.ts';
import { issueStatus } from '../../../projections/kubernetesResources.projection.ts';
import { createMemoryEventStore } from '../../adapters/eventstore/memory.eventStore.ts';
import { AnalysisErrorCode } from '../../analysis/provider.ts';
import { createCommandHandler } from '../commandHandler.ts';
import { type Analysis, issuePipelineReactor } from './issuePipeline.reactor.ts';

const workload = { kind: 'Deployment', name: 'web', namespace: 'shop' };
const stream = streamName(StreamCategory.Issue, 'iss-1');
const at = (s: number) => new Date(Date.UTC(2026, 0, 1, 0, 0, s)).toISOString();

const unreachable = () =>
  new CairnError(AnalysisErrorCode.Waiting, ErrorCategory.Transient, 'waiting for the AI server at ai:50051', {
    details: { server: 'ai:50051', cause: 'unreachable', reason: 'unreachable (connect ECONNREFUSED)' },
  });

const answer: Analysis = {
  analysis: 'the memory limit is too low',
  confidence: 0.8,
  recommendations: [],
  suggestedActions: [],
  provider: 'rules',
  model: 'rules-v1',
};

async function issueAwaitingAnalysis() {
  const store = createMemoryEventStore();
  const issues = createCommandHandler(store, issueDecider);
  await issues(stream, {
    type: 'DetectIssue',
    data: {
      issueId: 'iss-1',
      workload,
      resource: workload,
      signal: 'oom_kill',
      source: 'watcher',
      anomalyId: 'an-1',
      description: 'OOMKilled',
    },
    metadata: { occurredAt: at(0), actor: 'system:test' },
  });
  await issues(stream, {
    type: 'RequestAnalysis',
    data: { insightId: 'iss-1-insight-1' },
    metadata: { occurredAt: at(1), actor: 'system:test' },
  });
  const requested = (await store.readStream(stream)).find((e) => e.type === 'AnalysisRequested')!;
  return { store, requested };
}

const stateOf = async (store: ReturnType<typeof createMemoryEventStore>) =>
  ((await store.readStream(stream)) as unknown as RecordedEvent<IssueEvent>[]).reduce(
    issueDecider.evolve,
    issueDecider.initialState(),
  );

describe('an analysis that waits for its server', () => {
  it('says why on the Issue, keeps it Analyzing, and asks again until the server answers', async () => {
    const { store, requested } = await issueAwaitingAnalysis();
    let clock = 10;
    let calls = 0;
    let serverUp = false;
    const reactor = issuePipelineReactor({
      store,
      now: () => new Date(at(clock)),
      analyze: async () => {
        calls++;
        if (!serverUp) throw unreachable();
        return answer;
      },
    });

    // The reactor holds the event while the handler rejects, and hands it over again.
    await expect(reactor.handle(requested)).rejects.toThrow(/waiting for the AI server/);
    clock = 20;
    await expect(reactor.handle(requested)).rejects.toThrow(/waiting for the AI server/);
    const waiting = await stateOf(store);
    expect(waiting.status).toBe('Analyzing');
    expect((await store.readStream(stream)).map((e) => e.type)).toEqual([
      'IssueDetected',
      'AnalysisRequested',
      'AnalysisDeferred',
    ]);
    expect(issueStatus(waiting, at(1)).conditions).toContainEqual({
      type: 'AnalysisWaiting',
      status: 'True',
      reason: 'ServerUnreachable',
      message: `waiting for the AI server at ai:50051 since ${at(10)}: unreachable (connect ECONNREFUSED)`,
      lastTransitionTime: at(10),
    });

    serverUp = true;
    clock = 30;
    await reactor.handle(requested);
    // Handled again after a crash: the analysis is not asked for twice.
    await reactor.handle(requested);
    expect(calls).toBe(3);
    const types = (await store.readStream(stream)).map((e) => e.type);
    expect(types.filter((t) => t === 'AnalysisCompleted')).toHaveLength(1);
    expect(types).not.toContain('AnalysisFailed');
    const done = await stateOf(store);
    expect(issueStatus(done, at(1)).conditions).toContainEqual({
      type: 'AnalysisWaiting',
      status: 'False',
      reason: 'WaitEnded',
      message: `waited for the AI server at ai:50051 from ${at(10)}`,
      lastTransitionTime: at(30),
    });
    // The same events render the same status (the resource writer may render them again).
    expect(issueStatus(await stateOf(store), at(1))).toEqual(issueStatus(done, at(1)));
  });

  it('fails the analysis, as before, when the provider itself fails', async () => {
    const { store, requested } = await issueAwaitingAnalysis();
    const reactor = issuePipelineReactor({
      store,
      now: () => new Date(at(5)),
      analyze: async () => {
        throw new CairnError(AnalysisErrorCode.Unavailable, ErrorCategory.Transient, 'no analysis provider answered');
      },
    });
    await reactor.handle(requested);
    const types = (await store.readStream(stream)).map((e) => e.type);
    expect(types).toContain('AnalysisFailed');
    expect(types).not.toContain('AnalysisDeferred');
  });

  it('never shows the condition on an Issue that did not wait', async () => {
    const { store } = await issueAwaitingAnalysis();
    expect(issueStatus(await stateOf(store), at(1)).conditions.map((c) => c.type)).toEqual(['Open']);
  });
});
