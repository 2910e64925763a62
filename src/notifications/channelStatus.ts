import { type ChannelHealth, ChannelState, DEGRADED_AFTER_FAILURES } from '../../domain/notification/channelHealth.ts';

export interface ChannelStatus {
  readonly name: string;
  readonly state: 'Healthy' | 'Degraded';
  readonly consecutiveFailures: number;
  readonly lastSuccessTime?: string;
  readonly lastFailureTime?: string;
  readonly lastError?: string;
}

export interface DegradedCondition {
  readonly status: 'True' | 'False';
  readonly reason: string;
  readonly message: string;
}

/**
 * What a NotificationPolicy's status says of its channels: one entry per declared channel that has had an attempt,
 * in the order the spec declares them, and a Degraded condition naming the channels in trouble. Pure.
 */
export function channelStatus(
  declared: readonly string[],
  health: ReadonlyMap<string, ChannelHealth>,
): { channels: ChannelStatus[]; degraded: DegradedCondition } {
  const channels: ChannelStatus[] = [];
  for (const name of declared) {
    const h = health.get(name);
    if (h === undefined) continue;
    channels.push({
      name,
      state: h.state === ChannelState.Degraded ? 'Degraded' : 'Healthy',
      consecutiveFailures: h.consecutiveFailures,
      ...(h.lastSuccessAt === null ? {} : { lastSuccessTime: h.lastSuccessAt }),
      ...(h.lastFailureAt === null ? {} : { lastFailureTime: h.lastFailureAt }),
      ...(h.lastError === null ? {} : { lastError: h.lastError.slice(0, 2_048) }),
    });
  }
  const bad = channels.filter((c) => c.state === 'Degraded');
  if (bad.length === 0) {
    return {
      channels,
      degraded: {
        status: 'False',
        reason: 'ChannelsHealthy',
        message: `no channel has failed ${DEGRADED_AFTER_FAILURES} times in a row or been given up on`,
      },
    };
  }
  const told = bad
    .map((c) => `${c.name}: ${c.consecutiveFailures} failed in a row${c.lastError ? `, last: ${c.lastError}` : ''}`)
    .join('; ');
  return {
    channels,
    degraded: {
      status: 'True',
      reason: 'ChannelDegraded',
      message: `${told}; other channels and routing go on, and failed deliveries are retried`.slice(0, 4_000),
    },
  };
}
