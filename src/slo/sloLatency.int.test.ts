import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import { Histogram, Registry } from 'prom-client';
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
import { createPrometheusClient } from '../adapters/prometheus/prometheus.client.ts';
import { createAnomalyIntake } from '../application/detection/anomalyIntake.ts';
import { createAnomalyRecorder } from '../application/detection/anomalyRecorder.ts';
import type { EventStore } from '../ports/eventStore.ts';
import { type RunningSlo, startSlo } from './slo.module.ts';
import { sloStream } from './sloEvaluator.ts';

/*
 * Latency SLOs from a real histogram: a loopback exporter serves http_request_duration_seconds through prom-client
 * (the real exposition format, `le="1"` for the bound 1), a real Prometheus started with a 2h retention scrapes it
 * every second, and the test decides how many fast (50 ms) and slow (800 ms) requests each scrape adds. Evaluations
 * are asked for by the test.
 */

const group = 'aiops.cairn.dev';
const version = 'v1alpha1';
const METRIC = 'http_request_duration_seconds';
const BUCKETS = [0.1, 0.3, 1, 2.5];

let perScrape = { fast: 100, slow: 0 };
const registry = new Registry();
const histogram = new Histogram({
  name: METRIC,
  help: 'Request latency.',
  labelNames: ['service'],
  buckets: BUCKETS,
  registers: [registry],
});
let exporter: Server;

let clients: KubeClients;
let namespace: string;
let prometheus: RunningPrometheus;
let store: EventStore;
let slo: RunningSlo;

const latencySpec = (latency: Record<string, unknown>, overrides: Record<string, unknown> = {}) => ({
  service: 'checkout',
  workload: { kind: 'Deployment', name: 'checkout' },
  indicator: { type: 'latency', latency: { metric: METRIC, selector: '{service="checkout"}', ...latency } },
  target: 99,
  window: '1h',
  alerting: {
    burnRates: [{ name: 'page-fast', shortWindow: '5s', longWindow: '15s', factor: 2, severity: 'critical' }],
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

interface Condition {
  type: string;
  status: string;
  reason: string;
  message: string;
}
interface SloStatus {
  current?: number;
  burnRates?: { window: string; rate?: number }[];
  firing?: { name: string; severity: string }[];
  lastEvaluatedAt?: string;
  noData?: boolean;
  conditions?: Condition[];
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

const condition = (status: SloStatus | undefined, type: string) => status?.conditions?.find((c) => c.type === type);

/** Evaluates until the status of name passes check. */
const evaluatedUntil = (what: string, name: string, check: (status: SloStatus) => boolean) =>
  eventually(
    what,
    async () => {
      await slo.evaluate();
      const status = await statusOf(name);
      return status && check(status) ? status : undefined;
    },
    180_000,
  );

beforeAll(async () => {
  exporter = createServer((request, response) => {
    if (request.url !== '/metrics') {
      response.writeHead(404).end();
      return;
    }
    for (let i = 0; i < perScrape.fast; i++) histogram.observe({ service: 'checkout' }, 0.05);
    for (let i = 0; i < perScrape.slow; i++) histogram.observe({ service: 'checkout' }, 0.8);
    void registry.metrics().then((text) => response.writeHead(200, { 'content-type': registry.contentType }).end(text));
  });
  await new Promise<void>((resolve) => exporter.listen(0, '127.0.0.1', resolve));
  const target = `127.0.0.1:${(exporter.address() as { port: number }).port}`;
  prometheus = await startPrometheus({
    scrape: [{ job: 'latency', targets: [target] }],
    scrapeIntervalSeconds: 1,
    retention: '2h',
  });
  await prometheus.waitForSeries(`${METRIC}_bucket`);
  clients = kubeClients();
  namespace = await createNamespace(clients, 'slo-latency');
  store = openEventStore('memory:');
  const recorder = createAnomalyRecorder({ store, newId: () => randomBytes(8).toString('hex'), now: () => new Date() });
  slo = startSlo({
    config: clients.config,
    store,
    prometheus: createPrometheusClient({ url: prometheus.url }),
    intake: createAnomalyIntake({ record: recorder, store }),
    intervalMs: 3_600_000,
    onError: (what, error) => process.stderr.write(`[slo] ${what}: ${(error as Error).message}\n`),
  });
}, 180_000);

afterAll(async () => {
  await slo?.stop();
  await prometheus?.stop();
  await new Promise<void>((resolve) => (exporter ? exporter.close(() => resolve()) : resolve()));
  if (namespace) await deleteNamespace(clients, namespace);
});

describe('a latency ServiceLevelObjective against a real Prometheus histogram', () => {
  it('falls and fires its burn alert when requests get slower than the threshold', async () => {
    await create('checkout', latencySpec({ threshold: 0.3 }));
    const healthy = await evaluatedUntil(
      'a healthy latency SLI',
      'checkout',
      (s) => s.current === 100 && (s.burnRates?.length ?? 0) === 2 && s.burnRates!.every((b) => b.rate === 0),
    );
    expect(condition(healthy, 'Ready')).toMatchObject({ status: 'True' });
    expect(condition(healthy, 'WindowCovered')).toEqual(
      expect.objectContaining({
        status: 'True',
        reason: 'WithinRetention',
        message: 'Prometheus keeps 2h: the window 1h and every burn-rate window fit',
      }),
    );
    expect(healthy.firing).toEqual([]);

    // Half the requests take 800 ms: over 0.3 s, so half are bad against a 1 % budget (a 50x burn).
    perScrape = { fast: 50, slow: 50 };
    const firing = await evaluatedUntil('the latency burn alert to fire', 'checkout', (s) =>
      Boolean(s.firing?.some((f) => f.name === 'page-fast')),
    );
    expect(firing.current).toBeLessThan(99);
    expect(firing.burnRates?.map((b) => b.window)).toEqual(['5s', '15s']);
    expect(firing.burnRates?.every((b) => (b.rate ?? 0) > 2)).toBe(true);
    const events = (await store.readStream(
      sloStream({ namespace, name: 'checkout' }),
    )) as unknown as RecordedEvent<SloEvent>[];
    expect(events.map((e) => e.type)).toEqual(['SloBurnAlertFired']);
    expect(events[0]!.data).toMatchObject({ alert: 'page-fast', urgency: 'page', factor: 2 });

    // The same requests against a 1 s threshold are all good: the bound 1, written le="1" by prom-client, is found.
    await create('checkout-1s', latencySpec({ threshold: 1 }));
    const lenient = await evaluatedUntil(
      'the 1s SLO to be evaluated',
      'checkout-1s',
      (s) => s.current !== undefined && condition(s, 'Ready')?.status === 'True',
    );
    expect(lenient.current).toBe(100);
    expect(lenient.firing).toEqual([]);
    perScrape = { fast: 100, slow: 0 };
  }, 400_000);

  it('refuses a threshold that is not a bucket bound, listing the bounds that exist', async () => {
    await create('between-buckets', latencySpec({ threshold: 0.5 }));
    const refused = await eventually(
      'Ready=False for a threshold between buckets',
      async () => {
        const ready = condition(await statusOf('between-buckets'), 'Ready');
        return ready?.status === 'False' ? ready : undefined;
      },
      180_000,
    );
    expect(refused.message).toBe(
      `spec.indicator.latency.threshold: 0.5 is not a bucket bound of ${METRIC}_bucket{service="checkout"}, so the SLI would not count what it says; its bounds (le) are 0.1, 0.3, 1, 2.5; nothing is evaluated until it is fixed`,
    );
  });

  it('names the selector when Prometheus refuses the query Cairn built from it', async () => {
    await create('bad-regex', latencySpec({ threshold: 0.3, selector: '{service=~"check(out"}' }));
    const refused = await eventually(
      'Ready=False for a selector Prometheus refuses',
      async () => {
        const ready = condition(await statusOf('bad-regex'), 'Ready');
        return ready?.status === 'False' ? ready : undefined;
      },
      180_000,
    );
    expect(refused.message).toMatch(
      /^spec\.indicator\.latency\.selector: Prometheus at .* refused the query: bad_data: .*check\(out/,
    );
  });

  it('accepts a histogram with no series yet: no data, not an error', async () => {
    await create('not-yet', latencySpec({ metric: 'checkout_not_deployed_seconds', threshold: 0.5 }));
    const status = await evaluatedUntil('the SLO without series to be evaluated', 'not-yet', (s) =>
      Boolean(s.lastEvaluatedAt),
    );
    expect(condition(status, 'Ready')?.status).toBe('True');
    expect(status.noData).toBe(true);
    expect(status.current).toBeUndefined();
  });

  it("stays Ready but says so when the window is longer than Prometheus' retention", async () => {
    await create('monthly', latencySpec({ threshold: 0.3 }, { window: '30d' }));
    const status = await eventually(
      'WindowCovered=False',
      async () => {
        const s = await statusOf('monthly');
        return condition(s, 'WindowCovered')?.status === 'False' ? s : undefined;
      },
      180_000,
    );
    expect(condition(status, 'Ready')?.status).toBe('True');
    expect(condition(status, 'WindowCovered')).toMatchObject({
      reason: 'LongerThanRetention',
      message: "window 30d is longer than Prometheus' retention 2h: the SLI covers at most 2h",
    });
    // It is still evaluated, over what Prometheus has.
    const evaluated = await evaluatedUntil(
      'the monthly SLO to be evaluated',
      'monthly',
      (s) => s.current !== undefined,
    );
    expect(evaluated.current).toBeGreaterThan(0);
  });

  it('refuses bad latency forms at the API server, naming the rule', async () => {
    await expect(create('zero', latencySpec({ threshold: 0 }))).rejects.toThrow(/threshold/);
    await expect(create('no-braces', latencySpec({ threshold: 0.3, selector: 'service="checkout"' }))).rejects.toThrow(
      /selector/,
    );
    await expect(create('bad-metric', latencySpec({ threshold: 0.3, metric: 'http-latency' }))).rejects.toThrow(
      /metric/,
    );
    const both = latencySpec({ threshold: 0.3 });
    await expect(
      create('both', { ...both, indicator: { ...both.indicator, good: 'x[$window]', total: 'y[$window]' } }),
    ).rejects.toThrow(/latency replaces good and total/);
    await expect(create('neither', { ...both, indicator: { type: 'latency' } })).rejects.toThrow(
      /give either good and total \(PromQL\) or latency/,
    );
  });
});
