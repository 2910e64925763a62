import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { type AiServerProcess, startAiServerProcess } from '../../../test/support/aiServer.ts';
import {
  createNamespace,
  deleteNamespace,
  deployment,
  eventually,
  type KubeClients,
  kubeClients,
  testCluster,
} from '../../../test/support/kube.ts';
import { applyFault } from '../../cluster/faults.ts';
import { type AiServerClient, createAiServerClient } from './aiops.client.ts';

/**
 * `cairn server --watch`: the server runs Cairn's detectors against the real cluster and answers GetAlerts with what
 * they see, so an operator that polls it records those alerts as anomalies.
 */
let kube: KubeClients;
let namespace: string;
let other: string;
let server: AiServerProcess;
let ai: AiServerClient;

beforeAll(async () => {
  kube = kubeClients();
  namespace = await createNamespace(kube, 'watch');
  other = await createNamespace(kube, 'watch-other');
  server = await startAiServerProcess([
    '--port',
    '0',
    '--watch',
    '--kubeconfig',
    inject('kubeconfig'),
    '--watch-namespace',
    namespace,
    '--watch-namespace',
    other,
  ]);
  ai = createAiServerClient({ address: server.address });
});
afterAll(async () => {
  ai?.close();
  await server?.stop('SIGTERM');
  await deleteNamespace(kube, namespace);
  await deleteNamespace(kube, other);
});

describe('cairn server --watch', () => {
  it("answers GetAlerts with the detectors' findings on the cluster, per namespace", async () => {
    await kube.apps.createNamespacedDeployment({ namespace, body: deployment('web') });
    await applyFault(await testCluster(), 'oom', `${namespace}/web`);

    const alert = await eventually(
      'an OOM alert for web',
      async () => (await ai.getAlerts(namespace)).find((a) => a.deployment === 'web' && a.signal === 'oom_kill'),
      90_000,
    );
    expect(alert).toMatchObject({ namespace, resourceKind: 'Deployment', resourceName: 'web' });
    expect(alert.message).not.toBe('');
    expect(['low', 'medium', 'high', 'critical']).toContain(alert.severity);
    // Another namespace's question gets that namespace's alerts only.
    expect(await ai.getAlerts(other)).toEqual([]);
    expect(server.output()).toMatch(/watching the cluster/);
  });
});
