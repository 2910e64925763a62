/**
 * Watch concurrently, reconcile in order: keys are queued, a key queued again while it waits is merged, a key is
 * never handled by two workers at once, and a failed key is retried with exponential backoff. Delayed adds let a
 * reconciler ask to be called again later (a symptom that must last 30 s before it counts).
 */
export interface KeyedQueueOptions {
  readonly concurrency?: number;
  readonly baseRetryMs?: number;
  readonly maxRetryMs?: number;
  readonly onError?: (key: string, error: unknown, attempt: number) => void;
}

export interface KeyedQueue {
  add(key: string): void;
  addAfter(key: string, delayMs: number): void;
  /** Resolves when nothing is queued, running or waiting for a retry. */
  drained(): Promise<void>;
  stop(): Promise<void>;
}

export function createKeyedQueue(handle: (key: string) => Promise<void>, options: KeyedQueueOptions = {}): KeyedQueue {
  const concurrency = options.concurrency ?? 4;
  const baseRetryMs = options.baseRetryMs ?? 200;
  const maxRetryMs = options.maxRetryMs ?? 30_000;
  const waiting: string[] = [];
  const queued = new Set<string>();
  const running = new Set<string>();
  /** Keys queued again while they ran: handled once more when the current run ends. */
  const dirty = new Set<string>();
  const attempts = new Map<string, number>();
  const timers = new Map<string, NodeJS.Timeout>();
  let stopped = false;
  let idle: (() => void)[] = [];

  const settleIfIdle = () => {
    if (waiting.length === 0 && running.size === 0 && timers.size === 0) {
      for (const resolve of idle) resolve();
      idle = [];
    }
  };

  const pump = () => {
    while (!stopped && running.size < concurrency) {
      const index = waiting.findIndex((k) => !running.has(k));
      if (index < 0) break;
      const [key] = waiting.splice(index, 1) as [string];
      queued.delete(key);
      running.add(key);
      void run(key);
    }
    settleIfIdle();
  };

  const run = async (key: string) => {
    try {
      await handle(key);
      attempts.delete(key);
    } catch (error) {
      const attempt = (attempts.get(key) ?? 0) + 1;
      attempts.set(key, attempt);
      options.onError?.(key, error, attempt);
      addAfter(key, Math.min(maxRetryMs, baseRetryMs * 2 ** (attempt - 1)));
    } finally {
      running.delete(key);
      if (dirty.delete(key)) add(key);
      pump();
    }
  };

  const add = (key: string) => {
    if (stopped) return;
    if (running.has(key)) {
      dirty.add(key);
      return;
    }
    if (queued.has(key)) return;
    queued.add(key);
    waiting.push(key);
    pump();
  };

  const addAfter = (key: string, delayMs: number) => {
    if (stopped) return;
    const existing = timers.get(key);
    if (existing) clearTimeout(existing);
    const timer = setTimeout(
      () => {
        timers.delete(key);
        add(key);
        settleIfIdle();
      },
      Math.max(0, delayMs),
    );
    timer.unref();
    timers.set(key, timer);
  };

  return {
    add,
    addAfter,
    drained: () =>
      new Promise<void>((resolve) => {
        idle.push(resolve);
        settleIfIdle();
      }),
    stop: async () => {
      stopped = true;
      for (const timer of timers.values()) clearTimeout(timer);
      timers.clear();
      waiting.length = 0;
      queued.clear();
      while (running.size > 0) await new Promise((r) => setTimeout(r, 10));
      settleIfIdle();
    },
  };
}
