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
 *
 * Then, per configuration signal (bench/support/signalFaults.ts: a Service selector typo, an Ingress backend that
 * is not there, a claim of a missing StorageClass, an autoscaler of a missing Deployment, a NetworkPolicy selecting
 * nothing, and the causes behind deploy_failing: a missing ConfigMap, an unschedulable release, a used-up pod
 * quota), DETECTION_SIGNAL_RUNS runs (20) one after another, each on objects of its own, with a second operator
 * whose sustain thresholds for these signals are all 0 (DETECTION_SIGNALS=name,… picks scenarios; 0 runs skips
 * them, DETECTION_FAULTS=0 skips the pod faults above). Here the fault is one API request of this process:
 * - fault applied: the instant this process sends the request (its response can come after the operator's informer
 *   has the change, so the end of the request would flatter the figure).
 * - anomaly / issue: `recordedAt` of the AnomalyDetected event of that signal on that object (with the scenario's
 *   cause code), and of the IssueDetected event of the workload that Anomaly belongs to.
 * These signals come from controllers' work (the EndpointSlice controller, the scheduler, the quota admission, the
 * kubelet's stage), so the figures include how long the control plane takes to show the fault, not only Cairn.
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
import {
  benchClients,
  QUOTA_NAMESPACE,
  SIGNALS_NAMESPACE,
  type SignalScenario,
  signalScenarios,
} from './support/signalFaults.ts';

const FAULTS = Number(process.env.DETECTION_FAULTS ?? 100);
const INTERVAL_MS = Number(process.env.DETECTION_INTERVAL_MS ?? 250);
const SIGNAL_RUNS = Number(process.env.DETECTION_SIGNAL_RUNS ?? 20);
const SIGNALS = (process.env.DETECTION_SIGNALS ?? '').split(',').filter(Boolean);
/** Its own name, so it never shares a control plane with another benchmark running at the same time. */
const CLUSTER = 'cairn-bench-detect';
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

/** What the second operator recorded, by `signal|namespace/kind/name` (anomalies) and `namespace/kind/name` (Issues). */
interface Recorded {
  readonly at: number;
  readonly cause?: string;
  readonly message: string;
  readonly workload: string;
}

const refKey = (ref: { kind: string; name: string; namespace: string }) => `${ref.namespace}/${ref.kind}/${ref.name}`;

async function runSignals(cluster: LocalCluster, chosen: readonly SignalScenario[]) {
  const config = new k8s.KubeConfig();
  config.loadFromFile(cluster.kubeconfig);
  const clients = benchClients(config);
  for (const namespace of [SIGNALS_NAMESPACE, QUOTA_NAMESPACE]) {
    await clients.core.createNamespace({ body: { metadata: { name: namespace } } });
    await waitFor(async () => (await clients.core.listNamespacedServiceAccount({ namespace })).items.length > 0);
  }
  for (const scenario of chosen) {
    progress(`preparing ${SIGNAL_RUNS} healthy runs of ${scenario.name}`);
    await scenario.prepare(clients, SIGNAL_RUNS);
  }

  const dir = mkdtempSync(join(tmpdir(), 'cairn-bench-signals-'));
  const storeUrl = `sqlite:${join(dir, 'events.db')}`;
  const operator = await startOperator({
    kubeconfig: cluster.kubeconfig,
    store: storeUrl,
    namespace: SIGNALS_NAMESPACE,
    identity: 'bench-signals',
    watchNamespaces: [SIGNALS_NAMESPACE, QUOTA_NAMESPACE],
    // Every configuration signal as soon as it is seen; the workload's own window stays, so deploy_failing is
    // reported at once only when its cause is known.
    thresholds: {
      serviceNoEndpointsSeconds: 0,
      ingressMisconfiguredSeconds: 0,
      pvcPendingSeconds: 0,
      hpaMisconfiguredSeconds: 0,
      netpolSelectsNothingSeconds: 0,
      webhookUnavailableSeconds: 0,
      cronJobMissedGraceSeconds: 0,
      podBlockedSeconds: 0,
    },
    remediate: false,
    log: (line) => {
      if (line.startsWith('error')) progress(line);
    },
  });
  const store = openEventStore(storeUrl);
  const anomalies = new Map<string, Recorded>();
  const issues = new Map<string, number>();
  const results: string[] = [];
  try {
    await waitFor(async () => operator.isLeader(), 60_000, 100);
    const subscription = store.subscribeToAll(
      { filter: { eventTypes: ['AnomalyDetected', 'IssueDetected'] } },
      (event: RecordedEvent) => {
        const at = Date.parse(event.recordedAt);
        if (event.type === 'IssueDetected') {
          const { workload } = event.data as { workload: { kind: string; name: string; namespace: string } };
          if (!issues.has(refKey(workload))) issues.set(refKey(workload), at);
          return;
        }
        const data = event.data as {
          signal: string;
          message: string;
          resource: { kind: string; name: string; namespace: string };
          workload: { kind: string; name: string; namespace: string };
          cause?: { code: string };
        };
        const key = `${data.signal}|${refKey(data.resource)}`;
        if (anomalies.has(key)) return;
        anomalies.set(key, {
          at,
          message: data.message,
          workload: refKey(data.workload),
          ...(data.cause ? { cause: data.cause.code } : {}),
        });
      },
    );
    // The operator lists everything once it leads; let that pass, then make sure no healthy object was flagged.
    await sleep(3_000);
    const keyOf = (scenario: SignalScenario, i: number) =>
      `${scenario.signal}|${refKey({ namespace: scenario.namespace, ...scenario.subject(i) })}`;
    for (const scenario of chosen) {
      const early = Array.from({ length: SIGNAL_RUNS }, (_, i) => keyOf(scenario, i)).filter((k) => anomalies.has(k));
      if (early.length > 0) throw new Error(`${scenario.name}: flagged before any fault: ${early.join(', ')}`);
    }

    for (const scenario of chosen) {
      progress(`${scenario.name}: ${SIGNAL_RUNS} runs`);
      const toAnomaly: number[] = [];
      const toIssue: number[] = [];
      let misses = 0;
      for (let i = 0; i < SIGNAL_RUNS; i++) {
        const key = keyOf(scenario, i);
        const sent = Date.now();
        await scenario.inject(clients, i);
        const found = await waitFor(async () => anomalies.has(key), 60_000, 20).then(
          () => anomalies.get(key),
          () => undefined,
        );
        if (!found || (scenario.cause !== undefined && found.cause !== scenario.cause)) {
          misses += 1;
          progress(
            `${scenario.name} run ${i}: ${found ? `cause ${found.cause ?? 'none'}, not ${scenario.cause}: ${found.message}` : 'no Anomaly within 60 s'}`,
          );
          continue;
        }
        if (i === 0) progress(`${scenario.name}: ${found.message}`);
        toAnomaly.push(found.at - sent);
        const opened = await waitFor(async () => issues.has(found.workload), 30_000, 20).then(
          () => issues.get(found.workload),
          () => undefined,
        );
        if (opened === undefined) progress(`${scenario.name} run ${i}: no IssueDetected for ${found.workload}`);
        else toIssue.push(opened - sent);
      }
      toAnomaly.sort((a, b) => a - b);
      toIssue.sort((a, b) => a - b);
      const line = (suffix: string, value: number, unit: string) =>
        results.push(`detection_${scenario.name}_${suffix}=${value.toFixed(0)} ${unit}`);
      line('runs', SIGNAL_RUNS, 'runs');
      line('detected', toAnomaly.length, 'runs');
      line('to_anomaly_p50', percentile(toAnomaly, 50), 'ms');
      line('to_anomaly_p99', percentile(toAnomaly, 99), 'ms');
      line('to_issue_p50', percentile(toIssue, 50), 'ms');
      line('to_issue_p99', percentile(toIssue, 99), 'ms');
      if (misses > 0) line('missed', misses, 'runs');
      process.stdout.write(`${results.splice(0).join('\n')}\n`);
    }
    await subscription.close();
  } finally {
    await operator.stop();
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

process.stdout.write(
  `detection: fault visible in the API -> IssueDetected, ${FAULTS} faults, operator in-process, sqlite store\n`,
);
const scenarios = signalScenarios.filter((s) => SIGNALS.length === 0 || SIGNALS.includes(s.name));
const unknown = SIGNALS.filter((name) => !signalScenarios.some((s) => s.name === name));
if (unknown.length > 0)
  throw new Error(
    `DETECTION_SIGNALS names no scenario: ${unknown.join(', ')} (there are: ${signalScenarios.map((s) => s.name).join(', ')})`,
  );
if (SIGNAL_RUNS > 0)
  process.stdout.write(
    `detection: configuration fault applied -> AnomalyDetected / IssueDetected, ${SIGNAL_RUNS} runs per signal, sustain 0\n`,
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
  if (FAULTS > 0) await run(cluster);
  if (SIGNAL_RUNS > 0 && scenarios.length > 0) await runSignals(cluster, scenarios);
} finally {
  await clusterDown(CLUSTER);
}
