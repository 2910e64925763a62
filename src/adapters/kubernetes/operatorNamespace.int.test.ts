import { randomBytes } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as k8s from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import {
  createNamespace,
  deleteNamespace,
  eventually,
  type KubeClients,
  kubeClients,
} from '../../../test/support/kube.ts';
import { startOperator } from '../../operator.ts';
import { ensureOperatorNamespace } from './operatorNamespace.ts';

/** The operator's namespace: created when Cairn may, otherwise a start-up that stops at once and says what to do. */
let clients: KubeClients;
let home: string;
const created: string[] = [];

/** A KubeConfig that authenticates as a ServiceAccount with a token the API server issued to it. */
async function asServiceAccount(namespace: string, name: string): Promise<k8s.KubeConfig> {
  await clients.core.createNamespacedServiceAccount({ namespace, body: { metadata: { name } } });
  const token = await clients.core.createNamespacedServiceAccountToken({
    name,
    namespace,
    body: { spec: { audiences: [], expirationSeconds: 3600 } },
  });
  const cluster = clients.config.getCurrentCluster();
  if (!cluster || !token.status?.token) throw new Error('no cluster or no token');
  const config = new k8s.KubeConfig();
  config.loadFromOptions({
    clusters: [cluster],
    users: [{ name, token: token.status.token }],
    contexts: [{ name, cluster: cluster.name, user: name }],
    currentContext: name,
  });
  return config;
}

beforeAll(async () => {
  clients = kubeClients();
  home = await createNamespace(clients, 'opns');
});
afterAll(async () => {
  for (const name of [...created, home]) await deleteNamespace(clients, name);
});

const fresh = () => {
  const name = `cairn-ns-${randomBytes(4).toString('hex')}`;
  created.push(name);
  return name;
};

describe("the operator's namespace", () => {
  it('is created when it is missing and Cairn may create it, and the operator then leads there', async () => {
    const namespace = fresh();
    const lines: string[] = [];
    const operator = await startOperator({
      kubeconfig: inject('kubeconfig'),
      store: 'memory:',
      namespace,
      watchNamespaces: [namespace],
      remediate: false,
      leaseDurationMs: 3_000,
      log: (line) => lines.push(line),
    });
    try {
      await eventually('the operator to lead', async () => operator.isLeader());
      expect(lines).toContain(`created namespace ${namespace} for the operator's lease and keys`);
      const lease = await clients.config
        .makeApiClient(k8s.CoordinationV1Api)
        .readNamespacedLease({ name: 'cairn-operator', namespace });
      expect(lease.spec?.holderIdentity).toBeDefined();
    } finally {
      await operator.stop();
    }
  });

  it('stops start-up at once, naming the command to run, when it is missing and Cairn may not create it', async () => {
    const namespace = fresh();
    const restricted = await asServiceAccount(home, 'no-namespaces');
    // Reading namespaces is allowed (so Cairn can tell it is missing); creating them is not.
    const rbac = clients.config.makeApiClient(k8s.RbacAuthorizationV1Api);
    await rbac.createClusterRole({
      body: {
        metadata: { name: `${home}-read-ns` },
        rules: [{ apiGroups: [''], resources: ['namespaces'], verbs: ['get'] }],
      },
    });
    await rbac.createClusterRoleBinding({
      body: {
        metadata: { name: `${home}-read-ns` },
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: `${home}-read-ns` },
        subjects: [{ kind: 'ServiceAccount', name: 'no-namespaces', namespace: home }],
      },
    });
    try {
      await eventually('the read grant to be in force', async () =>
        (await ensureOperatorNamespace(restricted, home)) === 'exists' ? true : undefined,
      );
      await expect(ensureOperatorNamespace(restricted, namespace)).rejects.toThrow(
        `the operator's namespace "${namespace}" does not exist and Cairn may not create it: run \`kubectl create namespace ${namespace}\``,
      );
      // Through the operator, with its store never opened.
      const dir = mkdtempSync(join(tmpdir(), 'cairn-opns-'));
      const kubeconfig = join(dir, 'kubeconfig');
      writeFileSync(kubeconfig, restricted.exportConfig());
      await expect(
        startOperator({ kubeconfig, store: `sqlite:${join(dir, 'events.db')}`, namespace, remediate: false }),
      ).rejects.toThrow(/kubectl create namespace/);
      await expect(clients.core.readNamespace({ name: namespace })).rejects.toMatchObject({ code: 404 });
    } finally {
      await rbac.deleteClusterRoleBinding({ name: `${home}-read-ns` });
      await rbac.deleteClusterRole({ name: `${home}-read-ns` });
    }
  });

  it('carries on when Cairn may not even read namespaces: the Lease will say what is wrong', async () => {
    const blind = await asServiceAccount(home, 'blind');
    expect(await ensureOperatorNamespace(blind, fresh())).toBe('unknown');
  });
});
