import { Severity } from '../events/common.schema.ts';

/**
 * Most signals say only that something is wrong, and an Issue's severity follows its risk score. A few state their
 * own urgency: a ServiceLevelObjective's burn alert is declared page or ticket by the person who wrote the SLO, and
 * that declaration, not the signal's weight, says whether someone is woken. Such an anomaly carries a severity
 * floor: the Issue it opens or joins is at least that severe, and other signals can raise it further.
 */

const RANK: Record<Severity, number> = { low: 0, medium: 1, high: 2, critical: 3 };

export const isSeverity = (value: unknown): value is Severity =>
  typeof value === 'string' && Object.hasOwn(RANK, value);

/** The more severe of the two; undefined counts for nothing. */
export const atLeast = (severity: Severity, floor: Severity | undefined): Severity =>
  floor !== undefined && RANK[floor] > RANK[severity] ? floor : severity;

/** Signals whose anomalies may carry a floor; the correlation reactor reads the anomaly's labels only for these. */
export const FLOORED_SIGNALS: ReadonlySet<string> = new Set(['slo_burn_rate']);

/** A ticket never pages: whatever severity it was labelled with, a ticket alone raises an Issue to medium at most. */
const TICKET_CEILING: Severity = Severity.Medium;

/**
 * The floor an anomaly sets, read from its signal and labels (the SLO evaluator writes `urgency` and `severity`).
 * Undefined for every other signal, and for labels that name no known severity, so a misspelt label only loses
 * the floor, never the anomaly.
 */
export function severityFloorOf(
  signal: string,
  labels: Readonly<Record<string, string>> | undefined,
): Severity | undefined {
  if (!FLOORED_SIGNALS.has(signal) || labels === undefined) return undefined;
  const severity = labels.severity;
  if (!isSeverity(severity)) return undefined;
  if (labels.urgency === 'page') return severity;
  return RANK[severity] > RANK[TICKET_CEILING] ? TICKET_CEILING : severity;
}
