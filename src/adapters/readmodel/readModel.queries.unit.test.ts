import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { readModelProjections } from '../../../projections/readModel.projections.ts';
import { instant, writeIncident, writeRemediatedIncident } from '../../../test/support/incidentLog.ts';
import { createProjectionRunner } from '../../application/projectionRunner.ts';
import type { EventStore } from '../../ports/eventStore.ts';
import { openEventStore } from '../eventstore/openEventStore.ts';
import { createReadModelQueries, type ReadModelQueries } from './readModel.queries.ts';
import { createSqliteProjectionTarget, openSqliteReadModel } from './sqlite.projectionTarget.ts';

let store: EventStore;
let queries: ReadModelQueries;
let db: ReturnType<typeof openSqliteReadModel>;
const incidents: Record<string, Awaited<ReturnType<typeof writeRemediatedIncident>>> = {};

beforeAll(async () => {
  store = openEventStore('memory:');
  incidents.checkout = await writeRemediatedIncident(store, 'checkout', 0);
  incidents.cart = await writeRemediatedIncident(store, 'cart', 10, { approver: 'key:bob' });
  incidents.db = await writeRemediatedIncident(store, 'db', 20, { signal: 'crashloop', namespace: 'data' });
  // Three more, plain: detected, a plan, resolved by hand.
  for (const [i, id] of ['p1', 'p2', 'p3'].entries()) await writeIncident(store, id, 30 + i * 5);
  db = openSqliteReadModel(':memory:');
  await createProjectionRunner({
    store,
    target: createSqliteProjectionTarget(db),
    projections: readModelProjections,
  }).catchUp();
  queries = createReadModelQueries(db);
});
afterEach(() => {});

describe('read model queries over events written through the deciders', () => {
  it('lists incidents newest first and pages through them with a cursor, without repeats or gaps', () => {
    const all = queries.listIncidents({ limit: 500 }).items.map((i) => i.id);
    expect(all).toHaveLength(6);
    const seen: string[] = [];
    let cursor: string | undefined;
    for (let pages = 0; pages < 10; pages++) {
      const page = queries.listIncidents({ limit: 4, ...(cursor ? { cursor } : {}) });
      seen.push(...page.items.map((i) => i.id));
      if (page.nextCursor === null) break;
      cursor = page.nextCursor;
    }
    expect(seen).toEqual(all);
    const detected = queries.listIncidents().items.map((i) => i.detectedAt!);
    expect([...detected].sort().reverse()).toEqual(detected);
  });

  it('filters incidents by state, severity, signal, namespace, workload and time', () => {
    expect(queries.listIncidents({ namespace: 'data' }).items.map((i) => i.workload.name)).toEqual(['db']);
    expect(queries.listIncidents({ signal: 'crashloop' }).items).toHaveLength(1);
    expect(queries.listIncidents({ workload: 'cart' }).items[0]).toMatchObject({
      state: 'Resolved',
      resolution: 'remediated',
      severity: 'low',
      anomalyCount: 1,
      remediationId: incidents.cart!.remediationId,
    });
    expect(queries.listIncidents({ state: ['Resolved'] }).items).toHaveLength(6);
    expect(queries.listIncidents({ state: ['Detected', 'Analyzing'] }).items).toHaveLength(0);
    expect(
      queries
        .listIncidents({ severity: ['medium'] })
        .items.map((i) => i.id)
        .sort(),
    ).toEqual(['p1', 'p2', 'p3']);
    expect(queries.listIncidents({ since: instant(10), until: instant(25) }).items.map((i) => i.workload.name)).toEqual(
      ['db', 'cart'],
    );
    expect(() => queries.listIncidents({ cursor: 'nonsense' })).toThrow(/cursor/);
    expect(() => queries.listIncidents({ since: 'yesterday' })).toThrow(/ISO-8601/);
  });

  it('gets by id and by many ids in the order asked, with a gap for an unknown id', () => {
    const { issueId } = incidents.checkout!;
    expect(queries.getIncident(issueId)?.workload.name).toBe('checkout');
    expect(queries.getIncident('nope')).toBeUndefined();
    expect(queries.getIncidents(['p2', 'nope', issueId]).map((i) => i?.id)).toEqual(['p2', undefined, issueId]);
  });

  it('tells the timeline of an Issue with its remediation in order', () => {
    const timeline = queries.timeline(incidents.checkout!.issueId).map((t) => t.type);
    expect(timeline).toEqual([
      'IssueDetected',
      'AnalysisRequested',
      'AnalysisCompleted',
      'RemediationStarted',
      'RemediationPlanCreated',
      'ApprovalRequested',
      'ApprovalGranted',
      'SnapshotTaken',
      'ActionSucceeded',
      'VerificationPassed',
      'RemediationCompleted',
      'IssueResolved',
    ]);
    expect(
      queries
        .timelines(['p1', incidents.cart!.issueId])
        .get('p1')
        ?.map((t) => t.type),
    ).toEqual(['IssueDetected', 'IssueAnomalyAttached', 'RemediationPlanCreated', 'IssueResolved']);
  });

  it('keeps anomalies with their Issue and their deduplicated repeats', () => {
    const { issueId, anomalyId } = incidents.checkout!;
    expect(queries.getAnomaly(anomalyId)).toMatchObject({
      issueId,
      duplicates: 1,
      signal: 'oom_kill',
      source: 'watcher',
      resource: { kind: 'Pod', name: 'checkout-7d9-abc' },
      workload: { kind: 'Deployment', name: 'checkout' },
      observedAt: instant(0, 4),
    });
    expect(queries.listAnomalies({ issueId }).items).toHaveLength(1);
    expect(queries.anomaliesOfIssues([issueId]).get(issueId)).toHaveLength(1);
  });

  it('keeps insights, remediations with actions and checkpoints, approvals and runbook use', () => {
    const { issueId, remediationId, requestId } = incidents.cart!;
    expect(queries.listInsights({ issueId }).items[0]).toMatchObject({
      status: 'completed',
      provider: 'rules',
      confidence: 0.9,
      suggestedActions: [{ type: 'AdjustResources' }],
    });
    const remediation = queries.getRemediation(remediationId)!;
    expect(remediation).toMatchObject({
      issueId,
      status: 'Completed',
      outcome: 'completed',
      approvalRequired: true,
      snapshotId: `${remediationId}-snap`,
      actions: [{ actionId: '1-adjustresources', status: 'succeeded', detail: 'memory limit 256Mi → 512Mi' }],
    });
    expect(remediation.checkpoints.map((c) => c.type)).toContain('SnapshotTaken');
    expect(queries.getApproval(requestId)).toMatchObject({
      state: 'approved',
      approvers: ['key:bob'],
      requiredApprovals: 1,
      remediationId,
      issueId,
    });
    expect(queries.listApprovals({ state: 'approved' }).items).toHaveLength(3);
    expect(queries.listRunbookUsage('shop')).toEqual([
      expect.objectContaining({ name: 'auto-oom_kill-cart', timesUsed: 1, successes: 1, failures: 0 }),
      expect.objectContaining({ name: 'auto-oom_kill-checkout', timesUsed: 1, successes: 1 }),
    ]);
  });

  it('renders a PostMortem for every ended Issue', () => {
    const page = queries.listPostMortems();
    expect(page.items).toHaveLength(6);
    const pm = queries.getPostMortem(incidents.db!.issueId)!;
    expect(pm).toMatchObject({ state: 'Open', outcome: 'resolved', signal: 'crashloop', namespace: 'data' });
    expect(pm.summary).toContain('Resolved');
    expect((pm.document.timeline as unknown[]).length).toBeGreaterThan(3);
  });

  it('computes MTTD, MTTR, counts, top resources and the remediation success rate', () => {
    const a = queries.analytics();
    expect(a.incidents).toEqual({ total: 6, open: 0, resolved: 6, escalated: 0 });
    expect(a.bySeverity).toEqual({ low: 3, medium: 3 });
    expect(a.bySignal).toMatchObject({ oom_kill: 5, crashloop: 1, pod_restart: 3 });
    // Observed at :04, the Issue detected at minute+1 :00: 56 s for the three recorded through the correlation stream.
    expect(a.mttdSeconds).toBe(56);
    // Remediated ones: detected at m+1:00, resolved at m+1:41; the plain ones take 5 minutes.
    expect(a.mttrSeconds).toBeCloseTo((41 * 3 + 300 * 3) / 6, 3);
    expect(a.topResources).toHaveLength(6);
    expect(a.remediations).toMatchObject({ total: 6, completed: 3, inProgress: 3, successRate: 1 });
    expect(a.trend).toEqual([{ day: '2026-11-26', detected: 6, resolved: 6 }]);
    expect(queries.analytics({ since: instant(30) }).incidents.total).toBe(3);
  });
});
