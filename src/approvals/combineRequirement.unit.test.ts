import { describe, expect, it } from 'vitest';
import { combineRequirement } from './approvals.module.ts';

const matched = { policy: 'shop/prod', rule: 'two' };

describe('what the ApprovalPolicies add to what a plan already needs', () => {
  it('keeps the stricter of both: more approvers, the shorter expiry, the policy groups', () => {
    const base = {
      required: true,
      requiredApprovals: 1,
      timeoutSeconds: 3_600,
      rule: 'namespace shop is in approve mode',
    };
    expect(
      combineRequirement(base, { mode: 'quorum', matched, requiredApprovers: 2, groups: ['sre'], expirySeconds: 600 }),
    ).toEqual({
      required: true,
      requiredApprovals: 2,
      timeoutSeconds: 600,
      groups: ['sre'],
      policy: 'shop/prod',
      rule: 'rule two of ApprovalPolicy shop/prod; namespace shop is in approve mode',
    });
    expect(
      combineRequirement(
        { required: true, requiredApprovals: 3, timeoutSeconds: 300 },
        { mode: 'single', matched, requiredApprovers: 1, groups: [], expirySeconds: 900 },
      ),
    ).toMatchObject({ requiredApprovals: 3, timeoutSeconds: 300 });
  });

  it('never lowers what the plan needed: an auto rule leaves it, and adds only the window', () => {
    const base = { required: true, requiredApprovals: 1, rule: 'a node action' };
    const waitUntil = {
      opensAt: '2026-12-08T08:00:00.000Z',
      why: 'outside the change windows (UTC)',
      policy: 'shop/prod',
    };
    expect(combineRequirement(base, { mode: 'auto' })).toEqual(base);
    expect(combineRequirement(base, { mode: 'auto', matched, waitUntil })).toEqual({
      ...base,
      changeWindow: {
        opensAt: waitUntil.opensAt,
        reason: 'ApprovalPolicy shop/prod: outside the change windows (UTC)',
      },
    });
    expect(combineRequirement(undefined, { mode: 'auto' })).toEqual({ required: false });
  });

  it('applies the default approval only where no ApprovalPolicy rule matched the plan', () => {
    const fallback = { required: true, requiredApprovals: 1, rule: 'the default approval' };
    // No policy rule matched: the default holds.
    expect(combineRequirement({ required: false }, { mode: 'auto' }, fallback)).toEqual(fallback);
    // An auto rule matched: the plan runs without people, the default does not apply.
    expect(combineRequirement({ required: false }, { mode: 'auto', matched }, fallback)).toEqual({ required: false });
    // A quorum rule matched: the rule's requirement, not the default's.
    expect(
      combineRequirement(
        { required: false },
        { mode: 'quorum', matched, requiredApprovers: 2, groups: [], expirySeconds: 600 },
        fallback,
      ),
    ).toMatchObject({ required: true, requiredApprovals: 2, rule: 'rule two of ApprovalPolicy shop/prod' });
  });

  it('denies whatever else the plan needed', () => {
    expect(
      combineRequirement({ required: true }, { mode: 'deny', matched, why: 'denied by rule two of shop/prod' }),
    ).toMatchObject({
      deny: 'ApprovalPolicy shop/prod: denied by rule two of shop/prod',
    });
  });
});
