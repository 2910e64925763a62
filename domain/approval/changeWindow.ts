import { DateTime, IANAZone } from 'luxon';

export const weekdayNames = ['Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday', 'Sunday'] as const;
export type Weekday = (typeof weekdayNames)[number];

const MINUTES_PER_DAY = 1_440;
const MINUTES_PER_WEEK = 7 * MINUTES_PER_DAY;

/** A weekly range in the windows' zone: `start` inclusive, `end` exclusive, minutes after midnight. */
export interface WeeklyRange {
  readonly days: readonly Weekday[];
  readonly startMinute: number;
  /** Smaller than `startMinute`: the range runs past midnight into the next day. */
  readonly endMinute: number;
}

/** A period in which nothing matching runs, whatever the weekly ranges say: [start, end). */
export interface FreezePeriod {
  readonly start: string;
  readonly end: string;
  readonly reason?: string;
}

export interface ChangeWindows {
  readonly timeZone: string;
  /** Empty: every moment outside a freeze is open. */
  readonly weekly: readonly WeeklyRange[];
  readonly freezes: readonly FreezePeriod[];
  /** Outside the windows a matching plan waits for the next opening, or needs a person's approval to run now. */
  readonly outsideWindow: 'wait' | 'requireApproval';
}

/** `HH:MM` (24 h) in minutes after midnight; `24:00` is allowed as an end. Undefined when malformed. */
export const parseClock = (text: string, allowEndOfDay = false): number | undefined => {
  const m = /^([01]\d|2[0-4]):([0-5]\d)$/.exec(text);
  if (!m) return undefined;
  const minutes = Number(m[1]) * 60 + Number(m[2]);
  if (minutes > MINUTES_PER_DAY || (minutes === MINUTES_PER_DAY && !allowEndOfDay)) return undefined;
  return minutes;
};

export const isTimeZone = (zone: string): boolean => IANAZone.isValidZone(zone);

/** The minutes of the week ([from, to), Monday 00:00 = 0) a range covers, wrapped ranges split in two. */
export function weekIntervals(range: WeeklyRange): [number, number][] {
  const out: [number, number][] = [];
  for (const day of range.days) {
    const base = weekdayNames.indexOf(day) * MINUTES_PER_DAY;
    const from = base + range.startMinute;
    const to = base + (range.endMinute > range.startMinute ? range.endMinute : MINUTES_PER_DAY + range.endMinute);
    if (to <= MINUTES_PER_WEEK) out.push([from, to]);
    else out.push([from, MINUTES_PER_WEEK], [0, to - MINUTES_PER_WEEK]);
  }
  return out;
}

/** The first pair of ranges (by index) that share a minute, if any. */
export function overlappingRanges(ranges: readonly WeeklyRange[]): [number, number] | undefined {
  const all = ranges.flatMap((r, i) => weekIntervals(r).map(([from, to]) => ({ from, to, i })));
  all.sort((a, b) => a.from - b.from || a.to - b.to);
  for (let k = 1; k < all.length; k += 1) {
    for (let j = k - 1; j >= 0; j -= 1) {
      if (all[j]!.to > all[k]!.from) {
        const pair = [all[j]!.i, all[k]!.i].sort((a, b) => a - b) as [number, number];
        return pair;
      }
    }
  }
  return undefined;
}

const minuteOfWeek = (at: DateTime): number => (at.weekday - 1) * MINUTES_PER_DAY + at.hour * 60 + at.minute;

const inWeekly = (windows: ChangeWindows, ms: number): boolean => {
  if (windows.weekly.length === 0) return true;
  const m = minuteOfWeek(DateTime.fromMillis(ms, { zone: windows.timeZone }));
  return windows.weekly.some((r) => weekIntervals(r).some(([from, to]) => m >= from && m < to));
};

/** The next moment strictly after `ms` at which a weekly range starts, in local wall-clock time (DST included). */
const nextRangeStart = (windows: ChangeWindows, ms: number): number | undefined => {
  const local = DateTime.fromMillis(ms, { zone: windows.timeZone });
  let best: number | undefined;
  for (const range of windows.weekly) {
    for (const day of range.days) {
      const weekday = weekdayNames.indexOf(day) + 1;
      for (let ahead = 0; ahead <= 7; ahead += 1) {
        const date = local.startOf('day').plus({ days: ahead });
        if (date.weekday !== weekday) continue;
        const start = date.set({ hour: Math.floor(range.startMinute / 60), minute: range.startMinute % 60 });
        const at = start.toMillis();
        if (at > ms && (best === undefined || at < best)) best = at;
      }
    }
  }
  return best;
};

const frozenUntil = (windows: ChangeWindows, ms: number): FreezePeriod | undefined =>
  windows.freezes.find((f) => Date.parse(f.start) <= ms && ms < Date.parse(f.end));

export type WindowVerdict =
  | { readonly open: true }
  | { readonly open: false; readonly opensAt: string; readonly why: string }
  | { readonly open: false; readonly opensAt: undefined; readonly why: string };

const HORIZON_MS = 366 * 24 * 3_600_000;

/**
 * Whether a change may start at `at`, and if not, when it next may: inside a weekly range (in the windows' time zone)
 * and outside every freeze. Pure: the instant is given.
 */
export function windowAt(windows: ChangeWindows, at: string): WindowVerdict {
  const start = Date.parse(at);
  let t = start;
  let why: string | undefined;
  for (let step = 0; step < 2_000 && t - start <= HORIZON_MS; step += 1) {
    const freeze = frozenUntil(windows, t);
    if (freeze) {
      why ??= `frozen until ${new Date(Date.parse(freeze.end)).toISOString()}${freeze.reason ? ` (${freeze.reason})` : ''}`;
      t = Date.parse(freeze.end);
      continue;
    }
    if (inWeekly(windows, t)) {
      return t === start ? { open: true } : { open: false, opensAt: new Date(t).toISOString(), why: why ?? '' };
    }
    why ??= `outside the change windows (${windows.timeZone})`;
    const next = nextRangeStart(windows, t);
    if (next === undefined) break;
    t = next;
  }
  return { open: false, opensAt: undefined, why: `${why ?? 'closed'}: no opening within a year` };
}
