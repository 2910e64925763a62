/**
 * Whether a channel of a NotificationPolicy is getting its messages through, folded from the outcomes recorded in
 * the notification streams (NotificationDelivered, NotificationFailed). Nothing here is a guess kept in memory: the
 * outbox, the read model and the policy's status all fold the same events with these functions, so a restart or a
 * new leader comes back to the same answer.
 *
 * The rule: a channel is degraded after DEGRADED_AFTER_FAILURES failed attempts in a row, or as soon as Cairn
 * gives a delivery up (a 4xx, or the last attempt); the next delivered message makes it healthy again.
 */
export const DEGRADED_AFTER_FAILURES = 3;

export const ChannelState = { Healthy: 'healthy', Degraded: 'degraded' } as const;
export type ChannelState = (typeof ChannelState)[keyof typeof ChannelState];

export interface ChannelHealth {
  readonly state: ChannelState;
  /** Failed attempts since the last delivered message. */
  readonly consecutiveFailures: number;
  readonly lastSuccessAt: string | null;
  readonly lastFailureAt: string | null;
  /** As the channel wrote it: a status and the vendor's words, never a credential. */
  readonly lastError: string | null;
  readonly lastStatusCode: number | null;
}

export const unknownChannelHealth = (): ChannelHealth => ({
  state: ChannelState.Healthy,
  consecutiveFailures: 0,
  lastSuccessAt: null,
  lastFailureAt: null,
  lastError: null,
  lastStatusCode: null,
});

/** One recorded attempt, as NotificationDelivered or NotificationFailed tell it. */
export type AttemptOutcome =
  | { readonly ok: true; readonly at: string; readonly statusCode: number }
  | {
      readonly ok: false;
      readonly at: string;
      readonly statusCode?: number;
      readonly error: string;
      /** Cairn will not try this delivery again. */
      readonly gaveUp: boolean;
    };

/** The channel's health after one more attempt, taken in the order the log holds them. Pure. */
export function nextChannelHealth(current: ChannelHealth, outcome: AttemptOutcome): ChannelHealth {
  if (outcome.ok) {
    return {
      ...current,
      state: ChannelState.Healthy,
      consecutiveFailures: 0,
      lastSuccessAt: outcome.at,
      lastStatusCode: outcome.statusCode,
    };
  }
  const consecutiveFailures = current.consecutiveFailures + 1;
  const degraded = outcome.gaveUp || consecutiveFailures >= DEGRADED_AFTER_FAILURES;
  return {
    ...current,
    state: degraded ? ChannelState.Degraded : current.state,
    consecutiveFailures,
    lastFailureAt: outcome.at,
    lastError: outcome.error,
    lastStatusCode: outcome.statusCode ?? null,
  };
}

/** Where a channel's health is kept: a policy and one of its channels. */
export const channelKey = (policy: { readonly namespace: string; readonly name: string }, channel: string): string =>
  `${policy.namespace}/${policy.name}/${channel}`;
