import { describe, expect, it } from 'vitest';
import { type ApprovalPolicyModel, decideApproval, type PlanSubject, type PolicyRule } from './approvalPolicy.ts';
import { type ChangeWindows, overlappingRanges, windowAt } from './changeWindow.ts';

const subject: PlanSubject = {
  namespace: 'shop',
  labels: { tier: 'web' },
  severity: 'high',
  riskScore: 70,
  actionTypes: ['RollbackDeployment'],
  destructive: false,
  agentic: false,
};

const rule = (over: Partial<PolicyRule>): PolicyRule => ({
  name: 'r',
  match: {},
  mode: 'single',
  requiredApprovers: 1,
  groups: [],
  expirySeconds: 600,
  ...over,
});

const policy = (over: Partial<ApprovalPolicyModel>): ApprovalPolicyModel => ({
  namespace: 'shop',
  name: 'p',
  generation: 1,
  clusterWide: false,
  rules: [],
  ...over,
});

const at = '2026-12-07T10:00:00.000Z'; // a Monday

describe('decideApproval', () => {
  it('lets a plan no rule matches run by itself', () => {
    expect(decideApproval([policy({ rules: [rule({ match: { severities: ['low'] } })] })], subject, at)).toEqual({
      mode: 'auto',
    });
  });

  it('takes the most restrictive of every matching rule, across policies', () => {
    const outcome = decideApproval(
      [
        policy({ name: 'a', rules: [rule({ name: 'one', mode: 'single' })] }),
        policy({
          name: 'b',
          rules: [
            rule({ name: 'auto', mode: 'auto', requiredApprovers: 0 }),
            rule({ name: 'two', mode: 'quorum', requiredApprovers: 2, groups: ['sre'] }),
          ],
        }),
      ],
      subject,
      at,
    );
    expect(outcome).toMatchObject({
      mode: 'quorum',
      requiredApprovers: 2,
      groups: ['sre'],
      matched: { policy: 'shop/b', rule: 'two' },
    });
    const denied = decideApproval(
      [
        policy({
          rules: [rule({ name: 'q', mode: 'quorum', requiredApprovers: 3 }), rule({ name: 'no', mode: 'deny' })],
        }),
      ],
      subject,
      at,
    );
    expect(denied).toMatchObject({ mode: 'deny', matched: { rule: 'no' } });
  });

  it('matches on namespace, labels, severity, risk, action types and destructiveness', () => {
    const only = (match: PolicyRule['match']) =>
      decideApproval([policy({ rules: [rule({ match })] })], subject, at).mode;
    expect(only({ namespaces: ['other'] })).toBe('auto');
    expect(only({ labelSelector: { matchLabels: { tier: 'db' }, matchExpressions: [] } })).toBe('auto');
    expect(only({ labelSelector: { matchLabels: { tier: 'web' }, matchExpressions: [] } })).toBe('single');
    expect(only({ minRiskScore: 80 })).toBe('auto');
    expect(only({ actionTypes: ['DrainNode'] })).toBe('auto');
    expect(only({ actionTypes: ['DrainNode', 'RollbackDeployment'] })).toBe('single');
    expect(only({ destructive: true })).toBe('auto');
    // An agentic plan may run anything: it matches action types and destructiveness.
    expect(
      decideApproval([policy({ rules: [rule({ match: { destructive: true } })] })], { ...subject, agentic: true }, at)
        .mode,
    ).toBe('single');
  });

  it('applies a namespaced policy to its own namespace only, one of the operator namespace everywhere', () => {
    const elsewhere = policy({ namespace: 'other', rules: [rule({})] });
    expect(decideApproval([elsewhere], subject, at).mode).toBe('auto');
    expect(decideApproval([{ ...elsewhere, clusterWide: true }], subject, at).mode).toBe('single');
  });

  const weekdays: ChangeWindows = {
    timeZone: 'Europe/Paris',
    weekly: [
      { days: ['Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday'], startMinute: 9 * 60, endMinute: 17 * 60 },
    ],
    freezes: [],
    outsideWindow: 'wait',
  };

  it('makes a plan outside its change window wait for the next opening, or ask a person', () => {
    const saturday = '2026-12-12T10:00:00.000Z';
    const auto = policy({ rules: [rule({ mode: 'auto', requiredApprovers: 0 })], windows: weekdays });
    expect(decideApproval([auto], subject, at)).toEqual({ mode: 'auto', matched: { policy: 'shop/p', rule: 'r' } });
    expect(decideApproval([auto], subject, saturday)).toMatchObject({
      mode: 'auto',
      waitUntil: { opensAt: '2026-12-14T08:00:00.000Z', policy: 'shop/p' },
    });
    const ask = policy({ ...auto, windows: { ...weekdays, outsideWindow: 'requireApproval' } });
    expect(decideApproval([ask], subject, saturday)).toMatchObject({ mode: 'single', requiredApprovers: 1 });
    expect(decideApproval([ask], subject, at).mode).toBe('auto');
  });
});

describe('windowAt', () => {
  const paris: ChangeWindows = {
    timeZone: 'Europe/Paris',
    weekly: [{ days: ['Sunday'], startMinute: 2 * 60 + 30, endMinute: 4 * 60 }],
    freezes: [],
    outsideWindow: 'wait',
  };

  it('follows the zone across a DST change (local wall-clock time)', () => {
    // Summer (UTC+2): Sunday 02:30 local is 00:30Z; winter (UTC+1): 01:30Z.
    expect(windowAt(paris, '2026-10-27T12:00:00Z')).toMatchObject({ opensAt: '2026-11-01T01:30:00.000Z' });
    expect(windowAt(paris, '2026-10-12T12:00:00Z')).toMatchObject({ opensAt: '2026-10-18T00:30:00.000Z' });
    expect(windowAt(paris, '2026-11-01T02:00:00Z')).toEqual({ open: true });
    expect(windowAt(paris, '2026-11-01T03:00:00Z')).toMatchObject({ opensAt: '2026-11-08T01:30:00.000Z' });
  });

  it('runs a window past midnight and skips freezes', () => {
    const night: ChangeWindows = {
      timeZone: 'UTC',
      weekly: [{ days: ['Friday'], startMinute: 22 * 60, endMinute: 2 * 60 }],
      freezes: [{ start: '2026-12-18T00:00:00Z', end: '2026-12-19T01:00:00Z', reason: 'year end' }],
      outsideWindow: 'wait',
    };
    expect(windowAt(night, '2026-12-12T01:00:00Z')).toEqual({ open: true });
    expect(windowAt(night, '2026-12-05T02:00:00Z')).toMatchObject({ opensAt: '2026-12-11T22:00:00.000Z' });
    // The next Friday night is frozen until 01:00: it opens as the freeze ends.
    expect(windowAt(night, '2026-12-12T02:00:00Z')).toMatchObject({ opensAt: '2026-12-19T01:00:00.000Z' });
    expect(windowAt(night, '2026-12-18T23:00:00Z')).toMatchObject({
      opensAt: '2026-12-19T01:00:00.000Z',
      why: expect.stringContaining('year end'),
    });
    const onlyFreeze: ChangeWindows = { ...night, weekly: [] };
    expect(windowAt(onlyFreeze, '2026-12-18T12:00:00Z')).toMatchObject({ opensAt: '2026-12-19T01:00:00.000Z' });
    expect(windowAt(onlyFreeze, '2026-12-20T12:00:00Z')).toEqual({ open: true });
  });

  it('finds overlapping weekly ranges, wrapped ones included', () => {
    expect(
      overlappingRanges([
        { days: ['Monday'], startMinute: 540, endMinute: 720 },
        { days: ['Tuesday'], startMinute: 540, endMinute: 720 },
      ]),
    ).toBeUndefined();
    expect(
      overlappingRanges([
        { days: ['Monday'], startMinute: 540, endMinute: 720 },
        { days: ['Monday'], startMinute: 700, endMinute: 800 },
      ]),
    ).toEqual([0, 1]);
    expect(
      overlappingRanges([
        { days: ['Sunday'], startMinute: 23 * 60, endMinute: 60 },
        { days: ['Monday'], startMinute: 30, endMinute: 120 },
      ]),
    ).toEqual([0, 1]);
  });
});
