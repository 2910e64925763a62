import type { EscalationStartedData } from '../events/escalation.events.ts';
import type { Command } from '../messages.ts';

/** An Issue that a policy takes: page level 1 now. A second start of the same escalation changes nothing. */
export type StartEscalation = Command<'StartEscalation', EscalationStartedData>;

/**
 * The sweeper's question at a recorded deadline. `deadline` is the instant it read; the escalation pages only if
 * that deadline is still the current one and has passed, so the same deadline fires once however often it is asked.
 */
export type FireEscalationDeadline = Command<'FireEscalationDeadline', { readonly deadline: string }>;

/**
 * Page the next level now (the last one again when there is none), whatever its timeout says: what a person, Cairn
 * giving up, or a violated IncidentSLA sends. The next deadline counts from this page.
 */
export type EscalateNow = Command<'EscalateNow', { readonly reason: string; readonly requestId?: string }>;

export type AcknowledgeEscalation = Command<'AcknowledgeEscalation', { readonly acknowledgedBy: string }>;

export type SnoozeEscalation = Command<'SnoozeEscalation', { readonly until: string }>;

export type UnsnoozeEscalation = Command<'UnsnoozeEscalation', Record<string, never>>;

export type ResolveEscalation = Command<'ResolveEscalation', Record<string, never>>;

/** What one attempt at a delivery came to, as the channel saw it (the notification outbox's own shape). */
export type RecordPageOutcome = Command<
  'RecordDeliveryOutcome',
  {
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
>;

export type EscalationCommand =
  | StartEscalation
  | FireEscalationDeadline
  | EscalateNow
  | AcknowledgeEscalation
  | SnoozeEscalation
  | UnsnoozeEscalation
  | ResolveEscalation
  | RecordPageOutcome;
