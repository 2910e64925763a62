/**
 * Error-budget arithmetic for ServiceLevelObjectives. Pure: the counts come in, verdicts go out.
 *
 * A window's SLI is good / total events in it. Its burn rate is how many times faster than "exactly on target" the
 * error budget is being spent: (1 - SLI) / (1 - target). An alert is a pair of windows and a factor; it fires only
 * when both windows burn faster than the factor (the long window proves it matters, the short one that it is still
 * happening). A window with no traffic (no series, or total 0) has no SLI: it never counts as 100 % good, and a
 * pair with a silent window neither fires nor clears on that evidence alone.
 */

export type Urgency = 'page' | 'ticket';

export interface BurnRateRule {
  readonly name: string;
  /** Seconds. */
  readonly shortWindow: number;
  /** Seconds. */
  readonly longWindow: number;
  readonly factor: number;
  readonly urgency: Urgency;
}

/** Good and total events counted over one window; undefined when the query answered no series. */
export interface WindowCounts {
  readonly good: number | undefined;
  readonly total: number | undefined;
}

export type WindowSli = { readonly kind: 'measured'; readonly sli: number } | { readonly kind: 'no_data' };

/** The SLI of a window, 0 to 1, or no_data when nothing was counted. */
export function windowSli(counts: WindowCounts): WindowSli {
  const { good, total } = counts;
  if (good === undefined || total === undefined) return { kind: 'no_data' };
  if (!Number.isFinite(good) || !Number.isFinite(total) || total <= 0) return { kind: 'no_data' };
  // Counters scraped a moment apart can put good a hair above total: the SLI stays within [0, 1].
  return { kind: 'measured', sli: Math.min(1, Math.max(0, good / total)) };
}

/** target is a percentage strictly between 0 and 100, e.g. 99.9. */
export function assertTarget(targetPercent: number): void {
  if (!(targetPercent > 0 && targetPercent < 100)) {
    throw new RangeError(`target must be strictly between 0 and 100, got ${targetPercent}`);
  }
}

/** (1 - SLI) / (1 - target): 1 spends the budget exactly over the SLO window, 14.4 spends 2 % of 30 days in 1 h. */
export function burnRate(sli: WindowSli, targetPercent: number): number | undefined {
  assertTarget(targetPercent);
  if (sli.kind === 'no_data') return undefined;
  return (1 - sli.sli) / (1 - targetPercent / 100);
}

/** Share of the error budget left over the SLO window: 1 untouched, 0 spent, negative overspent. */
export function errorBudgetRemaining(sli: WindowSli, targetPercent: number): number | undefined {
  const rate = burnRate(sli, targetPercent);
  return rate === undefined ? undefined : 1 - rate;
}

/** The SRE workbook's four pairs for a 30-day objective (2 %, 5 %, 10 % and 10 % of the budget). */
export const DefaultBurnRateRules: readonly BurnRateRule[] = [
  { name: 'page-1h', shortWindow: 300, longWindow: 3_600, factor: 14.4, urgency: 'page' },
  { name: 'page-6h', shortWindow: 1_800, longWindow: 21_600, factor: 6, urgency: 'page' },
  { name: 'ticket-1d', shortWindow: 7_200, longWindow: 86_400, factor: 3, urgency: 'ticket' },
  { name: 'ticket-3d', shortWindow: 21_600, longWindow: 259_200, factor: 1, urgency: 'ticket' },
];

/** Every distinct window the rules read, in seconds, shortest first. */
export const windowsOf = (rules: readonly BurnRateRule[]): number[] =>
  [...new Set(rules.flatMap((r) => [r.shortWindow, r.longWindow]))].sort((a, b) => a - b);

export interface RuleVerdict {
  readonly name: string;
  readonly urgency: Urgency;
  readonly factor: number;
  readonly shortWindow: number;
  readonly longWindow: number;
  readonly shortRate: number | undefined;
  readonly longRate: number | undefined;
  /** firing: both windows over the factor; ok: at least one measured window at or under it; unknown: no data. */
  readonly state: 'firing' | 'ok' | 'unknown';
}

/** Judges each rule from the burn rate of every window (seconds -> rate, undefined for no data). */
export function judgeRules(
  rules: readonly BurnRateRule[],
  rates: ReadonlyMap<number, number | undefined>,
): RuleVerdict[] {
  return rules.map((rule) => {
    const shortRate = rates.get(rule.shortWindow);
    const longRate = rates.get(rule.longWindow);
    const over = (rate: number | undefined) => rate !== undefined && rate > rule.factor;
    const under = (rate: number | undefined) => rate !== undefined && rate <= rule.factor;
    const state = over(shortRate) && over(longRate) ? 'firing' : under(shortRate) || under(longRate) ? 'ok' : 'unknown';
    return {
      name: rule.name,
      urgency: rule.urgency,
      factor: rule.factor,
      shortWindow: rule.shortWindow,
      longWindow: rule.longWindow,
      shortRate,
      longRate,
      state,
    };
  });
}

export interface AlertChange {
  readonly name: string;
  readonly change: 'fired' | 'cleared';
  readonly verdict: RuleVerdict;
}

/**
 * What changed since the alerts that were firing: a rule that fires now and was not firing fires; one that was
 * firing and is now ok clears. Unknown (no data) keeps whatever was, so a scrape gap neither pages nor resolves.
 */
export function alertChanges(firing: ReadonlySet<string>, verdicts: readonly RuleVerdict[]): AlertChange[] {
  const changes: AlertChange[] = [];
  for (const verdict of verdicts) {
    if (verdict.state === 'firing' && !firing.has(verdict.name))
      changes.push({ name: verdict.name, change: 'fired', verdict });
    if (verdict.state === 'ok' && firing.has(verdict.name))
      changes.push({ name: verdict.name, change: 'cleared', verdict });
  }
  return changes;
}

const UNIT_SECONDS: Record<string, number> = { s: 1, m: 60, h: 3_600, d: 86_400, w: 604_800 };

/** `30s`, `5m`, `1h`, `30d`, `4w`, or a sum like `1h30m`, in seconds; undefined when it is none of these. */
export function parseWindow(text: string): number | undefined {
  if (!/^(\d+[smhdw])+$/.test(text)) return undefined;
  let seconds = 0;
  for (const [, n, unit] of text.matchAll(/(\d+)([smhdw])/g)) seconds += Number(n) * UNIT_SECONDS[unit as string]!;
  return seconds > 0 ? seconds : undefined;
}

/** Seconds as PromQL writes a range: the largest unit that divides it exactly. */
export function formatWindow(seconds: number): string {
  for (const [unit, size] of [
    ['w', 604_800],
    ['d', 86_400],
    ['h', 3_600],
    ['m', 60],
  ] as const) {
    if (seconds % size === 0) return `${seconds / size}${unit}`;
  }
  return `${seconds}s`;
}
