import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { issueDecider } from '../../domain/issue/issue.decider.ts';
import { StreamCategory, streamName } from '../../domain/streams.ts';
import { prepareReadModel, readModelProjections } from '../../projections/readModel.projections.ts';
import {
  createNamespace,
  deleteNamespace,
  eventually,
  type KubeClients,
  kubeClients,
} from '../../test/support/kube.ts';
import { startVendorReceiver, type VendorReceiver } from '../../test/support/notificationReceivers.ts';
import { openEventStore } from '../adapters/eventstore/openEventStore.ts';
import { createSqliteProjectionTarget, openSqliteReadModel } from '../adapters/readmodel/sqlite.projectionTarget.ts';
import { createCommandHandler } from '../application/commandHandler.ts';
import { createProjectionRunner, type ProjectionRunner } from '../application/projectionRunner.ts';
import type { ReactorCheckpoints } from '../application/reactor.ts';
import { type RunningNotifications, startNotifications } from '../notifications/notifications.module.ts';
import type { EventStore } from '../ports/eventStore.ts';
import { type RunningSla, startSla } from './sla.module.ts';
import { createSlaQueries } from './sla.queries.ts';

/*
 * The SLA capability against the real API server: IncidentSLA and NotificationPolicy objects read by their
 * informers, an event store and read model in sqlite files, and a local webhook receiver. Time is injected: the
 * clocks are measured against `clock`, which the test moves, and sweeps are asked for, not waited for.
 */

const group = 'aiops.cairn.dev';
const version = 'v1alpha1';
const severities = ['critical', 'high', 'medium', 'low'] as const;

let clients: KubeClients;
let namespace: string;
let webhook: VendorReceiver;
let store: EventStore;
let db: Database.Database;
let checkpoints: ReactorCheckpoints;
let projections: ProjectionRunner;
let notifications: RunningNotifications;
let sla: RunningSla;
let clock = Date.parse('2026-12-07T10:00:00.000Z');
const now = () => new Date(clock);
const at = (ms: number) => new Date(ms).toISOString();
const dir = mkdtempSync(join(tmpdir(), 'cairn-sla-'));

const startModule = () =>
  startSla({
    config: clients.config,
    store,
    checkpoints,
    readModel: db,
    namespace: 'cairn-system-absent',
    now,
    // Sweeps are asked for by the test; the timer must not race it.
    sweepIntervalMs: 3_600_000,
    statusIntervalMs: 300,
    onError: (what, error) => process.stderr.write(`[sla] ${what}: ${(error as Error).message}\n`),
  });

const slaStream = (issueId: string) => streamName(StreamCategory.Sla, issueId);
const typesOf = async (stream: string) => (await store.readStream(stream)).map((e) => e.type);

async function detect(issueId: string, detectedAt: number) {
  const issues = createCommandHandler(store, issueDecider);
  const workload = { kind: 'Deployment', namespace, name: `web-${issueId}` };
  await issues(streamName(StreamCategory.Issue, issueId), {
    type: 'DetectIssue',
    data: {
      issueId,
      workload,
      resource: workload,
      signal: 'oom_kill',
      source: 'watcher',
      anomalyId: `a-${issueId}`,
      description: 'web keeps crashing',
    },
    metadata: { occurredAt: at(detectedAt), actor: 'system:test' },
  });
  await eventually(`the SLA clocks of ${issueId} to start`, async () =>
    (await typesOf(slaStream(issueId))).includes('SlaStarted'),
  );
}

const slaStatus = async () =>
  (
    (await clients.custom.getNamespacedCustomObject({
      group,
      version,
      namespace,
      plural: 'incidentslas',
      name: 'web',
    })) as {
      metadata: { generation: number };
      status?: {
        activeGeneration?: number;
        activeViolations?: number;
        compliance?: { severity: string; last7Days: { met: number; violated: number; compliance?: number } }[];
        conditions?: { type: string; status: string; message: string }[];
      };
    }
  ).status;

beforeAll(async () => {
  clients = kubeClients();
  namespace = await createNamespace(clients, 'sla');
  webhook = await startVendorReceiver('webhook');
  store = openEventStore(`sqlite:${join(dir, 'events.db')}`);
  db = openSqliteReadModel(join(dir, 'readmodel.db'));
  prepareReadModel(db);
  const target = createSqliteProjectionTarget(db);
  checkpoints = {
    read: (name) => target.transaction((tx) => target.readCheckpoint(tx, `reactor:${name}`)),
    write: (name, position) => target.transaction((tx) => target.writeCheckpoint(tx, `reactor:${name}`, position)),
  };
  projections = createProjectionRunner({ store, target, projections: readModelProjections });
  await projections.start();
  await clients.custom.createNamespacedCustomObject({
    group,
    version,
    namespace,
    plural: 'notificationpolicies',
    body: {
      apiVersion: `${group}/${version}`,
      kind: 'NotificationPolicy',
      metadata: { name: 'on-call' },
      spec: {
        channels: [{ name: 'hook', type: 'webhook', url: `${webhook.url}/cairn` }],
        rules: [{ name: 'breaches', match: { transitions: ['sla_violated'] }, channels: ['hook'] }],
        grouping: { groupWait: '0s', groupInterval: '1s', repeatInterval: '1h', groupBy: ['issue'] },
      },
    },
  });
  // Created before any Issue of the test is detected (detections are dated after the object exists).
  await clients.custom.createNamespacedCustomObject({
    group,
    version,
    namespace,
    plural: 'incidentslas',
    body: {
      apiVersion: `${group}/${version}`,
      kind: 'IncidentSLA',
      metadata: { name: 'web' },
      spec: {
        targets: severities.map((severity) => ({ severity, response: '3s', resolution: '1h' })),
        warningAt: 0.5,
        notificationPolicyRef: { name: 'on-call' },
      },
    },
  });
  clock = Date.now() + 1_000;
  notifications = startNotifications({ config: clients.config, store, checkpoints, namespace, now, tickMs: 100 });
  sla = startModule();
  await eventually('the IncidentSLA to be Ready', async () => {
    const status = await slaStatus();
    return status?.conditions?.find((c) => c.type === 'Ready')?.status === 'True' && status.activeGeneration === 1;
  });
}, 120_000);

afterAll(async () => {
  await sla?.stop();
  await notifications?.stop();
  await projections?.stop();
  await store?.close();
  db?.close();
  await webhook?.close();
  if (namespace) await deleteNamespace(clients, namespace);
});

describe('IncidentSLA on the real API server', () => {
  it('an unacknowledged Issue violates its response target; the webhook hears of it; compliance counts it, and an Issue acknowledged in time as met', async () => {
    const start = clock;
    await detect('late', start);
    await detect('prompt', start);
    const issues = createCommandHandler(store, issueDecider);
    await issues(streamName(StreamCategory.Issue, 'prompt'), {
      type: 'AcknowledgeIssue',
      data: {},
      metadata: { occurredAt: at(start + 1_000), actor: 'key:alice' },
    });
    await eventually('the prompt response to be met', async () =>
      (await typesOf(slaStream('prompt'))).includes('SlaAchieved'),
    );

    // Half the target (warningAt 0.5) gone: a warning, and no violation yet.
    clock = start + 1_600;
    await eventually('the late clock to be due for its warning', async () => (await sla.sweep()) > 0 || undefined);
    expect(await typesOf(slaStream('late'))).toEqual(['SlaStarted', 'SlaWarned']);

    clock = start + 3_001;
    await eventually(
      'the violation to be recorded',
      async () => (await sla.sweep()) >= 0 && (await typesOf(slaStream('late'))).includes('SlaViolated'),
    );
    expect(await typesOf(slaStream('late'))).toEqual(['SlaStarted', 'SlaWarned', 'SlaViolated']);
    expect(await typesOf(slaStream('prompt'))).toEqual(['SlaStarted', 'SlaAchieved']);

    const message = await eventually('the webhook to be told of the violation', async () =>
      webhook.received.find((r) =>
        (r.body as { issues?: { issueId: string; transition: string }[] }).issues?.some(
          (i) => i.issueId === 'late' && i.transition === 'sla_violated',
        ),
      ),
    );
    expect(message.problems).toEqual([]);
    // The rule asked for violations only: the prompt Issue, which violated nothing, was never announced.
    expect(
      webhook.received.some((r) =>
        (r.body as { issues?: { issueId: string }[] }).issues?.some((i) => i.issueId === 'prompt'),
      ),
    ).toBe(false);

    const critical = await eventually('compliance in the IncidentSLA status', async () => {
      const status = await slaStatus();
      const entry = status?.compliance?.find((c) => c.last7Days.met + c.last7Days.violated > 0);
      return entry && entry.last7Days.violated === 1 && entry.last7Days.met === 1 ? { entry, status } : undefined;
    });
    expect(critical.entry.last7Days.compliance).toBe(50);
    expect(critical.status?.activeViolations).toBe(1);

    const view = createSlaQueries(db, now).incidentSla('late');
    expect(view?.response).toMatchObject({ state: 'violated', remainingSeconds: 0, dueAt: at(start + 3_000) });
    expect(view?.resolution).toMatchObject({ state: 'running', targetSeconds: 3_600 });
  }, 120_000);

  it('a deadline pending across a restart fires once, however many sweepers ask', async () => {
    const start = clock;
    await detect('restart', start);
    await sla.stop();
    // The deadline passes while nothing runs.
    clock = start + 10_000;
    const first = startModule();
    const second = startModule();
    sla = first;
    await Promise.all([first.slas.current(), second.slas.current()]);
    try {
      await eventually('the read model to hold the pending deadline', async () =>
        createSlaQueries(db).due(at(clock)).includes('restart'),
      );
      const counts = await Promise.all([first.sweep(), second.sweep(), first.sweep(), second.sweep()]);
      expect(counts.reduce((a, b) => a + b, 0)).toBe(1);
      expect(await typesOf(slaStream('restart'))).toEqual(['SlaStarted', 'SlaViolated']);
      await eventually(
        'the read model to show no more due',
        async () => !createSlaQueries(db).due(at(clock)).includes('restart'),
      );
      expect((await Promise.all([first.sweep(), second.sweep()])).reduce((a, b) => a + b, 0)).toBe(0);
    } finally {
      await second.stop();
    }
  }, 120_000);

  it('a malformed edit is refused in Ready naming the field, and the last valid generation keeps measuring, across a restart too', async () => {
    await clients.custom.patchNamespacedCustomObject({
      group,
      version,
      namespace,
      plural: 'incidentslas',
      name: 'web',
      body: [
        {
          op: 'add',
          path: '/spec/businessHours',
          value: { timeZone: 'Europe/Pariss', ranges: [{ days: ['Monday'], start: '09:00', end: '18:00' }] },
        },
      ],
    });
    const ready = await eventually('Ready=False naming the zone', async () => {
      const status = await slaStatus();
      const condition = status?.conditions?.find((c) => c.type === 'Ready');
      return condition?.status === 'False' ? { condition, status } : undefined;
    });
    expect(ready.condition.message).toContain('spec.businessHours.timeZone');
    expect(ready.condition.message).toContain('generation 1');
    expect(ready.status?.activeGeneration).toBe(1);
    await detect('after-edit', clock);
    const started = (await store.readStream(slaStream('after-edit')))[0]!.data as { sla: { generation: number } };
    expect(started.sla.generation).toBe(1);

    // A restart meets the invalid spec first: the status's activeSpec keeps generation 1 measuring.
    await sla.stop();
    sla = startModule();
    await sla.slas.current();
    await detect('after-restart', clock);
    const restarted = (await store.readStream(slaStream('after-restart')))[0]!.data as {
      sla: { generation: number };
      response: { targetSeconds: number };
    };
    expect(restarted.sla.generation).toBe(1);
    expect(restarted.response.targetSeconds).toBe(3);
    expect((await slaStatus())?.conditions?.find((c) => c.type === 'Ready')?.message).toContain('generation 1');
  }, 120_000);
});
