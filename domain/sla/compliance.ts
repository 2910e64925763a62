import type { Severity } from '../events/common.schema.ts';

/** A clock that stopped: met in time or violated. */
export interface EndedClock {
  readonly severity: string;
  readonly state: 'met' | 'violated';
  readonly endedAt: string;
}

export interface ComplianceWindow {
  readonly met: number;
  readonly violated: number;
  /** Met as a percentage of met and violated, to two decimals; absent when nothing ended in the window. */
  readonly compliance?: number;
}

export interface SeverityCompliance {
  readonly severity: Severity;
  readonly last7Days: ComplianceWindow;
  readonly last30Days: ComplianceWindow;
}

const DAY_MS = 86_400_000;

const windowOf = (clocks: readonly EndedClock[], from: number, to: number): ComplianceWindow => {
  let met = 0;
  let violated = 0;
  for (const c of clocks) {
    const at = Date.parse(c.endedAt);
    if (!(at > from && at <= to)) continue;
    if (c.state === 'met') met += 1;
    else violated += 1;
  }
  const total = met + violated;
  return total === 0 ? { met, violated } : { met, violated, compliance: Math.round((met / total) * 10_000) / 100 };
};

/** Per severity listed, the targets (response and resolution each count) that ended in the last 7 and 30 days. */
export function complianceBySeverity(
  severities: readonly Severity[],
  clocks: readonly EndedClock[],
  now: string,
): SeverityCompliance[] {
  const to = Date.parse(now);
  return severities.map((severity) => {
    const mine = clocks.filter((c) => c.severity === severity);
    return {
      severity,
      last7Days: windowOf(mine, to - 7 * DAY_MS, to),
      last30Days: windowOf(mine, to - 30 * DAY_MS, to),
    };
  });
}
