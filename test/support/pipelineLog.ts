import type { ResourceRef } from '../../domain/events/common.schema.ts';
import type { PlanBlastRadius } from '../../domain/events/remediation.events.ts';
import { issueDecider } from '../../domain/issue/issue.decider.ts';
import { remediationDecider } from '../../domain/remediation/remediation.decider.ts';
import { StreamCategory, streamName } from '../../domain/streams.ts';
import { createCommandHandler } from '../../src/application/commandHandler.ts';
import type { EventStore } from '../../src/ports/eventStore.ts';

/** Second `s` after a fixed instant, so durations in tests are exact. */
export const second = (s: number) => new Date(Date.UTC(2026, 10, 26, 10, 0, s)).toISOString();

export interface PipelineIncident {
  readonly issueId: string;
  /** Seconds after the fixed instant at which the Issue is detected. */
  readonly start?: number;
  readonly workload?: ResourceRef;
  readonly signal?: 'oom_kill' | 'pod_restart' | 'image_pull';
  /** Signals of further anomalies joining the Issue right after detection (they raise its risk). */
  readonly attach?: readonly string[];
  /**
   * How far the pipeline goes: `open` stops at a running remediation; `resolved` completes it (the Issue resolves
   * 60 s after detection); `rolled_back` fails the only action, rolls back and escalates (one attempt allowed).
   */
  readonly outcome: 'open' | 'resolved' | 'rolled_back';
  /** Recorded with the plan (its one action is `raise-memory`). */
  readonly blastRadius?: PlanBlastRadius;
}

/**
 * Writes an incident the way the operator does, through the Issue and Remediation deciders: detection, analysis,
 * a one-action plan, snapshot, action, verification, outcome. Every event is one the catalogue accepts.
 */
export async function writePipelineIncident(store: EventStore, incident: PipelineIncident): Promise<void> {
  const { issueId, outcome } = incident;
  const start = incident.start ?? 0;
  const workload = incident.workload ?? { kind: 'Deployment', name: `app-${issueId}`, namespace: 'shop' };
  const issues = createCommandHandler(store, issueDecider);
  const remediations = createCommandHandler(store, remediationDecider);
  const issue = streamName(StreamCategory.Issue, issueId);
  const remediationId = `${issueId}-r1`;
  const remediation = streamName(StreamCategory.Remediation, remediationId);
  const at = (s: number) => ({ occurredAt: second(start + s), actor: 'system:test' });

  await issues(issue, {
    type: 'DetectIssue',
    data: {
      issueId,
      workload,
      resource: workload,
      signal: incident.signal ?? 'oom_kill',
      source: 'watcher',
      anomalyId: `${issueId}-a1`,
      description: 'container app was OOMKilled',
      ...(outcome === 'rolled_back' ? { maxAttempts: 1 } : {}),
    },
    metadata: at(0),
  });
  for (const [n, signal] of (incident.attach ?? []).entries()) {
    await issues(issue, {
      type: 'AttachAnomaly',
      data: { anomalyId: `${issueId}-a${n + 2}`, signal },
      metadata: at(0),
    });
  }
  await issues(issue, { type: 'RequestAnalysis', data: { insightId: `${issueId}-i1` }, metadata: at(1) });
  await issues(issue, {
    type: 'CompleteAnalysis',
    data: {
      insightId: `${issueId}-i1`,
      analysis: 'the container needs more memory than its limit',
      confidence: 0.9,
      recommendations: ['raise the memory limit'],
      suggestedActions: [
        {
          name: 'raise memory',
          type: 'AdjustResources',
          description: 'double the memory limit',
          params: { memory_limit: '512Mi' },
        },
      ],
      provider: 'rules',
      model: 'rules-v1',
    },
    metadata: at(2),
  });
  await issues(issue, {
    type: 'StartRemediation',
    data: { remediationId, source: 'ai-runbook' },
    metadata: at(3),
  });
  await remediations(remediation, {
    type: 'CreateRemediationPlan',
    data: {
      remediationId,
      issueId,
      attempt: 1,
      source: 'ai-runbook',
      target: workload,
      actions: [{ actionId: 'raise-memory', type: 'AdjustResources', params: { memory_limit: '512Mi' } }],
      ...(incident.blastRadius ? { blastRadius: incident.blastRadius } : {}),
    },
    metadata: at(4),
  });
  if (outcome === 'open') return;
  await remediations(remediation, { type: 'StartSnapshot', data: { snapshotId: 's1' }, metadata: at(5) });
  await remediations(remediation, {
    type: 'RecordSnapshot',
    data: { snapshotId: 's1', captured: { replicas: 1 } },
    metadata: at(6),
  });
  await remediations(remediation, { type: 'StartAction', data: { actionId: 'raise-memory' }, metadata: at(7) });
  if (outcome === 'rolled_back') {
    await remediations(remediation, {
      type: 'RecordActionFailed',
      data: { actionId: 'raise-memory', error: 'quota exceeded' },
      metadata: at(8),
    });
    await remediations(remediation, {
      type: 'CompleteRollback',
      data: { detail: 'restored the snapshot' },
      metadata: at(9),
    });
    await issues(issue, {
      type: 'RecordRemediationOutcome',
      data: {
        remediationId,
        outcome: 'rolled_back',
        reason: 'AdjustResources failed: quota exceeded',
        attemptedActions: [{ type: 'AdjustResources', params: { memory_limit: '512Mi' } }],
        observations: [],
        insightId: `${issueId}-i2`,
      },
      metadata: at(10),
    });
    return;
  }
  await remediations(remediation, {
    type: 'RecordActionSucceeded',
    data: { actionId: 'raise-memory', result: 'memory limit 512Mi' },
    metadata: at(8),
  });
  await remediations(remediation, { type: 'StartVerification', data: {}, metadata: at(9) });
  await remediations(remediation, { type: 'PassVerification', data: { detail: 'all pods ready' }, metadata: at(10) });
  await issues(issue, {
    type: 'RecordRemediationOutcome',
    data: { remediationId, outcome: 'completed' },
    metadata: at(60),
  });
}
