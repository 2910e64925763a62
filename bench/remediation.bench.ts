/**
 * Remediation latency, the bad-image scenario end to end: from the patch that rolls out a crashing image to the
 * Issue's IssueResolved event.
 *
 *   node --import tsx bench/remediation.bench.ts        (REMEDIATION_FAULTS=10, REMEDIATION_IN_FLIGHT=1)
 *
 * Starts its own control plane (`cairn-bench-remedy`, always torn down), deploys healthy two-replica Deployments,
 * runs the operator in-process on a temp sqlite store (rules provider, verification window 30 s), then gives each
 * Deployment the image the local cluster crashes on, as `cairn cluster fault crashloop` does. The loop the
 * operator must close: detect the restarts, open the Issue, analyse, plan a RollbackDeployment, snapshot, roll
 * back, verify the workload healthy, resolve.
 *
 * By default one fault is in flight at a time, so each sample is the latency of one incident, not of a queue (the
 * executor runs plans one after another). REMEDIATION_IN_FLIGHT=n breaks n Deployments at once.
 *
 * Definitions, both on this machine's clock: the fault starts when the API server has accepted the image patch
 * (its response arrived); it ends at `recordedAt` of the IssueResolved event, as the store stamped it on append.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as k8s from '@kubernetes/client-node';
import type { RecordedEvent } from '../domain/messages.ts';
import { parseStreamName } from '../domain/streams.ts';
import { openEventStore } from '../src/adapters/eventstore/openEventStore.ts';
import { markImage } from '../src/cluster/faults.ts';
import { clusterDown, clusterDownSync, clusterUp, type LocalCluster, waitFor } from '../src/cluster/localCluster.ts';
import { FaultMarks } from '../src/cluster/stages.ts';
import { ensureToolchain } from '../src/cluster/toolchain.ts';
import { startOperator } from '../src/operator.ts';

const FAULTS = Number(process.env.REMEDIATION_FAULTS ?? 10);
const IN_FLIGHT = Math.max(1, Number(process.env.REMEDIATION_IN_FLIGHT ?? 1));
const CLUSTER = 'cairn-bench-remedy';
const NAMESPACE = 'bench-remedy';
const IMAGE = 'registry.local/bench/web:1.0.0';
const REPLICAS = 2;
/** One incident may take detection + analysis + a 30 s verification window and a rollback; beyond this it is lost. */
const INCIDENT_TIMEOUT_MS = 120_000;

const report = (name: string, value: number, unit: string, digits = 0) =>
  process.stdout.write(`${name}=${value.toFixed(digits)} ${unit}\n`);
const progress = (line: string) => process.stderr.write(`[remediation] ${line}\n`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const percentile = (sorted: readonly number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))] ?? Number.NaN;
const appName = (i: number) => `web-${String(i).padStart(2, '0')}`;

const deploymentOf = (name: string): k8s.V1Deployment => ({
  metadata: { name, labels: { app: name } },
  spec: {
    replicas: REPLICAS,
    selector: { matchLabels: { app: name } },
    strategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 1, maxSurge: 1 } },
    template: {
      metadata: { labels: { app: name } },
      spec: {
        containers: [
          {
            name: 'app',
            image: IMAGE,
            resources: { requests: { cpu: '100m', memory: '128Mi' }, limits: { memory: '128Mi' } },
          },
        ],
      },
    },
  },
});

/** What `cairn cluster fault crashloop` changes: the image, marked so the local cluster's pods crash on start. */
const crashPatch = {
  spec: { template: { spec: { containers: [{ name: 'app', image: markImage(IMAGE, FaultMarks.crashImage) }] } } },
};

interface Incident {
  faultAt?: number;
  detectedAt?: number;
  plannedAt?: number;
  endedAt?: number;
  outcome?: 'resolved' | 'escalated';
}

async function run(cluster: LocalCluster) {
  const config = new k8s.KubeConfig();
  config.loadFromFile(cluster.kubeconfig);
  const core = config.makeApiClient(k8s.CoreV1Api);
  const apps = config.makeApiClient(k8s.AppsV1Api);
  const names = Array.from({ length: FAULTS }, (_, i) => appName(i));

  await core.createNamespace({ body: { metadata: { name: NAMESPACE } } });
  await waitFor(async () => (await core.listNamespacedServiceAccount({ namespace: NAMESPACE })).items.length > 0);
  progress(`creating ${FAULTS} healthy Deployments of ${REPLICAS} replicas`);
  for (const name of names) await apps.createNamespacedDeployment({ namespace: NAMESPACE, body: deploymentOf(name) });
  await waitFor(
    async () => {
      const { items } = await apps.listNamespacedDeployment({ namespace: NAMESPACE });
      return items.length === FAULTS && items.every((d) => d.status?.availableReplicas === REPLICAS);
    },
    180_000,
    1_000,
  );

  const dir = mkdtempSync(join(tmpdir(), 'cairn-bench-remedy-'));
  const storeUrl = `sqlite:${join(dir, 'events.db')}`;
  const operator = await startOperator({
    kubeconfig: cluster.kubeconfig,
    store: storeUrl,
    namespace: NAMESPACE,
    identity: 'bench',
    watchNamespaces: [NAMESPACE],
    verificationTimeoutSeconds: 30,
    log: (line) => {
      if (line.startsWith('error')) progress(line);
    },
  });
  const store = openEventStore(storeUrl);
  const incidents = new Map<string, Incident>(names.map((n) => [n, {}]));
  const workloadOfIssue = new Map<string, string>();
  try {
    await waitFor(async () => operator.isLeader(), 60_000, 100);
    const subscription = store.subscribeToAll(
      { filter: { eventTypes: ['IssueDetected', 'RemediationPlanCreated', 'IssueResolved', 'IssueEscalated'] } },
      (event: RecordedEvent) => {
        const at = Date.parse(event.recordedAt);
        if (event.type === 'IssueDetected') {
          const { issueId, workload } = event.data as { issueId: string; workload: { name: string } };
          workloadOfIssue.set(issueId, workload.name);
          const incident = incidents.get(workload.name);
          if (incident && incident.detectedAt === undefined) incident.detectedAt = at;
          return;
        }
        if (event.type === 'RemediationPlanCreated') {
          const { issueId } = event.data as { issueId: string };
          const incident = incidents.get(workloadOfIssue.get(issueId) ?? '');
          if (incident && incident.plannedAt === undefined) incident.plannedAt = at;
          return;
        }
        const incident = incidents.get(workloadOfIssue.get(parseStreamName(event.streamId).id) ?? '');
        if (!incident || incident.endedAt !== undefined) return;
        incident.endedAt = at;
        incident.outcome = event.type === 'IssueResolved' ? 'resolved' : 'escalated';
      },
    );
    // The operator's informers list everything once it leads; let that pass so it is not part of any sample.
    await sleep(3_000);

    progress(`breaking ${FAULTS} Deployments, ${IN_FLIGHT} at a time`);
    const queue = [...names];
    const worker = async () => {
      for (let name = queue.shift(); name !== undefined; name = queue.shift()) {
        const incident = incidents.get(name)!;
        await apps.patchNamespacedDeployment(
          { name, namespace: NAMESPACE, body: crashPatch },
          k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.StrategicMergePatch),
        );
        incident.faultAt = Date.now();
        await waitFor(async () => incident.endedAt !== undefined, INCIDENT_TIMEOUT_MS, 100).catch(() => undefined);
        const took = incident.endedAt === undefined ? 'not ended' : `${incident.endedAt - incident.faultAt} ms`;
        progress(`${name}: ${incident.outcome ?? 'lost'} (${took})`);
      }
    };
    await Promise.all(Array.from({ length: IN_FLIGHT }, worker));
    await subscription.close();
  } finally {
    await operator.stop();
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }

  const all = [...incidents.values()];
  const since = (pick: (i: Incident) => number | undefined, only = all) =>
    only
      .filter((i) => i.faultAt !== undefined && pick(i) !== undefined)
      .map((i) => pick(i)! - i.faultAt!)
      .sort((a, b) => a - b);
  const resolved = all.filter((i) => i.outcome === 'resolved');
  const toResolved = since((i) => i.endedAt, resolved);
  const toDetected = since((i) => i.detectedAt);
  const toPlanned = since((i) => i.plannedAt);
  report('remediation_faults', FAULTS, 'faults');
  report('remediation_resolved', resolved.length, 'issues');
  report('remediation_escalated', all.filter((i) => i.outcome === 'escalated').length, 'issues');
  report('remediation_fault_to_detected_p50_ms', percentile(toDetected, 50), 'ms');
  report('remediation_fault_to_plan_p50_ms', percentile(toPlanned, 50), 'ms');
  report('remediation_fault_to_resolved_p50_ms', percentile(toResolved, 50), 'ms');
  report('remediation_fault_to_resolved_p90_ms', percentile(toResolved, 90), 'ms');
  report('remediation_fault_to_resolved_max_ms', toResolved.at(-1) ?? Number.NaN, 'ms');
  if (resolved.length < FAULTS) throw new Error(`${FAULTS - resolved.length} of ${FAULTS} faults were not resolved`);
}

process.stdout.write(
  `remediation: bad image patch -> IssueResolved, ${FAULTS} faults (${IN_FLIGHT} in flight), operator in-process, sqlite store\n`,
);
const toolchain = await ensureToolchain(progress);
// Ctrl-C must not leave etcd and the API server running, nor may a failure halfway through starting them.
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    clusterDownSync(CLUSTER, toolchain);
    process.exit(130);
  });
}
try {
  progress(`starting control plane ${CLUSTER}`);
  await run(await clusterUp({ name: CLUSTER, log: progress }));
} finally {
  await clusterDown(CLUSTER);
}
