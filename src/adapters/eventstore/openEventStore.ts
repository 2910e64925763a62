import { eventCatalogue } from '../../../domain/events/catalogue.ts';
import type { EventStore } from '../../ports/eventStore.ts';
import { createEventStore, type EventStoreFactoryOptions } from './eventStore.factory.ts';

/** An event store that refuses, on write and on read, anything the event catalogue does not accept. */
export function openEventStore(
  url: string,
  options: Omit<EventStoreFactoryOptions, 'validate' | 'isAudited'> = {},
): EventStore {
  return createEventStore(url, {
    ...options,
    validate: (type, data, schemaVersion) => {
      eventCatalogue.readEvent(type, schemaVersion, data);
    },
    isAudited: eventCatalogue.isAudited,
  });
}
