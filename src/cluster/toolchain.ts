import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';

/** Versions of the local control plane. Changing one changes the cache key, so the next run rebuilds. */
export const ToolchainVersions = { kubernetes: 'v1.34.4', etcd: 'v3.6.16', kwok: 'v0.8.0' } as const;

export const ToolchainBinaries = [
  'etcd',
  'kube-apiserver',
  'kube-controller-manager',
  'kube-scheduler',
  'kubectl',
  'kwok',
  'kwokctl',
] as const;
export type ToolchainBinary = (typeof ToolchainBinaries)[number];
export type Toolchain = Record<ToolchainBinary, string>;

/** Everything Cairn builds or downloads lives here, outside any clone, so every checkout on a machine shares it. */
export const cacheRoot = (): string => process.env.CAIRN_CACHE_DIR ?? join(homedir(), '.cache', 'cairn');

export const toolchainDir = (): string => {
  const v = ToolchainVersions;
  return join(cacheRoot(), `toolchain-k8s-${v.kubernetes}-etcd-${v.etcd}-kwok-${v.kwok}`);
};

const binPath = (name: ToolchainBinary) => join(toolchainDir(), 'bin', name);

export const toolchainReady = (): boolean => ToolchainBinaries.every((b) => existsSync(binPath(b)));

const buildScript = new URL('./build-toolchain.sh', import.meta.url).pathname;

/** Runs build-toolchain.sh, passing its `[toolchain]` progress lines to `log` and its tail to the error on failure. */
function runBuildScript(args: readonly string[], what: string, log: (line: string) => void): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const child = spawn('bash', [buildScript, ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
    let tail: string[] = [];
    let partial = '';
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
      const lines = (partial + chunk).split('\n');
      partial = lines.pop() ?? '';
      for (const line of lines) {
        tail = [...tail.slice(-30), line];
        if (line.startsWith('[toolchain]')) log(line.slice('[toolchain] '.length));
      }
    });
    child.on('error', reject);
    child.on('exit', (code) => {
      if (code === 0) return resolve();
      const hint = code === 3 ? '' : `\n${tail.join('\n')}`;
      reject(new Error(`building ${what} failed (exit ${code})${hint}`));
    });
  });
}

/**
 * Returns the paths of the control-plane binaries, building the missing ones first (tens of minutes on a cold
 * machine, with progress lines passed to `log`; seconds when cached).
 */
export async function ensureToolchain(log: (line: string) => void = () => {}): Promise<Toolchain> {
  if (!toolchainReady()) {
    log(`building the local control plane into ${toolchainDir()} (once per machine)`);
    const v = ToolchainVersions;
    await runBuildScript([toolchainDir(), v.kubernetes, v.etcd, v.kwok], 'the local control plane', log);
  }
  return Object.fromEntries(ToolchainBinaries.map((b) => [b, binPath(b)])) as Toolchain;
}

/**
 * Helm, for the chart's tests (and HelmRollback, through CAIRN_HELM). It has a cache dir of its own, keyed by its
 * version, so moving Helm to a new patch release leaves the control plane's cache valid, and the reverse.
 */
export const HelmVersion = 'v3.19.5';

export const helmDir = (): string => join(cacheRoot(), `helm-${HelmVersion}`);

export const helmPath = (): string => join(helmDir(), 'bin', 'helm');

/** Returns the path of the helm binary, building it from the Go module proxy first when it is not cached. */
export async function ensureHelm(log: (line: string) => void = () => {}): Promise<string> {
  if (!existsSync(helmPath())) {
    log(`building helm ${HelmVersion} into ${helmDir()} (once per machine)`);
    await runBuildScript(['helm', helmDir(), HelmVersion], `helm ${HelmVersion}`, log);
  }
  return helmPath();
}
