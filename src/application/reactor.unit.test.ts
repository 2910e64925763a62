import { afterEach, describe, expect, it } from 'vitest';
import { createMemoryEventStore } from '../adapters/eventstore/memory.eventStore.ts';
import type { EventStore } from '../ports/eventStore.ts';
import { type Reactor, type ReactorCheckpoints, type RunningReactor, runReactor } from './reactor.ts';

/** An answer of the API server, as the Kubernetes client throws it. */
class ApiError extends Error {
  constructor(readonly code: number) {
    super(`HTTP ${code}`);
  }
}

const memoryCheckpoints = (): ReactorCheckpoints & { saved: Map<string, bigint> } => {
  const saved = new Map<string, bigint>();
  return { saved, read: (name) => saved.get(name), write: (name, position) => saved.set(name, position) };
};

const until = async (what: string, check: () => boolean | Promise<boolean>) => {
  for (let i = 0; i < 500; i++) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 2));
  }
  throw new Error(`never happened: ${what}`);
};

/** Writes "objects" the way the resource writer does; a poisoned one is refused with the same 500 every time. */
function objectWriter(poisoned: Set<string>, written: string[], tries: Map<string, number>): Reactor {
  return {
    name: 'objects',
    filter: { streamPrefixes: ['issue-'] },
    async handle(event) {
      const name = (event.data as { name: string }).name;
      tries.set(name, (tries.get(name) ?? 0) + 1);
      if (poisoned.has(name)) throw new ApiError(500);
      written.push(name);
    },
    // A 4xx can never succeed; a 500 that repeats three times for the same object will not either.
    isPermanent: (error, attempt) => {
      const code = (error as { code?: number }).code ?? 0;
      return (code >= 400 && code < 500 && code !== 409 && code !== 429) || (code >= 500 && attempt >= 3);
    },
  };
}

let store: EventStore;
let running: RunningReactor | undefined;
afterEach(async () => {
  await running?.close();
  await store.close();
});

const append = (stream: string, name: string) =>
  store.appendToStream(stream, [
    { type: 'ObjectChanged', data: { name }, metadata: { occurredAt: '2025-03-01T12:00:00.000Z' } },
  ]);

describe('runReactor', () => {
  it('passes over a poisoned object after its repeated 500s and writes every later one', async () => {
    store = createMemoryEventStore();
    const checkpoints = memoryCheckpoints();
    const written: string[] = [];
    const tries = new Map<string, number>();
    const reports: { name: string; willRetry: boolean }[] = [];
    for (const name of ['a', 'poisoned', 'b']) await append(`issue-${name}`, name);
    running = runReactor(store, checkpoints, objectWriter(new Set(['poisoned']), written, tries), {
      sleep: async () => {},
      onError: (_error, event, willRetry) => reports.push({ name: (event.data as { name: string }).name, willRetry }),
    });
    await append('issue-c', 'c');
    await until('c to be written', () => written.includes('c'));

    expect(written).toEqual(['a', 'b', 'c']);
    expect(tries.get('poisoned')).toBe(3);
    expect(reports).toEqual([
      { name: 'poisoned', willRetry: true },
      { name: 'poisoned', willRetry: true },
      { name: 'poisoned', willRetry: false },
    ]);
    const progress = await running.progress();
    expect(progress).toMatchObject({
      name: 'objects',
      live: true,
      behind: 0,
      behindAtLeast: false,
      lagSeconds: 0,
      skipped: 1,
      lastError: { type: 'ObjectChanged', message: 'HTTP 500', skipped: true },
    });
    expect(progress.retrying).toBeUndefined();
    const [last] = await store.readAll({ fromPosition: 0n }).then((all) => all.slice(-1));
    expect(checkpoints.saved.get('objects')).toBe(last?.position);
  });

  it('passes over a refused object (422) at once, and holds on a transient error until it clears', async () => {
    store = createMemoryEventStore({ now: () => new Date('2025-03-01T12:00:00Z') });
    const written: string[] = [];
    let unavailable = true;
    const reactor: Reactor = {
      ...objectWriter(new Set(), written, new Map()),
      async handle(event) {
        const name = (event.data as { name: string }).name;
        if (name === 'invalid') throw new ApiError(422);
        if (name === 'held' && unavailable) throw new ApiError(503);
        written.push(name);
      },
      isPermanent: (error) => (error as ApiError).code === 422,
    };
    let release: (() => void) | undefined;
    const sleep = () =>
      new Promise<void>((resolve) => {
        release = resolve;
      });
    for (const name of ['invalid', 'held', 'after']) await append(`issue-${name}`, name);
    running = runReactor(store, memoryCheckpoints(), reactor, { sleep, now: () => new Date('2025-03-01T12:01:00Z') });

    await until('the held object to be retried', () => release !== undefined);
    // Held: "caught up" would be a lie, and /readyz says why.
    const held = await running.progress();
    expect(held).toMatchObject({
      behind: 2,
      behindAtLeast: false,
      lagSeconds: 60,
      skipped: 1,
      retrying: { type: 'ObjectChanged', attempts: 1, error: 'HTTP 503' },
      lastError: { message: 'HTTP 503', skipped: false },
    });
    expect(written).toEqual([]);

    unavailable = false;
    release?.();
    await until('the later object to be written', () => written.includes('after'));
    expect(written).toEqual(['held', 'after']);
    expect(await running.progress()).toMatchObject({ behind: 0, skipped: 1 });
  });

  it('closing while held on a failing event ends the pause at once and leaves the event to the next run', async () => {
    store = createMemoryEventStore();
    const checkpoints = memoryCheckpoints();
    let tries = 0;
    const reactor: Reactor = {
      name: 'objects',
      filter: {},
      async handle() {
        tries++;
        throw new ApiError(503);
      },
    };
    await append('issue-1', 'held');
    running = runReactor(store, checkpoints, reactor, { sleep: () => new Promise(() => {}) });
    await until('a first try', () => tries === 1);
    await running.close();
    expect(checkpoints.saved.has('objects')).toBe(false);
    expect(tries).toBe(1);
  });

  it('counts only its own events behind its checkpoint, and remembers the others it has looked past', async () => {
    store = createMemoryEventStore();
    const checkpoints = memoryCheckpoints();
    const written: string[] = [];
    await append('issue-1', 'one');
    running = runReactor(store, checkpoints, objectWriter(new Set(), written, new Map()), { sleep: async () => {} });
    await until('the first object', () => written.length === 1);
    for (let i = 0; i < 1_200; i++) await append(`approval-${i}`, `other-${i}`);
    expect(await running.progress()).toMatchObject({ behind: 0, behindAtLeast: false });
    // A reactor that is not running (closed, or on a replica that does not lead) falls behind, and says so.
    await running.close();
    for (let i = 2; i < 5; i++) await append(`issue-${i}`, `n${i}`);
    expect(await running.progress()).toMatchObject({ behind: 3, behindAtLeast: false });
  });
});
