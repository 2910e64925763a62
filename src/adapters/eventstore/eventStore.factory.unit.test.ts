import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { EventStoreErrorCode, isAuditableEventStore } from '../../ports/eventStore.ts';
import { createEventStore, parseEventStoreUrl } from './eventStore.factory.ts';

describe('event store URLs', () => {
  it.each([
    ['memory:', { kind: 'memory', target: '' }],
    ['sqlite:./cairn-data/events.db', { kind: 'sqlite', target: './cairn-data/events.db' }],
    ['sqlite:///var/lib/cairn/events.db', { kind: 'sqlite', target: '/var/lib/cairn/events.db' }],
    ['sqlite::memory:', { kind: 'sqlite', target: ':memory:' }],
    ['esdb://localhost:2113?tls=false', { kind: 'esdb', target: 'esdb://localhost:2113?tls=false' }],
    ['kurrentdb+discover://a,b,c:2113', { kind: 'esdb', target: 'kurrentdb+discover://a,b,c:2113' }],
  ])('parses %s', (url, expected) => {
    expect(parseEventStoreUrl(url)).toEqual(expected);
  });

  it.each(['', 'sqlite:', 'postgres://x', 'events.db'])('refuses %j with a Validation error', (url) => {
    expect(() => parseEventStoreUrl(url)).toThrow(expect.objectContaining({ code: EventStoreErrorCode.BadUrl }));
  });

  it('creates a working store for memory: and sqlite:', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cairn-factory-'));
    try {
      for (const url of ['memory:', `sqlite:${join(dir, 'x', 'events.db')}`]) {
        const store = createEventStore(url);
        await store.appendToStream('issue-1', [
          { type: 'A', data: {}, metadata: { occurredAt: '2025-01-01T00:00:00Z' } },
        ]);
        expect(await store.readStream('issue-1')).toHaveLength(1);
        expect(isAuditableEventStore(store)).toBe(true);
        await store.close();
      }
      expect(() => createEventStore(`sqlite:${join(dir, 'missing.db')}`, { mustExist: true })).toThrow(
        /no event store/,
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
