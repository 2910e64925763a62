import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { IssueCommand } from '../../../../domain/issue/issue.commands.ts';
import { issueDecider } from '../../../../domain/issue/issue.decider.ts';
import { type ReadSide, startReadSide } from '../../../../test/support/readSide.ts';
import { createCommandHandler } from '../../../application/commandHandler.ts';

const web = { kind: 'Deployment', name: 'web', namespace: 'shop' };
const at = (s: number) => new Date(Date.UTC(2026, 0, 1, 0, 0, s)).toISOString();

let side: ReadSide;
beforeAll(async () => {
  side = await startReadSide();
  const issue = (s: number, command: Omit<IssueCommand, 'metadata'>) =>
    createCommandHandler(side.store, issueDecider)('issue-q1', {
      ...command,
      metadata: { occurredAt: at(s), actor: 'system:test' },
    } as IssueCommand);
  await issue(0, {
    type: 'DetectIssue',
    data: {
      issueId: 'q1',
      workload: web,
      resource: web,
      signal: 'oom_kill',
      source: 'watcher',
      anomalyId: 'a1',
      description: 'x',
    },
  });
  await issue(1, { type: 'RequestAnalysis', data: { insightId: 'q1-insight-1' } });
  await issue(2, {
    type: 'CompleteAnalysis',
    data: {
      insightId: 'q1-insight-1',
      analysis: 'memory too low',
      confidence: 0.6,
      recommendations: [],
      suggestedActions: [],
      provider: 'openai',
      model: 'm',
      refusedProposals: [
        {
          refusalId: 'q1-insight-1/answer/1',
          action: { type: 'DrainNode', params: { node: 'w1' } },
          code: 'offered.not_offered',
          reason: 'DrainNode was not among the actions offered',
        },
        { refusalId: 'q1-insight-1/answer/2', code: 'parser.unstructured_answer', reason: 'not JSON' },
      ],
    },
  });
});
afterAll(() => side.stop());

const expected = [
  {
    stage: 'offered_types',
    action: { type: 'DrainNode', params: { node: 'w1' } },
    code: 'offered.not_offered',
    reason: 'DrainNode was not among the actions offered',
    remediationId: null,
    step: null,
    at: at(2),
  },
  {
    stage: 'parser',
    action: null,
    code: 'parser.unstructured_answer',
    reason: 'not JSON',
    remediationId: null,
    step: null,
    at: at(2),
  },
];

describe('refused proposals served with their insight', () => {
  it('over REST', async () => {
    await expect
      .poll(async () => {
        const response = await fetch(`${side.url}/api/v1/insights/q1-insight-1`, {
          headers: side.keys.header('viewer'),
        });
        return response.ok ? ((await response.json()) as { refusedProposals?: unknown }).refusedProposals : undefined;
      })
      .toEqual(expected);
  });

  it('over GraphQL, parameters as name/value pairs', async () => {
    const query = `{ insight(id: "q1-insight-1") { refusedProposals { stage code reason step remediationId at
      action { type params { name value } } } } }`;
    await expect
      .poll(async () => {
        const response = await fetch(`${side.url}/graphql`, {
          method: 'POST',
          headers: { ...side.keys.header('viewer'), 'content-type': 'application/json' },
          body: JSON.stringify({ query }),
        });
        return ((await response.json()) as { data?: { insight?: { refusedProposals: unknown } } }).data?.insight
          ?.refusedProposals;
      })
      .toEqual([
        { ...expected[0], action: { type: 'DrainNode', params: [{ name: 'node', value: 'w1' }] } },
        expected[1],
      ]);
  });
});
