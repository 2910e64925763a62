import type { FastifyInstance, InjectOptions } from 'fastify';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CairnError, ErrorCategory } from '../../../domain/errors.ts';
import type { ResourceRef } from '../../../domain/events/common.schema.ts';
import { testKeys } from '../../../test/support/apiKeys.ts';
import { createAnomalyIntake } from '../../application/detection/anomalyIntake.ts';
import { correlationStream, createAnomalyRecorder } from '../../application/detection/anomalyRecorder.ts';
import type { EventStore } from '../../ports/eventStore.ts';
import { type WorkloadLookup, WorkloadRefusal } from '../../ports/workloadLookup.ts';
import { openEventStore } from '../eventstore/openEventStore.ts';
import { buildHttpApp } from './httpApp.ts';

const checkout: ResourceRef = { kind: 'Deployment', name: 'checkout', namespace: 'shop' };

/** A cluster of a few objects: pods resolve to their Deployment, anything else unknown does not exist. */
const fakeCluster = (failing = new Set<string>()): WorkloadLookup => ({
  async resolve({ kind, name, namespace }) {
    if (failing.has(name)) throw new CairnError('kubernetes.unavailable', ErrorCategory.Transient, 'down');
    if (!['Deployment', 'Pod', 'Job', 'Node', 'StatefulSet'].includes(kind)) {
      return { ok: false, reason: WorkloadRefusal.NotAWorkload, message: `${kind} is not a kind Cairn correlates on` };
    }
    const resource = { kind, name, namespace: kind === 'Node' ? '' : namespace };
    if (kind === 'Pod' && name.startsWith('checkout-')) return { ok: true, resource, workload: checkout };
    if (['checkout', 'kwok-node-1', 'db'].includes(name)) return { ok: true, resource, workload: resource };
    return { ok: false, reason: WorkloadRefusal.NotFound, message: `${kind} ${namespace}/${name} does not exist` };
  },
});

const auth = testKeys();
/** Requests as an operator unless the test says otherwise. */
const inject = (options: InjectOptions) =>
  app.inject({ ...options, headers: { ...auth.header('operator'), ...options.headers } });

let store: EventStore;
let app: FastifyInstance;
let ids: number;
let failing: Set<string>;

beforeEach(async () => {
  store = openEventStore('memory:');
  ids = 0;
  failing = new Set();
  const newId = () => `id${++ids}`;
  const now = () => new Date('2025-03-01T12:00:00.000Z');
  const record = createAnomalyRecorder({ store, newId, now });
  app = await buildHttpApp({
    intake: createAnomalyIntake({ record, store }),
    workloads: fakeCluster(failing),
    newId,
    now,
    security: auth.security,
  });
});
afterEach(async () => {
  await app.close();
  await store.close();
});

const alert = (labels: Record<string, string>, extra: Record<string, unknown> = {}) => ({
  status: 'firing',
  labels: { alertname: 'HighErrorRate', severity: 'critical', ...labels },
  annotations: { summary: '5xx ratio 12%' },
  startsAt: '2025-03-01T11:58:00Z',
  endsAt: '0001-01-01T00:00:00Z',
  generatorURL: 'http://prometheus/graph',
  fingerprint: `fp-${JSON.stringify(labels)}`,
  ...extra,
});
const webhook = (alerts: unknown[]) => ({
  version: '4',
  groupKey: '{}:{alertname="HighErrorRate"}',
  truncatedAlerts: 0,
  status: 'firing',
  receiver: 'cairn',
  groupLabels: { alertname: 'HighErrorRate' },
  commonLabels: {},
  commonAnnotations: {},
  externalURL: 'http://alertmanager:9093',
  alerts,
});
const postAlerts = (alerts: unknown[]) =>
  inject({ method: 'POST', url: '/api/v1/alertmanager', payload: webhook(alerts) });
const detected = async (workload: ResourceRef) =>
  (await store.readStream(correlationStream(workload))).filter((e) => e.type === 'AnomalyDetected');

describe('POST /api/v1/alertmanager', () => {
  it('records a firing alert on the workload its labels name, with source prometheus, and reports the Issue', async () => {
    const response = await postAlerts([alert({ namespace: 'shop', deployment: 'checkout' })]);
    expect(response.statusCode).toBe(200);
    const body = response.json();
    expect(body).toMatchObject({
      received: 1,
      recorded: 1,
      results: [
        {
          index: 0,
          status: 'recorded',
          alertname: 'HighErrorRate',
          signal: 'error_rate',
          workload: checkout,
          issue: { id: expect.any(String), name: expect.stringMatching(/^checkout-/) },
          repeated: false,
        },
      ],
    });
    const [event] = await detected(checkout);
    expect(event?.data).toMatchObject({
      signal: 'error_rate',
      source: 'prometheus',
      resource: checkout,
      message: 'HighErrorRate: 5xx ratio 12%',
      observedAt: '2025-03-01T11:58:00.000Z',
      labels: { alertname: 'HighErrorRate', deployment: 'checkout', namespace: 'shop', severity: 'critical' },
    });
  });

  it('resolves a pod label to the owning workload and keeps the pod as the resource', async () => {
    const response = await postAlerts([
      alert({ alertname: 'KubePodCrashLooping', namespace: 'shop', pod: 'checkout-7d9-abc', job: 'ksm' }),
    ]);
    expect(response.json().results[0]).toMatchObject({
      status: 'recorded',
      signal: 'pod_restart',
      resource: { kind: 'Pod', name: 'checkout-7d9-abc', namespace: 'shop' },
      workload: checkout,
    });
  });

  it('lets a `job` label that names no Job give way to the node label', async () => {
    const response = await postAlerts([
      alert({ alertname: 'KubeNodeNotReady', namespace: 'monitoring', job: 'kube-state-metrics', node: 'kwok-node-1' }),
    ]);
    expect(response.json().results[0]).toMatchObject({
      status: 'recorded',
      signal: 'node_not_ready',
      workload: { kind: 'Node', name: 'kwok-node-1', namespace: '' },
    });
  });

  it('acknowledges resolved alerts and reports unmappable ones, recording the rest of the group', async () => {
    const response = await postAlerts([
      alert({ namespace: 'shop', deployment: 'checkout' }, { status: 'resolved' }),
      alert({ alertname: 'Watchdog' }),
      alert({ namespace: 'shop', pod: 'ghost-1' }),
      alert({ namespace: 'shop', deployment: 'checkout', cairn_signal: 'nonsense' }),
      alert({ alertname: 'HighLatency', namespace: 'shop', deployment: 'checkout' }),
    ]);
    expect(response.statusCode).toBe(200);
    const { results, recorded, received } = response.json();
    expect({ received, recorded }).toEqual({ received: 5, recorded: 1 });
    expect(results.map((r: { status: string }) => r.status)).toEqual([
      'ignored',
      'unmapped',
      'unmapped',
      'unmapped',
      'recorded',
    ]);
    expect(results[1].reason).toContain('no label names a workload');
    expect(results[2].reason).toBe('pod: Pod shop/ghost-1 does not exist');
    expect(results[3].reason).toContain('"nonsense"');
    expect((await detected(checkout)).map((e) => (e.data as { signal: string }).signal)).toEqual(['latency_spike']);
  });

  it('records a re-delivered group once: the same firing has the same anomaly id', async () => {
    const group = [alert({ namespace: 'shop', deployment: 'checkout' })];
    await postAlerts(group);
    const again = await postAlerts(group);
    expect(again.json().results[0]).toMatchObject({ status: 'recorded', repeated: true });
    expect(await detected(checkout)).toHaveLength(1);
    const stream = await store.readStream(correlationStream(checkout));
    expect(stream.filter((e) => e.type === 'AnomalyDeduplicated')).toHaveLength(0);
  });

  it('reports a second firing of the same signal on the workload as deduplicated into the open anomaly', async () => {
    await postAlerts([alert({ namespace: 'shop', deployment: 'checkout' })]);
    const response = await postAlerts([
      alert({ namespace: 'shop', deployment: 'checkout' }, { startsAt: '2025-03-01T11:59:30Z' }),
    ]);
    const [result] = response.json().results;
    expect(result).toMatchObject({ status: 'deduplicated', duplicateOf: expect.stringMatching(/^alert-/) });
    expect(result.issue.id).toBeTruthy();
  });

  it('records an alert that says it started in year 1 or 9999 at the edge of the kept window, not centuries away', async () => {
    const response = await postAlerts([
      alert({ namespace: 'shop', deployment: 'checkout' }, { startsAt: '0001-01-01T00:00:01Z', fingerprint: 'old' }),
      alert({ namespace: 'shop', deployment: 'db' }, { startsAt: '9999-12-31T23:59:59Z', fingerprint: 'new' }),
    ]);
    expect(response.json().results.map((r: { status: string }) => r.status)).toEqual(['recorded', 'recorded']);
    const [past] = await detected(checkout);
    expect(past?.data).toMatchObject({ observedAt: '2025-02-22T12:00:00.000Z' });
    const [future] = await detected({ kind: 'Deployment', name: 'db', namespace: 'shop' });
    expect(future?.data).toMatchObject({ observedAt: '2025-03-01T12:05:00.000Z' });
  });

  it('keeps bounded labels and message of an alert whose labels and annotations are huge', async () => {
    const huge = 'x'.repeat(200_000);
    const response = await postAlerts([
      alert({ namespace: 'shop', deployment: 'checkout', [huge]: 'v', note: huge }, { annotations: { summary: huge } }),
    ]);
    expect(response.json().results[0].status).toBe('recorded');
    const [event] = await detected(checkout);
    const data = event?.data as { labels: Record<string, string>; message: string } | undefined;
    if (data === undefined) throw new Error('nothing recorded');
    const labels = data.labels;
    expect(Object.keys(labels).every((name) => name.length <= 317)).toBe(true);
    expect(labels.note).toHaveLength(1_024);
    expect(data.message.length).toBeLessThanOrEqual(2_048);
  });

  it('answers 503 with per-alert results when the cluster cannot be read, so Alertmanager retries', async () => {
    failing.add('db');
    const response = await postAlerts([
      alert({ namespace: 'shop', deployment: 'checkout' }),
      alert({ namespace: 'shop', statefulset: 'db' }),
    ]);
    expect(response.statusCode).toBe(503);
    expect(response.headers['content-type']).toMatch(/^application\/problem\+json/);
    const problem = response.json();
    expect(problem).toMatchObject({
      type: 'urn:cairn:problem:alertmanager.record_failed',
      title: 'Service Unavailable',
      status: 503,
      code: 'alertmanager.record_failed',
      detail: '1 of 2 alerts could not be recorded; send them again',
    });
    expect(problem.results.map((r: { status: string }) => r.status)).toEqual(['recorded', 'failed']);
    expect(JSON.stringify(problem)).not.toContain('down');
  });

  it('refuses a payload that is not an Alertmanager webhook, with a problem listing what is wrong', async () => {
    const response = await inject({ method: 'POST', url: '/api/v1/alertmanager', payload: { alerts: 'x' } });
    expect(response.statusCode).toBe(400);
    expect(response.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(response.json()).toMatchObject({
      type: 'urn:cairn:problem:request.invalid',
      title: 'Bad Request',
      status: 400,
      code: 'request.invalid',
      errors: expect.arrayContaining([expect.objectContaining({ path: expect.stringContaining('body') })]),
    });
  });

  it('refuses another payload version by its own code', async () => {
    const response = await inject({
      method: 'POST',
      url: '/api/v1/alertmanager',
      payload: { ...webhook([]), version: '3' },
    });
    expect(response.statusCode).toBe(400);
    expect(response.json()).toMatchObject({ code: 'alertmanager.unsupported_version' });
  });

  it('refuses a body that is not JSON as an unsupported media type', async () => {
    const response = await inject({
      method: 'POST',
      url: '/api/v1/alertmanager',
      headers: { 'content-type': 'text/plain' },
      payload: 'hello',
    });
    expect(response.statusCode).toBe(415);
    expect(response.json()).toMatchObject({ code: 'request.unsupported_media_type', status: 415 });
  });
});

describe('POST /api/v1/anomalies', () => {
  const post = (payload: object) => inject({ method: 'POST', url: '/api/v1/anomalies', payload });

  it('records a manual anomaly and answers 202 with the Issue it opened', async () => {
    const response = await post({
      signal: 'error_rate',
      resource: { kind: 'Pod', name: 'checkout-7d9-abc', namespace: 'shop' },
      message: 'customers report failed checkouts',
      labels: { ticket: 'OPS-12' },
    });
    expect(response.statusCode).toBe(202);
    expect(response.json()).toMatchObject({
      status: 'recorded',
      source: 'manual',
      signal: 'error_rate',
      resource: { kind: 'Pod', name: 'checkout-7d9-abc', namespace: 'shop' },
      workload: checkout,
      issue: { id: expect.any(String), name: expect.stringMatching(/^checkout-/) },
    });
    const [event] = await detected(checkout);
    expect(event?.data).toMatchObject({
      source: 'manual',
      observedAt: '2025-03-01T12:00:00.000Z',
      labels: { ticket: 'OPS-12' },
    });
  });

  it('keeps the given observedAt and records a custom signal with its alert name', async () => {
    const response = await post({
      signal: 'custom',
      alertName: 'QueueBacklog',
      resource: { kind: 'Deployment', name: 'checkout', namespace: 'shop' },
      message: 'orders queue is 10k deep',
      observedAt: '2025-03-01T10:00:00+01:00',
    });
    expect(response.statusCode).toBe(202);
    const [event] = await detected(checkout);
    expect(event?.data).toMatchObject({
      signal: 'custom',
      observedAt: '2025-03-01T09:00:00.000Z',
      labels: { alertname: 'QueueBacklog' },
    });
  });

  it.each([
    [
      { signal: 'bogus', resource: { kind: 'Deployment', name: 'checkout', namespace: 'shop' }, message: 'm' },
      400,
      'request.invalid',
    ],
    [
      { signal: 'error_rate', resource: { kind: 'Deployment', name: 'checkout' }, message: 'm' },
      400,
      'anomaly.namespace_required',
    ],
    [
      { signal: 'custom', resource: { kind: 'Deployment', name: 'checkout', namespace: 'shop' }, message: 'm' },
      400,
      'anomaly.alert_name_required',
    ],
    [
      { signal: 'error_rate', resource: { kind: 'Service', name: 'checkout', namespace: 'shop' }, message: 'm' },
      422,
      'anomaly.not_a_workload',
    ],
    [
      { signal: 'error_rate', resource: { kind: 'Pod', name: 'ghost-1', namespace: 'shop' }, message: 'm' },
      422,
      'anomaly.resource_not_found',
    ],
    [
      {
        signal: 'error_rate',
        resource: { kind: 'Deployment', name: 'checkout', namespace: 'shop' },
        message: 'm',
        source: 'watcher',
      },
      400,
      'request.invalid',
    ],
    [
      {
        signal: 'error_rate',
        resource: { kind: 'Deployment', name: 'checkout', namespace: 'shop' },
        message: 'm',
        observedAt: '0001-01-01T00:00:00Z',
      },
      400,
      'anomaly.observed_at_out_of_range',
    ],
    [
      {
        signal: 'error_rate',
        resource: { kind: 'Deployment', name: 'checkout', namespace: 'shop' },
        message: 'm',
        observedAt: '9999-12-31T23:59:59Z',
      },
      400,
      'anomaly.observed_at_out_of_range',
    ],
    [
      {
        signal: 'error_rate',
        resource: { kind: 'Deployment', name: 'checkout', namespace: 'shop' },
        message: 'm',
        labels: { ['x'.repeat(400)]: 'v' },
      },
      400,
      'request.invalid',
    ],
  ])('refuses %j with %i %s', async (payload, status, code) => {
    const response = await post(payload);
    expect(response.statusCode).toBe(status);
    expect(response.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(response.json()).toMatchObject({ status, code, type: `urn:cairn:problem:${code}` });
    expect(await detected(checkout)).toHaveLength(0);
  });

  it('names the field when observedAt is outside the window it accepts', async () => {
    const response = await post({
      signal: 'error_rate',
      resource: { kind: 'Deployment', name: 'checkout', namespace: 'shop' },
      message: 'm',
      observedAt: '2025-02-01T12:00:00Z',
    });
    expect(response.json().errors).toEqual([
      { path: 'body/observedAt', message: expect.stringMatching(/more than 7 days before now/) },
    ]);
  });

  it('answers 503 without the internal message when the cluster cannot be read', async () => {
    failing.add('checkout');
    const response = await post({
      signal: 'error_rate',
      resource: { kind: 'Deployment', name: 'checkout', namespace: 'shop' },
      message: 'm',
    });
    expect(response.statusCode).toBe(503);
    expect(response.json()).toMatchObject({
      code: 'kubernetes.unavailable',
      detail: expect.not.stringContaining('down'),
    });
  });
});

describe('the rest of the app', () => {
  it('answers /healthz with 200 and no authentication', async () => {
    const response = await inject({ method: 'GET', url: '/healthz' });
    expect(response.statusCode).toBe(200);
    expect(response.json()).toEqual({ status: 'ok' });
  });

  it('answers unknown routes with a 404 problem', async () => {
    const response = await inject({ method: 'GET', url: '/api/v1/nothing?x=1' });
    expect(response.statusCode).toBe(404);
    expect(response.json()).toMatchObject({ code: 'route.not_found', detail: 'no route for GET /api/v1/nothing' });
  });

  it('asks for a key on the API routes only, and refuses a viewer the webhook', async () => {
    expect((await app.inject({ method: 'GET', url: '/healthz' })).statusCode).toBe(200);
    const refused = await app.inject({ method: 'POST', url: '/api/v1/alertmanager', payload: webhook([]) });
    expect(refused.statusCode).toBe(401);
    expect(refused.json()).toMatchObject({ code: 'auth.required' });
    const viewer = await inject({
      method: 'POST',
      url: '/api/v1/alertmanager',
      headers: auth.header('viewer'),
      payload: webhook([]),
    });
    expect(viewer.statusCode).toBe(403);
    const allowed = await inject({
      method: 'POST',
      url: '/api/v1/alertmanager',
      headers: { authorization: `Bearer ${auth.keys.operator}` },
      payload: webhook([]),
    });
    expect(allowed.json()).toEqual({ received: 0, recorded: 0, results: [] });
  });
});

describe('/readyz', () => {
  const readyWith = async (checks: { name: string; ok: boolean; advisory?: boolean; fails?: boolean }[]) => {
    const probe = await buildHttpApp({
      intake: createAnomalyIntake({
        record: createAnomalyRecorder({ store, newId: () => 'x', now: () => new Date() }),
        store,
      }),
      workloads: fakeCluster(),
      newId: () => 'x',
      now: () => new Date(),
      security: auth.security,
      readiness: checks.map((c) => ({
        name: c.name,
        ...(c.advisory ? { advisory: true } : {}),
        check: async () => {
          if (c.fails) throw new Error(`${c.name} threw`);
          return { ok: c.ok, detail: c.ok ? 'fine' : 'broken' };
        },
      })),
    });
    try {
      const response = await probe.inject({ method: 'GET', url: '/readyz' });
      return { status: response.statusCode, body: response.json() as { status: string; checks: unknown[] } };
    } finally {
      await probe.close();
    }
  };

  it('is ready when every check passes, and not when one fails or throws, naming it; no key is needed', async () => {
    expect((await readyWith([{ name: 'store', ok: true }])).status).toBe(200);
    const failed = await readyWith([
      { name: 'store', ok: true },
      { name: 'cluster', ok: false },
    ]);
    expect(failed).toEqual({
      status: 503,
      body: {
        status: 'not_ready',
        checks: [
          { name: 'store', ok: true, detail: 'fine' },
          { name: 'cluster', ok: false, detail: 'broken' },
        ],
      },
    });
    const threw = await readyWith([{ name: 'store', ok: true, fails: true }]);
    expect(threw.body.checks).toEqual([{ name: 'store', ok: false, detail: 'store threw' }]);
  });

  it('shows a failing advisory check without becoming unready for it', async () => {
    const advisory = await readyWith([
      { name: 'store', ok: true },
      { name: 'ai-server', ok: false, advisory: true },
    ]);
    expect(advisory.status).toBe(200);
    expect(advisory.body.checks[1]).toEqual({ name: 'ai-server', ok: false, detail: 'broken', advisory: true });
  });
});
