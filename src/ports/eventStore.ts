import { CairnError, ErrorCategory } from '../../domain/errors.ts';
import type { Event, RecordedEvent } from '../../domain/messages.ts';

/**
 * The event store port. Every backend (memory, sqlite, esdb) implements it and passes the one contract suite in
 * test/contracts/eventStore.contract.ts; nothing outside src/adapters/eventstore knows which backend is in use.
 */

/** What the writer believes the stream looks like; a bigint is the revision of the stream's last event. */
export type ExpectedRevision = bigint | 'no_stream' | 'stream_exists' | 'any';
export const ExpectedRevision = {
  NoStream: 'no_stream',
  StreamExists: 'stream_exists',
  Any: 'any',
} as const;

/** An event on its way in: the store assigns `id` (unless given), revision, position and recordedAt. */
export type NewEvent<E extends Event = Event> = E & {
  readonly id?: string;
  /** Schema version of `data`; 1 when omitted. */
  readonly schemaVersion?: number;
};

export interface AppendOptions {
  /** Defaults to 'any': no concurrency check. Command handlers always pass the revision they decided on. */
  readonly expectedRevision?: ExpectedRevision;
}

export interface AppendResult {
  /** Revision of the last event written: pass it as `expectedRevision` on the next append. */
  readonly nextExpectedRevision: bigint;
  /** Global position of the last event written. */
  readonly position: bigint;
}

export interface ReadStreamOptions {
  /** Inclusive; 0n when omitted. */
  readonly fromRevision?: bigint;
  readonly maxCount?: number;
}

export interface ReadAllOptions {
  /** Inclusive: the first event returned is the first one at or after this position. */
  readonly fromPosition?: bigint;
  readonly maxCount?: number;
}

/** Both parts are optional; when both are given an event must match both. */
export interface SubscriptionFilter {
  /** Stream name prefixes, e.g. `['issue-', 'remediation-']`. */
  readonly streamPrefixes?: readonly string[];
  readonly eventTypes?: readonly string[];
}

export interface SubscribeOptions {
  /**
   * A checkpoint: delivery starts with the first event AFTER this position (exclusive, unlike readAll), so a
   * consumer passes the position of the last event it finished handling. From the very start when omitted.
   */
  readonly fromPosition?: bigint;
  readonly filter?: SubscriptionFilter;
  /** Called once, when history has been delivered and the subscription turns live. */
  readonly onLive?: () => void;
}

/** Handlers run one at a time, in global order; the next event waits for the returned promise. */
export type SubscriptionHandler = (event: RecordedEvent) => void | Promise<void>;

export interface Subscription {
  /** Stops delivery; resolves once the handler in flight (if any) has returned. */
  close(): Promise<void>;
  /**
   * Settles when the subscription ends: resolves after close(), rejects with a CairnError (cause attached) if the
   * handler or the store failed. Observe it: a failed subscription delivers nothing more.
   */
  readonly done: Promise<void>;
}

/**
 * Throws to refuse an event; injected so the store does not depend on the event catalogue. Called for every event
 * appended (before anything is written) and every event read.
 */
export type EventValidator = (type: string, data: unknown, schemaVersion: number) => void;

export interface EventStore {
  appendToStream(stream: string, events: readonly NewEvent[], options?: AppendOptions): Promise<AppendResult>;
  /** An absent stream reads as empty. */
  readStream(stream: string, options?: ReadStreamOptions): Promise<RecordedEvent[]>;
  /** The global log in position order. */
  readAll(options?: ReadAllOptions): Promise<RecordedEvent[]>;
  /** A catch-up subscription: history first, then live, with no gap and no duplicate between the two. */
  subscribeToAll(options: SubscribeOptions, handler: SubscriptionHandler): Subscription;
  close(): Promise<void>;
}

/** One link of the tamper-evident audit chain, as stored beside the event it covers. */
export interface AuditLink {
  readonly seq: bigint;
  readonly position: bigint;
  readonly eventId: string;
  readonly stream: string;
  readonly prevHash: string;
  readonly contentHash: string;
  readonly hash: string;
}

/** An event exactly as stored, unvalidated: audit verification must be able to look at tampered rows. */
export interface StoredEvent {
  readonly position: bigint;
  readonly id: string;
  readonly stream: string;
  readonly revision: bigint;
  readonly type: string;
  readonly schemaVersion: number;
  /** JSON text as stored. */
  readonly data: string;
  readonly metadata: string;
  readonly recordedAt: string;
}

/** A row of the audit log: an event, its link, or both (a missing half is itself evidence of tampering). */
export interface AuditLogEntry {
  readonly position: bigint;
  readonly event: StoredEvent | null;
  readonly link: AuditLink | null;
}

/** Stores that keep the audit chain beside the events, written in the same transaction as the append. */
export interface AuditableEventStore extends EventStore {
  /** Entries with position > afterPosition, in position order: every event, and every link whose event is gone. */
  readAuditLog(options?: { afterPosition?: bigint; maxCount?: number }): Promise<AuditLogEntry[]>;
}

export const isAuditableEventStore = (store: EventStore): store is AuditableEventStore =>
  typeof (store as Partial<AuditableEventStore>).readAuditLog === 'function';

export const EventStoreErrorCode = {
  WrongExpectedRevision: 'eventstore.wrong_expected_revision',
  InvalidEvent: 'eventstore.invalid_event',
  CorruptEvent: 'eventstore.corrupt_event',
  DuplicateEventId: 'eventstore.duplicate_event_id',
  Unavailable: 'eventstore.unavailable',
  Closed: 'eventstore.closed',
  SubscriptionFailed: 'eventstore.subscription_failed',
  BadUrl: 'eventstore.bad_url',
  NotFound: 'eventstore.not_found',
  Internal: 'eventstore.internal',
} as const;

/** `actual` is the revision of the stream's last event, or 'no_stream'. */
export class WrongExpectedRevisionError extends CairnError {
  override readonly name = 'WrongExpectedRevisionError';
  constructor(
    readonly stream: string,
    readonly expected: ExpectedRevision,
    readonly actual: bigint | 'no_stream',
    options?: { cause?: unknown },
  ) {
    super(
      EventStoreErrorCode.WrongExpectedRevision,
      ErrorCategory.Conflict,
      `stream ${stream}: expected revision ${String(expected)}, actual ${String(actual)}`,
      { ...options, details: { stream, expected: String(expected), actual: String(actual) } },
    );
  }
}

export const isWrongExpectedRevisionError = (error: unknown): error is WrongExpectedRevisionError =>
  error instanceof WrongExpectedRevisionError;
