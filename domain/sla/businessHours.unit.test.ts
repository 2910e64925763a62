import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  type BusinessCalendar,
  businessMsBetween,
  calendarProblem,
  dueAt,
  elapsedSeconds,
  isOpen,
  weekdayNames,
  weeklyOpenSeconds,
} from './businessHours.ts';

const weekdays = ['Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday'] as const;
const officeHours = (timeZone: string, holidays: string[] = []): BusinessCalendar => ({
  timeZone,
  ranges: [{ days: weekdays, start: '09:00', end: '18:00' }],
  holidays,
});
const paris = officeHours('Europe/Paris');
const newYork = officeHours('America/New_York');
const h = 3_600;

describe('24x7 clock (no business hours)', () => {
  it('is due exactly the target after the start, whatever the day', () => {
    expect(dueAt('2026-03-29T00:30:00.000Z', 2 * h, null)).toBe('2026-03-29T02:30:00.000Z');
    expect(elapsedSeconds('2026-03-29T00:30:00.000Z', '2026-03-29T02:30:00.000Z', null)).toBe(2 * h);
  });
});

describe('office hours, Europe/Paris', () => {
  it('runs inside the day only: 4 hours from Tuesday 16:00 are due Wednesday 11:00', () => {
    // 16:00 Paris on 2026-12-08 is 15:00 UTC (CET, +01:00).
    expect(dueAt('2026-12-08T15:00:00.000Z', 4 * h, paris)).toBe('2026-12-09T10:00:00.000Z');
  });

  it('starts at the next opening when the Issue comes in at night', () => {
    // Tuesday 23:00 Paris: the clock starts Wednesday 09:00, one hour later it is due.
    expect(dueAt('2026-12-08T22:00:00.000Z', h, paris)).toBe('2026-12-09T09:00:00.000Z');
    expect(businessMsBetween('2026-12-08T22:00:00.000Z', '2026-12-09T07:59:00.000Z', paris)).toBe(0);
  });

  it('skips the weekend for an Issue opened on Friday evening', () => {
    // Friday 2026-12-11 19:30 Paris; 30 minutes of business time end Monday 09:30.
    expect(dueAt('2026-12-11T18:30:00.000Z', 1_800, paris)).toBe('2026-12-14T08:30:00.000Z');
    // Friday 17:30: half an hour on Friday, half an hour on Monday.
    expect(dueAt('2026-12-11T16:30:00.000Z', h, paris)).toBe('2026-12-14T08:30:00.000Z');
    expect(elapsedSeconds('2026-12-11T16:30:00.000Z', '2026-12-14T08:30:00.000Z', paris)).toBe(h);
  });

  it('skips a holiday in the middle of the clock', () => {
    const christmas = officeHours('Europe/Paris', ['2026-12-25']);
    // Thursday 24th 17:00 Paris, 2 hours: one on Thursday, Friday is Christmas, one on Monday 28th.
    expect(dueAt('2026-12-24T16:00:00.000Z', 2 * h, christmas)).toBe('2026-12-28T09:00:00.000Z');
    expect(dueAt('2026-12-24T16:00:00.000Z', 2 * h, paris)).toBe('2026-12-25T09:00:00.000Z');
    expect(elapsedSeconds('2026-12-24T16:00:00.000Z', '2026-12-28T09:00:00.000Z', christmas)).toBe(2 * h);
  });

  it('counts the spring-forward day by the wall clock: 09:00-18:00 is still nine hours', () => {
    // Sunday 2026-03-29 clocks go 02:00 -> 03:00. A 24x7 zone calendar shows the 23-hour day.
    const always: BusinessCalendar = {
      timeZone: 'Europe/Paris',
      ranges: [{ days: weekdayNames, start: '00:00', end: '24:00' }],
      holidays: [],
    };
    expect(elapsedSeconds('2026-03-28T23:00:00.000Z', '2026-03-29T22:00:00.000Z', always)).toBe(23 * h);
    // Friday 17:00 CET, 3 hours: one Friday, two from Monday 09:00 CEST (07:00 UTC).
    expect(dueAt('2026-03-27T16:00:00.000Z', 3 * h, paris)).toBe('2026-03-30T09:00:00.000Z');
    // A weekend calendar opening 01:00-04:00 on the night the clocks skip 02:00-03:00 has two hours.
    const night: BusinessCalendar = {
      timeZone: 'Europe/Paris',
      ranges: [{ days: ['Sunday'], start: '01:00', end: '04:00' }],
      holidays: [],
    };
    expect(elapsedSeconds('2026-03-28T00:00:00.000Z', '2026-03-30T00:00:00.000Z', night)).toBe(2 * h);
    expect(dueAt('2026-03-28T00:00:00.000Z', 1.5 * h, night)).toBe('2026-03-29T01:30:00.000Z');
  });

  it('counts the fall-back day by the wall clock: the 25-hour day, the repeated hour twice', () => {
    // Sunday 2026-10-25 clocks go 03:00 -> 02:00.
    const always: BusinessCalendar = {
      timeZone: 'Europe/Paris',
      ranges: [{ days: weekdayNames, start: '00:00', end: '24:00' }],
      holidays: [],
    };
    expect(elapsedSeconds('2026-10-24T22:00:00.000Z', '2026-10-25T23:00:00.000Z', always)).toBe(25 * h);
    // Friday 2026-10-23 17:00 CEST (15:00 UTC), 2 hours: Monday 10:00 CET is 09:00 UTC.
    expect(dueAt('2026-10-23T15:00:00.000Z', 2 * h, paris)).toBe('2026-10-26T09:00:00.000Z');
  });
});

describe('office hours, America/New_York', () => {
  it('keeps 09:00 local across spring-forward (2026-03-08)', () => {
    // Friday 2026-03-06 17:00 EST (22:00 UTC); 2 hours: Monday 10:00 EDT (14:00 UTC).
    expect(dueAt('2026-03-06T22:00:00.000Z', 2 * h, newYork)).toBe('2026-03-09T14:00:00.000Z');
    expect(elapsedSeconds('2026-03-06T22:00:00.000Z', '2026-03-09T14:00:00.000Z', newYork)).toBe(2 * h);
  });

  it('keeps 09:00 local across fall-back (2026-11-01) and skips Thanksgiving', () => {
    // Friday 2026-10-30 17:00 EDT (21:00 UTC); 2 hours: Monday 10:00 EST (15:00 UTC).
    expect(dueAt('2026-10-30T21:00:00.000Z', 2 * h, newYork)).toBe('2026-11-02T15:00:00.000Z');
    const thanksgiving = officeHours('America/New_York', ['2026-11-26', '2026-11-27']);
    // Wednesday 2026-11-25 17:00 EST, 2 hours: Monday 30th 10:00 EST.
    expect(dueAt('2026-11-25T22:00:00.000Z', 2 * h, thanksgiving)).toBe('2026-11-30T15:00:00.000Z');
  });
});

describe('calendar validation', () => {
  it('names the field at fault', () => {
    expect(calendarProblem({ ...paris, timeZone: 'Europe/Pariss' })?.field).toBe('timeZone');
    expect(calendarProblem({ ...paris, ranges: [] })?.field).toBe('ranges');
    expect(calendarProblem({ ...paris, ranges: [{ days: weekdays, start: '18:00', end: '09:00' }] })).toEqual({
      field: 'ranges[0].end',
      message: expect.stringContaining('empty'),
    });
    expect(calendarProblem({ ...paris, ranges: [{ days: weekdays, start: '25:00', end: '26:00' }] })?.field).toBe(
      'ranges[0].start',
    );
    expect(calendarProblem({ ...paris, holidays: ['2026-02-30'] })?.field).toBe('holidays[0]');
    expect(calendarProblem(paris)).toBeUndefined();
    expect(weeklyOpenSeconds(paris)).toBe(45 * h);
  });
});

const zones = ['Europe/Paris', 'America/New_York', 'Australia/Sydney', 'Asia/Kolkata', 'UTC'] as const;
const time = fc.tuple(fc.integer({ min: 0, max: 23 }), fc.constantFrom(0, 15, 30, 45)).map(([hh, mm]) => hh * 60 + mm);
const hhmm = (minutes: number) =>
  minutes === 1_440
    ? '24:00'
    : `${String(Math.floor(minutes / 60)).padStart(2, '0')}:${String(minutes % 60).padStart(2, '0')}`;
const calendarArb: fc.Arbitrary<BusinessCalendar> = fc.record({
  timeZone: fc.constantFrom(...zones),
  ranges: fc.array(
    fc
      .tuple(fc.subarray([...weekdayNames], { minLength: 1 }), time, fc.integer({ min: 15, max: 600 }))
      .map(([days, start, length]) => ({
        days,
        start: hhmm(start),
        end: hhmm(Math.min(1_440, start + length)),
      })),
    { minLength: 1, maxLength: 3 },
  ),
  holidays: fc.uniqueArray(
    fc
      .integer({ min: 0, max: 500 })
      .map((d) => new Date(Date.UTC(2026, 0, 1) + d * 86_400_000).toISOString().slice(0, 10)),
    { maxLength: 20 },
  ),
});
// 2026 and 2027, both DST changes of each zone included; whole seconds so ms sums stay exact.
const instant = fc
  .integer({ min: Date.UTC(2026, 0, 1) / 1000, max: Date.UTC(2027, 6, 1) / 1000 })
  .map((s) => new Date(s * 1000).toISOString());
// Within three months around the northern spring-forward, so each run stays short.
const nearby = fc
  .integer({ min: Date.UTC(2026, 1, 1) / 1000, max: Date.UTC(2026, 4, 1) / 1000 })
  .map((s) => new Date(s * 1000).toISOString());
const target = fc.integer({ min: 1, max: 200 * h });

describe('properties', { timeout: 60_000 }, () => {
  it('the clock shows the target at the due instant, and was running just before it', () => {
    fc.assert(
      fc.property(calendarArb, instant, target, (calendar, start, seconds) => {
        const due = dueAt(start, seconds, calendar);
        if (due === undefined) return;
        expect(elapsedSeconds(start, due, calendar)).toBe(seconds);
        const justBefore = new Date(Date.parse(due) - 1).toISOString();
        expect(businessMsBetween(justBefore, due, calendar)).toBe(1);
        expect(isOpen(justBefore, calendar)).toBe(true);
      }),
      { numRuns: 300 },
    );
  });

  it('a longer target is never due earlier, and business time never exceeds wall time', () => {
    fc.assert(
      fc.property(calendarArb, instant, target, target, (calendar, start, a, b) => {
        const [short, long] = a <= b ? [a, b] : [b, a];
        const dueShort = dueAt(start, short, calendar);
        const dueLong = dueAt(start, long, calendar);
        if (dueShort === undefined || dueLong === undefined) return;
        expect(Date.parse(dueShort)).toBeLessThanOrEqual(Date.parse(dueLong));
        expect(Date.parse(dueShort) - Date.parse(start)).toBeGreaterThanOrEqual(short * 1000);
      }),
      { numRuns: 200 },
    );
  });

  it('elapsed time adds up over consecutive spans', () => {
    fc.assert(
      fc.property(calendarArb, fc.array(nearby, { minLength: 3, maxLength: 3 }), (calendar, points) => {
        const [a, b, c] = [...points].sort() as [string, string, string];
        expect(businessMsBetween(a, b, calendar) + businessMsBetween(b, c, calendar)).toBe(
          businessMsBetween(a, c, calendar),
        );
        // Generated instants, no clock: business time between two instants never exceeds the calendar span.
        const calendarSpanMs = Date.parse(c) - Date.parse(a);
        expect(businessMsBetween(a, c, calendar)).toBeLessThanOrEqual(calendarSpanMs);
      }),
      { numRuns: 200 },
    );
  });

  it('no time runs on a holiday', () => {
    fc.assert(
      fc.property(calendarArb, fc.integer({ min: 0, max: 500 }), (calendar, d) => {
        const date = new Date(Date.UTC(2026, 0, 1) + d * 86_400_000).toISOString().slice(0, 10);
        const withHoliday = { ...calendar, holidays: [...calendar.holidays, date] };
        // From well before to well after the local day, the holiday removes exactly that day's opening.
        const from = new Date(Date.parse(`${date}T00:00:00Z`) - 2 * 86_400_000).toISOString();
        const to = new Date(Date.parse(`${date}T00:00:00Z`) + 2 * 86_400_000).toISOString();
        expect(businessMsBetween(from, to, withHoliday)).toBeLessThanOrEqual(businessMsBetween(from, to, calendar));
        const noon = new Date(Date.parse(`${date}T12:00:00Z`)).toISOString();
        const local = new Date(noon).toLocaleDateString('en-CA', { timeZone: calendar.timeZone });
        if (local === date) expect(isOpen(noon, withHoliday)).toBe(false);
      }),
      { numRuns: 200 },
    );
  });
});
