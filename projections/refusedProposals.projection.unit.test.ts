import { Value } from '@sinclair/typebox/value';
import type Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import type { IssueCommand } from '../domain/issue/issue.commands.ts';
import { issueDecider } from '../domain/issue/issue.decider.ts';
import type { RecordedEvent } from '../domain/messages.ts';
import type { RemediationCommand } from '../domain/remediation/remediation.commands.ts';
import { remediationDecider } from '../domain/remediation/remediation.decider.ts';
import { StreamCategory, streamName } from '../domain/streams.ts';
import { openEventStore } from '../src/adapters/eventstore/openEventStore.ts';
import { AIInsightStatusSchema } from '../src/adapters/kubernetes/api/aiInsight.kind.ts';
import { RemediationPlanStatusSchema } from '../src/adapters/kubernetes/api/remediationPlan.kind.ts';
import { createReadModelQueries } from '../src/adapters/readmodel/readModel.queries.ts';
import { openSqliteReadModel } from '../src/adapters/readmodel/sqlite.projectionTarget.ts';
import { createCommandHandler } from '../src/application/commandHandler.ts';
import { insightsProjection } from './insights.projection.ts';
import { analysisRounds, insightResource, planResource } from './kubernetesResources.projection.ts';
import { timelineDetail } from './postMortem.projection.ts';

const owner = { name: 'web-i1', uid: '0b8c7a1e-1111-4222-8333-944455556666' };
const web = { kind: 'Deployment', name: 'web', namespace: 'shop' };
const second = (s: number) => new Date(Date.UTC(2026, 10, 26, 10, 0, s)).toISOString();
const meta = (s: number) => ({ occurredAt: second(s), actor: 'system:test' });

/** An Issue whose analysis was partly refused, and a plan whose action the executor refused. */
async function refusedIncident() {
  const store = openEventStore('memory:');
  const issueStream = streamName(StreamCategory.Issue, 'i1');
  const planStream = streamName(StreamCategory.Remediation, 'i1-plan');
  const issue = (s: number, command: Omit<IssueCommand, 'metadata'>) =>
    createCommandHandler(store, issueDecider)(issueStream, { ...command, metadata: meta(s) } as IssueCommand);
  const plan = (s: number, command: Omit<RemediationCommand, 'metadata'>) =>
    createCommandHandler(store, remediationDecider)(planStream, {
      ...command,
      metadata: meta(s),
    } as RemediationCommand);
  await issue(0, {
    type: 'DetectIssue',
    data: {
      issueId: 'i1',
      workload: web,
      resource: web,
      signal: 'oom_kill',
      source: 'watcher',
      anomalyId: 'a1',
      description: 'OOMKilled',
    },
  });
  await issue(1, { type: 'RequestAnalysis', data: { insightId: 'ins-1' } });
  await issue(2, {
    type: 'CompleteAnalysis',
    data: {
      insightId: 'ins-1',
      analysis: 'memory too low',
      confidence: 0.7,
      recommendations: [],
      suggestedActions: [
        { name: 'raise', type: 'AdjustResources', description: '', params: { container: 'app', memory_limit: '4Ti' } },
      ],
      provider: 'openai',
      model: 'm',
      refusedProposals: [
        {
          refusalId: 'ins-1/answer/1',
          action: { type: 'DeleteNamespace', params: { namespace: 'shop' } },
          code: 'parser.unknown_action_type',
          reason: 'unknown action type: DeleteNamespace',
        },
        { refusalId: 'ins-1/answer/2', code: 'parser.unstructured_answer', reason: 'not JSON' },
      ],
    },
  });
  await issue(3, { type: 'StartRemediation', data: { remediationId: 'i1-plan', source: 'ai-runbook' } });
  await plan(4, {
    type: 'CreateRemediationPlan',
    data: {
      remediationId: 'i1-plan',
      issueId: 'i1',
      attempt: 1,
      source: 'ai-runbook',
      target: web,
      actions: [
        { actionId: '1-adjustresources', type: 'AdjustResources', params: { container: 'app', memory_limit: '4Ti' } },
      ],
      doNotRepeat: [],
    },
  });
  await plan(5, { type: 'StartSnapshot', data: { snapshotId: 's1' } });
  await plan(6, { type: 'RecordSnapshot', data: { snapshotId: 's1', captured: {} } });
  await plan(7, {
    type: 'RefuseAction',
    data: { actionId: '1-adjustresources', policy: 'envelope.memory_above_factor', reason: '4Ti is above 4× 256Mi' },
  });
  await issue(8, {
    type: 'RecordProposalRefusals',
    data: {
      remediationId: 'i1-plan',
      refusals: [
        {
          refusalId: 'i1-plan/1-adjustresources',
          action: { type: 'AdjustResources', params: { container: 'app', memory_limit: '4Ti' } },
          code: 'envelope.memory_above_factor',
          reason: '4Ti is above 4× 256Mi',
        },
      ],
    },
  });
  return {
    issueEvents: await store.readStream(issueStream),
    planEvents: await store.readStream(planStream),
  };
}

describe('refused proposals in the AIInsight', () => {
  it('lists every refusal of the round with its stage and code, in a status the CRD schema accepts', async () => {
    const { issueEvents } = await refusedIncident();
    const state = (issueEvents as never[]).reduce(issueDecider.evolve, issueDecider.initialState());
    const [round] = analysisRounds(issueEvents);
    const { status } = insightResource(state, round!, owner, 'cairn');
    expect(status.refusedProposals).toEqual([
      {
        stage: 'parser',
        action: 'DeleteNamespace',
        params: { namespace: 'shop' },
        code: 'parser.unknown_action_type',
        reason: 'unknown action type: DeleteNamespace',
        at: second(2),
      },
      { stage: 'parser', code: 'parser.unstructured_answer', reason: 'not JSON', at: second(2) },
      {
        stage: 'envelope',
        action: 'AdjustResources',
        params: { container: 'app', memory_limit: '4Ti' },
        code: 'envelope.memory_above_factor',
        reason: '4Ti is above 4× 256Mi',
        remediation: 'i1-plan',
        at: second(8),
      },
    ]);
    expect([...Value.Errors(AIInsightStatusSchema, status)].map((e) => `${e.path} ${e.message}`)).toEqual([]);
    // Rendered from the same events again, the same document.
    expect(insightResource(state, analysisRounds(issueEvents)[0]!, owner, 'cairn')).toEqual(
      insightResource(state, round!, owner, 'cairn'),
    );
  });

  it('shows no refusal field on an analysis that had none', async () => {
    const { issueEvents } = await refusedIncident();
    const state = (issueEvents as never[]).reduce(issueDecider.evolve, issueDecider.initialState());
    const quiet = issueEvents.filter((e) => e.type !== 'ProposalRefused');
    expect(insightResource(state, analysisRounds(quiet)[0]!, owner, 'cairn').status).not.toHaveProperty(
      'refusedProposals',
    );
  });
});

describe('refusals in the RemediationPlan', () => {
  it('names what the executor refused, the stage and the bound, beside the Skipped checkpoint', async () => {
    const { planEvents } = await refusedIncident();
    const plan = planResource(planEvents, 'Failed', owner, 'cairn')!;
    expect(plan.status.refusals).toEqual([
      {
        stage: 'envelope',
        action: 'AdjustResources',
        params: { container: 'app', memory_limit: '4Ti' },
        code: 'envelope.memory_above_factor',
        reason: '4Ti is above 4× 256Mi',
        at: second(7),
      },
    ]);
    expect(plan.status.actions[0]).toMatchObject({ state: 'Skipped', message: '4Ti is above 4× 256Mi' });
    expect([...Value.Errors(RemediationPlanStatusSchema, plan.status)].map((e) => `${e.path} ${e.message}`)).toEqual(
      [],
    );
  });

  it('names the approvers who refused the plan', () => {
    const created = {
      type: 'RemediationPlanCreated',
      data: {
        remediationId: 'r',
        issueId: 'i1',
        attempt: 1,
        source: 'ai-runbook',
        target: web,
        actions: [{ actionId: 'a', type: 'RestartDeployment', params: {} }],
      },
      metadata: { occurredAt: second(1) },
    };
    const refused = {
      type: 'ApprovalRefused',
      data: { requestId: 'q', approver: 'key:alice', reason: 'not during the sale' },
      metadata: { occurredAt: second(2) },
    };
    expect(planResource([created, refused], 'Failed', owner, 'cairn')!.status.refusals).toEqual([
      {
        stage: 'approval',
        code: 'approval.refused',
        reason: 'refused by key:alice: not during the sale',
        at: second(2),
      },
    ]);
  });
});

describe('refused proposals in the PostMortem timeline', () => {
  it('tells who refused what and why, in one line', async () => {
    const { issueEvents } = await refusedIncident();
    const lines = issueEvents.filter((e) => e.type === 'ProposalRefused').map((e) => timelineDetail(e as never));
    expect(lines).toEqual([
      'DeleteNamespace refused by the answer parser (parser.unknown_action_type): unknown action type: DeleteNamespace',
      'a proposal refused by the answer parser (parser.unstructured_answer): not JSON',
      'AdjustResources refused by the parameter envelope (envelope.memory_above_factor): 4Ti is above 4× 256Mi',
    ]);
  });
});

describe('refused proposals in the read model', () => {
  const project = (db: Database.Database, events: readonly RecordedEvent[]) => {
    for (const event of events) if (insightsProjection.handles(event.type)) insightsProjection.apply(event, db);
  };

  it('are served with their insight, and replaying the events changes nothing', async () => {
    const { issueEvents } = await refusedIncident();
    const db = openSqliteReadModel(':memory:');
    insightsProjection.init(db);
    project(db, issueEvents);
    const once = createReadModelQueries(db).getInsight('ins-1');
    expect(once?.refusedProposals).toEqual([
      {
        stage: 'parser',
        action: { type: 'DeleteNamespace', params: { namespace: 'shop' } },
        code: 'parser.unknown_action_type',
        reason: 'unknown action type: DeleteNamespace',
        remediationId: null,
        step: null,
        at: second(2),
      },
      {
        stage: 'parser',
        action: null,
        code: 'parser.unstructured_answer',
        reason: 'not JSON',
        remediationId: null,
        step: null,
        at: second(2),
      },
      {
        stage: 'envelope',
        action: { type: 'AdjustResources', params: { container: 'app', memory_limit: '4Ti' } },
        code: 'envelope.memory_above_factor',
        reason: '4Ti is above 4× 256Mi',
        remediationId: 'i1-plan',
        step: null,
        at: second(8),
      },
    ]);
    project(db, issueEvents);
    expect(createReadModelQueries(db).getInsight('ins-1')).toEqual(once);
    db.close();
  });
});
