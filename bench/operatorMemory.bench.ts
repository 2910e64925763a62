/**
 * Operator memory: the resident set of a `cairn operator` process watching 2,000 pods, then 2,000 Services, 500
 * Ingresses and 1,000 PersistentVolumeClaims besides.
 *
 *   node --import tsx bench/operatorMemory.bench.ts
 *     (MEMORY_PODS=2000, MEMORY_DEPLOYMENTS=1000, MEMORY_NODES=20, MEMORY_SERVICES=2000, MEMORY_INGRESSES=500,
 *      MEMORY_PVCS=1000, MEMORY_BUILDS=tsx,bundle, MEMORY_NODE_FLAGS="--max-semi-space-size=…" adds `bundle_tuned`)
 *
 * Starts its own control plane (`cairn-bench-memory`) with enough KWOK nodes for the pods (110 each), runs them as
 * MEMORY_DEPLOYMENTS Deployments (two pods each by default, the shape of many small services; 20 Deployments of 100
 * pods was the earlier shape), and only then starts the operator as a child process on a temp sqlite store, so its
 * informers list every pod (and the Events and ReplicaSets that came with them) at once, as after a restart in a
 * busy cluster. Then come the networking and storage objects the detectors read, and the operator is measured
 * again (`_full`): Services selecting the Deployments' pods, two per Deployment (the app's and its metrics port's,
 * each with its EndpointSlice), headless because the local API server has a /24 of cluster IPs; Ingresses routing
 * to the first Services; claims bound to hostPath PersistentVolumes made for them. None of these is a fault, so the
 * figure is what watching them costs, not what recording anomalies would. Last, the heap each informer cache holds,
 * kind by kind, trimmed as the operator keeps it and untrimmed (MEMORY_CACHE_BREAKDOWN=0 skips it).
 * It is settled once it leads and has used less than 5% of a core for 5 s; RSS (VmRSS) is then sampled once a
 * second. `peak` is the kernel's high-water mark (VmHWM), which includes the initial list. The same is measured
 * first on the empty cluster (`idle`), so the cost of the pods themselves shows apart from that of the runtime.
 *
 * Two builds of the same operator are measured one after the other on the same cluster, each line suffixed with its
 * name: `tsx`, the CLI as developers run it (src/cli/cairn.mjs, sources compiled on load), and `bundle`, the
 * production build (dist/cairn.mjs, built here first by src/cli/build.ts, run with the Node options of the container
 * image's ENTRYPOINT in deploy/Dockerfile). MEMORY_BUILDS=bundle_plain adds the bundle run with plain node.
 * MEMORY_OPERATOR_ENTRY measures only that script instead (suffix `entry`), with the same arguments.
 * MEMORY_NODE_FLAGS adds `bundle_tuned`: the bundle again with those Node options (V8 heap sizing, for one).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { type AddressInfo, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as k8s from '@kubernetes/client-node';
import { buildBundle } from '../src/cli/build.ts';
import { clusterDown, clusterDownSync, clusterUp, type LocalCluster, waitFor } from '../src/cluster/localCluster.ts';
import { cacheFootprints } from './support/cacheFootprint.ts';

const PODS = Number(process.env.MEMORY_PODS ?? 2_000);
const NODES = Number(process.env.MEMORY_NODES ?? Math.ceil((PODS * 1.1) / 110));
const DEPLOYMENTS = Number(process.env.MEMORY_DEPLOYMENTS ?? Math.ceil(PODS / 2));
const SERVICES = Number(process.env.MEMORY_SERVICES ?? 2_000);
const INGRESSES = Number(process.env.MEMORY_INGRESSES ?? 500);
const PVCS = Number(process.env.MEMORY_PVCS ?? 1_000);
const BUILDS = (process.env.MEMORY_BUILDS ?? 'tsx,bundle').split(',').filter(Boolean);
const STEADY_SAMPLES = 20;
/** Its own name, so it never shares a control plane with another benchmark running at the same time. */
const CLUSTER = 'cairn-bench-memory';
const NAMESPACE = 'bench-memory';

/** A script that takes cairn's arguments, run with plain node, and the suffix of its lines. */
/** The Node options of the image's ENTRYPOINT (deploy/Dockerfile), between `node` and the script. */
function imageNodeOptions(): string[] {
  const dockerfile = readFileSync(new URL('../deploy/Dockerfile', import.meta.url), 'utf8');
  const entrypoint = /^ENTRYPOINT (\[.*\])$/m.exec(dockerfile)?.[1];
  if (!entrypoint) throw new Error('deploy/Dockerfile has no ENTRYPOINT in exec form');
  return (JSON.parse(entrypoint) as string[]).slice(1).filter((arg) => arg.startsWith('--'));
}

interface Build {
  readonly name: string;
  readonly entry: string;
  /** Node options before the script (V8 heap sizing, for one). */
  readonly nodeArgs?: readonly string[];
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
const MB = 1024 * 1024;

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

const appName = (i: number) => `svc-${i}`;
/** Service k selects Deployment k mod DEPLOYMENTS: the app's own, then its metrics Service, and so on. */
const serviceName = (k: number) =>
  k < DEPLOYMENTS ? appName(k) : `${appName(k % DEPLOYMENTS)}-${Math.floor(k / DEPLOYMENTS)}`;
const claimName = (i: number) => `data-${i}`;
const volumeName = (i: number) => `${NAMESPACE}-data-${i}`;

async function inBatches(count: number, size: number, each: (i: number) => Promise<unknown>) {
  for (let i = 0; i < count; i += size)
    await Promise.all(Array.from({ length: Math.min(size, count - i) }, (_, j) => each(i + j)));
}

async function createConfigObjects(config: k8s.KubeConfig) {
  const core = config.makeApiClient(k8s.CoreV1Api);
  const networking = config.makeApiClient(k8s.NetworkingV1Api);
  const discovery = config.makeApiClient(k8s.DiscoveryV1Api);
  const started = Date.now();
  progress(`creating ${SERVICES} Services, ${INGRESSES} Ingresses, ${PVCS} PersistentVolumes and claims`);
  await inBatches(SERVICES, 20, (k) =>
    core.createNamespacedService({
      namespace: NAMESPACE,
      body: {
        metadata: { name: serviceName(k), labels: { app: appName(k % DEPLOYMENTS) } },
        spec: {
          clusterIP: 'None',
          selector: { app: appName(k % DEPLOYMENTS) },
          ports: [{ name: 'http', port: 80, targetPort: 8080 }],
        },
      },
    }),
  );
  await inBatches(INGRESSES, 20, (k) =>
    networking.createNamespacedIngress({
      namespace: NAMESPACE,
      body: {
        metadata: { name: serviceName(k) },
        spec: {
          rules: [
            {
              host: `${serviceName(k)}.shop.example.com`,
              http: {
                paths: [
                  {
                    path: '/',
                    pathType: 'Prefix',
                    backend: { service: { name: serviceName(k % SERVICES), port: { name: 'http' } } },
                  },
                ],
              },
            },
          ],
        },
      },
    }),
  );
  await inBatches(PVCS, 20, async (i) => {
    await core.createPersistentVolume({
      body: {
        metadata: { name: volumeName(i) },
        spec: {
          capacity: { storage: '1Gi' },
          accessModes: ['ReadWriteOnce'],
          persistentVolumeReclaimPolicy: 'Retain',
          storageClassName: '',
          hostPath: { path: `/tmp/${volumeName(i)}` },
          claimRef: { namespace: NAMESPACE, name: claimName(i) },
        },
      },
    });
    await core.createNamespacedPersistentVolumeClaim({
      namespace: NAMESPACE,
      body: {
        metadata: { name: claimName(i) },
        spec: {
          accessModes: ['ReadWriteOnce'],
          storageClassName: '',
          volumeName: volumeName(i),
          resources: { requests: { storage: '1Gi' } },
        },
      },
    });
  });
  await waitFor(
    async () => {
      const slices = await discovery.listNamespacedEndpointSlice({ namespace: NAMESPACE });
      const served = new Set(
        slices.items
          .filter((s) => (s.endpoints ?? []).some((e) => e.conditions?.ready === true))
          .map((s) => s.metadata?.labels?.['kubernetes.io/service-name']),
      );
      const claims = await core.listNamespacedPersistentVolumeClaim({ namespace: NAMESPACE });
      const bound = claims.items.filter((c) => c.status?.phase === 'Bound').length;
      progress(`${served.size} Services with ready endpoints, ${bound} claims bound`);
      return served.size >= SERVICES && bound >= PVCS;
    },
    600_000,
    5_000,
  );
  progress(`networking and storage objects settled in ${((Date.now() - started) / 1000).toFixed(0)} s`);
}

async function deletePersistentVolumes(config: k8s.KubeConfig) {
  const core = config.makeApiClient(k8s.CoreV1Api);
  await inBatches(PVCS, 20, (i) => core.deletePersistentVolume({ name: volumeName(i) }).catch(() => undefined));
}

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
    reportHeap(`operator_idle`, build, measured);
  }

  const perDeployment = Math.ceil(PODS / DEPLOYMENTS);
  progress(`creating ${DEPLOYMENTS} Deployments of ${perDeployment} pods`);
  await inBatches(DEPLOYMENTS, 20, async (i) => {
    const replicas = Math.max(0, Math.min(perDeployment, PODS - i * perDeployment));
    await apps.createNamespacedDeployment({ namespace: NAMESPACE, body: deploymentOf(appName(i), replicas) });
  });
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
    600_000,
    2_000,
  );
  progress(`${PODS} pods ready in ${((Date.now() - started) / 1000).toFixed(0)} s`);

  report('operator_pods_watched', PODS, 'pods');
  report('operator_deployments_watched', DEPLOYMENTS, 'deployments');
  const withPods = new Map<string, Measurement>();
  for (const build of builds) {
    const measured = await measureOperator(cluster, build);
    withPods.set(build.name, measured);
    const empty = idle.get(build.name)!;
    const line = (name: string, value: number, unit: string, digits?: number) =>
      report(`${name}_${build.name}`, value, unit, digits);
    line('operator_leading_after', measured.leadingAfter, 'ms');
    line('operator_settled_after', measured.settledAfter, 'ms');
    line('operator_rss_peak', measured.peak, 'MB', 1);
    line('operator_rss_steady_max', measured.steadyMax, 'MB', 1);
    line('operator_rss_steady_median', measured.steadyMedian, 'MB', 1);
    line('operator_rss_per_1000_pods', ((measured.steadyMedian - empty.steadyMedian) * 1000) / PODS, 'MB', 1);
    reportHeap('operator', build, measured);
  }

  if (SERVICES + INGRESSES + PVCS === 0) return;
  try {
    await createConfigObjects(config);
    report('operator_services_watched', SERVICES, 'services');
    report('operator_ingresses_watched', INGRESSES, 'ingresses');
    report('operator_pvcs_watched', PVCS, 'claims');
    for (const build of builds) {
      const measured = await measureOperator(cluster, build);
      const pods = withPods.get(build.name)!;
      const line = (name: string, value: number, unit: string, digits?: number) =>
        report(`${name}_full_${build.name}`, value, unit, digits);
      line('operator_leading_after', measured.leadingAfter, 'ms');
      line('operator_settled_after', measured.settledAfter, 'ms');
      line('operator_rss_peak', measured.peak, 'MB', 1);
      line('operator_rss_steady_max', measured.steadyMax, 'MB', 1);
      line('operator_rss_steady_median', measured.steadyMedian, 'MB', 1);
      line('operator_rss_added_by_config_objects', measured.steadyMedian - pods.steadyMedian, 'MB', 1);
      reportHeap('operator_full', build, measured);
    }
    // Which caches hold the heap, measured in this process (bench/support/cacheFootprint.ts).
    if (process.env.MEMORY_CACHE_BREAKDOWN !== '0') {
      for (const footprint of await cacheFootprints(config)) {
        const kind = footprint.kind.toLowerCase();
        report(`operator_cache_${kind}_objects`, footprint.objects, 'objects');
        report(`operator_cache_${kind}_heap`, footprint.cached / MB, 'MB', 1);
        report(`operator_cache_${kind}_heap_untrimmed`, footprint.untrimmed / MB, 'MB', 1);
      }
    }
  } finally {
    // PersistentVolumes are cluster-scoped: the control plane goes away with the run, but not if it was reused.
    await deletePersistentVolumes(config);
  }
}

/** The V8 heap and off-heap figures the operator's own /metrics reports, read once it has settled. */
function reportHeap(prefix: string, build: Build, measured: Measurement) {
  for (const [name, value] of Object.entries(measured.heap))
    report(`${prefix}_${name}_${build.name}`, value / MB, 'MB', 1);
}

interface Measurement {
  readonly leadingAfter: number;
  readonly settledAfter: number;
  readonly peak: number;
  readonly steadyMax: number;
  readonly steadyMedian: number;
  /** Bytes, from the operator's /metrics (prom-client's process collectors). */
  readonly heap: Readonly<Record<string, number>>;
}

/** Runs one operator process until it settles, samples its RSS, and stops it (which hands the lease back). */
async function measureOperator(cluster: LocalCluster, build: Build): Promise<Measurement> {
  progress(`measuring ${build.name} (${build.entry})`);
  const dir = mkdtempSync(join(tmpdir(), 'cairn-bench-memory-'));
  let child: ChildProcess | undefined;
  try {
    const lines: string[] = [];
    const httpPort = await freePort();
    child = spawn(
      process.execPath,
      [
        ...(build.nodeArgs ?? []),
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
        String(httpPort),
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
    const heap = await heapFigures(httpPort).catch((error) => {
      progress(`no heap figures: ${String(error)}`);
      return {};
    });
    const errors = lines.filter((l) => / error: /.test(l));
    if (errors.length > 0) progress(`operator errors:\n${errors.slice(0, 5).join('\n')}`);
    return {
      leadingAfter: leadingAt - launched,
      settledAfter: settledAt - launched,
      peak: statusMb(pid, 'VmHWM'),
      steadyMax: sorted.at(-1) ?? Number.NaN,
      steadyMedian: sorted[Math.floor(sorted.length / 2)] ?? Number.NaN,
      heap,
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

/** Where the memory is: V8's heap (used and reserved), memory outside it (buffers, native addons' allocations). */
const HEAP_METRICS = {
  heap_used: 'cairn_nodejs_heap_size_used_bytes',
  heap_total: 'cairn_nodejs_heap_size_total_bytes',
  external: 'cairn_nodejs_external_memory_bytes',
} as const;

async function heapFigures(port: number): Promise<Record<string, number>> {
  const response = await fetch(`http://127.0.0.1:${port}/metrics`);
  if (!response.ok) throw new Error(`/metrics answered ${response.status}`);
  const text = await response.text();
  const figures: Record<string, number> = {};
  for (const [name, metric] of Object.entries(HEAP_METRICS)) {
    const match = new RegExp(`^${metric}(?:\\{[^}]*\\})? (\\S+)$`, 'm').exec(text);
    if (match) figures[name] = Number(match[1]);
  }
  // The old space is where long-lived objects (the informer caches) end up.
  const old = /^cairn_nodejs_heap_space_size_used_bytes\{space="old"\} (\S+)$/m.exec(text);
  if (old) figures.heap_old_space_used = Number(old[1]);
  return figures;
}

async function operatorBuilds(): Promise<Build[]> {
  const custom = process.env.MEMORY_OPERATOR_ENTRY;
  if (custom) return [{ name: 'entry', entry: custom }];
  // Built before the cluster starts, so a broken build fails in seconds rather than after the pods are up.
  const all: Build[] = [{ name: 'tsx', entry: new URL('../src/cli/cairn.mjs', import.meta.url).pathname }];
  if (BUILDS.includes('bundle') || BUILDS.includes('bundle_plain')) {
    const { outfile, warnings } = await buildBundle();
    for (const warning of warnings) progress(`build warning: ${warning}`);
    all.push({ name: 'bundle', entry: outfile });
  }
  // The bundle runs with the Node options the container image starts it with, as it runs in a cluster;
  // `bundle_plain` is the same file without them.
  const bundle = all.find((b) => b.name === 'bundle');
  if (bundle) {
    all.splice(
      all.indexOf(bundle),
      1,
      { ...bundle, nodeArgs: imageNodeOptions() },
      { ...bundle, name: 'bundle_plain' },
    );
  }
  const chosen = all.filter((b) => BUILDS.includes(b.name));
  // The production build again with other V8 settings, measured beside it on the same cluster.
  const flags = (process.env.MEMORY_NODE_FLAGS ?? '').split(' ').filter(Boolean);
  if (flags.length > 0 && bundle) chosen.push({ name: 'bundle_tuned', entry: bundle.entry, nodeArgs: flags });
  if (chosen.length === 0) throw new Error(`MEMORY_BUILDS must name tsx and/or bundle, got "${BUILDS.join(',')}"`);
  return chosen;
}

process.stdout.write(
  `operatorMemory: RSS of \`cairn operator\` watching ${PODS} pods (${DEPLOYMENTS} Deployments) on ${NODES} KWOK nodes, then ${SERVICES} Services, ${INGRESSES} Ingresses and ${PVCS} PVCs\n`,
);
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
