import { describe, expect, it } from 'vitest';
import { matchRunbook, type RunbookCandidate } from './runbook.matching.ts';

const runbook = (name: string, trigger: RunbookCandidate['trigger'], type = 'RestartDeployment', params = {}) => ({
  name,
  trigger,
  steps: [{ name: 'step', type, params }],
});
const query = { signal: 'oom_kill', severity: 'high', kind: 'Deployment', doNotRepeat: [] };

describe('runbook matching', () => {
  const tier1 = runbook('oom-deployments', { severity: 'high', signal: 'oom_kill', resourceKind: 'Deployment' });
  const tier2 = runbook('high-deployments', { severity: 'high', resourceKind: 'Deployment' });
  const anyKind = runbook('anything-high', { severity: 'high' });

  it('prefers signal + severity + kind, then severity + kind, then severity alone', () => {
    expect(matchRunbook([anyKind, tier2, tier1], query)?.name).toBe('oom-deployments');
    expect(matchRunbook([anyKind, tier2], query)?.name).toBe('high-deployments');
    expect(matchRunbook([anyKind], query)?.name).toBe('anything-high');
  });

  it('matches nothing of another severity, signal or kind', () => {
    expect(matchRunbook([runbook('low', { severity: 'low' })], query)).toBeUndefined();
    expect(
      matchRunbook([runbook('crash', { severity: 'high', signal: 'pod_restart', resourceKind: 'Deployment' })], query),
    ).toBeUndefined();
    expect(matchRunbook([runbook('sts', { severity: 'high', resourceKind: 'StatefulSet' })], query)).toBeUndefined();
  });

  it('picks by name among runbooks of one tier, so the choice never depends on listing order', () => {
    const b = runbook('b-oom', tier1.trigger);
    const a = runbook('a-oom', tier1.trigger);
    expect(matchRunbook([b, a], query)?.name).toBe('a-oom');
    expect(matchRunbook([a, b], query)?.name).toBe('a-oom');
  });

  it('passes over a runbook that would repeat an action that already failed on the Issue', () => {
    const raise = runbook('raise', tier1.trigger, 'AdjustResources', { memory_limit: '512Mi' });
    const failed = { ...query, doNotRepeat: ['AdjustResources(memory_limit=512Mi)'] };
    expect(matchRunbook([raise, tier2], failed)?.name).toBe('high-deployments');
  });
});
