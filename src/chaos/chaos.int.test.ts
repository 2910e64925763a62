import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createNamespace,
  deleteNamespace,
  deployment,
  eventually,
  isReady,
  type KubeClients,
  kubeClients,
  podsOf,
} from '../../test/support/kube.ts';
import { openEventStore } from '../adapters/eventstore/openEventStore.ts';
import type { ReactorCheckpoints } from '../application/reactor.ts';
import { FaultMarks } from '../cluster/stages.ts';
import type { EventStore } from '../ports/eventStore.ts';
import { type RunningChaos, startChaos } from './chaos.module.ts';
import { createFaultInjector } from './faultInjector.ts';

/**
 * The chaos controller against the real API server, with its clock in the test's hands: cron schedules and their
 * concurrency policy, and the SLO side of safety (a spent budget refuses a run, a page-level burn aborts one, and
 * a recovery that names an SLO waits for its burn alert to clear). SLO status is written here as the SLO evaluator
 * would write it.
 */

const group = 'aiops.cairn.dev';
const version = 'v1alpha1';

let clients: KubeClients;
let namespace: string;
let storeDir: string;
let store: EventStore;
let chaos: RunningChaos;
// Generous: in the full suite the API server and KWOK are shared with every other test file.
const WAIT_MS = 180_000;
/** The controller's clock: real time shifted by what the test sets. */
let offsetMs = 0;
const setClock = (at: Date) => {
  offsetMs = at.getTime() - Date.now();
};

beforeAll(async () => {
  clients = kubeClients();
  namespace = await createNamespace(clients, 'chaos-int');
  storeDir = mkdtempSync(join(tmpdir(), 'cairn-chaos-int-'));
  store = openEventStore(`sqlite:${join(storeDir, 'events.db')}`);
  const saved = new Map<string, bigint>();
  const checkpoints: ReactorCheckpoints = { read: (n) => saved.get(n), write: (n, p) => saved.set(n, p) };
  chaos = startChaos({
    config: clients.config,
    store,
    checkpoints,
    injector: createFaultInjector(clients.config),
    namespaces: [namespace],
    now: () => new Date(Date.now() + offsetMs),
    tickMs: 200,
    ...(process.env.CAIRN_TEST_LOG ? { log: (line: string) => process.stderr.write(`[chaos-int] ${line}\n`) } : {}),
  });
  for (const [name, replicas] of [
    ['web', 3],
    ['api', 3],
  ] as const) {
    await clients.apps.createNamespacedDeployment({ namespace, body: deployment(name, { replicas }) });
  }
  for (const name of ['web', 'api']) {
    await eventually(
      `${name} ready`,
      async () => (await podsOf(clients, namespace, name)).filter(isReady).length === 3,
      WAIT_MS,
    );
  }
}, 400_000);

afterAll(async () => {
  await chaos?.stop();
  await store?.close();
  if (namespace) await deleteNamespace(clients, namespace);
  if (storeDir) rmSync(storeDir, { recursive: true, force: true });
});

interface Status {
  state?: string;
  run?: number;
  result?: string;
  nextRunAt?: string;
}

const experimentStatus = async (name: string) =>
  (
    (await clients.custom.getNamespacedCustomObject({
      group,
      version,
      namespace,
      plural: 'chaosexperiments',
      name,
    })) as {
      status?: Status;
    }
  ).status ?? {};

const until = (name: string, what: string, check: (s: Status) => boolean, timeoutMs = WAIT_MS) =>
  eventually(
    `${name}: ${what}`,
    async () => {
      const s = await experimentStatus(name);
      return check(s) ? s : undefined;
    },
    timeoutMs,
  );

const create = (name: string, spec: Record<string, unknown>) =>
  clients.custom.createNamespacedCustomObject({
    group,
    version,
    namespace,
    plural: 'chaosexperiments',
    body: { apiVersion: `${group}/${version}`, kind: 'ChaosExperiment', metadata: { name }, spec },
  });

/** A change the controller notices at once (its informer), so a moved clock is looked at without waiting. */
const poke = (name: string, annotations: Record<string, string> = { 'test.cairn.dev/poke': String(Date.now()) }) =>
  clients.custom.patchNamespacedCustomObject({
    group,
    version,
    namespace,
    plural: 'chaosexperiments',
    name,
    body: [{ op: 'add', path: '/metadata/annotations', value: annotations }],
  });

const wedgedPods = async (app: string) =>
  (await podsOf(clients, namespace, app)).filter((p) => p.metadata?.labels?.[FaultMarks.wedged] === 'true');

const runEvents = async (name: string) => await store.readStream(`chaos-${namespace}.${name}`);

const sloStatus = async (name: string, status: Record<string, unknown>) =>
  clients.custom.patchNamespacedCustomObjectStatus({
    group,
    version,
    namespace,
    plural: 'servicelevelobjectives',
    name,
    body: [{ op: 'replace', path: '/status', value: status }],
  });

describe('scheduled chaos runs', () => {
  it('start at their cron time, skip a time that falls during a run (Forbid), and replace the run (Replace)', async () => {
    // The next five-minute mark at least five minutes ahead, so nothing falls due before the test moves the clock.
    const base = new Date(Math.ceil((Date.now() + 5 * 60_000) / 300_000) * 300_000);
    setClock(new Date(base.getTime() - 1_000));
    await create('every-five', {
      fault: { type: 'pod_not_ready', count: 1 },
      target: { kind: 'Deployment', name: 'web' },
      duration: '1h',
      schedule: '*/5 * * * *',
      // Replace starts the next run while the replaced run's pod may still be coming back.
      safety: { requireHealthyTarget: false },
      recovery: { expect: 'WorkloadReady', within: '2h' },
    });
    const pending = await until('every-five', 'pending with its next run', (s) => s.nextRunAt !== undefined);
    expect(pending.state).toBe('Pending');
    expect(pending.nextRunAt).toBe(base.toISOString());
    expect(await wedgedPods('web')).toHaveLength(0);

    setClock(new Date(base.getTime() + 1_000));
    await poke('every-five');
    await until('every-five', 'run 1 running', (s) => s.run === 1 && s.state === 'Running');
    await eventually('one web pod wedged', async () => (await wedgedPods('web')).length === 1, WAIT_MS);

    // Forbid: the next time falls while run 1 is still under way, so it is skipped.
    setClock(new Date(base.getTime() + 5 * 60_000 + 1_000));
    await poke('every-five', { 'test.cairn.dev/poke': 'forbid' });
    await until(
      'every-five',
      'the skipped time to have passed',
      (s) => s.nextRunAt === new Date(base.getTime() + 10 * 60_000).toISOString(),
    );
    expect(await experimentStatus('every-five')).toMatchObject({ run: 1, state: 'Running' });
    expect((await runEvents('every-five')).filter((e) => e.type === 'ChaosRunStarted')).toHaveLength(1);

    // Replace: the next time aborts run 1 (its fault taken back) and starts run 2.
    await clients.custom.patchNamespacedCustomObject({
      group,
      version,
      namespace,
      plural: 'chaosexperiments',
      name: 'every-five',
      body: [{ op: 'add', path: '/spec/concurrencyPolicy', value: 'Replace' }],
    });
    setClock(new Date(base.getTime() + 10 * 60_000 + 1_000));
    await poke('every-five', { 'test.cairn.dev/poke': 'replace' });
    await until('every-five', 'run 2 running', (s) => s.run === 2 && s.state === 'Running');
    const events = await runEvents('every-five');
    expect(events.filter((e) => e.type === 'ChaosRevertRequested').map((e) => e.data)).toEqual([
      expect.objectContaining({ run: 1, reason: 'replaced' }),
    ]);
    expect(events.find((e) => e.type === 'ChaosRunCompleted')?.data).toMatchObject({ run: 1, outcome: 'aborted' });
    expect(
      events.filter((e) => e.type === 'ChaosRunStarted').map((e) => (e.data as { trigger: string }).trigger),
    ).toEqual(['schedule', 'schedule']);
    await eventually(
      'exactly one web pod wedged, by run 2',
      async () => (await wedgedPods('web')).length === 1,
      WAIT_MS,
    );

    // Disabling the experiment aborts run 2 and takes its fault back.
    await clients.custom.patchNamespacedCustomObject({
      group,
      version,
      namespace,
      plural: 'chaosexperiments',
      name: 'every-five',
      body: [{ op: 'add', path: '/spec/enabled', value: false }],
    });
    const disabled = await until('every-five', 'run 2 aborted', (s) => s.run === 2 && s.state === 'Aborted');
    expect(disabled.result).toMatch(/^aborted \(disabled\)/);
    await eventually('no web pod wedged', async () => (await wedgedPods('web')).length === 0, WAIT_MS);
  }, 600_000);
});

describe('chaos and SLOs', () => {
  beforeAll(async () => {
    setClock(new Date());
    await clients.custom.createNamespacedCustomObject({
      group,
      version,
      namespace,
      plural: 'servicelevelobjectives',
      body: {
        apiVersion: `${group}/${version}`,
        kind: 'ServiceLevelObjective',
        metadata: { name: 'api-availability' },
        spec: {
          service: 'api',
          workload: { kind: 'Deployment', name: 'api' },
          indicator: {
            type: 'availability',
            good: 'sum(increase(http_requests_total{code!~"5.."}[$window]))',
            total: 'sum(increase(http_requests_total[$window]))',
          },
          target: 99.9,
        },
      },
    });
  });

  it('a spent error budget refuses the run and changes nothing', async () => {
    await sloStatus('api-availability', { errorBudgetRemaining: -0.25, firing: [] });
    await create('spent', {
      fault: { type: 'pod_kill', count: 1 },
      target: { kind: 'Deployment', name: 'api' },
      duration: '1m',
      recovery: { expect: 'WorkloadReady', within: '2m' },
    });
    const refused = await until('spent', 'refused', (s) => s.state === 'Refused');
    expect(refused.result).toMatch(
      new RegExp(
        `^refused \\(slo_budget_exhausted\\): SLO ${namespace}/api-availability: error budget remaining -25% \\(exhausted\\)`,
      ),
    );
    expect((await podsOf(clients, namespace, 'api')).filter(isReady)).toHaveLength(3);
  }, 400_000);

  it('a page-level burn that starts mid-run aborts it; a recovery naming the SLO waits for its alert to clear', async () => {
    const since = new Date().toISOString();
    await sloStatus('api-availability', { errorBudgetRemaining: 0.5, firing: [] });
    await create('burning', {
      fault: { type: 'pod_not_ready', count: 1 },
      target: { kind: 'Deployment', name: 'api' },
      duration: '1h',
      recovery: { expect: 'WorkloadReady', within: '2h' },
    });
    await until('burning', 'running', (s) => s.state === 'Running');
    await eventually('one api pod wedged', async () => (await wedgedPods('api')).length === 1, WAIT_MS);
    await sloStatus('api-availability', {
      errorBudgetRemaining: 0.4,
      firing: [{ name: 'page-1h', severity: 'critical', since }],
    });
    const aborted = await until('burning', 'aborted', (s) => s.state === 'Aborted');
    expect(aborted.result).toMatch(/^aborted \(safety_check_failed\): SLO .*burn alert page-1h firing \(page\)/);
    await eventually('no api pod wedged', async () => (await wedgedPods('api')).length === 0, WAIT_MS);
    await eventually(
      'api healthy again',
      async () => {
        const d = await clients.apps.readNamespacedDeployment({ namespace, name: 'api' });
        return d.status?.availableReplicas === 3 && d.status.updatedReplicas === 3;
      },
      WAIT_MS,
    );

    // A ticket-level burn does not stop a run, but a recovery that names the SLO waits until it clears.
    await sloStatus('api-availability', {
      errorBudgetRemaining: 0.4,
      firing: [{ name: 'ticket-3d', severity: 'medium', since }],
    });
    await create('kill-one', {
      fault: { type: 'pod_kill', count: 1 },
      target: { kind: 'Deployment', name: 'api' },
      // The aborted run's pod is still coming back: what is under test here is the recovery, not the start.
      safety: { requireHealthyTarget: false },
      duration: '1h',
      recovery: { expect: 'WorkloadReady', within: '2h', slo: 'api-availability' },
    });
    await until('kill-one', 'running', (s) => s.state === 'Running');
    await eventually(
      'api back at 3 ready pods',
      async () => (await podsOf(clients, namespace, 'api')).filter(isReady).length === 3,
      WAIT_MS,
    );
    // Healthy again, but the SLO still burns: not recovered yet.
    await new Promise((r) => setTimeout(r, 2_000));
    expect(await experimentStatus('kill-one')).toMatchObject({ state: 'Running' });
    await sloStatus('api-availability', { errorBudgetRemaining: 0.4, firing: [] });
    const passed = await until('kill-one', 'passed', (s) => s.state === 'Passed');
    expect(passed.result).toMatch(/^recovered .*without Cairn remediating it/);
  }, 900_000);
});
