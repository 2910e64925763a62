import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import * as k8s from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SloEvent } from '../../domain/events/slo.events.ts';
import type { RecordedEvent } from '../../domain/messages.ts';
import {
  createNamespace,
  deleteNamespace,
  eventually,
  type KubeClients,
  kubeClients,
} from '../../test/support/kube.ts';
import { type RunningPrometheus, startPrometheus } from '../../test/support/prometheus.ts';
import { openEventStore } from '../adapters/eventstore/openEventStore.ts';
import { resourceWriterReactor } from '../adapters/kubernetes/resourceWriter.reactor.ts';
import { createPrometheusClient } from '../adapters/prometheus/prometheus.client.ts';
import { createAnomalyIntake } from '../application/detection/anomalyIntake.ts';
import { createAnomalyRecorder } from '../application/detection/anomalyRecorder.ts';
import { type RunningReactor, runReactor } from '../application/reactor.ts';
import type { EventStore } from '../ports/eventStore.ts';
import { type RunningSlo, startSlo } from './slo.module.ts';
import { sloStream } from './sloEvaluator.ts';

/*
 * ServiceLevelObjectives against a real Prometheus and the real API server. Prometheus scrapes a tiny exporter
 * every second; the test decides how many good and bad requests each scrape adds, so burn rates follow scrapes,
 * not the clock. Evaluations are asked for by the test (the module's own interval is an hour).
 */

const group = 'aiops.cairn.dev';
const version = 'v1alpha1';

/** A /metrics endpoint whose request counters grow by what the test sets per scrape. */
let perScrape = { good: 100, bad: 0 };
const counters = { good: 0, bad: 0 };
let exporter: Server;
let exporterTarget = '';

let clients: KubeClients;
let namespace: string;
let prometheus: RunningPrometheus;
let store: EventStore;
let slo: RunningSlo;
let startModule: () => RunningSlo;
let writer: RunningReactor;

const checkpoints = () => {
  const saved = new Map<string, bigint>();
  return { read: (name: string) => saved.get(name), write: (name: string, at: bigint) => void saved.set(name, at) };
};

const good = 'sum(increase(shop_requests_total{job="slo",code!~"5.."}[$window]))';
const total = 'sum(increase(shop_requests_total{job="slo"}[$window]))';

const sloSpec = (overrides: Record<string, unknown> = {}) => ({
  service: 'checkout',
  workload: { kind: 'Deployment', name: 'checkout' },
  indicator: { type: 'availability', good, total },
  target: 99,
  window: '1h',
  alerting: {
    burnRates: [{ name: 'fast', shortWindow: '10s', longWindow: '30s', factor: 2, severity: 'critical' }],
  },
  ...overrides,
});

const create = (name: string, spec: unknown) =>
  clients.custom.createNamespacedCustomObject({
    group,
    version,
    namespace,
    plural: 'servicelevelobjectives',
    body: { apiVersion: `${group}/${version}`, kind: 'ServiceLevelObjective', metadata: { name }, spec },
  });

interface SloStatus {
  current?: number;
  errorBudgetRemaining?: number;
  burnRates?: { window: string; rate?: number }[];
  firing?: { name: string; severity: string }[];
  lastEvaluatedAt?: string;
  prometheusError?: string;
  activeGeneration?: number;
  conditions?: { type: string; status: string; message: string }[];
}

const statusOf = async (name: string) =>
  (
    (await clients.custom.getNamespacedCustomObject({
      group,
      version,
      namespace,
      plural: 'servicelevelobjectives',
      name,
    })) as { status?: SloStatus }
  ).status;

const ready = (status: SloStatus | undefined) => status?.conditions?.find((c) => c.type === 'Ready');

const alerts = async (name: string) =>
  ((await store.readStream(sloStream({ namespace, name }))) as unknown as RecordedEvent<SloEvent>[]).map((e) => e.type);

beforeAll(async () => {
  exporter = createServer((request, response) => {
    if (request.url !== '/metrics') {
      response.writeHead(404).end();
      return;
    }
    counters.good += perScrape.good;
    counters.bad += perScrape.bad;
    response
      .writeHead(200, { 'content-type': 'text/plain; version=0.0.4' })
      .end(
        `# TYPE shop_requests_total counter\nshop_requests_total{code="200"} ${counters.good}\nshop_requests_total{code="500"} ${counters.bad}\n`,
      );
  });
  await new Promise<void>((resolve) => exporter.listen(0, '127.0.0.1', resolve));
  exporterTarget = `127.0.0.1:${(exporter.address() as { port: number }).port}`;
  prometheus = await startPrometheus({ scrape: [{ job: 'slo', targets: [exporterTarget] }], scrapeIntervalSeconds: 1 });
  await prometheus.waitForSeries('shop_requests_total');
  clients = kubeClients();
  namespace = await createNamespace(clients, 'slo');
  store = openEventStore('memory:');
  const recorder = createAnomalyRecorder({ store, newId: () => randomBytes(8).toString('hex'), now: () => new Date() });
  const intake = createAnomalyIntake({ record: recorder, store });
  writer = runReactor(store, checkpoints(), resourceWriterReactor({ store, config: clients.config, namespace }), {
    maxRetryDelayMs: 200,
  });
  startModule = () =>
    startSlo({
      config: clients.config,
      store,
      prometheus: createPrometheusClient({ url: prometheus.url }),
      intake,
      intervalMs: 3_600_000,
      onError: (what, error) => process.stderr.write(`[slo] ${what}: ${(error as Error).message}\n`),
    });
  slo = startModule();
}, 180_000);

afterAll(async () => {
  await slo?.stop();
  await writer?.close();
  await prometheus?.stop();
  await new Promise<void>((resolve) => (exporter ? exporter.close(() => resolve()) : resolve()));
  if (namespace) await deleteNamespace(clients, namespace);
});

describe('ServiceLevelObjective against a real Prometheus', () => {
  it('fires a burn alert on a burst of errors, records a slo_burn_rate Anomaly on the workload, and clears on recovery', async () => {
    await create('checkout', sloSpec());
    await eventually('the SLO to be Ready', async () => ready(await statusOf('checkout'))?.status === 'True', 120_000);

    // Healthy traffic: the SLI is measured, nothing fires.
    await eventually(
      'a healthy evaluation with an SLI',
      async () => {
        await slo.evaluate();
        const status = await statusOf('checkout');
        return status?.current === 100 && status.burnRates?.every((b) => b.rate === 0) ? status : undefined;
      },
      120_000,
    );
    expect(await alerts('checkout')).toEqual([]);

    // Half the requests fail: 50 % errors against a 1 % budget burns at 50x, over the factor 2 in both windows.
    perScrape = { good: 50, bad: 50 };
    const firing = await eventually(
      'the burn alert to fire',
      async () => {
        await slo.evaluate();
        const status = await statusOf('checkout');
        return status?.firing?.some((f) => f.name === 'fast') ? status : undefined;
      },
      120_000,
    );
    expect(firing.firing).toEqual([expect.objectContaining({ name: 'fast', severity: 'critical' })]);
    expect(firing.current).toBeLessThan(99);
    expect(firing.errorBudgetRemaining).toBeLessThan(1);
    expect(firing.burnRates?.map((b) => b.window)).toEqual(['10s', '30s']);
    expect(firing.burnRates?.every((b) => (b.rate ?? 0) > 2)).toBe(true);
    const events = (await store.readStream(
      sloStream({ namespace, name: 'checkout' }),
    )) as unknown as RecordedEvent<SloEvent>[];
    expect(events.map((e) => e.type)).toEqual(['SloBurnAlertFired']);
    expect(events[0]!.data).toMatchObject({
      alert: 'fast',
      urgency: 'page',
      factor: 2,
      shortWindow: 10,
      longWindow: 30,
      workload: { kind: 'Deployment', name: 'checkout', namespace },
    });
    expect((events[0]!.data as { issueId?: string }).issueId).toBeTruthy();

    // Evaluating again while it burns records nothing more, nor does a restarted Cairn (it reads the stream).
    await slo.evaluate();
    expect(await alerts('checkout')).toEqual(['SloBurnAlertFired']);
    await slo.stop();
    slo = startModule();
    await eventually(
      'the restarted module to evaluate the burning SLO',
      async () => {
        await slo.evaluate();
        const status = await statusOf('checkout');
        return status?.lastEvaluatedAt !== firing.lastEvaluatedAt && status?.firing?.length === 1 ? status : undefined;
      },
      120_000,
    );
    expect(await alerts('checkout')).toEqual(['SloBurnAlertFired']);

    // The anomaly, as the operator writes it to the API server, on the SLO's workload.
    const anomaly = await eventually(
      'the slo_burn_rate Anomaly on the API server',
      async () => {
        const list = (await clients.custom.listNamespacedCustomObject({
          group,
          version,
          namespace,
          plural: 'anomalies',
        })) as { items: { spec: { signal: string; resource?: { name: string }; workload?: { name: string } } }[] };
        return list.items.find((a) => a.spec.signal === 'slo_burn_rate');
      },
      120_000,
    );
    expect(JSON.stringify(anomaly.spec)).toContain('checkout');

    // Recovery: the short window goes clean and the alert clears.
    perScrape = { good: 100, bad: 0 };
    const cleared = await eventually(
      'the burn alert to clear',
      async () => {
        await slo.evaluate();
        const status = await statusOf('checkout');
        return status?.firing?.length === 0 ? status : undefined;
      },
      120_000,
    );
    expect(cleared.firing).toEqual([]);
    expect(await alerts('checkout')).toEqual(['SloBurnAlertFired', 'SloBurnAlertCleared']);
  }, 400_000);

  it('shows PromQL that Prometheus refuses in Ready, with Prometheus own error, and keeps the last valid generation', async () => {
    await create(
      'broken',
      sloSpec({ indicator: { type: 'availability', good: 'sum(rate(shop_requests_total[$window])', total } }),
    );
    const broken = await eventually(
      'Ready=False on unparsable PromQL',
      async () => {
        const condition = ready(await statusOf('broken'));
        return condition?.status === 'False' ? condition : undefined;
      },
      120_000,
    );
    expect(broken.message).toMatch(/^spec\.indicator\.good: .*refused the query: bad_data: .*parse error/);
    expect(broken.message).toContain('nothing is evaluated until it is fixed');

    // A valid SLO edited into a broken one keeps evaluating its last valid generation.
    await create('edited', sloSpec());
    await eventually(
      'the second SLO to be Ready',
      async () => ready(await statusOf('edited'))?.status === 'True',
      120_000,
    );
    await clients.custom.patchNamespacedCustomObject(
      {
        group,
        version,
        namespace,
        plural: 'servicelevelobjectives',
        name: 'edited',
        body: [{ op: 'replace', path: '/spec/indicator/total', value: 'sum(increase(shop_requests_total[$window]' }],
      },
      k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.JsonPatch),
    );
    const kept = await eventually(
      'Ready=False naming the kept generation',
      async () => {
        const status = await statusOf('edited');
        return ready(status)?.status === 'False' ? status : undefined;
      },
      120_000,
    );
    expect(ready(kept)?.message).toMatch(/^spec\.indicator\.total: .*; generation 1 is still evaluated$/);
    expect(kept?.activeGeneration).toBe(1);
    const before = kept?.lastEvaluatedAt;
    await eventually(
      'the kept generation to be evaluated',
      async () => {
        await slo.evaluate();
        const status = await statusOf('edited');
        return status?.lastEvaluatedAt !== before && status?.current !== undefined ? status : undefined;
      },
      120_000,
    );
  }, 400_000);

  it('never counts a window without events as a 100% SLI', async () => {
    await create(
      'silent',
      sloSpec({
        indicator: {
          type: 'availability',
          good: 'sum(increase(nothing_scraped_total{code!~"5.."}[$window]))',
          total: 'sum(increase(nothing_scraped_total[$window]))',
        },
      }),
    );
    const status = await eventually(
      'an evaluation of the silent SLO',
      async () => {
        await slo.evaluate();
        const s = await statusOf('silent');
        return s?.lastEvaluatedAt ? s : undefined;
      },
      120_000,
    );
    expect(status).toMatchObject({ noData: true, firing: [], burnRates: [{ window: '10s' }, { window: '30s' }] });
    expect(status.current).toBeUndefined();
    expect(status.errorBudgetRemaining).toBeUndefined();
    expect(status.burnRates?.every((b) => b.rate === undefined)).toBe(true);
    expect(await alerts('silent')).toEqual([]);
  }, 200_000);

  it('refuses a target of 100% at the API server', async () => {
    await expect(create('perfect', sloSpec({ target: 100 }))).rejects.toThrow(/target/);
  });
});
