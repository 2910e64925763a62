import { readFileSync } from 'node:fs';
import { Value } from '@sinclair/typebox/value';
import { describe, expect, it } from 'vitest';
import { AnalysisCompletedSchema, type SuspectedCommit } from '../domain/events/analysis.events.ts';
import {
  type CascadeMember,
  IssueRemediationDeferredSchema,
  IssueRemediationReleasedSchema,
} from '../domain/events/correlation.events.ts';
import type { IssueDetected } from '../domain/events/issue.events.ts';
import { type PlanBlastRadius, RemediationPlanCreatedSchema } from '../domain/events/remediation.events.ts';
import type { IssueCommand } from '../domain/issue/issue.commands.ts';
import { issueDecider } from '../domain/issue/issue.decider.ts';
import type { RecordedEvent } from '../domain/messages.ts';
import type { RemediationCommand } from '../domain/remediation/remediation.commands.ts';
import { remediationDecider } from '../domain/remediation/remediation.decider.ts';
import { StreamCategory, streamName } from '../domain/streams.ts';
import { openEventStore } from '../src/adapters/eventstore/openEventStore.ts';
import { PostMortemResourceSchema } from '../src/adapters/kubernetes/api/postMortem.kind.ts';
import { createCommandHandler } from '../src/application/commandHandler.ts';
import type { EventStore } from '../src/ports/eventStore.ts';
import { minute, writeIncident } from '../test/support/incidentLog.ts';
import { issueStatus, postMortemName } from './kubernetesResources.projection.ts';
import {
  formatDuration,
  type IncidentEvent,
  postMortemResource,
  recurrenceCount,
  recurrencesOf,
  withReview,
} from './postMortem.projection.ts';

const owner = { name: 'web-i1', uid: '0b8c7a1e-1111-4222-8333-944455556666' };
const web = { kind: 'Deployment', name: 'web', namespace: 'shop' };
const second = (s: number) => new Date(Date.UTC(2026, 10, 26, 10, 0, s)).toISOString();

/** Drives the real deciders, so every event is one the catalogue accepts and the deciders would produce. */
function incident(store: EventStore, issueId: string) {
  const issues = createCommandHandler(store, issueDecider);
  const remediations = createCommandHandler(store, remediationDecider);
  const meta = (s: number) => ({ occurredAt: second(s), actor: 'system:test' });
  return {
    issue: (s: number, command: Omit<IssueCommand, 'metadata'>) =>
      issues(streamName(StreamCategory.Issue, issueId), { ...command, metadata: meta(s) } as IssueCommand),
    plan: (id: string, s: number, command: Omit<RemediationCommand, 'metadata'>) =>
      remediations(streamName(StreamCategory.Remediation, id), {
        ...command,
        metadata: meta(s),
      } as RemediationCommand),
  };
}

const analysis = (insightId: string, text: string, actions: { type: string; params: Record<string, string> }[]) => ({
  type: 'CompleteAnalysis' as const,
  data: {
    insightId,
    analysis: text,
    confidence: 0.9,
    recommendations: ['Gate image changes with a canary or a readiness check in the delivery pipeline.'],
    suggestedActions: actions.map((a) => ({ name: a.type.toLowerCase(), description: a.type, ...a })),
    provider: 'rules',
    model: 'rules-v1',
  },
});

/** A bad release: crash loop, rules analysis, rollback to revision 1, verified, resolved. */
async function badRelease(
  store: EventStore,
  issueId = 'i1',
  beforeTheEnd?: (issue: ReturnType<typeof incident>['issue']) => Promise<unknown>,
) {
  const { issue, plan } = incident(store, issueId);
  const rid = `${issueId}-a1-plan`;
  await issue(0, {
    type: 'DetectIssue',
    data: {
      issueId,
      workload: web,
      resource: { kind: 'Pod', name: 'web-6d4f-x', namespace: 'shop' },
      signal: 'crashloop',
      source: 'watcher',
      anomalyId: `${issueId}-an1`,
      description: 'container app of web-6d4f-x is in CrashLoopBackOff',
    },
  });
  await issue(1, { type: 'AttachAnomaly', data: { anomalyId: `${issueId}-an2`, signal: 'pod_restart' } });
  await issue(2, { type: 'RequestAnalysis', data: { insightId: `${issueId}-a1` } });
  await issue(
    3,
    analysis(
      `${issueId}-a1`,
      'Deployment shop/web crash-loops since revision 2 changed the image (app: registry.local/shop/web:1.4.1 → registry.local/shop/web:1.4.2-broken).',
      [{ type: 'RollbackDeployment', params: { toRevision: '1' } }],
    ),
  );
  await issue(4, { type: 'StartRemediation', data: { remediationId: rid, source: 'ai-runbook' } });
  await plan(rid, 4, {
    type: 'CreateRemediationPlan',
    data: {
      remediationId: rid,
      issueId,
      attempt: 1,
      source: 'ai-runbook',
      target: web,
      actions: [{ actionId: '1-rollbackdeployment', type: 'RollbackDeployment', params: { toRevision: '1' } }],
      verificationTimeoutSeconds: 60,
    },
  });
  await plan(rid, 5, { type: 'StartSnapshot', data: { snapshotId: 's1' } });
  await plan(rid, 5, { type: 'RecordSnapshot', data: { snapshotId: 's1', captured: { spec: { replicas: 2 } } } });
  await plan(rid, 6, { type: 'StartAction', data: { actionId: '1-rollbackdeployment' } });
  await plan(rid, 7, {
    type: 'RecordActionSucceeded',
    data: {
      actionId: '1-rollbackdeployment',
      result: 'rolled Deployment shop/web back to revision 1 (ReplicaSet web-7f9c: registry.local/shop/web:1.4.1)',
    },
  });
  await plan(rid, 8, { type: 'StartVerification', data: {} });
  await plan(rid, 20, { type: 'PassVerification', data: { detail: '2/2 replicas ready, no restarts' } });
  await beforeTheEnd?.(issue);
  await issue(21, { type: 'RecordRemediationOutcome', data: { remediationId: rid, outcome: 'completed' } });
}

/** A release that needs more memory: the raised limit fails verification, the snapshot is restored, escalated. */
async function failedRemedy(store: EventStore, issueId = 'i2', maxAttempts = 1) {
  const { issue, plan } = incident(store, issueId);
  const rid = `${issueId}-a1-plan`;
  const hungry = { kind: 'Deployment', name: 'hungry', namespace: 'shop' };
  await issue(0, {
    type: 'DetectIssue',
    data: {
      issueId,
      workload: hungry,
      resource: hungry,
      signal: 'oom_kill',
      source: 'watcher',
      anomalyId: `${issueId}-an1`,
      description: 'container app was OOMKilled',
      maxAttempts,
    },
  });
  await issue(1, { type: 'RequestAnalysis', data: { insightId: `${issueId}-a1` } });
  await issue(
    2,
    analysis(`${issueId}-a1`, 'Container app of Deployment shop/hungry was OOMKilled: it needs more memory.', [
      { type: 'AdjustResources', params: { container: 'app', memory_limit: '256Mi' } },
    ]),
  );
  await issue(3, { type: 'StartRemediation', data: { remediationId: rid, source: 'ai-runbook' } });
  await plan(rid, 3, {
    type: 'CreateRemediationPlan',
    data: {
      remediationId: rid,
      issueId,
      attempt: 1,
      source: 'ai-runbook',
      target: hungry,
      actions: [
        {
          actionId: '1-adjustresources',
          type: 'AdjustResources',
          params: { container: 'app', memory_limit: '256Mi' },
        },
      ],
      verificationTimeoutSeconds: 20,
    },
  });
  await plan(rid, 4, { type: 'StartSnapshot', data: { snapshotId: 's1' } });
  await plan(rid, 4, { type: 'RecordSnapshot', data: { snapshotId: 's1', captured: { spec: {} } } });
  await plan(rid, 5, { type: 'StartAction', data: { actionId: '1-adjustresources' } });
  await plan(rid, 6, {
    type: 'RecordActionSucceeded',
    data: { actionId: '1-adjustresources', result: 'memory limit of app 128Mi → 256Mi' },
  });
  await plan(rid, 6, { type: 'StartVerification', data: {} });
  await plan(rid, 27, { type: 'FailVerification', data: { reason: 'container app OOMKilled again' } });
  await plan(rid, 29, { type: 'CompleteRollback', data: { detail: 'restored Deployment shop/hungry from s1' } });
  await issue(30, {
    type: 'RecordRemediationOutcome',
    data: {
      remediationId: rid,
      outcome: 'rolled_back',
      reason: 'verification failed: container app OOMKilled again',
      attemptedActions: [{ type: 'AdjustResources', params: { container: 'app', memory_limit: '256Mi' } }],
      observations: [],
      insightId: `${issueId}-a2`,
    },
  });
}

const eventsOf = async (store: EventStore) => store.readAll();

const check = (rendered: NonNullable<ReturnType<typeof postMortemResource>>) => {
  const object = { ...rendered.doc, status: rendered.status };
  expect([...Value.Errors(PostMortemResourceSchema, object)].map((e) => `${e.path}: ${e.message}`)).toEqual([]);
  // The API server rejects fields its schema does not declare: cleaning to the schema must remove nothing.
  expect(Value.Clean(PostMortemResourceSchema, structuredClone(object))).toEqual(object);
};

describe('PostMortem projection', () => {
  it('renders a resolved bad-release incident: timeline, the rollback with its result, root cause, lessons', async () => {
    const store = openEventStore('memory:');
    await badRelease(store);
    const events = await eventsOf(store);
    const pm = postMortemResource('issue-i1', events, { last30Days: 0 }, owner, 'cairn-system');
    expect(pm).toBeDefined();
    check(pm!);
    expect(pm!.doc.metadata).toEqual({
      name: postMortemName('i1', web),
      namespace: 'shop',
      labels: {
        'aiops.cairn.dev/issue-id': 'i1',
        'aiops.cairn.dev/signal': 'crashloop',
        'aiops.cairn.dev/outcome': 'resolved',
        'app.kubernetes.io/managed-by': 'cairn',
      },
      ownerReferences: [
        {
          apiVersion: 'aiops.cairn.dev/v1alpha1',
          kind: 'Issue',
          name: 'web-i1',
          uid: owner.uid,
          controller: true,
          blockOwnerDeletion: true,
        },
      ],
    });
    expect(pm!.doc.spec).toEqual({
      issueRef: { name: 'web-i1' },
      resource: web,
      severity: 'medium',
      signal: 'crashloop',
    });
    const s = pm!.status;
    expect(s.timeline?.map((t) => t.type)).toEqual([
      'IssueDetected',
      'IssueAnomalyAttached',
      'AnalysisRequested',
      'AnalysisCompleted',
      'RemediationStarted',
      'RemediationPlanCreated',
      'SnapshotTaken',
      'ActionSucceeded',
      'VerificationPassed',
      'RemediationCompleted',
      'IssueResolved',
    ]);
    expect(s.timeline?.[0]).toEqual({
      at: second(0),
      type: 'IssueDetected',
      detail: 'crashloop on Deployment shop/web (low, risk 25): container app of web-6d4f-x is in CrashLoopBackOff',
    });
    expect(s.timeline?.find((t) => t.type === 'ActionSucceeded')?.detail).toBe(
      'RollbackDeployment succeeded: rolled Deployment shop/web back to revision 1 (ReplicaSet web-7f9c: registry.local/shop/web:1.4.1)',
    );
    expect(s.actionsExecuted).toEqual([
      {
        type: 'RollbackDeployment',
        params: { toRevision: '1' },
        result: 'Succeeded',
        detail: 'rolled Deployment shop/web back to revision 1 (ReplicaSet web-7f9c: registry.local/shop/web:1.4.1)',
        at: second(7),
      },
    ]);
    expect(s.rootCause).toContain('registry.local/shop/web:1.4.2-broken');
    expect(s).toMatchObject({
      state: 'Open',
      detectedAt: second(0),
      resolvedAt: second(21),
      duration: '21s',
      recurrence: { last30Days: 0 },
      conditions: [{ type: 'Resolved', status: 'True', reason: 'Remediated', lastTransitionTime: second(21) }],
    });
    expect(s.summary).toMatch(/^Resolved after 21s: crashloop on Deployment shop\/web/);
    expect(s.impact).toContain('signals crashloop, pod_restart, 2 anomalies');
    expect(s.lessonsLearned?.[0]).toMatch(/^The release running when crashloop began was at fault: going back/);
    expect(s.lessonsLearned?.[0]).toContain('back to revision 1');
    expect(s.preventionActions).toContain(
      'Gate releases with a readiness check and a canary, so a crashing version stops before it takes every replica.',
    );
    expect(s.preventionActions).toContain(
      'Gate image changes with a canary or a readiness check in the delivery pipeline.',
    );
  });

  it('renders an escalated incident: the undone action, the rollback to the snapshot, no resolvedAt', async () => {
    const store = openEventStore('memory:');
    await failedRemedy(store);
    const pm = postMortemResource('issue-i2', await eventsOf(store), { last30Days: 2 }, owner, 'cairn-system');
    check(pm!);
    const s = pm!.status;
    expect(pm!.doc.metadata.labels['aiops.cairn.dev/outcome']).toBe('escalated');
    expect(s.resolvedAt).toBeUndefined();
    expect(s.duration).toBe('30s');
    expect(s.timeline?.map((t) => t.type)).toEqual(
      expect.arrayContaining(['VerificationFailed', 'RollbackStarted', 'RollbackCompleted', 'IssueEscalated']),
    );
    expect(s.timeline?.at(-1)?.detail).toMatch(/^escalated \(attempts exhausted\) after 1 attempt/);
    expect(s.actionsExecuted).toEqual([
      {
        type: 'AdjustResources',
        params: { container: 'app', memory_limit: '256Mi' },
        result: 'RolledBack',
        detail: 'memory limit of app 128Mi → 256Mi; undone by the rollback to the snapshot',
        at: second(6),
      },
    ]);
    expect(s.conditions).toMatchObject([{ type: 'Resolved', status: 'False', reason: 'Escalated' }]);
    expect(s.lessonsLearned).toEqual([
      'Attempt 1 (AdjustResources) did not fix it: verification failed: container app OOMKilled again; the workload was restored from its snapshot.',
      'Automatic remediation stopped because every remediation attempt failed: a person has to find and fix the cause.',
      'oom_kill on Deployment shop/hungry also opened 2 Issues in the 30 days before this one: earlier fixes did not remove the cause.',
    ]);
    expect(s.preventionActions).toEqual(
      expect.arrayContaining([
        'Size the memory limit above the working set with headroom, and alert when usage nears the limit.',
        'Once fixed, write a Runbook for this failure so the next one is remediated without a person.',
        'Track the lasting fix as a work item: this failure keeps coming back.',
      ]),
    );
    expect(s.recurrence).toEqual({ last30Days: 2 });
  });

  it('follows every attempt: the first undone by its rollback, the second one that fixed it', async () => {
    const store = openEventStore('memory:');
    await failedRemedy(store, 'i3', 2);
    const { issue, plan } = incident(store, 'i3');
    const rid = 'i3-a2-plan';
    const hungry = { kind: 'Deployment', name: 'hungry', namespace: 'shop' };
    await issue(31, analysis('i3-a2', 'Revision 2 needs more memory than revision 1.', []));
    await issue(32, { type: 'StartRemediation', data: { remediationId: rid, source: 'ai-runbook' } });
    await plan(rid, 32, {
      type: 'CreateRemediationPlan',
      data: {
        remediationId: rid,
        issueId: 'i3',
        attempt: 2,
        source: 'ai-runbook',
        target: hungry,
        actions: [{ actionId: '1-rollbackdeployment', type: 'RollbackDeployment', params: { toRevision: '1' } }],
      },
    });
    await plan(rid, 33, { type: 'StartSnapshot', data: { snapshotId: 's2' } });
    await plan(rid, 33, { type: 'RecordSnapshot', data: { snapshotId: 's2', captured: {} } });
    await plan(rid, 34, { type: 'StartAction', data: { actionId: '1-rollbackdeployment' } });
    await plan(rid, 35, {
      type: 'RecordActionSucceeded',
      data: { actionId: '1-rollbackdeployment', result: 'rolled Deployment shop/hungry back to revision 1' },
    });
    await plan(rid, 35, { type: 'StartVerification', data: {} });
    await plan(rid, 50, { type: 'PassVerification', data: { detail: '1/1 replicas ready' } });
    await issue(51, { type: 'RecordRemediationOutcome', data: { remediationId: rid, outcome: 'completed' } });

    const pm = postMortemResource('issue-i3', await eventsOf(store), { last30Days: 0 }, owner, 'ns');
    check(pm!);
    const s = pm!.status;
    expect(s.actionsExecuted?.map((a) => [a.type, a.result])).toEqual([
      ['AdjustResources', 'RolledBack'],
      ['RollbackDeployment', 'Succeeded'],
    ]);
    expect(s.timeline?.filter((t) => t.type === 'RemediationPlanCreated').map((t) => t.detail)).toEqual([
      'plan for attempt 1 (ai-runbook): AdjustResources',
      'plan for attempt 2 (ai-runbook): RollbackDeployment',
    ]);
    expect(s.rootCause).toBe('Revision 2 needs more memory than revision 1.');
    expect(s.summary).toBe(
      'Resolved after 51s: oom_kill on Deployment shop/hungry (low, risk 30), 2 remediation attempts. ' +
        'RollbackDeployment: rolled Deployment shop/hungry back to revision 1; 1/1 replicas ready.',
    );
    expect(s.lessonsLearned).toEqual([
      'The release running when oom_kill began was at fault: going back cleared it. RollbackDeployment: rolled Deployment shop/hungry back to revision 1.',
      'Attempt 1 (AdjustResources) did not fix it: verification failed: container app OOMKilled again; the workload was restored from its snapshot.',
    ]);
  });

  it('renders a hand-resolved incident whose plan never ran, and says the root cause was not determined', async () => {
    const store = openEventStore('memory:');
    await writeIncident(store, 'm1');
    const pm = postMortemResource(
      'issue-m1',
      await eventsOf(store),
      { last30Days: 1, related: ['checkout-m0-postmortem-m0'] },
      owner,
      'cairn-system',
    );
    check(pm!);
    expect(pm!.status).toMatchObject({
      rootCause: 'Not determined: the Issue ended before any analysis completed.',
      actionsExecuted: [],
      duration: '5m',
      resolvedAt: minute(5),
      recurrence: { last30Days: 1, related: ['checkout-m0-postmortem-m0'] },
      conditions: [{ status: 'True', reason: 'ResolvedByHand' }],
    });
    expect(pm!.status.lessonsLearned).toContain(
      'A person resolved it (memory limit raised by hand); no Cairn remediation closed it.',
    );
  });

  it('renders nothing for an Issue still open, and the same document however often and however late', async () => {
    const store = openEventStore('memory:');
    await badRelease(store);
    const events = await eventsOf(store);
    const end = events.findIndex((e) => e.type === 'IssueResolved');
    expect(postMortemResource('issue-i1', events.slice(0, end), { last30Days: 0 }, owner, 'ns')).toBeUndefined();

    const first = postMortemResource('issue-i1', events, { last30Days: 0 }, owner, 'ns');
    // Events after the end (another incident, a late remediation event) do not change the PostMortem.
    await failedRemedy(store);
    const later = postMortemResource('issue-i1', await eventsOf(store), { last30Days: 0 }, owner, 'ns');
    expect(JSON.stringify(later)).toBe(JSON.stringify(first));
  });

  it('points the ended Issue at its PostMortem, and the open one at none', async () => {
    const store = openEventStore('memory:');
    await badRelease(store);
    const history = await store.readStream('issue-i1');
    const fold = (n: number) => history.slice(0, n).reduce(issueDecider.evolve as never, issueDecider.initialState());
    expect(issueStatus(fold(history.length), second(21)).postMortemRef).toEqual({ name: postMortemName('i1', web) });
    expect(issueStatus(fold(history.length - 1), second(4))).not.toHaveProperty('postMortemRef');
  });
});

describe('PostMortem change context: cascade, suspected commit, GitOps state, blast radius', () => {
  const db = { kind: 'Deployment', name: 'db', namespace: 'shop' };
  const api = { kind: 'Deployment', name: 'api', namespace: 'shop' };
  const member = (issueId: string, workload: typeof web, s: number): CascadeMember => ({
    issueId,
    workload,
    detectedAt: second(s),
  });
  const render = (events: readonly IncidentEvent[]) => {
    const pm = postMortemResource('issue-i1', events, { last30Days: 0 }, owner, 'cairn-system');
    expect(pm).toBeDefined();
    check(pm!);
    return pm!.status;
  };
  /** The bad release, correlated into each cascade in turn (through the Issue decider) before it ends. */
  const inCascades = async (...chains: CascadeMember[][]) => {
    const store = openEventStore('memory:');
    await badRelease(store, 'i1', async (issue) => {
      for (const [n, chain] of chains.entries()) {
        await issue(9 + n, {
          type: 'CorrelateCascade',
          data: { rootIssueId: chain[0]!.issueId, chain, windowMinutes: 15 },
        });
      }
    });
    return eventsOf(store);
  };

  it('renders an Issue without any of them exactly as before', async () => {
    const before = JSON.parse(
      readFileSync(new URL('../test/fixtures/postmortem/without-change-context.json', import.meta.url), 'utf8'),
    );
    const resolved = openEventStore('memory:');
    await badRelease(resolved);
    const escalated = openEventStore('memory:');
    await failedRemedy(escalated);
    const now = {
      resolved: postMortemResource('issue-i1', await eventsOf(resolved), { last30Days: 0 }, owner, 'cairn-system'),
      escalated: postMortemResource(
        'issue-i2',
        await eventsOf(escalated),
        { last30Days: 2, related: ['hungry-x-postmortem-x'] },
        owner,
        'cairn-system',
      ),
    };
    expect(JSON.parse(JSON.stringify(now))).toEqual(before);
  });

  it('names the cascade of a root cause: its workloads in failure order, this Issue first, and what it took down', async () => {
    const s = render(await inCascades([member('i1', web, 0), member('i-api', api, 40), member('i-db', db, 50)]));
    expect(s.cascadeChain).toEqual(['Deployment shop/web', 'Deployment shop/api', 'Deployment shop/db']);
    expect(s.cascadePosition).toBe(1);
    expect(s.timeline?.find((t) => t.type === 'IssueCascadeCorrelated')).toEqual({
      at: second(9),
      type: 'IssueCascadeCorrelated',
      detail:
        'correlated into a cascade of 3 Issues detected within 15 minutes, root cause first: ' +
        'Deployment shop/web → Deployment shop/api → Deployment shop/db; this Issue is the root cause',
    });
    expect(s.impact).toContain(
      'Part of a cascade of 3 Issues, root cause first: Deployment shop/web → Deployment shop/api → Deployment shop/db; this Issue is the root cause.',
    );
    expect(s.lessonsLearned).toContain(
      'The failure of Deployment shop/web spread to 2 other workloads (Deployment shop/api, Deployment shop/db).',
    );
    expect(s.preventionActions).toContain(
      'Give the workloads that depend on Deployment shop/web timeouts, retries with backoff and circuit breakers, so its failure does not take them down too.',
    );
  });

  it('names the root cause of a dependant’s cascade and its place after it; the latest correlation wins', async () => {
    const s = render(
      await inCascades(
        [member('i-db', db, 0), member('i1', web, 30)],
        [member('i-db', db, 0), member('i-api', api, 10), member('i1', web, 30)],
      ),
    );
    expect(s.cascadeChain).toEqual(['Deployment shop/db', 'Deployment shop/api', 'Deployment shop/web']);
    expect(s.cascadePosition).toBe(3);
    const lines = s.timeline?.filter((t) => t.type === 'IssueCascadeCorrelated').map((t) => t.detail);
    expect(lines).toEqual([
      'correlated into a cascade of 2 Issues detected within 15 minutes, root cause first: Deployment shop/db → Deployment shop/web; ' +
        'this Issue is the 2nd of 2, downstream of the root cause Deployment shop/db (Issue i-db)',
      'correlated into a cascade of 3 Issues detected within 15 minutes, root cause first: ' +
        'Deployment shop/db → Deployment shop/api → Deployment shop/web; this Issue is the 3rd of 3, downstream of the root cause Deployment shop/db (Issue i-db)',
    ]);
    expect(s.impact).toContain(
      'this Issue is the 3rd of 3, downstream of the root cause Deployment shop/db (Issue i-db).',
    );
    expect(s.lessonsLearned).toContain(
      'Deployment shop/web failed after Deployment shop/db (Issue i-db), the root cause of its cascade: the fault started there.',
    );
    expect(s.preventionActions).toContain(
      'Let Deployment shop/web degrade gracefully when Deployment shop/db fails (timeouts, retries with backoff, a circuit breaker).',
    );
  });

  it('tells in the timeline how a dependant’s remediation waited for the root of its cascade', async () => {
    const events = await inCascades([member('i-db', db, 0), member('i1', web, 30)]);
    const at = events.findIndex((e) => e.type === 'RemediationStarted');
    const hold = (type: string, s: number, data: object) => {
      const schema =
        type === 'IssueRemediationDeferred' ? IssueRemediationDeferredSchema : IssueRemediationReleasedSchema;
      expect(Value.Check(schema, data)).toBe(true);
      return { type, streamId: 'issue-i1', data, metadata: { occurredAt: second(s) } };
    };
    const held = [
      hold('IssueRemediationDeferred', 3, {
        rootIssueId: 'i-db',
        insightId: 'i1-a1',
        reason: 'Deployment shop/db, which it calls',
      }),
      hold('IssueRemediationReleased', 4, {
        rootIssueId: 'i-db',
        reason: 'root_resolved',
        detail: 'Issue i-db resolved',
      }),
    ];
    const s = render([...events.slice(0, at), ...held, ...events.slice(at)]);
    expect(s.timeline?.filter((t) => t.type.startsWith('IssueRemediation')).map((t) => t.detail)).toEqual([
      'remediation held while the root of its cascade, Issue i-db, is fixed: Deployment shop/db, which it calls',
      'remediation hold released: the root cause was fixed, so this Issue is remediated on its own if it persists (Issue i-db resolved)',
    ]);
  });

  it('keeps the first 32 workloads of a long cascade and the real place of an Issue beyond them', async () => {
    const chain = Array.from({ length: 40 }, (_, n) =>
      n === 35 ? member('i1', web, n) : member(`i-${n}`, { ...api, name: `svc-${n}` }, n),
    );
    const s = render(await inCascades(chain));
    expect(s.cascadeChain).toHaveLength(32);
    expect(s.cascadeChain?.[0]).toBe('Deployment shop/svc-0');
    expect(s.cascadePosition).toBe(36);
  });

  const commit = (sha: string, extra: Partial<SuspectedCommit> = {}): SuspectedCommit => ({
    repository: 'shop/web-src',
    sha,
    author: 'alice',
    message: 'bump image to 1.4.2-broken',
    at: second(-600),
    confidence: 0.8,
    filesChanged: ['deploy/values.yaml', 'charts/web/templates/deployment.yaml'],
    reasons: ['changes the image tag the failing pods run', 'touches the chart of Deployment shop/web'],
    ...extra,
  });

  /** The events with `change` on the analysis and a second, later analysis (with only a GitOps state) after it. */
  const withChange = (events: readonly IncidentEvent[], first: object, later?: object): IncidentEvent[] =>
    events.flatMap((e) => {
      if (e.type !== 'AnalysisCompleted') return [e];
      const analysed = { ...e, data: { ...(e.data as object), change: first } };
      const again = later && {
        ...e,
        metadata: { occurredAt: second(3) },
        data: { ...(e.data as object), insightId: 'i1-a1b', analysis: 'Still the image.', change: later },
      };
      for (const x of [analysed, again]) if (x) expect(Value.Check(AnalysisCompletedSchema, x.data)).toBe(true);
      return again ? [analysed, again] : [analysed];
    });

  it('takes the top suspected commit of the last analysis that named any, with its reasons, and the GitOps state', async () => {
    const store = openEventStore('memory:');
    await badRelease(store);
    const events = withChange(
      await eventsOf(store),
      {
        gitOps: 'Argo CD Application shop/web: OutOfSync, Degraded',
        suspectedCommits: [commit('3f9a2c1d'), commit('0bada55')],
      },
      { gitOps: 'Argo CD Application shop/web: Synced, Degraded (revision 3f9a2c1d)' },
    );
    const s = render(events);
    expect(s.suspectedCommit).toEqual({
      repository: 'shop/web-src',
      sha: '3f9a2c1d',
      author: 'alice',
      message: 'bump image to 1.4.2-broken',
      at: second(-600),
      confidence: 0.8,
      filesChanged: ['deploy/values.yaml', 'charts/web/templates/deployment.yaml'],
      reasons: ['changes the image tag the failing pods run', 'touches the chart of Deployment shop/web'],
    });
    expect(s.gitOps).toBe('Argo CD Application shop/web: Synced, Degraded (revision 3f9a2c1d)');
    expect(s.rootCause).toBe(
      'Still the image. Suspected change: commit 3f9a2c1 in shop/web-src by alice ("bump image to 1.4.2-broken"), confidence 0.8: ' +
        'changes the image tag the failing pods run; touches the chart of Deployment shop/web.',
    );
    const analyses = s.timeline?.filter((t) => t.type === 'AnalysisCompleted').map((t) => t.detail);
    expect(analyses?.[0]).toMatch(
      / Suspected commit 3f9a2c1 in shop\/web-src by alice .*confidence 0\.8: changes the image tag/,
    );
    expect(analyses?.[1]).not.toContain('Suspected');
    expect(s.preventionActions).toContain(
      'Find out how commit 3f9a2c1 of shop/web-src reached the cluster unchecked, and gate its releases on checks that cover what it changed (deploy/values.yaml, charts/web/templates/deployment.yaml).',
    );
  });

  it('shows no commit when no analysis named one, and keeps the bounds of the largest commit the events allow', async () => {
    const store = openEventStore('memory:');
    await badRelease(store);
    const quiet = render(withChange(await eventsOf(store), { gitOps: 'Helm release web: deployed, revision 7' }));
    expect(quiet.suspectedCommit).toBeUndefined();
    expect(quiet.gitOps).toBe('Helm release web: deployed, revision 7');
    expect(quiet.rootCause).not.toContain('Suspected');

    const huge = commit('a'.repeat(64), {
      repository: `${'n'.repeat(63)}/${'r'.repeat(253)}`,
      author: 'x'.repeat(253),
      message: 'm'.repeat(2048),
      filesChanged: Array.from({ length: 64 }, (_, n) => `${n}`.padEnd(1024, 'f')),
      reasons: Array.from({ length: 8 }, () => 'r'.repeat(2048)),
    });
    const s = render(withChange(await eventsOf(store), { gitOps: 'g'.repeat(4096), suspectedCommits: [huge] }));
    expect(s.suspectedCommit?.filesChanged).toHaveLength(64);
    expect(s.gitOps).toHaveLength(4096);
  });

  const radius: PlanBlastRadius = {
    actions: [
      {
        actionId: '1-rollbackdeployment',
        type: 'RollbackDeployment',
        pods: 2,
        replicas: { before: 2, after: 2 },
        pdbViolations: [{ namespace: 'shop', name: 'web-pdb', disruptionsAllowed: 0, podsTaken: 2 }],
        servicesEmptied: [{ namespace: 'shop', name: 'web', readyEndpoints: 2 }],
        quotaOverflows: [
          {
            namespace: 'shop',
            name: 'compute',
            resource: 'limits.memory',
            used: 768 * 2 ** 20,
            added: 512 * 2 ** 20,
            hard: 2 ** 30,
          },
        ],
      },
    ],
    dependants: [api, db],
  };
  const withRadius = (events: readonly IncidentEvent[], blastRadius: PlanBlastRadius) =>
    events.map((e) => {
      if (e.type !== 'RemediationPlanCreated') return e;
      const planned = { ...e, data: { ...(e.data as object), blastRadius } };
      expect(Value.Check(RemediationPlanCreatedSchema, planned.data)).toBe(true);
      return planned;
    });

  it('records what each plan was assessed to take: pods, replicas, PodDisruptionBudgets, Services, quota, dependants', async () => {
    const store = openEventStore('memory:');
    await badRelease(store);
    const s = render(withRadius(await eventsOf(store), radius));
    expect(s.blastRadius).toEqual([
      {
        attempt: 1,
        actions: [
          {
            type: 'RollbackDeployment',
            pods: 2,
            replicas: { before: 2, after: 2 },
            pdbViolations: [{ namespace: 'shop', name: 'web-pdb', disruptionsAllowed: 0, podsTaken: 2 }],
            servicesEmptied: [{ namespace: 'shop', name: 'web', readyEndpoints: 2 }],
            quotaOverflows: [
              {
                namespace: 'shop',
                name: 'compute',
                resource: 'limits.memory',
                used: 768 * 2 ** 20,
                added: 512 * 2 ** 20,
                hard: 2 ** 30,
              },
            ],
          },
        ],
        dependants: ['Deployment shop/api', 'Deployment shop/db'],
      },
    ]);
    const assessed =
      '2 pods; RollbackDeployment replicas 2 → 2; RollbackDeployment breaks PodDisruptionBudget shop/web-pdb: takes 2 healthy pod(s), allows 0; ' +
      'RollbackDeployment empties Service shop/web: all 2 ready endpoint(s) gone; ' +
      'RollbackDeployment exceeds ResourceQuota shop/compute limits.memory: 768Mi used + 512Mi > 1024Mi; ' +
      '2 dependants (Deployment shop/api, Deployment shop/db)';
    expect(s.impact).toContain(` The plan for attempt 1 was assessed to take ${assessed}.`);
    expect(s.timeline?.find((t) => t.type === 'RemediationPlanCreated')?.detail).toBe(
      `plan for attempt 1 (ai-runbook): RollbackDeployment; blast radius: ${assessed}`,
    );
    expect(s.preventionActions).toContain(
      'Run enough replicas of Deployment shop/web that a remediation can restart pods without emptying a Service or breaking a PodDisruptionBudget.',
    );
  });

  it('keeps the last 16 plans, and fewer when their findings would not fit in the object', async () => {
    const store = openEventStore('memory:');
    await badRelease(store);
    const events = await eventsOf(store);
    const plan = events.find((e) => e.type === 'RemediationPlanCreated')!;
    const end = events.findIndex((e) => e.type === 'IssueResolved');
    const plans = (blastRadius: PlanBlastRadius) =>
      Array.from({ length: 20 }, (_, n) => {
        const data = { ...(plan.data as object), remediationId: `p${n + 1}`, attempt: n + 1, blastRadius };
        expect(Value.Check(RemediationPlanCreatedSchema, data)).toBe(true);
        return { ...plan, streamId: `remediation-p${n + 1}`, data };
      });
    const withPlans = (blastRadius: PlanBlastRadius) => [
      ...events.slice(0, end),
      ...plans(blastRadius),
      ...events.slice(end),
    ];
    expect(render(withPlans(radius)).blastRadius?.map((p) => p.attempt)).toEqual(
      Array.from({ length: 16 }, (_, n) => n + 5),
    );

    const finding = (n: number) => ({ namespace: 'shop', name: `x-${n}`.padEnd(60, 'x') });
    const crowded: PlanBlastRadius = {
      actions: Array.from({ length: 50 }, (_, a) => ({
        ...radius.actions[0]!,
        actionId: `a${a}`,
        pdbViolations: Array.from({ length: 32 }, (_, n) => ({ ...finding(n), disruptionsAllowed: 0, podsTaken: 1 })),
        servicesEmptied: Array.from({ length: 32 }, (_, n) => ({ ...finding(n), readyEndpoints: 1 })),
        quotaOverflows: Array.from({ length: 32 }, (_, n) => ({
          ...finding(n),
          resource: 'limits.memory',
          used: 1,
          added: 1,
          hard: 1,
        })),
      })),
      dependants: Array.from({ length: 64 }, (_, n) => ({ ...api, name: `dep-${n}` })),
    };
    const s = render(withPlans(crowded));
    expect(s.blastRadius?.map((p) => p.attempt)).toEqual([20]);
    expect(s.blastRadius?.[0]?.actions).toHaveLength(50);
    expect(s.impact?.length).toBeLessThanOrEqual(8_000);
  });

  it('keeps a plan that takes nothing short, without a prevention line about replicas', async () => {
    const store = openEventStore('memory:');
    await badRelease(store);
    const { replicas: _, ...rollback } = radius.actions[0]!;
    const harmless: PlanBlastRadius = {
      actions: [{ ...rollback, pods: 0, pdbViolations: [], servicesEmptied: [], quotaOverflows: [] }],
      dependants: [],
    };
    const s = render(withRadius(await eventsOf(store), harmless));
    expect(s.blastRadius).toEqual([{ attempt: 1, actions: [{ type: 'RollbackDeployment', pods: 0 }] }]);
    expect(s.impact).toContain('The plan for attempt 1 was assessed to take 0 pods.');
    expect(s.preventionActions?.join('\n')).not.toContain('Run enough replicas');
  });
});

describe('PostMortem review on the object', () => {
  const event = (type: string, s: number, data: object) => ({ type, data, metadata: { occurredAt: second(s) } });

  it('shows the review, the latest feedback, the latest root cause correction and the close', async () => {
    const store = openEventStore('memory:');
    await badRelease(store);
    const pm = postMortemResource('issue-i1', await eventsOf(store), { last30Days: 0 }, owner, 'ns')!;
    const reviewed = event('PostMortemReviewed', 100, { issueId: 'i1', reviewer: 'key:alice', notes: 'first look' });
    const corrected = event('PostMortemFeedbackRecorded', 110, {
      issueId: 'i1',
      by: 'key:bob',
      rating: 2,
      rootCauseOverride: 'The chart pinned the wrong image tag.',
    });
    const rated = event('PostMortemFeedbackRecorded', 120, {
      issueId: 'i1',
      by: 'key:carol',
      rating: 4,
      comments: 'fast',
    });
    const closed = event('PostMortemClosed', 130, { issueId: 'i1', closedBy: 'key:alice' });

    const inReview = withReview(pm.status, [reviewed]);
    expect(inReview).toMatchObject({ state: 'InReview', reviewedAt: second(100), reviewedBy: 'key:alice' });
    expect(inReview.closedAt).toBeUndefined();

    const all = [reviewed, corrected, rated, closed];
    const s = withReview(pm.status, all);
    check({ ...pm, status: s });
    expect(s).toMatchObject({
      state: 'Closed',
      reviewedAt: second(100),
      reviewedBy: 'key:alice',
      closedAt: second(130),
      closedBy: 'key:alice',
      feedback: { rating: 4, comments: 'fast', by: 'key:carol', at: second(120) },
      rootCauseOverride: { text: 'The chart pinned the wrong image tag.', by: 'key:bob', at: second(110) },
    });
    expect(s.feedback).not.toHaveProperty('rootCauseOverride');
    // The analysis's root cause stays beside the correction, and nothing else of the document moves.
    expect(s.rootCause).toBe(pm.status.rootCause);
    expect(s.timeline).toEqual(pm.status.timeline);
    // Folding the stream again (a replay) gives the same document.
    expect(withReview(withReview(pm.status, all), all)).toEqual(s);
    // An open PostMortem with no review events is untouched.
    expect(withReview(pm.status, [])).toEqual(pm.status);
  });

  it('cuts a correction longer than the object holds to its 16 KiB', async () => {
    const store = openEventStore('memory:');
    await badRelease(store);
    const pm = postMortemResource('issue-i1', await eventsOf(store), { last30Days: 0 }, owner, 'ns')!;
    const s = withReview(pm.status, [
      event('PostMortemFeedbackRecorded', 5, { issueId: 'i1', by: 'key:bob', rootCauseOverride: 'x'.repeat(20_000) }),
    ]);
    check({ ...pm, status: s });
    expect(s.rootCauseOverride?.text).toHaveLength(16_384);
    expect(s.state).toBe('Open');
  });
});

describe('recurrence over the last 30 days', () => {
  const day = (d: number, h = 0) => new Date(Date.UTC(2026, 10, 1 + d, h)).toISOString();

  async function detections(): Promise<RecordedEvent<IssueDetected>[]> {
    const store = openEventStore('memory:');
    const detect = async (issueId: string, at: string, signal: string, name = 'web') => {
      const workload = { ...web, name };
      await createCommandHandler(store, issueDecider)(streamName(StreamCategory.Issue, issueId), {
        type: 'DetectIssue',
        data: {
          issueId,
          workload,
          resource: workload,
          signal,
          source: 'watcher',
          anomalyId: `${issueId}-a`,
          description: '',
        },
        metadata: { occurredAt: at },
      });
    };
    await detect('too-old', day(0), 'crashloop');
    await detect('in-window', day(1), 'crashloop');
    await detect('other-signal', day(5), 'oom_kill');
    await detect('other-workload', day(6), 'crashloop', 'api');
    await detect('just-before', day(30, 23), 'crashloop');
    await detect('current', day(31), 'crashloop');
    await detect('after', day(32), 'crashloop');
    return (await store.readAll()).filter((e) => e.type === 'IssueDetected') as RecordedEvent<IssueDetected>[];
  }

  it('counts earlier Issues on the same workload with the same first signal, detected in the 30 days before', async () => {
    const all = await detections();
    const current = all.find((d) => d.data.issueId === 'current')!;
    expect(recurrencesOf(current, all).map((d) => d.data.issueId)).toEqual(['in-window', 'just-before']);
    expect(recurrenceCount(current, all)).toBe(2);
    // Each Issue has its own window: the one a day after `too-old` counts it.
    const inWindow = all.find((d) => d.data.issueId === 'in-window')!;
    expect(recurrencesOf(inWindow, all).map((d) => d.data.issueId)).toEqual(['too-old']);
    expect(recurrenceCount(all.find((d) => d.data.issueId === 'too-old')!, all)).toBe(0);
  });
});

describe('formatDuration', () => {
  it.each([
    [0, '0s'],
    [0.25, '250ms'],
    [42, '42s'],
    [60, '1m'],
    [754, '12m34s'],
    [3600, '1h'],
    [3725, '1h2m5s'],
  ])('%s seconds → %s', (seconds, text) => {
    expect(formatDuration(seconds)).toBe(text);
  });
});
