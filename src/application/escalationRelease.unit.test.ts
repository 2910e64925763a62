import { describe, expect, it } from 'vitest';
import { issueDecider } from '../../domain/issue/issue.decider.ts';
import { readModelProjections } from '../../projections/readModel.projections.ts';
import { instant } from '../../test/support/incidentLog.ts';
import { openEventStore } from '../adapters/eventstore/openEventStore.ts';
import { createSqliteProjectionTarget, openSqliteReadModel } from '../adapters/readmodel/sqlite.projectionTarget.ts';
import { createCommandHandler } from './commandHandler.ts';
import { startEscalationRelease } from './escalationRelease.ts';
import { createProjectionRunner } from './projectionRunner.ts';

const workload = { kind: 'Deployment', name: 'checkout', namespace: 'shop' };

async function openIssue(id: string) {
  const store = openEventStore('memory:');
  const issues = createCommandHandler(store, issueDecider);
  const stream = `issue-${id}`;
  await issues(stream, {
    type: 'DetectIssue',
    data: {
      issueId: id,
      workload,
      resource: workload,
      signal: 'oom_kill',
      source: 'watcher',
      anomalyId: 'a',
      description: 'x',
    },
    metadata: { occurredAt: instant(0), actor: 'system:test' },
  });
  const types = async () => (await store.readStream(stream)).map((e) => e.type);
  return { store, issues, stream, types };
}

describe('escalation pauses while an Issue is acknowledged or snoozed', () => {
  it('holds an automatic escalation of an acknowledged Issue; a person can still escalate it', async () => {
    const { issues, stream, types } = await openIssue('i1');
    await issues(stream, {
      type: 'AcknowledgeIssue',
      data: {},
      metadata: { occurredAt: instant(1), actor: 'key:alice' },
    });
    const held = await issues(stream, {
      type: 'EscalateIssue',
      data: { reason: 'analysis_failed', detail: 'provider down' },
      metadata: { occurredAt: instant(2), actor: 'system:pipeline' },
    });
    expect(held.state.status).toBe('Detected');
    expect(held.state.heldEscalation).toMatchObject({ reason: 'analysis_failed', heldBecause: 'acknowledged' });
    // The pipeline retrying the same step records nothing more.
    await issues(stream, {
      type: 'EscalateIssue',
      data: { reason: 'analysis_failed' },
      metadata: { occurredAt: instant(3), actor: 'system:pipeline' },
    });
    const release = await issues(stream, {
      type: 'ReleaseEscalation',
      data: {},
      metadata: { occurredAt: instant(30), actor: 'system:escalation' },
    });
    expect(release.newEvents).toEqual([]);
    await issues(stream, {
      type: 'EscalateIssue',
      data: { reason: 'manual', detail: 'needs the db team' },
      metadata: { occurredAt: instant(31), actor: 'key:alice' },
    });
    expect(await types()).toEqual(['IssueDetected', 'IssueAcknowledged', 'IssueEscalationPaused', 'IssueEscalated']);
  });

  it('escalates a snoozed Issue when the snooze ends (swept from the read model), and at once on unsnooze', async () => {
    const { store, issues, stream, types } = await openIssue('i2');
    await issues(stream, {
      type: 'SnoozeIssue',
      data: { until: instant(10) },
      metadata: { occurredAt: instant(1), actor: 'key:bob' },
    });
    await issues(stream, {
      type: 'EscalateIssue',
      data: { reason: 'no_remediation' },
      metadata: { occurredAt: instant(2), actor: 'system:pipeline' },
    });
    const db = openSqliteReadModel(':memory:');
    await createProjectionRunner({
      store,
      target: createSqliteProjectionTarget(db),
      projections: readModelProjections,
    }).catchUp();
    let now = new Date(instant(5));
    const release = startEscalationRelease({ store, readModel: db, now: () => now, intervalMs: 3_600_000 });
    expect(await release.sweep()).toBe(0);
    now = new Date(instant(11));
    expect(await release.sweep()).toBe(1);
    release.stop();
    const events = await store.readStream(stream);
    expect(events.map((e) => e.type)).toEqual([
      'IssueDetected',
      'IssueSnoozed',
      'IssueEscalationPaused',
      'IssueEscalated',
    ]);
    expect(events.at(-1)).toMatchObject({
      data: { reason: 'no_remediation' },
      metadata: { actor: 'system:escalation' },
    });

    const second = await openIssue('i3');
    await second.issues(second.stream, {
      type: 'SnoozeIssue',
      data: { until: instant(10) },
      metadata: { occurredAt: instant(1), actor: 'key:bob' },
    });
    await second.issues(second.stream, {
      type: 'EscalateIssue',
      data: { reason: 'analysis_failed' },
      metadata: { occurredAt: instant(2), actor: 'system:pipeline' },
    });
    await second.issues(second.stream, {
      type: 'UnsnoozeIssue',
      data: {},
      metadata: { occurredAt: instant(3), actor: 'key:bob' },
    });
    expect(await second.types()).toEqual([
      'IssueDetected',
      'IssueSnoozed',
      'IssueEscalationPaused',
      'IssueUnsnoozed',
      'IssueEscalated',
    ]);
    expect(await types()).toHaveLength(4);
  });
});
