import type { Finding } from './detectors.ts';

/**
 * Turns instantaneous findings into anomalies once they have lasted their `sustainSeconds`, and only once per
 * episode: a pod that stays in CrashLoopBackOff for an hour is reported when it starts, not at every status
 * update. An episode ends when the finding is no longer there; if it comes back, it is reported again.
 *
 * Plain state in, plain state out, so the operator can keep one per object and tests can drive time by hand.
 */
export interface SustainState {
  /** Per `signal|kind|namespace|name`: when the finding was first seen, and whether it was reported. */
  readonly episodes: ReadonlyMap<string, { readonly since: number; readonly reported: boolean }>;
}

export const emptySustainState = (): SustainState => ({ episodes: new Map() });

const keyOf = (f: Finding) => `${f.signal}|${f.subject.kind}|${f.subject.namespace}|${f.subject.name}`;

export interface SustainResult {
  readonly state: SustainState;
  /** Findings to report now. */
  readonly due: readonly Finding[];
  /** When to look again because a finding will have lasted long enough by then (epoch ms). */
  readonly recheckAt?: number;
}

export function sustain(state: SustainState, findings: readonly Finding[], now: number): SustainResult {
  const episodes = new Map<string, { since: number; reported: boolean }>();
  const due: Finding[] = [];
  let recheckAt: number | undefined;
  for (const finding of findings) {
    const key = keyOf(finding);
    const previous = state.episodes.get(key);
    const since = previous?.since ?? now;
    const ripeAt = since + finding.sustainSeconds * 1000;
    let reported = previous?.reported ?? false;
    if (!reported && now >= ripeAt) {
      due.push(finding);
      reported = true;
    } else if (!reported) {
      recheckAt = Math.min(recheckAt ?? ripeAt, ripeAt);
    }
    episodes.set(key, { since, reported });
  }
  return recheckAt === undefined ? { state: { episodes }, due } : { state: { episodes }, due, recheckAt };
}
