import { CronExpressionParser } from 'cron-parser';

/** A scheduled run that could not start within this long of its time is skipped, as a CronJob's would be. */
export const STARTING_DEADLINE_MS = 60_000;

/**
 * The schedule time a run is due for at `now`, or undefined: the latest cron time at or before `now` that is later
 * than the last run's start (or the experiment's creation) and not older than the starting deadline. Pure: a
 * restarted operator computes the same answer from the same log, and a time missed while it was down is skipped.
 */
export function dueScheduledRun(schedule: string, since: Date, now: Date): Date | undefined {
  let previous: Date;
  try {
    // prev() is strictly before currentDate: one millisecond on includes a time that falls exactly on now.
    previous = CronExpressionParser.parse(schedule, { currentDate: new Date(now.getTime() + 1), tz: 'UTC' })
      .prev()
      .toDate();
  } catch {
    return undefined;
  }
  if (previous.getTime() <= since.getTime()) return undefined;
  if (now.getTime() - previous.getTime() > STARTING_DEADLINE_MS) return undefined;
  return previous;
}

/** The next cron time after `now`, or undefined for a schedule that cannot be read. */
export function nextScheduledRun(schedule: string, now: Date): Date | undefined {
  try {
    return CronExpressionParser.parse(schedule, { currentDate: now, tz: 'UTC' }).next().toDate();
  } catch {
    return undefined;
  }
}
