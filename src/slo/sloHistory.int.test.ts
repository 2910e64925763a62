import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SloBurnAlertFiredData, SloEvent } from '../../domain/events/slo.events.ts';
import type { IssueEvent } from '../../domain/issue/issue.decider.ts';
import type { RecordedEvent } from '../../domain/messages.ts';
import { StreamCategory, streamName } from '../../domain/streams.ts';
import { issueName } from '../../projections/kubernetesResources.projection.ts';
import {
  createNamespace,
  deleteNamespace,
  eventually,
  type KubeClients,
  kubeClients,
} from '../../test/support/kube.ts';
import { type RunningPrometheus, type SeriesSpec, startPrometheus } from '../../test/support/prometheus.ts';
import { openEventStore } from '../adapters/eventstore/openEventStore.ts';
import { resourceWriterReactor } from '../adapters/kubernetes/resourceWriter.reactor.ts';
import { createPrometheusClient } from '../adapters/prometheus/prometheus.client.ts';
import { createAnomalyIntake } from '../application/detection/anomalyIntake.ts';
import { createAnomalyRecorder } from '../application/detection/anomalyRecorder.ts';
import { issueCorrelationReactor } from '../application/detection/issueCorrelation.reactor.ts';
import { type RunningReactor, runReactor } from '../application/reactor.ts';
import type { EventStore } from '../ports/eventStore.ts';
import { type RunningSlo, startSlo } from './slo.module.ts';
import { sloStream } from './sloEvaluator.ts';

/*
 * 30-day SLOs on 31 days of history. promtool writes a month of request counters (one sample every 5 minutes) into
 * a real Prometheus before it starts; the SLOs use the default burn-rate pairs, so the workbook table itself is
 * what fires. Prometheus keeps no sample from the future, so the history ends a little before the real now, and
 * the evaluator's clock is set inside it: first at "incident" (the end of a slow burn and of a burst), then at
 * "recovered", seven clean hours later, where the history ends.
 */

const group = 'aiops.cairn.dev';
const version = 'v1alpha1';
const STEP = 300;
const PER_STEP = 1_000;
const HOUR = 3_600;
const DAY = 86_400;

const recovered = Math.floor(Date.now() / 1000 / STEP) * STEP - 2 * STEP;
const incident = recovered - 7 * HOUR;
const start = recovered - 31 * DAY;

/** Failed requests in the step ending at t (unix seconds), per service; each step has PER_STEP requests. */
const profiles = {
  // 0.15 % errors for the 3 days (and an hour) before the incident: 1.5x a 99.9 % target's budget.
  slow: (t: number) => (t > incident - 3 * DAY - HOUR && t <= incident ? 1.5 : 0),
  // Half of all requests fail for the hour before the incident.
  burst: (t: number) => (t > incident - HOUR && t <= incident ? PER_STEP / 2 : 0),
} as const;
type Service = keyof typeof profiles;

const history = (): SeriesSpec[] =>
  (Object.keys(profiles) as Service[]).flatMap((service) => {
    const ok: [number, number][] = [];
    const failed: [number, number][] = [];
    let good = 0;
    let bad = 0;
    for (let t = start; t <= recovered; t += STEP) {
      if (t > start) {
        const errors = profiles[service](t);
        bad += errors;
        good += PER_STEP - errors;
      }
      ok.push([t, good]);
      failed.push([t, bad]);
    }
    return [
      { name: 'hist_requests_total', labels: { service, code: '200' }, samples: ok },
      { name: 'hist_requests_total', labels: { service, code: '500' }, samples: failed },
    ];
  });

/** The failed share of the requests of the steps in (from, to], from the profile the history was written from. */
const errorRatio = (service: Service, from: number, to: number) => {
  let errors = 0;
  let total = 0;
  for (let t = from + STEP; t <= to; t += STEP) {
    errors += profiles[service](t);
    total += PER_STEP;
  }
  return errors / total;
};

let clients: KubeClients;
let namespace: string;
let prometheus: RunningPrometheus;
let store: EventStore;
let slo: RunningSlo;
let clock = new Date(incident * 1000);
const reactors: RunningReactor[] = [];

const checkpoints = () => {
  const saved = new Map<string, bigint>();
  return { read: (name: string) => saved.get(name), write: (name: string, at: bigint) => void saved.set(name, at) };
};

const sloSpec = (service: Service, name: string = service, window = '30d') => ({
  service,
  workload: { kind: 'Deployment', name },
  indicator: {
    type: 'availability',
    good: `sum(increase(hist_requests_total{service="${service}",code!~"5.."}[$window]))`,
    total: `sum(increase(hist_requests_total{service="${service}"}[$window]))`,
  },
  target: 99.9,
  window,
});

interface SloStatus {
  current?: number;
  errorBudgetRemaining?: number;
  targetMet?: boolean;
  burnRates?: { window: string; rate?: number }[];
  firing?: { name: string; severity: string }[];
  lastEvaluatedAt?: string;
  prometheusError?: string;
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

const sloEvents = async (name: string) =>
  (await store.readStream(sloStream({ namespace, name }))) as unknown as RecordedEvent<SloEvent>[];

const rateOf = (status: SloStatus | undefined, window: string) =>
  status?.burnRates?.find((b) => b.window === window)?.rate;

/** Evaluates at the clock until the status shows that evaluation. */
const evaluateAt = async (at: number, name: string) => {
  clock = new Date(at * 1000);
  return eventually(
    `${name} evaluated at ${clock.toISOString()}`,
    async () => {
      await slo.evaluate();
      const status = await statusOf(name);
      return status?.lastEvaluatedAt === clock.toISOString() ? status : undefined;
    },
    120_000,
  );
};

/** The Issue a fired alert opened or joined, once the correlation reactor has told it of every anomaly. */
const issueOf = async (fired: SloBurnAlertFiredData[]) => {
  const issueId = fired[0]?.issueId;
  expect(issueId).toBeTruthy();
  expect(new Set(fired.map((f) => f.issueId))).toEqual(new Set([issueId]));
  return eventually(
    `Issue ${issueId} to hold ${fired.length} anomalies`,
    async () => {
      const events = (await store.readStream(
        streamName(StreamCategory.Issue, issueId!),
      )) as unknown as RecordedEvent<IssueEvent>[];
      const held = events.filter((e) => e.type === 'IssueDetected' || e.type === 'IssueAnomalyAttached');
      return held.length === fired.length ? { issueId: issueId!, events: held } : undefined;
    },
    120_000,
  );
};

const issueObject = (issueId: string, service: Service) =>
  eventually(
    `the Issue of ${service} on the API server`,
    async () => {
      try {
        return (await clients.custom.getNamespacedCustomObject({
          group,
          version,
          namespace,
          plural: 'issues',
          name: issueName(issueId, { kind: 'Deployment', name: service, namespace }),
        })) as { spec: { severity: string; signal: string } };
      } catch {
        return undefined;
      }
    },
    120_000,
  );

beforeAll(async () => {
  prometheus = await startPrometheus({ backfill: history(), retention: '60d' });
  clients = kubeClients();
  namespace = await createNamespace(clients, 'slo-history');
  store = openEventStore('memory:');
  const recorder = createAnomalyRecorder({ store, newId: () => randomBytes(8).toString('hex'), now: () => new Date() });
  const intake = createAnomalyIntake({ record: recorder, store });
  reactors.push(
    runReactor(store, checkpoints(), issueCorrelationReactor({ store }), { maxRetryDelayMs: 200 }),
    runReactor(store, checkpoints(), resourceWriterReactor({ store, config: clients.config, namespace }), {
      maxRetryDelayMs: 200,
    }),
  );
  slo = startSlo({
    config: clients.config,
    store,
    prometheus: createPrometheusClient({ url: prometheus.url }),
    intake,
    now: () => clock,
    intervalMs: 3_600_000,
    onError: (what, error) => process.stderr.write(`[slo-history] ${what}: ${(error as Error).message}\n`),
  });
  // slow-3d reads the slow service over a 3-day window, the long window of ticket-3d too.
  const objects = [
    { name: 'slow', spec: sloSpec('slow') },
    { name: 'burst', spec: sloSpec('burst') },
    { name: 'slow-3d', spec: sloSpec('slow', 'slow-3d', '3d') },
  ];
  for (const { name, spec } of objects) {
    await clients.custom.createNamespacedCustomObject({
      group,
      version,
      namespace,
      plural: 'servicelevelobjectives',
      body: { apiVersion: `${group}/${version}`, kind: 'ServiceLevelObjective', metadata: { name }, spec },
    });
  }
  for (const { name } of objects) {
    await eventually(
      `${name} to be Ready`,
      async () => (await statusOf(name))?.conditions?.find((c) => c.type === 'Ready')?.status === 'True',
      120_000,
    );
  }
}, 300_000);

afterAll(async () => {
  await slo?.stop();
  for (const reactor of reactors) await reactor.close();
  await prometheus?.stop();
  if (namespace) await deleteNamespace(clients, namespace);
});

describe('30-day SLOs on a month of history in a real Prometheus', () => {
  it('a slow burn fires only ticket-3d and tickets its Issue; a burst fires page-1h and pages it; the 30-day SLI is the history', async () => {
    const slow = await evaluateAt(incident, 'slow');
    expect(slow.prometheusError).toBeUndefined();
    expect(slow.firing).toEqual([expect.objectContaining({ name: 'ticket-3d', severity: 'medium' })]);
    // 0.15 % errors against a 0.1 % budget: 1.5x in every window of the last three days.
    for (const window of ['5m', '30m', '1h', '2h', '6h', '24h', '72h'])
      expect(rateOf(slow, window)).toBeCloseTo(1.5, 2);

    // The 30-day SLI and budget, worked out from the numbers written into Prometheus.
    const slowErrors = errorRatio('slow', incident - 30 * DAY, incident);
    expect(slow.current).toBeCloseTo((1 - slowErrors) * 100, 4);
    expect(slow.errorBudgetRemaining).toBeCloseTo(1 - slowErrors / 0.001, 3);
    expect(slow.targetMet).toBe(true);

    const slowFired = (await sloEvents('slow')).filter((e) => e.type === 'SloBurnAlertFired');
    expect(slowFired.map((e) => e.data.alert)).toEqual(['ticket-3d']);
    expect(slowFired[0]!.data).toMatchObject({
      urgency: 'ticket',
      factor: 1,
      shortWindow: 6 * HOUR,
      longWindow: 3 * DAY,
    });
    const slowIssue = await issueOf(slowFired.map((e) => e.data as SloBurnAlertFiredData));
    expect(slowIssue.events.map((e) => e.type)).toEqual(['IssueDetected']);
    // A ticket never pages: the Issue is medium (the pair's severity), above the low its risk score gives alone.
    expect(slowIssue.events[0]!.data).toMatchObject({ signal: 'slo_burn_rate', severity: 'medium', riskScore: 25 });
    expect((await issueObject(slowIssue.issueId, 'slow')).spec.severity).toBe('medium');

    const burst = await statusOf('burst');
    expect(burst?.lastEvaluatedAt).toBe(clock.toISOString());
    // 50 % errors for an hour: 500x in the 5-minute and 1-hour windows, so every workbook pair fires, page-1h first.
    expect(rateOf(burst, '5m')).toBeCloseTo(500, 0);
    expect(rateOf(burst, '1h')).toBeCloseTo(500, 0);
    expect(burst?.firing?.map((f) => f.name)).toEqual(['page-1h', 'page-6h', 'ticket-1d', 'ticket-3d']);
    expect(burst?.firing?.[0]).toMatchObject({ name: 'page-1h', severity: 'critical' });
    const burstErrors = errorRatio('burst', incident - 30 * DAY, incident);
    expect(burst?.current).toBeCloseTo((1 - burstErrors) * 100, 4);
    expect(burst?.errorBudgetRemaining).toBeCloseTo(1 - burstErrors / 0.001, 3);

    const burstFired = (await sloEvents('burst')).filter((e) => e.type === 'SloBurnAlertFired');
    expect(burstFired[0]!.data).toMatchObject({ alert: 'page-1h', urgency: 'page', factor: 14.4 });
    const burstIssue = await issueOf(burstFired.map((e) => e.data as SloBurnAlertFiredData));
    // The page opens the Issue critical; the ticket pairs that join it never lower it.
    expect(burstIssue.events[0]).toMatchObject({
      type: 'IssueDetected',
      data: { signal: 'slo_burn_rate', severity: 'critical' },
    });
    for (const attached of burstIssue.events.slice(1)) {
      expect(attached).toMatchObject({ type: 'IssueAnomalyAttached', data: { severity: 'critical' } });
    }
    expect((await issueObject(burstIssue.issueId, 'burst')).spec.severity).toBe('critical');

    // Over a 3-day window the same slow burn has spent 1.5 budgets: the target is missed, the budget overspent.
    const slow3d = await statusOf('slow-3d');
    expect(slow3d?.lastEvaluatedAt).toBe(clock.toISOString());
    expect(slow3d?.current).toBeCloseTo(99.85, 4);
    expect(slow3d?.targetMet).toBe(false);
    expect(slow3d?.errorBudgetRemaining).toBeCloseTo(-0.5, 3);
    expect(slow3d?.firing?.map((f) => f.name)).toEqual(['ticket-3d']);
  }, 400_000);

  it('clears every alert once the last 6 hours are clean, and keeps the spent budget in the 30-day SLI', async () => {
    const slow = await evaluateAt(recovered, 'slow');
    expect(slow.firing).toEqual([]);
    expect(rateOf(slow, '6h')).toBe(0);
    expect(slow.errorBudgetRemaining).toBeCloseTo(1 - errorRatio('slow', recovered - 30 * DAY, recovered) / 0.001, 3);
    expect((await sloEvents('slow')).map((e) => [e.type, e.data.alert])).toEqual([
      ['SloBurnAlertFired', 'ticket-3d'],
      ['SloBurnAlertCleared', 'ticket-3d'],
    ]);

    const burst = await statusOf('burst');
    expect(burst?.firing).toEqual([]);
    for (const window of ['5m', '30m', '2h', '6h']) expect(rateOf(burst, window)).toBe(0);
    // The long windows still hold the burst: the budget it spent stays spent.
    expect(rateOf(burst, '24h')).toBeGreaterThan(1);
    const cleared = (await sloEvents('burst')).filter((e) => e.type === 'SloBurnAlertCleared').map((e) => e.data.alert);
    expect(cleared.sort()).toEqual(['page-1h', 'page-6h', 'ticket-1d', 'ticket-3d']);

    // Evaluated again, nothing changes: nothing fires anew from history already judged.
    const again = await evaluateAt(recovered, 'burst');
    expect(again.firing).toEqual([]);
    expect((await sloEvents('burst')).length).toBe(8);
  }, 400_000);
});
