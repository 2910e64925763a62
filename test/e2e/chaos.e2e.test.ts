import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { RecordedEvent } from '../../domain/messages.ts';
import { openEventStore } from '../../src/adapters/eventstore/openEventStore.ts';
import { FaultMarks } from '../../src/cluster/stages.ts';
import { type RunningOperator, startOperator } from '../../src/operator.ts';
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
import { killOperators, spawnOperator } from '../support/operatorProcess.ts';

/**
 * Game days on the real control plane. A bad image injected by a ChaosExperiment is detected, rolled back by Cairn
 * and reported as passed with its figures; runs that fail a safety check change nothing; and a fault never stays
 * behind: not when its experiment is deleted mid-run, not when a check fails mid-run, not when the operator is
 * killed with SIGKILL mid-run (the next operator takes it back from the log).
 */

const group = 'aiops.cairn.dev';
const version = 'v1alpha1';
const LEASE_MS = 4_000;

interface Experiment {
  metadata: { name: string };
  status?: Record<string, unknown> & {
    state?: string;
    result?: string;
    checks?: { name: string; passed: boolean; detail: string }[];
  };
}

let clients: KubeClients;

beforeAll(() => {
  clients = kubeClients();
});

const createExperiment = (namespace: string, name: string, spec: Record<string, unknown>) =>
  clients.custom.createNamespacedCustomObject({
    group,
    version,
    namespace,
    plural: 'chaosexperiments',
    body: { apiVersion: `${group}/${version}`, kind: 'ChaosExperiment', metadata: { name }, spec },
  });

const experiment = async (namespace: string, name: string) =>
  (await clients.custom.getNamespacedCustomObject({
    group,
    version,
    namespace,
    plural: 'chaosexperiments',
    name,
  })) as Experiment;

const stateOf = (namespace: string, name: string, states: string[], timeoutMs = 120_000) =>
  eventually(
    `experiment ${name} to be ${states.join(' or ')}`,
    async () => {
      const e = await experiment(namespace, name);
      return states.includes(e.status?.state ?? '') ? e : undefined;
    },
    timeoutMs,
  );

async function chaosEvents(storeUrl: string, namespace: string, name: string): Promise<RecordedEvent[]> {
  const store = openEventStore(storeUrl);
  try {
    return await store.readStream(`chaos-${namespace}.${name}`);
  } finally {
    await store.close();
  }
}

const readyDeployment = async (namespace: string, name: string, replicas: number) => {
  await clients.apps.createNamespacedDeployment({ namespace, body: deployment(name, { replicas }) });
  await eventually(
    `${name} ready`,
    async () => (await podsOf(clients, namespace, name)).filter(isReady).length === replicas,
    120_000,
  );
  await eventually(`${name} available`, async () => {
    const d = await clients.apps.readNamespacedDeployment({ namespace, name });
    return (d.status?.availableReplicas ?? 0) === replicas && (d.status?.updatedReplicas ?? 0) === replicas;
  });
};

describe('chaos experiments with Cairn remediating', () => {
  let namespace: string;
  let operator: RunningOperator;
  let storeUrl: string;
  let storeDir: string;

  beforeAll(async () => {
    namespace = await createNamespace(clients, 'chaos');
    storeDir = mkdtempSync(join(tmpdir(), 'cairn-chaos-'));
    storeUrl = `sqlite:${join(storeDir, 'events.db')}`;
    operator = await startOperator({
      kubeconfig: inject('kubeconfig'),
      store: storeUrl,
      namespace,
      watchNamespaces: [namespace],
      verificationTimeoutSeconds: 60,
      maxAttempts: 2,
      chaos: true,
      thresholds: { workloadUnavailableSeconds: 5 },
      ...(process.env.CAIRN_TEST_LOG ? { log: (line: string) => process.stderr.write(`[chaos] ${line}\n`) } : {}),
    });
    await eventually('the operator to lead', async () => operator.isLeader());
  }, 120_000);

  afterAll(async () => {
    await operator?.stop();
    if (namespace) await deleteNamespace(clients, namespace);
    if (storeDir) rmSync(storeDir, { recursive: true, force: true });
  });

  it('a bad image is detected, rolled back by Cairn and reported as passed with its figures', async () => {
    await readyDeployment(namespace, 'web', 2);
    const before = await clients.apps.readNamespacedDeployment({ namespace, name: 'web' });
    const image = before.spec?.template.spec?.containers[0]?.image;
    await createExperiment(namespace, 'bad-image', {
      fault: { type: 'image_pull' },
      target: { kind: 'Deployment', name: 'web' },
      duration: '4m',
      safety: { maxPodsPercent: 100 },
      recovery: { expect: 'IssueResolved', within: '4m' },
    });

    const done = await stateOf(namespace, 'bad-image', ['Passed', 'Failed', 'Aborted', 'Refused'], 300_000);
    expect(done.status?.result).toMatch(/^recovered .*Cairn's remediation brought it back/);
    expect(done.status).toMatchObject({ state: 'Passed', recovered: true, remediatedByCairn: true, run: 1 });
    for (const figure of ['timeToDetectSeconds', 'timeToPlanSeconds', 'timeToRecoverSeconds']) {
      expect(done.status?.[figure]).toEqual(expect.any(Number));
    }
    const { timeToDetectSeconds, timeToPlanSeconds, timeToRecoverSeconds } = done.status as Record<string, number>;
    expect(timeToDetectSeconds).toBeLessThanOrEqual(timeToPlanSeconds!);
    expect(timeToPlanSeconds).toBeLessThanOrEqual(timeToRecoverSeconds!);
    expect(done.status?.issueRef).toEqual({ name: expect.any(String) });

    // Cairn's rollback is what fixed it, and taking the fault back found nothing left to undo.
    const after = await clients.apps.readNamespacedDeployment({ namespace, name: 'web' });
    expect(after.spec?.template.spec?.containers[0]?.image).toBe(image);
    const events = await chaosEvents(storeUrl, namespace, 'bad-image');
    expect(events.map((e) => e.type)).toEqual(
      expect.arrayContaining([
        'ChaosInjectionPlanned',
        'ChaosFaultInjected',
        'ChaosFaultReverted',
        'ChaosRunCompleted',
      ]),
    );
    expect(events.find((e) => e.type === 'ChaosRevertRequested')?.data).toMatchObject({ reason: 'recovered' });
    expect(events.find((e) => e.type === 'ChaosFaultReverted')?.data).toMatchObject({ changed: false });
    // The plan is recorded before the change is made.
    const order = events.map((e) => e.type);
    expect(order.indexOf('ChaosInjectionPlanned')).toBeLessThan(order.indexOf('ChaosFaultInjected'));
  }, 360_000);

  it('refuses runs that fail a safety check or cannot be produced, and changes nothing', async () => {
    await readyDeployment(namespace, 'api', 2);
    const generation = (await clients.apps.readNamespacedDeployment({ namespace, name: 'api' })).metadata?.generation;
    const base = { duration: '1m', recovery: { expect: 'WorkloadReady', within: '2m' } };
    await createExperiment(namespace, 'whole-workload', {
      ...base,
      fault: { type: 'image_pull' },
      target: { kind: 'Deployment', name: 'api' },
    });
    await createExperiment(namespace, 'latency', {
      ...base,
      fault: { type: 'network_latency' },
      target: { kind: 'Deployment', name: 'api' },
    });
    await createExperiment(namespace, 'no-target', {
      ...base,
      fault: { type: 'pod_kill' },
      target: { kind: 'Deployment', name: 'does-not-exist' },
    });
    await createExperiment(namespace, 'rehearsal', {
      ...base,
      fault: { type: 'image_pull' },
      target: { kind: 'Deployment', name: 'api' },
      safety: { maxPodsPercent: 100 },
      dryRun: true,
    });

    const share = await stateOf(namespace, 'whole-workload', ['Refused']);
    expect(share.status?.result).toMatch(
      /^refused \(too_many_pods\): the fault reaches every replica: 2 of 2 \(100%\)/,
    );
    expect(share.status?.checks?.find((c) => c.name === 'share')).toMatchObject({ passed: false });
    expect((await stateOf(namespace, 'latency', ['Refused'])).status?.result).toMatch(
      /^refused \(not_injectable\): .*network/,
    );
    expect((await stateOf(namespace, 'no-target', ['Refused'])).status?.result).toMatch(
      /^refused \(target_missing\): Deployment .*\/does-not-exist does not exist/,
    );
    const rehearsal = await stateOf(namespace, 'rehearsal', ['DryRun']);
    expect(rehearsal.status?.result).toMatch(/^dry run, nothing injected; would /);

    const d = await clients.apps.readNamespacedDeployment({ namespace, name: 'api' });
    expect(d.metadata?.generation).toBe(generation);
    expect((await podsOf(clients, namespace, 'api')).filter(isReady)).toHaveLength(2);
  }, 240_000);

  it('deleting an experiment mid-run takes its fault back', async () => {
    await readyDeployment(namespace, 'cart', 2);
    await createExperiment(namespace, 'outage', {
      fault: { type: 'scale_to_zero' },
      target: { kind: 'Deployment', name: 'cart' },
      duration: '10m',
      safety: { maxPodsPercent: 100 },
      recovery: { expect: 'WorkloadReady', within: '15m' },
    });
    await stateOf(namespace, 'outage', ['Running']);
    await eventually('cart scaled to zero', async () => {
      const d = await clients.apps.readNamespacedDeployment({ namespace, name: 'cart' });
      return d.spec?.replicas === 0;
    });
    await clients.custom.deleteNamespacedCustomObject({
      group,
      version,
      namespace,
      plural: 'chaosexperiments',
      name: 'outage',
    });
    await eventually(
      'cart back at 2 replicas',
      async () => (await clients.apps.readNamespacedDeployment({ namespace, name: 'cart' })).spec?.replicas === 2,
    );
    const events = await eventually('the run to be recorded as aborted', async () => {
      const recorded = await chaosEvents(storeUrl, namespace, 'outage');
      return recorded.some((e) => e.type === 'ChaosRunCompleted') ? recorded : undefined;
    });
    expect(events.find((e) => e.type === 'ChaosRevertRequested')?.data).toMatchObject({
      reason: 'experiment_deleted',
    });
    expect(events.find((e) => e.type === 'ChaosRunCompleted')?.data).toMatchObject({ outcome: 'aborted' });
  }, 240_000);
});

describe('chaos experiments across a kill -9 of the operator', () => {
  let namespace: string;
  let storeDir: string;
  let storeUrl: string;

  beforeAll(async () => {
    namespace = await createNamespace(clients, 'chaos-crash');
    storeDir = mkdtempSync(join(tmpdir(), 'cairn-chaos-crash-'));
    storeUrl = `sqlite:${join(storeDir, 'events.db')}`;
  });
  afterAll(async () => {
    await killOperators();
    if (namespace) await deleteNamespace(clients, namespace);
    if (storeDir) rmSync(storeDir, { recursive: true, force: true });
  });

  /** `cairn operator` with remediation off: only the chaos runs act on this namespace. */
  const startOperatorProcess = (identity: string) =>
    spawnOperator(identity, [
      '--kubeconfig',
      inject('kubeconfig'),
      '--store',
      storeUrl,
      '--namespace',
      namespace,
      '--watch-namespace',
      namespace,
      '--lease-duration',
      String(LEASE_MS),
      '--http-port',
      '0',
      '--no-remediate',
      '--chaos',
    ]);

  it('the next operator takes back a fault the killed one left in, and a failed check mid-run aborts', async () => {
    await readyDeployment(namespace, 'orders', 2);
    await readyDeployment(namespace, 'search', 3);
    const first = startOperatorProcess('chaos-first');
    await eventually('the first operator to lead', async () => first.leading(), 60_000);
    await createExperiment(namespace, 'outage', {
      fault: { type: 'scale_to_zero' },
      target: { kind: 'Deployment', name: 'orders' },
      duration: '10m',
      safety: { maxPodsPercent: 100 },
      recovery: { expect: 'WorkloadReady', within: '15m' },
    });
    await stateOf(namespace, 'outage', ['Running']);
    await eventually(
      'orders scaled to zero',
      async () => (await clients.apps.readNamespacedDeployment({ namespace, name: 'orders' })).spec?.replicas === 0,
    );
    first.child.kill('SIGKILL');
    await first.exited;
    // Nobody runs: the fault stays in until an operator leads again.
    expect((await clients.apps.readNamespacedDeployment({ namespace, name: 'orders' })).spec?.replicas).toBe(0);

    const second = startOperatorProcess('chaos-second');
    await eventually('the second operator to lead', async () => second.leading(), 60_000);
    await eventually(
      'orders back at 2 replicas',
      async () => (await clients.apps.readNamespacedDeployment({ namespace, name: 'orders' })).spec?.replicas === 2,
      120_000,
    );
    const aborted = await stateOf(namespace, 'outage', ['Aborted']);
    expect(aborted.status?.result).toMatch(/^aborted \(operator_restarted\)/);

    // A failed check mid-run: one pod wedged by the experiment, then another by someone else, leaves fewer ready
    // pods than the experiment allows, so it takes its own fault back (and only its own).
    await createExperiment(namespace, 'wedge', {
      fault: { type: 'pod_not_ready', count: 1 },
      target: { kind: 'Deployment', name: 'search' },
      duration: '10m',
      safety: { minHealthyPods: 2 },
      recovery: { expect: 'WorkloadReady', within: '15m' },
    });
    await stateOf(namespace, 'wedge', ['Running']);
    const wedged = await eventually('one search pod wedged by the experiment', async () => {
      const pods = await podsOf(clients, namespace, 'search');
      const marked = pods.filter((p) => p.metadata?.labels?.[FaultMarks.wedged] === 'true');
      return marked.length === 1 ? marked[0]!.metadata!.name! : undefined;
    });
    const other = (await podsOf(clients, namespace, 'search')).find((p) => p.metadata?.name !== wedged)!;
    await clients.core.patchNamespacedPod({
      namespace,
      name: other.metadata!.name!,
      body: [{ op: 'add', path: `/metadata/labels/${FaultMarks.wedged.replace('/', '~1')}`, value: 'true' }],
    });
    const safety = await stateOf(namespace, 'wedge', ['Aborted']);
    expect(safety.status?.result).toMatch(
      /^aborted \(safety_check_failed\): only [01] ready pod\(s\), below safety\.minHealthyPods \(2\)/,
    );
    const labels = Object.fromEntries(
      (await podsOf(clients, namespace, 'search')).map((p) => [
        p.metadata?.name,
        p.metadata?.labels?.[FaultMarks.wedged],
      ]),
    );
    expect(labels[wedged]).toBeUndefined();
    expect(labels[other.metadata!.name!]).toBe('true');
  }, 420_000);
});
