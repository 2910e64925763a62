import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';
import {
  clusterDir,
  clusterDown,
  clusterDownSync,
  clusterUp,
  type LocalCluster,
} from '../../src/cluster/localCluster.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    kubeconfig: string;
  }
}

/**
 * One control plane for the whole run, shared by the int and e2e projects. Both projects' global setups run in
 * the same vitest process, so the cluster is kept on globalThis and counted, and the last teardown stops it.
 * With CAIRN_KUBECONFIG set, the tests use that cluster instead (for example one from `cairn cluster up`) and
 * leave it running.
 */
interface Shared {
  cluster: Promise<LocalCluster>;
  users: number;
}
const key = Symbol.for('cairn.test.cluster');
const registry = globalThis as unknown as Record<symbol, Shared | undefined>;
// One cluster per test run, named after the process, so two runs on one machine (a developer's and CI's) never
// tear each other's cluster down.
const clusterName = `cairn-test-${process.pid}`;

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

/** Clusters of test runs that died without their teardown (a SIGKILL) still hold processes and ports. */
async function removeOrphans() {
  const parent = join(clusterDir('x'), '..');
  if (!existsSync(parent)) return;
  for (const name of readdirSync(parent)) {
    const pid = Number(/^cairn-test-(\d+)$/.exec(name)?.[1]);
    if (pid && !alive(pid)) await clusterDown(name);
  }
}

export default async function setup(project: TestProject) {
  const external = process.env.CAIRN_KUBECONFIG;
  if (external) {
    project.provide('kubeconfig', external);
    return;
  }
  let shared = registry[key];
  if (!shared) {
    const log = (line: string) => process.stderr.write(`[cluster] ${line}\n`);
    shared = { cluster: removeOrphans().then(() => clusterUp({ name: clusterName, log })), users: 0 };
    registry[key] = shared;
    const cluster = await shared.cluster;
    // Ctrl-C, a kill or a crash must not leave etcd and the API server running.
    const stop = () => clusterDownSync(clusterName, cluster.toolchain);
    process.once('exit', stop);
    for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
      process.once(signal, () => {
        stop();
        process.kill(process.pid, signal);
      });
    }
  }
  shared.users += 1;
  const cluster = await shared.cluster;
  project.provide('kubeconfig', cluster.kubeconfig);
  return () => {
    const current = registry[key];
    if (!current) return;
    current.users -= 1;
    if (current.users === 0) {
      registry[key] = undefined;
      clusterDownSync(clusterName, cluster.toolchain);
    }
  };
}
