import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { Command } from 'commander';
import { afterEach, describe, expect, it } from 'vitest';
import { createSqliteEventStore } from '../../adapters/eventstore/sqlite.eventStore.ts';
import { registerAuditCommand } from './audit.command.ts';

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

async function storeWithEvents() {
  const dir = mkdtempSync(join(tmpdir(), 'cairn-cli-audit-'));
  dirs.push(dir);
  const path = join(dir, 'events.db');
  const store = createSqliteEventStore({ path });
  await store.appendToStream('issue-7', [
    { type: 'IssueDetected', data: { title: 'oom' }, metadata: { occurredAt: '2025-03-01T00:00:00.000Z' } },
  ]);
  await store.appendToStream('remediation-r1', [
    {
      type: 'ActionExecuted',
      data: { issueId: '7', action: 'restart' },
      metadata: { occurredAt: '2025-03-02T00:00:00.000Z' },
    },
  ]);
  await store.appendToStream('issue-8', [
    { type: 'IssueDetected', data: { title: 'disk' }, metadata: { occurredAt: '2025-03-03T00:00:00.000Z' } },
  ]);
  await store.close();
  return path;
}

async function run(...args: string[]) {
  let out = '';
  const program = new Command('cairn').exitOverride();
  registerAuditCommand(program, (text) => {
    out += text;
  });
  await program.parseAsync(['node', 'cairn', ...args]);
  return out;
}

describe('cairn audit', () => {
  it('verify reports an intact chain, then the event that was edited in the file', async () => {
    const path = await storeWithEvents();
    expect(await run('audit', 'verify', '--store', `sqlite:${path}`)).toMatch(
      /^audit chain ok: 3 links, head [0-9a-f]{64}\n$/,
    );

    const raw = new Database(path);
    const edited = raw.prepare("SELECT id FROM events WHERE stream = 'remediation-r1'").get() as { id: string };
    raw.prepare(`UPDATE events SET data = '{"action":"nothing","issueId":"7"}' WHERE id = ?`).run(edited.id);
    raw.close();
    await expect(run('audit', 'verify', '--store', `sqlite:${path}`)).rejects.toThrow(
      new RegExp(`broken at position 2 \\(stream remediation-r1, event ${edited.id}\\): content_changed`),
    );
  });

  it('verify reports an event inserted behind the store, unless told to check only the links', async () => {
    const path = await storeWithEvents();
    const raw = new Database(path);
    raw
      .prepare(
        `INSERT INTO events (id, stream, revision, type, schema_version, data, metadata, recorded_at)
         VALUES ('forged', 'issue-7', 1, 'IssueResolved', 1, '{}', '{"occurredAt":"2025-03-05T00:00:00Z"}', 'x')`,
      )
      .run();
    raw.close();
    await expect(run('audit', 'verify', '--store', `sqlite:${path}`)).rejects.toThrow(/event forged\): link_missing/);
    expect(await run('audit', 'verify', '--links-only', '--store', `sqlite:${path}`)).toMatch(
      /^audit chain ok: 3 links/,
    );
  });

  it('verify refuses a store file that does not exist instead of creating one', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cairn-cli-audit-'));
    dirs.push(dir);
    await expect(run('audit', 'verify', '--store', `sqlite:${join(dir, 'missing.db')}`)).rejects.toThrow(
      /no event store/,
    );
  });

  it('export writes JSON Lines and CSV, filtered by --issue and --since', async () => {
    const path = await storeWithEvents();
    const jsonl = await run('audit', 'export', '--format', 'jsonl', '--issue', '7', '--store', `sqlite:${path}`);
    expect(
      jsonl
        .trimEnd()
        .split('\n')
        .map((line) => JSON.parse(line).type),
    ).toEqual(['IssueDetected', 'ActionExecuted']);

    const csv = await run(
      'audit',
      'export',
      '--format',
      'csv',
      '--since',
      '2025-03-02T00:00:00Z',
      '--store',
      `sqlite:${path}`,
    );
    const lines = csv.split('\r\n');
    expect(lines[0]).toMatch(/^seq,position,/);
    expect(lines.slice(1, -1).map((l) => l.split(',')[6])).toEqual(['ActionExecuted', 'IssueDetected']);
  });

  it('export refuses an unknown format', async () => {
    const path = await storeWithEvents();
    await expect(run('audit', 'export', '--format', 'xml', '--store', `sqlite:${path}`)).rejects.toThrow(/xml/);
  });
});
