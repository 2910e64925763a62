import type { Command } from 'commander';
import { applyFault, Faults, isFaultName } from '../../cluster/faults.ts';
import {
  clusterDown,
  clusterStatus,
  clusterUp,
  DefaultClusterName,
  kubeconfigPath,
} from '../../cluster/localCluster.ts';
import { ensureHelm, ensureToolchain } from '../../cluster/toolchain.ts';

const progress = (line: string) => process.stderr.write(`• ${line}\n`);

export function registerClusterCommands(program: Command): void {
  const cluster = program
    .command('cluster')
    .description('a real local Kubernetes control plane with KWOK nodes, for the demo, the tests and experiments');

  cluster
    .command('build')
    .description(
      'build and cache the control-plane binaries (etcd, Kubernetes, KWOK) and helm from the Go module proxy',
    )
    .action(async () => {
      const toolchain = await ensureToolchain(progress);
      progress(`binaries ready in ${toolchain.kwokctl.replace(/\/kwokctl$/, '')}`);
      // The chart's tests run helm; building it here keeps `npm test` (pretest) and CI on one path.
      progress(`helm ready: ${await ensureHelm(progress)}`);
    });

  cluster
    .command('up')
    .description('build the control plane once (cached), start it, and print the kubeconfig path last')
    .option('--name <name>', 'cluster name', DefaultClusterName)
    .option('--nodes <count>', 'number of KWOK nodes', (v) => Number.parseInt(v, 10), 3)
    .action(async (opts: { name: string; nodes: number }) => {
      const { kubeconfig } = await clusterUp({ name: opts.name, nodes: opts.nodes, log: progress });
      process.stdout.write(`${kubeconfig}\n`);
    });

  cluster
    .command('down')
    .description('stop every process of the cluster and remove its state')
    .option('--name <name>', 'cluster name', DefaultClusterName)
    .action(async (opts: { name: string }) => {
      await clusterDown(opts.name);
      progress(`cluster "${opts.name}" is down`);
    });

  cluster
    .command('status')
    .description('show the components and nodes of the cluster')
    .option('--name <name>', 'cluster name', DefaultClusterName)
    .action(async (opts: { name: string }) => {
      process.stdout.write(`${await clusterStatus(opts.name)}\n`);
    });

  cluster
    .command('fault')
    .description(
      `apply (or with --clear, remove) the trigger of a simulated fault:\n${Object.entries(Faults)
        .map(
          ([name, f]) =>
            `  ${name.padEnd(15)} <${f.target === 'node' ? 'node' : `namespace/${f.target}`}>  ${f.summary}`,
        )
        .join('\n')}`,
    )
    .argument('<fault>', Object.keys(Faults).join(' | '))
    .argument('<target>', 'namespace/name of the workload, or a node name')
    .option('--clear', 'remove the trigger instead')
    .option('--name <name>', 'cluster name', DefaultClusterName)
    .action(async (fault: string, target: string, opts: { clear?: boolean; name: string }) => {
      if (!isFaultName(fault)) throw new Error(`unknown fault "${fault}"; known: ${Object.keys(Faults).join(', ')}`);
      const toolchain = await ensureToolchain(progress);
      const message = await applyFault(
        { name: opts.name, kubeconfig: kubeconfigPath(opts.name), toolchain },
        fault,
        target,
        {
          clear: opts.clear ?? false,
        },
      );
      progress(message);
    });
}
