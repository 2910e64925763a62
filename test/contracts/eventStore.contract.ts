import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CairnError, ErrorCategory } from '../../domain/errors.ts';
import type { RecordedEvent } from '../../domain/messages.ts';
import {
  type EventStore,
  EventStoreErrorCode,
  type EventValidator,
  type NewEvent,
  WrongExpectedRevisionError,
} from '../../src/ports/eventStore.ts';

/**
 * The one contract every EventStore adapter passes. A harness owns one storage (a log, a file, a server); every store
 * it opens sees that same storage, which is how read-side validation and cross-process races are tested.
 */
export interface EventStoreHarness {
  open(options?: { validate?: EventValidator }): EventStore;
  /** A URL another process can open to reach the same storage; absent when the storage is private to this process. */
  readonly url?: string;
  dispose(): Promise<void>;
}

export type EventStoreHarnessFactory = () => Promise<EventStoreHarness> | EventStoreHarness;

const repoRoot = fileURLToPath(new URL('../../', import.meta.url));
const appenderScript = fileURLToPath(new URL('./concurrentAppender.script.ts', import.meta.url));

const event = (type: string, data: unknown, extra: Partial<NewEvent> = {}): NewEvent => ({
  type,
  data,
  metadata: { occurredAt: '2025-01-01T00:00:00.000Z', actor: 'contract' },
  ...extra,
});

/** Refuses any event whose data carries `bad: true`. */
const validate: EventValidator = (type, data) => {
  if (data !== null && typeof data === 'object' && (data as { bad?: unknown }).bad === true) {
    throw new Error(`${type}: bad is not allowed`);
  }
};

async function waitFor(condition: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

async function expectRejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error('expected a rejection');
}

export interface ContractOptions {
  /**
   * Whether another process can open the same storage (sqlite, a server). A memory store cannot, so the two-process
   * tests are not part of its contract at all, rather than skipped.
   */
  readonly sharedAcrossProcesses?: boolean;
}

export function eventStoreContract(
  name: string,
  createHarness: EventStoreHarnessFactory,
  options: ContractOptions = {},
): void {
  describe(`EventStore contract: ${name}`, () => {
    let harness: EventStoreHarness;
    let store: EventStore;
    // Unique names keep tests apart on backends that outlive a test (a shared EventStoreDB server).
    let ns: string;
    const stream = (suffix: string) => `${ns}${suffix}`;
    const ours = (events: RecordedEvent[]) => events.filter((e) => e.streamId.startsWith(ns));

    beforeEach(async () => {
      harness = await createHarness();
      store = harness.open();
      ns = `ct${randomUUID().replaceAll('-', '').slice(0, 10)}`;
    });
    afterEach(async () => {
      await store.close();
      await harness.dispose();
    });

    describe('append and read', () => {
      it('returns a stream in append order with revisions from 0 and the fields it was given', async () => {
        const s = stream('order-1');
        const first = await store.appendToStream(s, [event('A', { n: 1 }), event('B', { n: 2 }, { schemaVersion: 2 })]);
        const second = await store.appendToStream(s, [
          event('C', { n: 3, nested: { list: [1, 'two'] } }, { id: randomUUID() }),
        ]);
        expect(first.nextExpectedRevision).toBe(1n);
        expect(second.nextExpectedRevision).toBe(2n);

        const events = await store.readStream(s);
        expect(events.map((e) => [e.type, e.revision, e.data])).toEqual([
          ['A', 0n, { n: 1 }],
          ['B', 1n, { n: 2 }],
          ['C', 2n, { n: 3, nested: { list: [1, 'two'] } }],
        ]);
        expect(events.map((e) => e.schemaVersion)).toEqual([1, 2, 1]);
        expect(events.every((e) => e.streamId === s)).toBe(true);
        expect(events[0]?.metadata).toMatchObject({ occurredAt: '2025-01-01T00:00:00.000Z', actor: 'contract' });
        expect(new Set(events.map((e) => e.id)).size).toBe(3);
        expect(events[2]?.position).toBe(second.position);
        expect(Number.isNaN(Date.parse(events[0]!.recordedAt))).toBe(false);
      });

      it('keeps an id given by the caller', async () => {
        const id = randomUUID();
        await store.appendToStream(stream('id-1'), [event('A', {}, { id })]);
        expect((await store.readStream(stream('id-1')))[0]?.id).toBe(id);
      });

      it('reads a window of a stream with fromRevision and maxCount', async () => {
        const s = stream('window-1');
        await store.appendToStream(
          s,
          Array.from({ length: 10 }, (_, n) => event('N', { n })),
        );
        const window = await store.readStream(s, { fromRevision: 3n, maxCount: 4 });
        expect(window.map((e) => e.revision)).toEqual([3n, 4n, 5n, 6n]);
        expect((await store.readStream(s, { fromRevision: 8n })).map((e) => e.revision)).toEqual([8n, 9n]);
      });

      it('reads an absent stream as empty', async () => {
        expect(await store.readStream(stream('nothing-here'))).toEqual([]);
      });
    });

    describe('expected revision', () => {
      const expectConflict = async (
        promise: Promise<unknown>,
        s: string,
        expected: unknown,
        actual: bigint | 'no_stream',
      ) => {
        const error = await expectRejection(promise);
        expect(error).toBeInstanceOf(WrongExpectedRevisionError);
        expect(error).toBeInstanceOf(CairnError);
        const conflict = error as WrongExpectedRevisionError;
        expect(conflict.code).toBe(EventStoreErrorCode.WrongExpectedRevision);
        expect(conflict.category).toBe(ErrorCategory.Conflict);
        expect(conflict.stream).toBe(s);
        expect(conflict.expected).toBe(expected);
        expect(conflict.actual).toBe(actual);
      };

      it("'no_stream' succeeds only on a stream that does not exist", async () => {
        const s = stream('ns-1');
        await store.appendToStream(s, [event('A', {})], { expectedRevision: 'no_stream' });
        await expectConflict(
          store.appendToStream(s, [event('B', {})], { expectedRevision: 'no_stream' }),
          s,
          'no_stream',
          0n,
        );
        expect(await store.readStream(s)).toHaveLength(1);
      });

      it("'stream_exists' succeeds only on a stream that exists", async () => {
        const s = stream('se-1');
        await expectConflict(
          store.appendToStream(s, [event('A', {})], { expectedRevision: 'stream_exists' }),
          s,
          'stream_exists',
          'no_stream',
        );
        expect(await store.readStream(s)).toEqual([]);
        await store.appendToStream(s, [event('A', {})]);
        const result = await store.appendToStream(s, [event('B', {})], { expectedRevision: 'stream_exists' });
        expect(result.nextExpectedRevision).toBe(1n);
      });

      it('an exact revision succeeds when it is the last revision and conflicts, writing nothing, when stale', async () => {
        const s = stream('exact-1');
        const first = await store.appendToStream(s, [event('A', {}), event('B', {})], {
          expectedRevision: 'no_stream',
        });
        const second = await store.appendToStream(s, [event('C', {})], {
          expectedRevision: first.nextExpectedRevision,
        });
        expect(second.nextExpectedRevision).toBe(2n);
        await expectConflict(store.appendToStream(s, [event('D', {})], { expectedRevision: 1n }), s, 1n, 2n);
        await expectConflict(store.appendToStream(s, [event('D', {})], { expectedRevision: 7n }), s, 7n, 2n);
        await expectConflict(
          store.appendToStream(stream('exact-absent'), [event('D', {})], { expectedRevision: 0n }),
          stream('exact-absent'),
          0n,
          'no_stream',
        );
        expect((await store.readStream(s)).map((e) => e.type)).toEqual(['A', 'B', 'C']);
      });

      it("'any' (the default) always appends", async () => {
        const s = stream('any-1');
        await store.appendToStream(s, [event('A', {})], { expectedRevision: 'any' });
        await store.appendToStream(s, [event('B', {})]);
        expect((await store.readStream(s)).map((e) => e.revision)).toEqual([0n, 1n]);
      });

      it('lets exactly one of many concurrent in-process writers win a revision', async () => {
        const s = stream('race-local');
        await store.appendToStream(s, [event('Start', {})]);
        const other = harness.open();
        try {
          const attempts = Array.from({ length: 8 }, (_, n) =>
            (n % 2 === 0 ? store : other).appendToStream(s, [event('Try', { n })], { expectedRevision: 0n }),
          );
          const settled = await Promise.allSettled(attempts);
          expect(settled.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
          for (const r of settled) {
            if (r.status === 'rejected') expect(r.reason).toBeInstanceOf(WrongExpectedRevisionError);
          }
          expect((await store.readStream(s)).map((e) => e.revision)).toEqual([0n, 1n]);
        } finally {
          await other.close();
        }
      });
    });

    if (options.sharedAcrossProcesses ?? true)
      describe('two writer processes on one store', () => {
        const sharedUrl = () => {
          if (harness.url === undefined) throw new Error(`the ${name} harness gives no URL another process can open`);
          return harness.url;
        };
        const runWriters = async (url: string, s: string, count: number, mode: 'race' | 'any') => {
          const children = ['p1', 'p2'].map((label) =>
            spawn(process.execPath, ['--import', 'tsx', appenderScript, url, s, String(count), label, mode], {
              cwd: repoRoot,
              stdio: ['pipe', 'pipe', 'pipe'],
            }),
          );
          const outputs = children.map(collect);
          // Both must be ready before either goes, or the first would finish before the second has started.
          await Promise.all(children.map((child) => waitForLine(child, 'ready')));
          const startAt = Date.now() + 300;
          for (const child of children) child.stdin.write(`go ${startAt}\n`);
          const results = await Promise.all(outputs);
          return results.map((text) => JSON.parse(text.trim().split('\n').at(-1)!) as WriterResult);
        };

        it('lets exactly one writer win each race for a revision and leaves no gap', {
          timeout: 120_000,
        }, async () => {
          const s = stream('race-procs');
          const total = 200;
          const results = await runWriters(sharedUrl(), s, total, 'race');
          const attempts = results.flatMap((r) => r.attempts.map((a) => ({ ...a, label: r.label })));
          const wins = attempts.filter((a) => a.won);

          // One winner per expected revision, and every revision from "no stream" to total-2 was won exactly once.
          expect(wins.map((w) => w.expected).sort((x, y) => x - y)).toEqual(
            Array.from({ length: total }, (_, n) => n - 1),
          );
          for (const loss of attempts.filter((a) => !a.won)) expect(loss.actual!).toBeGreaterThan(loss.expected);
          const contested = new Set(
            results[0]!.attempts
              .map((a) => a.expected)
              .filter((e) => results[1]!.attempts.some((b) => b.expected === e)),
          );
          expect(contested.has(-1)).toBe(true);

          const events = await store.readStream(s);
          expect(events.map((e) => e.revision)).toEqual(Array.from({ length: total }, (_, n) => BigInt(n)));
          // Every event was written by the winner of its race, with the expectation that race was about.
          for (const e of events) {
            const data = e.data as { by: string; expected: number };
            expect(data.expected).toBe(Number(e.revision) - 1);
            expect(wins.find((w) => w.expected === data.expected)?.label).toBe(data.by);
          }
        });

        it("interleaves two processes appending with 'any' without losing or duplicating a revision", {
          timeout: 120_000,
        }, async () => {
          const s = stream('any-procs');
          const count = 150;
          await runWriters(sharedUrl(), s, count, 'any');
          const events = await store.readStream(s);
          expect(events.map((e) => e.revision)).toEqual(Array.from({ length: 2 * count }, (_, n) => BigInt(n)));
          const positions = events.map((e) => e.position);
          expect(positions).toEqual([...positions].sort((x, y) => (x < y ? -1 : 1)));
          expect(new Set(positions).size).toBe(2 * count);
          for (const label of ['p1', 'p2']) {
            const slots = events
              .filter((e) => (e.data as { by: string }).by === label)
              .map((e) => (e.data as { n: number }).n);
            expect(slots).toEqual(Array.from({ length: count }, (_, n) => n));
          }
        });
      });

    describe('readAll', () => {
      it('returns events of all streams in global append order with strictly increasing positions', async () => {
        const plan: [string, string][] = [
          ['a', 'A1'],
          ['b', 'B1'],
          ['a', 'A2'],
          ['c', 'C1'],
          ['b', 'B2'],
          ['a', 'A3'],
        ];
        let firstPosition: bigint | undefined;
        for (const [s, type] of plan) {
          const result = await store.appendToStream(stream(s), [event(type, {})]);
          firstPosition ??= result.position;
        }
        await store.appendToStream(stream('d'), [event('D1', {}), event('D2', {})]);
        const all = ours(await store.readAll({ fromPosition: firstPosition! }));
        expect(all.map((e) => e.type)).toEqual(['A1', 'B1', 'A2', 'C1', 'B2', 'A3', 'D1', 'D2']);
        for (let i = 1; i < all.length; i++) expect(all[i]!.position > all[i - 1]!.position).toBe(true);
        expect(all[0]?.position).toBe(firstPosition);

        const page = ours(await store.readAll({ fromPosition: all[2]!.position, maxCount: 3 }));
        expect(page.map((e) => e.type)).toEqual(['A2', 'C1', 'B2']);
      });
    });

    describe('subscribeToAll', () => {
      it('delivers history then live events with no gap and no duplicate while appends continue', {
        timeout: 60_000,
      }, async () => {
        const streams = ['x-1', 'x-2', 'x-3'].map(stream);
        for (let n = 0; n < 40; n++) await store.appendToStream(streams[n % 3]!, [event('Before', { n })]);

        const received: RecordedEvent[] = [];
        let liveAt = -1;
        let appended = 40;
        const writer = harness.open();
        const subscription = store.subscribeToAll(
          {
            filter: { streamPrefixes: [ns] },
            onLive: () => {
              liveAt = received.length;
            },
          },
          async (e) => {
            received.push(e);
            // A slow handler now and then, so appends land while history is still being delivered.
            if (received.length % 7 === 0) await new Promise((resolve) => setTimeout(resolve, 2));
          },
        );
        try {
          // A second writer keeps appending (single events and batches) during catch-up and after going live.
          for (let n = 0; n < 60; n++) {
            const batch =
              n % 5 === 0 ? [event('During', { n }), event('During', { n, second: true })] : [event('During', { n })];
            await writer.appendToStream(streams[n % 3]!, batch);
            appended += batch.length;
            if (n % 4 === 0) await new Promise((resolve) => setTimeout(resolve, 1));
          }
          await waitFor(() => received.length >= appended, `${appended} events`);
          await waitFor(() => liveAt >= 0, 'the subscription to turn live');
          await new Promise((resolve) => setTimeout(resolve, 50));

          const log = ours(await store.readAll());
          expect(received.map((e) => e.id)).toEqual(log.map((e) => e.id));
          expect(received).toHaveLength(appended);
          expect(new Set(received.map((e) => e.id)).size).toBe(appended);
          for (let i = 1; i < received.length; i++)
            expect(received[i]!.position > received[i - 1]!.position).toBe(true);

          // And it stays live: one more append arrives on its own.
          await writer.appendToStream(streams[0]!, [event('After', {})]);
          await waitFor(() => received.at(-1)?.type === 'After', 'the live event');
        } finally {
          await subscription.close();
          await writer.close();
        }
        await subscription.done;
      });

      it('resumes after a checkpoint with exactly the events that follow it', { timeout: 30_000 }, async () => {
        const s = stream('resume-1');
        await store.appendToStream(
          s,
          Array.from({ length: 5 }, (_, n) => event('E', { n })),
        );
        const first: RecordedEvent[] = [];
        const sub1 = store.subscribeToAll({ filter: { streamPrefixes: [ns] } }, (e) => {
          first.push(e);
        });
        await waitFor(() => first.length === 5, 'the first five events');
        await sub1.close();
        const checkpoint = first[2]!.position;

        await store.appendToStream(
          s,
          Array.from({ length: 3 }, (_, n) => event('E', { n: n + 5 })),
        );
        const second: RecordedEvent[] = [];
        const sub2 = store.subscribeToAll({ fromPosition: checkpoint, filter: { streamPrefixes: [ns] } }, (e) => {
          second.push(e);
        });
        await waitFor(() => second.length === 5, 'the events after the checkpoint');
        await new Promise((resolve) => setTimeout(resolve, 50));
        await sub2.close();
        expect(second.map((e) => (e.data as { n: number }).n)).toEqual([3, 4, 5, 6, 7]);
      });

      it('filters by stream prefix and by event type', { timeout: 30_000 }, async () => {
        await store.appendToStream(stream('issue-1'), [event('IssueDetected', {}), event('IssueResolved', {})]);
        await store.appendToStream(stream('remediation-1'), [event('ActionExecuted', {}), event('IssueDetected', {})]);
        await store.appendToStream(stream('issue-2'), [event('IssueDetected', {})]);

        const byPrefix: string[] = [];
        const byType: string[] = [];
        const byBoth: string[] = [];
        const subs = [
          store.subscribeToAll({ filter: { streamPrefixes: [stream('issue-')] } }, (e) => {
            byPrefix.push(`${e.streamId.slice(ns.length)}:${e.type}`);
          }),
          store.subscribeToAll({ filter: { streamPrefixes: [ns], eventTypes: ['IssueDetected'] } }, (e) => {
            byType.push(e.streamId.slice(ns.length));
          }),
          store.subscribeToAll(
            { filter: { streamPrefixes: [stream('issue-')], eventTypes: ['IssueResolved'] } },
            (e) => {
              byBoth.push(e.streamId.slice(ns.length));
            },
          ),
        ];
        await waitFor(() => byPrefix.length === 3 && byType.length === 3 && byBoth.length === 1, 'filtered events');
        await new Promise((resolve) => setTimeout(resolve, 50));
        await Promise.all(subs.map((sub) => sub.close()));
        expect(byPrefix).toEqual(['issue-1:IssueDetected', 'issue-1:IssueResolved', 'issue-2:IssueDetected']);
        expect(byType).toEqual(['issue-1', 'remediation-1', 'issue-2']);
        expect(byBoth).toEqual(['issue-1']);
      });

      it('ends with a rejected done when the handler throws', { timeout: 30_000 }, async () => {
        await store.appendToStream(stream('boom-1'), [event('A', {}), event('B', {})]);
        const seen: string[] = [];
        const sub = store.subscribeToAll({ filter: { streamPrefixes: [ns] } }, (e) => {
          seen.push(e.type);
          if (e.type === 'A') throw new Error('handler failed');
        });
        const error = await expectRejection(sub.done);
        expect(error).toBeInstanceOf(CairnError);
        expect((error as CairnError).code).toBe(EventStoreErrorCode.SubscriptionFailed);
        expect(((error as CairnError).cause as Error).message).toBe('handler failed');
        expect(seen).toEqual(['A']);
        await sub.close();
      });
    });

    describe('validation', () => {
      it('refuses a batch with one malformed event and writes none of it', async () => {
        const strict = harness.open({ validate });
        try {
          const s = stream('valid-1');
          await strict.appendToStream(s, [event('Ok', { n: 0 })]);
          const error = await expectRejection(
            strict.appendToStream(s, [event('Ok', { n: 1 }), event('Bad', { bad: true }), event('Ok', { n: 2 })]),
          );
          expect(error).toBeInstanceOf(CairnError);
          expect((error as CairnError).code).toBe(EventStoreErrorCode.InvalidEvent);
          expect((error as CairnError).category).toBe(ErrorCategory.Validation);
          expect((error as CairnError).details).toMatchObject({ stream: s, index: 1, type: 'Bad' });
          expect((await strict.readStream(s)).map((e) => e.data)).toEqual([{ n: 0 }]);
          expect(ours(await strict.readAll()).map((e) => e.data)).toEqual([{ n: 0 }]);
          // The revision was not consumed either.
          const next = await strict.appendToStream(s, [event('Ok', { n: 1 })], { expectedRevision: 0n });
          expect(next.nextExpectedRevision).toBe(1n);
        } finally {
          await strict.close();
        }
      });

      it('refuses an event without metadata.occurredAt', async () => {
        const bad = { type: 'NoTime', data: {}, metadata: {} } as unknown as NewEvent;
        const error = await expectRejection(store.appendToStream(stream('valid-2'), [bad]));
        expect((error as CairnError).code).toBe(EventStoreErrorCode.InvalidEvent);
        expect(await store.readStream(stream('valid-2'))).toEqual([]);
      });

      it('does not read a stored event that fails validation silently', { timeout: 30_000 }, async () => {
        // Written by a store that did not validate (an older schema, a hand edit), read by one that does.
        const s = stream('valid-3');
        await store.appendToStream(s, [event('Ok', {}), event('Bad', { bad: true })]);
        const strict = harness.open({ validate });
        try {
          for (const read of [() => strict.readStream(s), async () => ours(await strict.readAll())]) {
            const error = await expectRejection(read());
            expect(error).toBeInstanceOf(CairnError);
            expect((error as CairnError).code).toBe(EventStoreErrorCode.CorruptEvent);
            expect((error as CairnError).details).toMatchObject({ stream: s, revision: '1' });
          }
          const seen: string[] = [];
          const sub = strict.subscribeToAll({ filter: { streamPrefixes: [ns] } }, (e) => {
            seen.push(e.type);
          });
          const error = await expectRejection(sub.done);
          expect(((error as CairnError).cause as CairnError).code).toBe(EventStoreErrorCode.CorruptEvent);
          expect(seen).toEqual(['Ok']);
        } finally {
          await strict.close();
        }
      });
    });

    describe('errors', () => {
      it('refuses calls after close with a CairnError', async () => {
        const other = harness.open();
        await other.close();
        const error = await expectRejection(other.readStream(stream('closed')));
        expect(error).toBeInstanceOf(CairnError);
        expect((error as CairnError).code).toBe(EventStoreErrorCode.Closed);
      });
    });
  });
}

interface WriterResult {
  label: string;
  attempts: { expected: number; won: boolean; actual?: number }[];
}

function collect(child: ChildProcessWithoutNullStreams): Promise<string> {
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => {
    stdout += chunk.toString();
  });
  child.stderr.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => {
      if (code === 0) resolve(stdout);
      else reject(new Error(`writer process exited with ${code}: ${stderr}`));
    });
  });
}

function waitForLine(child: ChildProcessWithoutNullStreams, line: string): Promise<void> {
  return new Promise((resolve, reject) => {
    let seen = '';
    const onData = (chunk: Buffer) => {
      seen += chunk.toString();
      if (seen.split('\n').includes(line)) {
        child.stdout.off('data', onData);
        resolve();
      }
    };
    child.stdout.on('data', onData);
    child.once('close', (code) => reject(new Error(`writer exited with ${code} before saying ${line}`)));
  });
}
