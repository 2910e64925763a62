import { describe, expect, it } from 'vitest';
import { checkSafety, defaultSafety, midRunProblem, type SafetyInputs } from './chaosSafety.ts';
import { dueScheduledRun, nextScheduledRun } from './chaosSchedule.ts';

const healthy = { exists: true, desired: 4, ready: 4, healthy: true, detail: 'healthy' };
const input = (overrides: Partial<SafetyInputs> = {}): SafetyInputs => ({
  targetLabel: 'Deployment shop/web',
  targetNamespace: 'shop',
  scope: 'pods',
  count: 1,
  safety: defaultSafety,
  health: healthy,
  ...overrides,
});

describe('chaos safety checks', () => {
  it('pass for one pod of four on a healthy target, and list every check', () => {
    const verdict = checkSafety(input());
    expect(verdict.refusal).toBeUndefined();
    expect(verdict.checks.map((c) => c.name)).toEqual([
      'namespace',
      'target',
      'healthy',
      'share',
      'slo_budget',
      'target_free',
      'injectable',
    ]);
    expect(verdict.checks.every((c) => c.passed)).toBe(true);
  });

  it('refuse with the first failed check: blocked namespace before anything else', () => {
    const verdict = checkSafety(input({ targetNamespace: 'kube-system', health: { ...healthy, healthy: false } }));
    expect(verdict.refusal).toEqual({
      code: 'blocked_namespace',
      message: 'namespace kube-system is blocked by safety.blockedNamespaces',
    });
  });

  it('count a workload-wide fault as every replica, so it needs maxPodsPercent 100', () => {
    expect(checkSafety(input({ scope: 'workload' })).refusal?.code).toBe('too_many_pods');
    expect(
      checkSafety(input({ scope: 'workload', safety: { ...defaultSafety, maxPodsPercent: 100 } })).refusal,
    ).toBeUndefined();
    // Three pods of four is 75 %: over the default 50 %.
    expect(checkSafety(input({ count: 3 })).refusal?.message).toBe(
      'the fault reaches 3 pod(s): 3 of 4 (75%), at most 50% allowed by safety.maxPodsPercent',
    );
  });

  it('keep minHealthyPods ready after the fault', () => {
    const safety = { ...defaultSafety, minHealthyPods: 3 };
    expect(checkSafety(input({ safety })).refusal).toBeUndefined();
    expect(checkSafety(input({ safety, count: 2 })).refusal).toEqual({
      code: 'too_few_healthy_pods',
      message: '2 ready pod(s) would be left, safety.minHealthyPods is 3',
    });
  });

  it('refuse a missing or unhealthy target, a spent SLO, a busy target and a fault that cannot be produced', () => {
    expect(checkSafety(input({ health: { ...healthy, exists: false } })).refusal?.code).toBe('target_missing');
    expect(checkSafety(input({ health: { ...healthy, healthy: false, detail: '3 of 4 available' } })).refusal).toEqual({
      code: 'target_unhealthy',
      message: 'Deployment shop/web is not healthy: 3 of 4 available',
    });
    expect(checkSafety(input({ sloRisk: 'SLO shop/web: error budget remaining -3% (exhausted)' })).refusal?.code).toBe(
      'slo_budget_exhausted',
    );
    expect(checkSafety(input({ busyWith: 'ChaosExperiment shop/other is running' })).refusal?.code).toBe('target_busy');
    expect(
      checkSafety(input({ notInjectable: { code: 'not_injectable', message: 'needs a network agent' } })).refusal,
    ).toEqual({ code: 'not_injectable', message: 'needs a network agent' });
  });

  it('let a user turn the health and SLO checks off, never the others', () => {
    const safety = { ...defaultSafety, requireHealthyTarget: false, respectSloBudget: false };
    const verdict = checkSafety(input({ safety, health: { ...healthy, healthy: false }, sloRisk: 'spent' }));
    expect(verdict.refusal).toBeUndefined();
    expect(verdict.checks.map((c) => c.name)).not.toContain('slo_budget');
  });

  it('abort a run under way below minHealthyPods or on an SLO at risk', () => {
    const safety = { ...defaultSafety, minHealthyPods: 2 };
    expect(midRunProblem({ safety, scope: 'pods', health: { ...healthy, ready: 2 } })).toBeUndefined();
    expect(midRunProblem({ safety, scope: 'pods', health: { ...healthy, ready: 1 } })).toBe(
      'only 1 ready pod(s), below safety.minHealthyPods (2)',
    );
    expect(midRunProblem({ safety: defaultSafety, scope: 'pods', health: healthy, sloRisk: 'SLO x burns' })).toBe(
      'SLO x burns: the error budget comes first',
    );
  });
});

describe('chaos schedules', () => {
  const at = (iso: string) => new Date(iso);

  it('are due at their cron time once, not again after the run started', () => {
    const since = at('2026-12-07T09:58:00Z');
    expect(dueScheduledRun('*/5 * * * *', since, at('2026-12-07T09:59:59Z'))).toBeUndefined();
    expect(dueScheduledRun('*/5 * * * *', since, at('2026-12-07T10:00:00Z'))).toEqual(at('2026-12-07T10:00:00Z'));
    expect(dueScheduledRun('*/5 * * * *', since, at('2026-12-07T10:00:30Z'))).toEqual(at('2026-12-07T10:00:00Z'));
    // The run of 10:00 started at 10:00:01: nothing is due until 10:05.
    expect(dueScheduledRun('*/5 * * * *', at('2026-12-07T10:00:01Z'), at('2026-12-07T10:04:00Z'))).toBeUndefined();
  });

  it('skip a time missed by more than the starting deadline (the operator was down)', () => {
    expect(dueScheduledRun('0 * * * *', at('2026-12-07T08:30:00Z'), at('2026-12-07T09:01:01Z'))).toBeUndefined();
    expect(nextScheduledRun('0 * * * *', at('2026-12-07T09:01:01Z'))).toEqual(at('2026-12-07T10:00:00Z'));
  });

  it('never fire for a schedule that cannot be read', () => {
    expect(dueScheduledRun('not a cron', at('2026-12-07T08:00:00Z'), at('2026-12-07T09:00:00Z'))).toBeUndefined();
    expect(nextScheduledRun('61 * * * *', at('2026-12-07T08:00:00Z'))).toBeUndefined();
  });
});
