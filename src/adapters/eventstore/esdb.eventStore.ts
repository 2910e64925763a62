import {
  type AllStreamResolvedEvent,
  type AppendStreamState,
  eventTypeFilter,
  excludeSystemEvents,
  type Filter,
  jsonEvent,
  KurrentDBClient,
  type ReadPosition,
  type ResolvedEvent,
  START,
  StreamNotFoundError,
  streamNameFilter,
  WrongExpectedVersionError,
} from '@kurrent/kurrentdb-client';
import { CairnError, ErrorCategory, isCairnError } from '../../../domain/errors.ts';
import type { MessageMetadata, RecordedEvent } from '../../../domain/messages.ts';
import {
  type AppendOptions,
  type AppendResult,
  type EventStore,
  EventStoreErrorCode,
  type EventValidator,
  type NewEvent,
  type ReadAllOptions,
  type ReadStreamOptions,
  type SubscribeOptions,
  type Subscription,
  type SubscriptionHandler,
  WrongExpectedRevisionError,
} from '../../ports/eventStore.ts';
import {
  corruptEvent,
  matchesFilter,
  messageOf,
  storeClosed,
  validateBatch,
  validateRecorded,
} from './eventStore.support.ts';

/**
 * EventStoreDB / KurrentDB, for HA and large installations. Positions are the commit positions of $all (each event
 * of a modern append has its own). The server checks expected revisions itself; we only translate its error.
 * No audit chain here: the server's log is the trail, and a hash chain needs one global writer, which it is not.
 */

export interface EsdbEventStoreOptions {
  /** `esdb://…`, `kurrentdb://…` (and their +discover forms). */
  readonly connectionString: string;
  readonly validate?: EventValidator;
  /** An already built client (tests pass a stand-in); built from the connection string when absent. */
  readonly client?: KurrentDBClient;
}

/** Metadata key under which the schema version travels; stripped again on read. */
const SCHEMA_VERSION_KEY = 'cairnSchemaVersion';

export function createEsdbEventStore(options: EsdbEventStoreOptions): EventStore {
  // The client accepts esdb:// but warns on every connect; the two schemes mean the same thing.
  const connectionString = options.connectionString.replace(/^esdb(\+discover)?:\/\//, 'kurrentdb$1://');
  let client: KurrentDBClient;
  try {
    client = options.client ?? KurrentDBClient.connectionString(connectionString);
  } catch (cause) {
    throw new CairnError(
      EventStoreErrorCode.BadUrl,
      ErrorCategory.Validation,
      `bad EventStoreDB connection string: ${messageOf(cause)}`,
      {
        cause,
      },
    );
  }
  let closed = false;
  const subscriptions = new Set<Subscription>();
  const ensureOpen = () => {
    if (closed) throw storeClosed();
  };
  const toRecorded = (resolved: ResolvedEvent | AllStreamResolvedEvent): RecordedEvent | undefined => {
    const event = resolved.event;
    if (event === undefined) return undefined;
    const position = event.position?.commit ?? resolved.commitPosition ?? -1n;
    let data: unknown = event.data;
    let metadata: Record<string, unknown>;
    try {
      if (!event.isJson) data = JSON.parse(new TextDecoder().decode(event.data as Uint8Array));
      const raw = event.metadata;
      metadata = (raw instanceof Uint8Array ? JSON.parse(new TextDecoder().decode(raw)) : (raw ?? {})) as Record<
        string,
        unknown
      >;
    } catch (cause) {
      throw corruptEvent(event.streamId, event.revision, position, 'JSON does not parse', cause);
    }
    const { [SCHEMA_VERSION_KEY]: schemaVersion, ...rest } = metadata;
    return validateRecorded(options.validate, {
      id: event.id,
      streamId: event.streamId,
      revision: event.revision,
      position,
      recordedAt: event.created.toISOString(),
      schemaVersion: typeof schemaVersion === 'number' ? schemaVersion : 1,
      type: event.type,
      data,
      metadata: rest as unknown as MessageMetadata,
    });
  };

  return {
    async appendToStream(stream: string, events: readonly NewEvent[], opts: AppendOptions = {}): Promise<AppendResult> {
      ensureOpen();
      validateBatch(options.validate, stream, events);
      const expected = opts.expectedRevision ?? 'any';
      const payload = events.map((e) =>
        jsonEvent({
          ...(e.id === undefined ? {} : { id: e.id }),
          type: e.type,
          data: e.data as Record<string, unknown>,
          metadata: { ...e.metadata, [SCHEMA_VERSION_KEY]: e.schemaVersion ?? 1 },
        }),
      );
      try {
        const result = await client.appendToStream(stream, payload, { streamState: expected as AppendStreamState });
        return { nextExpectedRevision: result.nextExpectedRevision, position: result.position?.commit ?? -1n };
      } catch (error) {
        if (error instanceof WrongExpectedVersionError) {
          throw new WrongExpectedRevisionError(stream, expected, actualOf(error.actualState), { cause: error });
        }
        throw translate(error, `append to ${stream}`);
      }
    },

    async readStream(stream: string, opts: ReadStreamOptions = {}): Promise<RecordedEvent[]> {
      ensureOpen();
      const out: RecordedEvent[] = [];
      try {
        const reader = client.readStream(stream, {
          fromRevision: opts.fromRevision ?? START,
          ...(opts.maxCount === undefined ? {} : { maxCount: opts.maxCount }),
        });
        for await (const resolved of reader) {
          const event = toRecorded(resolved);
          if (event !== undefined) out.push(event);
        }
      } catch (error) {
        if (error instanceof StreamNotFoundError) return [];
        throw translate(error, `read ${stream}`);
      }
      return out;
    },

    async readAll(opts: ReadAllOptions = {}): Promise<RecordedEvent[]> {
      ensureOpen();
      const out: RecordedEvent[] = [];
      try {
        const reader = client.readAll({
          fromPosition: toReadPosition(opts.fromPosition),
          // Server-side, so that maxCount counts our events only and paging by "short page = end" stays right.
          filter: excludeSystemEvents(),
          ...(opts.maxCount === undefined ? {} : { maxCount: opts.maxCount }),
        });
        for await (const resolved of reader) {
          const event = toRecorded(resolved);
          if (event !== undefined) out.push(event);
        }
      } catch (error) {
        throw translate(error, 'read $all');
      }
      return out;
    },

    subscribeToAll(opts: SubscribeOptions, handler: SubscriptionHandler): Subscription {
      ensureOpen();
      const native = client.subscribeToAll({
        // The server starts after the given position, which is the checkpoint semantics of the port.
        fromPosition: opts.fromPosition === undefined ? START : toReadPosition(opts.fromPosition),
        filter: serverFilter(opts),
      });
      if (opts.onLive !== undefined) native.once('caughtUp', () => opts.onLive?.());
      let stopping = false;
      const run = async () => {
        for await (const resolved of native) {
          if (stopping) break;
          // Filter before decoding, so a malformed event the subscriber does not want cannot stop it.
          const raw = resolved.event;
          if (raw === undefined || !matchesFilter(opts.filter, raw.streamId, raw.type)) continue;
          const event = toRecorded(resolved);
          if (event !== undefined) await handler(event);
        }
      };
      const done = run().catch((cause: unknown) => {
        if (stopping) return;
        throw new CairnError(
          EventStoreErrorCode.SubscriptionFailed,
          ErrorCategory.Internal,
          `subscription stopped: ${messageOf(cause)}`,
          {
            cause: isCairnError(cause) ? cause : translate(cause, 'subscribe to $all'),
          },
        );
      });
      done.catch(() => {});
      const subscription: Subscription = {
        done,
        async close() {
          stopping = true;
          await native.unsubscribe().catch(() => {});
          await done.catch(() => {});
        },
      };
      subscriptions.add(subscription);
      void done.finally(() => subscriptions.delete(subscription)).catch(() => {});
      return subscription;
    },

    async close(): Promise<void> {
      if (closed) return;
      await Promise.all([...subscriptions].map((s) => s.close()));
      closed = true;
      await client.dispose().catch(() => {});
    },
  };
}

function toReadPosition(position: bigint | undefined): ReadPosition {
  return position === undefined ? START : { commit: position, prepare: position };
}

/** The server takes one filter; stream prefixes win and event types are then checked client-side too. */
function serverFilter(opts: SubscribeOptions): Filter {
  const { streamPrefixes, eventTypes } = opts.filter ?? {};
  if (streamPrefixes !== undefined && streamPrefixes.length > 0)
    return streamNameFilter({ prefixes: [...streamPrefixes] });
  if (eventTypes !== undefined && eventTypes.length > 0) {
    return eventTypeFilter({ regex: `^(?:${eventTypes.map(escapeRegex).join('|')})$` });
  }
  return excludeSystemEvents();
}

const escapeRegex = (text: string): string => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

function actualOf(state: unknown): bigint | 'no_stream' {
  return typeof state === 'bigint' ? state : 'no_stream';
}

const transientErrorNames = new Set([
  'UnavailableError',
  'DeadlineExceededError',
  'NotLeaderError',
  'TimeoutError',
  'CancelledError',
]);

/** gRPC status codes that mean "try again": UNAVAILABLE, DEADLINE_EXCEEDED, RESOURCE_EXHAUSTED, ABORTED. */
const transientGrpcCodes = new Set([14, 4, 8, 10]);

function translate(error: unknown, what: string): CairnError {
  if (isCairnError(error)) return error;
  const name = error instanceof Error ? error.constructor.name : '';
  // Some calls reject with the client's typed errors, others with a bare gRPC ServiceError carrying a numeric code.
  const grpcCode = (error as { code?: unknown } | null)?.code;
  const transient = transientErrorNames.has(name) || (typeof grpcCode === 'number' && transientGrpcCodes.has(grpcCode));
  return new CairnError(
    transient ? EventStoreErrorCode.Unavailable : EventStoreErrorCode.Internal,
    transient ? ErrorCategory.Transient : ErrorCategory.Internal,
    `EventStoreDB: ${what} failed: ${messageOf(error)}`,
    { cause: error },
  );
}
