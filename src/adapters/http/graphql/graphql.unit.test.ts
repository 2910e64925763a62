import Database from 'better-sqlite3';
import Fastify, { type FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readModelProjections } from '../../../../projections/readModel.projections.ts';
import type { GraphqlData } from '../../../../test/support/graphqlSocket.ts';
import { second, writePipelineIncident } from '../../../../test/support/pipelineLog.ts';
import { createAnomalyRecorder } from '../../../application/detection/anomalyRecorder.ts';
import { createProjectionRunner } from '../../../application/projectionRunner.ts';
import { openEventStore } from '../../eventstore/openEventStore.ts';
import { createReadModelQueries } from '../../readmodel/readModel.queries.ts';
import { createSqliteProjectionTarget } from '../../readmodel/sqlite.projectionTarget.ts';
import { graphqlPlugin } from './graphql.plugin.ts';

let app: FastifyInstance;
/** Every SQL statement the read model runs, so a test can count what a GraphQL query costs. */
const statements: string[] = [];
let counting = false;
let oomIssue: string;

beforeAll(async () => {
  const store = openEventStore('memory:');
  let ids = 0;
  const record = createAnomalyRecorder({ store, newId: () => `id${++ids}`, now: () => new Date(second(0)) });
  // An anomaly recorded the way detection does opens an Issue; the pipeline then takes that Issue to resolved.
  const recorded = await record({
    signal: 'oom_kill',
    source: 'watcher',
    resource: { kind: 'Pod', name: 'cart-7d9f-x2', namespace: 'shop' },
    workload: { kind: 'Deployment', name: 'cart', namespace: 'shop' },
    message: 'container cart was OOMKilled',
    observedAt: second(0),
    labels: { team: 'payments' },
  });
  const opened = recorded.find((e) => e.type === 'CorrelationIssueOpened')!.data as { issueId: string };
  oomIssue = opened.issueId;
  await writePipelineIncident(store, {
    issueId: oomIssue,
    outcome: 'resolved',
    workload: { kind: 'Deployment', name: 'cart', namespace: 'shop' },
    attach: ['pod_restart'],
  });
  for (let i = 0; i < 12; i++) {
    await writePipelineIncident(store, {
      issueId: `inc${String(i).padStart(2, '0')}`,
      outcome: (['resolved', 'rolled_back', 'open'] as const)[i % 3]!,
      start: 100 + i * 100,
      workload: { kind: 'Deployment', name: `svc${i}`, namespace: i % 2 === 0 ? 'shop' : 'payments' },
    });
  }
  const db = new Database(':memory:', {
    verbose: (sql) => {
      if (counting) statements.push(String(sql));
    },
  });
  await createProjectionRunner({
    store,
    target: createSqliteProjectionTarget(db),
    projections: readModelProjections,
  }).catchUp();
  await store.close();
  app = Fastify();
  await app.register(graphqlPlugin, { queries: createReadModelQueries(db) });
});
afterAll(async () => {
  await app?.close();
});

async function gql(query: string, variables: Record<string, unknown> = {}) {
  const response = await app.inject({ method: 'POST', url: '/graphql', payload: { query, variables } });
  expect(response.statusCode).toBe(200);
  return response.json() as { data: GraphqlData; errors?: { message: string; extensions?: { code?: string } }[] };
}

describe('GraphQL over the read model', () => {
  it('lists incidents newest first, filtered, a page at a time', async () => {
    const query = `query ($cursor: String) {
      incidents(filter: { state: ["Resolved"], namespace: "shop" }, limit: 2, cursor: $cursor) {
        items { id state severity workload { kind name namespace } }
        nextCursor
      }
    }`;
    const first = await gql(query);
    expect(first.errors).toBeUndefined();
    // Resolved in shop: inc00 and inc06 (every third, even ones), and cart, detected first.
    expect(first.data.incidents.items.map((i: { id: string }) => i.id)).toEqual(['inc06', 'inc00']);
    expect(first.data.incidents.items[0]).toMatchObject({ state: 'Resolved', workload: { namespace: 'shop' } });
    const next = await gql(query, { cursor: first.data.incidents.nextCursor });
    expect(next.data.incidents.items.map((i: { workload: { name: string } }) => i.workload.name)).toEqual(['cart']);
    expect(next.data.incidents.nextCursor).toBeNull();
  });

  it('shows one incident with its timeline, anomalies, insight, remediation actions and postmortem', async () => {
    const { data, errors } = await gql(
      `query ($id: ID!) {
        incident(id: $id) {
          id state severity signals
          timeline { type summary }
          anomalies { signal message labels { name value } }
          insight { analysis confidence suggestedActions { type params { name value } } }
          remediation { status outcome actions { type status params { name value } } }
          postmortem { outcome durationSeconds }
        }
      }`,
      { id: oomIssue },
    );
    expect(errors).toBeUndefined();
    const incident = data.incident;
    expect(incident.state).toBe('Resolved');
    expect(incident.signals).toEqual(['oom_kill', 'pod_restart']);
    expect(incident.timeline[0].type).toBe('IssueDetected');
    expect(incident.timeline.at(-1).type).toBe('IssueResolved');
    expect(incident.anomalies).toEqual([
      { signal: 'oom_kill', message: 'container cart was OOMKilled', labels: [{ name: 'team', value: 'payments' }] },
    ]);
    expect(incident.insight.suggestedActions).toEqual([
      { type: 'AdjustResources', params: [{ name: 'memory_limit', value: '512Mi' }] },
    ]);
    expect(incident.remediation.actions).toEqual([
      { type: 'AdjustResources', status: 'succeeded', params: [{ name: 'memory_limit', value: '512Mi' }] },
    ]);
    expect(incident.remediation.status).toBe('Completed');
    expect(incident.postmortem).toEqual({ outcome: 'resolved', durationSeconds: 60 });
  });

  it('answers the other entry points: anomalies, insight, remediations, postmortems, analytics', async () => {
    const { data, errors } = await gql(`{
      anomalies(filter: { namespace: "shop" }) { items { signal issueId } }
      insight(id: "inc01-i1") { issueId status }
      remediations(outcome: "rolled_back") { items { id rollback { trigger } actions { status } } }
      postmortems(outcome: "escalated", limit: 1) { items { issueId } nextCursor }
      analytics { incidents { total open resolved escalated } bySeverity { key count } remediations { successRate } }
    }`);
    expect(errors).toBeUndefined();
    expect(data.anomalies.items).toEqual([{ signal: 'oom_kill', issueId: oomIssue }]);
    expect(data.insight).toEqual({ issueId: 'inc01', status: 'completed' });
    expect(data.remediations.items.map((r: { id: string }) => r.id).sort()).toEqual([
      'inc01-r1',
      'inc04-r1',
      'inc07-r1',
      'inc10-r1',
    ]);
    expect(data.remediations.items[0].rollback.trigger).toBe('action_failed');
    expect(data.postmortems.items).toHaveLength(1);
    expect(data.postmortems.nextCursor).not.toBeNull();
    expect(data.analytics.incidents).toEqual({ total: 13, open: 4, resolved: 5, escalated: 4 });
    expect(data.analytics.remediations.successRate).toBeCloseTo(5 / 9);
  });

  it('costs the same number of read-model queries for 3 incidents as for 12, with every relation asked', async () => {
    const query = `query ($limit: Int) {
      incidents(limit: $limit) {
        items {
          id timeline { type } anomalies { id } insight { analysis } insights { id }
          remediation { status actions { type } } remediations { id } postmortem { outcome }
        }
      }
    }`;
    const cost = async (limit: number) => {
      statements.length = 0;
      counting = true;
      const result = await gql(query, { limit });
      counting = false;
      expect(result.errors).toBeUndefined();
      expect(result.data.incidents.items).toHaveLength(limit);
      return statements.length;
    };
    const few = await cost(3);
    const many = await cost(12);
    expect(many).toBe(few);
    // The page, then one batch per relation: timeline, anomalies, insight, insights, remediation, actions,
    // remediations, postmortem.
    expect(many).toBeLessThanOrEqual(9);
  });

  it('refuses a bad cursor with the read model code, and hides nothing else', async () => {
    const { data, errors } = await gql('{ incidents(cursor: "nonsense") { items { id } } }');
    expect(data).toBeNull();
    expect(errors?.[0]?.extensions?.code).toBe('query.invalid_cursor');
    expect(errors?.[0]?.message).toMatch(/cursor/);
  });
});
