import Fastify, { type FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readModelProjections } from '../../../../projections/readModel.projections.ts';
import { testKeys } from '../../../../test/support/apiKeys.ts';
import { at, writeDependantIncident } from '../../../../test/support/changeContextIncident.ts';
import { writeRemediatedIncident } from '../../../../test/support/incidentLog.ts';
import { createApiCommands } from '../../../application/apiCommands.ts';
import { createAnomalyIntake } from '../../../application/detection/anomalyIntake.ts';
import { createAnomalyRecorder } from '../../../application/detection/anomalyRecorder.ts';
import { createProjectionRunner, type ProjectionRunner } from '../../../application/projectionRunner.ts';
import type { EventStore } from '../../../ports/eventStore.ts';
import { WorkloadRefusal } from '../../../ports/workloadLookup.ts';
import { openEventStore } from '../../eventstore/openEventStore.ts';
import { createReadModelQueries } from '../../readmodel/readModel.queries.ts';
import { createSqliteProjectionTarget, openSqliteReadModel } from '../../readmodel/sqlite.projectionTarget.ts';
import { graphqlPlugin } from '../graphql/graphql.plugin.ts';
import { buildHttpApp } from '../httpApp.ts';

/* The REST and GraphQL views of an analysis show the commits it suspected and the GitOps state it saw. */

let store: EventStore;
let app: FastifyInstance;
let graph: FastifyInstance;
let runner: ProjectionRunner;
let plainId: string;
const auth = testKeys();
const web = { kind: 'Deployment', name: 'web', namespace: 'shop' };
const db = { kind: 'Deployment', name: 'db', namespace: 'shop' };
const suspect = {
  repository: 'shop/web-src',
  sha: '9c1e4b7a',
  author: 'dana',
  message: 'halve the connection pool',
  confidence: 0.75,
  filesChanged: ['config/db.yaml'],
  reasons: ['changes the database settings of the failing workload'],
};
const gitOps = 'Argo CD Application argocd/web: Synced, Degraded at revision 9c1e4b7';

beforeAll(async () => {
  store = openEventStore('memory:');
  await writeDependantIncident(store, 'web-dep', web, db, 'shop/web-src');
  plainId = (await writeRemediatedIncident(store, 'plain', 20)).issueId;
  const readModel = openSqliteReadModel(':memory:');
  runner = createProjectionRunner({
    store,
    target: createSqliteProjectionTarget(readModel),
    projections: readModelProjections,
  });
  await runner.start();
  const queries = createReadModelQueries(readModel);
  graph = Fastify();
  await graph.register(graphqlPlugin, { queries });
  const now = () => new Date(at(100));
  app = await buildHttpApp({
    intake: createAnomalyIntake({ record: createAnomalyRecorder({ store, newId: () => 'x', now }), store }),
    workloads: { resolve: async () => ({ ok: false, reason: WorkloadRefusal.NotFound, message: 'none' }) },
    newId: () => 'x',
    now,
    security: auth.security,
    api: {
      queries,
      commands: createApiCommands({ store, now }),
      audit: store as never,
      slos: { list: async () => [] } as never,
      runbooks: { list: async () => [] } as never,
      clusters: async () => [],
    },
  });
});
afterAll(async () => {
  await app.close();
  await graph.close();
  await runner.stop();
  await store.close();
});

const get = (url: string) => app.inject({ method: 'GET', url, headers: auth.header('viewer') });
const graphql = async (query: string) => {
  const response = await graph.inject({ method: 'POST', url: '/graphql', payload: { query } });
  expect(response.statusCode).toBe(200);
  const body = response.json();
  expect(body.errors).toBeUndefined();
  return body.data;
};

describe('insight views: the change around the workload', () => {
  it('show the suspected commits and the GitOps state over REST, and empty ones for an analysis that named none', async () => {
    const one = await get('/api/v1/insights/web-dep-i1');
    expect(one.statusCode).toBe(200);
    expect(one.json()).toMatchObject({ issueId: 'web-dep', suspectedCommits: [suspect], gitOps });

    const page = (await get('/api/v1/insights')).json();
    const plain = page.items.find((i: { issueId: string }) => i.issueId === plainId);
    expect(plain).toBeDefined();
    expect(plain).toMatchObject({ suspectedCommits: [], gitOps: null });
    const listed = page.items.find((i: { issueId: string }) => i.issueId === 'web-dep');
    expect(listed.suspectedCommits[0].sha).toBe(suspect.sha);
  });

  it("show them in GraphQL, on the insight and on the incident's insight", async () => {
    const data = await graphql(`{
      insight(id: "web-dep-i1") { gitOps suspectedCommits { repository sha author message at confidence filesChanged reasons } }
      incident(id: "web-dep") { insight { gitOps suspectedCommits { sha reasons } } }
      plain: incident(id: "${plainId}") { insight { gitOps suspectedCommits { sha } } }
    }`);
    expect(data.insight).toEqual({ gitOps, suspectedCommits: [{ ...suspect, at: null }] });
    expect(data.incident.insight).toEqual({
      gitOps,
      suspectedCommits: [{ sha: suspect.sha, reasons: suspect.reasons }],
    });
    expect(data.plain.insight).toEqual({ gitOps: null, suspectedCommits: [] });
  });

  it('are the same after the read model is rebuilt from the log', async () => {
    const before = (await get('/api/v1/insights/web-dep-i1')).json();
    const rebuilt = openSqliteReadModel(':memory:');
    const again = createProjectionRunner({
      store,
      target: createSqliteProjectionTarget(rebuilt),
      projections: readModelProjections,
    });
    await again.start();
    try {
      expect(createReadModelQueries(rebuilt).getInsight('web-dep-i1')).toEqual(before);
    } finally {
      await again.stop();
    }
  });
});
