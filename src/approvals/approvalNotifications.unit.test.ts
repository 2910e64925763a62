import { describe, expect, it } from 'vitest';
import type { ResourceRef } from '../../domain/events/common.schema.ts';
import type { IssueCommand } from '../../domain/issue/issue.commands.ts';
import { issueDecider } from '../../domain/issue/issue.decider.ts';
import type { RoutingPolicy } from '../../domain/notification/notification.routing.ts';
import type { RemediationCommand } from '../../domain/remediation/remediation.commands.ts';
import { remediationDecider } from '../../domain/remediation/remediation.decider.ts';
import { openEventStore } from '../adapters/eventstore/openEventStore.ts';
import { createCommandHandler } from '../application/commandHandler.ts';
import { notificationRouterReactor } from '../notifications/notificationRouter.reactor.ts';

const workload: ResourceRef = { kind: 'Deployment', name: 'checkout', namespace: 'shop' };
const policy = (transitions: RoutingPolicy['rules'][number]['transitions']): RoutingPolicy => ({
  namespace: 'shop',
  name: 'approvers',
  generation: 1,
  clusterWide: false,
  channels: [{ name: 'hook', type: 'webhook' }],
  rules: [{ name: 'approvals', channels: ['hook'], ...(transitions ? { transitions } : {}) }],
  groupBy: ['issue'],
  grouping: { groupWaitSeconds: 0, groupIntervalSeconds: 60, repeatIntervalSeconds: 3_600 },
});

/** An Issue, and a plan whose request for two approvals goes `ending`: granted twice, or expired. */
async function approvalHistory(ending: 'granted' | 'expired') {
  const store = openEventStore('memory:');
  const at = (s: number, actor = 'system:pipeline') => ({
    occurredAt: new Date(Date.UTC(2026, 11, 7, 10, 0, s)).toISOString(),
    actor,
  });
  const issues = createCommandHandler(store, issueDecider);
  const plans = createCommandHandler(store, remediationDecider);
  await issues('issue-i1', {
    type: 'DetectIssue',
    data: {
      issueId: 'i1',
      workload,
      resource: workload,
      signal: 'oom_kill',
      source: 'watcher',
      anomalyId: 'a1',
      description: 'OOM',
    },
    metadata: at(0, 'system:correlation'),
  } as IssueCommand);
  const send = (s: number, command: Omit<RemediationCommand, 'metadata'>, actor?: string) =>
    plans('remediation-r1', { ...command, metadata: at(s, actor) } as RemediationCommand);
  await send(1, {
    type: 'CreateRemediationPlan',
    data: {
      remediationId: 'r1',
      issueId: 'i1',
      attempt: 1,
      source: 'ai-runbook',
      target: workload,
      actions: [{ actionId: 'x', type: 'RestartDeployment', params: {} }],
      approval: { required: true, requiredApprovals: 2, timeoutSeconds: 60 },
    },
  } as Omit<RemediationCommand, 'metadata'>);
  await send(2, { type: 'RequestApproval', data: { requestId: 'r1-approval' } } as Omit<
    RemediationCommand,
    'metadata'
  >);
  if (ending === 'granted') {
    for (const [s, who] of [
      [3, 'key:ann'],
      [4, 'key:bob'],
    ] as const) {
      await send(
        s,
        { type: 'GrantApproval', data: { requestId: 'r1-approval', approver: who } } as Omit<
          RemediationCommand,
          'metadata'
        >,
        who,
      );
    }
  } else {
    await send(59 + 5, { type: 'ExpireApproval', data: { requestId: 'r1-approval' } } as Omit<
      RemediationCommand,
      'metadata'
    >);
  }
  return store;
}

const routed = async (ending: 'granted' | 'expired', transitions?: RoutingPolicy['rules'][number]['transitions']) => {
  const store = await approvalHistory(ending);
  const router = notificationRouterReactor({
    store,
    policies: async () => [policy(transitions)],
    labelsOf: async () => ({}),
  });
  for (const event of await store.readAll()) {
    if (router.filter.eventTypes?.includes(event.type)) await router.handle(event);
  }
  const recorded = (await store.readAll()).filter((e) => e.type === 'NotificationTransitionRecorded');
  await store.close();
  return recorded.map((e) => (e.data as { transition: string }).transition);
};

describe('approval transitions for NotificationPolicy rules', () => {
  it('tell of a request, and once of the quorum reached (not of each approval)', async () => {
    expect(await routed('granted', ['approval_needed', 'approval_granted'])).toEqual([
      'approval_needed',
      'approval_granted',
    ]);
  });

  it('tell of a request that expired', async () => {
    expect(await routed('expired', ['approval_expired'])).toEqual(['approval_expired']);
  });
});
