/**
 * Operator memory: the resident set of a `cairn operator` process watching 2,000 pods.
 *
 *   node --import tsx bench/operatorMemory.bench.ts       (MEMORY_PODS=2000, MEMORY_NODES=20)
 *
 * Starts its own control plane (`cairn-bench`) with enough KWOK nodes for the pods (110 each), runs them as 20
 * Deployments, and only then starts the operator as a child process on a temp sqlite store, so its informers list
 * every pod (and the Events and ReplicaSets that came with them) at once, as after a restart in a busy cluster.
 * It is settled once it leads and has used less than 5% of a core for 5 s; RSS (VmRSS) is then sampled once a
 * second. `peak` is the kernel's high-water mark (VmHWM), which includes the initial list. The same is measured
 * first on the empty cluster (`idle`), so the cost of the pods themselves shows apart from that of the runtime.
 *
 * Two builds of the same operator are measured one after the other on the same cluster, each line suffixed with its
 * name: `tsx`, the CLI as developers run it (src/cli/cairn.mjs, sources compiled on load), and `bundle`, the
 * production build (dist/cairn.mjs, built here first by src/cli/build.ts, run with plain node).
 * MEMORY_OPERATOR_ENTRY measures only that script instead (suffix `entry`), with the same arguments.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { type AddressInfo, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as k8s from '@kubernetes/client-node';
import { buildBundle } from '../src/cli/build.ts';
import { clusterDown, clusterDownSync, clusterUp, type LocalCluster, waitFor } from '../src/cluster/localCluster.ts';

const PODS = Number(process.env.MEMORY_PODS ?? 2_000);
const NODES = Number(process.env.MEMORY_NODES ?? Math.ceil((PODS * 1.1) / 110));
const DEPLOYMENTS = 20;
const STEADY_SAMPLES = 20;
const CLUSTER = 'cairn-bench';
const NAMESPACE = 'bench-memory';

/** A script that takes cairn's arguments, run with plain node, and the suffix of its lines. */
interface Build {
  readonly name: string;
  readonly entry: string;
}

const report = (name: string, value: number, unit: string, digits = 0) =>
  process.stdout.write(`${name}=${value.toFixed(digits)} ${unit}\n`);
const progress = (line: string) => process.stderr.write(`[memory] ${line}\n`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const freePort = () =>
  new Promise<number>((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      server.close(() => resolve(port));
    });
  });

/** A /proc/<pid>/status field in MB (the kernel reports kB). */
const statusMb = (pid: number, field: 'VmRSS' | 'VmHWM') => {
  const match = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  if (!match) throw new Error(`no ${field} for pid ${pid}`);
  return Number(match[1]) / 1024;
};
/** User plus system CPU time of a process, in clock ticks (fields 14 and 15 of /proc/<pid>/stat). */
const cpuTicks = (pid: number) => {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return Number(fields[11]) + Number(fields[12]);
};
const TICKS_PER_SECOND = 100;

const deploymentOf = (name: string, replicas: number): k8s.V1Deployment => ({
  metadata: { name, labels: { app: name } },
  spec: {
    replicas,
    selector: { matchLabels: { app: name } },
    template: {
      metadata: { labels: { app: name, tier: 'backend' } },
      spec: { containers: [{ name: 'app', image: `registry.local/bench/${name}:1.0.0` }] },
    },
  },
});

async function run(cluster: LocalCluster, builds: readonly Build[]) {
  const config = new k8s.KubeConfig();
  config.loadFromFile(cluster.kubeconfig);
  const core = config.makeApiClient(k8s.CoreV1Api);
  const apps = config.makeApiClient(k8s.AppsV1Api);

  await core.createNamespace({ body: { metadata: { name: NAMESPACE } } });
  await waitFor(async () => (await core.listNamespacedServiceAccount({ namespace: NAMESPACE })).items.length > 0);
  // The same process on the empty cluster: what the runtime and the code cost before there is anything to watch.
  const idle = new Map<string, Measurement>();
  for (const build of builds) {
    const measured = await measureOperator(cluster, build);
    idle.set(build.name, measured);
    report(`operator_idle_rss_steady_median_${build.name}`, measured.steadyMedian, 'MB', 1);
  }

  const perDeployment = Math.ceil(PODS / DEPLOYMENTS);
  for (let i = 0; i < DEPLOYMENTS; i++) {
    const replicas = Math.min(perDeployment, PODS - i * perDeployment);
    await apps.createNamespacedDeployment({ namespace: NAMESPACE, body: deploymentOf(`svc-${i}`, replicas) });
  }
  const started = Date.now();
  let lastReady = -1;
  await waitFor(
    async () => {
      const { items } = await apps.listNamespacedDeployment({ namespace: NAMESPACE });
      const ready = items.reduce((n, d) => n + (d.status?.readyReplicas ?? 0), 0);
      if (Math.floor(ready / 500) !== Math.floor(lastReady / 500)) progress(`${ready} pods ready`);
      lastReady = ready;
      return ready >= PODS;
    },
    300_000,
    2_000,
  );
  progress(`${PODS} pods ready in ${((Date.now() - started) / 1000).toFixed(0)} s`);

  report('operator_pods_watched', PODS, 'pods');
  for (const build of builds) {
    const withPods = await measureOperator(cluster, build);
    const empty = idle.get(build.name)!;
    const line = (name: string, value: number, unit: string, digits?: number) =>
      report(`${name}_${build.name}`, value, unit, digits);
    line('operator_leading_after', withPods.leadingAfter, 'ms');
    line('operator_settled_after', withPods.settledAfter, 'ms');
    line('operator_rss_peak', withPods.peak, 'MB', 1);
    line('operator_rss_steady_max', withPods.steadyMax, 'MB', 1);
    line('operator_rss_steady_median', withPods.steadyMedian, 'MB', 1);
    line('operator_rss_per_1000_pods', ((withPods.steadyMedian - empty.steadyMedian) * 1000) / PODS, 'MB', 1);
  }
}

interface Measurement {
  readonly leadingAfter: number;
  readonly settledAfter: number;
  readonly peak: number;
  readonly steadyMax: number;
  readonly steadyMedian: number;
}

/** Runs one operator process until it settles, samples its RSS, and stops it (which hands the lease back). */
async function measureOperator(cluster: LocalCluster, build: Build): Promise<Measurement> {
  progress(`measuring ${build.name} (${build.entry})`);
  const dir = mkdtempSync(join(tmpdir(), 'cairn-bench-memory-'));
  let child: ChildProcess | undefined;
  try {
    const lines: string[] = [];
    child = spawn(
      process.execPath,
      [
        build.entry,
        'operator',
        '--kubeconfig',
        cluster.kubeconfig,
        '--store',
        `sqlite:${join(dir, 'events.db')}`,
        '--namespace',
        NAMESPACE,
        '--identity',
        'bench',
        // Served as in production, on a port nobody else on this machine is using.
        '--http-port',
        String(await freePort()),
      ],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    child.stdout?.setEncoding('utf8').on('data', (chunk: string) => lines.push(...chunk.trim().split('\n')));
    const pid = child.pid!;
    const launched = Date.now();
    await waitFor(async () => lines.some((l) => l.includes('is leading')), 60_000, 100);
    const leadingAt = Date.now();

    // Settled: five consecutive one-second windows under 5% of a core, and at least 10 s after it began leading.
    const quiet: boolean[] = [];
    for (let ticks = cpuTicks(pid); ; ) {
      await sleep(1_000);
      const now = cpuTicks(pid);
      quiet.push((now - ticks) / TICKS_PER_SECOND < 0.05);
      ticks = now;
      if (Date.now() - leadingAt >= 10_000 && quiet.length >= 5 && quiet.slice(-5).every(Boolean)) break;
      if (Date.now() - leadingAt > 180_000) throw new Error('the operator did not settle within 180 s');
    }
    const settledAt = Date.now();

    const samples: number[] = [];
    for (let i = 0; i < STEADY_SAMPLES; i++) {
      samples.push(statusMb(pid, 'VmRSS'));
      await sleep(1_000);
    }
    const sorted = [...samples].sort((a, b) => a - b);
    const errors = lines.filter((l) => / error: /.test(l));
    if (errors.length > 0) progress(`operator errors:\n${errors.slice(0, 5).join('\n')}`);
    return {
      leadingAfter: leadingAt - launched,
      settledAfter: settledAt - launched,
      peak: statusMb(pid, 'VmHWM'),
      steadyMax: sorted.at(-1) ?? Number.NaN,
      steadyMedian: sorted[Math.floor(sorted.length / 2)] ?? Number.NaN,
    };
  } finally {
    if (child && child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((r) => child?.once('exit', r));
      child.kill('SIGTERM');
      await Promise.race([exited, sleep(10_000)]);
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    }
    rmSync(dir, { recursive: true, force: true });
  }
}

async function operatorBuilds(): Promise<Build[]> {
  const custom = process.env.MEMORY_OPERATOR_ENTRY;
  if (custom) return [{ name: 'entry', entry: custom }];
  // Built before the cluster starts, so a broken build fails in seconds rather than after the pods are up.
  const { outfile, warnings } = await buildBundle();
  for (const warning of warnings) progress(`build warning: ${warning}`);
  return [
    { name: 'tsx', entry: new URL('../src/cli/cairn.mjs', import.meta.url).pathname },
    { name: 'bundle', entry: outfile },
  ];
}

process.stdout.write(`operatorMemory: RSS of \`cairn operator\` watching ${PODS} pods on ${NODES} KWOK nodes\n`);
const builds = await operatorBuilds();
const cluster = await clusterUp({ name: CLUSTER, nodes: NODES, log: progress });
// Ctrl-C must not leave etcd and the API server running.
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    clusterDownSync(CLUSTER, cluster.toolchain);
    process.exit(130);
  });
}
try {
  await run(cluster, builds);
} finally {
  await clusterDown(CLUSTER);
}
