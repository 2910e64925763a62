/**
 * Detection latency: from a fault becoming visible in the Kubernetes API to its IssueDetected event.
 *
 *   node --import tsx bench/detection.bench.ts          (DETECTION_FAULTS=100, DETECTION_INTERVAL_MS=250)
 *
 * Starts its own control plane (`cairn-bench`), creates one healthy single-replica Deployment per fault, runs the
 * operator in-process on a temp sqlite store, then breaks the Deployments one after another, alternating the two
 * release faults of the local cluster: a memory need above the limit (OOMKilled) and a crashing image
 * (CrashLoopBackOff). Each rollout replaces the pod with a faulty one.
 *
 * Definitions, both on this machine's clock:
 * - visible: the moment an independent watch on the namespace's pods (this process, not the operator's informers)
 *   receives the first pod status in which the operator's own pod detector finds a fault that needs no sustain
 *   period. The pod status timestamps (finishedAt) only have second precision, so the watch's receipt time is the
 *   sharpest "the API is showing it" there is.
 * - Issue event: `recordedAt` of the IssueDetected event of that Deployment, as the store stamped it on append.
 *   The time this process received it (through a second connection that polls every 100 ms) is printed too.
 * The operator's informer and this watch get the same update from the API server at about the same moment, and
 * both run on this event loop; a negative figure means the operator had the Issue recorded before this process's
 * watch callback ran, i.e. the latency is below the few milliseconds this definition can resolve.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as k8s from '@kubernetes/client-node';
import type { RecordedEvent } from '../domain/messages.ts';
import { openEventStore } from '../src/adapters/eventstore/openEventStore.ts';
import { DefaultThresholds, detectPod } from '../src/adapters/kubernetes/detection/detectors.ts';
import { markImage } from '../src/cluster/faults.ts';
import { clusterDown, clusterDownSync, clusterUp, type LocalCluster, waitFor } from '../src/cluster/localCluster.ts';
import { FaultMarks } from '../src/cluster/stages.ts';
import { startOperator } from '../src/operator.ts';

const FAULTS = Number(process.env.DETECTION_FAULTS ?? 100);
const INTERVAL_MS = Number(process.env.DETECTION_INTERVAL_MS ?? 250);
const CLUSTER = 'cairn-bench';
const NAMESPACE = 'bench-detect';
const IMAGE = 'registry.local/bench/app:1.0.0';

const report = (name: string, value: number, unit: string, digits = 0) =>
  process.stdout.write(`${name}=${value.toFixed(digits)} ${unit}\n`);
const progress = (line: string) => process.stderr.write(`[detection] ${line}\n`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const percentile = (sorted: readonly number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))] ?? Number.NaN;
const appName = (i: number) => `app-${String(i).padStart(3, '0')}`;

const deploymentOf = (name: string): k8s.V1Deployment => ({
  metadata: { name, labels: { app: name } },
  spec: {
    replicas: 1,
    selector: { matchLabels: { app: name } },
    strategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 1, maxSurge: 1 } },
    template: {
      metadata: { labels: { app: name } },
      spec: { containers: [{ name: 'app', image: IMAGE, resources: { limits: { memory: '128Mi' } } }] },
    },
  },
});

/** The same triggers `cairn cluster fault oom|crashloop` applies, as one strategic-merge patch each. */
const faultPatch = (i: number) =>
  i % 2 === 0
    ? { spec: { template: { metadata: { annotations: { [FaultMarks.workingSet]: '256Mi' } } } } }
    : {
        spec: { template: { spec: { containers: [{ name: 'app', image: markImage(IMAGE, FaultMarks.crashImage) }] } } },
      };

async function inBatches<T>(items: readonly T[], size: number, each: (item: T) => Promise<unknown>) {
  for (let i = 0; i < items.length; i += size) await Promise.all(items.slice(i, i + size).map(each));
}

async function run(cluster: LocalCluster) {
  const config = new k8s.KubeConfig();
  config.loadFromFile(cluster.kubeconfig);
  const core = config.makeApiClient(k8s.CoreV1Api);
  const apps = config.makeApiClient(k8s.AppsV1Api);
  const names = Array.from({ length: FAULTS }, (_, i) => appName(i));

  await core.createNamespace({ body: { metadata: { name: NAMESPACE } } });
  await waitFor(async () => (await core.listNamespacedServiceAccount({ namespace: NAMESPACE })).items.length > 0);
  progress(`creating ${FAULTS} healthy Deployments`);
  await inBatches(names, 10, (name) =>
    apps.createNamespacedDeployment({ namespace: NAMESPACE, body: deploymentOf(name) }),
  );
  await waitFor(
    async () => {
      const pods = await core.listNamespacedPod({ namespace: NAMESPACE, fieldSelector: 'status.phase=Running' });
      return pods.items.length >= FAULTS;
    },
    180_000,
    1_000,
  );

  const dir = mkdtempSync(join(tmpdir(), 'cairn-bench-detect-'));
  const storeUrl = `sqlite:${join(dir, 'events.db')}`;
  const operator = await startOperator({
    kubeconfig: cluster.kubeconfig,
    store: storeUrl,
    namespace: NAMESPACE,
    identity: 'bench',
    // Detection alone: rolling the faults back would only add load that is not part of this path.
    remediate: false,
    log: (line) => {
      if (line.startsWith('error')) progress(line);
    },
  });
  const store = openEventStore(storeUrl);
  const visibleAt = new Map<string, number>();
  const issueAt = new Map<string, number>();
  const receivedAt = new Map<string, number>();
  let watching: AbortController | undefined;
  try {
    await waitFor(async () => operator.isLeader(), 60_000, 100);

    const subscription = store.subscribeToAll({ filter: { eventTypes: ['IssueDetected'] } }, (event: RecordedEvent) => {
      const { workload } = event.data as { workload: { kind: string; name: string; namespace: string } };
      if (workload.namespace !== NAMESPACE || issueAt.has(workload.name)) return;
      issueAt.set(workload.name, Date.parse(event.recordedAt));
      receivedAt.set(workload.name, Date.now());
    });

    watching = await new k8s.Watch(config).watch(
      `/api/v1/namespaces/${NAMESPACE}/pods`,
      {},
      (type: string, pod: k8s.V1Pod) => {
        const at = Date.now();
        const app = pod.metadata?.labels?.app;
        if (!app || visibleAt.has(app) || type === 'DELETED') return;
        if (detectPod(pod, DefaultThresholds).some((f) => f.sustainSeconds === 0)) visibleAt.set(app, at);
      },
      (error) => {
        if (error) progress(`pod watch ended: ${String(error)}`);
      },
    );
    // The operator's informers list everything once it leads; let that pass so it is not part of any sample.
    await sleep(3_000);

    progress(`injecting ${FAULTS} faults, one every ${INTERVAL_MS} ms`);
    const started = Date.now();
    for (let i = 0; i < FAULTS; i++) {
      const due = started + i * INTERVAL_MS;
      if (due > Date.now()) await sleep(due - Date.now());
      await apps.patchNamespacedDeployment(
        { name: names[i]!, namespace: NAMESPACE, body: faultPatch(i) },
        k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.StrategicMergePatch),
      );
    }
    await waitFor(async () => names.every((n) => issueAt.has(n) && visibleAt.has(n)), 120_000, 200).catch(() =>
      progress(`only ${issueAt.size} Issues and ${visibleAt.size} visible faults after 120 s`),
    );
    await subscription.close();
  } finally {
    watching?.abort();
    await operator.stop();
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }

  const latencies = names
    .filter((n) => issueAt.has(n) && visibleAt.has(n))
    .map((n) => issueAt.get(n)! - visibleAt.get(n)!)
    .sort((a, b) => a - b);
  const receipts = names
    .filter((n) => receivedAt.has(n) && visibleAt.has(n))
    .map((n) => receivedAt.get(n)! - visibleAt.get(n)!)
    .sort((a, b) => a - b);
  report('detection_faults', FAULTS, 'faults');
  report('detection_issues', latencies.length, 'issues');
  report('detection_to_issue_p50', percentile(latencies, 50), 'ms');
  report('detection_to_issue_p90', percentile(latencies, 90), 'ms');
  report('detection_to_issue_p99', percentile(latencies, 99), 'ms');
  report('detection_to_issue_max', latencies.at(-1) ?? Number.NaN, 'ms');
  report('detection_to_issue_received_p50', percentile(receipts, 50), 'ms');
  report('detection_to_issue_received_p99', percentile(receipts, 99), 'ms');
  if (latencies.length < FAULTS) throw new Error(`${FAULTS - latencies.length} faults never became an Issue`);
}

process.stdout.write(
  `detection: fault visible in the API -> IssueDetected, ${FAULTS} faults, operator in-process, sqlite store\n`,
);
progress(`starting control plane ${CLUSTER}`);
const cluster = await clusterUp({ name: CLUSTER, log: progress });
// Ctrl-C must not leave etcd and the API server running.
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    clusterDownSync(CLUSTER, cluster.toolchain);
    process.exit(130);
  });
}
try {
  await run(cluster);
} finally {
  await clusterDown(CLUSTER);
}
