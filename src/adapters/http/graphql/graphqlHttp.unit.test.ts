import Database from 'better-sqlite3';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readModelProjections } from '../../../../projections/readModel.projections.ts';
import { testKeys } from '../../../../test/support/apiKeys.ts';
import { writePipelineIncident } from '../../../../test/support/pipelineLog.ts';
import { createAnomalyIntake } from '../../../application/detection/anomalyIntake.ts';
import { createAnomalyRecorder } from '../../../application/detection/anomalyRecorder.ts';
import { createProjectionRunner } from '../../../application/projectionRunner.ts';
import { WorkloadRefusal } from '../../../ports/workloadLookup.ts';
import { openEventStore } from '../../eventstore/openEventStore.ts';
import { createReadModelQueries } from '../../readmodel/readModel.queries.ts';
import { createSqliteProjectionTarget } from '../../readmodel/sqlite.projectionTarget.ts';
import { buildHttpApp } from '../httpApp.ts';
import { graphqlRoutes } from './graphql.plugin.ts';
import { QueryCostCode } from './queryCost.ts';

/** /graphql as the operator serves it: behind the API keys and the rate limit, over a read model with incidents. */
let app: FastifyInstance;
const keys = testKeys();
/** Statements the read model ran since the test last cleared the list. */
const statements: string[] = [];
const RATE = 40;

beforeAll(async () => {
  const store = openEventStore('memory:');
  for (let i = 0; i < 3; i++)
    await writePipelineIncident(store, { issueId: `inc0${i}`, outcome: 'resolved', start: i * 100 });
  const db = new Database(':memory:', { verbose: (sql) => statements.push(String(sql)) });
  await createProjectionRunner({
    store,
    target: createSqliteProjectionTarget(db),
    projections: readModelProjections,
  }).catchUp();
  const now = () => new Date();
  app = await buildHttpApp({
    intake: createAnomalyIntake({ record: createAnomalyRecorder({ store, newId: () => 'x', now }), store }),
    workloads: { resolve: async () => ({ ok: false, reason: WorkloadRefusal.NotFound, message: 'no cluster' }) },
    newId: () => 'x',
    now,
    security: { ...keys.security, rateLimit: { max: RATE, timeWindowMs: 60_000 } },
    bodyLimit: 256 * 1024,
    securedPlugins: [graphqlRoutes({ queries: createReadModelQueries(db) })],
  });
});
afterAll(async () => {
  await app?.close();
});

const post = (payload: unknown, headers: Record<string, string> = keys.header('viewer')) =>
  app.inject({
    method: 'POST',
    url: '/graphql',
    headers: { 'content-type': 'application/json', ...headers },
    payload: typeof payload === 'string' ? payload : JSON.stringify(payload),
  });

describe('/graphql at the HTTP level', () => {
  it('answers a request refused before GraphQL with its status and a stable code, as a problem', async () => {
    const query = { query: '{ incidents { items { id } } }' };
    const cases: [string, Awaited<ReturnType<typeof post>>, number, string][] = [
      ['no key', await post(query, {}), 401, 'auth.required'],
      ['wrong key', await post(query, { 'x-api-key': 'cairn_000000000000_nope' }), 401, 'auth.invalid_key'],
      [
        'not JSON',
        await app.inject({
          method: 'POST',
          url: '/graphql',
          headers: { ...keys.header('operator'), 'content-type': 'text/plain' },
          payload: query.query,
        }),
        415,
        'request.unsupported_media_type',
      ],
      [
        'too large',
        await post({ query: `{ incidents { items { id } } } #${'x'.repeat(300_000)}` }, keys.header('operator')),
        413,
        'request.body_too_large',
      ],
      ['malformed JSON', await post('{"query":', keys.header('operator')), 400, 'request.malformed'],
      ['query not a string', await post({ query: 123 }, keys.header('operator')), 400, 'request.invalid'],
      [
        'variables not an object',
        await post({ query: '{ incidents { items { id } } }', variables: [1] }, keys.header('operator')),
        400,
        'request.invalid',
      ],
    ];
    for (const [what, response, status, code] of cases) {
      expect({ what, status: response.statusCode, type: response.headers['content-type'] }).toEqual({
        what,
        status,
        type: 'application/problem+json; charset=utf-8',
      });
      expect(response.json()).toMatchObject({ status, code });
      expect(response.body).not.toMatch(/internal error/);
    }
    expect((await post({ query: 123 }, keys.header('operator'))).json().errors).toEqual([
      { path: 'body/query', message: 'must be a string' },
    ]);
  });

  it('answers over the rate limit with 429, Retry-After and the rate-limit code', async () => {
    const admin = keys.header('admin');
    const answers = [];
    for (let i = 0; i <= RATE; i++) answers.push(await post({ query: '{ incidents { items { id } } }' }, admin));
    expect(answers.slice(0, RATE).map((a) => a.statusCode)).toEqual(Array(RATE).fill(200));
    const over = answers[RATE]!;
    expect(over.statusCode).toBe(429);
    expect(Number(over.headers['retry-after'])).toBeGreaterThan(0);
    expect(over.json()).toMatchObject({ status: 429, code: 'auth.rate_limited' });
  });

  it('refuses a thousand aliases of a nested incident query before reading the read model', async () => {
    const nested = (i: number) =>
      `a${i}: incident(id: "inc01") { id timeline { type summary } anomalies { id } remediation { actions { type } } }`;
    const refused = async (aliases: number) => {
      const query = `{ ${Array.from({ length: aliases }, (_, i) => nested(i)).join(' ')} }`;
      statements.length = 0;
      const response = await post({ query }, keys.header('operator'));
      expect(statements).toEqual([]);
      expect(response.statusCode).toBe(200);
      expect(response.body.length).toBeLessThan(1_000);
      const body = response.json() as { data: null; errors: { message: string; extensions: { code: string } }[] };
      expect(body.data).toBeNull();
      return body.errors[0]!;
    };
    // The issue's thousand aliases are longer than any query Cairn reads: refused before they are parsed.
    const thousand = await refused(1_000);
    expect(thousand.extensions.code).toBe('graphql.query_too_large');
    // Two hundred fit in the text, not in the cost: refused once parsed, before validation or execution.
    const twoHundred = await refused(200);
    expect(Object.values(QueryCostCode)).toContain(twoHundred.extensions.code);
    expect(twoHundred.message).toMatch(/aliases/);
    // The same incident asked once is answered.
    const one = await post({ query: `{ ${nested(0)} }` }, keys.header('operator'));
    expect(one.json().data.a0.id).toBe('inc01');
  });

  it('refuses a page whose size, given as a variable, makes the query too costly, and serves a smaller one', async () => {
    const query = 'query ($n: Int) { incidents(limit: $n) { items { id timeline { type summary } } } }';
    const big = await post({ query, variables: { n: 500 } }, keys.header('operator'));
    expect(big.json().errors[0].extensions.code).toBe(QueryCostCode.TooCostly);
    const small = await post({ query, variables: { n: 2 } }, keys.header('operator'));
    expect(small.json().data.incidents.items).toHaveLength(2);
  });

  it('refuses query text that is not GraphQL, however mercurius would read it', async () => {
    for (const text of ['123', '{"kind":"Document","definitions":[]}']) {
      const response = await post({ query: text }, keys.header('operator'));
      expect(response.statusCode).toBe(200);
      expect(response.json().errors[0].extensions?.code ?? response.json().errors[0].message).toMatch(
        /graphql.syntax|Syntax Error/,
      );
    }
  });
});
