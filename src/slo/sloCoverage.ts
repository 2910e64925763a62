import { formatWindow } from '../../domain/slo/burnRate.ts';
import type { EvaluatedSlo } from './slo.validation.ts';

/*
 * Whether Prometheus still holds the data an SLO reads. A 30d window over a Prometheus that keeps 15d is not an
 * error (the SLI is computed over what there is), but the number means something else than the spec says, so the
 * SLO stays Ready and a second condition, WindowCovered, says so. Pure: Prometheus' flags in, a condition out.
 */

export const WINDOW_COVERED = 'WindowCovered';

/** Days as days (7d, not 1w), the way retention and SLO windows are usually written. */
const span = (seconds: number): string => (seconds % 86_400 === 0 ? `${seconds / 86_400}d` : formatWindow(seconds));

/** How long Prometheus keeps samples, as its flags say. */
export type Retention =
  | { readonly kind: 'time'; readonly seconds: number; readonly text: string; readonly size?: string }
  | { readonly kind: 'size_only'; readonly size: string }
  | { readonly kind: 'unknown'; readonly why: string };

export interface CoverageCondition {
  readonly status: 'True' | 'False' | 'Unknown';
  readonly reason: string;
  readonly message: string;
}

const UNITS: Record<string, number> = {
  y: 365 * 86_400,
  w: 7 * 86_400,
  d: 86_400,
  h: 3_600,
  m: 60,
  s: 1,
  ms: 0.001,
};

/** A Prometheus duration (`15d`, `4w2d`, `1y`, `90m`, `0s`) in seconds; undefined when it is not one. */
export function parsePrometheusDuration(text: string): number | undefined {
  if (!/^((\d+)(ms|y|w|d|h|m|s))+$/.test(text)) return text === '0' ? 0 : undefined;
  let seconds = 0;
  for (const [, n, unit] of text.matchAll(/(\d+)(ms|y|w|d|h|m|s)/g)) seconds += Number(n) * UNITS[unit as string]!;
  return seconds;
}

/** `0B`, `0`, or nothing: no size limit. */
const noSize = (size: string | undefined) => size === undefined || /^0+(\.0+)?[KMGTPE]?i?B?$/.test(size.trim());

/** Prometheus' own default when neither time nor size is set (2.x and 3.x). */
const DEFAULT_RETENTION = '15d';

/**
 * The retention from `/api/v1/status/flags`: `storage.tsdb.retention.time`, else the deprecated
 * `storage.tsdb.retention`, else 15d unless only `storage.tsdb.retention.size` limits it.
 */
export function retentionFromFlags(flags: Readonly<Record<string, string>>): Retention {
  const time = flags['storage.tsdb.retention.time'];
  const old = flags['storage.tsdb.retention'];
  const size = flags['storage.tsdb.retention.size'];
  if (time === undefined && old === undefined && size === undefined) {
    return {
      kind: 'unknown',
      why: 'its flags name no storage.tsdb.retention (is it a Prometheus with local storage?)',
    };
  }
  const sizeLimit = noSize(size) ? {} : { size: size!.trim() };
  for (const candidate of [time, old]) {
    if (candidate === undefined) continue;
    const seconds = parsePrometheusDuration(candidate.trim());
    if (seconds === undefined)
      return { kind: 'unknown', why: `its retention ${JSON.stringify(candidate)} is not a duration` };
    if (seconds > 0) return { kind: 'time', seconds, text: candidate.trim(), ...sizeLimit };
  }
  if (!noSize(size)) return { kind: 'size_only', size: size!.trim() };
  return { kind: 'time', seconds: parsePrometheusDuration(DEFAULT_RETENTION)!, text: DEFAULT_RETENTION };
}

/** WindowCovered for an SLO: True when its window and every long window fit in the retention. */
export function windowCoverage(slo: EvaluatedSlo, retention: Retention): CoverageCondition {
  if (retention.kind === 'unknown') {
    return { status: 'Unknown', reason: 'RetentionUnknown', message: `Prometheus ${retention.why}` };
  }
  if (retention.kind === 'size_only') {
    return {
      status: 'Unknown',
      reason: 'RetentionBySize',
      message: `Prometheus keeps ${retention.size} of data, not a duration: Cairn cannot tell whether the window ${span(slo.windowSeconds)} is covered`,
    };
  }
  const window = span(slo.windowSeconds);
  const sizeNote = retention.size ? `; retention.size ${retention.size} may keep less` : '';
  const longPairs = slo.rules.filter((r) => r.longWindow > retention.seconds);
  if (slo.windowSeconds <= retention.seconds && longPairs.length === 0) {
    return {
      status: 'True',
      reason: 'WithinRetention',
      message: `Prometheus keeps ${retention.text}: the window ${window} and every burn-rate window fit${sizeNote}`,
    };
  }
  const parts: string[] = [];
  if (slo.windowSeconds > retention.seconds) {
    parts.push(
      `window ${window} is longer than Prometheus' retention ${retention.text}: the SLI covers at most ${retention.text}`,
    );
  }
  if (longPairs.length > 0) {
    parts.push(
      `the long window of ${longPairs.map((r) => `${r.name} (${span(r.longWindow)})`).join(', ')} is longer than Prometheus' retention ${retention.text}: its burn rate covers at most ${retention.text}`,
    );
  }
  return { status: 'False', reason: 'LongerThanRetention', message: `${parts.join('; ')}${sizeNote}` };
}
