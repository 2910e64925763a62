import { Agent, request } from 'node:http';
import { performance } from 'node:perf_hooks';

export interface ConstantRateOptions {
  readonly url: string;
  readonly headers?: Readonly<Record<string, string>>;
  readonly ratePerSecond: number;
  readonly durationSeconds: number;
  /** Requests still unanswered this long after the run are counted as errors. */
  readonly timeoutMs?: number;
}

export interface LoadResult {
  /** Milliseconds from when each request was due to when its response ended, sorted. */
  readonly latenciesMs: number[];
  readonly sent: number;
  readonly errors: number;
  readonly statuses: ReadonlyMap<number, number>;
  readonly achievedRate: number;
}

/**
 * An open-loop load generator: request i is due at start + i/rate whatever happened to the earlier ones, and its
 * latency counts from when it was due, not from when it left. A server that stalls is charged for every request
 * that queued behind the stall (no coordinated omission).
 */
export async function constantRate(options: ConstantRateOptions): Promise<LoadResult> {
  const target = new URL(options.url);
  const agent = new Agent({ keepAlive: true, maxSockets: 256 });
  const total = Math.round(options.ratePerSecond * options.durationSeconds);
  const intervalMs = 1000 / options.ratePerSecond;
  const latencies: number[] = [];
  const statuses = new Map<number, number>();
  let errors = 0;
  let sent = 0;
  const inFlight: Promise<void>[] = [];

  const fire = (dueAt: number) =>
    new Promise<void>((resolve) => {
      const req = request(
        {
          agent,
          host: target.hostname,
          port: target.port,
          path: `${target.pathname}${target.search}`,
          method: 'GET',
          headers: options.headers,
          timeout: options.timeoutMs ?? 10_000,
        },
        (res) => {
          res.resume();
          res.on('end', () => {
            latencies.push(performance.now() - dueAt);
            statuses.set(res.statusCode ?? 0, (statuses.get(res.statusCode ?? 0) ?? 0) + 1);
            resolve();
          });
        },
      );
      req.on('timeout', () => req.destroy(new Error('timeout')));
      req.on('error', () => {
        errors++;
        resolve();
      });
      req.end();
    });

  const start = performance.now();
  while (sent < total) {
    const now = performance.now();
    // Everything due by now goes out now; then sleep until the next one is due.
    while (sent < total && start + sent * intervalMs <= now) {
      inFlight.push(fire(start + sent * intervalMs));
      sent++;
    }
    const nextDue = start + sent * intervalMs;
    await new Promise((r) => setTimeout(r, Math.max(0, nextDue - performance.now())));
  }
  await Promise.all(inFlight);
  const elapsed = (performance.now() - start) / 1000;
  agent.destroy();
  return {
    latenciesMs: latencies.sort((a, b) => a - b),
    sent,
    errors,
    statuses,
    achievedRate: sent / elapsed,
  };
}

/** The p-th percentile (0-100) of sorted values, nearest rank. */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}
