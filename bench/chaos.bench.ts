/**
 * Game days: every fault type Cairn can detect, injected through a ChaosExperiment the way a user writes one, a new
 * experiment per run, with Cairn's remediation on.
 *
 *   node --import tsx bench/chaos.bench.ts [--runs 10] [--types image_pull,pod_kill] [--budget-minutes 25]
 *   (or CHAOS_RUNS, CHAOS_TYPES, CHAOS_BUDGET_MINUTES; `cairn bench chaos` takes the environment variables;
 *   CHAOS_KEEP_STORE=1 keeps the operator's event store and prints where, to read the runs' streams afterwards)
 *
 * Runs against CAIRN_KUBECONFIG when it is set, otherwise against its own control plane (`cairn-bench-chaos`,
 * always torn down). The operator runs in-process on a temp SQLite store with `chaos: true` and remediation on
 * (rules provider), watching the bench namespace only.
 *
 * Each run gets a fresh two-replica Deployment (or, for node_not_ready, a KWOK node of its own, tainted so no one
 * else's pods land there) and a fresh ChaosExperiment. The faults Cairn remediates (image_pull, crashloop,
 * oom_kill, missing_config, pod_not_ready) expect `IssueResolved`: the fault stays in for up to 3 minutes, so only
 * Cairn's fix can make them pass early. The others (pod_kill, scale_to_zero, node_not_ready) expect
 * `WorkloadReady` with a short duration: the fault is taken back after it and the target has to come back.
 *
 * Figures are the experiment's own (ChaosRunCompleted in the stream `chaos-<ns>.<name>`): time to detect (the
 * Issue), to plan (the first RemediationPlan) and to recover (the target healthy), each counted from the
 * injection. The outcome of a run is one of: remediated (passed, Cairn's fix did it), recovered_without_cairn
 * (passed, it came back by itself or once the fault was taken back), failed, aborted, refused, timed_out (no
 * verdict in time). After every verdict the target is read again: a fault still in place counts as fault_left.
 * Runs go round-robin over the types, so a budget that runs out leaves every type with about as many runs.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import * as k8s from '@kubernetes/client-node';
import type { RecordedEvent } from '../domain/messages.ts';
import { openEventStore } from '../src/adapters/eventstore/openEventStore.ts';
import { missingConfigName } from '../src/chaos/faultPlan.ts';
import { clusterDown, clusterDownSync, clusterUp, waitFor } from '../src/cluster/localCluster.ts';
import { FaultMarks } from '../src/cluster/stages.ts';
import { startOperator } from '../src/operator.ts';

const Types = [
  'image_pull',
  'crashloop',
  'oom_kill',
  'missing_config',
  'pod_not_ready',
  'pod_kill',
  'scale_to_zero',
  'node_not_ready',
] as const;
type FaultType = (typeof Types)[number];

/** The faults Cairn's remediation fixes expect IssueResolved; the rest come back once the fault is taken back. */
const remediated: Record<FaultType, boolean> = {
  image_pull: true,
  crashloop: true,
  oom_kill: true,
  missing_config: true,
  pod_not_ready: true,
  pod_kill: false,
  scale_to_zero: false,
  node_not_ready: false,
};

const { values: flags } = parseArgs({
  options: {
    runs: { type: 'string' },
    types: { type: 'string' },
    'budget-minutes': { type: 'string' },
  },
});

const positive = (name: string, raw: string | undefined, fallback: number): number => {
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value <= 0) throw new Error(`${name} must be a positive number, got "${raw}"`);
  return value;
};
const RUNS = Math.floor(positive('--runs', flags.runs ?? process.env.CHAOS_RUNS, 10));
const BUDGET_MS =
  positive('--budget-minutes', flags['budget-minutes'] ?? process.env.CHAOS_BUDGET_MINUTES, 25) * 60_000;
const TYPES: readonly FaultType[] = (() => {
  const raw = flags.types ?? process.env.CHAOS_TYPES;
  if (!raw) return Types;
  const asked = raw.split(',').map((t) => t.trim());
  const unknown = asked.filter((t) => !(Types as readonly string[]).includes(t));
  if (unknown.length > 0) throw new Error(`unknown fault type(s) ${unknown.join(', ')}; known: ${Types.join(', ')}`);
  return asked as FaultType[];
})();

const CLUSTER = 'cairn-bench-chaos';
const NAMESPACE = `bench-chaos-${Date.now().toString(36)}`;
const nodeName = (run: number) => `cairn-bench-chaos-node-${run}`;
const BENCH_LABEL = 'cairn.dev/bench';
const IMAGE = 'registry.local/bench/web:1.0.0';
const REPLICAS = 2;
const GROUP = 'aiops.cairn.dev';
const VERSION = 'v1alpha1';
/** Lower than the defaults (30, 60, 30 s) so a game day fits in the budget; printed with the figures. */
const THRESHOLDS = { podNotReadySeconds: 10, workloadUnavailableSeconds: 5, nodeNotReadySeconds: 10 };

const progress = (line: string) => process.stderr.write(`[chaos] ${line}\n`);
const report = (name: string, value: number, unit: string, digits = 0) =>
  process.stdout.write(`${name}=${value.toFixed(digits)} ${unit}\n`);
const note = (line: string) => process.stdout.write(`# ${line}\n`);

type Outcome =
  | 'remediated'
  | 'recovered_without_cairn'
  | 'failed'
  | 'aborted'
  | 'refused'
  | 'timed_out'
  | 'not_started';
const Outcomes: readonly Outcome[] = [
  'remediated',
  'recovered_without_cairn',
  'failed',
  'aborted',
  'refused',
  'timed_out',
  'not_started',
];

interface Sample {
  readonly type: FaultType;
  readonly run: number;
  readonly outcome: Outcome;
  readonly detect?: number;
  readonly plan?: number;
  readonly recover?: number;
  /** From creating the experiment to its verdict, on this machine's clock. */
  readonly wallSeconds: number;
  readonly faultLeft?: string;
  /** What Cairn's remediation changed and kept (not part of the fault). */
  readonly kept?: string;
  readonly reason: string;
}

const median = (xs: readonly number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  if (s.length === 0) return Number.NaN;
  const mid = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
};

const dns = (type: FaultType) => type.replaceAll('_', '-');

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

/**
 * What is left of a workload fault in a Deployment after the verdict: the marks the faults put in (an image the
 * local cluster cannot pull or crashes on, the working-set and missing-config annotations, an envFrom naming the
 * ConfigMap that does not exist, zero replicas). What Cairn's remediation changed on purpose (a raised memory limit)
 * is not the fault: `remediationChanges` names it apart.
 */
const faultMarksIn = (d: k8s.V1Deployment, name: string): string[] => {
  const left: string[] = [];
  const template = d.spec?.template;
  const annotations = template?.metadata?.annotations ?? {};
  for (const key of [FaultMarks.workingSet, FaultMarks.missingConfig]) {
    if (annotations[key] !== undefined) left.push(`annotation ${key}=${annotations[key]}`);
  }
  for (const c of template?.spec?.containers ?? []) {
    if (c.image?.includes(FaultMarks.crashImage) || c.image?.includes(FaultMarks.missingImage)) {
      left.push(`container ${c.name} image ${c.image}`);
    }
    if (c.envFrom?.some((e) => e.configMapRef?.name === missingConfigName(name))) {
      left.push(`container ${c.name} envFrom ${missingConfigName(name)}`);
    }
  }
  if (d.spec?.replicas === 0) left.push('0 replicas');
  return left;
};

const remediationChanges = (before: k8s.V1Deployment, after: k8s.V1Deployment): string[] => {
  const limit = (d: k8s.V1Deployment) => d.spec?.template.spec?.containers[0]?.resources?.limits?.memory;
  const changes: string[] = [];
  if (limit(before) !== limit(after)) changes.push(`memory limit ${limit(before)} -> ${limit(after)}`);
  if (before.spec?.replicas !== after.spec?.replicas)
    changes.push(`replicas ${before.spec?.replicas} -> ${after.spec?.replicas}`);
  return changes;
};

async function run(kubeconfig: string) {
  const started = Date.now();
  const config = new k8s.KubeConfig();
  config.loadFromFile(kubeconfig);
  const core = config.makeApiClient(k8s.CoreV1Api);
  const apps = config.makeApiClient(k8s.AppsV1Api);
  const custom = config.makeApiClient(k8s.CustomObjectsApi);

  await core.createNamespace({ body: { metadata: { name: NAMESPACE } } });
  await waitFor(async () => (await core.listNamespacedServiceAccount({ namespace: NAMESPACE })).items.length > 0);

  // Each node_not_ready run gets a KWOK node of its own, tainted so that nobody's pods are scheduled there: a Node
  // Issue ends escalated (no workload change fixes a machine), and an escalated Issue keeps its dedup key for 2 h,
  // so the same node failing again within that window is deduplicated and the run would show no detection.
  const createNode = async (name: string) => {
    await core.createNode({
      body: {
        metadata: {
          name,
          annotations: { 'kwok.x-k8s.io/node': 'fake', 'node.alpha.kubernetes.io/ttl': '0' },
          labels: { type: 'kwok', 'kubernetes.io/hostname': name, 'kubernetes.io/os': 'linux', [BENCH_LABEL]: 'chaos' },
        },
        spec: { taints: [{ key: BENCH_LABEL, value: 'chaos', effect: 'NoSchedule' }] },
        status: {
          allocatable: { cpu: '32', memory: '128Gi', pods: '110' },
          capacity: { cpu: '32', memory: '128Gi', pods: '110' },
        },
      },
    });
    await waitFor(async () => nodeReady(await core.readNode({ name })), 60_000, 500);
  };
  let nodeSkip: string | undefined;
  if (TYPES.includes('node_not_ready')) {
    try {
      await createNode(nodeName(1));
    } catch (error) {
      nodeSkip = `no dedicated KWOK node could be added: ${(error as Error).message.split('\n')[0]}`;
    }
  }

  const dir = mkdtempSync(join(tmpdir(), 'cairn-bench-chaos-'));
  const storeUrl = `sqlite:${join(dir, 'events.db')}`;
  const operator = await startOperator({
    kubeconfig,
    store: storeUrl,
    namespace: NAMESPACE,
    identity: 'bench-chaos',
    watchNamespaces: [NAMESPACE],
    verificationTimeoutSeconds: 30,
    maxAttempts: 2,
    chaos: true,
    thresholds: THRESHOLDS,
    log: (line) => {
      if (line.startsWith('error') || process.env.CAIRN_BENCH_LOG) progress(line);
    },
  });
  const store = openEventStore(storeUrl);
  const samples: Sample[] = [];
  let stoppedEarly = 0;

  const experimentState = async (name: string) =>
    (
      (await custom.getNamespacedCustomObject({
        group: GROUP,
        version: VERSION,
        namespace: NAMESPACE,
        plural: 'chaosexperiments',
        name,
      })) as { status?: { state?: string } }
    ).status?.state;

  const readyDeployment = async (name: string) => {
    await apps.createNamespacedDeployment({ namespace: NAMESPACE, body: deploymentOf(name) });
    await waitFor(
      async () => {
        const d = await apps.readNamespacedDeployment({ namespace: NAMESPACE, name });
        return (
          d.status?.availableReplicas === REPLICAS &&
          d.status?.updatedReplicas === REPLICAS &&
          d.status?.readyReplicas === REPLICAS
        );
      },
      180_000,
      250,
    );
  };

  async function oneRun(type: FaultType, runNo: number): Promise<Sample> {
    const name = `${dns(type)}-${runNo}`;
    const node = type === 'node_not_ready';
    const NODE = nodeName(runNo);
    if (node && runNo > 1) await createNode(NODE);
    if (!node) await readyDeployment(name);
    const before = node ? undefined : await apps.readNamespacedDeployment({ namespace: NAMESPACE, name });
    const fixes = remediated[type];
    const spec = {
      fault: {
        type,
        ...(type === 'pod_kill' || type === 'pod_not_ready' ? { count: 1 } : {}),
      },
      target: node ? { kind: 'Node', name: NODE } : { kind: 'Deployment', name },
      // A fault Cairn fixes stays in long enough that only the fix passes the run early; the others are taken
      // back after a short while and the target has to come back.
      duration: fixes ? '3m' : node ? '30s' : '15s',
      safety: { maxPodsPercent: 100 },
      recovery: { expect: fixes ? 'IssueResolved' : 'WorkloadReady', within: fixes ? '4m' : '3m' },
    };
    const createdAt = Date.now();
    await custom.createNamespacedCustomObject({
      group: GROUP,
      version: VERSION,
      namespace: NAMESPACE,
      plural: 'chaosexperiments',
      body: { apiVersion: `${GROUP}/${VERSION}`, kind: 'ChaosExperiment', metadata: { name }, spec },
    });
    let state: string | undefined;
    await waitFor(
      async () => {
        state = await experimentState(name);
        return ['Passed', 'Failed', 'Aborted', 'Refused', 'DryRun'].includes(state ?? '');
      },
      (fixes ? 240 : 180) * 1000 + 90_000,
      250,
    ).catch(() => undefined);
    const wallSeconds = (Date.now() - createdAt) / 1000;
    const events: RecordedEvent[] = await store.readStream(`chaos-${NAMESPACE}.${name}`);
    const completed = events.find((e) => e.type === 'ChaosRunCompleted')?.data as
      | {
          outcome: string;
          reason: string;
          remediatedByCairn: boolean;
          timeToDetectSeconds?: number;
          timeToPlanSeconds?: number;
          timeToRecoverSeconds?: number;
        }
      | undefined;
    const refused = events.find((e) => e.type === 'ChaosRunRefused')?.data as { message: string } | undefined;
    const outcome: Outcome = refused
      ? 'refused'
      : !completed
        ? 'timed_out'
        : completed.outcome === 'passed'
          ? completed.remediatedByCairn
            ? 'remediated'
            : 'recovered_without_cairn'
          : completed.outcome === 'failed'
            ? 'failed'
            : 'aborted';

    // Once there is a verdict, nothing of the fault may be left in the cluster.
    let faultLeft: string | undefined;
    let kept: string[] = [];
    if (completed || refused) {
      if (node) {
        const n = await core.readNode({ name: NODE });
        const label = n.metadata?.labels?.[FaultMarks.nodeDown];
        if (label !== undefined) faultLeft = `Node ${NODE} still has ${FaultMarks.nodeDown}=${label}`;
      } else {
        const after = await apps.readNamespacedDeployment({ namespace: NAMESPACE, name });
        const marks = faultMarksIn(after, name);
        if (marks.length > 0) faultLeft = `Deployment ${name} still has ${marks.join(', ')}`;
        if (before) kept = remediationChanges(before, after);
        const pods = await core.listNamespacedPod({ namespace: NAMESPACE, labelSelector: `app=${name}` });
        const wedged = pods.items.filter((p) => p.metadata?.labels?.[FaultMarks.wedged] !== undefined);
        if (wedged.length > 0) faultLeft = `pods still wedged: ${wedged.map((p) => p.metadata?.name).join(', ')}`;
      }
    }
    const sample: Sample = {
      type,
      run: runNo,
      outcome,
      wallSeconds,
      reason: refused?.message ?? completed?.reason ?? `no verdict after ${wallSeconds.toFixed(0)} s (state ${state})`,
      ...(completed?.timeToDetectSeconds === undefined ? {} : { detect: completed.timeToDetectSeconds }),
      ...(completed?.timeToPlanSeconds === undefined ? {} : { plan: completed.timeToPlanSeconds }),
      ...(completed?.timeToRecoverSeconds === undefined ? {} : { recover: completed.timeToRecoverSeconds }),
      ...(faultLeft ? { faultLeft } : {}),
      ...(kept.length > 0 ? { kept: kept.join(', ') } : {}),
    };
    progress(
      `${name}: ${outcome} in ${wallSeconds.toFixed(1)} s (detect ${sample.detect ?? '-'} s, plan ${sample.plan ?? '-'} s, recover ${sample.recover ?? '-'} s)${faultLeft ? `; FAULT LEFT: ${faultLeft}` : ''}${sample.kept ? `; kept from remediation: ${sample.kept}` : ''}; ${sample.reason}`,
    );
    // A finished experiment is deleted (nothing is left to take back) before its target, so the next run starts
    // from a clean namespace.
    await custom
      .deleteNamespacedCustomObject({
        group: GROUP,
        version: VERSION,
        namespace: NAMESPACE,
        plural: 'chaosexperiments',
        name,
      })
      .catch(() => undefined);
    if (!node) {
      await apps.deleteNamespacedDeployment({ namespace: NAMESPACE, name }).catch(() => undefined);
    } else {
      await core.deleteNode({ name: NODE }).catch(() => undefined);
    }
    return sample;
  }

  try {
    await waitFor(async () => operator.isLeader(), 60_000, 100);
    const types = TYPES.filter((t) => !(t === 'node_not_ready' && nodeSkip));
    const planned = RUNS * types.length;
    progress(`${planned} runs: ${RUNS} of each of ${types.join(', ')}; budget ${(BUDGET_MS / 60_000).toFixed(0)} min`);
    for (let runNo = 1; runNo <= RUNS; runNo++) {
      for (const type of types) {
        if (Date.now() - started > BUDGET_MS) {
          stoppedEarly++;
          continue;
        }
        try {
          samples.push(await oneRun(type, runNo));
        } catch (error) {
          progress(`${dns(type)}-${runNo}: could not run: ${(error as Error).message}`);
          samples.push({ type, run: runNo, outcome: 'not_started', wallSeconds: 0, reason: (error as Error).message });
        }
      }
    }
  } finally {
    await operator.stop();
    await store.close();
    if (process.env.CHAOS_KEEP_STORE) note(`event store kept at ${storeUrl}`);
    else rmSync(dir, { recursive: true, force: true });
    await core.deleteNamespace({ name: NAMESPACE }).catch(() => undefined);
    const left = await core.listNode({ labelSelector: `${BENCH_LABEL}=chaos` }).catch(() => ({ items: [] }));
    for (const n of left.items) await core.deleteNode({ name: n.metadata?.name ?? '' }).catch(() => undefined);
  }

  note(
    `thresholds ${Object.entries(THRESHOLDS)
      .map(([k, v]) => `${k}=${v}`)
      .join(' ')}; verification window 30 s; ${REPLICAS} replicas per target`,
  );
  if (stoppedEarly > 0) {
    note(`budget of ${(BUDGET_MS / 60_000).toFixed(0)} min reached: ${stoppedEarly} planned run(s) not started`);
  }
  for (const type of TYPES) {
    const prefix = `chaos_${type}`;
    if (type === 'node_not_ready' && nodeSkip) {
      note(`${prefix} skipped: ${nodeSkip}`);
      continue;
    }
    const mine = samples.filter((s) => s.type === type);
    note(`${prefix}: recovery ${remediated[type] ? 'IssueResolved' : 'WorkloadReady'}, ${mine.length} run(s)`);
    report(`${prefix}_runs`, mine.length, 'runs');
    for (const outcome of Outcomes)
      report(`${prefix}_${outcome}`, mine.filter((s) => s.outcome === outcome).length, 'runs');
    report(`${prefix}_fault_left`, mine.filter((s) => s.faultLeft).length, 'runs');
    for (const [figure, pick] of [
      ['detect', (s: Sample) => s.detect],
      ['plan', (s: Sample) => s.plan],
      ['recover', (s: Sample) => s.recover],
    ] as const) {
      const values = mine.map(pick).filter((v): v is number => v !== undefined);
      report(`${prefix}_${figure}_samples`, values.length, 'runs');
      if (values.length === 0) continue;
      report(`${prefix}_${figure}_p50`, median(values), 's', 2);
      report(`${prefix}_${figure}_max`, Math.max(...values), 's', 2);
    }
    const judged = mine.filter((s) => s.outcome !== 'not_started' && s.outcome !== 'refused');
    if (judged.length > 0) {
      report(
        `${prefix}_remediated_by_cairn_share`,
        (100 * mine.filter((s) => s.outcome === 'remediated').length) / judged.length,
        '%',
        0,
      );
    }
    report(`${prefix}_run_wall_p50`, median(mine.map((s) => s.wallSeconds)), 's', 1);
    const odd = mine.filter((s) => s.outcome !== 'remediated' && s.outcome !== 'recovered_without_cairn');
    for (const s of odd.slice(0, 3)) note(`${prefix} run ${s.run}: ${s.outcome}: ${s.reason}`);
    for (const s of mine.filter((x) => x.faultLeft)) note(`${prefix} run ${s.run}: FAULT LEFT: ${s.faultLeft}`);
    const kept = [...new Set(mine.flatMap((s) => (s.kept ? [s.kept] : [])))];
    if (kept.length > 0) note(`${prefix}: remediation changes kept after the fault was taken back: ${kept.join('; ')}`);
  }
}

const nodeReady = (node: k8s.V1Node) =>
  node.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') === true &&
  node.metadata?.labels?.[FaultMarks.nodeDown] === undefined;

process.stdout.write(
  `chaos: ChaosExperiments against an in-process operator (remediation on, chaos on), ${RUNS} run(s) per type, types ${TYPES.join(', ')}\n`,
);
const shared = process.env.CAIRN_KUBECONFIG;
if (shared) {
  await run(shared);
} else {
  const cluster = await clusterUp({ name: CLUSTER, log: progress });
  const teardown = () => clusterDownSync(CLUSTER, cluster.toolchain);
  process.once('exit', teardown);
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      teardown();
      process.exit(130);
    });
  }
  try {
    await run(cluster.kubeconfig);
  } finally {
    process.off('exit', teardown);
    await clusterDown(CLUSTER);
  }
}
