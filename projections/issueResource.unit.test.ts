import { describe, expect, it } from 'vitest';
import { IssueStatus } from '../domain/events/issue.events.ts';
import { initialIssueState } from '../domain/issue/issue.decider.ts';
import { issueResource, MAX_ISSUE_ANOMALIES } from './kubernetesResources.projection.ts';

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
