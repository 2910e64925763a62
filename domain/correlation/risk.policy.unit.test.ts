import { describe, expect, it } from 'vitest';
import { DEFAULT_SIGNAL_WEIGHT, riskScore, SignalWeights, severityFor, signalWeight } from './risk.policy.ts';

describe('risk scoring', () => {
  it('weighs the reference signals as the reference operator does', () => {
    expect(SignalWeights).toMatchObject({
      oom_kill: 30,
      error_rate: 25,
      deploy_failing: 25,
      latency_spike: 20,
      pod_restart: 20,
      pod_not_ready: 20,
    });
  });

  it('weighs an SLO burn like an error rate: both are failures users already see', () => {
    expect(signalWeight('slo_burn_rate')).toBe(signalWeight('error_rate'));
    expect(severityFor(riskScore(['slo_burn_rate', 'pod_restart', 'error_rate']))).toBe('high');
  });

  it('has a weight for every signal the watchers emit, and a default for the rest', () => {
    for (const signal of [
      'image_pull',
      'job_failed',
      'cronjob_failing',
      'statefulset_unavailable',
      'daemonset_unavailable',
      'node_not_ready',
      'hpa_maxed',
      'crashloop',
      'manual',
    ]) {
      expect(signalWeight(signal)).toBeGreaterThan(DEFAULT_SIGNAL_WEIGHT);
    }
    expect(signalWeight('KubeQuotaAlmostFull')).toBe(DEFAULT_SIGNAL_WEIGHT);
    expect(signalWeight('constructor')).toBe(DEFAULT_SIGNAL_WEIGHT);
  });

  it('oom_kill + pod_restart = 50 (medium); adding error_rate = 75 (high)', () => {
    expect(riskScore(['oom_kill', 'pod_restart'])).toBe(50);
    expect(severityFor(50)).toBe('medium');
    expect(riskScore(['oom_kill', 'pod_restart', 'error_rate'])).toBe(75);
    expect(severityFor(75)).toBe('high');
  });

  it('counts each signal once', () => {
    expect(riskScore(['oom_kill', 'oom_kill', 'oom_kill'])).toBe(30);
  });

  it('caps at 100', () => {
    expect(riskScore(['oom_kill', 'node_not_ready', 'error_rate', 'deploy_failing'])).toBe(100);
    expect(riskScore([])).toBe(0);
  });

  it.each([
    [100, 'critical'],
    [80, 'critical'],
    [79, 'high'],
    [60, 'high'],
    [59, 'medium'],
    [40, 'medium'],
    [39, 'low'],
    [0, 'low'],
  ] as const)('score %i is %s', (score, severity) => {
    expect(severityFor(score)).toBe(severity);
  });
});
