import type { FastifyInstance } from 'fastify';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { correlationDecider } from '../../../domain/correlation/correlation.decider.ts';
import type { ResourceRef } from '../../../domain/events/common.schema.ts';
import { testKeys } from '../../../test/support/apiKeys.ts';
import { createCommandHandler } from '../../application/commandHandler.ts';
import { type AnomalyIntake, createAnomalyIntake } from '../../application/detection/anomalyIntake.ts';
import { correlationStream, createAnomalyRecorder } from '../../application/detection/anomalyRecorder.ts';
import type { EventStore } from '../../ports/eventStore.ts';
import type { WorkloadLookup } from '../../ports/workloadLookup.ts';
import { openEventStore } from '../eventstore/openEventStore.ts';
import { buildHttpApp } from './httpApp.ts';

const checkout: ResourceRef = { kind: 'Deployment', name: 'checkout', namespace: 'shop' };
const payments: ResourceRef = { kind: 'Deployment', name: 'payments', namespace: 'shop' };
const workloads: WorkloadLookup = {
  async resolve(resource) {
    return { ok: true, resource, workload: resource };
  },
};

const auth = testKeys();
let store: EventStore;
let app: FastifyInstance;
let clock: Date;
let intakeCalls: number;

beforeEach(async () => {
  store = openEventStore('memory:');
  clock = new Date('2025-03-01T12:00:00.000Z');
  intakeCalls = 0;
  let ids = 0;
  const newId = () => `id${++ids}`;
  const now = () => clock;
  const intake = createAnomalyIntake({ record: createAnomalyRecorder({ store, newId, now }), store });
  const counted: AnomalyIntake = (report) => {
    intakeCalls++;
    return intake(report);
  };
  app = await buildHttpApp({ intake: counted, workloads, newId, now, security: auth.security });
});
afterEach(async () => {
  await app.close();
  await store.close();
});

/** One firing as Alertmanager sends it: its fingerprint and start identify it. */
const alert = (deployment: string, startsAt = '2025-03-01T11:58:00Z') => ({
  status: 'firing',
  labels: { alertname: 'HighErrorRate', namespace: 'shop', deployment, severity: 'critical' },
  annotations: { summary: '5xx ratio 12%' },
  startsAt,
  endsAt: '0001-01-01T00:00:00Z',
  fingerprint: `fp-${deployment}`,
});
const post = async (alerts: unknown[]) => {
  const response = await app.inject({
    method: 'POST',
    url: '/api/v1/alertmanager',
    headers: auth.header('operator'),
    payload: { version: '4', status: 'firing', receiver: 'cairn', alerts },
  });
  expect(response.statusCode, response.body).toBe(200);
  return response.json() as {
    received: number;
    recorded: number;
    results: { index: number; status: string; anomalyId?: string; issue?: { id: string }; repeated?: boolean }[];
  };
};
const eventsOf = async (workload: ResourceRef) =>
  (await store.readStream(correlationStream(workload))).map((e) => e.type);

/** What the Issue's end tells the correlation stream (the correlation reactor's job in the operator). */
const resolve = async (workload: ResourceRef, issueId: string) => {
  await createCommandHandler(store, correlationDecider)(correlationStream(workload), {
    type: 'CloseCorrelatedIssue',
    data: { issueId, outcome: 'resolved' },
    metadata: { occurredAt: clock.toISOString(), actor: 'system:correlation' },
  });
};

describe('POST /api/v1/alertmanager: one firing is recorded once', () => {
  it('the same alert delivered three times, its Issue resolved after the first, is one anomaly and one Issue', async () => {
    const first = await post([alert('checkout')]);
    const [recorded] = first.results;
    expect(recorded).toMatchObject({ status: 'recorded', repeated: false });
    await resolve(checkout, recorded!.issue!.id);

    clock = new Date('2025-03-01T12:05:00.000Z');
    const again = [await post([alert('checkout')]), await post([alert('checkout')])];
    for (const body of again) {
      expect(body.results).toEqual([
        expect.objectContaining({
          status: 'recorded',
          anomalyId: recorded!.anomalyId,
          issue: recorded!.issue,
          repeated: true,
        }),
      ]);
    }
    expect(await eventsOf(checkout)).toEqual(['AnomalyDetected', 'CorrelationIssueOpened', 'CorrelationIssueClosed']);
  });

  it('1,000 copies of one alert in one body are recorded once, looked up once, and each copy gets its answer', async () => {
    const body = await post(Array.from({ length: 1_000 }, () => alert('checkout')));
    expect(body).toMatchObject({ received: 1_000, recorded: 1_000 });
    expect(body.results.map((r) => r.index)).toEqual([...Array(1_000).keys()]);
    expect(new Set(body.results.map((r) => r.anomalyId)).size).toBe(1);
    expect(new Set(body.results.map((r) => r.issue?.id)).size).toBe(1);
    expect(body.results.filter((r) => !r.repeated)).toHaveLength(1);
    expect(intakeCalls).toBe(1);
    expect(await eventsOf(checkout)).toEqual(['AnomalyDetected', 'CorrelationIssueOpened']);
  });

  it('copies mixed with other alerts: each firing once, in the order given', async () => {
    const alerts = Array.from({ length: 300 }, (_, i) => alert(i % 3 === 2 ? 'payments' : 'checkout'));
    const body = await post(alerts);
    expect(body.results.filter((r) => !r.repeated).map((r) => r.index)).toEqual([0, 2]);
    expect(await eventsOf(checkout)).toEqual(['AnomalyDetected', 'CorrelationIssueOpened']);
    expect(await eventsOf(payments)).toEqual(['AnomalyDetected', 'CorrelationIssueOpened']);
  });

  it('a new firing of the alert (a new start) after its Issue resolved is a new anomaly with a new Issue', async () => {
    const [first] = (await post([alert('checkout')])).results;
    await resolve(checkout, first!.issue!.id);
    const [second] = (await post([alert('checkout', '2025-03-01T12:30:00Z')])).results;
    expect(second).toMatchObject({ status: 'recorded', repeated: false });
    expect(second?.anomalyId).not.toBe(first?.anomalyId);
    expect(second?.issue?.id).not.toBe(first?.issue?.id);
  });

  it('a new firing while the Issue is open is a duplicate of the first, and its re-delivery appends nothing', async () => {
    await post([alert('checkout')]);
    const later = alert('checkout', '2025-03-01T12:10:00Z');
    expect((await post([later])).results[0]).toMatchObject({ status: 'deduplicated', repeated: false });
    expect((await post([later])).results[0]).toMatchObject({ status: 'deduplicated', repeated: true });
    expect(await eventsOf(checkout)).toEqual(['AnomalyDetected', 'CorrelationIssueOpened', 'AnomalyDeduplicated']);
  });
});
