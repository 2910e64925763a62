import { describe, expect, it } from 'vitest';
import { validateApprovalPolicy } from './policy.validation.ts';

const meta = { namespace: 'shop', name: 'p', generation: 3 };
const check = (spec: unknown) => validateApprovalPolicy(meta, spec, 'cairn-system');
const problem = (spec: unknown) => {
  const outcome = check(spec);
  return outcome.ok ? undefined : outcome.problem;
};

describe('validateApprovalPolicy', () => {
  it('turns a valid spec into the model, with defaults', () => {
    const outcome = check({
      rules: [
        {
          name: 'two',
          mode: 'quorum',
          requiredApprovers: 2,
          groups: ['sre'],
          expiry: '10m',
          match: { actionTypes: ['DrainNode'] },
        },
        { name: 'rest', mode: 'auto' },
      ],
      changeWindows: { timeZone: 'Europe/Paris', weekly: [{ days: ['Monday'], start: '09:00', end: '24:00' }] },
    });
    expect(outcome.ok).toBe(true);
    if (!outcome.ok) return;
    expect(outcome.policy.rules[0]).toMatchObject({
      mode: 'quorum',
      requiredApprovers: 2,
      groups: ['sre'],
      expirySeconds: 600,
    });
    expect(outcome.policy.rules[1]).toMatchObject({ mode: 'auto', expirySeconds: 1800 });
    expect(outcome.policy.windows).toMatchObject({
      outsideWindow: 'wait',
      weekly: [{ startMinute: 540, endMinute: 0 }],
    });
    expect(outcome.policy.clusterWide).toBe(false);
  });

  it('names the field of an unknown action type, an empty quorum, overlapping windows, an unknown zone', () => {
    expect(
      problem({ rules: [{ name: 'a', mode: 'single', match: { actionTypes: ['RestartDeployment', 'Reboot'] } }] }),
    ).toEqual({
      field: 'spec.rules[0].match.actionTypes[1]',
      message: 'unknown action type "Reboot"',
    });
    expect(problem({ rules: [{ name: 'a', mode: 'quorum' }] })?.field).toBe('spec.rules[0].requiredApprovers');
    expect(problem({ rules: [{ name: 'a', mode: 'quorum', requiredApprovers: 0 }] })?.message).toContain(
      'empty quorum',
    );
    expect(
      problem({
        rules: [{ name: 'a', mode: 'auto' }],
        changeWindows: {
          weekly: [
            { days: ['Monday', 'Tuesday'], start: '09:00', end: '17:00' },
            { days: ['Tuesday'], start: '16:00', end: '18:00' },
          ],
        },
      }),
    ).toEqual({
      field: 'spec.changeWindows.weekly[1]',
      message: expect.stringContaining('overlaps spec.changeWindows.weekly[0]'),
    });
    expect(problem({ rules: [{ name: 'a', mode: 'auto' }], changeWindows: { timeZone: 'Mars/Olympus' } })).toEqual({
      field: 'spec.changeWindows.timeZone',
      message: expect.stringContaining('unknown time zone "Mars/Olympus"'),
    });
  });

  it('refuses what makes no sense for the mode, malformed clocks and freezes that end first', () => {
    expect(problem({ rules: [{ name: 'a', mode: 'deny', groups: ['x'] }] })?.field).toBe('spec.rules[0].groups');
    expect(problem({ rules: [{ name: 'a', mode: 'single', requiredApprovers: 3 }] })?.field).toBe(
      'spec.rules[0].requiredApprovers',
    );
    expect(
      problem({
        rules: [{ name: 'a', mode: 'auto' }],
        changeWindows: { weekly: [{ days: ['Monday'], start: '9h', end: '10:00' }] },
      })?.field,
    ).toBe('spec.changeWindows.weekly[0].start');
    expect(
      problem({
        rules: [{ name: 'a', mode: 'auto' }],
        changeWindows: { freezes: [{ start: '2026-12-20T00:00:00Z', end: '2026-12-19T00:00:00Z' }] },
      })?.field,
    ).toBe('spec.changeWindows.freezes[0].end');
    expect(problem({ rules: [{ name: 'a', mode: 'sometimes' }] })?.field).toBe('spec.rules[0].mode');
    expect(problem({ rules: [] })?.field).toBe('spec.rules');
  });
});
