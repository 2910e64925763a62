import { describe, expect, it } from 'vitest';
import { complianceBySeverity } from './compliance.ts';

describe('SLA compliance', () => {
  it('counts targets that ended in the last 7 and 30 days, per severity', () => {
    const now = '2026-12-07T12:00:00.000Z';
    const clocks = [
      { severity: 'critical', state: 'met', endedAt: '2026-12-06T12:00:00.000Z' },
      { severity: 'critical', state: 'violated', endedAt: '2026-12-05T12:00:00.000Z' },
      { severity: 'critical', state: 'met', endedAt: '2026-12-04T12:00:00.000Z' },
      { severity: 'critical', state: 'violated', endedAt: '2026-11-20T12:00:00.000Z' },
      { severity: 'critical', state: 'violated', endedAt: '2026-10-01T12:00:00.000Z' },
      { severity: 'high', state: 'met', endedAt: '2026-12-07T11:00:00.000Z' },
    ] as const;
    expect(complianceBySeverity(['critical', 'high', 'low'], clocks, now)).toEqual([
      {
        severity: 'critical',
        last7Days: { met: 2, violated: 1, compliance: 66.67 },
        last30Days: { met: 2, violated: 2, compliance: 50 },
      },
      {
        severity: 'high',
        last7Days: { met: 1, violated: 0, compliance: 100 },
        last30Days: { met: 1, violated: 0, compliance: 100 },
      },
      { severity: 'low', last7Days: { met: 0, violated: 0 }, last30Days: { met: 0, violated: 0 } },
    ]);
  });
});
