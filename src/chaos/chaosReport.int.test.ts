import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command } from 'commander';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readModelProjections } from '../../projections/readModel.projections.ts';
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
import { createChaosQueries } from '../adapters/readmodel/chaos.queries.ts';
import { createSqliteProjectionTarget, openSqliteReadModel } from '../adapters/readmodel/sqlite.projectionTarget.ts';
import { createProjectionRunner } from '../application/projectionRunner.ts';
import type { ReactorCheckpoints } from '../application/reactor.ts';
import { registerChaosCommand } from '../cli/commands/chaos.command.ts';
import type { EventStore } from '../ports/eventStore.ts';
import { type RunningChaos, startChaos } from './chaos.module.ts';
import { buildChaosReport, chaosExperimentStream } from './chaosReport.ts';
import { createFaultInjector } from './faultInjector.ts';

/**
 * The game-day report of runs the chaos controller really made against the real API server (KWOK nodes): what the
 * report says agrees with the experiment's status, the CLI prints it from the store, and the read model serves the
 * same document.
 */
const group = 'aiops.cairn.dev';
const version = 'v1alpha1';

let clients: KubeClients;
let namespace: string;
let dir: string;
let store: EventStore;
let chaos: RunningChaos;

beforeAll(async () => {
  clients = kubeClients();
  namespace = await createNamespace(clients, 'chaos-report');
  dir = mkdtempSync(join(tmpdir(), 'cairn-chaos-report-'));
  store = openEventStore(`sqlite:${join(dir, 'events.db')}`);
  const saved = new Map<string, bigint>();
  const checkpoints: ReactorCheckpoints = { read: (n) => saved.get(n), write: (n, p) => saved.set(n, p) };
  chaos = startChaos({
    config: clients.config,
    store,
    checkpoints,
    injector: createFaultInjector(clients.config),
    namespaces: [namespace],
    tickMs: 200,
  });
  await clients.apps.createNamespacedDeployment({ namespace, body: deployment('web', { replicas: 3 }) });
  await eventually(
    'web ready',
    async () => (await podsOf(clients, namespace, 'web')).filter(isReady).length === 3,
    120_000,
  );
}, 180_000);

afterAll(async () => {
  await chaos?.stop();
  await store?.close();
  if (namespace) await deleteNamespace(clients, namespace);
  if (dir) rmSync(dir, { recursive: true, force: true });
});

interface Status {
  state?: string;
  run?: number;
  timeToRecoverSeconds?: number;
  remediatedByCairn?: boolean;
  checks?: { name: string; passed: boolean }[];
}

const statusOf = async (name: string) =>
  (
    (await clients.custom.getNamespacedCustomObject({
      group,
      version,
      namespace,
      plural: 'chaosexperiments',
      name,
    })) as { status?: Status }
  ).status ?? {};

const create = (name: string, spec: Record<string, unknown>) =>
  clients.custom.createNamespacedCustomObject({
    group,
    version,
    namespace,
    plural: 'chaosexperiments',
    body: { apiVersion: `${group}/${version}`, kind: 'ChaosExperiment', metadata: { name }, spec },
  });

const finished = (name: string, state: string) =>
  eventually(
    `${name} ${state}`,
    async () => {
      const s = await statusOf(name);
      return s.state === state ? s : undefined;
    },
    120_000,
  );

describe('the report of real chaos runs', () => {
  it('times a pod kill from its injection to the recovery the status shows, and shows a refusal with its check', async () => {
    await create('kill-one', {
      fault: { type: 'pod_kill', count: 1 },
      target: { kind: 'Deployment', name: 'web' },
      duration: '1m',
      recovery: { expect: 'WorkloadReady', within: '2m' },
      safety: { respectSloBudget: false },
    });
    const passed = await finished('kill-one', 'Passed');
    await create('all-bad', {
      fault: { type: 'image_pull' },
      target: { kind: 'Deployment', name: 'web' },
      duration: '1m',
      recovery: { expect: 'WorkloadReady', within: '2m' },
      safety: { respectSloBudget: false },
    });
    await finished('all-bad', 'Refused');

    const events = await store.readStream(chaosExperimentStream(namespace, 'kill-one'));
    const report = buildChaosReport({ namespace, name: 'kill-one' }, events);
    const [run] = report.runs;
    expect(run).toMatchObject({ run: 1, state: 'Passed', outcome: 'passed', origin: 'injection', trigger: 'created' });
    expect(run?.figures).toMatchObject({
      timeToRecoverSeconds: passed.timeToRecoverSeconds,
      remediatedByCairn: false,
      timeToDetectSeconds: null,
    });
    expect(run?.figures.timeToRecoverSeconds).toBeGreaterThan(0);
    expect(run?.checks.map((c) => c.name)).toEqual(passed.checks?.map((c) => c.name));
    const timeline = run?.timeline ?? [];
    expect(timeline.map((e) => e.event)).toEqual(
      expect.arrayContaining(['ChaosRunStarted', 'ChaosInjectionPlanned', 'ChaosFaultInjected', 'ChaosRunCompleted']),
    );
    // A pod kill is visible the moment it is made; the recovery comes later, and the verdict last.
    expect(timeline.find((e) => e.text.startsWith('Fault visible'))?.offset).toBe('+00:00.0');
    const recovered = timeline.find((e) => e.text.startsWith('Target recovered'));
    expect(recovered?.offsetSeconds).toBe(run?.figures.timeToRecoverSeconds);
    expect(timeline.at(-1)?.event).toBe('ChaosRunCompleted');
    expect(timeline.find((e) => e.event === 'ChaosFaultReverted')?.text).toMatch(/^Nothing left to take back/);

    const refused = buildChaosReport(
      { namespace, name: 'all-bad' },
      await store.readStream(`chaos-${namespace}.all-bad`),
    ).runs[0];
    expect(refused).toMatchObject({ state: 'Refused', outcome: 'refused', origin: 'start' });
    expect(refused?.checks.filter((c) => !c.passed).map((c) => c.name)).toEqual(['share']);
    expect(refused?.reason).toMatch(/^refused \(too_many_pods\)/);

    // The CLI prints the same from the store; the read model serves the same document.
    let out = '';
    const program = new Command('cairn').exitOverride();
    registerChaosCommand(program, (text) => {
      out += text;
    });
    const url = `sqlite:${join(dir, 'events.db')}`;
    await program.parseAsync(['node', 'cairn', 'chaos', 'report', `${namespace}/kill-one`, '--store', url, '--json']);
    expect(JSON.parse(out)).toEqual(JSON.parse(JSON.stringify(report)));
    const db = openSqliteReadModel(join(dir, 'readmodel.db'));
    try {
      await createProjectionRunner({
        store,
        target: createSqliteProjectionTarget(db),
        projections: readModelProjections,
      }).catchUp();
      const queries = createChaosQueries(db);
      expect(JSON.parse(JSON.stringify(queries.report(namespace, 'kill-one')))).toEqual(JSON.parse(out));
      expect(queries.listExperiments({ namespace }).items.map((e) => [e.name, e.latest.state])).toEqual([
        ['all-bad', 'Refused'],
        ['kill-one', 'Passed'],
      ]);
    } finally {
      db.close();
    }
  }, 300_000);
});
