import type { ChannelHealthView } from '../adapters/readmodel/notifications.queries.ts';

/**
 * The `notifications` line of /readyz: which channels are degraded, with their last error. Advisory: a receiver that
 * is down is not a reason to take Cairn's API out of service (the outbox keeps retrying, other channels and the
 * pipeline go on), so it is shown and never makes the operator unready.
 */
export function notificationReadiness(channels: readonly ChannelHealthView[]): { ok: boolean; detail: string } {
  const degraded = channels.filter((c) => c.state === 'degraded');
  if (channels.length === 0) return { ok: true, detail: 'no delivery attempted yet' };
  if (degraded.length === 0) return { ok: true, detail: `${channels.length} channel(s) delivering` };
  const lines = degraded.map(
    (c) =>
      `${c.namespace}/${c.policy} channel ${c.channel} degraded: ${c.consecutiveFailures} failed in a row${c.lastError ? `, last: ${c.lastError}` : ''}`,
  );
  return { ok: false, detail: lines.join('; ').slice(0, 2_000) };
}
