import { describe, expect, it } from 'vitest';
import { IssueStatus } from '../domain/events/issue.events.ts';
import { initialIssueState } from '../domain/issue/issue.decider.ts';
import {
  AI_INSIGHT_LIST_LIMIT,
  insightResource,
  issueResource,
  MAX_ISSUE_ANOMALIES,
} from './kubernetesResources.projection.ts';

const state = {
  ...initialIssueState(),
  status: IssueStatus.Detected,
  issueId: 'a1b2c3d4e5',
  workload: { kind: 'Deployment', name: 'checkout', namespace: 'shop' },
  signal: 'error_rate',
  signals: ['error_rate', 'oom_kill'],
};

describe('issueResource', () => {
  it('names each Anomaly once, even when the log recorded one twice (older Cairns did, for a re-sent alert)', () => {
    const doc = issueResource(state, ['checkout-error-rate-alert-1', 'checkout-error-rate-alert-1'], 'cairn');
    expect(doc.spec.anomalies).toEqual(['checkout-error-rate-alert-1']);
    expect(doc.spec.signals).toEqual(['error_rate', 'oom_kill']);
  });

  it('keeps the first Anomalies within the CRD bound, so a long-lived Issue is still written', () => {
    const names = Array.from({ length: MAX_ISSUE_ANOMALIES + 10 }, (_, i) => `checkout-oom-kill-${i}`);
    const doc = issueResource(state, names, 'cairn');
    expect(doc.spec.anomalies).toEqual(names.slice(0, MAX_ISSUE_ANOMALIES));
  });
});

describe('insightResource', () => {
  it('keeps an analysis with 50 proposals within the AIInsight CRD bound of 32, so its status is still written', () => {
    const fifty = Array.from({ length: 50 }, (_, i) => ({
      name: `step-${i}`,
      type: 'RestartDeployment',
      description: `step ${i}`,
      params: {},
    }));
    const round = {
      insightId: 'a1b2c3d4e5-insight-1',
      attempt: 1,
      requestedAt: '2026-01-01T00:00:00Z',
      previousFailures: [],
      outcome: {
        kind: 'completed' as const,
        at: '2026-01-01T00:00:01Z',
        analysis: 'many steps',
        confidence: 0.5,
        recommendations: fifty.map((s) => s.description),
        suggestedActions: fifty,
        provider: 'openai',
        model: 'm',
      },
    };
    const owner = { apiVersion: 'aiops.cairn.dev/v1alpha1', kind: 'Issue', name: 'x', uid: 'u' };
    const { status } = insightResource(state, round as never, owner as never, 'cairn') as {
      status: { recommendations: unknown[]; suggestedActions: { name: string }[] };
    };
    expect(status.recommendations).toHaveLength(AI_INSIGHT_LIST_LIMIT);
    expect(status.suggestedActions.map((a) => a.name)).toEqual(
      Array.from({ length: AI_INSIGHT_LIST_LIMIT }, (_, i) => `${i + 1}-restartdeployment`),
    );
  });
});
