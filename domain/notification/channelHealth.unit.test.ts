import { describe, expect, it } from 'vitest';
import {
  type AttemptOutcome,
  type ChannelHealth,
  DEGRADED_AFTER_FAILURES,
  nextChannelHealth,
  unknownChannelHealth,
} from './channelHealth.ts';

const at = (s: number) => new Date(Date.UTC(2026, 11, 7, 9, 0, s)).toISOString();
const fail = (
  s: number,
  extra: Partial<{ statusCode: number; gaveUp: boolean; error: string }> = {},
): AttemptOutcome => ({
  ok: false,
  at: at(s),
  error: extra.error ?? 'HTTP 503: unavailable',
  gaveUp: extra.gaveUp ?? false,
  ...(extra.statusCode === undefined ? {} : { statusCode: extra.statusCode }),
});
const fold = (outcomes: AttemptOutcome[]): ChannelHealth => outcomes.reduce(nextChannelHealth, unknownChannelHealth());

describe('channel health', () => {
  it('stays healthy through fewer failures in a row than the threshold', () => {
    const h = fold(Array.from({ length: DEGRADED_AFTER_FAILURES - 1 }, (_, i) => fail(i, { statusCode: 503 })));
    expect(h.state).toBe('healthy');
    expect(h.consecutiveFailures).toBe(DEGRADED_AFTER_FAILURES - 1);
    expect(h.lastStatusCode).toBe(503);
  });

  it('is degraded at the threshold and names the last error', () => {
    const h = fold([fail(1), fail(2), fail(3, { error: 'no answer within 10000 ms' })]);
    expect(h).toMatchObject({
      state: 'degraded',
      consecutiveFailures: 3,
      lastFailureAt: at(3),
      lastError: 'no answer within 10000 ms',
      lastStatusCode: null,
    });
  });

  it('is degraded at once when a delivery is given up (a 4xx)', () => {
    expect(fold([fail(1, { statusCode: 403, gaveUp: true })]).state).toBe('degraded');
  });

  it('recovers on the next delivered message, keeping when it last failed', () => {
    const h = fold([fail(1), fail(2), fail(3), { ok: true, at: at(4), statusCode: 202 }]);
    expect(h).toMatchObject({ state: 'healthy', consecutiveFailures: 0, lastSuccessAt: at(4), lastFailureAt: at(3) });
  });

  it('a success between failures resets the streak', () => {
    const h = fold([fail(1), fail(2), { ok: true, at: at(3), statusCode: 200 }, fail(4), fail(5)]);
    expect(h.state).toBe('healthy');
    expect(h.consecutiveFailures).toBe(2);
  });
});
