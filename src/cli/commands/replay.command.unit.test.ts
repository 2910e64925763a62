import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command } from 'commander';
import { afterEach, describe, expect, it } from 'vitest';
import { createSqliteEventStore } from '../../adapters/eventstore/sqlite.eventStore.ts';
import type { NewEvent } from '../../ports/eventStore.ts';
import { registerReplayCommand } from './replay.command.ts';

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

const ev = (type: string, data: unknown, occurredAt: string): NewEvent => ({ type, data, metadata: { occurredAt } });

describe('cairn replay', () => {
  it("prints the issue's own events and the remediation events that name it, in global order", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cairn-cli-replay-'));
    dirs.push(dir);
    const path = join(dir, 'events.db');
    const store = createSqliteEventStore({ path });
    await store.appendToStream('issue-42', [
      ev('IssueDetected', { title: 'checkout  5xx\nspike', severity: 'high' }, '2025-05-01T10:00:00.000Z'),
    ]);
    await store.appendToStream('issue-43', [ev('IssueDetected', { title: 'other' }, '2025-05-01T10:00:30.000Z')]);
    await store.appendToStream('remediation-a', [
      ev('ActionProposed', { issueId: '42', action: 'rollback', deployment: 'checkout' }, '2025-05-01T10:01:00.000Z'),
    ]);
    await store.appendToStream('remediation-b', [
      ev('ActionProposed', { issueId: '43', action: 'scale' }, '2025-05-01T10:01:30.000Z'),
    ]);
    await store.appendToStream('remediation-a', [
      ev('ActionExecuted', { issueId: '42', action: 'rollback', ok: true }, '2025-05-01T10:02:00.000Z'),
    ]);
    await store.appendToStream('issue-42', [
      ev('IssueResolved', { reason: 'error rate back to baseline' }, '2025-05-01T10:05:00.000Z'),
    ]);
    await store.close();

    let out = '';
    const program = new Command('cairn').exitOverride();
    registerReplayCommand(program, (text) => {
      out += text;
    });
    await program.parseAsync(['node', 'cairn', 'replay', '42', '--store', `sqlite:${path}`]);
    expect(out.split('\n')).toEqual([
      '2025-05-01T10:00:00.000Z  IssueDetected   [issue-42] checkout 5xx spike severity=high',
      '2025-05-01T10:01:00.000Z  ActionProposed  [remediation-a] rollback deployment=checkout',
      '2025-05-01T10:02:00.000Z  ActionExecuted  [remediation-a] rollback ok=true',
      '2025-05-01T10:05:00.000Z  IssueResolved   [issue-42] error rate back to baseline',
      '',
    ]);

    await expect(program.parseAsync(['node', 'cairn', 'replay', '404', '--store', `sqlite:${path}`])).rejects.toThrow(
      /no events for issue 404/,
    );
  });
});
