import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { AnomalyDetectedData } from '../../domain/events/anomaly.events.ts';
import { openEventStore } from '../../src/adapters/eventstore/openEventStore.ts';
import { applyFault } from '../../src/cluster/faults.ts';
import type { LocalCluster } from '../../src/cluster/localCluster.ts';
import { type RunningOperator, startOperator } from '../../src/operator.ts';
import {
  createNamespace,
  deleteNamespace,
  deployment,
  eventually,
  type KubeClients,
  kubeClients,
  podsOf,
  testCluster,
} from '../support/kube.ts';

interface AnomalyObject {
  metadata: { name: string };
  spec: { signal: string; message?: string; resource: { kind: string; name: string; namespace?: string } };
  status?: { cause?: AnomalyDetectedData['cause'] };
}

let clients: KubeClients;
let cluster: LocalCluster;
/** Where the operator writes its objects and where most workloads run. */
let namespace: string;
/** A namespace of its own for the ResourceQuota, which would otherwise cap every other workload here. */
let quotaNamespace: string;
let operator: RunningOperator;
let storeUrl: string;

beforeAll(async () => {
  clients = kubeClients();
  cluster = await testCluster();
  namespace = await createNamespace(clients, 'causes');
  quotaNamespace = await createNamespace(clients, 'causes-quota');
  storeUrl = `sqlite:${join(mkdtempSync(join(tmpdir(), 'cairn-causes-')), 'events.db')}`;
  operator = await startOperator({
    kubeconfig: inject('kubeconfig'),
    store: storeUrl,
    namespace,
    // A workload merely short of replicas would wait an hour: only a named cause reports within the test, and it
    // does after podBlockedSeconds.
    thresholds: { workloadUnavailableSeconds: 3600, podBlockedSeconds: 2, podNotReadySeconds: 2 },
    remediate: false,
    watchNamespaces: [namespace, quotaNamespace],
    ...(process.env.CAIRN_TEST_LOG ? { log: (line: string) => process.stderr.write(`[operator] ${line}\n`) } : {}),
  });
  await eventually('the operator to lead', async () => operator.isLeader());
});
afterAll(async () => {
  await operator?.stop();
  await deleteNamespace(clients, namespace);
  await deleteNamespace(clients, quotaNamespace);
});

/** Anomaly objects are written beside the workload they are about: both test namespaces. */
const anomalies = async () =>
  (
    await Promise.all(
      [namespace, quotaNamespace].map(
        async (ns) =>
          (
            (await clients.custom.listNamespacedCustomObject({
              group: 'aiops.cairn.dev',
              version: 'v1alpha1',
              namespace: ns,
              plural: 'anomalies',
            })) as { items: AnomalyObject[] }
          ).items,
      ),
    )
  ).flat();

/** The recorded AnomalyDetected events about this workload, with their cause, straight from the event store. */
async function detected(workload: string, signal: string): Promise<AnomalyDetectedData[]> {
  const store = openEventStore(storeUrl);
  try {
    return (await store.readAll())
      .filter((e) => e.type === 'AnomalyDetected')
      .map((e) => e.data as AnomalyDetectedData)
      .filter((d) => d.signal === signal && d.workload.name === workload);
  } finally {
    await store.close();
  }
}

/** The Anomaly object about this workload with this signal, and its recorded detection, once both exist. */
async function anomalyOf(workload: string, signal: string, kind = 'Deployment') {
  return eventually(
    `a ${signal} Anomaly on ${kind} ${workload}`,
    async () => {
      const object = (await anomalies()).find(
        (a) => a.spec.signal === signal && a.spec.resource.kind === kind && a.spec.resource.name === workload,
      );
      const [event] = await detected(workload, signal);
      // The status (with the cause, for kubectl readers) is written just after the object.
      return object?.status?.cause && event ? { object, event } : undefined;
    },
    180_000,
  );
}

const available = (name: string, ns: string, replicas: number) =>
  eventually(
    `${ns}/${name} to have ${replicas} available replicas`,
    async () => {
      const d = await clients.apps.readNamespacedDeployment({ name, namespace: ns });
      return (d.status?.availableReplicas ?? 0) === replicas && (d.status?.updatedReplicas ?? 0) === replicas;
    },
    120_000,
  );

describe('the cause behind a workload signal, on a real control plane', () => {
  it("names the scheduler's reason when a template change adds a node selector no node has", async () => {
    await clients.apps.createNamespacedDeployment({ namespace, body: deployment('placed', { replicas: 2 }) });
    await available('placed', namespace, 2);
    await clients.apps.patchNamespacedDeployment({
      name: 'placed',
      namespace,
      body: [{ op: 'add', path: '/spec/template/spec/nodeSelector', value: { 'cairn.dev/disk': 'optane' } }],
    });

    const { object, event } = await anomalyOf('placed', 'deploy_failing');
    expect(event.cause).toMatchObject({ code: 'unschedulable' });
    expect(event.cause?.message).toContain('no node has the labels cairn.dev/disk=optane (spec.nodeSelector)');
    // The scheduler's own words come along, as it wrote them on the pod.
    expect(event.cause?.message).toMatch(/scheduler: 0\/\d+ nodes are available: \d+ node\(s\) didn't match/);
    expect(object.spec.message).toContain('cannot be scheduled: node selector: no node has the labels cairn.dev/disk');
    expect(object.status?.cause).toEqual(event.cause);
    // The pending pod is not a wedged one.
    expect((await anomalies()).filter((a) => a.spec.signal === 'pod_not_ready')).toEqual([]);
  });

  it('names the ConfigMap a release reads that does not exist (the missing-config fault)', async () => {
    await clients.apps.createNamespacedDeployment({ namespace, body: deployment('configured', { replicas: 1 }) });
    await available('configured', namespace, 1);
    await applyFault(cluster, 'missing-config', `${namespace}/configured`);

    // The simulated kubelet says what a real one says.
    const waiting = await eventually('a configured pod waiting on its ConfigMap', async () => {
      const pods = await podsOf(clients, namespace, 'configured');
      return pods
        .map((p) => p.status?.containerStatuses?.[0]?.state?.waiting)
        .find((w) => w?.reason === 'CreateContainerConfigError');
    });
    expect(waiting.message).toBe('configmap "configured-settings" not found');
    const failed = await eventually('the kubelet-style Failed event', async () => {
      const events = await clients.core.listNamespacedEvent({ namespace, fieldSelector: 'reason=Failed' });
      return events.items.find(
        (e) => e.involvedObject.kind === 'Pod' && e.involvedObject.name?.startsWith('configured-'),
      );
    });
    expect(failed.type).toBe('Warning');

    const { object, event } = await anomalyOf('configured', 'deploy_failing');
    expect(event.cause).toEqual({
      code: 'config_missing',
      message: expect.stringContaining('ConfigMap configured-settings does not exist in namespace'),
      object: { kind: 'ConfigMap', name: 'configured-settings', namespace },
    });
    expect(event.cause?.message).toContain('spec.containers[app].envFrom[0].configMapRef');
    expect(object.spec.message).toContain('ConfigMap configured-settings does not exist');
    expect(object.status?.cause).toEqual(event.cause);
    expect((await anomalies()).filter((a) => a.spec.signal === 'pod_not_ready')).toEqual([]);

    // Taking the reference away (what a rollback does too) lets the release start.
    await applyFault(cluster, 'missing-config', `${namespace}/configured`, { clear: true });
    await available('configured', namespace, 1);
    const template = (await clients.apps.readNamespacedDeployment({ name: 'configured', namespace })).spec?.template;
    expect(template?.metadata?.annotations?.['fault.cairn.dev/missing-config']).toBeUndefined();
    expect(template?.spec?.containers[0]?.envFrom ?? []).toEqual([]);
  });

  it('refuses the missing-config fault when the ConfigMap it would name exists, and changes nothing', async () => {
    await clients.apps.createNamespacedDeployment({ namespace, body: deployment('preset', { replicas: 1 }) });
    await clients.core.createNamespacedConfigMap({
      namespace,
      body: { metadata: { name: 'preset-settings' }, data: { MODE: 'on' } },
    });
    await expect(applyFault(cluster, 'missing-config', `${namespace}/preset`)).rejects.toThrow(
      `ConfigMap ${namespace}/preset-settings exists`,
    );
    const template = (await clients.apps.readNamespacedDeployment({ name: 'preset', namespace })).spec?.template;
    expect(template?.metadata?.annotations?.['fault.cairn.dev/missing-config']).toBeUndefined();
    expect(template?.spec?.containers[0]?.envFrom).toBeUndefined();
  });

  it('names the ResourceQuota that refuses the second replica', async () => {
    await clients.core.createNamespacedResourceQuota({
      namespace: quotaNamespace,
      body: { metadata: { name: 'one-pod' }, spec: { hard: { pods: '1' } } },
    });
    // Admission counts against the quota's status, which the quota controller fills in.
    await eventually('the quota to be counted', async () => {
      const quota = await clients.core.readNamespacedResourceQuota({ name: 'one-pod', namespace: quotaNamespace });
      return quota.status?.hard?.pods === '1';
    });
    await clients.apps.createNamespacedDeployment({
      namespace: quotaNamespace,
      body: deployment('capped', { replicas: 2 }),
    });

    const { object, event } = await anomalyOf('capped', 'deploy_failing');
    expect(event.workload).toMatchObject({ kind: 'Deployment', name: 'capped', namespace: quotaNamespace });
    expect(event.cause).toMatchObject({
      code: 'quota_exceeded',
      object: { kind: 'ResourceQuota', name: 'one-pod', namespace: quotaNamespace },
    });
    expect(event.cause?.message).toContain(`ResourceQuota one-pod in namespace ${quotaNamespace} is used up`);
    expect(object.spec.message).toContain('1 of 2 replicas unavailable');
    expect(object.spec.message).toContain('ResourceQuota one-pod');
    expect(object.status?.cause).toEqual(event.cause);
  });

  it('names the same ResourceQuota for a StatefulSet, from its FailedCreate Events', async () => {
    // The quota's one pod is taken by capped above.
    await clients.apps.createNamespacedStatefulSet({
      namespace: quotaNamespace,
      body: {
        metadata: { name: 'ledger' },
        spec: {
          replicas: 1,
          serviceName: 'ledger',
          selector: { matchLabels: { app: 'ledger' } },
          template: {
            metadata: { labels: { app: 'ledger' } },
            spec: { containers: [{ name: 'db', image: 'registry.local/shop/ledger:1.0.0' }] },
          },
        },
      },
    });
    const { object, event } = await anomalyOf('ledger', 'statefulset_unavailable', 'StatefulSet');
    expect(event.cause).toMatchObject({
      code: 'quota_exceeded',
      object: { kind: 'ResourceQuota', name: 'one-pod', namespace: quotaNamespace },
    });
    expect(object.spec.message).toContain('0 of 1 replicas ready: StatefulSet ledger cannot create pods');
  });

  it('says a Job ran past its activeDeadlineSeconds', async () => {
    await clients.batch.createNamespacedJob({
      namespace,
      body: {
        metadata: { name: 'slow-export' },
        spec: {
          activeDeadlineSeconds: 2,
          backoffLimit: 0,
          template: {
            // Wedged: the pod runs and never finishes, so the Job controller stops it at the deadline.
            metadata: { labels: { 'fault.cairn.dev/wedged': 'true' } },
            spec: { restartPolicy: 'Never', containers: [{ name: 'export', image: 'batch/export:1.0' }] },
          },
        },
      },
    });
    const { object, event } = await anomalyOf('slow-export', 'job_failed', 'Job');
    expect(event.cause).toMatchObject({ code: 'deadline_exceeded', object: { kind: 'Job', name: 'slow-export' } });
    expect(object.spec.message).toContain('past its deadline of 2s (spec.activeDeadlineSeconds)');
  });

  it('reports nothing about a healthy Deployment in the same namespaces', async () => {
    await clients.apps.createNamespacedDeployment({ namespace, body: deployment('calm', { replicas: 2 }) });
    await available('calm', namespace, 2);
    // Everything above was reported within seconds of its cause; give the calm one as long and see nothing.
    await new Promise((r) => setTimeout(r, 5_000));
    expect((await anomalies()).filter((a) => a.spec.resource.name.startsWith('calm'))).toEqual([]);
    expect(await detected('calm', 'deploy_failing')).toEqual([]);
  });
});
