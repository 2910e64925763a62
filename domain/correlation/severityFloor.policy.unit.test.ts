import { describe, expect, it } from 'vitest';
import { riskScore, severityFor } from './risk.policy.ts';
import { atLeast, severityFloorOf } from './severityFloor.policy.ts';

describe('severity floor of an anomaly', () => {
  it('lets a page-urgency SLO burn ask for its own severity, above what its risk score gives', () => {
    expect(severityFor(riskScore(['slo_burn_rate']))).toBe('low');
    expect(severityFloorOf('slo_burn_rate', { urgency: 'page', severity: 'critical' })).toBe('critical');
    expect(severityFloorOf('slo_burn_rate', { urgency: 'page', severity: 'high' })).toBe('high');
  });

  it('never lets a ticket ask for more than medium, whatever severity it is labelled with', () => {
    expect(severityFloorOf('slo_burn_rate', { urgency: 'ticket', severity: 'medium' })).toBe('medium');
    expect(severityFloorOf('slo_burn_rate', { urgency: 'ticket', severity: 'low' })).toBe('low');
    expect(severityFloorOf('slo_burn_rate', { urgency: 'ticket', severity: 'critical' })).toBe('medium');
    // No urgency at all is not a page either.
    expect(severityFloorOf('slo_burn_rate', { severity: 'critical' })).toBe('medium');
  });

  it('sets no floor for other signals, missing labels or a severity it does not know', () => {
    expect(severityFloorOf('error_rate', { urgency: 'page', severity: 'critical' })).toBeUndefined();
    expect(severityFloorOf('slo_burn_rate', undefined)).toBeUndefined();
    expect(severityFloorOf('slo_burn_rate', { urgency: 'page', severity: 'urgent' })).toBeUndefined();
    expect(severityFloorOf('slo_burn_rate', { urgency: 'page', severity: 'toString' })).toBeUndefined();
  });

  it('keeps the more severe of a score and a floor', () => {
    expect(atLeast('low', 'high')).toBe('high');
    expect(atLeast('critical', 'medium')).toBe('critical');
    expect(atLeast('medium', undefined)).toBe('medium');
  });
});
