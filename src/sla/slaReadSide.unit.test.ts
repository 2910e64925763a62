import Database from 'better-sqlite3';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { issueDecider } from '../../domain/issue/issue.decider.ts';
import { slaDecider } from '../../domain/sla/sla.decider.ts';
import { StreamCategory, streamName } from '../../domain/streams.ts';
import { readModelProjections } from '../../projections/readModel.projections.ts';
import { testKeys } from '../../test/support/apiKeys.ts';
import { openEventStore } from '../adapters/eventstore/openEventStore.ts';
import { graphqlRoutes } from '../adapters/http/graphql/graphql.plugin.ts';
import { buildHttpApp } from '../adapters/http/httpApp.ts';
import { createReadModelQueries } from '../adapters/readmodel/readModel.queries.ts';
import { createSqliteProjectionTarget } from '../adapters/readmodel/sqlite.projectionTarget.ts';
import { createApiCommands } from '../application/apiCommands.ts';
import { createCommandHandler } from '../application/commandHandler.ts';
import { createAnomalyIntake } from '../application/detection/anomalyIntake.ts';
import { createAnomalyRecorder } from '../application/detection/anomalyRecorder.ts';
import { createProjectionRunner } from '../application/projectionRunner.ts';
import { WorkloadRefusal } from '../ports/workloadLookup.ts';
import { createSlaQueries } from './sla.queries.ts';

/*
 * The SLA read side as the operator serves it: events written by the deciders, projected into sqlite, answered
 * by REST and GraphQL behind API keys. Friday 17:30 in Paris, office hours: a one-hour response target runs
 * half an hour on Friday and is due Monday 09:30.
 */

const workload = { kind: 'Deployment', name: 'checkout', namespace: 'shop' };
const detectedAt = '2026-12-11T16:30:00.000Z';
// Monday 2026-12-14 09:00 Paris: 30 minutes of the response target left.
const mondayNine = new Date('2026-12-14T08:00:00.000Z');
const keys = testKeys();
let app: FastifyInstance;

beforeAll(async () => {
  const store = openEventStore('memory:');
  const issues = createCommandHandler(store, issueDecider);
  const clocks = createCommandHandler(store, slaDecider);
  for (const id of ['paris', 'met']) {
    await issues(streamName(StreamCategory.Issue, id), {
      type: 'DetectIssue',
      data: {
        issueId: id,
        workload,
        resource: workload,
        signal: 'oom_kill',
        source: 'watcher',
        anomalyId: id,
        description: 'x',
      },
      metadata: { occurredAt: detectedAt, actor: 'system:test' },
    });
    await clocks(streamName(StreamCategory.Sla, id), {
      type: 'StartSla',
      data: {
        issueId: id,
        severity: 'high',
        workload,
        detectedAt,
        terms: {
          sla: { namespace: 'shop', name: 'office', generation: 1 },
          responseSeconds: 3_600,
          resolutionSeconds: 8 * 3_600,
          warningAt: 0.8,
          escalateOn: [],
          calendar: {
            timeZone: 'Europe/Paris',
            ranges: [{ days: ['Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday'], start: '09:00', end: '18:00' }],
            holidays: [],
          },
        },
      },
      metadata: { occurredAt: detectedAt, actor: 'system:sla' },
    });
  }
  await clocks(streamName(StreamCategory.Sla, 'met'), {
    type: 'RecordResolution',
    data: {},
    metadata: { occurredAt: '2026-12-11T16:45:00.000Z', actor: 'system:sla' },
  });
  const db = new Database(':memory:');
  await createProjectionRunner({
    store,
    target: createSqliteProjectionTarget(db),
    projections: readModelProjections,
  }).catchUp();
  const queries = createReadModelQueries(db);
  const slas = createSlaQueries(db, () => mondayNine);
  const now = () => mondayNine;
  app = await buildHttpApp({
    intake: createAnomalyIntake({ record: createAnomalyRecorder({ store, newId: () => 'x', now }), store }),
    workloads: { resolve: async () => ({ ok: false, reason: WorkloadRefusal.NotFound, message: 'no cluster' }) },
    newId: () => 'x',
    now,
    security: keys.security,
    api: {
      queries,
      commands: createApiCommands({ store, now }),
      slas: { queries: slas, incidents: queries },
    },
    securedPlugins: [graphqlRoutes({ queries, slas })],
  });
});
afterAll(async () => {
  await app?.close();
});

describe('SLA clocks in the API', () => {
  it('REST: the clocks of an incident in business hours, due Monday 09:30 with 30 minutes left', async () => {
    const response = await app.inject({ url: '/api/v1/incidents/paris/sla', headers: keys.header('viewer') });
    expect(response.statusCode).toBe(200);
    expect(response.json()).toMatchObject({
      issueId: 'paris',
      sla: { namespace: 'shop', name: 'office', generation: 1 },
      businessHours: { timeZone: 'Europe/Paris' },
      response: { state: 'running', dueAt: '2026-12-14T08:30:00.000Z', remainingSeconds: 1_800, elapsedSeconds: 1_800 },
      resolution: { state: 'running', remainingSeconds: 8 * 3_600 - 1_800 },
    });
    const met = (await app.inject({ url: '/api/v1/incidents/met/sla', headers: keys.header('viewer') })).json();
    expect(met.response).toMatchObject({ state: 'met', remainingSeconds: null, elapsedSeconds: 900 });
  });

  it('REST: 404 naming what is missing, and 401 without a key', async () => {
    const missing = await app.inject({ url: '/api/v1/incidents/nope/sla', headers: keys.header('viewer') });
    expect(missing.statusCode).toBe(404);
    expect(missing.json().code).toBe('incident.not_found');
    expect((await app.inject({ url: '/api/v1/incidents/paris/sla' })).statusCode).toBe(401);
  });

  it('REST analytics carries the SLA figures', async () => {
    const analytics = (await app.inject({ url: '/api/v1/analytics', headers: keys.header('viewer') })).json();
    expect(analytics.sla).toEqual({
      tracked: 2,
      response: { met: 1, violated: 0, running: 1 },
      resolution: { met: 1, violated: 0, running: 1 },
      compliance: 100,
      bySeverity: [{ severity: 'high', met: 2, violated: 0, compliance: 100 }],
    });
  });

  it('GraphQL: Incident.sla and Analytics.sla', async () => {
    const response = await app.inject({
      method: 'POST',
      url: '/graphql',
      headers: keys.header('viewer'),
      payload: {
        query: `{ incident(id: "paris") { sla { sla { name } response { state dueAt remainingSeconds } resolution { state } } }
                  analytics { sla { tracked compliance response { running } } } }`,
      },
    });
    expect(response.json()).toEqual({
      data: {
        incident: {
          sla: {
            sla: { name: 'office' },
            response: { state: 'running', dueAt: '2026-12-14T08:30:00.000Z', remainingSeconds: 1_800 },
            resolution: { state: 'running' },
          },
        },
        analytics: { sla: { tracked: 2, compliance: 100, response: { running: 1 } } },
      },
    });
  });
});
