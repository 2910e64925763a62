import Fastify, { type FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readModelProjections } from '../../../../projections/readModel.projections.ts';
import { testKeys } from '../../../../test/support/apiKeys.ts';
import { at, writeDependantIncident } from '../../../../test/support/changeContextIncident.ts';
import { writeIncident } from '../../../../test/support/incidentLog.ts';
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
import type { Role } from '../security/apiKeys.ts';

let store: EventStore;
let app: FastifyInstance;
let graph: FastifyInstance;
let runner: ProjectionRunner;
const auth = testKeys();
const web = { kind: 'Deployment', name: 'web', namespace: 'shop' };
const db = { kind: 'Deployment', name: 'db', namespace: 'shop' };

beforeAll(async () => {
  store = openEventStore('memory:');
  await writeDependantIncident(store, 'web-dep', web, db, 'shop/web-src');
  await writeIncident(store, 'plain', 20);
  const readModel = openSqliteReadModel(':memory:');
  runner = createProjectionRunner({
    store,
    target: createSqliteProjectionTarget(readModel),
    projections: readModelProjections,
  });
  await runner.start();
  graph = Fastify();
  await graph.register(graphqlPlugin, { queries: createReadModelQueries(readModel) });
  let clock = at(100);
  app = await buildHttpApp({
    intake: createAnomalyIntake({
      record: createAnomalyRecorder({ store, newId: () => 'x', now: () => new Date(clock) }),
      store,
    }),
    workloads: { resolve: async () => ({ ok: false, reason: WorkloadRefusal.NotFound, message: 'none' }) },
    newId: () => 'x',
    now: () => new Date(clock),
    security: auth.security,
    api: {
      queries: createReadModelQueries(readModel),
      commands: createApiCommands({
        store,
        now: () => {
          // Each command a few seconds after the one before: review, then feedback.
          clock = new Date(Date.parse(clock) + 10_000).toISOString();
          return new Date(clock);
        },
      }),
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

const call = (role: Role, method: 'GET' | 'POST', url: string, payload?: object) =>
  app.inject({ method, url, headers: auth.header(role), ...(payload ? { payload } : {}) });

const graphql = async (query: string) => {
  const response = await graph.inject({ method: 'POST', url: '/graphql', payload: { query } });
  expect(response.statusCode).toBe(200);
  const body = response.json();
  expect(body.errors).toBeUndefined();
  return body.data;
};

describe('PostMortem views: the change context', () => {
  it('lists and shows the cascade, the suspected commit, the GitOps state and the blast radius over REST', async () => {
    const page = (await call('viewer', 'GET', '/api/v1/postmortems')).json();
    const dependant = page.items.find((p: { issueId: string }) => p.issueId === 'web-dep');
    const plain = page.items.find((p: { issueId: string }) => p.issueId === 'plain');
    expect(dependant).toMatchObject({
      cascadeChain: ['Deployment shop/db', 'Deployment shop/web'],
      cascadePosition: 2,
      suspectedCommit: {
        repository: 'shop/web-src',
        sha: '9c1e4b7a',
        author: 'dana',
        message: 'halve the connection pool',
        confidence: 0.75,
        filesChanged: ['config/db.yaml'],
        reasons: ['changes the database settings of the failing workload'],
      },
      gitOps: 'Argo CD Application argocd/web: Synced, Degraded at revision 9c1e4b7',
      blastRadius: [
        {
          attempt: 1,
          actions: [
            {
              type: 'RestartDeployment',
              pods: 3,
              servicesEmptied: [{ namespace: 'shop', name: 'web', readyEndpoints: 3 }],
            },
          ],
          dependants: ['Deployment shop/frontend'],
        },
      ],
    });
    // An Issue with none of it says so plainly.
    expect(plain).toMatchObject({
      cascadeChain: [],
      cascadePosition: null,
      suspectedCommit: null,
      gitOps: null,
      blastRadius: [],
    });
    const detail = (await call('viewer', 'GET', '/api/v1/postmortems/web-dep')).json();
    expect(detail.document.suspectedCommit.sha).toBe('9c1e4b7a');
    expect(detail.cascadePosition).toBe(2);
  });

  it('answers the same over GraphQL, empty lists included', async () => {
    const data = await graphql(`{
      postmortem(id: "web-dep") {
        cascadeChain cascadePosition gitOps
        suspectedCommit { repository sha author message at confidence filesChanged reasons }
        blastRadius {
          attempt dependants
          actions {
            type pods replicas { before after }
            pdbViolations { name } servicesEmptied { namespace name readyEndpoints } quotaOverflows { resource }
          }
        }
      }
      plain: postmortem(id: "plain") { cascadeChain cascadePosition suspectedCommit { sha } gitOps blastRadius { attempt } }
    }`);
    expect(data.postmortem).toEqual({
      cascadeChain: ['Deployment shop/db', 'Deployment shop/web'],
      cascadePosition: 2,
      gitOps: 'Argo CD Application argocd/web: Synced, Degraded at revision 9c1e4b7',
      suspectedCommit: {
        repository: 'shop/web-src',
        sha: '9c1e4b7a',
        author: 'dana',
        message: 'halve the connection pool',
        at: null,
        confidence: 0.75,
        filesChanged: ['config/db.yaml'],
        reasons: ['changes the database settings of the failing workload'],
      },
      blastRadius: [
        {
          attempt: 1,
          dependants: ['Deployment shop/frontend'],
          actions: [
            {
              type: 'RestartDeployment',
              pods: 3,
              replicas: null,
              pdbViolations: [],
              servicesEmptied: [{ namespace: 'shop', name: 'web', readyEndpoints: 3 }],
              quotaOverflows: [],
            },
          ],
        },
      ],
    });
    expect(data.plain).toEqual({
      cascadeChain: [],
      cascadePosition: null,
      suspectedCommit: null,
      gitOps: null,
      blastRadius: [],
    });
  });

  it('folds review and feedback into the document, as on the PostMortem object', async () => {
    expect(
      (await call('operator', 'POST', '/api/v1/postmortems/web-dep/review', { notes: 'hold was right' })).statusCode,
    ).toBe(200);
    const feedback = await call('operator', 'POST', '/api/v1/postmortems/web-dep/feedback', {
      rating: 3,
      rootCauseOverride: 'The pool change shipped without a load test.',
    });
    expect(feedback.statusCode).toBe(200);
    await runner.catchUp();
    const detail = (await call('viewer', 'GET', '/api/v1/postmortems/web-dep')).json();
    expect(detail.state).toBe('InReview');
    expect(detail.document).toMatchObject({
      state: 'InReview',
      reviewedAt: detail.reviewedAt,
      reviewedBy: 'key:operator-test',
      feedback: {
        rating: 3,
        by: 'key:operator-test',
        rootCauseOverride: 'The pool change shipped without a load test.',
      },
      rootCauseOverride: { text: 'The pool change shipped without a load test.', by: 'key:operator-test' },
    });
    // The change context is still there beside the review.
    expect(detail.cascadeChain).toHaveLength(2);
  });
});
