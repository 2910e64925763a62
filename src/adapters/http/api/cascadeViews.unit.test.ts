import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { IssueCommand } from '../../../../domain/issue/issue.commands.ts';
import { issueDecider } from '../../../../domain/issue/issue.decider.ts';
import { type ReadSide, startReadSide } from '../../../../test/support/readSide.ts';
import { createCommandHandler } from '../../../application/commandHandler.ts';

const deployment = (name: string) => ({ kind: 'Deployment', name, namespace: 'shop' });
const at = (s: number) => new Date(Date.UTC(2026, 0, 1, 0, 0, s)).toISOString();

let side: ReadSide;
beforeAll(async () => {
  side = await startReadSide();
  const issues = createCommandHandler(side.store, issueDecider);
  const tell = (id: string, command: Omit<IssueCommand, 'metadata'>, s: number) =>
    issues(`issue-${id}`, { ...command, metadata: { occurredAt: at(s), actor: 'system:test' } } as IssueCommand);
  for (const [id, name, s] of [
    ['c-api', 'api', 0],
    ['c-web', 'web', 1],
    ['c-mobile', 'mobile', 2],
  ] as const) {
    await tell(
      id,
      {
        type: 'DetectIssue',
        data: {
          issueId: id,
          workload: deployment(name),
          resource: deployment(name),
          signal: 'pod_not_ready',
          source: 'watcher',
          anomalyId: `an-${id}`,
          description: 'not ready',
        },
      },
      s,
    );
  }
  const chain = [
    { issueId: 'c-api', workload: deployment('api'), detectedAt: at(0) },
    { issueId: 'c-web', workload: deployment('web'), detectedAt: at(1) },
    { issueId: 'c-mobile', workload: deployment('mobile'), detectedAt: at(2) },
  ];
  for (const id of ['c-api', 'c-web', 'c-mobile']) {
    await tell(id, { type: 'CorrelateCascade', data: { rootIssueId: 'c-api', chain, windowMinutes: 15 } }, 3);
  }
  for (const id of ['c-web', 'c-mobile']) {
    await tell(id, { type: 'RequestAnalysis', data: { insightId: `${id}-i1` } }, 4);
    await tell(
      id,
      {
        type: 'CompleteAnalysis',
        data: {
          insightId: `${id}-i1`,
          analysis: 'not ready',
          confidence: 0.7,
          recommendations: [],
          suggestedActions: [],
          provider: 'rules',
          model: 'rules-v1',
        },
      },
      5,
    );
    await tell(
      id,
      {
        type: 'DeferRemediationToRoot',
        data: { rootIssueId: 'c-api', insightId: `${id}-i1`, reason: 'Deployment shop/api, which it calls' },
      },
      6,
    );
  }
  // The root is fixed; web recovers with it, mobile still waits for its check.
  await tell('c-api', { type: 'ResolveIssue', data: { note: 'rolled back' } }, 7);
  await tell(
    'c-web',
    { type: 'ResolveRecoveredWithRoot', data: { rootIssueId: 'c-api', detail: '1 of 1 available' } },
    40,
  );
});
afterAll(() => side.stop());

const rest = async (path: string) => {
  const response = await fetch(`${side.url}/api/v1/${path}`, { headers: side.keys.header('viewer') });
  return response.ok ? ((await response.json()) as Record<string, unknown>) : undefined;
};

const member = (id: string, name: string, s: number) => ({
  issueId: id,
  name: expect.stringContaining(name),
  workload: deployment(name),
  detectedAt: at(s),
});

describe('the cascade in the incident views', () => {
  it('over REST: role, root and chain; the deferral while a plan waits; a recovery with the root', async () => {
    await expect.poll(async () => (await rest('incidents/c-web'))?.state).toBe('Resolved');
    const root = await rest('incidents/c-api');
    expect(root).toMatchObject({
      cascade: {
        role: 'root',
        rootIssueId: 'c-api',
        chain: [member('c-api', 'api', 0), member('c-web', 'web', 1), member('c-mobile', 'mobile', 2)],
      },
      remediationDeferral: null,
      recoveredWithRoot: null,
      resolution: 'manual',
    });
    const mobile = await rest('incidents/c-mobile');
    expect(mobile).toMatchObject({
      cascade: { role: 'dependant', rootIssueId: 'c-api' },
      remediationDeferral: { rootIssueId: 'c-api', reason: 'Deployment shop/api, which it calls', since: at(6) },
      recoveredWithRoot: null,
    });
    const web = await rest('incidents/c-web');
    expect(web).toMatchObject({
      cascade: { role: 'dependant', rootIssueId: 'c-api' },
      remediationDeferral: null,
      recoveredWithRoot: { rootIssueId: 'c-api', detail: '1 of 1 available' },
      resolution: 'recovered_with_root',
    });
    const timeline = (await rest('incidents/c-web/timeline')) as unknown as
      | { items?: { type: string; summary: string }[] }
      | { type: string; summary: string }[];
    const entries = Array.isArray(timeline) ? timeline : (timeline?.items ?? []);
    expect(entries.find((e) => e.type === 'IssueRecoveredWithRoot')?.summary).toContain(
      'recovered with the root of its cascade, Issue c-api',
    );
  });

  it('over GraphQL, with the root Issue reachable from the cascade', async () => {
    const query = `{ incident(id: "c-mobile") { cascade { role rootIssueId root { id state } chain { issueId } }
      remediationDeferral { rootIssueId since } recoveredWithRoot { rootIssueId } } }`;
    const response = await fetch(`${side.url}/graphql`, {
      method: 'POST',
      headers: { ...side.keys.header('viewer'), 'content-type': 'application/json' },
      body: JSON.stringify({ query }),
    });
    expect(((await response.json()) as { data?: unknown }).data).toEqual({
      incident: {
        cascade: {
          role: 'dependant',
          rootIssueId: 'c-api',
          root: { id: 'c-api', state: 'Resolved' },
          chain: [{ issueId: 'c-api' }, { issueId: 'c-web' }, { issueId: 'c-mobile' }],
        },
        remediationDeferral: { rootIssueId: 'c-api', since: at(6) },
        recoveredWithRoot: null,
      },
    });
  });
});
