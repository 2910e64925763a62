import * as k8s from '@kubernetes/client-node';
import type { Command } from 'commander';
import {
  type DataKeyInfo,
  KeyEncryptionKeySecret,
  kubernetesSnapshotKeys,
  type SnapshotKeyStore,
} from '../../adapters/kubernetes/snapshotKeys.ts';
import type { Write } from './audit.command.ts';

const stdout: Write = (text) => {
  process.stdout.write(text);
};

interface Where {
  namespace: string;
  kubeconfig?: string;
}

const describeKey = (k: DataKeyInfo) =>
  `snapshot ${k.snapshotId} (remediation ${k.remediationId || '?'}, Issue ${k.issueId || '?'}, ${k.target || 'unknown target'}) ` +
  `Secret ${k.secret}, wrapped by ${k.kek}${k.createdAt ? `, created ${k.createdAt}` : ''}`;

/**
 * `cairn snapshot-keys list|rotate|shred`: the keys that seal the secret values of remediation snapshots.
 * `openStore` is replaceable so tests can point the commands at any cluster and namespace.
 */
export function registerSnapshotKeysCommand(
  program: Command,
  write: Write = stdout,
  openStore: (where: Where) => SnapshotKeyStore = (where) => {
    const config = new k8s.KubeConfig();
    if (where.kubeconfig) config.loadFromFile(where.kubeconfig);
    else config.loadFromDefault();
    return kubernetesSnapshotKeys(config, where.namespace);
  },
): void {
  const command = program
    .command('snapshot-keys')
    .description('rotate and destroy the keys that encrypt the secret values of remediation snapshots');
  const where = (c: Command) =>
    c
      .option('--namespace <name>', "the operator's namespace, where the keys are", 'cairn-system')
      .option('--kubeconfig <path>', 'kubeconfig (default: KUBECONFIG, ~/.kube/config or in-cluster)');

  where(command.command('list').description('list the data keys, one per snapshot that holds secret values')).action(
    async (opts: Where) => {
      for (const key of await openStore(opts).list()) write(`${describeKey(key)}\n`);
    },
  );

  where(
    command
      .command('rotate')
      .description(
        `add a new key-encryption key to Secret ${KeyEncryptionKeySecret}, re-wrap every data key with it, and remove the old ones`,
      ),
  ).action(async (opts: Where) => {
    const report = await openStore(opts).rotate();
    write(
      `key-encryption key is now ${report.kek}; re-wrapped ${report.rewrapped} data key(s); ` +
        `removed ${report.removed.length > 0 ? report.removed.join(', ') : 'nothing'}\n`,
    );
    for (const id of report.unreadable) {
      write(`unreadable before and after: the data key of snapshot ${id} (its key-encryption key was already gone)\n`);
    }
  });

  where(
    command
      .command('shred')
      .description(
        'destroy the data key of a snapshot (or of every snapshot of a remediation or an Issue): its secret values can never be read again, and every event stays in the log',
      )
      .argument('<id>', 'a snapshot id, a remediation id or an Issue id'),
  ).action(async (id: string, opts: Where) => {
    for (const key of await openStore(opts).shred(id)) write(`destroyed the data key of ${describeKey(key)}\n`);
  });
}
