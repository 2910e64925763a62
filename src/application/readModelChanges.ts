import type { RecordedEvent } from '../../domain/messages.ts';

/** A projection has committed `event`: the rows it wrote are now visible to readers. */
export type ReadModelChange = { readonly projection: string; readonly event: RecordedEvent };
export type ReadModelChangeListener = (change: ReadModelChange) => void;

/**
 * In-process fan-out of read-model commits, from the projection runner (`onProjected`) to live readers such as
 * GraphQL subscriptions. A listener that throws stops neither the projection nor the other listeners; its error is reported.
 */
export interface ReadModelChanges {
  publish(projection: string, event: RecordedEvent): void;
  /** Returns the unsubscribe function. */
  subscribe(listener: ReadModelChangeListener): () => void;
}

export function createReadModelChanges(onListenerError?: (error: unknown) => void): ReadModelChanges {
  const listeners = new Set<ReadModelChangeListener>();
  return {
    publish(projection, event) {
      for (const listener of listeners) {
        try {
          listener({ projection, event });
        } catch (error) {
          onListenerError?.(error);
        }
      }
    },
    subscribe(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  };
}
