import type { NotificationTransitionRecordedData } from '../events/notification.events.ts';
import type { Command } from '../messages.ts';

/** An Issue event matched a rule: the group hears of it (flushAt is the decider's to set). */
export type RecordTransition = Command<'RecordTransition', Omit<NotificationTransitionRecordedData, 'flushAt'>>;

/** The sweeper's question at a recorded deadline: is the group due, and what does it owe whom? */
export type FlushGroup = Command<'FlushGroup', Record<string, never>>;

/** What one attempt at a delivery came to, as the channel saw it. */
export type RecordDeliveryOutcome = Command<
  'RecordDeliveryOutcome',
  {
    readonly deliveryId: string;
    readonly attempt: number;
    readonly outcome: 'delivered' | 'failed';
    readonly statusCode?: number;
    readonly latencyMs: number;
    /** Written by the channel, never holding a credential. */
    readonly error: string;
    /** For failures without a status (refused connection, timeout, a missing Secret): worth trying again. */
    readonly retryable: boolean;
    readonly retryAfterSeconds?: number;
    /** In [0, 1), drawn by the caller. */
    readonly jitter: number;
  }
>;

export type NotificationCommand = RecordTransition | FlushGroup | RecordDeliveryOutcome;
