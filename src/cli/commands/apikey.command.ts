import { dirname, join } from 'node:path';
import * as k8s from '@kubernetes/client-node';
import { type Command, Option } from 'commander';
import { CairnError, ErrorCategory } from '../../../domain/errors.ts';
import { DEFAULT_EVENT_STORE_URL, parseEventStoreUrl } from '../../adapters/eventstore/eventStore.factory.ts';
import {
  addKey,
  describeReach,
  generateKey,
  type Role,
  readKeyFile,
  roles,
  writeKeyFile,
} from '../../adapters/http/security/apiKeys.ts';
import { secretKeySource } from '../../adapters/http/security/keySources.ts';
import type { Write } from './audit.command.ts';

/** The key file the operator reads by default: beside a sqlite event store, or in ./cairn-data. */
export function defaultKeyFile(storeUrl: string = DEFAULT_EVENT_STORE_URL): string {
  const { kind, target } = parseEventStoreUrl(storeUrl);
  return kind === 'sqlite' && target !== ':memory:'
    ? join(dirname(target), 'api-keys.json')
    : './cairn-data/api-keys.json';
}

const stdout: Write = (text) => {
  process.stdout.write(text);
};

interface Target {
  file?: string;
  secret?: string;
  kubeconfig?: string;
}

const store = (opts: Target) => {
  if (opts.secret !== undefined) {
    const config = new k8s.KubeConfig();
    if (opts.kubeconfig) config.loadFromFile(opts.kubeconfig);
    else config.loadFromDefault();
    const source = secretKeySource(config, opts.secret);
    return {
      where: `Secret ${opts.secret}`,
      load: () => source.load(),
      save: (keys: Parameters<typeof source.save>[0]) => source.save(keys),
    };
  }
  const file = opts.file ?? defaultKeyFile();
  return {
    where: file,
    load: async () => readKeyFile(file),
    save: async (keys: Parameters<typeof writeKeyFile>[1]) => writeKeyFile(file, keys),
  };
};

/**
 * `cairn apikey create|list|revoke`: keys for the REST API. A key is printed once, at creation; only its SHA-256
 * is written, to a file (mode 0600) or to a Secret's `api-keys.json`, which the operator re-reads every 30 s.
 */
export function registerApiKeyCommand(program: Command, write: Write = stdout): void {
  const command = program.command('apikey').description('create, list and revoke REST API keys');
  const where = (c: Command) =>
    c
      .option('--file <path>', 'key file (default: api-keys.json beside the default sqlite store)')
      .option('--secret <namespace/name>', 'keep the keys in this Secret instead of a file')
      .option('--kubeconfig <path>', 'kubeconfig for --secret');

  where(
    command
      .command('create')
      .description('create a key and print it once')
      .addOption(new Option('--role <role>', 'viewer < operator < admin').choices(roles).makeOptionMandatory())
      .requiredOption('--name <name>', 'who or what holds the key; recorded as the actor of what it does')
      .option(
        '--namespace <names>',
        'scope the key: it may raise signals (anomalies, alerts) only on objects of these namespaces (repeatable, or comma-separated); unscoped keys reach every namespace and Nodes',
        (value: string, previous: string[] = []) => [...previous, ...value.split(',').map((n) => n.trim())],
      )
      .option(
        '--group <names>',
        'approver groups the key belongs to, for ApprovalPolicy rules that name groups (repeatable, or comma-separated)',
        (value: string, previous: string[] = []) => [...previous, ...value.split(',').map((n) => n.trim())],
      ),
  ).action(async (opts: Target & { role: Role; name: string; namespace?: string[]; group?: string[] }) => {
    const target = store(opts);
    const { key, stored } = generateKey(opts.name, opts.role, new Date(), opts.namespace, opts.group);
    await target.save(addKey(await target.load(), stored));
    write(`${key}\n`);
    process.stderr.write(
      `created ${opts.role} key ${opts.name} (id ${stored.id}, ${describeReach(stored)}) in ${target.where}; this is the only time it is shown\n`,
    );
  });

  where(
    command.command('list').description('list the keys (names, roles, ids, the namespaces they reach; never the keys)'),
  ).action(async (opts: Target) => {
    for (const k of await store(opts).load()) {
      write(
        `${k.name}\t${k.role}\t${k.id}\t${k.createdAt}\t${k.namespaces?.join(',') ?? '*'}${k.groups ? `\tgroups ${k.groups.join(',')}` : ''}\n`,
      );
    }
  });

  where(
    command.command('revoke').description('remove a key').requiredOption('--name <name>', 'the key to remove'),
  ).action(async (opts: Target & { name: string }) => {
    const target = store(opts);
    const keys = await target.load();
    if (!keys.some((k) => k.name === opts.name)) {
      throw new CairnError('apikey.not_found', ErrorCategory.NotFound, `no key named ${opts.name} in ${target.where}`);
    }
    await target.save(keys.filter((k) => k.name !== opts.name));
    write(`revoked ${opts.name}\n`);
  });
}
