import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { ensureHelm } from '../../src/cluster/toolchain.ts';

/** The tests' own chart: one Deployment whose image, replicas, log level and database settings are values. */
export const webChartDir = fileURLToPath(new URL('../fixtures/charts/web/', import.meta.url));

/**
 * Runs the real helm CLI (built once per machine into ~/.cache/cairn by ensureHelm) against the test cluster;
 * rejects with helm's own message when it fails.
 */
export async function helm(kubeconfig: string, args: readonly string[]): Promise<string> {
  const binary = await ensureHelm((line) => process.stderr.write(`[helm] ${line}\n`));
  return new Promise((resolve, reject) => {
    execFile(
      binary,
      [...args, '--kubeconfig', kubeconfig],
      { timeout: 180_000, env: { ...process.env, HELM_CACHE_HOME: '/tmp/cairn-helm-cache' } },
      (error, stdout, stderr) => {
        if (error) reject(new Error(`helm ${args.join(' ')} failed: ${(stderr || error.message).trim()}`));
        else resolve(stdout);
      },
    );
  });
}

export interface HelmHistoryEntry {
  revision: number;
  status: string;
  chart: string;
  app_version: string;
  description: string;
}

export const helmHistory = async (kubeconfig: string, release: string, namespace: string) =>
  JSON.parse(
    await helm(kubeconfig, ['history', release, '--namespace', namespace, '--output', 'json']),
  ) as HelmHistoryEntry[];
