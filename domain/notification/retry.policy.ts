import { plusMs } from '../time.ts';

/**
 * When a failed delivery is tried again: exponential backoff with jitter, so a receiver that recovers is not hit by
 * every sender at the same instant, or the receiver's own Retry-After when it gave one (capped, so a hostile or
 * broken answer cannot park a notification for days).
 */
export const FIRST_RETRY_MS = 2_000;
export const MAX_BACKOFF_MS = 5 * 60_000;
export const MAX_RETRY_AFTER_MS = 60 * 60_000;

/** `jitter` is drawn by the caller in [0, 1): deciders draw no random numbers. */
export function retryDelayMs(attempt: number, jitter: number, retryAfterSeconds?: number): number {
  const spread = Math.min(Math.max(jitter, 0), 1);
  if (retryAfterSeconds !== undefined && Number.isFinite(retryAfterSeconds) && retryAfterSeconds >= 0) {
    // Never before the receiver asked; a little after, so many waiting senders do not return together.
    return Math.min(retryAfterSeconds * 1000, MAX_RETRY_AFTER_MS) + Math.round(spread * 1_000);
  }
  const base = Math.min(FIRST_RETRY_MS * 2 ** Math.max(0, attempt - 1), MAX_BACKOFF_MS);
  // "Equal jitter": half the delay is kept, the other half drawn, so retries spread without collapsing to zero.
  return Math.round(base / 2 + (base / 2) * spread);
}

/** What one attempt came to, as a channel reports it (the `RecordDeliveryOutcome` command of both outboxes). */
export interface AttemptReport {
  readonly deliveryId: string;
  readonly attempt: number;
  readonly outcome: 'delivered' | 'failed';
  readonly statusCode?: number;
  readonly latencyMs: number;
  readonly error: string;
  readonly retryable: boolean;
  readonly retryAfterSeconds?: number;
  readonly jitter: number;
}

const worthRetrying = (statusCode: number | undefined, retryable: boolean) =>
  statusCode === undefined ? retryable : statusCode >= 500 || statusCode === 429 || statusCode === 408;

/**
 * The data of the delivered or failed event for an attempt, shared by notification groups and escalations; null
 * when the attempt is not the next one (a retry after a crash, or given up long ago: the log keeps the first outcome).
 */
export function attemptOutcome(
  report: AttemptReport,
  channel: string,
  attemptsSoFar: number | undefined,
  at: string,
  maxAttempts: number,
) {
  if (attemptsSoFar === undefined || report.attempt !== attemptsSoFar + 1) return null;
  const base = { deliveryId: report.deliveryId, channel, attempt: report.attempt };
  const latencyMs = Math.max(0, Math.round(report.latencyMs));
  if (report.outcome === 'delivered') {
    // Callers refuse a delivery without a status before asking; 0 never reaches an event.
    return { delivered: { ...base, statusCode: report.statusCode ?? 0, latencyMs } } as const;
  }
  const retry = worthRetrying(report.statusCode, report.retryable) && report.attempt < maxAttempts;
  const retryAt = retry ? plusMs(at, retryDelayMs(report.attempt, report.jitter, report.retryAfterSeconds)) : null;
  return {
    delivered: undefined,
    failed: {
      ...base,
      ...(report.statusCode === undefined ? {} : { statusCode: report.statusCode }),
      latencyMs,
      error: report.error.slice(0, 2_000),
      ...(retryAt === null ? {} : { retryAt }),
    },
  };
}
