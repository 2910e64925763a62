import { describe, expect, it } from 'vitest';
import { slaDecider } from '../../domain/sla/sla.decider.ts';
import { StreamCategory, streamName } from '../../domain/streams.ts';
import { openEventStore } from '../adapters/eventstore/openEventStore.ts';
import { createCairnMetrics } from '../adapters/metrics/prometheus.metrics.ts';
import { createCommandHandler } from '../application/commandHandler.ts';

const sample = (text: string, series: string): number | undefined => {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.split(' ')[1]);
};

describe('cairn_sla_violations_total', () => {
  it('counts missed targets from the log, by severity and kind', async () => {
    const metrics = createCairnMetrics();
    const store = openEventStore('memory:');
    const feed = metrics.follow(store);
    const clocks = createCommandHandler(store, slaDecider);
    const workload = { kind: 'Deployment', name: 'cart', namespace: 'shop' };
    const t0 = Date.parse('2026-12-07T10:00:00.000Z');
    for (const [id, severity, sweepAfter] of [
      ['a', 'critical', 120],
      ['b', 'critical', 7_200],
      ['c', 'low', 30],
    ] as const) {
      await clocks(streamName(StreamCategory.Sla, id), {
        type: 'StartSla',
        data: {
          issueId: id,
          severity,
          workload,
          detectedAt: new Date(t0).toISOString(),
          terms: {
            sla: { namespace: 'shop', name: 'web', generation: 1 },
            responseSeconds: 60,
            resolutionSeconds: 3_600,
            escalateOn: [],
          },
        },
        metadata: { occurredAt: new Date(t0).toISOString(), actor: 'system:sla' },
      });
      await clocks(streamName(StreamCategory.Sla, id), {
        type: 'SweepSla',
        data: {},
        metadata: { occurredAt: new Date(t0 + sweepAfter * 1000).toISOString(), actor: 'system:sla' },
      });
    }
    const text = async () => (await metrics.scrape()).body;
    for (
      let i = 0;
      i < 100 && sample(await text(), 'cairn_sla_violations_total{severity="critical",kind="resolution"}') !== 1;
      i++
    ) {
      await new Promise((r) => setTimeout(r, 20));
    }
    const body = await text();
    await feed.close();
    await store.close();
    expect(sample(body, 'cairn_sla_violations_total{severity="critical",kind="response"}')).toBe(2);
    expect(sample(body, 'cairn_sla_violations_total{severity="critical",kind="resolution"}')).toBe(1);
    expect(sample(body, 'cairn_sla_violations_total{severity="low",kind="response"}')).toBeUndefined();
  });
});
