import { CairnError, ErrorCategory } from '../../../domain/errors.ts';
import { type EventStore, EventStoreErrorCode, type EventValidator } from '../../ports/eventStore.ts';
import { createEsdbEventStore } from './esdb.eventStore.ts';
import { createMemoryEventStore } from './memory.eventStore.ts';
import { createSqliteEventStore } from './sqlite.eventStore.ts';

export const DEFAULT_EVENT_STORE_URL = 'sqlite:./cairn-data/events.db';

export interface EventStoreFactoryOptions {
  readonly validate?: EventValidator;
  readonly isAudited?: (type: string) => boolean;
  /** sqlite only: refuse to create a new file. */
  readonly mustExist?: boolean;
  /** sqlite only: how often subscriptions look for other processes' commits. */
  readonly pollIntervalMs?: number;
}

export const EventStoreKind = { Memory: 'memory', Sqlite: 'sqlite', Esdb: 'esdb' } as const;
export type EventStoreKind = (typeof EventStoreKind)[keyof typeof EventStoreKind];

/** `memory:`, `sqlite:<path>` (or `sqlite://<path>`), `esdb://…`, `kurrentdb://…`. */
export function parseEventStoreUrl(url: string): { kind: EventStoreKind; target: string } {
  if (url === 'memory:' || url === 'memory') return { kind: 'memory', target: '' };
  if (url.startsWith('sqlite:')) {
    const path = url.slice('sqlite:'.length).replace(/^\/\//, '');
    if (path.length > 0) return { kind: 'sqlite', target: path };
  }
  if (/^(esdb|kurrentdb|kurrent|kdb)(\+discover)?:\/\/./.test(url)) return { kind: 'esdb', target: url };
  throw new CairnError(
    EventStoreErrorCode.BadUrl,
    ErrorCategory.Validation,
    `unknown event store URL ${JSON.stringify(url)}: expected memory:, sqlite:<path>, esdb://… or kurrentdb://…`,
  );
}

export function createEventStore(url: string, options: EventStoreFactoryOptions = {}): EventStore {
  const { kind, target } = parseEventStoreUrl(url);
  const { validate, isAudited, mustExist, pollIntervalMs } = options;
  switch (kind) {
    case 'memory':
      return createMemoryEventStore({ validate, isAudited });
    case 'sqlite':
      return createSqliteEventStore({ path: target, validate, isAudited, mustExist, pollIntervalMs });
    case 'esdb':
      return createEsdbEventStore({ connectionString: target, validate });
    default: {
      const unreachable: never = kind;
      throw new Error(`unhandled event store kind ${String(unreachable)}`);
    }
  }
}
