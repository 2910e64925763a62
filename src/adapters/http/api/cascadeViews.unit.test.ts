import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  cascadeAt as at,
  shopDeployment as deployment,
  openCascade,
} from '../../../../test/support/cascadeIncidents.ts';
import { type ReadSide, startReadSide } from '../../../../test/support/readSide.ts';

let side: ReadSide;
beforeAll(async () => {
  side = await startReadSide();
  // The root is fixed; web recovers with it, mobile still waits for its check.
  await (await openCascade(side.store, 'c')).resolveRoot('1 of 1 available');
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
