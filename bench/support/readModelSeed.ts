import type { RecordedEvent } from '../../domain/messages.ts';
import { openEventStore } from '../../src/adapters/eventstore/openEventStore.ts';
import type { EventStore, NewEvent } from '../../src/ports/eventStore.ts';
import { type PipelineIncident, writePipelineIncident } from '../../test/support/pipelineLog.ts';

const ISSUE = 'zqissuez';
const NAMESPACE = 'zqnsz';
const namespaces = ['checkout', 'payments', 'search', 'inventory', 'frontend', 'shop', 'ledger', 'auth'];
const shapes: Omit<PipelineIncident, 'issueId'>[] = [
  { outcome: 'resolved', attach: ['pod_restart'] },
  { outcome: 'resolved' },
  { outcome: 'rolled_back', signal: 'image_pull' },
  { outcome: 'open', attach: ['pod_restart', 'pod_not_ready'] },
  { outcome: 'resolved', signal: 'pod_restart' },
];

/** One incident of each shape, written through the deciders, as templates to copy. */
async function templates(): Promise<RecordedEvent[][]> {
  const out: RecordedEvent[][] = [];
  for (const shape of shapes) {
    const store = openEventStore('memory:');
    await writePipelineIncident(store, {
      ...shape,
      issueId: ISSUE,
      workload: { kind: 'Deployment', name: `api-${ISSUE}`, namespace: NAMESPACE },
    });
    out.push(await store.readAll());
    await store.close();
  }
  return out;
}

/**
 * Fills `store` with `count` incidents copied from decider-written templates (ids, namespaces and times changed), a
 * stream per append: the read model a busy cluster builds up over weeks, in seconds instead of minutes.
 */
export async function seedIncidents(store: EventStore, count: number, firstId = 0): Promise<number> {
  const shapesEvents = await templates();
  let events = 0;
  for (let i = firstId; i < firstId + count; i++) {
    const template = shapesEvents[i % shapesEvents.length]!;
    const id = `seed${i.toString(36).padStart(5, '0')}`;
    const namespace = namespaces[i % namespaces.length]!;
    // Spread over about a month, a few minutes apart.
    const shiftMs = i * 4 * 60_000 - count * 4 * 60_000;
    const byStream = new Map<string, NewEvent[]>();
    for (const event of template) {
      const text = JSON.stringify({ type: event.type, data: event.data, metadata: event.metadata })
        .replaceAll(ISSUE, id)
        .replaceAll(NAMESPACE, namespace);
      const copy = JSON.parse(text) as NewEvent & { metadata: { occurredAt: string } };
      copy.metadata.occurredAt = new Date(Date.parse(copy.metadata.occurredAt) + shiftMs).toISOString();
      const stream = event.streamId.replaceAll(ISSUE, id);
      byStream.set(stream, [...(byStream.get(stream) ?? []), copy]);
    }
    for (const [stream, batch] of byStream) {
      await store.appendToStream(stream, batch, { expectedRevision: 'no_stream' });
      events += batch.length;
    }
  }
  return events;
}

/** Events one seeded incident writes, on average over the shapes. */
export async function eventsPerIncident(): Promise<number> {
  const all = await templates();
  return all.reduce((n, events) => n + events.length, 0) / all.length;
}
