import { DateTime, IANAZone } from 'luxon';

/**
 * SLA clocks. A clock without a calendar runs all the time; with one it runs only inside the calendar's weekly
 * ranges, in the calendar's zone, and not on its holidays. Instants go in and out as ISO-8601 strings; local
 * times are resolved by luxon in the zone, so a day on which the clocks change is as long as it really is.
 */

export const weekdayNames = ['Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday', 'Sunday'] as const;
export type WeekdayName = (typeof weekdayNames)[number];

/** One weekly opening: on these days, from `start` (HH:MM, inclusive) to `end` (HH:MM or 24:00, exclusive). */
export interface WeeklyRange {
  readonly days: readonly WeekdayName[];
  readonly start: string;
  readonly end: string;
}

export interface BusinessCalendar {
  /** An IANA zone, e.g. Europe/Paris. */
  readonly timeZone: string;
  readonly ranges: readonly WeeklyRange[];
  /** Whole local dates (YYYY-MM-DD) in the zone on which the clock does not run. */
  readonly holidays: readonly string[];
}

/** null: the clock runs around the clock, every day. */
export type SlaCalendar = BusinessCalendar | null;

/** The first thing wrong with a calendar, with the path of the field inside it. */
export interface CalendarProblem {
  readonly field: string;
  readonly message: string;
}

/** How far ahead a due instant is looked for; a calendar that opens less than this is refused by validation. */
export const MAX_SEARCH_DAYS = 3_660;

const timePattern = /^(\d{2}):(\d{2})$/;
const datePattern = /^\d{4}-\d{2}-\d{2}$/;

/** Minutes after local midnight; 24:00 is 1440. undefined when it is not a time. */
export const minutesOf = (time: string): number | undefined => {
  const m = timePattern.exec(time);
  if (m === null) return undefined;
  const hours = Number(m[1]);
  const minutes = Number(m[2]);
  if (hours === 24 && minutes === 0) return 1_440;
  if (hours > 23 || minutes > 59) return undefined;
  return hours * 60 + minutes;
};

export const isValidDate = (date: string): boolean =>
  datePattern.test(date) && DateTime.fromISO(date, { zone: 'UTC' }).isValid;

/** Checks what a schema cannot: the zone is known, times are times, ranges are not empty, dates are dates. */
export function calendarProblem(calendar: BusinessCalendar): CalendarProblem | undefined {
  if (!IANAZone.isValidZone(calendar.timeZone)) {
    return {
      field: 'timeZone',
      message: `unknown time zone '${calendar.timeZone}' (an IANA name such as Europe/Paris)`,
    };
  }
  if (calendar.ranges.length === 0) return { field: 'ranges', message: 'needs at least one range' };
  for (const [i, r] of calendar.ranges.entries()) {
    if (r.days.length === 0) return { field: `ranges[${i}].days`, message: 'needs at least one day' };
    for (const [j, day] of r.days.entries()) {
      if (!weekdayNames.includes(day)) return { field: `ranges[${i}].days[${j}]`, message: `'${day}' is no weekday` };
    }
    const start = minutesOf(r.start);
    const end = minutesOf(r.end);
    if (start === undefined || start === 1_440) {
      return { field: `ranges[${i}].start`, message: `'${r.start}' is not a time of day (HH:MM, 00:00 to 23:59)` };
    }
    if (end === undefined) {
      return { field: `ranges[${i}].end`, message: `'${r.end}' is not a time of day (HH:MM, 00:01 to 24:00)` };
    }
    if (end <= start) {
      return {
        field: `ranges[${i}].end`,
        message: `the range ${r.start}-${r.end} is empty: end must be after start (split a range over midnight in two)`,
      };
    }
  }
  for (const [i, date] of calendar.holidays.entries()) {
    if (!isValidDate(date)) return { field: `holidays[${i}]`, message: `'${date}' is not a date (YYYY-MM-DD)` };
  }
  return undefined;
}

interface CompiledCalendar {
  readonly zone: string;
  /** Per ISO weekday (1 = Monday), the open minutes of the day as [start, end) pairs, merged and sorted. */
  readonly week: ReadonlyMap<number, readonly (readonly [number, number])[]>;
  readonly holidays: ReadonlySet<string>;
  /** Local days already resolved, by the epoch ms of their midnight: luxon is asked once per day and calendar. */
  readonly days: Map<number, LocalDay>;
}

interface LocalDay {
  /** Open intervals in epoch ms. */
  readonly open: readonly (readonly [number, number])[];
  /** Epoch ms of the next local midnight. */
  readonly next: number;
}

/** Bounds on what is kept between calls: calendars by their content, days per calendar (about 27 years). */
const MAX_CALENDARS = 256;
const MAX_DAYS = 10_000;
const compiled = new Map<string, CompiledCalendar>();

const compile = (calendar: BusinessCalendar): CompiledCalendar => {
  // Keyed by content: the read side parses a fresh copy of the same calendar for every row it shows.
  const key = JSON.stringify([calendar.timeZone, calendar.ranges, calendar.holidays]);
  const known = compiled.get(key);
  if (known) return known;
  const week = new Map<number, [number, number][]>();
  for (const r of calendar.ranges) {
    const start = minutesOf(r.start) ?? 0;
    const end = minutesOf(r.end) ?? 0;
    if (end <= start) continue;
    for (const day of r.days) {
      const weekday = weekdayNames.indexOf(day) + 1;
      if (weekday === 0) continue;
      const list = week.get(weekday) ?? [];
      list.push([start, end]);
      week.set(weekday, list);
    }
  }
  for (const [day, list] of week) {
    list.sort((a, b) => a[0] - b[0]);
    const merged: [number, number][] = [];
    for (const [s, e] of list) {
      const last = merged[merged.length - 1];
      if (last && s <= last[1]) last[1] = Math.max(last[1], e);
      else merged.push([s, e]);
    }
    week.set(day, merged);
  }
  const result = { zone: calendar.timeZone, week, holidays: new Set(calendar.holidays), days: new Map() };
  if (compiled.size >= MAX_CALENDARS) compiled.clear();
  compiled.set(key, result);
  return result;
};

/** The local instant of `minutes` after midnight on `day` (a start of day in the zone), in epoch ms. */
const localMs = (day: DateTime, minutes: number): number => {
  if (minutes >= 1_440) return day.plus({ days: 1 }).startOf('day').toMillis();
  // A time the clocks skip (02:30 on a spring-forward night) is moved forward by luxon, as a wall clock would be.
  return DateTime.fromObject(
    { year: day.year, month: day.month, day: day.day, hour: Math.floor(minutes / 60), minute: minutes % 60 },
    { zone: day.zone },
  ).toMillis();
};

/** The local day starting at `midnight` (epoch ms of a local midnight): its open intervals and the next midnight. */
const localDay = (c: CompiledCalendar, midnight: number): LocalDay => {
  const known = c.days.get(midnight);
  if (known) return known;
  const day = DateTime.fromMillis(midnight, { zone: c.zone });
  const open: [number, number][] = c.holidays.has(day.toISODate() ?? '')
    ? []
    : (c.week.get(day.weekday) ?? []).map(([s, e]) => [localMs(day, s), localMs(day, e)]);
  const result = { open, next: day.plus({ days: 1 }).startOf('day').toMillis() };
  if (c.days.size >= MAX_DAYS) c.days.clear();
  c.days.set(midnight, result);
  return result;
};

const startOfLocalDay = (ms: number, zone: string): number =>
  DateTime.fromMillis(ms, { zone }).startOf('day').toMillis();

const parseInstant = (iso: string, what: string): number => {
  const ms = Date.parse(iso);
  if (!Number.isFinite(ms)) throw new RangeError(`${what} is not an ISO-8601 instant: '${iso}'`);
  return ms;
};

/**
 * The instant at which `targetSeconds` of clock time have run from `start`; undefined when the calendar does not
 * open for that long within MAX_SEARCH_DAYS (holidays everywhere).
 */
export function dueAt(start: string, targetSeconds: number, calendar: SlaCalendar): string | undefined {
  const startMs = parseInstant(start, 'start');
  const targetMs = Math.round(targetSeconds * 1000);
  if (calendar === null) return new Date(startMs + targetMs).toISOString();
  const c = compile(calendar);
  let remaining = targetMs;
  let midnight = startOfLocalDay(startMs, c.zone);
  for (let i = 0; i < MAX_SEARCH_DAYS; i++) {
    const day = localDay(c, midnight);
    midnight = day.next;
    for (const [open, close] of day.open) {
      const from = Math.max(open, startMs);
      if (close <= from) continue;
      if (close - from >= remaining) return new Date(from + remaining).toISOString();
      remaining -= close - from;
    }
  }
  return undefined;
}

/** Clock time, in milliseconds, that runs between two instants (0 when `to` is not after `from`). */
export function businessMsBetween(from: string, to: string, calendar: SlaCalendar): number {
  const fromMs = parseInstant(from, 'from');
  const toMs = parseInstant(to, 'to');
  if (toMs <= fromMs) return 0;
  if (calendar === null) return toMs - fromMs;
  const c = compile(calendar);
  let total = 0;
  for (let midnight = startOfLocalDay(fromMs, c.zone); midnight < toMs; ) {
    const day = localDay(c, midnight);
    midnight = day.next;
    for (const [open, close] of day.open) {
      const overlap = Math.min(close, toMs) - Math.max(open, fromMs);
      if (overlap > 0) total += overlap;
    }
  }
  return total;
}

export const elapsedSeconds = (from: string, to: string, calendar: SlaCalendar): number =>
  businessMsBetween(from, to, calendar) / 1000;

/** Whether the clock runs at this instant. */
export function isOpen(at: string, calendar: SlaCalendar): boolean {
  if (calendar === null) return true;
  const ms = parseInstant(at, 'at');
  const c = compile(calendar);
  return localDay(c, startOfLocalDay(ms, c.zone)).open.some(([open, close]) => open <= ms && ms < close);
}

/** Open seconds in a week without holidays: what bounds the targets a calendar can hold. */
export function weeklyOpenSeconds(calendar: BusinessCalendar): number {
  const c = compile(calendar);
  let minutes = 0;
  for (const list of c.week.values()) for (const [s, e] of list) minutes += e - s;
  return minutes * 60;
}
