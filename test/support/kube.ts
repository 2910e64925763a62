import { randomBytes } from 'node:crypto';
import * as k8s from '@kubernetes/client-node';
import { inject } from 'vitest';
import type { LocalCluster } from '../../src/cluster/localCluster.ts';
import { ensureToolchain } from '../../src/cluster/toolchain.ts';

/** Kubernetes clients for the cluster of this test run. */
export function kubeClients() {
  const config = new k8s.KubeConfig();
  config.loadFromFile(inject('kubeconfig'));
  return {
    config,
    core: config.makeApiClient(k8s.CoreV1Api),
    apps: config.makeApiClient(k8s.AppsV1Api),
    batch: config.makeApiClient(k8s.BatchV1Api),
    custom: config.makeApiClient(k8s.CustomObjectsApi),
    objects: k8s.KubernetesObjectApi.makeApiClient(config),
  };
}
export type KubeClients = ReturnType<typeof kubeClients>;

/** The run's cluster as the harness helpers (kubectl, faults) take it. */
export async function testCluster(): Promise<LocalCluster> {
  return { name: 'test', kubeconfig: inject('kubeconfig'), toolchain: await ensureToolchain() };
}

/** A fresh namespace, so test files never see each other's objects. */
export async function createNamespace(clients: KubeClients, prefix: string): Promise<string> {
  const name = `${prefix}-${randomBytes(3).toString('hex')}`;
  await clients.core.createNamespace({ body: { metadata: { name, labels: { 'cairn.dev/test': 'true' } } } });
  return name;
}

export async function deleteNamespace(clients: KubeClients, name: string): Promise<void> {
  await clients.core.deleteNamespace({ name }).catch(() => undefined);
}

/** Polls until `check` returns a value other than undefined/false; on timeout, fails with the last observation. */
export async function eventually<T>(
  what: string,
  check: () => Promise<T | undefined | false>,
  timeoutMs = 60_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value !== undefined && value !== false) return value;
      last = value;
    } catch (error) {
      last = error;
    }
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`, { cause: last });
    }
    await new Promise((r) => setTimeout(r, 300));
  }
}

export function deployment(
  name: string,
  options: { replicas?: number; image?: string; memoryLimit?: string } = {},
): k8s.V1Deployment {
  const labels = { app: name };
  return {
    metadata: { name, labels },
    spec: {
      replicas: options.replicas ?? 2,
      selector: { matchLabels: labels },
      strategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 1, maxSurge: 1 } },
      template: {
        metadata: { labels },
        spec: {
          containers: [
            {
              name: 'app',
              image: options.image ?? 'registry.local/shop/web:1.0.0',
              resources: {
                requests: { cpu: '100m', memory: options.memoryLimit ?? '128Mi' },
                limits: { memory: options.memoryLimit ?? '128Mi' },
              },
            },
          ],
        },
      },
    },
  };
}

export async function podsOf(clients: KubeClients, namespace: string, app: string): Promise<k8s.V1Pod[]> {
  const list = await clients.core.listNamespacedPod({ namespace, labelSelector: `app=${app}` });
  return list.items.filter((p) => !p.metadata?.deletionTimestamp);
}

export const isReady = (pod: k8s.V1Pod): boolean =>
  pod.status?.phase === 'Running' &&
  (pod.status.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True');
