import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readModelProjections } from '../../../../projections/readModel.projections.ts';
import { testKeys } from '../../../../test/support/apiKeys.ts';
import { writeIncident, writeRemediatedIncident } from '../../../../test/support/incidentLog.ts';
import { createApiCommands } from '../../../application/apiCommands.ts';
import { createAnomalyIntake } from '../../../application/detection/anomalyIntake.ts';
import { createAnomalyRecorder } from '../../../application/detection/anomalyRecorder.ts';
import { createProjectionRunner } from '../../../application/projectionRunner.ts';
import type { EventStore } from '../../../ports/eventStore.ts';
import { WorkloadRefusal } from '../../../ports/workloadLookup.ts';
import { openEventStore } from '../../eventstore/openEventStore.ts';
import type { CustomResources } from '../../kubernetes/customResources.ts';
import { createReadModelQueries } from '../../readmodel/readModel.queries.ts';
import { createSqliteProjectionTarget, openSqliteReadModel } from '../../readmodel/sqlite.projectionTarget.ts';
import { buildHttpApp } from '../httpApp.ts';
import { type Role, roleAllows, roles } from '../security/apiKeys.ts';

/** Every secured route and the least role it needs. A route added without a line here fails the first test. */
const expectedRoutes: Record<string, Role> = {
  'POST /api/v1/alertmanager': 'operator',
  'POST /api/v1/anomalies': 'operator',
  'GET /api/v1/incidents': 'viewer',
  'GET /api/v1/incidents/:id': 'viewer',
  'GET /api/v1/incidents/:id/timeline': 'viewer',
  'GET /api/v1/incidents/:id/remediation': 'viewer',
  'POST /api/v1/incidents/:id/acknowledge': 'operator',
  'POST /api/v1/incidents/:id/snooze': 'operator',
  'POST /api/v1/incidents/:id/unsnooze': 'operator',
  'POST /api/v1/incidents/:id/resolve': 'operator',
  'POST /api/v1/incidents/:id/escalate': 'operator',
  'GET /api/v1/anomalies': 'viewer',
  'GET /api/v1/anomalies/:id': 'viewer',
  'GET /api/v1/insights': 'viewer',
  'GET /api/v1/insights/:id': 'viewer',
  'GET /api/v1/remediations': 'viewer',
  'GET /api/v1/remediations/:id': 'viewer',
  'GET /api/v1/approvals': 'viewer',
  'GET /api/v1/approvals/:id': 'viewer',
  'POST /api/v1/approvals/:id/approve': 'operator',
  'POST /api/v1/approvals/:id/reject': 'operator',
  'GET /api/v1/postmortems': 'viewer',
  'GET /api/v1/postmortems/:id': 'viewer',
  'POST /api/v1/postmortems/:id/review': 'operator',
  'POST /api/v1/postmortems/:id/close': 'operator',
  'POST /api/v1/postmortems/:id/feedback': 'operator',
  'GET /api/v1/analytics': 'viewer',
  'GET /api/v1/slos': 'viewer',
  'GET /api/v1/slos/:namespace/:name': 'viewer',
  'GET /api/v1/runbooks': 'viewer',
  'GET /api/v1/runbooks/:namespace/:name': 'viewer',
  'POST /api/v1/runbooks': 'operator',
  'PUT /api/v1/runbooks/:namespace/:name': 'operator',
  'DELETE /api/v1/runbooks/:namespace/:name': 'admin',
  'GET /api/v1/clusters': 'viewer',
  'GET /api/v1/audit': 'admin',
  'GET /api/v1/audit/export': 'admin',
};

/** Objects in the cluster, for the list routes; only listing is asked of them here. */
const listOnly = (keys: readonly string[]) =>
  ({
    list: async (namespace?: string) =>
      keys
        .map((key) => key.split('/') as [string, string])
        .filter(([ns]) => namespace === undefined || ns === namespace)
        .map(([ns, name]) => ({
          apiVersion: 'aiops.cairn.dev/v1alpha1',
          kind: 'X',
          metadata: { namespace: ns, name },
          spec: {},
        })),
  }) as unknown as CustomResources;

let store: EventStore;
let app: FastifyInstance;
const auth = testKeys();
let checkout: Awaited<ReturnType<typeof writeRemediatedIncident>>;

beforeAll(async () => {
  store = openEventStore('memory:');
  checkout = await writeRemediatedIncident(store, 'checkout', 0);
  for (const [i, id] of ['p1', 'p2', 'p3', 'p4', 'p5'].entries()) await writeIncident(store, id, 10 + i);
  const db = openSqliteReadModel(':memory:');
  const runner = createProjectionRunner({
    store,
    target: createSqliteProjectionTarget(db),
    projections: readModelProjections,
  });
  await runner.start();
  const now = () => new Date();
  app = await buildHttpApp({
    intake: createAnomalyIntake({ record: createAnomalyRecorder({ store, newId: () => 'x', now }), store }),
    workloads: { resolve: async () => ({ ok: false, reason: WorkloadRefusal.NotFound, message: 'none' }) },
    newId: () => 'x',
    now,
    security: auth.security,
    api: {
      queries: createReadModelQueries(db),
      commands: createApiCommands({ store, now }),
      audit: store as never,
      slos: listOnly(['shop/b', 'shop/a', 'payments/c', 'payments/a', 'shop/c']),
      runbooks: listOnly(['shop/restart', 'payments/rollback', 'shop/scale']),
      clusters: async () =>
        ['east', 'west', 'north'].map((name) => ({
          name,
          source: 'registration' as const,
          server: null,
          reachable: null,
        })),
    },
  });
});
afterAll(async () => {
  await app.close();
  await store.close();
});

const call = (role: Role, method: string, url: string, payload?: object) =>
  app.inject({ method: method as 'GET', url, headers: auth.header(role), ...(payload ? { payload } : {}) });

describe('REST API', () => {
  it('declares a role on every route, the one this table expects', () => {
    const actual = Object.fromEntries(app.securedRoutes.map((r) => [`${r.method} ${r.url}`, r.role]));
    expect(actual).toEqual(expectedRoutes);
  });

  it.each(roles)('lets a %s key call exactly the routes its role allows', async (role) => {
    for (const [route, needed] of Object.entries(expectedRoutes)) {
      const [method, path] = route.split(' ') as [string, string];
      const url = path.replace(':id', 'nope').replace(':namespace', 'shop').replace(':name', 'nope');
      const response = await call(
        role,
        method,
        method === 'GET' ? `${url}${url.endsWith('export') ? '?format=jsonl' : ''}` : url,
        method === 'GET' || method === 'DELETE' ? undefined : {},
      );
      if (roleAllows(role, needed)) expect([401, 403], `${role} ${route}`).not.toContain(response.statusCode);
      else {
        expect(response.statusCode, `${role} ${route}`).toBe(403);
        expect(response.json().code).toBe('auth.forbidden');
      }
    }
  });

  it('publishes an OpenAPI document that lists every route with its schemas', async () => {
    const response = await app.inject({ method: 'GET', url: '/api/v1/openapi.json' });
    expect(response.statusCode).toBe(200);
    const doc = response.json();
    expect(doc.openapi).toMatch(/^3\./);
    const listed = Object.entries(doc.paths as Record<string, Record<string, unknown>>).flatMap(([path, ops]) =>
      Object.keys(ops).map((m) => `${m.toUpperCase()} ${path.replace(/\{(\w+)\}/g, ':$1')}`),
    );
    expect(listed.sort()).toEqual(Object.keys(expectedRoutes).sort());
    expect(doc.paths['/api/v1/incidents'].get.responses['200']).toBeDefined();
    expect(doc.components.securitySchemes.apiKey).toMatchObject({ type: 'apiKey', name: 'X-API-Key' });
  });

  it('lists incidents with filters and pages through them', async () => {
    const first = (await call('viewer', 'GET', '/api/v1/incidents?limit=4')).json();
    expect(first.items).toHaveLength(4);
    const second = (await call('viewer', 'GET', `/api/v1/incidents?limit=4&cursor=${first.nextCursor}`)).json();
    expect(second.items).toHaveLength(2);
    expect(second.nextCursor).toBeNull();
    const filtered = (await call('viewer', 'GET', '/api/v1/incidents?severity=low&state=Resolved')).json();
    expect(filtered.items.map((i: { id: string }) => i.id)).toEqual([checkout.issueId]);
    const bad = await call('viewer', 'GET', '/api/v1/incidents?cursor=xyz');
    expect(bad.statusCode).toBe(400);
    expect(bad.json().code).toBe('query.invalid_cursor');
  });

  it('pages through SLOs, runbooks and clusters in namespace/name order, like every other list', async () => {
    const pages = async (url: string, limit: number) => {
      const names: string[][] = [];
      let cursor: string | null = null;
      do {
        const query: string = `limit=${limit}${cursor === null ? '' : `&cursor=${cursor}`}`;
        const response = await call('viewer', 'GET', `${url}${url.includes('?') ? '&' : '?'}${query}`);
        expect(response.statusCode, url).toBe(200);
        const body = response.json() as {
          items: { name?: string; metadata?: { namespace: string; name: string }; namespace?: string }[];
          nextCursor: string | null;
        };
        names.push(
          body.items.map((i) =>
            i.metadata
              ? `${i.metadata.namespace}/${i.metadata.name}`
              : i.namespace
                ? `${i.namespace}/${i.name}`
                : String(i.name),
          ),
        );
        cursor = body.nextCursor;
      } while (cursor !== null);
      return names;
    };
    expect(await pages('/api/v1/slos', 2)).toEqual([['payments/a', 'payments/c'], ['shop/a', 'shop/b'], ['shop/c']]);
    expect(await pages('/api/v1/slos?namespace=shop', 2)).toEqual([['shop/a', 'shop/b'], ['shop/c']]);
    expect(await pages('/api/v1/runbooks', 2)).toEqual([['payments/rollback', 'shop/restart'], ['shop/scale']]);
    expect(await pages('/api/v1/clusters', 2)).toEqual([['east', 'north'], ['west']]);
    const bad = await call('viewer', 'GET', '/api/v1/runbooks?cursor=nonsense');
    expect(bad.json()).toMatchObject({ status: 400, code: 'query.invalid_cursor' });
  });

  it('refuses a filter a list route does not know with 400 naming it, instead of ignoring it', async () => {
    const lists = Object.keys(expectedRoutes)
      .filter((route) => route.startsWith('GET ') && !route.includes(':'))
      .map((route) => route.slice(4));
    expect(lists).toHaveLength(12);
    for (const url of lists) {
      const role = url.startsWith('/api/v1/audit') ? 'admin' : 'viewer';
      const response = await call(role, 'GET', `${url}?${url.endsWith('export') ? 'format=jsonl&' : ''}sevrity=high`);
      expect(response.statusCode, url).toBe(400);
      expect(response.json(), url).toMatchObject({
        code: 'request.invalid',
        errors: [{ path: 'querystring/sevrity', message: expect.stringMatching(/additional properties/) }],
      });
    }
    // Known filters still work.
    expect((await call('viewer', 'GET', '/api/v1/incidents?severity=low')).statusCode).toBe(200);
  });

  it('answers reads of one incident, its timeline and remediation, and 404 with a stable code', async () => {
    const incident = await call('viewer', 'GET', `/api/v1/incidents/${checkout.issueId}`);
    expect(incident.json()).toMatchObject({ id: checkout.issueId, state: 'Resolved', workload: { name: 'checkout' } });
    const timeline = (await call('viewer', 'GET', `/api/v1/incidents/${checkout.issueId}/timeline`)).json();
    expect(timeline.items.at(-1).type).toBe('IssueResolved');
    const remediation = (await call('viewer', 'GET', `/api/v1/incidents/${checkout.issueId}/remediation`)).json();
    expect(remediation.items[0].actions[0]).toMatchObject({ type: 'AdjustResources', status: 'succeeded' });
    const missing = await call('viewer', 'GET', '/api/v1/incidents/nope');
    expect(missing.statusCode).toBe(404);
    expect(missing.json()).toMatchObject({ code: 'incident.not_found', type: 'urn:cairn:problem:incident.not_found' });
    const analytics = (await call('viewer', 'GET', '/api/v1/analytics')).json();
    expect(analytics.incidents.total).toBe(6);
  });

  it('records commands with the key as the actor, and refuses what the decider refuses', async () => {
    const resolved = await call('operator', 'POST', `/api/v1/incidents/${checkout.issueId}/acknowledge`, {});
    expect(resolved.statusCode).toBe(409);
    expect(resolved.json().code).toBe('issue.already_resolved');
    const review = await call('operator', 'POST', `/api/v1/postmortems/${checkout.issueId}/review`, { notes: 'ok' });
    expect(review.json()).toEqual({ id: checkout.issueId, events: ['PostMortemReviewed'] });
    const [event] = await store.readStream(`postmortem-${checkout.issueId}`);
    expect(event?.metadata.actor).toBe('key:operator-test');
    expect(event?.data).toMatchObject({ reviewer: 'key:operator-test' });
    const body = await call('operator', 'POST', `/api/v1/postmortems/${checkout.issueId}/feedback`, {
      rating: 4,
      by: 'someone-else',
    });
    expect(body.statusCode).toBe(400);
    const audit = (await call('admin', 'GET', '/api/v1/audit?type=PostMortemReviewed')).json();
    expect(audit.items.map((r: { actor: string }) => r.actor)).toEqual(['key:operator-test']);
  });
});
