/**
 * A separate writer process for the event store contract. It opens the store at argv URL, says `ready`, waits for a
 * `go <epoch ms>` line on stdin (so that both writers start at the same instant), races for revision slots, and prints one JSON line.
 *
 *   race mode: until the stream holds `count` events, append one expecting the last revision this writer knows of;
 *              a conflict tells it the actual revision, and it tries again from there. Both writers start by
 *              expecting no stream, so at least that first race is always contested.
 *   any mode:  append `count` events with expectedRevision 'any'.
 */
import { createInterface } from 'node:readline';
import { createEventStore } from '../../src/adapters/eventstore/eventStore.factory.ts';
import { isWrongExpectedRevisionError } from '../../src/ports/eventStore.ts';

const [url, stream, countText, label, mode] = process.argv.slice(2);
if (url === undefined || stream === undefined || countText === undefined || label === undefined) {
  throw new Error('usage: concurrentAppender.script.ts <url> <stream> <count> <label> [race|any]');
}
const count = Number(countText);
const store = createEventStore(url);

const lines = createInterface({ input: process.stdin });
process.stdout.write('ready\n');
const go = await new Promise<string>((resolve) => lines.once('line', resolve));
lines.close();
// `go <epoch ms>`: both writers spin until the same instant, so their appends overlap instead of taking turns.
const startAt = Number(go.split(' ')[1] ?? 0);
while (Date.now() < startAt) {}

/** One append attempt: the revision it expected (-1 for no stream), and whether it won. */
const attempts: { expected: number; won: boolean; actual?: number }[] = [];
const newEvent = (data: Record<string, unknown>) => ({
  type: 'RaceRun',
  data: { by: label, ...data },
  metadata: { occurredAt: new Date().toISOString(), actor: label },
});

// Real writers do not hammer the lock; without a pause sqlite's busy back-off lets one process win every race.
const pause = () => new Promise((resolve) => setTimeout(resolve, Math.random() * 2));

if (mode === 'any') {
  for (let n = 0; n < count; n++) {
    await store.appendToStream(stream, [newEvent({ n })], { expectedRevision: 'any' });
    await pause();
  }
} else {
  let known = -1;
  while (known < count - 1) {
    try {
      const result = await store.appendToStream(stream, [newEvent({ expected: known })], {
        expectedRevision: known < 0 ? 'no_stream' : BigInt(known),
      });
      attempts.push({ expected: known, won: true });
      known = Number(result.nextExpectedRevision);
    } catch (error) {
      if (!isWrongExpectedRevisionError(error)) throw error;
      const actual = error.actual === 'no_stream' ? -1 : Number(error.actual);
      attempts.push({ expected: known, won: false, actual });
      known = actual;
    }
    await pause();
  }
}
await store.close();
process.stdout.write(`${JSON.stringify({ label, attempts })}\n`);
