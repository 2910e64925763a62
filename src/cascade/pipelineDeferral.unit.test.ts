import { describe, expect, it } from 'vitest';
import type { IssueCommand } from '../../domain/issue/issue.commands.ts';
import { type IssueEvent, issueDecider } from '../../domain/issue/issue.decider.ts';
import type { RecordedEvent } from '../../domain/messages.ts';
import { StreamCategory, streamName } from '../../domain/streams.ts';
import { issueStatus } from '../../projections/kubernetesResources.projection.ts';
import { createMemoryEventStore } from '../adapters/eventstore/memory.eventStore.ts';
import { createCommandHandler } from '../application/commandHandler.ts';
import { issuePipelineReactor } from '../application/remediation/issuePipeline.reactor.ts';

const web = { kind: 'Deployment', name: 'web', namespace: 'shop' };
const api = { kind: 'Deployment', name: 'api', namespace: 'shop' };
const stream = streamName(StreamCategory.Issue, 'i-web');
const at = (s: number) => new Date(Date.UTC(2026, 0, 1, 0, 0, s)).toISOString();

async function analysedDependant() {
  const store = createMemoryEventStore();
  const issues = createCommandHandler(store, issueDecider);
  const tell = (command: Omit<IssueCommand, 'metadata'>, s: number) =>
    issues(stream, { ...command, metadata: { occurredAt: at(s), actor: 'system:test' } } as IssueCommand);
  await tell(
    {
      type: 'DetectIssue',
      data: {
        issueId: 'i-web',
        workload: web,
        resource: web,
        signal: 'pod_not_ready',
        source: 'watcher',
        anomalyId: 'an-1',
        description: 'not ready',
      },
    },
    0,
  );
  await tell(
    {
      type: 'CorrelateCascade',
      data: {
        rootIssueId: 'i-api',
        chain: [
          { issueId: 'i-api', workload: api, detectedAt: at(0) },
          { issueId: 'i-web', workload: web, detectedAt: at(0) },
        ],
        windowMinutes: 15,
      },
    },
    1,
  );
  await tell({ type: 'RequestAnalysis', data: { insightId: 'i-web-insight-1' } }, 2);
  await tell(
    {
      type: 'CompleteAnalysis',
      data: {
        insightId: 'i-web-insight-1',
        analysis: 'pods not ready',
        confidence: 0.7,
        recommendations: [],
        suggestedActions: [{ name: 'restart', type: 'RestartDeployment', description: 'restart', params: {} }],
        provider: 'rules',
        model: 'rules-v1',
      },
    },
    3,
  );
  const completed = (await store.readStream(stream)).find((e) => e.type === 'AnalysisCompleted')!;
  const state = async () =>
    ((await store.readStream(stream)) as unknown as RecordedEvent<IssueEvent>[]).reduce(
      issueDecider.evolve,
      issueDecider.initialState(),
    );
  return { store, tell, completed, state };
}

describe('the pipeline and a cascade root', () => {
  it('makes no plan while the root goes first, shows why, and makes it once the deferral is released', async () => {
    const { store, tell, completed, state } = await analysedDependant();
    let rootOpen = true;
    const reactor = issuePipelineReactor({
      store,
      now: () => new Date(at(10)),
      analyze: async () => {
        throw new Error('not asked: the analysis is done');
      },
      deferToRoot: async (issue, metadata) => {
        if (!rootOpen) return false;
        await tell(
          {
            type: 'DeferRemediationToRoot',
            data: { rootIssueId: 'i-api', insightId: issue.insightId!, reason: 'Deployment shop/api goes first' },
          },
          Number(metadata.occurredAt.slice(17, 19)),
        );
        return true;
      },
    });

    await reactor.handle(completed);
    const waiting = await state();
    expect(waiting.status).toBe('Analyzing');
    expect(waiting.remediationId).toBeNull();
    expect((await store.readAll()).some((e) => e.type === 'RemediationPlanCreated')).toBe(false);
    // The Issue object says it waits, and for which Issue; the root comes first in its chain.
    const status = issueStatus(waiting, at(3));
    expect(status.remediationDeferred).toMatchObject({ reason: 'Deployment shop/api goes first', since: at(3) });
    expect(status.cascade).toMatchObject({ role: 'dependant', chain: [{ resource: { name: 'api' } }, {}] });
    expect(status.conditions).toContainEqual(
      expect.objectContaining({ type: 'RemediationDeferred', status: 'True', reason: 'WaitingForCascadeRoot' }),
    );

    // Handled again after a restart: still waiting, nothing new on the record.
    const before = (await store.readStream(stream)).length;
    await reactor.handle(completed);
    expect((await store.readStream(stream)).length).toBe(before);

    rootOpen = false;
    await tell({ type: 'ReleaseRemediation', data: { rootIssueId: 'i-api', reason: 'root_resolved' } }, 20);
    const released = (await store.readStream(stream)).find((e) => e.type === 'IssueRemediationReleased')!;
    await reactor.handle(released);
    const planned = await state();
    expect(planned.status).toBe('Remediating');
    const plan = (await store.readAll()).find((e) => e.type === 'RemediationPlanCreated');
    expect(plan?.data).toMatchObject({ issueId: 'i-web', actions: [{ type: 'RestartDeployment' }] });
    expect(issueStatus(planned, at(20)).remediationDeferred).toBeUndefined();
  });
});

describe('the pipeline and a dependant that recovered with its root', () => {
  it('makes no plan for it, whatever of its history the pipeline sees again, and its Issue object says why', async () => {
    const { store, tell, completed, state } = await analysedDependant();
    const reactor = issuePipelineReactor({
      store,
      now: () => new Date(at(60)),
      analyze: async () => {
        throw new Error('not asked: the analysis is done');
      },
      deferToRoot: async (issue) => {
        await tell(
          {
            type: 'DeferRemediationToRoot',
            data: { rootIssueId: 'i-api', insightId: issue.insightId!, reason: 'Deployment shop/api goes first' },
          },
          4,
        );
        return true;
      },
    });
    await reactor.handle(completed);
    await tell({ type: 'ScheduleRecoveryCheck', data: { rootIssueId: 'i-api', dueAt: at(40) } }, 10);
    await tell({ type: 'ResolveRecoveredWithRoot', data: { rootIssueId: 'i-api', detail: '1 of 1 available' } }, 40);
    // Every event of its stream goes through the pipeline (a replay after a restart): none of them makes a plan.
    for (const event of await store.readStream(stream)) await reactor.handle(event);
    expect((await store.readAll()).some((e) => e.type === 'RemediationPlanCreated')).toBe(false);
    const ended = await state();
    expect(ended.status).toBe('Resolved');
    expect(ended.remediationId).toBeNull();
    const status = issueStatus(ended, at(40));
    expect(status.recoveredWithRoot).toEqual({
      root: { name: expect.stringContaining('api') },
      detail: '1 of 1 available',
    });
    expect(status.remediationDeferred).toBeUndefined();
    expect(status.resolvedAt).toBe(at(40));
  });
});
