import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { RecordedEvent } from '../../domain/messages.ts';
import { openEventStore } from '../../src/adapters/eventstore/openEventStore.ts';
import { applyFault, type FaultName } from '../../src/cluster/faults.ts';
import type { LocalCluster } from '../../src/cluster/localCluster.ts';
import {
  createNamespace,
  deleteNamespace,
  deployment,
  eventually,
  isReady,
  type KubeClients,
  kubeClients,
  podsOf,
  testCluster,
} from '../support/kube.ts';
import { killOperators, type OperatorProcess as SpawnedOperator, spawnOperator } from '../support/operatorProcess.ts';

/**
 * The operator as it runs in production: separate `cairn operator` processes sharing one event store, killed with
 * SIGKILL the way a crashed or evicted pod dies (no lease release, no flush). Every replica campaigns for the
 * lease in the test namespace, so the lease belongs to this file alone.
 */
const LEASE_MS = 4_000;

interface CairnObject {
  metadata: { name: string; labels?: Record<string, string> };
  spec: { signal: string; signals?: string[]; resource: { kind: string; name: string } };
  status?: { state?: string; correlated?: boolean };
}

interface OperatorProcess extends SpawnedOperator {
  /** `anomaly:` lines about workloads of this file's namespace. */
  anomalies(): string[];
}

let clients: KubeClients;
let cluster: LocalCluster;
let namespace: string;
let storeDir: string;
let storeUrl: string;

beforeAll(async () => {
  clients = kubeClients();
  cluster = await testCluster();
  namespace = await createNamespace(clients, 'resilience');
  storeDir = mkdtempSync(join(tmpdir(), 'cairn-resilience-'));
  storeUrl = `sqlite:${join(storeDir, 'events.db')}`;
});
afterAll(async () => {
  await killOperators();
  await deleteNamespace(clients, namespace);
  rmSync(storeDir, { recursive: true, force: true });
});

function startOperatorProcess(identity: string, onLine?: (line: string) => void): OperatorProcess {
  const operator = spawnOperator(
    identity,
    [
      '--kubeconfig',
      inject('kubeconfig'),
      '--store',
      storeUrl,
      '--namespace',
      namespace,
      '--lease-duration',
      String(LEASE_MS),
      // deploy_failing would join every Issue a minute in; keeping it out makes the expected signals exact.
      '--threshold',
      'workloadUnavailableSeconds=3600',
      // Replicas on one machine would fight over the HTTP port, and the HTTP API is not what is tested here.
      '--http-port',
      '0',
      // Detection and correlation only: a rollback would change the very pods whose anomalies are counted.
      '--no-remediate',
    ],
    onLine ? { onLine } : {},
  );
  return {
    ...operator,
    anomalies: () => operator.lines.filter((l) => l.startsWith('anomaly:') && l.includes(`/${namespace}/`)),
  };
}

const IdLabel = { anomalies: 'aiops.cairn.dev/anomaly-id', issues: 'aiops.cairn.dev/issue-id' } as const;

/**
 * The objects of this namespace that this file's event store accounts for. Another operator on a shared cluster
 * (a concurrent run with its own store) may write its own objects here; a duplicate from ours always has its id in
 * our store, since objects are rendered from the events. Listing first and reading the store after keeps that true.
 */
async function list(plural: 'anomalies' | 'issues'): Promise<CairnObject[]> {
  const { items } = (await clients.custom.listNamespacedCustomObject({
    group: 'aiops.cairn.dev',
    version: 'v1alpha1',
    namespace,
    plural,
  })) as { items: CairnObject[] };
  const store = openEventStore(storeUrl);
  try {
    const ours = new Set(
      (await store.readAll())
        .filter((e) => e.type === (plural === 'issues' ? 'IssueDetected' : 'AnomalyDetected'))
        .map(
          (e) => (e.data as { issueId?: string; anomalyId?: string })[plural === 'issues' ? 'issueId' : 'anomalyId'],
        ),
    );
    return items.filter((i) => ours.has(i.metadata.labels?.[IdLabel[plural]]));
  } finally {
    await store.close();
  }
}

/** Issues name their workload; Anomalies name the pod, whose name starts with the Deployment's. */
const issuesOf = (items: CairnObject[], workload: string) => items.filter((i) => i.spec.resource.name === workload);
const anomaliesOf = (items: CairnObject[], workload: string) =>
  items.filter((i) => i.spec.resource.name.startsWith(`${workload}-`));
const sorted = (values: readonly string[]) => [...values].sort();

const expectedSignals: Record<FaultName, string[]> = {
  crashloop: ['pod_restart'],
  oom: ['oom_kill', 'pod_restart'],
  'image-pull': ['image_pull'],
  'not-ready': ['pod_not_ready'],
  'missing-config': ['deploy_failing'],
  'job-failed': ['cronjob_failing'],
  'node-not-ready': ['node_not_ready'],
  'disk-pressure': ['disk_pressure'],
  'memory-pressure': ['memory_pressure'],
};

/** The one Issue of a workload, once it carries every expected signal and each of its Anomalies is correlated. */
async function settledIssue(workload: string, signals: string[]) {
  return eventually(
    `one Issue on ${workload} with ${signals.join(' + ')}`,
    async () => {
      const issues = issuesOf(await list('issues'), workload);
      if (issues.length > 1) throw new Error(`${issues.length} Issues for ${workload}`);
      const [issue] = issues;
      if (!issue?.status?.state || JSON.stringify(sorted(issue.spec.signals ?? [])) !== JSON.stringify(signals))
        return undefined;
      const anomalies = anomaliesOf(await list('anomalies'), workload);
      return anomalies.length === signals.length && anomalies.every((a) => a.status?.correlated) ? issue : undefined;
    },
    120_000,
  );
}

/** Exactly one Issue and one Anomaly per signal in the cluster. */
async function expectNoDuplicateObjects(workload: string, signals: string[]) {
  const issues = issuesOf(await list('issues'), workload);
  expect(issues, `Issues of ${workload}`).toHaveLength(1);
  expect(sorted(issues[0]?.spec.signals ?? [])).toEqual(signals);
  expect(sorted(anomaliesOf(await list('anomalies'), workload).map((a) => a.spec.signal))).toEqual(signals);
}

/** The event log, which the objects are rendered from, must hold one detection per signal and one Issue. */
async function eventsByWorkload() {
  const store = openEventStore(storeUrl);
  try {
    const events = (await store.readAll()) as RecordedEvent[];
    const ofType = (type: string, workload: string) =>
      events.filter((e) => {
        const w = (e.data as { workload?: { kind: string; name: string; namespace: string } }).workload;
        return e.type === type && w?.kind === 'Deployment' && w.namespace === namespace && w.name === workload;
      });
    return {
      issuesDetected: (workload: string) => ofType('IssueDetected', workload).length,
      issuesOpened: (workload: string) => ofType('CorrelationIssueOpened', workload).length,
      anomalySignals: (workload: string) =>
        sorted(ofType('AnomalyDetected', workload).map((e) => (e.data as { signal: string }).signal)),
    };
  } finally {
    await store.close();
  }
}

async function expectOneDetectionEach(workload: string, signals: string[]) {
  const log = await eventsByWorkload();
  expect(log.anomalySignals(workload), `AnomalyDetected of ${workload}`).toEqual(signals);
  expect(log.issuesOpened(workload), `CorrelationIssueOpened of ${workload}`).toBe(1);
  expect(log.issuesDetected(workload), `IssueDetected of ${workload}`).toBe(1);
}

interface LeaseSpec {
  readonly holderIdentity?: string;
  readonly leaseTransitions?: number;
  readonly acquireTime?: string | Date;
  readonly renewTime?: string | Date;
}

async function leaseSpec(): Promise<LeaseSpec> {
  const lease = (await clients.objects.read({
    apiVersion: 'coordination.k8s.io/v1',
    kind: 'Lease',
    metadata: { name: 'cairn-operator', namespace },
  })) as { spec?: LeaseSpec };
  return lease.spec ?? {};
}

async function leaseHolder(): Promise<string | undefined> {
  return (await leaseSpec()).holderIdentity;
}

async function stopGracefully(operator: OperatorProcess) {
  if (operator.child.exitCode !== null || operator.child.signalCode !== null) return;
  operator.child.kill('SIGTERM');
  const timeout = new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), 15_000));
  if ((await Promise.race([operator.exited, timeout])) === 'timeout') operator.child.kill('SIGKILL');
  await operator.exited;
}

describe('two operator replicas on one event store', () => {
  let replicas: OperatorProcess[] = [];
  // Hand the lease back (or let it expire) even when an assertion failed, so the next test's operator can lead.
  afterAll(async () => {
    await Promise.all(replicas.map(stopGracefully));
  });

  it('lets one replica lead; when it is killed the standby takes over once the lease runs out and nothing is recorded twice', async () => {
    replicas = [startOperatorProcess('replica-a'), startOperatorProcess('replica-b')];
    const leader = await eventually('a replica to lead', async () => replicas.find((r) => r.leading()), 60_000);
    const standby = replicas.find((r) => r !== leader)!;
    // Several renew periods (lease/6 each): a standby that wrongly thought the lease free would have said so.
    await new Promise((r) => setTimeout(r, LEASE_MS));
    expect(replicas.filter((r) => r.leading()).map((r) => r.identity)).toEqual([leader.identity]);
    expect(await leaseHolder()).toBe(leader.identity);

    await clients.apps.createNamespacedDeployment({ namespace, body: deployment('first', { replicas: 2 }) });
    await applyFault(cluster, 'oom', `${namespace}/first`);
    await settledIssue('first', expectedSignals.oom);
    expect(leader.anomalies().some((l) => l.includes(`Deployment/${namespace}/first`))).toBe(true);
    expect(standby.lines.filter((l) => l.startsWith('anomaly:'))).toEqual([]);

    const held = await leaseSpec();
    leader.child.kill('SIGKILL');
    await leader.exited;
    await eventually('the standby to take over', async () => standby.leading(), 30_000);
    // What the Lease records, not a stopwatch: the standby holds it as the next transition, taken only once the
    // lease had run out past the leader's last renewal (no earlier than the one read before the kill).
    const taken = await leaseSpec();
    expect(taken.holderIdentity).toBe(standby.identity);
    expect(taken.leaseTransitions).toBe((held.leaseTransitions ?? 0) + 1);
    expect(new Date(taken.acquireTime ?? 0).getTime() - new Date(held.renewTime ?? 0).getTime()).toBeGreaterThan(
      LEASE_MS,
    );

    // The new leader re-lists the cluster and sees first's pods still crashing: that must not open a second Issue.
    await clients.apps.createNamespacedDeployment({ namespace, body: deployment('second', { replicas: 1 }) });
    await applyFault(cluster, 'crashloop', `${namespace}/second`);
    await settledIssue('second', expectedSignals.crashloop);
    expect(standby.anomalies().some((l) => l.includes(`Deployment/${namespace}/second`))).toBe(true);
    expect(leader.anomalies().some((l) => l.includes(`Deployment/${namespace}/second`))).toBe(false);

    await expectNoDuplicateObjects('first', expectedSignals.oom);
    await expectNoDuplicateObjects('second', expectedSignals.crashloop);
    await expectOneDetectionEach('first', expectedSignals.oom);
    await expectOneDetectionEach('second', expectedSignals.crashloop);
  });
});

describe('an operator killed during a burst of faults', () => {
  it('restarts on the same store and leaves exactly one Issue and one Anomaly per signal for every workload', async () => {
    const burst: { name: string; fault: FaultName }[] = Array.from({ length: 6 }, (_, i) => ({
      name: `burst-${i + 1}`,
      fault: i % 2 === 0 ? 'oom' : 'crashloop',
    }));
    for (const { name } of burst) {
      await clients.apps.createNamespacedDeployment({ namespace, body: deployment(name, { replicas: 2 }) });
    }
    await eventually('every burst pod to be ready', async () => {
      const pods = await Promise.all(burst.map(({ name }) => podsOf(clients, namespace, name)));
      return pods.every((p) => p.length === 2 && p.every(isReady));
    });

    // SIGKILL from inside the stdout handler, the moment the first burst anomaly is reported, so the kill lands
    // while the rest of the burst is still being detected and recorded.
    const expectedTotal = burst.reduce((n, { fault }) => n + expectedSignals[fault].length, 0);
    let recordedAtKill = -1;
    const isBurst = (line: string) => line.startsWith('anomaly:') && line.includes(`Deployment/${namespace}/burst-`);
    const first: OperatorProcess = startOperatorProcess('restart-a', (line) => {
      if (recordedAtKill < 0 && isBurst(line)) {
        first.child.kill('SIGKILL');
        recordedAtKill = first.lines.filter(isBurst).length;
      }
    });
    await eventually('restart-a to lead', async () => first.leading(), 60_000);

    for (const { name, fault } of burst) await applyFault(cluster, fault, `${namespace}/${name}`);
    await first.exited;
    expect(recordedAtKill).toBeGreaterThanOrEqual(1);
    expect(recordedAtKill).toBeLessThan(expectedTotal);

    const second = startOperatorProcess('restart-b');
    await eventually('restart-b to lead', async () => second.leading(), 60_000);
    for (const { name, fault } of burst) await settledIssue(name, expectedSignals[fault]);
    // Settled: give a late duplicate (a re-delivered event, a re-listed pod) time to show up before counting.
    await new Promise((r) => setTimeout(r, 5_000));

    for (const { name, fault } of burst) {
      await expectNoDuplicateObjects(name, expectedSignals[fault]);
      await expectOneDetectionEach(name, expectedSignals[fault]);
    }
    const detectedEvents = await clients.core.listNamespacedEvent({
      namespace,
      fieldSelector: 'reason=CairnIssueDetected',
    });
    for (const { name } of burst) {
      expect(detectedEvents.items.filter((e) => e.involvedObject.name === name)).toHaveLength(1);
    }
    await stopGracefully(second);
  });
});
