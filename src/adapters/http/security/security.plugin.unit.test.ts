import type { FastifyInstance } from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import { readModelProjections } from '../../../../projections/readModel.projections.ts';
import { testKeys } from '../../../../test/support/apiKeys.ts';
import { createApiCommands } from '../../../application/apiCommands.ts';
import { createAnomalyIntake } from '../../../application/detection/anomalyIntake.ts';
import { createAnomalyRecorder } from '../../../application/detection/anomalyRecorder.ts';
import { WorkloadRefusal } from '../../../ports/workloadLookup.ts';
import { openEventStore } from '../../eventstore/openEventStore.ts';
import { createReadModelQueries } from '../../readmodel/readModel.queries.ts';
import { openSqliteReadModel } from '../../readmodel/sqlite.projectionTarget.ts';
import { buildHttpApp } from '../httpApp.ts';
import { addKey, createKeyRing, formatKeyFile, generateKey, parseKeyFile } from './apiKeys.ts';
import type { SecurityOptions } from './security.plugin.ts';

const apps: FastifyInstance[] = [];
afterEach(async () => {
  for (const app of apps.splice(0)) await app.close();
});

async function appWith(security: SecurityOptions) {
  const store = openEventStore('memory:');
  const db = openSqliteReadModel(':memory:');
  for (const p of readModelProjections) p.init(db);
  const now = () => new Date();
  const app = await buildHttpApp({
    intake: createAnomalyIntake({ record: createAnomalyRecorder({ store, newId: () => 'x', now }), store }),
    workloads: { resolve: async () => ({ ok: false, reason: WorkloadRefusal.NotFound, message: 'none' }) },
    newId: () => 'x',
    now,
    security,
    api: { queries: createReadModelQueries(db), commands: createApiCommands({ store, now }) },
  });
  apps.push(app);
  return app;
}

const get = (app: FastifyInstance, key?: string) =>
  app.inject({ method: 'GET', url: '/api/v1/incidents', headers: key === undefined ? {} : { 'x-api-key': key } });

describe('API security', () => {
  it('fails closed with a clear problem when no key is configured, and still answers probes', async () => {
    const app = await appWith({ keys: () => createKeyRing([]) });
    const response = await get(app, 'anything');
    expect(response.statusCode).toBe(503);
    expect(response.json()).toMatchObject({
      code: 'auth.no_keys_configured',
      detail: expect.stringContaining('cairn apikey create'),
    });
    expect((await app.inject({ method: 'GET', url: '/healthz' })).statusCode).toBe(200);
    expect((await app.inject({ method: 'GET', url: '/api/v1/openapi.json' })).statusCode).toBe(200);
  });

  it('answers a flood of requests without a valid key from one address with 429, and still serves valid keys', async () => {
    const { security, keys } = testKeys();
    const app = await appWith({ ...security, authFailureLimit: { max: 5, timeWindowMs: 60_000 } });
    const from = (remoteAddress: string, key?: string) =>
      app.inject({
        method: 'GET',
        url: '/api/v1/incidents',
        remoteAddress,
        headers: key === undefined ? {} : { 'x-api-key': key },
      });
    const guesses = [];
    for (let i = 0; i < 8; i++) guesses.push(await from('203.0.113.7', i % 2 === 0 ? undefined : `cairn_${i}`));
    expect(guesses.map((g) => g.statusCode)).toEqual([401, 401, 401, 401, 401, 429, 429, 429]);
    const limited = guesses.at(-1)!;
    expect(limited.json()).toMatchObject({ status: 429, code: 'auth.too_many_failures' });
    expect(limited.json().detail).toMatch(/203\.0\.113\.7/);
    expect(Number(limited.headers['retry-after'])).toBeGreaterThan(0);
    // A valid key works from elsewhere and from the flooding address itself (a shared NAT or ingress address).
    expect((await from('198.51.100.2', keys.viewer)).statusCode).toBe(200);
    expect((await from('203.0.113.7', keys.viewer)).statusCode).toBe(200);
    // Another address without a key is told what is wrong, not throttled.
    expect((await from('198.51.100.2')).json().code).toBe('auth.required');
  });

  it('refuses a missing key and a wrong key with 401, and accepts Bearer as well as X-API-Key', async () => {
    const { security, keys } = testKeys();
    const app = await appWith(security);
    expect((await get(app)).json()).toMatchObject({ status: 401, code: 'auth.required' });
    const wrong = await get(app, `${keys.viewer.slice(0, -4)}AAAA`);
    expect(wrong.statusCode).toBe(401);
    expect(wrong.json().code).toBe('auth.invalid_key');
    expect((await get(app, keys.viewer)).statusCode).toBe(200);
    const bearer = await app.inject({
      method: 'GET',
      url: '/api/v1/incidents',
      headers: { authorization: `Bearer ${keys.viewer}` },
    });
    expect(bearer.statusCode).toBe(200);
  });

  it('accepts the development key as admin only when one is given', async () => {
    const app = await appWith({ keys: () => createKeyRing([]), devKey: 'dev-key-for-this-test' });
    expect((await get(app, 'dev-key-for-this-test')).statusCode).toBe(200);
    expect((await get(app, 'another')).statusCode).toBe(401);
  });

  it('takes a reloaded key ring at once: a revoked key stops working', async () => {
    const a = generateKey('alice', 'viewer');
    let ring = createKeyRing([a.stored]);
    const app = await appWith({ keys: () => ring });
    expect((await get(app, a.key)).statusCode).toBe(200);
    ring = createKeyRing([]);
    expect((await get(app, a.key)).statusCode).toBe(503);
  });

  it('limits each key to 100 requests a minute with 429 and Retry-After, leaving other keys alone', async () => {
    const { security, keys } = testKeys();
    const app = await appWith(security);
    for (let i = 0; i < 100; i++) expect((await get(app, keys.viewer)).statusCode).toBe(200);
    const limited = await get(app, keys.viewer);
    expect(limited.statusCode).toBe(429);
    expect(Number(limited.headers['retry-after'])).toBeGreaterThan(0);
    expect(limited.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(limited.json()).toMatchObject({ status: 429, code: 'auth.rate_limited' });
    expect((await get(app, keys.operator)).statusCode).toBe(200);
    // A request without a valid key is refused before it is counted against anyone.
    expect((await get(app, 'cairn_000000000000_x')).statusCode).toBe(401);
  });

  it('stores keys hashed: the key file holds no key, and refuses a malformed file', () => {
    const { key, stored } = generateKey('ci', 'operator');
    const text = formatKeyFile(addKey([], stored));
    expect(text).not.toContain(key.split('_')[2]);
    expect(parseKeyFile(text, 'keys.json')).toEqual([stored]);
    expect(() => addKey([stored], generateKey('ci', 'admin').stored)).toThrow(/exists/);
    expect(() => parseKeyFile('{"keys":[{"name":"x"}]}', 'keys.json')).toThrow(/not a Cairn key file/);
    expect(() => generateKey('Not Valid', 'viewer')).toThrow(/key name/);
  });
});
