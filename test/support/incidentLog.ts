import type { ResourceRef } from '../../domain/events/common.schema.ts';
import { issueDecider } from '../../domain/issue/issue.decider.ts';
import { remediationDecider } from '../../domain/remediation/remediation.decider.ts';
import { StreamCategory, streamName } from '../../domain/streams.ts';
import { createCommandHandler } from '../../src/application/commandHandler.ts';
import type { EventStore } from '../../src/ports/eventStore.ts';

/** Minute `m` after a fixed instant, so timelines in tests are stable. */
export const minute = (m: number) => new Date(Date.UTC(2026, 10, 26, 10, m)).toISOString();

/**
 * Writes the events of a real incident through the deciders (so every event is one the catalogue accepts):
 * an OOM-killed Deployment, a second signal, a remediation plan, a manual resolve.
 */
export async function writeIncident(
  store: EventStore,
  issueId: string,
  startMinute = 0,
  workload: ResourceRef = { kind: 'Deployment', name: `checkout-${issueId}`, namespace: 'shop' },
): Promise<void> {
  const issues = createCommandHandler(store, issueDecider);
  const remediations = createCommandHandler(store, remediationDecider);
  const issue = streamName(StreamCategory.Issue, issueId);
  const at = (m: number) => ({ occurredAt: minute(startMinute + m), actor: 'system:test' });
  await issues(issue, {
    type: 'DetectIssue',
    data: {
      issueId,
      workload,
      resource: workload,
      signal: 'oom_kill',
      source: 'watcher',
      anomalyId: `${issueId}-a1`,
      description: 'container app was OOMKilled',
    },
    metadata: at(0),
  });
  await issues(issue, {
    type: 'AttachAnomaly',
    data: { anomalyId: `${issueId}-a2`, signal: 'pod_restart' },
    metadata: at(1),
  });
  await remediations(streamName(StreamCategory.Remediation, `${issueId}-r1`), {
    type: 'CreateRemediationPlan',
    data: {
      remediationId: `${issueId}-r1`,
      issueId,
      attempt: 1,
      source: 'manual-runbook',
      target: workload,
      actions: [{ actionId: 'raise-memory', type: 'AdjustResources', params: { memory_limit: '512Mi' } }],
    },
    metadata: at(2),
  });
  await issues(issue, { type: 'ResolveIssue', data: { note: 'memory limit raised by hand' }, metadata: at(5) });
}
