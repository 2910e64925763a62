import type Database from 'better-sqlite3';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { NotificationChannelRef } from '../../../../domain/events/notification.events.ts';
import { notificationDecider } from '../../../../domain/notification/notification.decider.ts';
import { StreamCategory, streamName } from '../../../../domain/streams.ts';
import { notificationsProjection } from '../../../../projections/notifications.projection.ts';
import { readModelProjections } from '../../../../projections/readModel.projections.ts';
import { testKeys } from '../../../../test/support/apiKeys.ts';
import { writeIncident } from '../../../../test/support/incidentLog.ts';
import { startVendorReceiver, type VendorReceiver } from '../../../../test/support/notificationReceivers.ts';
import { createApiCommands } from '../../../application/apiCommands.ts';
import { createCommandHandler } from '../../../application/commandHandler.ts';
import { createAnomalyIntake } from '../../../application/detection/anomalyIntake.ts';
import { createAnomalyRecorder } from '../../../application/detection/anomalyRecorder.ts';
import { createProjectionRunner, type ProjectionRunner } from '../../../application/projectionRunner.ts';
import { sendWebhook } from '../../../notifications/channels/webhook.channel.ts';
import { type NotificationOutbox, startNotificationOutbox } from '../../../notifications/notificationOutbox.ts';
import { notificationReadiness } from '../../../notifications/notificationReadiness.ts';
import { testNotificationSender } from '../../../notifications/testNotification.command.ts';
import type { EventStore } from '../../../ports/eventStore.ts';
import { WorkloadRefusal } from '../../../ports/workloadLookup.ts';
import { openEventStore } from '../../eventstore/openEventStore.ts';
import type { CustomObject, CustomResources } from '../../kubernetes/customResources.ts';
import { createCairnMetrics } from '../../metrics/prometheus.metrics.ts';
import { createNotificationQueries } from '../../readmodel/notifications.queries.ts';
import { createReadModelQueries } from '../../readmodel/readModel.queries.ts';
import { createSqliteProjectionTarget, openSqliteReadModel } from '../../readmodel/sqlite.projectionTarget.ts';
import { graphqlRoutes } from '../graphql/graphql.plugin.ts';
import { buildHttpApp } from '../httpApp.ts';

/**
 * The read side of notifications, end to end without a cluster: decisions and outcomes recorded by the real outbox
 * sending to local receivers over HTTP, projected into sqlite, and read through the REST routes, /readyz and
 * /metrics. The outbox's clock is injected, so retries are reached by moving it, never by waiting.
 */
const policyRef = { namespace: 'ops', name: 'on-call', rule: 'prod' };
const channels: NotificationChannelRef[] = [
  { name: 'good', type: 'webhook' },
  { name: 'bad', type: 'webhook' },
];
const policyObject = {
  apiVersion: 'aiops.cairn.dev/v1alpha1',
  kind: 'NotificationPolicy',
  metadata: { namespace: 'ops', name: 'on-call', generation: 2 },
  spec: {
    channels: [
      { name: 'good', type: 'webhook', url: 'http://receiver.invalid/hook-with-token-in-path' },
      {
        name: 'bad',
        type: 'webhook',
        secretRef: { name: 'bad-hook', key: 'url' },
        signingSecretRef: { name: 's', key: 'k' },
      },
    ],
    rules: [{ name: 'prod', channels: ['good', 'bad'], match: { severities: ['high'] } }],
    grouping: { groupWait: '0s' },
  },
  status: { activeGeneration: 2, conditions: [{ type: 'Ready', status: 'True', reason: 'Valid', message: 'ok' }] },
} as unknown as CustomObject;
const policies = {
  list: async () => [policyObject],
  get: async (namespace: string, name: string) =>
    namespace !== 'ops'
      ? undefined
      : name === 'on-call'
        ? policyObject
        : name === 'draft'
          ? { ...policyObject, metadata: { namespace: 'ops', name: 'draft' }, status: {} }
          : undefined,
} as unknown as CustomResources;

let store: EventStore;
let db: Database.Database;
let runner: ProjectionRunner;
let app: FastifyInstance;
let outbox: NotificationOutbox;
let good: VendorReceiver;
let bad: VendorReceiver;
let clock = Date.parse('2026-12-07T09:00:00.000Z');
const now = () => new Date(clock);
const metrics = createCairnMetrics();
const auth = testKeys();

beforeAll(async () => {
  store = openEventStore('memory:');
  await writeIncident(store, 'i1');
  [good, bad] = await Promise.all([startVendorReceiver('webhook'), startVendorReceiver('webhook')]);
  const urls: Record<string, string> = { good: good.url, bad: bad.url };
  outbox = startNotificationOutbox({
    store,
    now,
    random: () => 0,
    tickMs: 3_600_000,
    send: (message, channel) => sendWebhook(message, { target: urls[channel] ?? '' }, 5_000),
  });
  db = openSqliteReadModel(':memory:');
  runner = createProjectionRunner({
    store,
    target: createSqliteProjectionTarget(db),
    projections: readModelProjections,
  });
  await runner.start();
  const queries = createNotificationQueries(db);
  app = await buildHttpApp({
    intake: createAnomalyIntake({ record: createAnomalyRecorder({ store, newId: () => 'x', now }), store }),
    workloads: { resolve: async () => ({ ok: false, reason: WorkloadRefusal.NotFound, message: 'none' }) },
    newId: () => 'x',
    now,
    metrics,
    security: auth.security,
    securedPlugins: [graphqlRoutes({ queries: createReadModelQueries(db), notifications: { queries, policies } })],
    readiness: [
      { name: 'notifications', advisory: true, check: async () => notificationReadiness(queries.channels()) },
    ],
    api: {
      queries: createReadModelQueries(db),
      commands: createApiCommands({ store, now }),
      notifications: {
        queries,
        policies,
        sendTest: testNotificationSender({ store, policies, now, newId: () => 'abc' }),
      },
    },
  });
});
afterAll(async () => {
  await app?.close();
  await outbox?.stop();
  await runner?.stop();
  await store?.close();
  await Promise.all([good?.close(), bad?.close()]);
});

const call = (role: 'viewer' | 'operator' | 'admin', method: 'GET' | 'POST', url: string, payload?: object) =>
  app.inject({ method, url, headers: auth.header(role), ...(payload ? { payload } : {}) });
const later = async (ms: number) => {
  clock += ms;
  await outbox.tick();
  await runner.catchUp();
};
const issue = (id: string) => ({
  issueId: id,
  name: `checkout-${id}`,
  severity: 'high' as const,
  signal: 'oom_kill',
  riskScore: 70,
  workload: { kind: 'Deployment', name: 'checkout', namespace: 'shop' },
  state: 'Detected',
  summary: 'container app was OOMKilled',
  detectedAt: now().toISOString(),
});

describe('notifications on the read side', () => {
  it('records every attempt: the incident lists who was told what, degraded channels show in the API and /readyz', async () => {
    bad.script({ status: 500, body: 'upstream down' }, { status: 503, body: 'still down' }, { status: 500 });
    await outbox.live;
    await createCommandHandler(store, notificationDecider)(streamName(StreamCategory.Notification, 'g1'), {
      type: 'RecordTransition',
      data: {
        groupId: 'g1',
        policy: policyRef,
        groupKey: 'namespace=shop',
        channels,
        grouping: { groupWaitSeconds: 0, groupIntervalSeconds: 60, repeatIntervalSeconds: 14_400 },
        transition: 'detected',
        subscribed: true,
        issue: issue('i1'),
        sourceEventId: 'e1',
      },
      metadata: { occurredAt: now().toISOString(), actor: 'system:test' },
    });
    await later(0);
    await later(60_000);
    await later(60_000);

    const incident = await call('viewer', 'GET', '/api/v1/incidents/i1/notifications');
    expect(incident.statusCode).toBe(200);
    const items = incident.json().items as Record<string, unknown>[];
    expect(items.map((d) => [(d.channel as { name: string }).name, d.outcome, d.attempts, d.statusCode])).toEqual([
      ['good', 'delivered', 1, 204],
      ['bad', 'retrying', 3, 500],
    ]);
    expect(items[1]).toMatchObject({ transition: 'detected', status: 'firing', policy: policyRef });
    expect(items[1]?.error).toMatch(/^HTTP 500/);
    expect(good.received).toHaveLength(1);
    expect(bad.received).toHaveLength(3);

    const listed = await call('viewer', 'GET', '/api/v1/notification-policies');
    expect(listed.statusCode).toBe(200);
    const [policy] = listed.json().items;
    expect(policy).toMatchObject({ namespace: 'ops', name: 'on-call', degraded: true, ready: { status: 'True' } });
    expect(policy.channels.map((c: { name: string; health: { state: string } }) => [c.name, c.health.state])).toEqual([
      ['good', 'healthy'],
      ['bad', 'degraded'],
    ]);
    expect(policy.channels[1]).toMatchObject({ secretRef: { name: 'bad-hook', key: 'url' }, signed: true });
    // A URL may be a credential: the API never shows one.
    expect(listed.body).not.toContain('hook-with-token-in-path');

    const ready = await app.inject({ method: 'GET', url: '/readyz' });
    expect(ready.statusCode).toBe(200);
    const check = ready.json().checks.find((c: { name: string }) => c.name === 'notifications');
    expect(check).toMatchObject({ ok: false, advisory: true });
    expect(check.detail).toContain('ops/on-call channel bad degraded: 3 failed in a row');

    // The receiver is back: the retry goes through and the channel is healthy again.
    await later(600_000);
    const after = (await call('viewer', 'GET', '/api/v1/incidents/i1/notifications')).json().items;
    expect(after[1]).toMatchObject({ outcome: 'delivered', attempts: 4, statusCode: 204, error: null });
    const healed = (await call('viewer', 'GET', '/api/v1/notification-policies')).json().items[0];
    expect(healed.degraded).toBe(false);
    expect((await app.inject({ method: 'GET', url: '/readyz' })).json().checks[0]).toMatchObject({ ok: true });
  });

  it('counts attempts by channel and outcome in /metrics, from the log', async () => {
    const feed = metrics.follow(store);
    const sample = async (series: string) => {
      for (let i = 0; i < 200; i++) {
        const text = (await app.inject({ method: 'GET', url: '/metrics' })).body;
        const line = text.split('\n').find((l) => l.startsWith(`${series} `));
        if (line !== undefined) return Number(line.slice(series.length + 1));
        await new Promise((r) => setTimeout(r, 10));
      }
      return undefined;
    };
    expect(await sample('cairn_notifications_total{channel="bad",outcome="delivered"}')).toBe(1);
    expect(await sample('cairn_notifications_total{channel="bad",outcome="failed"}')).toBe(3);
    expect(await sample('cairn_notifications_total{channel="good",outcome="delivered"}')).toBe(1);
    expect(await sample('cairn_notification_delivery_seconds_count{channel="bad"}')).toBe(4);
    await feed.close();
  });

  it('sends a test message through the outbox for an operator key, and refuses a viewer or an unknown channel', async () => {
    expect(
      (await call('viewer', 'POST', '/api/v1/notification-policies/ops/on-call/test', { channel: 'good' })).statusCode,
    ).toBe(403);
    const unknown = await call('operator', 'POST', '/api/v1/notification-policies/ops/on-call/test', {
      channel: 'nope',
    });
    expect(unknown.statusCode).toBe(400);
    expect(unknown.json().detail).toContain('has no channel nope (it has: good, bad)');
    const inactive = await call('operator', 'POST', '/api/v1/notification-policies/ops/draft/test', {
      channel: 'good',
    });
    expect(inactive.statusCode).toBe(409);
    expect(inactive.json().detail).toContain('has no valid generation Cairn routes with yet');
    const missing = await call('operator', 'POST', '/api/v1/notification-policies/ops/other/test', { channel: 'good' });
    expect(missing.statusCode).toBe(404);

    const sent = await call('operator', 'POST', '/api/v1/notification-policies/ops/on-call/test', { channel: 'good' });
    expect(sent.statusCode).toBe(202);
    expect(sent.json()).toEqual({ notificationId: 'test-abc', deliveryIds: ['test-abc-good'] });
    await later(0);
    const outcome = await call('viewer', 'GET', '/api/v1/notifications/test-abc');
    expect(outcome.json().items).toMatchObject([{ outcome: 'delivered', statusCode: 204, test: true, attempts: 1 }]);
    const body = good.received.at(-1)?.body as { issues: { summary: string }[] };
    expect(body.issues[0]?.summary).toContain('key:operator-test');
    expect((await call('viewer', 'GET', '/api/v1/notifications/none')).statusCode).toBe(404);
    expect((await call('viewer', 'GET', '/api/v1/incidents/none/notifications')).statusCode).toBe(404);
    expect((await call('viewer', 'GET', '/api/v1/notification-policies?namespace=Bad_NS')).statusCode).toBe(400);
    expect((await call('viewer', 'GET', '/api/v1/notification-policies?cursor=nope')).statusCode).toBe(400);
    expect((await call('viewer', 'GET', '/api/v1/notification-policies?sort=name')).statusCode).toBe(400);
    const page = (await call('viewer', 'GET', '/api/v1/notification-policies?limit=1')).json();
    expect(page.items.map((p: { name: string }) => p.name)).toEqual(['on-call']);
    expect(page.nextCursor).toBeNull();
  });

  it('answers the same views in GraphQL: the deliveries of an incident and of a notification, and the policies', async () => {
    const query = `{
      incident(id: "i1") { notifications { channel { name } transition outcome attempts statusCode } }
      notification(id: "test-abc") { deliveryId outcome test }
      notificationPolicies { name degraded channels { name health { state consecutiveFailures } } }
    }`;
    const response = await call('viewer', 'POST', '/graphql', { query });
    expect(response.statusCode).toBe(200);
    const { data, errors } = response.json();
    expect(errors).toBeUndefined();
    expect(data.incident.notifications).toEqual([
      { channel: { name: 'good' }, transition: 'detected', outcome: 'delivered', attempts: 1, statusCode: 204 },
      { channel: { name: 'bad' }, transition: 'detected', outcome: 'delivered', attempts: 4, statusCode: 204 },
    ]);
    expect(data.notification).toEqual([{ deliveryId: 'test-abc-good', outcome: 'delivered', test: true }]);
    expect(data.notificationPolicies).toEqual([
      {
        name: 'on-call',
        degraded: false,
        channels: [
          { name: 'good', health: { state: 'healthy', consecutiveFailures: 0 } },
          { name: 'bad', health: { state: 'healthy', consecutiveFailures: 0 } },
        ],
      },
    ]);
  });

  it('costs an incident page asking for deliveries like any list, and refuses one past the limit', async () => {
    const fields = Array.from({ length: 60 }, (_, i) => `a${i}: notifications { channel { name type } outcome error }`);
    const query = `{ incidents(limit: 100) { items { ${fields.join(' ')} } } }`;
    const response = await call('viewer', 'POST', '/graphql', { query });
    expect(JSON.stringify(response.json())).toMatch(/graphql\.too_(costly|many_fields)/);
  });

  it('projects the same rows when every event is applied a second time (replay safety)', async () => {
    const snapshot = () =>
      ['notification_deliveries', 'notification_delivery_issues', 'notification_channels'].map((t) =>
        db.prepare(`SELECT * FROM ${t} ORDER BY 1, 2`).all(),
      );
    const before = snapshot();
    const events = await store.readAll();
    db.transaction(() => {
      for (const event of events)
        if (notificationsProjection.handles(event.type)) notificationsProjection.apply(event, db);
    })();
    expect(snapshot()).toEqual(before);
  });
});
