import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type Database from 'better-sqlite3';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chaosRunsProjection } from '../../../../projections/chaosRuns.projection.ts';
import { readModelProjections } from '../../../../projections/readModel.projections.ts';
import { testKeys } from '../../../../test/support/apiKeys.ts';
import { writeGameDay } from '../../../../test/support/chaosLog.ts';
import { createApiCommands } from '../../../application/apiCommands.ts';
import { createAnomalyIntake } from '../../../application/detection/anomalyIntake.ts';
import { createAnomalyRecorder } from '../../../application/detection/anomalyRecorder.ts';
import { createProjectionRunner, type ProjectionRunner } from '../../../application/projectionRunner.ts';
import { buildChaosReport } from '../../../chaos/chaosReport.ts';
import type { EventStore } from '../../../ports/eventStore.ts';
import { WorkloadRefusal } from '../../../ports/workloadLookup.ts';
import { openEventStore } from '../../eventstore/openEventStore.ts';
import { createChaosQueries } from '../../readmodel/chaos.queries.ts';
import { createReadModelQueries } from '../../readmodel/readModel.queries.ts';
import { createSqliteProjectionTarget, openSqliteReadModel } from '../../readmodel/sqlite.projectionTarget.ts';
import { graphqlRoutes } from '../graphql/graphql.plugin.ts';
import { buildHttpApp } from '../httpApp.ts';

/**
 * The chaos read side as the operator serves it: a game day's events in a sqlite event store, projected into a
 * sqlite read model by the projection runner, read through REST and GraphQL with real API keys.
 */
let dir: string;
let store: EventStore;
let db: Database.Database;
let runner: ProjectionRunner;
let app: FastifyInstance;
const auth = testKeys();

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'cairn-chaos-api-'));
  store = openEventStore(`sqlite:${join(dir, 'events.db')}`);
  await writeGameDay(store, 'shop', 'bad-image');
  await writeGameDay(store, 'payments', 'bad-image');
  await writeGameDay(store, 'shop', 'another.one', 'iss-another');
  db = openSqliteReadModel(join(dir, 'readmodel.db'));
  runner = createProjectionRunner({
    store,
    target: createSqliteProjectionTarget(db),
    projections: readModelProjections,
  });
  await runner.catchUp();
  const queries = createReadModelQueries(db);
  const chaos = createChaosQueries(db, queries);
  const now = () => new Date();
  app = await buildHttpApp({
    intake: createAnomalyIntake({ record: createAnomalyRecorder({ store, newId: () => 'x', now }), store }),
    workloads: { resolve: async () => ({ ok: false, reason: WorkloadRefusal.NotFound, message: 'none' }) },
    newId: () => 'x',
    now,
    security: auth.security,
    securedPlugins: [graphqlRoutes({ queries, chaos })],
    api: { queries, commands: createApiCommands({ store, now }), chaos: { queries: chaos } },
  });
});
afterAll(async () => {
  await app?.close();
  await runner?.stop();
  await store?.close();
  db?.close();
  rmSync(dir, { recursive: true, force: true });
});

const get = (url: string, role: 'viewer' | 'operator' | 'admin' | null = 'viewer') =>
  app.inject({ method: 'GET', url, headers: role === null ? {} : auth.header(role) });
const gql = async (query: string, variables: Record<string, unknown> = {}) => {
  const response = await app.inject({
    method: 'POST',
    url: '/graphql',
    headers: auth.header('viewer'),
    payload: { query, variables },
  });
  expect(response.statusCode).toBe(200);
  return response.json() as { data: Record<string, unknown> | null; errors?: { message: string }[] };
};

describe('GET /api/v1/chaos', () => {
  it('lists every experiment that has run, with its latest run and figures, to any key', async () => {
    expect((await get('/api/v1/chaos', null)).statusCode).toBe(401);
    const response = await get('/api/v1/chaos');
    expect(response.statusCode).toBe(200);
    const page = response.json();
    expect(page.items.map((e: { namespace: string; name: string }) => `${e.namespace}/${e.name}`)).toEqual([
      'payments/bad-image',
      'shop/another.one',
      'shop/bad-image',
    ]);
    expect(page.nextCursor).toBeNull();
    expect(page.items[2]).toMatchObject({
      runs: 4,
      latest: {
        run: 4,
        state: 'Failed',
        outcome: 'failed',
        fault: { type: 'image_pull', count: 1 },
        target: { kind: 'Deployment', namespace: 'shop', name: 'web' },
        figures: { timeToDetectSeconds: 4, timeToPlanSeconds: null, remediatedByCairn: false, issueId: 'iss-shop-r4' },
      },
    });
  });

  it('filters by namespace and pages with a cursor; a cursor or filter it does not know is refused', async () => {
    const shop = (await get('/api/v1/chaos?namespace=shop')).json();
    expect(shop.items.map((e: { name: string }) => e.name)).toEqual(['another.one', 'bad-image']);
    const first = (await get('/api/v1/chaos?limit=2')).json();
    expect(first.items).toHaveLength(2);
    const second = (await get(`/api/v1/chaos?limit=2&cursor=${first.nextCursor}`)).json();
    expect(second.items.map((e: { name: string }) => e.name)).toEqual(['bad-image']);
    expect(second.nextCursor).toBeNull();
    const bad = await get('/api/v1/chaos?cursor=nonsense');
    expect(bad.statusCode).toBe(400);
    expect(bad.json().code).toBe('query.invalid_cursor');
    expect((await get('/api/v1/chaos?namspace=shop')).statusCode).toBe(400);
    expect((await get('/api/v1/chaos?limit=501')).statusCode).toBe(400);
  });
});

describe('GET /api/v1/chaos/{namespace}/{name}/report', () => {
  it('is the report the CLI prints from the stream, with the Issue signal from the read model', async () => {
    const response = await get('/api/v1/chaos/shop/bad-image/report');
    expect(response.statusCode).toBe(200);
    const events = await store.readStream('chaos-shop.bad-image');
    const expected = buildChaosReport({ namespace: 'shop', name: 'bad-image' }, events, {
      issueSignal: () => 'image_pull',
    });
    expect(response.json()).toEqual(JSON.parse(JSON.stringify(expected)));
    expect(
      response.json().runs[3].timeline.map((e: { offset: string; text: string }) => `${e.offset} ${e.text}`),
    ).toContain('+00:03.2 Issue detected iss-shop-r1 (image_pull)');
  });

  it('shows one run with ?run=, the summary still over all', async () => {
    const report = (await get('/api/v1/chaos/shop/bad-image/report?run=1')).json();
    expect(report.runs.map((r: { run: number }) => r.run)).toEqual([1]);
    expect(report.runs[0].figures).toEqual({
      timeToDetectSeconds: 3.2,
      timeToPlanSeconds: 4.1,
      timeToRecoverSeconds: 7.9,
      remediatedByCairn: true,
      issueId: 'iss-shop-r1',
    });
    expect(report.summary.runs).toBe(4);
    const latest = (await get('/api/v1/chaos/shop/bad-image/report?last=2')).json();
    expect(latest.runs.map((r: { run: number }) => r.run)).toEqual([4, 3]);
    expect((await get('/api/v1/chaos/shop/bad-image/report?last=0')).statusCode).toBe(400);
  });

  it('answers 404 naming what is missing, and 400 for a malformed request', async () => {
    const none = await get('/api/v1/chaos/shop/ghost/report');
    expect(none.statusCode).toBe(404);
    expect(none.json()).toMatchObject({
      code: 'chaos.not_found',
      detail: 'ChaosExperiment shop/ghost has no runs recorded',
    });
    const run = await get('/api/v1/chaos/shop/bad-image/report?run=9');
    expect(run.statusCode).toBe(404);
    expect(run.json()).toMatchObject({ code: 'chaos.run_not_found' });
    expect((await get('/api/v1/chaos/shop/bad-image/report?run=0')).statusCode).toBe(400);
    expect((await get('/api/v1/chaos/Shop/bad-image/report')).statusCode).toBe(400);
  });

  it('is in the OpenAPI document', async () => {
    const doc = (await get('/api/v1/openapi.json', null)).json();
    expect(Object.keys(doc.paths)).toEqual(
      expect.arrayContaining(['/api/v1/chaos', '/api/v1/chaos/{namespace}/{name}/report']),
    );
  });
});

describe('GraphQL chaosExperiments and chaosReport', () => {
  it('serve the same documents with typed figures', async () => {
    const list = await gql(`{ chaosExperiments(namespace: "payments") {
      items { namespace name runs latest { run state outcome figures { timeToDetectSeconds remediatedByCairn } } }
      nextCursor } }`);
    expect(list.errors).toBeUndefined();
    expect(list.data?.chaosExperiments).toEqual({
      items: [
        {
          namespace: 'payments',
          name: 'bad-image',
          runs: 4,
          latest: {
            run: 4,
            state: 'Failed',
            outcome: 'failed',
            figures: { timeToDetectSeconds: 4, remediatedByCairn: false },
          },
        },
      ],
      nextCursor: null,
    });
    const report = await gql(
      `query ($run: Int) { chaosReport(namespace: "shop", name: "bad-image", run: $run) {
        runs { run state origin figures { timeToDetectSeconds timeToPlanSeconds timeToRecoverSeconds remediatedByCairn issueId }
               checks { name passed } timeline { offset event text } }
        summary { runs outcomes { passed failed refused inProgress } timeToRecoverSeconds { runs median max } remediatedByCairn } } }`,
      { run: 1 },
    );
    expect(report.errors).toBeUndefined();
    const body = report.data?.chaosReport as {
      runs: { figures: unknown; timeline: { offset: string; text: string }[]; origin: string }[];
      summary: unknown;
    };
    expect(body.runs[0]?.figures).toEqual({
      timeToDetectSeconds: 3.2,
      timeToPlanSeconds: 4.1,
      timeToRecoverSeconds: 7.9,
      remediatedByCairn: true,
      issueId: 'iss-shop-r1',
    });
    expect(body.runs[0]?.origin).toBe('injection');
    expect(body.runs[0]?.timeline[0]?.offset).toBe('-00:00.4');
    expect(body.summary).toEqual({
      runs: 4,
      outcomes: { passed: 2, failed: 1, refused: 1, inProgress: 0 },
      timeToRecoverSeconds: { runs: 3, median: 7.9, max: 130.5 },
      remediatedByCairn: 2,
    });
  });

  it('answer null for an experiment without runs, and an error for a run it never had', async () => {
    const none = await gql('{ chaosReport(namespace: "shop", name: "ghost") { name } }');
    expect(none.errors).toBeUndefined();
    expect(none.data?.chaosReport).toBeNull();
    const run = await gql('{ chaosReport(namespace: "shop", name: "bad-image", run: 9) { name } }');
    expect(run.errors?.[0]?.message).toBe('ChaosExperiment shop/bad-image has no run 9; its runs are 1 to 4');
    const latest = await gql('{ chaosReport(namespace: "shop", name: "bad-image", last: 1) { runs { run } } }');
    expect(latest.data?.chaosReport).toEqual({ runs: [{ run: 4 }] });
    const none2 = await gql('{ chaosReport(namespace: "shop", name: "bad-image", last: 0) { name } }');
    expect(none2.errors?.[0]?.message).toBe('last must be 1 or more');
    const limit = await gql('{ chaosExperiments(limit: 0) { nextCursor } }');
    expect(limit.errors?.[0]?.message).toBe('limit must be an integer from 1 to 500');
  });
});

describe('the chaos_runs projection', () => {
  it('writes the same rows when every event is applied twice, and when rebuilt', async () => {
    const rows = () => JSON.stringify(db.prepare('SELECT * FROM chaos_runs ORDER BY namespace, name, run').all());
    const before = rows();
    expect(db.prepare('SELECT COUNT(*) AS n FROM chaos_runs').get()).toEqual({ n: 12 });
    // The injector's undo record stays in the log; the plan's summary and deadlines are kept.
    const planned = (db.prepare('SELECT events FROM chaos_runs').all() as { events: string }[])
      .flatMap((r) => JSON.parse(r.events) as { type: string; data: Record<string, unknown> }[])
      .filter((e) => e.type === 'ChaosInjectionPlanned');
    expect(planned).toHaveLength(9);
    for (const e of planned) expect(e.data).toMatchObject({ plan: {}, summary: expect.stringContaining('unpullable') });
    for (const event of await store.readAll()) {
      if (chaosRunsProjection.handles(event.type)) db.transaction(() => chaosRunsProjection.apply(event, db))();
    }
    expect(rows()).toBe(before);
    await runner.rebuild([chaosRunsProjection.name]);
    expect(rows()).toBe(before);
  });
});
