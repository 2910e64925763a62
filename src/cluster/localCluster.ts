import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { localClusterMetrics } from './kubeletMetrics.ts';
import { localClusterStages } from './stages.ts';
import { cacheRoot, ensureToolchain, type Toolchain, ToolchainVersions, toolchainReady } from './toolchain.ts';

/**
 * A real Kubernetes control plane on this machine: etcd, kube-apiserver, kube-controller-manager and
 * kube-scheduler run as local processes (kwokctl's binary runtime), and KWOK plays the kubelets of a few nodes.
 * Controllers, garbage collection, admission and CRD validation are the real ones; only containers are simulated.
 */
export interface LocalCluster {
  readonly name: string;
  readonly kubeconfig: string;
  readonly toolchain: Toolchain;
}

export interface ClusterOptions {
  readonly name?: string;
  readonly nodes?: number;
  readonly log?: (line: string) => void;
}

export const DefaultClusterName = 'cairn';
/** The namespace `cairn operator` uses by default; the local cluster has it from the start. */
export const OperatorNamespace = 'cairn-system';
const crdDir = new URL('../../crds/', import.meta.url).pathname;

const kwokWorkdir = () => join(cacheRoot(), 'kwok');
export const clusterDir = (name: string) => join(kwokWorkdir(), 'clusters', name);
export const kubeconfigPath = (name: string) => join(clusterDir(name), 'cairn.kubeconfig');

const kwokEnv = () => ({
  ...process.env,
  KWOK_WORKDIR: kwokWorkdir(),
  KWOK_KUBE_VERSION: ToolchainVersions.kubernetes,
  KWOK_RUNTIME: 'binary',
});

async function run(cmd: string, args: string[], opts: { input?: string; env?: NodeJS.ProcessEnv } = {}) {
  return new Promise<string>((resolve, reject) => {
    const child = spawn(cmd, args, { env: opts.env ?? process.env, stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      out += d;
    });
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      err += d;
    });
    child.on('error', reject);
    child.on('exit', (code) =>
      code === 0
        ? resolve(out)
        : reject(
            new Error(`${cmd.split('/').pop()} ${args.slice(0, 3).join(' ')} failed (exit ${code}): ${err.trim()}`),
          ),
    );
    child.stdin.end(opts.input ?? '');
  });
}

export async function clusterUp(options: ClusterOptions = {}): Promise<LocalCluster> {
  const name = options.name ?? DefaultClusterName;
  const log = options.log ?? (() => {});
  const toolchain = await ensureToolchain(log);
  const started = Date.now();

  // A cluster left behind by a crashed run would hold ports and stale state: start from nothing every time.
  await clusterDown(name);
  mkdirSync(clusterDir(name), { recursive: true });
  // Inside the cluster's own directory, so `kwokctl delete cluster` removes it with the rest.
  const stagesFile = join(clusterDir(name), 'cairn-stages.yaml');
  writeFileSync(
    stagesFile,
    localClusterStages()
      .map((s) => stringify(s))
      .join('---\n'),
  );
  const kubeconfig = kubeconfigPath(name);

  log(`starting control plane "${name}" (etcd, kube-apiserver, kube-controller-manager, kube-scheduler, kwok)`);
  await run(
    toolchain.kwokctl,
    [
      'create',
      'cluster',
      '--name',
      name,
      '--runtime',
      'binary',
      '--config',
      stagesFile,
      // Served from objects in the API server (applied below), not from the config file: kwokctl only passes
      // metrics and usages from its config along with a metrics-server, which cannot be installed here.
      '--enable-crds',
      'Metric,ClusterResourceUsage',
      '--kubeconfig',
      kubeconfig,
      // KWOK serves container logs (and previous logs) from files named by these objects, through the API server.
      '--enable-crds',
      'Logs,ClusterLogs',
      '--etcd-binary',
      toolchain.etcd,
      '--kube-apiserver-binary',
      toolchain['kube-apiserver'],
      '--kube-controller-manager-binary',
      toolchain['kube-controller-manager'],
      '--kube-scheduler-binary',
      toolchain['kube-scheduler'],
      '--kwok-controller-binary',
      toolchain.kwok,
      '--wait',
      '90s',
    ],
    { env: kwokEnv() },
  );
  const cluster: LocalCluster = { name, kubeconfig, toolchain };

  log(`adding ${options.nodes ?? 3} KWOK nodes`);
  await kubectl(cluster, ['apply', '-f', '-'], nodeManifests(options.nodes ?? 3));
  if (existsSync(crdDir) && readdirSync(crdDir).some((f) => f.endsWith('.yaml'))) {
    log('installing Cairn CRDs');
    await kubectl(cluster, ['apply', '--server-side', '-f', crdDir]);
    await kubectl(cluster, ['wait', '--for=condition=Established', 'crd', '-l', 'app.kubernetes.io/part-of=cairn']);
  }
  await kubectl(cluster, ['wait', '--for=condition=Ready', 'node', '--all', '--timeout=60s']);
  await kubectl(
    cluster,
    ['apply', '-f', '-'],
    localClusterMetrics()
      .map((m) => stringify(m))
      .join('---\n'),
  );
  await kubectl(
    cluster,
    ['apply', '-f', '-'],
    stringify({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: OperatorNamespace } }),
  );
  // Pods can only be created once the default ServiceAccount exists in a namespace.
  await waitFor(async () => (await kubectl(cluster, ['get', 'serviceaccount', 'default', '-o', 'name'])).trim() !== '');
  log(`control plane ready in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  return cluster;
}

/** Stops every process of the cluster and removes its state. Quiet when there is nothing to remove. */
export async function clusterDown(name: string = DefaultClusterName): Promise<void> {
  if (!toolchainReady() && !existsSync(clusterDir(name))) return;
  const { kwokctl } = await ensureToolchain();
  if (!existsSync(clusterDir(name))) return;
  await run(kwokctl, ['delete', 'cluster', '--name', name], { env: kwokEnv() });
}

/** The synchronous form, for signal handlers and process exit, where nothing asynchronous runs any more. */
export function clusterDownSync(name: string, toolchain: Toolchain): void {
  spawnSync(toolchain.kwokctl, ['delete', 'cluster', '--name', name], { env: kwokEnv(), stdio: 'ignore' });
}

export async function clusterStatus(name: string = DefaultClusterName): Promise<string> {
  if (!existsSync(kubeconfigPath(name))) return `cluster "${name}" is not running`;
  const toolchain = await ensureToolchain();
  const cluster = { name, kubeconfig: kubeconfigPath(name), toolchain };
  const components = await run(toolchain.kwokctl, ['get', 'components', '--name', name], { env: kwokEnv() });
  const nodes = await kubectl(cluster, ['get', 'nodes', '-o', 'wide']);
  return `${components.trim()}\n\n${nodes.trim()}\n\nkubeconfig: ${cluster.kubeconfig}`;
}

export function kubectl(cluster: LocalCluster, args: string[], input?: string): Promise<string> {
  return run(cluster.toolchain.kubectl, ['--kubeconfig', cluster.kubeconfig, ...args], input ? { input } : {});
}

function nodeManifests(count: number): string {
  return Array.from({ length: count }, (_, i) =>
    stringify({
      apiVersion: 'v1',
      kind: 'Node',
      metadata: {
        name: `kwok-node-${i}`,
        annotations: { 'kwok.x-k8s.io/node': 'fake', 'node.alpha.kubernetes.io/ttl': '0' },
        labels: {
          type: 'kwok',
          'kubernetes.io/hostname': `kwok-node-${i}`,
          'kubernetes.io/os': 'linux',
          'kubernetes.io/arch': 'amd64',
          'topology.kubernetes.io/zone': `zone-${i % 2}`,
        },
      },
      status: {
        allocatable: { cpu: '32', memory: '128Gi', pods: '110' },
        capacity: { cpu: '32', memory: '128Gi', pods: '110' },
      },
    }),
  ).join('---\n');
}

export async function waitFor(check: () => Promise<boolean>, timeoutMs = 60_000, intervalMs = 250): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      if (await check()) return;
    } catch {
      // Not there yet; the deadline below turns persistent failure into an error.
    }
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}
