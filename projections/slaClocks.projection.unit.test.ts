import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { slaDecider } from '../domain/sla/sla.decider.ts';
import { StreamCategory, streamName } from '../domain/streams.ts';
import { openEventStore } from '../src/adapters/eventstore/openEventStore.ts';
import { createCommandHandler } from '../src/application/commandHandler.ts';
import { slaClocksProjection } from './slaClocks.projection.ts';

describe('sla_clocks projection', () => {
  it('writes the same row when events are applied twice (a replay after a crash), and follows the clocks', async () => {
    const store = openEventStore('memory:');
    const clocks = createCommandHandler(store, slaDecider);
    const stream = streamName(StreamCategory.Sla, 'i1');
    const t0 = Date.parse('2026-12-07T10:00:00.000Z');
    const meta = (s: number) => ({ occurredAt: new Date(t0 + s * 1000).toISOString(), actor: 'system:sla' });
    await clocks(stream, {
      type: 'StartSla',
      data: {
        issueId: 'i1',
        severity: 'high',
        workload: { kind: 'Deployment', name: 'cart', namespace: 'shop' },
        detectedAt: meta(0).occurredAt,
        terms: {
          sla: { namespace: 'shop', name: 'web', generation: 4 },
          responseSeconds: 100,
          resolutionSeconds: 1_000,
          warningAt: 0.5,
          escalateOn: [],
        },
      },
      metadata: meta(0),
    });
    await clocks(stream, { type: 'SweepSla', data: {}, metadata: meta(60) });
    await clocks(stream, { type: 'SweepSla', data: {}, metadata: meta(120) });
    const events = await store.readStream(stream);
    const db = new Database(':memory:');
    slaClocksProjection.init(db);
    for (const event of events) slaClocksProjection.apply(event, db);
    const once = db.prepare('SELECT * FROM sla_clocks').all();
    for (const event of events) slaClocksProjection.apply(event, db);
    expect(db.prepare('SELECT * FROM sla_clocks').all()).toEqual(once);
    expect(once).toEqual([
      expect.objectContaining({
        issue_id: 'i1',
        sla_namespace: 'shop',
        sla_name: 'web',
        severity: 'high',
        response_state: 'violated',
        response_ended_at: meta(100).occurredAt,
        resolution_state: 'running',
        // The resolution warning (half of 1,000 s) is what a sweep next has to record.
        next_due: meta(500).occurredAt,
        last_violation_at: meta(120).occurredAt,
      }),
    ]);
  });
});
