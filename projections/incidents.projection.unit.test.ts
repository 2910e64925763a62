import { describe, expect, it } from 'vitest';
import { issueDecider } from '../domain/issue/issue.decider.ts';
import { StreamCategory, streamName } from '../domain/streams.ts';
import { createMemoryEventStore } from '../src/adapters/eventstore/memory.eventStore.ts';
import {
  createSqliteProjectionTarget,
  openSqliteReadModel,
} from '../src/adapters/readmodel/sqlite.projectionTarget.ts';
import { createCommandHandler } from '../src/application/commandHandler.ts';
import { createProjectionRunner } from '../src/application/projectionRunner.ts';
import { incidentsProjection } from './incidents.projection.ts';

const at = (minute: number) => new Date(Date.UTC(2026, 10, 26, 12, minute)).toISOString();

async function incidentLog() {
  const store = createMemoryEventStore();
  const issues = createCommandHandler(store, issueDecider);
  const stream = streamName(StreamCategory.Issue, 'i-1');
  const workload = { kind: 'Deployment', name: 'checkout', namespace: 'shop' };
  await issues(stream, {
    type: 'DetectIssue',
    data: {
      issueId: 'i-1',
      workload,
      resource: workload,
      signal: 'oom_kill',
      source: 'watcher',
      anomalyId: 'a-1',
      description: 'OOMKilled',
    },
    metadata: { occurredAt: at(0), actor: 'system:correlation' },
  });
  await issues(stream, {
    type: 'AttachAnomaly',
    data: { anomalyId: 'a-2', signal: 'pod_restart' },
    metadata: { occurredAt: at(1) },
  });
  await issues(stream, { type: 'AcknowledgeIssue', data: {}, metadata: { occurredAt: at(2), actor: 'key:oncall' } });
  await issues(stream, {
    type: 'ResolveIssue',
    data: { note: 'limit raised' },
    metadata: { occurredAt: at(9), actor: 'key:oncall' },
  });
  return store;
}

const rows = (db: ReturnType<typeof openSqliteReadModel>) => ({
  incidents: db.prepare('SELECT * FROM incidents ORDER BY issue_id').all(),
  timeline: db.prepare('SELECT * FROM incident_timeline ORDER BY position').all(),
});

describe('incidents projection', () => {
  it('folds an Issue into one row and a timeline', async () => {
    const store = await incidentLog();
    const db = openSqliteReadModel(':memory:');
    await createProjectionRunner({
      store,
      target: createSqliteProjectionTarget(db),
      projections: [incidentsProjection],
    }).catchUp();
    const { incidents, timeline } = rows(db);
    expect(incidents).toMatchObject([
      {
        issue_id: 'i-1',
        state: 'Resolved',
        severity: 'medium',
        risk_score: 50,
        workload_name: 'checkout',
        acknowledged_by: 'key:oncall',
        detected_at: at(0),
        ended_at: at(9),
      },
    ]);
    expect(timeline.map((r) => (r as { type: string }).type)).toEqual([
      'IssueDetected',
      'IssueAnomalyAttached',
      'IssueAcknowledged',
      'IssueResolved',
    ]);
    expect((timeline[1] as { summary: string }).summary).toBe(
      'signal pod_restart joined: risk 50, severity low → medium',
    );
  });

  it('leaves the same rows when every event is applied twice, and when rebuilt from zero', async () => {
    const store = await incidentLog();
    const events = await store.readAll();
    const once = openSqliteReadModel(':memory:');
    const twice = openSqliteReadModel(':memory:');
    for (const db of [once, twice]) incidentsProjection.init(db);
    for (const event of events) incidentsProjection.apply(event, once);
    for (const event of events) {
      incidentsProjection.apply(event, twice);
      incidentsProjection.apply(event, twice);
    }
    expect(rows(twice)).toEqual(rows(once));

    const rebuilt = openSqliteReadModel(':memory:');
    const runner = createProjectionRunner({
      store,
      target: createSqliteProjectionTarget(rebuilt),
      projections: [incidentsProjection],
    });
    await runner.catchUp();
    await runner.rebuild(['incidents']);
    expect(rows(rebuilt)).toEqual(rows(once));
  });
});
