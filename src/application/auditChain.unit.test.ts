import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { createMemoryEventStore } from '../adapters/eventstore/memory.eventStore.ts';
import { createSqliteEventStore } from '../adapters/eventstore/sqlite.eventStore.ts';
import type { AuditableEventStore, AuditLogEntry, NewEvent } from '../ports/eventStore.ts';
import {
  type AuditRecord,
  auditContentHash,
  auditLinkHash,
  auditLogEntries,
  auditRecordFilter,
  canonicalJson,
  formatAuditExport,
  GENESIS_HASH,
  toAuditRecord,
  verifyAuditChain,
} from './auditChain.ts';

const isAudited = (type: string) => type.startsWith('Issue') || type.startsWith('Action');

const ev = (type: string, data: Record<string, unknown>, occurredAt = '2025-01-01T00:00:00.000Z'): NewEvent => ({
  type,
  data,
  metadata: { occurredAt, actor: 'operator' },
});

async function seed(store: AuditableEventStore) {
  await store.appendToStream('issue-1', [ev('IssueDetected', { title: 'crashloop' })]);
  await store.appendToStream('anomaly-9', [ev('AnomalyScored', { score: 0.9 })]); // not audited
  await store.appendToStream('remediation-a', [
    ev('ActionProposed', { issueId: '1', action: 'restart' }),
    ev('ActionExecuted', { issueId: '1', action: 'restart' }, '2025-01-02T00:00:00.000Z'),
  ]);
  await store.appendToStream('issue-2', [ev('IssueDetected', { title: 'latency' }, '2025-01-03T00:00:00.000Z')]);
  await store.appendToStream('issue-1', [
    ev('IssueResolved', { note: 'a "quoted", multi\nline note' }, '2025-01-04T00:00:00.000Z'),
  ]);
}

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

function sqliteFixture() {
  const dir = mkdtempSync(join(tmpdir(), 'cairn-audit-'));
  const path = join(dir, 'events.db');
  const store = createSqliteEventStore({ path, isAudited });
  // A second, independent connection: the tamperer, editing the file behind the store's back.
  const raw = new Database(path);
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  cleanups.push(async () => {
    raw.close();
    await store.close();
  });
  return { store, raw, path };
}

const positionOf = async (store: AuditableEventStore, type: string) =>
  (await store.readAll()).find((e) => e.type === type)!;

describe('audit chain on the sqlite store', () => {
  it('verifies an untouched log and links each audited event to the previous one', async () => {
    const { store, raw } = sqliteFixture();
    await seed(store);
    const result = await verifyAuditChain(store, { isAudited });
    expect(result).toMatchObject({ ok: true, links: 5 });

    const links = raw.prepare('SELECT seq, position, prev_hash, hash FROM audit_chain ORDER BY seq').all() as {
      seq: number;
      position: number;
      prev_hash: string;
      hash: string;
    }[];
    expect(links.map((l) => l.seq)).toEqual([1, 2, 3, 4, 5]);
    expect(links[0]!.prev_hash).toBe(GENESIS_HASH);
    for (let i = 1; i < links.length; i++) expect(links[i]!.prev_hash).toBe(links[i - 1]!.hash);
    if (result.ok) expect(result.headHash).toBe(links.at(-1)!.hash);
    // The unaudited event has no link.
    const anomaly = await positionOf(store, 'AnomalyScored');
    expect(links.some((l) => BigInt(l.position) === anomaly.position)).toBe(false);
  });

  it('reports exactly the event whose stored data was edited', async () => {
    const { store, raw } = sqliteFixture();
    await seed(store);
    const target = await positionOf(store, 'ActionExecuted');
    const before = raw.prepare('SELECT content_hash FROM audit_chain WHERE position = ?').get(target.position) as {
      content_hash: string;
    };

    raw
      .prepare(`UPDATE events SET data = json_set(data, '$.action', 'delete-namespace') WHERE position = ?`)
      .run(target.position);

    const result = await verifyAuditChain(store, { isAudited });
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.links).toBe(2);
    expect(result.broken).toMatchObject({
      reason: 'content_changed',
      position: target.position,
      stream: 'remediation-a',
      eventId: target.id,
      expectedHash: before.content_hash,
    });
    expect(result.broken.actualHash).not.toBe(before.content_hash);
    expect(result.broken.actualHash).toMatch(/^[0-9a-f]{64}$/);
  });

  it('ignores a change of layout that keeps the meaning (the hash covers canonical JSON)', async () => {
    const { store, raw } = sqliteFixture();
    await seed(store);
    const target = await positionOf(store, 'IssueResolved');
    const row = raw.prepare('SELECT data FROM events WHERE position = ?').get(target.position) as { data: string };
    raw
      .prepare('UPDATE events SET data = ? WHERE position = ?')
      .run(JSON.stringify(JSON.parse(row.data), null, 2), target.position);
    expect((await verifyAuditChain(store, { isAudited })).ok).toBe(true);
  });

  it('reports a rewritten event whose link was rewritten to match', async () => {
    const { store, raw } = sqliteFixture();
    await seed(store);
    const target = await positionOf(store, 'ActionProposed');
    raw
      .prepare(`UPDATE events SET data = '{"action":"nothing","issueId":"1"}' WHERE position = ?`)
      .run(target.position);
    const [entry] = await store.readAuditLog({ afterPosition: target.position - 1n, maxCount: 1 });
    raw
      .prepare('UPDATE audit_chain SET content_hash = ? WHERE position = ?')
      .run(auditContentHash(entry!.event!), target.position);
    const result = await verifyAuditChain(store, { isAudited });
    expect(result).toMatchObject({
      ok: false,
      broken: { reason: 'link_changed', position: target.position, eventId: target.id },
    });
  });

  it('reports a deleted event, a deleted link and an event inserted behind the store', async () => {
    const { store, raw } = sqliteFixture();
    await seed(store);
    const proposed = await positionOf(store, 'ActionProposed');
    const executed = await positionOf(store, 'ActionExecuted');

    raw.prepare('DELETE FROM events WHERE position = ?').run(executed.position);
    expect(await verifyAuditChain(store, { isAudited })).toMatchObject({
      ok: false,
      broken: { reason: 'event_missing', position: executed.position, eventId: executed.id, actualHash: null },
    });

    raw.prepare('DELETE FROM audit_chain WHERE position = ?').run(proposed.position);
    expect(await verifyAuditChain(store, { isAudited })).toMatchObject({
      ok: false,
      broken: { reason: 'link_missing', position: proposed.position, eventId: proposed.id },
    });
    // Without the predicate an unlinked event is not looked at; the next problem found is the deleted event.
    expect(await verifyAuditChain(store)).toMatchObject({ ok: false, broken: { reason: 'event_missing' } });

    const { store: clean, raw: raw2 } = sqliteFixture();
    await seed(clean);
    raw2
      .prepare(
        `INSERT INTO events (id, stream, revision, type, schema_version, data, metadata, recorded_at)
         VALUES ('forged', 'issue-1', 99, 'ActionExecuted', 1, '{}', '{"occurredAt":"2025-01-01T00:00:00.000Z"}', '2025-01-01')`,
      )
      .run();
    expect(await verifyAuditChain(clean, { isAudited })).toMatchObject({
      ok: false,
      broken: { reason: 'link_missing', eventId: 'forged', actualHash: null },
    });
  });

  it('reports a link removed from the middle as a broken chain at the next link', async () => {
    const { store, raw } = sqliteFixture();
    await seed(store);
    const proposed = await positionOf(store, 'ActionProposed');
    const executed = await positionOf(store, 'ActionExecuted');
    const removed = raw.prepare('SELECT hash FROM audit_chain WHERE position = ?').get(proposed.position) as {
      hash: string;
    };
    raw.prepare('DELETE FROM audit_chain WHERE position = ?').run(proposed.position);
    const result = await verifyAuditChain(store);
    expect(result).toMatchObject({
      ok: false,
      broken: { reason: 'chain_broken', position: executed.position, actualHash: removed.hash },
    });
  });

  it('keeps one chain across store instances and reopenings of the file', async () => {
    const { store, path } = sqliteFixture();
    await seed(store);
    const second = createSqliteEventStore({ path, isAudited });
    await second.appendToStream('issue-3', [ev('IssueDetected', {})]);
    await second.close();
    await store.appendToStream('issue-3', [ev('IssueResolved', {})]);
    expect(await verifyAuditChain(store, { isAudited })).toMatchObject({ ok: true, links: 7 });
  });

  it('reads the audit log in pages that include links whose event is gone', async () => {
    const { store, raw } = sqliteFixture();
    await seed(store);
    const executed = await positionOf(store, 'ActionExecuted');
    raw.prepare('DELETE FROM events WHERE position = ?').run(executed.position);
    const entries: AuditLogEntry[] = [];
    for await (const entry of auditLogEntries(store, 2)) entries.push(entry);
    expect(entries.map((e) => e.position)).toEqual([1n, 2n, 3n, 4n, 5n, 6n]);
    expect(entries.find((e) => e.position === executed.position)).toMatchObject({
      event: null,
      link: { eventId: executed.id },
    });
  });
});

describe('audit chain on the memory store', () => {
  it('verifies and chains the same way', async () => {
    const store = createMemoryEventStore({ isAudited });
    await seed(store);
    const result = await verifyAuditChain(store, { isAudited });
    expect(result).toMatchObject({ ok: true, links: 5 });
  });
});

describe('hash format', () => {
  it('hashes canonical JSON, so key order does not matter but every value does', () => {
    expect(canonicalJson({ b: 1, a: { d: [1, { z: 1, y: 2 }], c: null } })).toBe(
      '{"a":{"c":null,"d":[1,{"y":2,"z":1}]},"b":1}',
    );
    const stored = {
      position: 7n,
      id: 'e1',
      stream: 'issue-1',
      revision: 0n,
      type: 'IssueDetected',
      schemaVersion: 1,
      data: '{"b":1,"a":2}',
      metadata: '{"occurredAt":"x"}',
      recordedAt: 't',
    };
    expect(auditContentHash(stored)).toBe(auditContentHash({ ...stored, data: '{"a":2,"b":1}' }));
    expect(auditContentHash(stored)).not.toBe(auditContentHash({ ...stored, data: '{"a":2,"b":2}' }));
    expect(auditContentHash(stored)).not.toBe(auditContentHash({ ...stored, position: 8n }));
    expect(auditContentHash(stored)).not.toBe(auditContentHash({ ...stored, data: 'not json' }));
    expect(auditLinkHash(GENESIS_HASH, 'ab')).toMatch(/^[0-9a-f]{64}$/);
  });
});

describe('audit export formatting', () => {
  const records = async () => {
    const store = createMemoryEventStore({ isAudited });
    await seed(store);
    const out: AuditRecord[] = [];
    for (const entry of await store.readAuditLog()) {
      const record = toAuditRecord(entry);
      if (record !== undefined) out.push(record);
    }
    return out;
  };

  it('turns linked entries into records and skips unaudited events', async () => {
    const all = await records();
    expect(all.map((r) => [r.seq, r.type, r.issueId, r.actor])).toEqual([
      ['1', 'IssueDetected', '1', 'operator'],
      ['2', 'ActionProposed', '1', 'operator'],
      ['3', 'ActionExecuted', '1', 'operator'],
      ['4', 'IssueDetected', '2', 'operator'],
      ['5', 'IssueResolved', '1', 'operator'],
    ]);
    expect(all[1]!.prevHash).toBe(all[0]!.hash);
  });

  it('filters by --issue and --since (on when the event occurred)', async () => {
    const all = await records();
    expect(all.filter(auditRecordFilter({ issue: '2' })).map((r) => r.seq)).toEqual(['4']);
    expect(all.filter(auditRecordFilter({ since: '2025-01-02T00:00:00Z' })).map((r) => r.seq)).toEqual(['3', '4', '5']);
    expect(all.filter(auditRecordFilter({ since: '2025-01-02T00:00:00Z', issue: '1' })).map((r) => r.seq)).toEqual([
      '3',
      '5',
    ]);
    expect(() => auditRecordFilter({ since: 'yesterday' })).toThrow(/ISO-8601/);
  });

  it('writes JSON Lines, one parseable record per line', async () => {
    const all = await records();
    const text = formatAuditExport(all, 'jsonl');
    const lines = text.trimEnd().split('\n');
    expect(lines).toHaveLength(5);
    expect(JSON.parse(lines[4]!)).toEqual({ ...all[4], data: { note: 'a "quoted", multi\nline note' } });
  });

  it('writes RFC 4180 CSV with a header and quoted fields', async () => {
    const all = await records();
    const text = formatAuditExport(all, 'csv');
    const [header, ...rest] = text.split('\r\n');
    expect(header).toBe(
      'seq,position,recordedAt,occurredAt,stream,eventId,type,schemaVersion,actor,issueId,prevHash,hash,data',
    );
    expect(rest.at(-1)).toBe('');
    expect(rest[0]).toBe(
      `1,1,${all[0]!.recordedAt},2025-01-01T00:00:00.000Z,issue-1,${all[0]!.eventId},IssueDetected,1,operator,1,${GENESIS_HASH},${all[0]!.hash},"{""title"":""crashloop""}"`,
    );
    // The multi-line note stays inside one quoted field.
    expect(text).toContain('"{""note"":""a \\""quoted\\"", multi\\nline note""}"');
    expect(formatAuditExport([], 'csv')).toBe(`${header}\r\n`);
  });
});
