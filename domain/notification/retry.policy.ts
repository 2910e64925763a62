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
