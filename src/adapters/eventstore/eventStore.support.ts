import { randomBytes } from 'node:crypto';
import { CairnError, ErrorCategory, isCairnError } from '../../../domain/errors.ts';
import type { MessageMetadata, RecordedEvent } from '../../../domain/messages.ts';
import { canonicalJson } from '../../application/auditChain.ts';
import {
  EventStoreErrorCode,
  type EventValidator,
  type ExpectedRevision,
  type NewEvent,
  type StoredEvent,
  type SubscribeOptions,
  type Subscription,
  type SubscriptionFilter,
  type SubscriptionHandler,
  WrongExpectedRevisionError,
} from '../../ports/eventStore.ts';

/** Shared by the memory and sqlite adapters (esdb has its own native conflict check and subscriptions). */

export type CurrentRevision = bigint | 'no_stream';

export function checkExpectedRevision(stream: string, expected: ExpectedRevision, current: CurrentRevision): void {
  const ok =
    expected === 'any' ||
    (expected === 'no_stream' && current === 'no_stream') ||
    (expected === 'stream_exists' && current !== 'no_stream') ||
    (typeof expected === 'bigint' && current === expected);
  if (!ok) throw new WrongExpectedRevisionError(stream, expected, current);
}

/** Validates a whole batch before anything is written, so one bad event refuses the batch. */
export function validateBatch(validate: EventValidator | undefined, stream: string, events: readonly NewEvent[]): void {
  if (stream.length === 0) {
    throw new CairnError(EventStoreErrorCode.InvalidEvent, ErrorCategory.Validation, 'stream name is empty');
  }
  events.forEach((event, index) => {
    if (typeof event.type !== 'string' || event.type.length === 0) {
      throw new CairnError(EventStoreErrorCode.InvalidEvent, ErrorCategory.Validation, `event #${index} has no type`, {
        details: { stream, index },
      });
    }
    if (typeof event.metadata?.occurredAt !== 'string') {
      throw new CairnError(
        EventStoreErrorCode.InvalidEvent,
        ErrorCategory.Validation,
        `event #${index} (${event.type}) for ${stream} has no metadata.occurredAt`,
        { details: { stream, index, type: event.type } },
      );
    }
    if (validate === undefined) return;
    try {
      validate(event.type, event.data, event.schemaVersion ?? 1);
    } catch (cause) {
      throw new CairnError(
        EventStoreErrorCode.InvalidEvent,
        ErrorCategory.Validation,
        `event #${index} (${event.type}) for ${stream} is invalid: ${messageOf(cause)}`,
        { cause, details: { stream, index, type: event.type } },
      );
    }
  });
}

/** Read-side validation: a stored event that no longer passes its schema is an error, never silently returned. */
export function validateRecorded(validate: EventValidator | undefined, event: RecordedEvent): RecordedEvent {
  if (validate === undefined) return event;
  try {
    validate(event.type, event.data, event.schemaVersion);
  } catch (cause) {
    throw corruptEvent(event.streamId, event.revision, event.position, `${event.type} fails validation`, cause);
  }
  return event;
}

export function corruptEvent(stream: string, revision: bigint, position: bigint, why: string, cause?: unknown) {
  return new CairnError(
    EventStoreErrorCode.CorruptEvent,
    ErrorCategory.Internal,
    `stored event ${stream}@${revision} (position ${position}) is unreadable: ${why}${cause === undefined ? '' : `: ${messageOf(cause)}`}`,
    { cause, details: { stream, revision: String(revision), position: String(position) } },
  );
}

export function matchesFilter(filter: SubscriptionFilter | undefined, stream: string, type: string): boolean {
  if (filter === undefined) return true;
  if (filter.streamPrefixes !== undefined && !filter.streamPrefixes.some((p) => stream.startsWith(p))) return false;
  return filter.eventTypes === undefined || filter.eventTypes.includes(type);
}

export const messageOf = (error: unknown): string => (error instanceof Error ? error.message : String(error));

/**
 * Wakes sleeping subscriptions. `version` lets a subscription notice a notification that arrived while it was
 * reading, which is what closes the gap between "history is exhausted" and "wait for the next append".
 */
export class WakeSignal {
  #version = 0;
  readonly #waiters = new Set<() => void>();

  get version(): number {
    return this.#version;
  }

  notify(): void {
    this.#version += 1;
    const waiters = [...this.#waiters];
    this.#waiters.clear();
    for (const wake of waiters) wake();
  }

  /** Resolves at the next notify, or at once if one happened since `seen`. */
  wait(seen: number, cancel: { onCancel(fn: () => void): void }): Promise<void> {
    if (this.#version !== seen) return Promise.resolve();
    return new Promise((resolve) => {
      const wake = () => {
        this.#waiters.delete(wake);
        resolve();
      };
      this.#waiters.add(wake);
      cancel.onCancel(wake);
    });
  }
}

export interface CatchUpSource {
  /** Stored events with position strictly greater than `after` (all when undefined), at most `max`, in order. */
  readPage(after: bigint | undefined, max: number): Promise<StoredEvent[]>;
  /** Parses and validates; called only for events that pass the filter, one at a time. */
  decode(stored: StoredEvent): RecordedEvent;
  readonly signal: WakeSignal;
}

/**
 * A pull-based catch-up subscription: it always reads "everything after the last position I delivered", both for
 * history and live, so there is no moment where an event can fall between the two or be delivered twice. Going live
 * only means sleeping until the signal says something was appended.
 */
export function startCatchUpSubscription(
  source: CatchUpSource,
  options: SubscribeOptions,
  handler: SubscriptionHandler,
  pageSize = 500,
): Subscription {
  let closed = false;
  let cancelWait: (() => void) | undefined;
  const cancel = {
    onCancel(fn: () => void) {
      cancelWait = fn;
    },
  };

  const run = async (): Promise<void> => {
    let cursor = options.fromPosition;
    let live = false;
    while (!closed) {
      const seen = source.signal.version;
      const page = await source.readPage(cursor, pageSize);
      for (const stored of page) {
        if (closed) return;
        if (matchesFilter(options.filter, stored.stream, stored.type)) await handler(source.decode(stored));
        cursor = stored.position;
      }
      if (page.length === pageSize || closed) continue;
      if (!live) {
        live = true;
        options.onLive?.();
      }
      await source.signal.wait(seen, cancel);
      cancelWait = undefined;
    }
  };

  const done = run().catch((cause: unknown) => {
    closed = true;
    if (isCairnError(cause) && cause.code === EventStoreErrorCode.Closed) return;
    throw new CairnError(
      EventStoreErrorCode.SubscriptionFailed,
      ErrorCategory.Internal,
      `subscription stopped: ${messageOf(cause)}`,
      { cause },
    );
  });
  // Marked as handled so that an unobserved failure does not crash the process; `done` still rejects for callers.
  done.catch(() => {});

  return {
    done,
    async close() {
      closed = true;
      cancelWait?.();
      await done.catch(() => {});
    },
  };
}

export function storeClosed(): CairnError {
  return new CairnError(EventStoreErrorCode.Closed, ErrorCategory.IllegalState, 'the event store is closed');
}

/** Turns a stored row into the event handed to callers; unparseable JSON is corruption, reported, never skipped. */
export function toRecordedEvent(stored: StoredEvent, validate: EventValidator | undefined): RecordedEvent {
  let data: unknown;
  let metadata: MessageMetadata;
  try {
    data = JSON.parse(stored.data);
    metadata = JSON.parse(stored.metadata) as MessageMetadata;
  } catch (cause) {
    throw corruptEvent(stored.stream, stored.revision, stored.position, 'JSON does not parse', cause);
  }
  return validateRecorded(validate, {
    id: stored.id,
    streamId: stored.stream,
    revision: stored.revision,
    position: stored.position,
    recordedAt: stored.recordedAt,
    schemaVersion: stored.schemaVersion,
    type: stored.type,
    data,
    metadata,
  });
}

export interface EncodedEvent {
  readonly id: string;
  readonly type: string;
  readonly schemaVersion: number;
  /** Canonical JSON, which is also what the audit content hash covers. */
  readonly data: string;
  readonly metadata: string;
}

export function encodeEvent(event: NewEvent): EncodedEvent {
  return {
    id: event.id ?? newEventId(),
    type: event.type,
    schemaVersion: event.schemaVersion ?? 1,
    data: canonicalJson(event.data),
    metadata: canonicalJson(event.metadata),
  };
}

/**
 * A UUIDv7: 48 bits of milliseconds, then random bits. Ids that grow with time land at the right edge of the sqlite
 * index on `id`; random v4 ids scatter over the whole index and made batched appends about twice as slow.
 */
export function newEventId(): string {
  const bytes = randomBytes(16);
  bytes.writeUIntBE(Date.now(), 0, 6);
  bytes[6] = (bytes[6]! & 0x0f) | 0x70;
  bytes[8] = (bytes[8]! & 0x3f) | 0x80;
  const hex = bytes.toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}
