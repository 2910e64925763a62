import type { ResourceRef } from '../../domain/events/common.schema.ts';
import { issueDecider } from '../../domain/issue/issue.decider.ts';
import { remediationDecider } from '../../domain/remediation/remediation.decider.ts';
import { StreamCategory, streamName } from '../../domain/streams.ts';
import { createCommandHandler } from '../../src/application/commandHandler.ts';
import type { EventStore } from '../../src/ports/eventStore.ts';

/** Second `s` of a fixed morning, so the PostMortem's times are stable. */
export const at = (second: number) => new Date(Date.UTC(2026, 11, 7, 9, 0, second)).toISOString();
const meta = (second: number) => ({ occurredAt: at(second), actor: 'system:test' });

/**
 * A dependant of a cascade: the analysis names a suspected commit and the Argo CD state, the plan records its blast
 * radius, and a person resolves the Issue. Every event is one the catalogue accepts: the analysis is appended as
 * the analyser records it, the rest through the deciders.
 */
export async function writeDependantIncident(
  store: EventStore,
  issueId: string,
  web: ResourceRef,
  db: ResourceRef,
  repository: string,
) {
  const namespace = web.namespace;
  const issues = createCommandHandler(store, issueDecider);
  const issue = streamName(StreamCategory.Issue, issueId);
  await issues(issue, {
    type: 'DetectIssue',
    data: {
      issueId,
      workload: web,
      resource: web,
      signal: 'error_rate',
      source: 'prometheus',
      anomalyId: `${issueId}-a1`,
      description: 'HighErrorRate: 5xx ratio 30%',
    },
    metadata: meta(0),
  });
  await issues(issue, {
    type: 'CorrelateCascade',
    data: {
      rootIssueId: 'db-root',
      chain: [
        { issueId: 'db-root', workload: db, detectedAt: at(0) },
        { issueId, workload: web, detectedAt: at(0) },
      ],
      windowMinutes: 15,
    },
    metadata: meta(1),
  });
  await issues(issue, { type: 'RequestAnalysis', data: { insightId: `${issueId}-i1` }, metadata: meta(2) });
  await store.appendToStream(issue, [
    {
      type: 'AnalysisCompleted',
      data: {
        insightId: `${issueId}-i1`,
        attempt: 1,
        analysis: 'web answers 5xx since its database connection pool was halved.',
        confidence: 0.7,
        recommendations: [],
        suggestedActions: [],
        provider: 'rules',
        model: 'rules-v1',
        change: {
          gitOps: 'Argo CD Application argocd/web: Synced, Degraded at revision 9c1e4b7',
          suspectedCommits: [
            {
              repository,
              sha: '9c1e4b7a',
              author: 'dana',
              message: 'halve the connection pool',
              confidence: 0.75,
              filesChanged: ['config/db.yaml'],
              reasons: ['changes the database settings of the failing workload'],
            },
          ],
        },
      },
      metadata: meta(3),
    },
  ]);
  const remediationId = `${issueId}-r1`;
  await createCommandHandler(store, remediationDecider)(streamName(StreamCategory.Remediation, remediationId), {
    type: 'CreateRemediationPlan',
    data: {
      remediationId,
      issueId,
      attempt: 1,
      source: 'manual-runbook',
      target: web,
      actions: [{ actionId: 'restart', type: 'RestartDeployment', params: {} }],
      blastRadius: {
        actions: [
          {
            actionId: 'restart',
            type: 'RestartDeployment',
            pods: 3,
            pdbViolations: [],
            servicesEmptied: [{ namespace, name: 'web', readyEndpoints: 3 }],
            quotaOverflows: [],
          },
        ],
        dependants: [{ kind: 'Deployment', name: 'frontend', namespace }],
      },
    },
    metadata: meta(4),
  });
  await issues(issue, { type: 'ResolveIssue', data: { note: 'pool size restored by hand' }, metadata: meta(10) });
}
