import type { FastifyInstance } from 'fastify';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ResourceRef } from '../../../domain/events/common.schema.ts';
import { createAnomalyIntake } from '../../application/detection/anomalyIntake.ts';
import { correlationStream, createAnomalyRecorder } from '../../application/detection/anomalyRecorder.ts';
import type { EventStore } from '../../ports/eventStore.ts';
import { type WorkloadLookup, WorkloadRefusal } from '../../ports/workloadLookup.ts';
import { openEventStore } from '../eventstore/openEventStore.ts';
import { buildHttpApp } from './httpApp.ts';
import { createKeyRing, generateKey, keyReaches, parseKeyFile } from './security/apiKeys.ts';

/*
 * A key scoped to namespaces raises signals there and nowhere else: not in another namespace, not on a Node.
 * An unscoped key keeps reaching everything.
 */

const checkout: ResourceRef = { kind: 'Deployment', name: 'checkout', namespace: 'shop' };
const ledger: ResourceRef = { kind: 'Deployment', name: 'ledger', namespace: 'payments' };
const node: ResourceRef = { kind: 'Node', name: 'kwok-node-1', namespace: '' };

let store: EventStore;
let app: FastifyInstance;
let looked: string[];

const shopKey = generateKey('shop-team', 'operator', new Date(), ['shop', 'shop-canary']);
const clusterKey = generateKey('oncall', 'operator');

beforeEach(async () => {
  store = openEventStore('memory:');
  looked = [];
  let ids = 0;
  const newId = () => `id${++ids}`;
  const now = () => new Date('2025-03-01T12:00:00.000Z');
  const workloads: WorkloadLookup = {
    async resolve({ kind, name, namespace }) {
      looked.push(`${kind} ${namespace}/${name}`);
      const known = [checkout, ledger, node].find((r) => r.kind === kind && r.name === name);
      if (!known) return { ok: false, reason: WorkloadRefusal.NotFound, message: `${kind} ${name} does not exist` };
      return { ok: true, resource: known, workload: known };
    },
  };
  const ring = createKeyRing([shopKey.stored, clusterKey.stored]);
  app = await buildHttpApp({
    intake: createAnomalyIntake({ record: createAnomalyRecorder({ store, newId, now }), store }),
    workloads,
    newId,
    now,
    security: { keys: () => ring },
  });
});
afterEach(async () => {
  await app.close();
  await store.close();
});

const recordedOn = async (workload: ResourceRef) =>
  (await store.readStream(correlationStream(workload))).filter((e) => e.type === 'AnomalyDetected');

const postAnomaly = (key: string, resource: Record<string, string>, extra: object = {}) =>
  app.inject({
    method: 'POST',
    url: '/api/v1/anomalies',
    headers: { 'x-api-key': key },
    payload: { signal: 'oom_kill', resource, message: 'OOMKilled, says the ticket', ...extra },
  });

describe('POST /api/v1/anomalies with a scoped key', () => {
  it('records a signal in one of its namespaces', async () => {
    const response = await postAnomaly(shopKey.key, { kind: 'Deployment', name: 'checkout', namespace: 'shop' });
    expect(response.statusCode).toBe(202);
    expect(await recordedOn(checkout)).toHaveLength(1);
  });

  it('refuses another namespace and a Node with 403, before looking the object up, and records nothing', async () => {
    const elsewhere = await postAnomaly(shopKey.key, { kind: 'Deployment', name: 'ledger', namespace: 'payments' });
    expect(elsewhere.statusCode).toBe(403);
    expect(elsewhere.json()).toMatchObject({
      code: 'anomaly.outside_key_scope',
      detail: 'key shop-team may raise signals in namespaces shop, shop-canary only, not on Deployment payments/ledger',
    });
    const onNode = await postAnomaly(shopKey.key, { kind: 'Node', name: 'kwok-node-1' }, { signal: 'node_not_ready' });
    expect(onNode.statusCode).toBe(403);
    expect(onNode.json().code).toBe('anomaly.outside_key_scope');
    expect(looked).toEqual([]);
    expect([...(await recordedOn(ledger)), ...(await recordedOn(node))]).toEqual([]);
  });

  it('an unscoped key keeps reaching every namespace and Nodes', async () => {
    const elsewhere = await postAnomaly(clusterKey.key, { kind: 'Deployment', name: 'ledger', namespace: 'payments' });
    const onNode = await postAnomaly(
      clusterKey.key,
      { kind: 'Node', name: 'kwok-node-1' },
      { signal: 'node_not_ready' },
    );
    expect([elsewhere.statusCode, onNode.statusCode]).toEqual([202, 202]);
  });

  it('never takes the source from the caller: a body that claims to be the watcher is refused', async () => {
    for (const key of [shopKey.key, clusterKey.key]) {
      const forged = await postAnomaly(
        key,
        { kind: 'Deployment', name: 'checkout', namespace: 'shop' },
        { source: 'watcher' },
      );
      expect(forged.statusCode).toBe(400);
      expect(forged.json().code).toBe('request.invalid');
    }
    expect(await recordedOn(checkout)).toEqual([]);
    const plain = await postAnomaly(clusterKey.key, { kind: 'Deployment', name: 'checkout', namespace: 'shop' });
    expect(plain.json().source).toBe('manual');
    expect((await recordedOn(checkout))[0]?.data).toMatchObject({ source: 'manual' });
  });
});

const alert = (labels: Record<string, string>) => ({
  status: 'firing',
  labels: { alertname: 'KubePodOOM', severity: 'critical', ...labels },
  annotations: { summary: 'OOMKilled' },
  startsAt: '2025-03-01T11:58:00Z',
  fingerprint: `fp-${JSON.stringify(labels)}`,
});
const postAlerts = (key: string, alerts: unknown[]) =>
  app.inject({
    method: 'POST',
    url: '/api/v1/alertmanager',
    headers: { authorization: `Bearer ${key}` },
    payload: { version: '4', status: 'firing', receiver: 'cairn', alerts },
  });

describe('POST /api/v1/alertmanager with a scoped key', () => {
  const alerts = [
    alert({ namespace: 'shop', deployment: 'checkout' }),
    alert({ namespace: 'payments', deployment: 'ledger' }),
    alert({ alertname: 'KubeNodeNotReady', node: 'kwok-node-1' }),
  ];

  it('records the alerts in its namespaces, refuses the others with 403 and says which', async () => {
    const response = await postAlerts(shopKey.key, alerts);
    expect(response.statusCode).toBe(403);
    const body = response.json();
    expect(body).toMatchObject({
      code: 'alertmanager.outside_key_scope',
      detail:
        '2 of 3 alerts name objects outside namespaces shop, shop-canary, where key shop-team may not raise signals',
    });
    expect(body.results.map((r: { status: string }) => r.status)).toEqual(['recorded', 'forbidden', 'forbidden']);
    expect(body.results[1].reason).toContain('Deployment payments/ledger');
    expect(body.results[2].reason).toContain('Node kwok-node-1');
    expect(looked).toEqual(['Deployment shop/checkout']);
    expect(await recordedOn(checkout)).toHaveLength(1);
    expect([...(await recordedOn(ledger)), ...(await recordedOn(node))]).toEqual([]);
  });

  it('an unscoped key records all three', async () => {
    const response = await postAlerts(clusterKey.key, alerts);
    expect(response.statusCode).toBe(200);
    expect(response.json().recorded).toBe(3);
  });
});

describe('scoped keys', () => {
  it('keep their namespaces in the key file, beside the hash; a file from before scopes still loads, unscoped', () => {
    const text = JSON.stringify({ keys: [shopKey.stored, clusterKey.stored] });
    const [scoped, unscoped] = parseKeyFile(text, 'test');
    expect(scoped?.namespaces).toEqual(['shop', 'shop-canary']);
    expect(unscoped).not.toHaveProperty('namespaces');
    const ring = createKeyRing(parseKeyFile(text, 'test'));
    expect(ring.verify(shopKey.key)?.namespaces).toEqual(['shop', 'shop-canary']);
    expect(ring.verify(clusterKey.key)).not.toHaveProperty('namespaces');
  });

  it('refuse a malformed scope when created or read', () => {
    expect(() => generateKey('x', 'operator', new Date(), [])).toThrow(/1 to 256 namespaces/);
    expect(() => generateKey('x', 'operator', new Date(), ['Shop'])).toThrow('"Shop" is not a namespace name');
    const bad = JSON.stringify({ keys: [{ ...shopKey.stored, namespaces: ['a/b'] }] });
    expect(() => parseKeyFile(bad, 'keys.json')).toThrow(/keys.json is not a Cairn key file/);
  });

  it('reach their namespaces only, never a cluster-scoped object', () => {
    const scoped = { namespaces: ['shop'] };
    expect([keyReaches(scoped, 'shop'), keyReaches(scoped, 'payments'), keyReaches(scoped, '')]).toEqual([
      true,
      false,
      false,
    ]);
    expect([keyReaches({}, 'payments'), keyReaches({}, '')]).toEqual([true, true]);
  });
});
