import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { judgeObservedAt, ObservedAtWindow } from './observedAt.policy.ts';

const now = new Date('2026-03-01T12:00:00.000Z');

describe('observedAt window', () => {
  it('keeps an instant inside the window, and defaults to now', () => {
    expect(judgeObservedAt('2026-03-01T11:58:00Z', now)).toEqual({ ok: true, observedAt: '2026-03-01T11:58:00.000Z' });
    expect(judgeObservedAt('2026-02-23T12:00:00Z', now).ok).toBe(true);
    expect(judgeObservedAt(undefined, now)).toEqual({ ok: true, observedAt: now.toISOString() });
  });

  it('brings year 1, year 9999 and unreadable text to the nearest instant inside, saying what was wrong', () => {
    const ancient = judgeObservedAt('0001-01-01T00:00:01Z', now);
    expect(ancient).toMatchObject({ ok: false, observedAt: '2026-02-22T12:00:00.000Z', problem: /7 days before now/ });
    const future = judgeObservedAt('9999-12-31T23:59:59Z', now);
    expect(future).toMatchObject({ ok: false, observedAt: '2026-03-01T12:05:00.000Z', problem: /5 minutes after now/ });
    expect(judgeObservedAt('yesterday', now)).toMatchObject({ ok: false, observedAt: now.toISOString() });
  });

  it('never gives an instant outside the window, whatever it is sent', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.date({ noInvalidDate: true }).map((d) => d.toISOString()),
          fc.string(),
        ),
        (value) => {
          const at = Date.parse(judgeObservedAt(value, now).observedAt);
          expect(at).toBeGreaterThanOrEqual(now.getTime() - ObservedAtWindow.pastMs);
          expect(at).toBeLessThanOrEqual(now.getTime() + ObservedAtWindow.futureMs);
        },
      ),
    );
  });
});
