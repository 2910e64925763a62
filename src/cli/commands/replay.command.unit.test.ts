import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command } from 'commander';
import { afterEach, describe, expect, it } from 'vitest';
import { minute, writeIncident } from '../../../test/support/incidentLog.ts';
import { openEventStore } from '../../adapters/eventstore/openEventStore.ts';
import { registerReplayCommand } from './replay.command.ts';

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

describe('cairn replay', () => {
  it("prints the issue's own events and the remediation events that name it, in global order", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cairn-cli-replay-'));
    dirs.push(dir);
    const path = join(dir, 'events.db');
    const store = openEventStore(`sqlite:${path}`);
    await writeIncident(store, 'i42', 0);
    await writeIncident(store, 'i43', 1);
    await store.close();

    let out = '';
    const program = new Command('cairn').exitOverride();
    registerReplayCommand(program, (text) => {
      out += text;
    });
    await program.parseAsync(['node', 'cairn', 'replay', 'i42', '--store', `sqlite:${path}`]);
    const lines = out.trimEnd().split('\n');
    expect(lines.map((l) => l.split(/\s+/).slice(0, 3))).toEqual([
      [minute(0), 'IssueDetected', '[issue-i42]'],
      [minute(1), 'IssueAnomalyAttached', '[issue-i42]'],
      [minute(2), 'RemediationPlanCreated', '[remediation-i42-r1]'],
      [minute(5), 'IssueResolved', '[issue-i42]'],
    ]);
    expect(lines[0]).toContain('container app was OOMKilled');
    expect(out).not.toContain('i43');

    await expect(program.parseAsync(['node', 'cairn', 'replay', '404', '--store', `sqlite:${path}`])).rejects.toThrow(
      /no events for issue 404/,
    );
  });
});
