import { describe, expect, it, vi } from 'vitest';
import { createKeyedQueue } from './keyedQueue.ts';

const tick = (ms = 5) => new Promise((r) => setTimeout(r, ms));

describe('keyed queue', () => {
  it('merges a key queued several times while it waits', async () => {
    const seen: string[] = [];
    const queue = createKeyedQueue(
      async (key) => {
        seen.push(key);
      },
      { concurrency: 1 },
    );
    queue.add('blocker');
    for (let i = 0; i < 5; i++) queue.add('pod/a');
    await queue.drained();
    expect(seen).toEqual(['blocker', 'pod/a']);
  });

  it('never runs one key twice at once, but runs it again if it changed meanwhile', async () => {
    let active = 0;
    let maxActive = 0;
    let runs = 0;
    const queue = createKeyedQueue(
      async () => {
        active += 1;
        maxActive = Math.max(maxActive, active);
        runs += 1;
        await tick(20);
        active -= 1;
      },
      { concurrency: 4 },
    );
    queue.add('pod/a');
    await tick();
    queue.add('pod/a');
    queue.add('pod/a');
    await queue.drained();
    expect(maxActive).toBe(1);
    expect(runs).toBe(2);
  });

  it('retries a failing key after a back-off delay that doubles, until it succeeds', async () => {
    // The queue's timers run on a fake clock: the test moves time itself and reads the runs, never a stopwatch.
    vi.useFakeTimers();
    try {
      let runs = 0;
      const errors: number[] = [];
      const queue = createKeyedQueue(
        async () => {
          runs += 1;
          if (runs < 3) throw new Error('api server unavailable');
        },
        { baseRetryMs: 20, onError: (_key, _error, attempt) => errors.push(attempt) },
      );
      queue.add('node/n1');
      await vi.advanceTimersByTimeAsync(0);
      expect([runs, errors]).toEqual([1, [1]]);
      await vi.advanceTimersByTimeAsync(19);
      expect(runs).toBe(1);
      await vi.advanceTimersByTimeAsync(1);
      expect([runs, errors]).toEqual([2, [1, 2]]);
      await vi.advanceTimersByTimeAsync(39);
      expect(runs).toBe(2);
      await vi.advanceTimersByTimeAsync(1);
      expect(runs).toBe(3);
      await queue.drained();
      expect(errors).toEqual([1, 2]);
    } finally {
      vi.useRealTimers();
    }
  });

  it('runs a delayed key once its delay has passed, and nothing after stop', async () => {
    const seen: string[] = [];
    const queue = createKeyedQueue(async (key) => {
      seen.push(key);
    });
    queue.addAfter('pod/slow', 30);
    await tick(10);
    expect(seen).toEqual([]);
    await queue.drained();
    expect(seen).toEqual(['pod/slow']);
    await queue.stop();
    queue.add('pod/late');
    await tick(10);
    expect(seen).toEqual(['pod/slow']);
  });
});
