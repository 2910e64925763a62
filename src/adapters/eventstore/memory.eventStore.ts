import { CairnError, ErrorCategory } from '../../../domain/errors.ts';
import type { RecordedEvent } from '../../../domain/messages.ts';
import {
  auditAllEvents,
  auditContentHashOfCanonical,
  auditLinkHash,
  GENESIS_HASH,
} from '../../application/auditChain.ts';
import {
  type AppendOptions,
  type AppendResult,
  type AuditableEventStore,
  type AuditLink,
  type AuditLogEntry,
  EventStoreErrorCode,
  type EventValidator,
  type NewEvent,
  type ReadAllOptions,
  type ReadStreamOptions,
  type StoredEvent,
  type SubscribeOptions,
  type Subscription,
  type SubscriptionHandler,
} from '../../ports/eventStore.ts';
import {
  checkExpectedRevision,
  encodeEvent,
  startCatchUpSubscription,
  storeClosed,
  toRecordedEvent,
  validateBatch,
  WakeSignal,
} from './eventStore.support.ts';

/**
 * The log itself, separate from the store object so that several store instances can share it, as several
 * connections share one sqlite file (the contract suite opens a second instance to read what the first wrote).
 */
export interface MemoryEventLog {
  /** events[i] has position i + 1. */
  readonly events: StoredEvent[];
  readonly streams: Map<string, number[]>;
  readonly ids: Set<string>;
  readonly links: Map<bigint, AuditLink>;
  lastHash: string;
  readonly signal: WakeSignal;
}

export const createMemoryEventLog = (): MemoryEventLog => ({
  events: [],
  streams: new Map(),
  ids: new Set(),
  links: new Map(),
  lastHash: GENESIS_HASH,
  signal: new WakeSignal(),
});

export interface MemoryEventStoreOptions {
  readonly validate?: EventValidator;
  /** Which event types join the audit chain; all of them by default. */
  readonly isAudited?: (type: string) => boolean;
  readonly log?: MemoryEventLog;
  /** Clock for recordedAt; the wall clock by default. */
  readonly now?: () => Date;
}

export function createMemoryEventStore(options: MemoryEventStoreOptions = {}): AuditableEventStore {
  const log = options.log ?? createMemoryEventLog();
  const isAudited = options.isAudited ?? auditAllEvents;
  const now = options.now ?? (() => new Date());
  const subscriptions = new Set<Subscription>();
  let closed = false;

  const ensureOpen = () => {
    if (closed) throw storeClosed();
  };
  const toRecorded = (stored: StoredEvent) => toRecordedEvent(stored, options.validate);

  return {
    async appendToStream(stream: string, events: readonly NewEvent[], opts: AppendOptions = {}): Promise<AppendResult> {
      ensureOpen();
      validateBatch(options.validate, stream, events);
      const indices = log.streams.get(stream) ?? [];
      const current = indices.length === 0 ? 'no_stream' : BigInt(indices.length - 1);
      checkExpectedRevision(stream, opts.expectedRevision ?? 'any', current);
      if (events.length === 0) {
        return { nextExpectedRevision: current === 'no_stream' ? -1n : current, position: BigInt(log.events.length) };
      }
      const encoded = events.map(encodeEvent);
      // Checked before touching the log so that a refused batch leaves nothing behind.
      const batchIds = new Set<string>();
      for (const e of encoded) {
        if (log.ids.has(e.id) || batchIds.has(e.id)) throw duplicateId(e.id);
        batchIds.add(e.id);
      }
      const recordedAt = now().toISOString();
      let revision = BigInt(indices.length);
      for (const e of encoded) {
        const stored: StoredEvent = {
          position: BigInt(log.events.length + 1),
          id: e.id,
          stream,
          revision,
          type: e.type,
          schemaVersion: e.schemaVersion,
          data: e.data,
          metadata: e.metadata,
          recordedAt,
        };
        indices.push(log.events.length);
        log.events.push(stored);
        log.ids.add(e.id);
        if (isAudited(e.type)) {
          const contentHash = auditContentHashOfCanonical(stored, e.data, e.metadata);
          const hash = auditLinkHash(log.lastHash, contentHash);
          const link = {
            seq: BigInt(log.links.size + 1),
            position: stored.position,
            eventId: e.id,
            stream,
            prevHash: log.lastHash,
            contentHash,
            hash,
          };
          log.links.set(stored.position, link);
          log.lastHash = hash;
        }
        revision += 1n;
      }
      log.streams.set(stream, indices);
      log.signal.notify();
      return { nextExpectedRevision: revision - 1n, position: BigInt(log.events.length) };
    },

    async readStream(stream: string, opts: ReadStreamOptions = {}): Promise<RecordedEvent[]> {
      ensureOpen();
      const indices = log.streams.get(stream) ?? [];
      const from = Number(opts.fromRevision ?? 0n);
      const to = opts.maxCount === undefined ? indices.length : from + opts.maxCount;
      return indices.slice(from, to).map((i) => toRecorded(log.events[i]!));
    },

    async readAll(opts: ReadAllOptions = {}): Promise<RecordedEvent[]> {
      ensureOpen();
      const from = Math.max(0, Number(opts.fromPosition ?? 1n) - 1);
      const to = opts.maxCount === undefined ? log.events.length : from + opts.maxCount;
      return log.events.slice(from, to).map(toRecorded);
    },

    subscribeToAll(opts: SubscribeOptions, handler: SubscriptionHandler): Subscription {
      ensureOpen();
      const source = {
        signal: log.signal,
        decode: toRecorded,
        readPage: async (after: bigint | undefined, max: number) => {
          ensureOpen();
          const from = after === undefined ? 0 : Number(after);
          return log.events.slice(from, from + max);
        },
      };
      const subscription = startCatchUpSubscription(source, opts, handler);
      subscriptions.add(subscription);
      void subscription.done.finally(() => subscriptions.delete(subscription)).catch(() => {});
      return subscription;
    },

    async readAuditLog(opts: { afterPosition?: bigint; maxCount?: number } = {}): Promise<AuditLogEntry[]> {
      ensureOpen();
      const from = Number(opts.afterPosition ?? 0n);
      const to = opts.maxCount === undefined ? log.events.length : from + opts.maxCount;
      return log.events
        .slice(from, to)
        .map((event) => ({ position: event.position, event, link: log.links.get(event.position) ?? null }));
    },

    async close(): Promise<void> {
      if (closed) return;
      await Promise.all([...subscriptions].map((s) => s.close()));
      closed = true;
    },
  };
}

function duplicateId(id: string): CairnError {
  return new CairnError(
    EventStoreErrorCode.DuplicateEventId,
    ErrorCategory.Conflict,
    `an event with id ${id} already exists`,
    {
      details: { eventId: id },
    },
  );
}
