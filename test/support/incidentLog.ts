import type { ResourceRef } from '../../domain/events/common.schema.ts';
import { issueDecider } from '../../domain/issue/issue.decider.ts';
import { remediationDecider } from '../../domain/remediation/remediation.decider.ts';
import { StreamCategory, streamName } from '../../domain/streams.ts';
import { createCommandHandler } from '../../src/application/commandHandler.ts';
import { createAnomalyRecorder } from '../../src/application/detection/anomalyRecorder.ts';
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

/** Second `s` after minute `m` of the fixed day. */
export const instant = (m: number, s = 0) => new Date(Date.UTC(2026, 10, 26, 10, m, s)).toISOString();

/**
 * A whole incident the way the operator writes it, every event through its decider: a watcher anomaly on the
 * correlation stream opens the Issue, a repeat is deduplicated, the analysis suggests a memory raise, the plan needs
 * one approval (granted by `approver`), snapshot, action, verification, and the Issue resolves as remediated.
 * Returns the Issue id and the remediation id.
 */
export async function writeRemediatedIncident(
  store: EventStore,
  name: string,
  startMinute = 0,
  options: { approver?: string; signal?: string; namespace?: string } = {},
): Promise<{ issueId: string; remediationId: string; anomalyId: string; requestId: string }> {
  const namespace = options.namespace ?? 'shop';
  const signal = options.signal ?? 'oom_kill';
  const workload: ResourceRef = { kind: 'Deployment', name, namespace };
  const pod: ResourceRef = { kind: 'Pod', name: `${name}-7d9-abc`, namespace };
  let clock = instant(startMinute, 10);
  let ids = 0;
  const record = createAnomalyRecorder({ store, newId: () => `${name}-${++ids}`, now: () => new Date(clock) });
  const opened = await record({
    signal,
    source: 'watcher',
    resource: pod,
    workload,
    message: 'container app was OOMKilled',
    observedAt: instant(startMinute, 4),
  });
  const open = opened.find((e) => e.type === 'CorrelationIssueOpened')!.data as { issueId: string; anomalyId: string };
  clock = instant(startMinute, 20);
  await record({
    signal,
    source: 'watcher',
    resource: pod,
    workload,
    message: 'container app was OOMKilled again',
    observedAt: instant(startMinute, 18),
  });
  const issues = createCommandHandler(store, issueDecider);
  const remediations = createCommandHandler(store, remediationDecider);
  const { issueId, anomalyId } = open;
  const issue = streamName(StreamCategory.Issue, issueId);
  const remediationId = `${issueId}-plan`;
  const plan = streamName(StreamCategory.Remediation, remediationId);
  const requestId = `${remediationId}-approval`;
  const at = (s: number, actor = 'system:pipeline') => ({ occurredAt: instant(startMinute + 1, s), actor });
  await issues(issue, {
    type: 'DetectIssue',
    data: { issueId, workload, resource: pod, signal, source: 'watcher', anomalyId, description: 'OOMKilled' },
    metadata: at(0, 'system:correlation'),
  });
  await issues(issue, { type: 'RequestAnalysis', data: { insightId: `${issueId}-insight-1` }, metadata: at(1) });
  await issues(issue, {
    type: 'CompleteAnalysis',
    data: {
      insightId: `${issueId}-insight-1`,
      analysis: 'the container needs more memory than its limit',
      confidence: 0.9,
      recommendations: ['raise the memory limit'],
      suggestedActions: [
        { name: 'raise', type: 'AdjustResources', description: 'raise memory', params: { memory_limit: '512Mi' } },
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
  await remediations(plan, {
    type: 'CreateRemediationPlan',
    data: {
      remediationId,
      issueId,
      attempt: 1,
      source: 'ai-runbook',
      target: workload,
      runbook: `auto-${signal}-${name}`,
      actions: [{ actionId: '1-adjustresources', type: 'AdjustResources', params: { memory_limit: '512Mi' } }],
      approval: { required: true },
    },
    metadata: at(4),
  });
  await remediations(plan, { type: 'RequestApproval', data: { requestId }, metadata: at(5) });
  await remediations(plan, {
    type: 'GrantApproval',
    data: { requestId, approver: options.approver ?? 'key:alice' },
    metadata: at(10, options.approver ?? 'key:alice'),
  });
  await remediations(plan, { type: 'StartSnapshot', data: { snapshotId: `${remediationId}-snap` }, metadata: at(11) });
  await remediations(plan, {
    type: 'RecordSnapshot',
    data: { snapshotId: `${remediationId}-snap`, captured: { replicas: 2 } },
    metadata: at(12),
  });
  await remediations(plan, { type: 'StartAction', data: { actionId: '1-adjustresources' }, metadata: at(13) });
  await remediations(plan, {
    type: 'RecordActionSucceeded',
    data: { actionId: '1-adjustresources', result: 'memory limit 256Mi → 512Mi' },
    metadata: at(14),
  });
  await remediations(plan, { type: 'StartVerification', data: {}, metadata: at(15) });
  await remediations(plan, { type: 'PassVerification', data: { detail: 'all replicas ready' }, metadata: at(40) });
  await issues(issue, {
    type: 'RecordRemediationOutcome',
    data: { remediationId, outcome: 'completed' },
    metadata: at(41),
  });
  return { issueId, remediationId, anomalyId, requestId };
}
