import { describe, expect, it } from 'vitest';
import { deciderSpec, metaAt, minutesAfterBase } from '../testing/decider.spec.ts';
import type { RecordAnomaly } from './correlation.commands.ts';
import { correlationDecider } from './correlation.decider.ts';

/** SLO burn alerts of one workload share a dedup key; one carrying a severity floor still reaches the open Issue. */
const spec = deciderSpec(correlationDecider);
const workload = { kind: 'Deployment', name: 'checkout', namespace: 'shop' };
const SLO_KEY = 'c'.repeat(64);

const burn = (anomalyId: string, minute: number, labels?: Record<string, string>): RecordAnomaly => ({
  type: 'RecordAnomaly',
  data: {
    anomalyId,
    dedupKey: SLO_KEY,
    signal: 'slo_burn_rate',
    source: 'prometheus',
    resource: workload,
    workload,
    message: 'SLO shop/checkout burns its error budget',
    observedAt: minutesAfterBase(minute),
    issueIdIfNew: `iss-for-${anomalyId}`,
    ...(labels ? { labels } : {}),
  },
  metadata: metaAt(minute, 'system:slo'),
});
const ticket = { urgency: 'ticket', severity: 'medium', alert: 'ticket-3d' };
const page = { urgency: 'page', severity: 'critical', alert: 'page-1h' };

describe('Correlation of anomalies with a severity floor', () => {
  it('joins a page burn to the open Issue a ticket burn of the same workload opened minutes earlier', () => {
    const events = spec
      .given(...spec.history(burn('slo-ticket', 0, ticket)))
      .when(burn('slo-page', 10, page))
      .events();
    expect(events.map((e) => e.type)).toEqual(['AnomalyDetected', 'AnomalyJoinedIssue']);
    expect(events[1]?.data).toMatchObject({ issueId: 'iss-for-slo-ticket', anomalyId: 'slo-page' });
  });

  it('still deduplicates the same signal without a floor, and a floored one when no Issue is open', () => {
    const opened = spec.history(burn('first', 0, ticket));
    expect(
      spec
        .given(...opened)
        .when(burn('plain', 10))
        .events()
        .map((e) => e.type),
    ).toEqual(['AnomalyDeduplicated']);
    const escalated = spec.history(burn('first', 0, ticket), {
      type: 'CloseCorrelatedIssue',
      data: { issueId: 'iss-for-first', outcome: 'escalated' },
      metadata: metaAt(5),
    });
    expect(
      spec
        .given(...escalated)
        .when(burn('after-escalation', 10, page))
        .events()
        .map((e) => e.type),
    ).toEqual(['AnomalyDeduplicated']);
  });
});
