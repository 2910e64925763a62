import { Value } from '@sinclair/typebox/value';
import { describe, expect, it } from 'vitest';
import { IssueStatus } from '../domain/events/issue.events.ts';
import { initialIssueState } from '../domain/issue/issue.decider.ts';
import { AIInsightStatusSchema } from '../src/adapters/kubernetes/api/aiInsight.kind.ts';
import { analysisRounds, insightResource } from './kubernetesResources.projection.ts';

/* The AIInsight shows what the analysis recorded of the change around the workload: GitOps state, suspected commits. */

const state = {
  ...initialIssueState(),
  status: IssueStatus.Analyzing,
  issueId: 'a1b2c3d4e5',
  workload: { kind: 'Deployment', name: 'web', namespace: 'shop' },
  signal: 'crashloop',
  signals: ['crashloop'],
};
const owner = { apiVersion: 'aiops.cairn.dev/v1alpha1', kind: 'Issue', name: 'x', uid: 'u' };
const suspect = {
  repository: 'shop/web',
  sha: '3f786850e387550fdab836ed7e6dc881de23001b',
  author: 'Grace Hopper',
  message: 'Look prices up in the catalogue',
  at: '2026-12-01T09:03:00Z',
  confidence: 0.95,
  filesChanged: ['src/cart/total.ts'],
  reasons: ["changes src/cart/total.ts, named in the incident's stack trace"],
};
const history = (change?: object) => [
  {
    type: 'AnalysisRequested',
    data: { insightId: 'ins-1', attempt: 1, previousFailures: [], doNotRepeat: [] },
    metadata: { occurredAt: '2026-12-07T10:00:00Z' },
  },
  {
    type: 'AnalysisCompleted',
    data: {
      insightId: 'ins-1',
      attempt: 1,
      analysis: 'the cart total reads a catalogue that is not loaded',
      confidence: 0.7,
      recommendations: [],
      suggestedActions: [],
      provider: 'rules',
      model: 'rules-v1',
      ...(change ? { change } : {}),
    },
    metadata: { occurredAt: '2026-12-07T10:00:05Z' },
  },
];

describe('the AIInsight of an analysis with change evidence', () => {
  it('shows the suspected commits and the GitOps state, within the CRD schema, the same on every replay', () => {
    const change = { gitOps: 'Helm release shop/web: 3 revision(s), current 3.', suspectedCommits: [suspect] };
    const render = () => insightResource(state as never, analysisRounds(history(change))[0]!, owner as never, 'cairn');
    const { status } = render();
    expect(status).toMatchObject({ gitOps: change.gitOps, suspectedCommits: [suspect] });
    expect(Value.Check(AIInsightStatusSchema, status)).toBe(true);
    expect(render()).toEqual(render());
  });

  it('shows neither when the analysis recorded none (events written before the field existed)', () => {
    const { status } = insightResource(state as never, analysisRounds(history())[0]!, owner as never, 'cairn');
    expect(status).not.toHaveProperty('suspectedCommits');
    expect(status).not.toHaveProperty('gitOps');
  });
});
