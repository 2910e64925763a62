/**
 * When an anomaly says it was observed. Senders' clocks drift and some send nonsense (year 1, year 9999); MTTD is
 * measured from this instant, so it is kept to a window around the moment Cairn receives the signal. Pure: "now"
 * is passed in.
 */
export const ObservedAtWindow = {
  /** An alert may have been firing for days before it reaches Cairn (a restart, a new receiver); a week is kept. */
  pastMs: 7 * 24 * 60 * 60 * 1000,
  /** Clock skew between a sender and Cairn. */
  futureMs: 5 * 60 * 1000,
} as const;

export type ObservedAtJudgement =
  | { readonly ok: true; readonly observedAt: string }
  /** Out of the window or unreadable: `observedAt` is the nearest instant inside it, `problem` says what was wrong. */
  | { readonly ok: false; readonly observedAt: string; readonly problem: string };

export function judgeObservedAt(
  value: string | undefined,
  now: Date,
  window: { readonly pastMs: number; readonly futureMs: number } = ObservedAtWindow,
): ObservedAtJudgement {
  const nowMs = now.getTime();
  if (value === undefined) return { ok: true, observedAt: now.toISOString() };
  const at = Date.parse(value);
  if (!Number.isFinite(at))
    return { ok: false, observedAt: now.toISOString(), problem: `'${value}' is not an instant` };
  const earliest = nowMs - window.pastMs;
  const latest = nowMs + window.futureMs;
  if (at < earliest) {
    return {
      ok: false,
      observedAt: new Date(earliest).toISOString(),
      problem: `${value} is more than ${Math.round(window.pastMs / 86_400_000)} days before now (${now.toISOString()})`,
    };
  }
  if (at > latest) {
    return {
      ok: false,
      observedAt: new Date(latest).toISOString(),
      problem: `${value} is more than ${Math.round(window.futureMs / 60_000)} minutes after now (${now.toISOString()})`,
    };
  }
  return { ok: true, observedAt: new Date(at).toISOString() };
}
