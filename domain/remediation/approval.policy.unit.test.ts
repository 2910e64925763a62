import { describe, expect, it } from 'vitest';
import { type ApprovalRule, type ApprovalSubject, approvalFor } from './approval.policy.ts';

const subject = (overrides: Partial<ApprovalSubject> = {}): ApprovalSubject => ({
  severity: 'high',
  riskScore: 60,
  namespace: 'shop',
  kind: 'Deployment',
  source: 'ai-runbook',
  actionTypes: ['RollbackDeployment'],
  destructive: false,
  ...overrides,
});

describe('approval policy', () => {
  it('needs no approval when no rule matches', () => {
    expect(approvalFor([], subject()).required).toBe(false);
    const rules: ApprovalRule[] = [{ name: 'prod', match: { namespaces: ['prod'] }, mode: 'manual' }];
    expect(approvalFor(rules, subject()).required).toBe(false);
  });

  it('asks one person for a destructive plan, with the rule timeout', () => {
    const rules: ApprovalRule[] = [
      { name: 'destructive', match: { destructive: true }, mode: 'manual', timeoutSeconds: 60 },
    ];
    expect(approvalFor(rules, subject({ actionTypes: ['DeletePod'], destructive: true }))).toEqual({
      required: true,
      requiredApprovals: 1,
      timeoutSeconds: 60,
      rule: 'destructive',
    });
    expect(approvalFor(rules, subject()).required).toBe(false);
  });

  it('asks a quorum in configured namespaces, for configured action types; first matching rule wins', () => {
    const rules: ApprovalRule[] = [
      {
        name: 'payments',
        match: { namespaces: ['shop'], actionTypes: ['RollbackDeployment'] },
        mode: 'quorum',
        requiredApprovers: 2,
      },
      { name: 'all', mode: 'manual' },
    ];
    expect(approvalFor(rules, subject())).toMatchObject({ required: true, requiredApprovals: 2, rule: 'payments' });
    expect(approvalFor(rules, subject({ actionTypes: ['RestartDeployment'] }))).toMatchObject({
      requiredApprovals: 1,
      rule: 'all',
    });
  });

  it('treats an agentic plan as able to run any action: action-type and destructive rules match it', () => {
    const rules: ApprovalRule[] = [{ name: 'deletes', match: { actionTypes: ['DeletePod'] }, mode: 'manual' }];
    expect(approvalFor(rules, subject({ source: 'agentic', actionTypes: [] })).required).toBe(true);
  });

  it('approves automatically when confident enough and not too severe', () => {
    const rules: ApprovalRule[] = [
      { name: 'auto', mode: 'auto', autoApprove: { minConfidence: 0.8, maxSeverity: 'high' } },
    ];
    expect(approvalFor(rules, subject({ confidence: 0.9 })).required).toBe(false);
    expect(approvalFor(rules, subject({ confidence: 0.5 })).required).toBe(true);
    expect(approvalFor(rules, subject({ confidence: 0.9, severity: 'critical' })).required).toBe(true);
  });
});
