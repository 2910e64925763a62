import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openEventStore } from '../../adapters/eventstore/openEventStore.ts';
import type { EventStore } from '../../ports/eventStore.ts';
import { type AnomalyIntake, createAnomalyIntake } from './anomalyIntake.ts';
import { createAnomalyRecorder } from './anomalyRecorder.ts';

const checkout = { kind: 'Deployment', name: 'checkout', namespace: 'shop' };
const report = (anomalyId: string, signal = 'error_rate') => ({
  anomalyId,
  signal,
  source: 'prometheus' as const,
  resource: checkout,
  workload: checkout,
  message: 'm',
  observedAt: '2025-03-01T12:00:00.000Z',
});

let store: EventStore;
let intake: AnomalyIntake;

beforeEach(() => {
  store = openEventStore('memory:');
  let n = 0;
  const record = createAnomalyRecorder({
    store,
    newId: () => `issue${++n}`,
    now: () => new Date('2025-03-01T12:00:00Z'),
  });
  intake = createAnomalyIntake({ record, store });
});
afterEach(() => store.close());

describe('createAnomalyIntake', () => {
  it('says a first anomaly opened an Issue, and a second signal joined it', async () => {
    const first = await intake(report('a1'));
    expect(first).toEqual({
      status: 'recorded',
      anomalyId: 'a1',
      dedupKey: expect.stringMatching(/^[0-9a-f]{64}$/),
      issueId: expect.any(String),
      openedIssue: true,
      repeated: false,
    });
    const second = await intake(report('a2', 'latency_spike'));
    expect(second).toMatchObject({ status: 'recorded', issueId: first.issueId, openedIssue: false, repeated: false });
  });

  it('reads the outcome back from the stream when the same anomaly is delivered again', async () => {
    const first = await intake(report('a1'));
    expect(await intake(report('a1'))).toEqual({ ...first, repeated: true });
    const events = await store.readAll();
    expect(events.filter((e) => e.type === 'AnomalyDetected')).toHaveLength(1);
  });

  it('reports a different anomaly with the same signal on the same workload as a duplicate in the open Issue', async () => {
    const first = await intake(report('a1'));
    expect(await intake(report('a2'))).toEqual({
      status: 'deduplicated',
      anomalyId: 'a2',
      dedupKey: first.dedupKey,
      duplicateOf: 'a1',
      issueId: first.issueId,
      repeated: false,
    });
  });
});
