import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type * as k8s from '@kubernetes/client-node';
import { parseAllDocuments } from 'yaml';
import { ensureToolchain } from '../../src/cluster/toolchain.ts';

/**
 * The real Argo CD and Flux CustomResourceDefinitions, as their projects ship them inside their Go modules: `go mod
 * download` puts a module's source in Go's module cache once per machine (outside the clone, keyed by version),
 * and only the CRDs are applied (no controller runs: the tests write the objects' status themselves).
 */
export const GitopsModules = [
  {
    module: 'github.com/argoproj/argo-cd/v3',
    version: 'v3.2.0',
    files: ['manifests/crds/application-crd.yaml'],
  },
  {
    module: 'github.com/fluxcd/kustomize-controller',
    version: 'v1.7.3',
    files: ['config/crd/bases/kustomize.toolkit.fluxcd.io_kustomizations.yaml'],
  },
  {
    module: 'github.com/fluxcd/helm-controller',
    version: 'v1.4.0',
    files: ['config/crd/bases/helm.toolkit.fluxcd.io_helmreleases.yaml'],
  },
] as const;

const goModDownload = (module: string, version: string, log: (line: string) => void): Promise<string> => {
  const dir = mkdtempSync(join(tmpdir(), 'cairn-gomod-'));
  log(`go mod download ${module}@${version} (cached in Go's module cache after the first time)`);
  return new Promise<string>((resolve, reject) => {
    execFile(
      'go',
      ['mod', 'download', '-json', `${module}@${version}`],
      { cwd: dir, env: { ...process.env, GOFLAGS: '-mod=mod' }, timeout: 600_000, maxBuffer: 1 << 20 },
      (error, stdout) => {
        rmSync(dir, { recursive: true, force: true });
        let info: { Dir?: string; Error?: string } = {};
        try {
          info = JSON.parse(stdout) as typeof info;
        } catch {
          // Reported below with go's own error.
        }
        if (info.Dir && !info.Error) resolve(info.Dir);
        else reject(new Error(`go mod download ${module}@${version} failed: ${info.Error ?? error?.message}`));
      },
    );
  });
};

/** The CRD files in the module cache (downloaded there first if needed). */
export async function gitopsCrdFiles(log: (line: string) => void = () => {}): Promise<string[]> {
  const paths: string[] = [];
  for (const { module, version, files } of GitopsModules) {
    const dir = await goModDownload(module, version, log);
    for (const file of files) paths.push(join(dir, file));
  }
  return paths;
}

/** The CRD manifests in those files. */
export function crdsIn(paths: readonly string[]): k8s.V1CustomResourceDefinition[] {
  const crds: k8s.V1CustomResourceDefinition[] = [];
  for (const path of paths) {
    for (const doc of parseAllDocuments(readFileSync(path, 'utf8'))) {
      const crd = doc.toJS() as k8s.V1CustomResourceDefinition | null;
      if (crd?.kind === 'CustomResourceDefinition') crds.push(crd);
    }
  }
  return crds;
}

let applied: Promise<void> | undefined;

const kubectl = (binary: string, kubeconfig: string, args: readonly string[]): Promise<string> =>
  new Promise((resolve, reject) => {
    execFile(binary, ['--kubeconfig', kubeconfig, ...args], { timeout: 300_000 }, (error, stdout, stderr) => {
      if (error) reject(new Error(`kubectl ${args.join(' ')} failed: ${(stderr || error.message).trim()}`));
      else resolve(stdout);
    });
  });

/**
 * Applies the Argo CD Application and Flux Kustomization/HelmRelease CRDs (server-side, as they are shipped: the
 * client library's model would drop parts of their schemas) and waits until they are served. Idempotent, and
 * never deletes them: other suites sharing the cluster may be using them; a minimal stand-in another suite made
 * is replaced by the real schema.
 */
export function applyGitopsCrds(
  kubeconfig: string,
  log: (line: string) => void = (line) => process.stderr.write(`[gitops-crds] ${line}\n`),
): Promise<void> {
  applied ??= (async () => {
    const { kubectl: binary } = await ensureToolchain(log);
    const paths = await gitopsCrdFiles(log);
    for (const path of paths) {
      await kubectl(binary, kubeconfig, ['apply', '--server-side', '--force-conflicts', '-f', path]);
    }
    const names = crdsIn(paths).map((crd) => `crd/${crd.metadata?.name}`);
    await kubectl(binary, kubeconfig, ['wait', '--for=condition=Established', '--timeout=120s', ...names]);
  })();
  applied.catch(() => {
    applied = undefined;
  });
  return applied;
}
