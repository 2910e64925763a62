import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { CairnError, ErrorCategory } from '../../domain/errors.ts';
import type { Command, Decider, Event, MessageMetadata } from '../../domain/messages.ts';
import { createMemoryEventStore } from '../adapters/eventstore/memory.eventStore.ts';
import { createSqliteEventStore } from '../adapters/eventstore/sqlite.eventStore.ts';
import { type EventStore, WrongExpectedRevisionError } from '../ports/eventStore.ts';
import { createCommandHandler } from './commandHandler.ts';

type CounterEvent = Event<'CounterOpened', { name: string }> | Event<'CounterIncremented', { to: number }>;
type CounterCommand = Command<'OpenCounter', { name: string }> | Command<'Increment', Record<string, never>>;
interface CounterState {
  readonly open: boolean;
  readonly count: number;
}

const metadata: MessageMetadata = { occurredAt: '2025-01-01T00:00:00.000Z', actor: 'test' };

const counter: Decider<CounterState, CounterCommand, CounterEvent> = {
  initialState: () => ({ open: false, count: 0 }),
  evolve: (state, event) => {
    switch (event.type) {
      case 'CounterOpened':
        return { ...state, open: true };
      case 'CounterIncremented':
        return { ...state, count: event.data.to };
      default:
        return state;
    }
  },
  decide: (command, state) => {
    switch (command.type) {
      case 'OpenCounter':
        return state.open
          ? []
          : [{ type: 'CounterOpened', data: { name: command.data.name }, metadata: command.metadata }];
      case 'Increment':
        if (!state.open) throw new CairnError('counter.not_open', ErrorCategory.IllegalState, 'counter is not open');
        return [{ type: 'CounterIncremented', data: { to: state.count + 1 }, metadata: command.metadata }];
      default: {
        const unhandled: never = command;
        return unhandled;
      }
    }
  },
};

const open: CounterCommand = { type: 'OpenCounter', data: { name: 'c' }, metadata };
const increment: CounterCommand = { type: 'Increment', data: {}, metadata };

/** Lets a test slip a competing append in between the handler's read and its write. */
function interleaving(store: EventStore, interleave: (attempt: number) => Promise<void>) {
  let appends = 0;
  const wrapped: EventStore = {
    ...store,
    readStream: (s, o) => store.readStream(s, o),
    readAll: (o) => store.readAll(o),
    subscribeToAll: (o, h) => store.subscribeToAll(o, h),
    close: () => store.close(),
    appendToStream: async (s, events, o) => {
      appends += 1;
      await interleave(appends);
      return store.appendToStream(s, events, o);
    },
  };
  return { store: wrapped, appends: () => appends };
}

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

const backends: [string, () => EventStore][] = [
  ['memory', () => createMemoryEventStore()],
  [
    'sqlite file',
    () => {
      const dir = mkdtempSync(join(tmpdir(), 'cairn-cmd-'));
      dirs.push(dir);
      return createSqliteEventStore({ path: join(dir, 'events.db') });
    },
  ],
];

describe.each(backends)('createCommandHandler on %s', (_name, makeStore) => {
  it('creates the stream, then folds its history into the next decision', async () => {
    const store = makeStore();
    const handle = createCommandHandler(store, counter);
    const first = await handle('counter-1', open);
    expect(first.revision).toBe(0n);
    expect(first.state).toEqual({ open: true, count: 0 });
    await handle('counter-1', increment);
    const third = await handle('counter-1', increment);
    expect(third.state.count).toBe(2);
    expect(third.newEvents).toEqual([{ type: 'CounterIncremented', data: { to: 2 }, metadata }]);
    expect((await store.readStream('counter-1')).map((e) => e.type)).toEqual([
      'CounterOpened',
      'CounterIncremented',
      'CounterIncremented',
    ]);
    await store.close();
  });

  it('appends nothing when the decider decides nothing', async () => {
    const store = makeStore();
    const handle = createCommandHandler(store, counter);
    await handle('counter-2', open);
    const again = await handle('counter-2', open);
    expect(again.newEvents).toEqual([]);
    expect(again.position).toBeUndefined();
    expect(await store.readStream('counter-2')).toHaveLength(1);
    await store.close();
  });

  it('passes a refusal from decide through without retrying', async () => {
    const base = makeStore();
    const { store, appends } = interleaving(base, async () => {});
    const error = await createCommandHandler(store, counter)('counter-3', increment).catch((e: unknown) => e);
    expect((error as CairnError).code).toBe('counter.not_open');
    expect(appends()).toBe(0);
    await base.close();
  });

  it('decides again on fresh state after a conflict', async () => {
    const base = makeStore();
    await createCommandHandler(base, counter)('counter-4', open);
    const { store, appends } = interleaving(base, async (attempt) => {
      // Another writer increments between our first read and our first write.
      if (attempt === 1)
        await base.appendToStream('counter-4', [{ type: 'CounterIncremented', data: { to: 1 }, metadata }]);
    });
    const outcome = await createCommandHandler(store, counter)('counter-4', increment);
    expect(appends()).toBe(2);
    expect(outcome.state.count).toBe(2);
    expect((await base.readStream('counter-4')).map((e) => e.data)).toEqual([{ name: 'c' }, { to: 1 }, { to: 2 }]);
    await base.close();
  });

  it('gives up after maxAttempts conflicts and throws the conflict', async () => {
    const base = makeStore();
    await createCommandHandler(base, counter)('counter-5', open);
    const { store, appends } = interleaving(base, async (attempt) => {
      await base.appendToStream('counter-5', [{ type: 'CounterIncremented', data: { to: 100 + attempt }, metadata }]);
    });
    const error = await createCommandHandler(store, counter, { maxAttempts: 3 })('counter-5', increment).catch(
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(WrongExpectedRevisionError);
    expect(appends()).toBe(3);
    // Only the competing writer's events landed.
    expect((await base.readStream('counter-5')).map((e) => e.data)).toEqual([
      { name: 'c' },
      { to: 101 },
      { to: 102 },
      { to: 103 },
    ]);
    await base.close();
  });
});
