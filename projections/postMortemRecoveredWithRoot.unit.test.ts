import { Value } from '@sinclair/typebox/value';
import { describe, expect, it } from 'vitest';
import type { IssueCommand } from '../domain/issue/issue.commands.ts';
import { issueDecider } from '../domain/issue/issue.decider.ts';
import { openEventStore } from '../src/adapters/eventstore/openEventStore.ts';
import { PostMortemResourceSchema } from '../src/adapters/kubernetes/api/postMortem.kind.ts';
import { createCommandHandler } from '../src/application/commandHandler.ts';
import { postMortemResource } from './postMortem.projection.ts';

const owner = { name: 'web-i1', uid: '0b8c7a1e-1111-4222-8333-944455556666' };
const deployment = (name: string) => ({ kind: 'Deployment', name, namespace: 'shop' });
const second = (s: number) => new Date(Date.UTC(2026, 10, 26, 10, 0, s)).toISOString();

describe('the PostMortem of a dependant that recovered with its root', () => {
  it('says it recovered with the root, in its timeline, its summary and its Resolved condition', async () => {
    const store = openEventStore('memory:');
    const issues = createCommandHandler(store, issueDecider);
    const tell = (id: string, command: Omit<IssueCommand, 'metadata'>, s: number) =>
      issues(`issue-${id}`, {
        ...command,
        metadata: { occurredAt: second(s), actor: 'system:cascade' },
      } as IssueCommand);
    for (const [id, name] of [
      ['api', 'api'],
      ['web', 'web'],
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
        0,
      );
    }
    const chain = [
      { issueId: 'api', workload: deployment('api'), detectedAt: second(0) },
      { issueId: 'web', workload: deployment('web'), detectedAt: second(0) },
    ];
    await tell('web', { type: 'CorrelateCascade', data: { rootIssueId: 'api', chain, windowMinutes: 15 } }, 1);
    await tell('web', { type: 'RequestAnalysis', data: { insightId: 'web-i1' } }, 2);
    await tell(
      'web',
      {
        type: 'CompleteAnalysis',
        data: {
          insightId: 'web-i1',
          analysis: 'not ready',
          confidence: 0.7,
          recommendations: [],
          suggestedActions: [],
          provider: 'rules',
          model: 'rules-v1',
        },
      },
      3,
    );
    await tell(
      'web',
      { type: 'DeferRemediationToRoot', data: { rootIssueId: 'api', insightId: 'web-i1', reason: 'api first' } },
      4,
    );
    await tell('api', { type: 'ResolveIssue', data: {} }, 10);
    await tell('web', { type: 'ScheduleRecoveryCheck', data: { rootIssueId: 'api', dueAt: second(40) } }, 10);
    await tell(
      'web',
      { type: 'ResolveRecoveredWithRoot', data: { rootIssueId: 'api', detail: '1 of 1 available' } },
      40,
    );

    const pm = postMortemResource('issue-web', await store.readAll(), { last30Days: 0 }, owner, 'shop');
    expect(pm).toBeDefined();
    const s = pm!.status;
    expect(s.timeline?.find((t) => t.type === 'IssueRecoveredWithRoot')?.detail).toBe(
      'recovered with the root of its cascade, Issue api, without a plan of its own: 1 of 1 available',
    );
    expect(s.timeline?.at(-1)).toMatchObject({
      type: 'IssueResolved',
      detail: 'resolved: recovered with the root of its cascade',
    });
    expect(s.summary).toContain('It recovered once the root of its cascade was fixed, with no remediation of its own');
    expect(s.summary).not.toContain('by hand');
    expect(s.conditions).toEqual([
      expect.objectContaining({ type: 'Resolved', status: 'True', reason: 'RecoveredWithRoot' }),
    ]);
    expect(s.cascadeChain).toEqual(['Deployment shop/api', 'Deployment shop/web']);
    expect(s.cascadePosition).toBe(2);
    const object = { ...pm!.doc, status: s };
    expect([...Value.Errors(PostMortemResourceSchema, object)].map((e) => `${e.path}: ${e.message}`)).toEqual([]);
  });
});
