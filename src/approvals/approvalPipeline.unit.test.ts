import { describe, expect, it } from 'vitest';
import { type ApprovalPolicyModel, decideApproval, type PolicyRule } from '../../domain/approval/approvalPolicy.ts';
import { type IssueEvent, issueDecider } from '../../domain/issue/issue.decider.ts';
import type { RecordedEvent } from '../../domain/messages.ts';
import type { RemediationCommand } from '../../domain/remediation/remediation.commands.ts';
import { remediationDecider } from '../../domain/remediation/remediation.decider.ts';
import { createMemoryEventStore } from '../adapters/eventstore/memory.eventStore.ts';
import { createCommandHandler } from '../application/commandHandler.ts';
import { issuePipelineReactor } from '../application/remediation/issuePipeline.reactor.ts';
import { combineRequirement } from './approvals.module.ts';

const workload = { kind: 'Deployment', name: 'web', namespace: 'shop' };
const at = (s: number) => new Date(Date.UTC(2026, 11, 7, 10, 0, s)).toISOString();

const rule = (over: Partial<PolicyRule>): PolicyRule => ({
  name: 'r',
  match: {},
  mode: 'single',
  requiredApprovers: 1,
  groups: [],
  expirySeconds: 60,
  ...over,
});
const policyOf = (rules: PolicyRule[], windows?: ApprovalPolicyModel['windows']): ApprovalPolicyModel => ({
  namespace: 'shop',
  name: 'changes',
  generation: 1,
  clusterWide: false,
  rules,
  ...(windows ? { windows } : {}),
});

/** The pipeline from detection to the plan, the way the operator runs it, with the policies judged as it does. */
async function runPipeline(policies: ApprovalPolicyModel[]) {
  const store = createMemoryEventStore();
  const issues = createCommandHandler(store, issueDecider);
  await issues('issue-iss-1', {
    type: 'DetectIssue',
    data: {
      issueId: 'iss-1',
      workload,
      resource: workload,
      signal: 'oom_kill',
      source: 'watcher',
      anomalyId: 'a1',
      description: 'OOM',
    },
    metadata: { occurredAt: at(0), actor: 'system:correlation' },
  });
  const reactor = issuePipelineReactor({
    store,
    now: () => new Date(at(5)),
    analyze: async () => ({
      analysis: 'the memory limit is too low',
      confidence: 0.9,
      recommendations: [],
      suggestedActions: [{ name: 'restart', type: 'RestartDeployment', description: 'restart', params: {} }],
      provider: 'rules',
      model: 'rules-v1',
    }),
    approvalFor: async (plan) =>
      combineRequirement(
        undefined,
        decideApproval(
          policies,
          {
            namespace: 'shop',
            labels: {},
            severity: plan.issue.severity,
            riskScore: plan.issue.riskScore,
            actionTypes: plan.actions.map((a) => a.type),
            destructive: false,
            agentic: plan.source === 'agentic',
          },
          plan.at ?? at(5),
        ),
      ),
  });
  const handled = new Set<string>();
  const drain = async () => {
    for (let round = 0; round < 10; round += 1) {
      const todo = (await store.readAll()).filter(
        (e) => !handled.has(e.id) && reactor.filter.eventTypes?.includes(e.type),
      );
      if (todo.length === 0) return;
      for (const event of todo) {
        handled.add(event.id);
        await reactor.handle(event);
      }
    }
  };
  await drain();
  const issue = async () =>
    ((await store.readStream('issue-iss-1')) as unknown as RecordedEvent<IssueEvent>[]).reduce(
      issueDecider.evolve,
      issueDecider.initialState(),
    );
  const plans = async () => (await store.readAll()).filter((e) => e.streamId.startsWith('remediation-'));
  return { store, drain, issue, plans };
}

describe('plans judged by ApprovalPolicies in the pipeline', () => {
  it('never creates a denied plan: its actions are refused on the Issue and the Issue goes to people', async () => {
    const { store, issue, plans } = await runPipeline([
      policyOf([rule({ name: 'no-restarts', mode: 'deny', requiredApprovers: 0 })]),
    ]);
    expect(await plans()).toEqual([]);
    const state = await issue();
    expect(state.status).toBe('Escalated');
    const refused = (await store.readStream('issue-iss-1')).filter((e) => e.type === 'ProposalRefused');
    expect(refused.map((e) => e.data)).toEqual([
      expect.objectContaining({
        code: 'approval.denied',
        reason: expect.stringContaining('rule no-restarts of shop/changes'),
      }),
    ]);
  });

  it('records the quorum, the groups, the expiry and the change window with the plan', async () => {
    const { plans } = await runPipeline([
      policyOf([rule({ name: 'two', mode: 'quorum', requiredApprovers: 2, groups: ['sre'], expirySeconds: 600 })], {
        timeZone: 'UTC',
        weekly: [],
        freezes: [{ start: at(0), end: at(50), reason: 'release' }],
        outsideWindow: 'wait',
      }),
    ]);
    const created = (await plans()).find((e) => e.type === 'RemediationPlanCreated')?.data as Record<string, unknown>;
    expect(created.approval).toEqual({
      required: true,
      requiredApprovals: 2,
      timeoutSeconds: 600,
      groups: ['sre'],
      policy: 'shop/changes',
      rule: 'rule two of ApprovalPolicy shop/changes',
    });
    expect(created.changeWindow).toEqual({ opensAt: at(50), reason: expect.stringContaining('frozen until') });
  });

  it('asks one person instead of waiting when the policy says so outside its window', async () => {
    const { plans } = await runPipeline([
      policyOf([rule({ name: 'fine', mode: 'auto', requiredApprovers: 0 })], {
        timeZone: 'UTC',
        weekly: [],
        freezes: [{ start: at(0), end: at(50) }],
        outsideWindow: 'requireApproval',
      }),
    ]);
    const created = (await plans()).find((e) => e.type === 'RemediationPlanCreated')?.data as Record<string, unknown>;
    expect(created.approval).toMatchObject({ required: true, requiredApprovals: 1 });
    expect(created.changeWindow).toBeUndefined();
  });

  it('escalates the Issue when the request expires, instead of trying again', async () => {
    const { store, drain, issue, plans } = await runPipeline([policyOf([rule({ name: 'one', expirySeconds: 30 })])]);
    const stream = (await plans())[0]!.streamId;
    const decide = createCommandHandler(store, remediationDecider);
    const requestId = `${stream.slice('remediation-'.length)}-approval`;
    await decide(stream, {
      type: 'RequestApproval',
      data: { requestId },
      metadata: { occurredAt: at(6), actor: 'system:executor' },
    } as RemediationCommand);
    await decide(stream, {
      type: 'ExpireApproval',
      data: { requestId },
      metadata: { occurredAt: at(40), actor: 'system:approvals' },
    } as RemediationCommand);
    await drain();
    const state = await issue();
    expect(state.status).toBe('Escalated');
    const escalated = (await store.readStream('issue-iss-1')).find((e) => e.type === 'IssueEscalated');
    expect(escalated?.data).toMatchObject({ reason: 'approval_expired' });
    expect((await store.readStream('issue-iss-1')).some((e) => e.type === 'ReanalysisRequested')).toBe(false);
  });
});
