import { describe, expect, it } from 'vitest';
import type { IssueCommand } from '../../../domain/issue/issue.commands.ts';
import { issueDecider } from '../../../domain/issue/issue.decider.ts';
import type { RemediationCommand } from '../../../domain/remediation/remediation.commands.ts';
import { remediationDecider } from '../../../domain/remediation/remediation.decider.ts';
import { healthyFacts } from '../../../test/fixtures/analysis.fixtures.ts';
import { openEventStore } from '../../adapters/eventstore/openEventStore.ts';
import { parseAgenticAnswer } from '../../analysis/agentic.parser.ts';
import type { AgenticProvider } from '../../analysis/agentic.ts';
import { createCommandHandler } from '../commandHandler.ts';
import { createAgenticLoop } from './agenticLoop.ts';
import { createRemediationExecutor } from './remediationExecutor.ts';

const target = { kind: 'Deployment', name: 'web', namespace: 'shop' };
const START = Date.parse('2030-01-01T00:00:00.000Z');
const meta = (s: number) => ({ occurredAt: new Date(START + s * 1000).toISOString(), actor: 'system:test' });

/** A model that insists on draining a node: an action this target is never offered. */
const hostile: AgenticProvider = {
  name: 'hostile',
  agenticStep: async (request) =>
    parseAgenticAnswer(
      JSON.stringify({
        decision: 'action',
        reasoning: 'drain it',
        action: { type: 'DrainNode', params: { node: 'w1' } },
      }),
      request,
      'hostile',
      'm',
    ),
};

describe('agentic proposals refused before they become actions', () => {
  it('are put on the Issue record with their step, and join its do-not-repeat list', async () => {
    const store = openEventStore('memory:');
    const issue = (s: number, command: Omit<IssueCommand, 'metadata'>) =>
      createCommandHandler(store, issueDecider)('issue-i1', { ...command, metadata: meta(s) } as IssueCommand);
    await issue(0, {
      type: 'DetectIssue',
      data: {
        issueId: 'i1',
        workload: target,
        resource: target,
        signal: 'pod_not_ready',
        source: 'watcher',
        anomalyId: 'a1',
        description: 'x',
      },
    });
    await issue(1, { type: 'RequestAnalysis', data: { insightId: 'ins-1' } });
    await issue(2, {
      type: 'CompleteAnalysis',
      data: {
        insightId: 'ins-1',
        analysis: 'x',
        confidence: 0.5,
        recommendations: [],
        suggestedActions: [],
        provider: 'p',
        model: 'm',
      },
    });
    await issue(3, { type: 'StartRemediation', data: { remediationId: 'r1', source: 'agentic' } });
    await createCommandHandler(store, remediationDecider)('remediation-r1', {
      type: 'CreateRemediationPlan',
      data: {
        remediationId: 'r1',
        issueId: 'i1',
        attempt: 1,
        source: 'agentic',
        target,
        actions: [],
        agentic: { maxSteps: 2, timeLimitSeconds: 600 },
      },
      metadata: meta(4),
    } as RemediationCommand);

    const ran: string[] = [];
    let clock = START + 10_000;
    const sick = healthyFacts({ notReadyPods: 1 });
    const execute = createRemediationExecutor({
      store,
      effects: {
        snapshot: async () => ({ captured: {} }),
        restore: async () => 'restored',
        admit: async () => null,
        run: async (action) => {
          ran.push(action.type);
          return 'done';
        },
        wasApplied: async () => true,
        verify: async () => ({ healthy: false, detail: 'not ready' }),
      },
      now: () => {
        clock += 1000;
        return new Date(clock);
      },
      newId: () => 'x',
      signalsOf: async () => ['pod_not_ready'],
      pollIntervalMs: 1,
      agentic: createAgenticLoop({
        store,
        provider: hostile,
        context: async () => ({ text: 'ctx', facts: sick }),
        availableActions: () => [{ type: 'RestartDeployment', description: 'restart', destructive: false, params: {} }],
        settleMs: 0,
      }),
    });
    const state = await execute('remediation-r1');

    expect(state.status).toBe('RolledBack');
    expect(ran).toEqual([]);
    const refused = (await store.readStream('issue-i1')).filter((e) => e.type === 'ProposalRefused').map((e) => e.data);
    expect(refused).toEqual(
      [1, 2].map((step) => ({
        refusalId: `r1/step-${step}`,
        insightId: 'ins-1',
        remediationId: 'r1',
        step,
        stage: 'offered_types',
        action: { type: 'DrainNode', params: { node: 'w1' } },
        code: 'offered.not_offered',
        reason: 'DrainNode is not among the available actions',
        fingerprint: 'DrainNode(node=w1)',
      })),
    );
  });
});
