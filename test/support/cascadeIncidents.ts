import type { IssueCommand } from '../../domain/issue/issue.commands.ts';
import { issueDecider } from '../../domain/issue/issue.decider.ts';
import { createCommandHandler } from '../../src/application/commandHandler.ts';
import type { EventStore } from '../../src/ports/eventStore.ts';

/** Second `s` of a fixed day, so the views' times are stable. */
export const cascadeAt = (s: number) => new Date(Date.UTC(2026, 0, 1, 0, 0, s)).toISOString();
export const shopDeployment = (name: string) => ({ kind: 'Deployment', name, namespace: 'shop' });

export interface CascadeIncidents {
  /** The root is fixed (second 7) and `<prefix>-web` recovers with it (second 40); mobile still waits. */
  resolveRoot(detail: string): Promise<void>;
}

/**
 * A cascade through the deciders: `<prefix>-api` on Deployment shop/api is the root, `<prefix>-web` and
 * `<prefix>-mobile` call it. Detected at seconds 0, 1 and 2, correlated at 3, the dependants analysed at 4–5 and their
 * plans deferred to the root at 6.
 */
export async function openCascade(store: EventStore, prefix: string): Promise<CascadeIncidents> {
  const issues = createCommandHandler(store, issueDecider);
  const tell = (id: string, command: Omit<IssueCommand, 'metadata'>, s: number) =>
    issues(`issue-${id}`, { ...command, metadata: { occurredAt: cascadeAt(s), actor: 'system:test' } } as IssueCommand);
  const [api, web, mobile] = ['api', 'web', 'mobile'].map((name) => `${prefix}-${name}`) as [string, string, string];
  const members = [
    [api, 'api'],
    [web, 'web'],
    [mobile, 'mobile'],
  ] as const;
  for (const [s, [id, name]] of members.entries()) {
    await tell(
      id,
      {
        type: 'DetectIssue',
        data: {
          issueId: id,
          workload: shopDeployment(name),
          resource: shopDeployment(name),
          signal: 'pod_not_ready',
          source: 'watcher',
          anomalyId: `an-${id}`,
          description: 'not ready',
        },
      },
      s,
    );
  }
  const chain = members.map(([id, name], s) => ({
    issueId: id,
    workload: shopDeployment(name),
    detectedAt: cascadeAt(s),
  }));
  for (const [id] of members) {
    await tell(id, { type: 'CorrelateCascade', data: { rootIssueId: api, chain, windowMinutes: 15 } }, 3);
  }
  for (const id of [web, mobile]) {
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
        data: { rootIssueId: api, insightId: `${id}-i1`, reason: 'Deployment shop/api, which it calls' },
      },
      6,
    );
  }
  return {
    async resolveRoot(detail) {
      await tell(api, { type: 'ResolveIssue', data: { note: 'rolled back' } }, 7);
      await tell(web, { type: 'ResolveRecoveredWithRoot', data: { rootIssueId: api, detail } }, 40);
    },
  };
}
