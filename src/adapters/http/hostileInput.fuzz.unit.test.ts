import fc from 'fast-check';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ResourceRef } from '../../../domain/events/common.schema.ts';
import { createAnomalyIntake } from '../../application/detection/anomalyIntake.ts';
import { createAnomalyRecorder } from '../../application/detection/anomalyRecorder.ts';
import type { EventStore } from '../../ports/eventStore.ts';
import type { WorkloadLookup } from '../../ports/workloadLookup.ts';
import { openEventStore } from '../eventstore/openEventStore.ts';
import { buildHttpApp } from './httpApp.ts';
import { createKeyRing, generateKey } from './security/apiKeys.ts';

/**
 * Hostile bodies against the real app (`inject()`): whatever arrives, the API answers below 500, stays up, records
 * one signal once, and never records outside the caller's namespaces. The number of runs per property is set by
 * CAIRN_FUZZ_RUNS (200 by default, so the unit tier stays quick; raise it to hunt).
 */

const runs = Number(process.env.CAIRN_FUZZ_RUNS ?? 200);
const scoped = generateKey('shop-team', 'operator', new Date(), ['shop']);
const unscoped = generateKey('oncall', 'operator');
const now = new Date('2026-06-01T12:00:00.000Z');

let store: EventStore;
let app: FastifyInstance;

beforeAll(async () => {
  store = openEventStore('memory:');
  let ids = 0;
  const newId = () => `id${++ids}`;
  // Every object exists: the fuzzing is of what callers send, not of what the cluster holds.
  const workloads: WorkloadLookup = {
    async resolve({ kind, name, namespace }) {
      const resource: ResourceRef = { kind, name, namespace: kind === 'Node' ? '' : (namespace ?? '') };
      return { ok: true, resource, workload: resource };
    },
  };
  const ring = createKeyRing([scoped.stored, unscoped.stored]);
  app = await buildHttpApp({
    intake: createAnomalyIntake({ record: createAnomalyRecorder({ store, newId, now: () => now }), store }),
    workloads,
    newId,
    now: () => now,
    // The per-key limit is its own test's subject; here it would turn most of the storm into 429s.
    security: { keys: () => ring, rateLimit: { max: 1_000_000, timeWindowMs: 60_000 } },
  });
});
afterAll(async () => {
  await app?.close();
  await store?.close();
});

/** Mostly what the route accepts (so recording, dedup and scope are reached), sometimes what it must refuse. */
const mostly = <T>(valid: fc.Arbitrary<T>, hostile: fc.Arbitrary<T>) =>
  fc.oneof({ arbitrary: valid, weight: 9 }, { arbitrary: hostile, weight: 1 });
const maybe = <T>(arb: fc.Arbitrary<T>) => fc.option(arb, { nil: undefined });

const name = mostly(
  fc.oneof(fc.constantFrom('checkout', 'web', 'a'), fc.stringMatching(/^[a-z][a-z0-9-]{0,12}$/)),
  fc.oneof(fc.constantFrom('x'.repeat(254), 'kube-dns', '', 'Web!'), fc.string({ maxLength: 40 })),
);
const namespace = mostly(
  fc.constantFrom('shop', 'payments'),
  fc.oneof(fc.constantFrom('kube-system', '', 'SHOP'), fc.string({ maxLength: 70 })),
);
const kind = mostly(
  fc.constantFrom('Deployment', 'StatefulSet', 'Pod', 'Node'),
  fc.oneof(fc.constantFrom('Namespace', 'ClusterRole', 'deployment'), fc.string({ maxLength: 20 })),
);
const instant = mostly(
  // Inside the window an intake accepts (a week before now to five minutes after).
  fc.date({ min: new Date(now.getTime() - 6 * 86_400_000), max: now, noInvalidDate: true }).map((d) => d.toISOString()),
  fc.oneof(
    fc.constantFrom('0001-01-01T00:00:00Z', '9999-12-31T23:59:59Z', 'yesterday', ''),
    fc.date({ noInvalidDate: true }).map((d) => d.toISOString()),
  ),
);

const anomalyBody = mostly(
  fc.record(
    {
      signal: mostly(
        fc.constantFrom('oom_kill', 'pod_restart', 'error_rate', 'latency_spike', 'crashloop'),
        fc.oneof(fc.constant('custom'), fc.string({ maxLength: 30 })),
      ),
      resource: mostly(
        fc.record({ kind, name, namespace: maybe(namespace) }),
        fc.oneof(fc.record({ kind, name, apiVersion: fc.string({ maxLength: 300 }) }), fc.anything()),
      ),
      message: mostly(
        fc.string({ minLength: 1, maxLength: 100 }),
        fc.oneof(fc.constantFrom('', 'm'.repeat(5_000)), fc.anything()),
      ),
      observedAt: maybe(instant),
      alertName: maybe(mostly(fc.string({ minLength: 1, maxLength: 30 }), fc.string({ maxLength: 300 }))),
      labels: maybe(
        mostly(
          fc.dictionary(fc.stringMatching(/^[a-z]{1,10}$/), fc.string({ maxLength: 40 }), { maxKeys: 4 }),
          fc.dictionary(fc.string({ maxLength: 320 }), fc.string({ maxLength: 1_100 }), { maxKeys: 40 }),
        ),
      ),
      // A caller may never choose the source: a body naming one is refused.
      source: mostly(fc.constant(undefined), fc.constantFrom('watcher', 'kafka', 'manual')),
    },
    { requiredKeys: ['signal', 'resource', 'message'] },
  ),
  fc.anything(),
);

const alert = fc.record(
  {
    status: fc.oneof(fc.constantFrom('firing', 'resolved'), fc.string({ maxLength: 10 })),
    labels: fc.oneof(
      fc.record(
        {
          alertname: fc.oneof(fc.constantFrom('HighErrorRate', 'KubePodCrashLooping'), fc.string({ maxLength: 50 })),
          namespace,
          deployment: name,
          pod: name,
          node: name,
          severity: fc.constantFrom('critical', 'warning', 'info', ''),
        },
        { requiredKeys: ['alertname'] },
      ),
      fc.dictionary(fc.string({ maxLength: 20 }), fc.string({ maxLength: 2_000 }), { maxKeys: 70 }),
    ),
    annotations: maybe(fc.dictionary(fc.string({ maxLength: 20 }), fc.string({ maxLength: 200 }), { maxKeys: 5 })),
    startsAt: instant,
    endsAt: instant,
    fingerprint: fc.oneof(fc.constantFrom('fp-1', 'fp-2'), fc.string({ maxLength: 40 })),
  },
  { requiredKeys: [] },
);
const alertmanagerBody = fc.oneof(
  fc.record(
    {
      version: fc.constantFrom('4', '3', 4),
      status: fc.constantFrom('firing', 'resolved'),
      receiver: fc.string({ maxLength: 20 }),
      // Copies of one alert, as a replaying sender produces, beside distinct ones.
      alerts: fc.oneof(
        fc.array(alert, { maxLength: 8 }),
        alert.chain((a) => fc.integer({ min: 2, max: 50 }).map((n) => Array.from({ length: n }, () => a))),
      ),
    },
    { requiredKeys: ['alerts'] },
  ),
  fc.anything(),
);

const post = (url: string, key: string, payload: unknown) =>
  app.inject({
    method: 'POST',
    url,
    headers: { 'x-api-key': key, 'content-type': 'application/json' },
    payload: JSON.stringify(payload ?? null),
  });

/** Every recorded signal: at most one per dedup key, and only where the scoped key reaches. */
async function checkRecorded() {
  const detected = (await store.readAll()).filter((e) => e.type === 'AnomalyDetected');
  const keys = detected.map((e) => (e.data as { dedupKey: string }).dedupKey);
  expect(new Set(keys).size, 'a signal recorded twice in its dedup window').toBe(keys.length);
  return detected;
}

describe('hostile input on the intake routes', () => {
  it('POST /api/v1/anomalies never answers 5xx, and a scoped key never records outside its namespace', async () => {
    let accepted = 0;
    await fc.assert(
      fc.asyncProperty(anomalyBody, fc.boolean(), async (body, useScoped) => {
        const before = (await store.readAll()).length;
        const response = await post('/api/v1/anomalies', useScoped ? scoped.key : unscoped.key, body);
        expect(response.statusCode, response.body).toBeLessThan(500);
        if (response.statusCode === 202) accepted++;
        if (useScoped) {
          const written = (await store.readAll()).slice(before).filter((e) => e.type === 'AnomalyDetected');
          for (const e of written) expect((e.data as { resource: ResourceRef }).resource.namespace).toBe('shop');
        }
      }),
      { numRuns: runs },
    );
    await checkRecorded();
    // Not all refused at the door: the property reached recording, dedup and the scope check.
    expect(accepted, 'hardly any generated body was accepted').toBeGreaterThan(runs / 10);
  });

  it('POST /api/v1/alertmanager never answers 5xx, records each firing once, and honours the key scope', async () => {
    await fc.assert(
      fc.asyncProperty(alertmanagerBody, fc.boolean(), async (body, useScoped) => {
        const before = (await store.readAll()).length;
        const response = await post('/api/v1/alertmanager', useScoped ? scoped.key : unscoped.key, body);
        expect(response.statusCode, response.body).toBeLessThan(500);
        if (useScoped) {
          const written = (await store.readAll()).slice(before).filter((e) => e.type === 'AnomalyDetected');
          for (const e of written) expect((e.data as { resource: ResourceRef }).resource.namespace).toBe('shop');
        }
      }),
      { numRuns: runs },
    );
    await checkRecorded();
  });

  it('bodies that are not JSON, or not objects, get 4xx with a stable code', async () => {
    const raw = fc.oneof(fc.string({ maxLength: 200 }), fc.constantFrom('{', '[]', 'null', '"x"', '{"a":', '\u0000'));
    await fc.assert(
      fc.asyncProperty(raw, fc.constantFrom('/api/v1/anomalies', '/api/v1/alertmanager'), async (text, url) => {
        const response = await app.inject({
          method: 'POST',
          url,
          headers: { 'x-api-key': unscoped.key, 'content-type': 'application/json' },
          payload: text,
        });
        expect(response.statusCode, response.body).toBeGreaterThanOrEqual(400);
        expect(response.statusCode, response.body).toBeLessThan(500);
        expect((response.json() as { code?: unknown }).code).toEqual(expect.any(String));
      }),
      { numRuns: runs },
    );
  });

  it('is still up and serving afterwards', async () => {
    const response = await post('/api/v1/anomalies', scoped.key, {
      signal: 'oom_kill',
      resource: { kind: 'Deployment', name: 'after-the-storm', namespace: 'shop' },
      message: 'OOMKilled',
    });
    expect(response.statusCode, response.body).toBe(202);
    // Every signal recorded, the storm's and this one, was recorded once. How many of the storm's were is left to
    // chance: every observedAt is kept near now, so its repeats of one signal on one workload share a dedup window.
    expect((await checkRecorded()).length).toBeGreaterThan(0);
  });
});
