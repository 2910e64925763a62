import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command } from 'commander';
import { afterEach, describe, expect, it } from 'vitest';
import type { IssueCommand } from '../../../domain/issue/issue.commands.ts';
import { issueDecider } from '../../../domain/issue/issue.decider.ts';
import { StreamCategory, streamName } from '../../../domain/streams.ts';
import { openEventStore } from '../../adapters/eventstore/openEventStore.ts';
import { createCommandHandler } from '../../application/commandHandler.ts';
import { registerAuditCommand } from './audit.command.ts';

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

const workload = { kind: 'Deployment', name: 'web', namespace: 'shop' };

/** An Issue whose analysis proposed an action the parser refused, in a store as the operator opens it. */
async function storeWithRefusal() {
  const dir = mkdtempSync(join(tmpdir(), 'cairn-audit-refusal-'));
  dirs.push(dir);
  const url = `sqlite:${join(dir, 'events.db')}`;
  const store = openEventStore(url);
  const issue = createCommandHandler(store, issueDecider);
  const tell = (s: number, command: Omit<IssueCommand, 'metadata'>) =>
    issue(streamName(StreamCategory.Issue, 'i1'), {
      ...command,
      metadata: { occurredAt: `2026-01-01T00:00:0${s}.000Z`, actor: 'system:pipeline' },
    } as IssueCommand);
  await tell(0, {
    type: 'DetectIssue',
    data: {
      issueId: 'i1',
      workload,
      resource: workload,
      signal: 'oom_kill',
      source: 'watcher',
      anomalyId: 'a1',
      description: 'x',
    },
  });
  await tell(1, { type: 'RequestAnalysis', data: { insightId: 'ins-1' } });
  await tell(2, {
    type: 'CompleteAnalysis',
    data: {
      insightId: 'ins-1',
      analysis: 'x',
      confidence: 0.5,
      recommendations: [],
      suggestedActions: [],
      provider: 'openai',
      model: 'm',
      refusedProposals: [
        {
          refusalId: 'ins-1/answer/1',
          action: { type: 'DrainNode', params: { node: 'worker-1' } },
          code: 'policy.node_needs_approval',
          reason: 'a node action is never taken autonomously for a namespaced Issue',
        },
      ],
    },
  });
  await store.close();
  return url;
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

describe('refusals in the audit trail', () => {
  it('are exported with the Issue, stage, code and reason, and the chain they are linked into verifies', async () => {
    const url = await storeWithRefusal();
    const records = (await run('audit', 'export', '--format', 'jsonl', '--issue', 'i1', '--store', url))
      .trimEnd()
      .split('\n')
      .map((line) => JSON.parse(line) as { type: string; data: Record<string, unknown>; actor: string });
    expect(records.map((r) => r.type)).toEqual(['IssueDetected', 'ProposalRefused']);
    expect(records[1]).toMatchObject({
      actor: 'system:pipeline',
      data: {
        insightId: 'ins-1',
        stage: 'policy',
        code: 'policy.node_needs_approval',
        action: { type: 'DrainNode', params: { node: 'worker-1' } },
        reason: 'a node action is never taken autonomously for a namespaced Issue',
      },
    });
    expect(await run('audit', 'verify', '--store', url)).toMatch(/^audit chain ok: 2 links/);
  });
});
