import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createNamespace,
  deleteNamespace,
  type KubeClients,
  kubeClients,
  testCluster,
} from '../../test/support/kube.ts';
import { kubectl, type LocalCluster } from '../cluster/localCluster.ts';
import { ensureHelm } from '../cluster/toolchain.ts';

/**
 * The chart's grant for SourceRepository credentials, applied to the real API server: the operator's
 * ServiceAccount may get exactly the Secrets `sourceRepositories.credentialSecrets` names, and no other.
 */
const chartDir = fileURLToPath(new URL('../../deploy/helm/cairn/', import.meta.url));
let kube: KubeClients;
let cluster: LocalCluster;
let namespace: string;
let other: string;

beforeAll(async () => {
  kube = kubeClients();
  cluster = await testCluster();
  namespace = await createNamespace(kube, 'srcrepo-rbac');
  other = await createNamespace(kube, 'srcrepo-rbac');
  await kube.core.createNamespacedServiceAccount({ namespace, body: { metadata: { name: 'cairn-op' } } });
}, 600_000);

afterAll(async () => {
  await deleteNamespace(kube, namespace);
  await deleteNamespace(kube, other);
});

const canGet = async (ns: string, secret: string) =>
  (
    await kubectl(cluster, [
      'auth',
      'can-i',
      'get',
      `secret/${secret}`,
      '-n',
      ns,
      `--as=system:serviceaccount:${namespace}:cairn-op`,
    ]).catch((error: { stdout?: string }) => error.stdout ?? 'no')
  ).trim();

describe('the chart grant for SourceRepository credentials', () => {
  it('lets the operator get exactly the named Secrets, in their namespaces', async () => {
    const helm = await ensureHelm();
    const { stdout } = await promisify(execFile)(helm, [
      'template',
      'cairn',
      chartDir,
      '--namespace',
      namespace,
      '--set',
      'serviceAccount.name=cairn-op',
      '--set',
      `sourceRepositories.credentialSecrets[0].namespace=${other}`,
      '--set',
      'sourceRepositories.credentialSecrets[0].name=git-token',
      '--set',
      `sourceRepositories.credentialSecrets[1].namespace=${other}`,
      '--set',
      'sourceRepositories.credentialSecrets[1].name=git-ssh',
      '--show-only',
      'templates/sourceRepositories.yaml',
    ]);
    await kubectl(cluster, ['apply', '-f', '-'], stdout);
    expect(await canGet(other, 'git-token')).toBe('yes');
    expect(await canGet(other, 'git-ssh')).toBe('yes');
    expect(await canGet(other, 'db-password')).toBe('no');
    expect(await canGet(namespace, 'git-token')).toBe('no');
  });

  it('renders nothing when no Secret is named', async () => {
    const helm = await ensureHelm();
    const rendered = await promisify(execFile)(helm, [
      'template',
      'cairn',
      chartDir,
      '--show-only',
      'templates/sourceRepositories.yaml',
    ]).then(
      (r) => r.stdout,
      (error: { stderr?: string }) => error.stderr ?? '',
    );
    expect(rendered).not.toContain('kind: Role');
  });
});
