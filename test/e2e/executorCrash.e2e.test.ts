import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { build } from 'esbuild';
import { afterAll, beforeAll, describe, inject, it } from 'vitest';
import { type ActionSpec, RemediationSource } from '../../domain/events/common.schema.ts';
import type { RecordedEvent } from '../../domain/messages.ts';
import type { RemediationCommand } from '../../domain/remediation/remediation.commands.ts';
import { remediationDecider } from '../../domain/remediation/remediation.decider.ts';
import { StreamCategory, streamName } from '../../domain/streams.ts';
import { RestartedAtAnnotation } from '../../src/actions/deployment.actions.ts';
import { openEventStore } from '../../src/adapters/eventstore/openEventStore.ts';
import { createCommandHandler } from '../../src/application/commandHandler.ts';
import type { EventStore } from '../../src/ports/eventStore.ts';
import {
  createNamespace,
  deleteNamespace,
  deployment,
  eventually,
  isReady,
  type KubeClients,
  kubeClients,
  podsOf,
} from '../support/kube.ts';

/**
 * The executor is SIGKILLed at every checkpoint boundary of a three-action plan and started again on the same
 * sqlite store, the way a crashed operator resumes. The child (test/support/bin/runExecutor.ts) stops dead at the
 * chosen boundary, so each kill lands exactly there. Whatever the boundary, each action must reach the cluster
 * once and be recorded once, and the plan must end where an uninterrupted run would.
 */
const executorScript = new URL('../support/bin/runExecutor.ts', import.meta.url).pathname;
const repoRoot = new URL('../../', import.meta.url).pathname;

/** Three actions that pass the default policy together: none destructive, a restart of 3 pods (limit 10). */
const plan: readonly ActionSpec[] = [
  { actionId: 'scale', type: 'ScaleDeployment', params: { replicas: '3' } },
  { actionId: 'memory', type: 'AdjustResources', params: { memory_limit: '256Mi' } },
  { actionId: 'restart', type: 'RestartDeployment', params: {} },
];
const actionIds = plan.map((a) => a.actionId);

let clients: KubeClients;
let namespace: string;
let storeDir: string;
let storeUrl: string;
let store: EventStore;
let bundleDir: string;
let executorBundle: string;
const children: ChildProcess[] = [];

const killAll = () => {
  for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
};
process.once('exit', killAll);

beforeAll(async () => {
  clients = kubeClients();
  namespace = await createNamespace(clients, 'crash');
  storeDir = mkdtempSync(join(tmpdir(), 'cairn-executor-crash-'));
  storeUrl = `sqlite:${join(storeDir, 'events.db')}`;
  store = openEventStore(storeUrl);
  // About 25 executor processes start in this file: bundled once, each costs a plain node start instead of a
  // TypeScript transform of the whole import graph. Inside node_modules so its packages resolve from there.
  mkdirSync(join(repoRoot, 'node_modules', '.cache'), { recursive: true });
  bundleDir = mkdtempSync(join(repoRoot, 'node_modules', '.cache', 'cairn-executor-crash-'));
  executorBundle = join(bundleDir, 'runExecutor.mjs');
  await build({
    entryPoints: [executorScript],
    outfile: executorBundle,
    bundle: true,
    platform: 'node',
    format: 'esm',
    packages: 'external',
    logLevel: 'silent',
  });
});
afterAll(async () => {
  killAll();
  const running = children.filter((c) => c.exitCode === null && c.signalCode === null);
  await Promise.all(running.map((c) => new Promise((r) => c.once('exit', r))));
  await store?.close();
  await deleteNamespace(clients, namespace);
  rmSync(storeDir, { recursive: true, force: true });
  if (bundleDir) rmSync(bundleDir, { recursive: true, force: true });
});

interface ExecutorRun {
  /** Every stdout line: `event <type>[:<actionId>]`, `ran <id>`, `reconciled <id> applied=<bool>`, `paused`, `done`. */
  readonly lines: string[];
}

/**
 * One executor process on `stream`. With `pauseAt`, it is SIGKILLed the moment it reports standing at that
 * boundary; without, it must run the plan to a terminal state and exit cleanly.
 */
async function runExecutor(stream: string, pauseAt?: string): Promise<ExecutorRun> {
  const child = spawn(process.execPath, [executorBundle, inject('kubeconfig'), storeUrl, stream], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, CAIRN_TEST_PAUSE_AT: pauseAt ?? '' },
  });
  children.push(child);
  const lines: string[] = [];
  let partial = '';
  child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
    const parts = (partial + chunk).split('\n');
    partial = parts.pop() ?? '';
    for (const line of parts) {
      lines.push(line);
      if (process.env.CAIRN_TEST_LOG)
        process.stderr.write(
          `${new Date().toISOString().slice(11, 23)} [executor ${pauseAt ?? 'to the end'}] ${line}\n`,
        );
      // Killed from inside the handler: the child is blocked at the boundary, so nothing happens after it.
      if (line.startsWith('paused ')) child.kill('SIGKILL');
    }
  });
  let stderr = '';
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
    stderr = (stderr + chunk).slice(-4_000);
  });
  const [code, signal] = await new Promise<[number | null, string | null]>((resolve) =>
    child.once('exit', (c, s) => resolve([c, s])),
  );
  const ended = `exit code ${code}, signal ${signal}; stdout: ${lines.join(' | ')}; stderr: ${stderr}`;
  if (pauseAt !== undefined) {
    if (lines.at(-1) !== `paused ${pauseAt}` || signal !== 'SIGKILL')
      throw new Error(`the executor did not stop at ${pauseAt}: ${ended}`);
  } else if (code !== 0 || !lines.at(-1)?.startsWith('done ')) {
    throw new Error(`the executor did not finish: ${ended}`);
  }
  return { lines };
}

/** A healthy single-replica Deployment and a plan for it, appended through the command handler and the decider. */
async function preparePlan(name: string, verificationTimeoutSeconds: number) {
  await clients.apps.createNamespacedDeployment({ namespace, body: deployment(name, { replicas: 1 }) });
  await eventually(`${name} ready`, async () => (await podsOf(clients, namespace, name)).some(isReady));
  const before = await clients.apps.readNamespacedDeployment({ name, namespace });
  const remediationId = randomBytes(8).toString('hex');
  const stream = streamName(StreamCategory.Remediation, remediationId);
  const decide = createCommandHandler(store, remediationDecider);
  const command: RemediationCommand = {
    type: 'CreateRemediationPlan',
    data: {
      remediationId,
      issueId: randomBytes(8).toString('hex'),
      attempt: 1,
      source: RemediationSource.ManualRunbook,
      target: { kind: 'Deployment', name, namespace },
      actions: plan,
      verificationTimeoutSeconds,
    },
    metadata: { occurredAt: new Date().toISOString(), actor: 'test' },
  };
  await decide(stream, command);
  return { stream, before };
}

const count = (events: readonly RecordedEvent[], type: string, actionId: string) =>
  events.filter((e) => e.type === type && (e.data as { actionId?: string }).actionId === actionId).length;

const ranIn = (runs: readonly ExecutorRun[], actionId: string) =>
  runs.flatMap((r) => r.lines).filter((l) => l === `ran ${actionId}`).length;

/** Each run's pause point in order; the last run always goes to the end. */
interface Crash {
  readonly boundary: string;
  readonly kills: readonly string[];
  /** What the restart must say about the action caught between its start and its outcome. */
  readonly reconciles?: { readonly actionId: string; readonly applied: boolean };
}

const crashes: Crash[] = [
  { boundary: 'after SnapshotTaken', kills: ['SnapshotTaken'] },
  ...actionIds.flatMap((id): Crash[] => [
    // Started but never run: the cluster does not show it, so the restart runs it, for the first time.
    {
      boundary: `after ActionStarted of ${id}, before it ran`,
      kills: [`ActionStarted:${id}`],
      reconciles: { actionId: id, applied: false },
    },
    // Run but not recorded: the cluster shows it, so the restart records it without running it again.
    {
      boundary: `after ${id} changed the cluster, before its outcome was recorded`,
      kills: [`applied:${id}`],
      reconciles: { actionId: id, applied: true },
    },
    { boundary: `after ActionSucceeded of ${id}`, kills: [`ActionSucceeded:${id}`] },
  ]),
  { boundary: 'during Verifying', kills: ['verify'] },
];

// Each case has its own Deployment and stream, so they run side by side; `expect` comes from each test's context.
describe.concurrent('the remediation executor killed at a checkpoint boundary and restarted', () => {
  it.for(crashes)(
    '$boundary: each action runs once, is recorded once, and the plan completes',
    async (crash, { expect }) => {
      const name = `c-${randomBytes(3).toString('hex')}`;
      const { stream, before } = await preparePlan(name, 60);
      const runs: ExecutorRun[] = [];
      for (const pauseAt of crash.kills) runs.push(await runExecutor(stream, pauseAt));
      const last = await runExecutor(stream);
      runs.push(last);

      expect(last.lines.at(-1)).toBe('done Completed');
      const events = await store.readStream(stream);
      expect(events.at(-1)?.type).toBe('RemediationCompleted');
      for (const id of actionIds) {
        expect(count(events, 'ActionStarted', id), `ActionStarted of ${id}`).toBe(1);
        expect(count(events, 'ActionSucceeded', id), `ActionSucceeded of ${id}`).toBe(1);
        expect(ranIn(runs, id), `runs of ${id} against the cluster`).toBe(1);
      }
      const reconciled = last.lines.filter((l) => l.startsWith('reconciled '));
      expect(reconciled).toEqual(
        crash.reconciles ? [`reconciled ${crash.reconciles.actionId} applied=${crash.reconciles.applied}`] : [],
      );

      // The cluster saw each change once: three spec writes (scale, resources, restart), so three generations; a
      // second restart would have stamped a new restartedAt and a fourth.
      const after = await clients.apps.readNamespacedDeployment({ name, namespace });
      expect(after.metadata?.generation).toBe((before.metadata?.generation ?? 0) + 3);
      expect(after.spec?.replicas).toBe(3);
      expect(after.spec?.template.spec?.containers[0]?.resources?.limits?.memory).toBe('256Mi');
      const restartedAt = after.spec?.template.metadata?.annotations?.[RestartedAtAnnotation];
      expect(restartedAt).toBeDefined();
      const started = events.find(
        (e) => e.type === 'ActionStarted' && (e.data as { actionId: string }).actionId === 'restart',
      );
      expect(Date.parse(restartedAt!)).toBeGreaterThanOrEqual(Date.parse(started!.metadata.occurredAt));
      expect((await podsOf(clients, namespace, name)).filter(isReady)).toHaveLength(3);
    },
  );

  it('killed while Verifying and restarted past the deadline, then killed again mid-rollback: the snapshot is restored once', async ({
    expect,
  }) => {
    const name = `rb-${randomBytes(3).toString('hex')}`;
    // A window too short to matter: the restart comes after it has closed, so verification fails and rolls back.
    const { stream, before } = await preparePlan(name, 2);
    const runs = [await runExecutor(stream, 'verify')];
    const verifying = (await store.readStream(stream)).find((e) => e.type === 'VerificationStarted');
    const deadline = Date.parse((verifying?.data as { deadline?: string } | undefined)?.deadline ?? '');
    expect(deadline).not.toBeNaN();
    await new Promise((r) => setTimeout(r, Math.max(0, deadline - Date.now()) + 500));
    runs.push(await runExecutor(stream, 'RollbackStarted'));
    const last = await runExecutor(stream);
    runs.push(last);

    expect(last.lines.at(-1)).toBe('done RolledBack');
    const events = await store.readStream(stream);
    expect(events.map((e) => e.type).slice(-4)).toEqual([
      'VerificationFailed',
      'RollbackStarted',
      'RollbackCompleted',
      'RemediationRolledBack',
    ]);
    for (const id of actionIds) {
      expect(count(events, 'ActionStarted', id), `ActionStarted of ${id}`).toBe(1);
      expect(count(events, 'ActionSucceeded', id), `ActionSucceeded of ${id}`).toBe(1);
      expect(ranIn(runs, id), `runs of ${id} against the cluster`).toBe(1);
    }
    expect(events.filter((e) => e.type === 'RollbackStarted')).toHaveLength(1);
    expect(events.filter((e) => e.type === 'RollbackCompleted')).toHaveLength(1);

    // The snapshot is back: one replica, the old limit, no restart stamp. Three action writes and one restore.
    const after = await clients.apps.readNamespacedDeployment({ name, namespace });
    expect(after.spec?.replicas).toBe(before.spec?.replicas);
    expect(after.spec?.template).toEqual(before.spec?.template);
    expect(after.metadata?.generation).toBe((before.metadata?.generation ?? 0) + 4);
  });
});
