import { type KurrentDBClient, WrongExpectedVersionError } from '@kurrent/kurrentdb-client';
import { describe, expect, it } from 'vitest';
import { CairnError, ErrorCategory } from '../../../domain/errors.ts';
import { EventStoreErrorCode, WrongExpectedRevisionError } from '../../ports/eventStore.ts';
import { createEsdbEventStore } from './esdb.eventStore.ts';

// These need no server: they check that the client's errors are translated and never escape the adapter.
// The contract suite against a real server runs in eventStore.esdb.unit.test.ts when CAIRN_ESDB_URL is set.

const event = { type: 'IssueDetected', data: { title: 't' }, metadata: { occurredAt: '2025-01-01T00:00:00Z' } };

function storeWithFailingAppend(error: unknown) {
  const client = {
    appendToStream: async () => {
      throw error;
    },
    dispose: async () => {},
  } as unknown as KurrentDBClient;
  return createEsdbEventStore({ connectionString: 'kurrentdb://unused:2113', client });
}

describe('esdb adapter error translation', () => {
  it("turns the client's WrongExpectedVersionError into our WrongExpectedRevisionError", async () => {
    const store = storeWithFailingAppend(
      new WrongExpectedVersionError(undefined, { streamName: 'issue-1', expected: 3n, current: 5n }),
    );
    const error = await store.appendToStream('issue-1', [event], { expectedRevision: 3n }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(WrongExpectedRevisionError);
    expect(error).toMatchObject({ stream: 'issue-1', expected: 3n, actual: 5n, category: ErrorCategory.Conflict });
    expect((error as Error).cause).toBeInstanceOf(WrongExpectedVersionError);
    await store.close();
  });

  it("reports a missing stream as actual 'no_stream'", async () => {
    const store = storeWithFailingAppend(
      new WrongExpectedVersionError(undefined, {
        streamName: 'issue-2',
        expected: 'stream_exists',
        current: 'no_stream',
      }),
    );
    const error = await store
      .appendToStream('issue-2', [event], { expectedRevision: 'stream_exists' })
      .catch((e: unknown) => e);
    expect(error).toMatchObject({ expected: 'stream_exists', actual: 'no_stream' });
    await store.close();
  });

  it('turns an unreachable server into a Transient CairnError on every operation', { timeout: 30_000 }, async () => {
    // Port 1 on loopback refuses connections at once.
    const store = createEsdbEventStore({ connectionString: 'esdb://127.0.0.1:1?tls=false' });
    // Each failure is caught as soon as the call is made: one that rejects while an earlier one is still awaited
    // must not count as unhandled.
    const attempts = [
      store.appendToStream('issue-1', [event], { expectedRevision: 'no_stream' }),
      store.readStream('issue-1'),
      store.readAll({ maxCount: 1 }),
    ].map((attempt) => attempt.catch((e: unknown) => e));
    for (const attempt of attempts) {
      const error = await attempt;
      expect(error).toBeInstanceOf(CairnError);
      expect(error).toMatchObject({ code: EventStoreErrorCode.Unavailable, category: ErrorCategory.Transient });
    }
    const subscription = store.subscribeToAll({}, () => {});
    const failure = await subscription.done.catch((e: unknown) => e);
    expect(failure).toMatchObject({ code: EventStoreErrorCode.SubscriptionFailed });
    expect((failure as CairnError).cause).toMatchObject({ code: EventStoreErrorCode.Unavailable });
    await store.close();
  });

  it('validates before sending anything', async () => {
    const store = createEsdbEventStore({
      connectionString: 'kurrentdb://unused:2113',
      client: {} as KurrentDBClient,
      validate: () => {
        throw new Error('nope');
      },
    });
    const error = await store.appendToStream('issue-1', [event]).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: EventStoreErrorCode.InvalidEvent });
  });
});
