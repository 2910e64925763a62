/**
 * SLA clocks: what the business-hours math costs, since the REST and GraphQL views compute the time left of every
 * running clock as they answer, and the clock reactor computes four instants per detected Issue.
 *
 *   node --import tsx bench/slaClock.bench.ts     (SLA_BENCH_ITERATIONS=2000)
 *
 * Office hours Monday to Friday 09:00-18:00 in Europe/Paris with ten holidays. `sla_due_at` is one due instant of a
 * 4-hour target from a start spread over a year; `sla_elapsed_7d` and `sla_elapsed_30d` are the business time
 * between two instants that far apart; `sla_start` is the four instants of one SlaStarted (two warnings, two deadlines
 * of a 1 h / 24 h SLA). Each prints the median and p99 per call in microseconds. Resolved local days are kept per
 * calendar, and the starts fall within one year, so after the first calls these are the figures of a warm process.
 */
import { type BusinessCalendar, businessMsBetween, dueAt } from '../domain/sla/businessHours.ts';

const ITERATIONS = Number(process.env.SLA_BENCH_ITERATIONS ?? 2_000);
const calendar: BusinessCalendar = {
  timeZone: 'Europe/Paris',
  ranges: [{ days: ['Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday'], start: '09:00', end: '18:00' }],
  holidays: [
    '2026-01-01',
    '2026-04-06',
    '2026-05-01',
    '2026-05-08',
    '2026-05-14',
    '2026-07-14',
    '2026-08-15',
    '2026-11-01',
    '2026-11-11',
    '2026-12-25',
  ],
};
const yearStart = Date.UTC(2026, 0, 1);
const startOf = (i: number) => new Date(yearStart + ((i * 7_919_993) % (365 * 86_400)) * 1000).toISOString();

function measure(name: string, fn: (i: number) => unknown) {
  for (let i = 0; i < 100; i++) fn(i); // warm up
  const samples: number[] = [];
  for (let i = 0; i < ITERATIONS; i++) {
    const started = process.hrtime.bigint();
    fn(i);
    samples.push(Number(process.hrtime.bigint() - started) / 1_000);
  }
  samples.sort((a, b) => a - b);
  const at = (q: number) => samples[Math.min(samples.length - 1, Math.floor(q * samples.length))]!;
  process.stdout.write(`${name}_p50=${at(0.5).toFixed(1)} us\n${name}_p99=${at(0.99).toFixed(1)} us\n`);
}

measure('sla_due_at', (i) => dueAt(startOf(i), 4 * 3_600, calendar));
measure('sla_elapsed_7d', (i) => {
  const from = startOf(i);
  return businessMsBetween(from, new Date(Date.parse(from) + 7 * 86_400_000).toISOString(), calendar);
});
measure('sla_elapsed_30d', (i) => {
  const from = startOf(i);
  return businessMsBetween(from, new Date(Date.parse(from) + 30 * 86_400_000).toISOString(), calendar);
});
measure('sla_start', (i) => {
  const from = startOf(i);
  return [
    dueAt(from, 0.8 * 3_600, calendar),
    dueAt(from, 3_600, calendar),
    dueAt(from, 0.8 * 86_400, calendar),
    dueAt(from, 86_400, calendar),
  ];
});
