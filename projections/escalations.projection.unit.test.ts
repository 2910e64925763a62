import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import type { EscalationCommand } from '../domain/escalation/escalation.commands.ts';
import { escalationDecider } from '../domain/escalation/escalation.decider.ts';
import type { RecordedEvent } from '../domain/messages.ts';
import { deciderSpec } from '../domain/testing/decider.spec.ts';
import { createEscalationQueries } from '../src/adapters/readmodel/escalations.queries.ts';
import { escalationsProjection } from './escalations.projection.ts';

const T0 = Date.parse('2026-12-07T10:00:00.000Z');
const at = (s: number) => new Date(T0 + s * 1000).toISOString();
const meta = (s: number) => ({ occurredAt: at(s), actor: 'system:escalation' });

const commands: EscalationCommand[] = [
  {
    type: 'StartEscalation',
    data: {
      issueId: 'iss-7',
      policy: { namespace: 'cairn-system', name: 'platform', generation: 2 },
      notificationPolicy: { namespace: 'cairn-system', name: 'on-call' },
      levels: [
        { name: 'primary', channels: [{ name: 'pager', type: 'pagerduty' }], escalateAfterSeconds: 60 },
        { name: 'secondary', channels: [{ name: 'chat', type: 'slack' }] },
      ],
      repeatLastLevelEverySeconds: 600,
      trigger: 'detected',
      issue: {
        issueId: 'iss-7',
        name: 'web-iss-7',
        severity: 'critical',
        signal: 'oom_kill',
        riskScore: 80,
        workload: { kind: 'Deployment', namespace: 'shop', name: 'web' },
        state: 'Detected',
        summary: 'OOM',
        detectedAt: at(0),
      },
    },
    metadata: meta(0),
  },
  { type: 'FireEscalationDeadline', data: { deadline: at(60) }, metadata: meta(61) },
  { type: 'SnoozeEscalation', data: { until: at(1_000) }, metadata: meta(100) },
];

const recorded = (): RecordedEvent[] =>
  deciderSpec(escalationDecider)
    .history(...commands)
    .map((e, i) => ({
      ...e,
      id: `e${i}`,
      streamId: 'escalation-iss-7',
      revision: BigInt(i),
      position: BigInt(10 + i),
      recordedAt: e.metadata.occurredAt,
      schemaVersion: 1,
    }));

describe('the escalations read model', () => {
  it('shows the level, the next deadline and every page, and an event replayed changes nothing', () => {
    const db = new Database(':memory:');
    escalationsProjection.init(db);
    const events = recorded();
    for (const event of events) {
      escalationsProjection.apply(event, db);
      escalationsProjection.apply(event, db);
    }
    for (const event of events) escalationsProjection.apply(event, db);
    const view = createEscalationQueries(db).ofIssue('iss-7');
    expect(view).toMatchObject({
      policy: { name: 'platform', generation: 2 },
      state: 'snoozed',
      level: 2,
      levelName: 'secondary',
      snoozedUntil: at(1_000),
      // Level 2 was paged at 61 s and repeats every 600 s: 561 s were left at the snooze (100 s), counted from its end.
      nextDeadline: at(1_561),
      repeatLastLevelEverySeconds: 600,
      pages: [
        { level: 1, reason: 'started', at: at(0) },
        { level: 2, reason: 'timeout', at: at(61) },
      ],
    });
    expect(createEscalationQueries(db).ofIssues(['iss-7', 'other']).size).toBe(1);
    expect(createEscalationQueries(db).ofIssue('other')).toBeUndefined();
  });
});
