import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as k8s from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { PatchAs } from '../../src/actions/patchOptions.ts';
import { CAIRN_EVENT_COMPONENT } from '../../src/adapters/kubernetes/detection/detectionView.ts';
import type { DetectionThresholds } from '../../src/adapters/kubernetes/detection/detectors.ts';
import { applyFault } from '../../src/cluster/faults.ts';
import { type RunningOperator, startOperator } from '../../src/operator.ts';
import {
  createNamespace,
  deleteNamespace,
  deployment,
  eventually,
  isReady,
  type KubeClients,
  kubeClients,
  podsOf,
  testCluster,
} from '../support/kube.ts';
import { cronJob, job } from '../support/workloads.ts';

/**
 * A namespace of ordinary, healthy objects, odd but legal shapes included, watched with every threshold at 0–1 s:
 * once a fault planted beside them has been found, nothing else in the namespace may have raised an Anomaly.
 */

interface CairnObject {
  metadata: { name: string };
  spec: Record<string, unknown> & {
    signal: string;
    message?: string;
    resource: { kind: string; name: string; namespace?: string };
  };
}

/** Every window as short as it goes: a detector that fires on any of these objects fires within the test. */
const IMPATIENT: DetectionThresholds = {
  podRestarts: 1,
  podNotReadySeconds: 1,
  workloadUnavailableSeconds: 1,
  nodeNotReadySeconds: 1,
  hpaMaxedSeconds: 1,
  serviceNoEndpointsSeconds: 0,
  ingressMisconfiguredSeconds: 0,
  pvcPendingSeconds: 0,
  hpaMisconfiguredSeconds: 0,
  netpolSelectsNothingSeconds: 0,
  webhookUnavailableSeconds: 0,
  cronJobMissedGraceSeconds: 0,
  podBlockedSeconds: 0,
};

/**
 * Cluster-scoped objects that other test files break on purpose on the shared cluster (a NotReady node, a webhook
 * with no endpoints): this operator sees them too and records them in its own namespace. They are not objects of
 * this namespace, so they are left out of the verdict.
 */
const CLUSTER_SCOPED = new Set(['Node', 'ValidatingWebhookConfiguration', 'MutatingWebhookConfiguration']);

/**
 * Other test files break nodes on purpose (kwok-node-1 and kwok-node-2 NotReady, a node of their own under pressure
 * that evicts its pods): a pod there is unhealthy for real. The pods here, whose health is the point, run on
 * kwok-node-0 alone.
 */
const STEADY_NODE = 'kwok-node-0';
const onSteadyNode = <T extends { spec?: { template: k8s.V1PodTemplateSpec } }>(workload: T): T => {
  const template = workload.spec?.template;
  if (template)
    template.spec = { ...(template.spec as k8s.V1PodSpec), nodeSelector: { 'kubernetes.io/hostname': STEADY_NODE } };
  return workload;
};

const networking = (clients: KubeClients) => clients.config.makeApiClient(k8s.NetworkingV1Api);
const storage = (clients: KubeClients) => clients.config.makeApiClient(k8s.StorageV1Api);

let clients: KubeClients;
let namespace: string;
let operator: RunningOperator;
/** Cluster-scoped objects this test creates (names carry the namespace, so parallel runs never collide). */
let volumeName: string;
let lazyClass: string;

const service = (name: string, spec: k8s.V1ServiceSpec): k8s.V1Service => ({ metadata: { name }, spec });
const ingressTo = (name: string, spec: k8s.V1IngressSpec): k8s.V1Ingress => ({ metadata: { name }, spec });

async function createHealthyNamespace() {
  const net = networking(clients);
  const sto = storage(clients);
  // A Deployment behind a Service (its endpoints are ready), and the Deployment the fault is planted in later.
  await clients.apps.createNamespacedDeployment({ namespace, body: onSteadyNode(deployment('web', { replicas: 2 })) });
  await clients.apps.createNamespacedDeployment({
    namespace,
    body: onSteadyNode(deployment('sentinel', { replicas: 1 })),
  });
  await clients.core.createNamespacedService({
    namespace,
    body: service('web', { selector: { app: 'web' }, ports: [{ name: 'http', port: 80, targetPort: 8080 }] }),
  });
  // No selector: headless, its endpoints are someone else's business (a StatefulSet's peers, an external database).
  await clients.core.createNamespacedService({
    namespace,
    body: service('peers', { clusterIP: 'None', ports: [{ name: 'gossip', port: 7946 }] }),
  });
  await clients.core.createNamespacedService({
    namespace,
    body: service('billing-db', { type: 'ExternalName', externalName: 'billing-db.example.com' }),
  });

  // Ingresses whose backends exist: by port name, by port number, with a TLS Secret, and a default backend only.
  await clients.core.createNamespacedSecret({
    namespace,
    body: {
      metadata: { name: 'web-tls' },
      type: 'kubernetes.io/tls',
      // The API server checks that both keys are there, not what they hold.
      stringData: { 'tls.crt': 'placeholder certificate', 'tls.key': 'placeholder key' },
    },
  });
  await net.createNamespacedIngress({
    namespace,
    body: ingressTo('shop', {
      tls: [{ hosts: ['shop.example.com'], secretName: 'web-tls' }],
      rules: [
        {
          host: 'shop.example.com',
          http: {
            paths: [
              { path: '/', pathType: 'Prefix', backend: { service: { name: 'web', port: { name: 'http' } } } },
              { path: '/api', pathType: 'Prefix', backend: { service: { name: 'web', port: { number: 80 } } } },
            ],
          },
        },
      ],
    }),
  });
  await net.createNamespacedIngress({
    namespace,
    body: ingressTo('fallback', { defaultBackend: { service: { name: 'web', port: { number: 80 } } } }),
  });

  // A claim bound to a hostPath volume made for it, and one waiting by design for the first pod that uses it.
  await clients.core.createPersistentVolume({
    body: {
      metadata: { name: volumeName },
      spec: {
        capacity: { storage: '1Gi' },
        accessModes: ['ReadWriteOnce'],
        persistentVolumeReclaimPolicy: 'Delete',
        storageClassName: '',
        hostPath: { path: `/tmp/${volumeName}` },
        claimRef: { namespace, name: 'data' },
      },
    },
  });
  await clients.core.createNamespacedPersistentVolumeClaim({
    namespace,
    body: {
      metadata: { name: 'data' },
      spec: {
        accessModes: ['ReadWriteOnce'],
        storageClassName: '',
        volumeName,
        resources: { requests: { storage: '1Gi' } },
      },
    },
  });
  await sto.createStorageClass({
    body: {
      metadata: { name: lazyClass },
      provisioner: 'kubernetes.io/no-provisioner',
      volumeBindingMode: 'WaitForFirstConsumer',
    },
  });
  await clients.core.createNamespacedPersistentVolumeClaim({
    namespace,
    body: {
      metadata: { name: 'scratch' },
      spec: {
        accessModes: ['ReadWriteOnce'],
        storageClassName: lazyClass,
        resources: { requests: { storage: '1Gi' } },
      },
    },
  });

  // A policy for the web pods, and one for every pod of the namespace (an empty podSelector).
  await net.createNamespacedNetworkPolicy({
    namespace,
    body: {
      metadata: { name: 'web-ingress' },
      spec: {
        podSelector: { matchLabels: { app: 'web' } },
        policyTypes: ['Ingress'],
        ingress: [{ ports: [{ port: 8080 }] }],
      },
    },
  });
  await net.createNamespacedNetworkPolicy({
    namespace,
    body: { metadata: { name: 'default-deny' }, spec: { podSelector: {}, policyTypes: ['Ingress'] } },
  });

  await clients.batch.createNamespacedJob({ namespace, body: onSteadyNode(job('migrate')) });
  await clients.batch.createNamespacedCronJob({ namespace, body: cronJob('report', { suspend: true }) });
}

async function waitUntilSettled() {
  const net = networking(clients);
  const discovery = clients.config.makeApiClient(k8s.DiscoveryV1Api);
  await eventually(
    'web and sentinel ready',
    async () =>
      (await podsOf(clients, namespace, 'web')).filter(isReady).length === 2 &&
      (await podsOf(clients, namespace, 'sentinel')).filter(isReady).length === 1,
    120_000,
  );
  await eventually(
    'the web Service to have 2 ready endpoints',
    async () => {
      const slices = await discovery.listNamespacedEndpointSlice({
        namespace,
        labelSelector: 'kubernetes.io/service-name=web',
      });
      const ready = slices.items.flatMap((s) => s.endpoints ?? []).filter((e) => e.conditions?.ready === true);
      return ready.length === 2;
    },
    120_000,
  );
  await eventually(
    'the data claim to be Bound',
    async () =>
      (await clients.core.readNamespacedPersistentVolumeClaim({ name: 'data', namespace })).status?.phase === 'Bound',
    120_000,
  );
  await eventually(
    'the migrate Job to complete',
    async () =>
      (await clients.batch.readNamespacedJob({ name: 'migrate', namespace })).status?.conditions?.some(
        (c) => c.type === 'Complete' && c.status === 'True',
      ),
    120_000,
  );
  // Pending on purpose, and the PV controller says why: a claim waiting for its first consumer.
  await eventually(
    'the scratch claim to wait for its first consumer',
    async () => {
      const claim = await clients.core.readNamespacedPersistentVolumeClaim({ name: 'scratch', namespace });
      const events = await clients.core.listNamespacedEvent({
        namespace,
        fieldSelector: 'involvedObject.kind=PersistentVolumeClaim,involvedObject.name=scratch',
      });
      return claim.status?.phase === 'Pending' && events.items.some((e) => e.reason === 'WaitForFirstConsumer');
    },
    120_000,
  );
  expect((await net.listNamespacedIngress({ namespace })).items).toHaveLength(2);
}

/** Warning Events that would read as causes if they were taken for symptoms. */
async function writeMisleadingEvents(podName: string, replicaSetName: string) {
  const at = new Date();
  const event = (
    name: string,
    involved: { kind: string; name: string },
    reason: string,
    message: string,
    fromCairn: boolean,
  ): k8s.CoreV1Event => ({
    metadata: { name: `${name}.${at.getTime().toString(16)}` },
    involvedObject: { apiVersion: involved.kind === 'Pod' ? 'v1' : 'apps/v1', namespace, ...involved },
    reason,
    message,
    type: 'Warning',
    count: 1,
    firstTimestamp: at,
    lastTimestamp: at,
    ...(fromCairn
      ? {
          reportingComponent: CAIRN_EVENT_COMPONENT,
          reportingInstance: 'cairn-operator-0',
          source: { component: CAIRN_EVENT_COMPONENT },
        }
      : { source: { component: 'default-scheduler' } }),
  });
  const events = [
    // Cairn's own Events about a healthy pod and its ReplicaSet: they explain what Cairn saw or did elsewhere.
    event(
      'cairn-scheduling',
      { kind: 'Pod', name: podName },
      'FailedScheduling',
      '0/3 nodes are available: 3 Insufficient cpu.',
      true,
    ),
    event('cairn-config', { kind: 'Pod', name: podName }, 'Failed', 'Error: configmap "web-config" not found', true),
    event('cairn-backoff', { kind: 'Pod', name: podName }, 'BackOff', 'Back-off restarting failed container', true),
    event(
      'cairn-quota',
      { kind: 'ReplicaSet', name: replicaSetName },
      'FailedCreate',
      'pods "web-x" is forbidden: exceeded quota: compute, requested: cpu=100m, used: cpu=1, limited: cpu=1',
      true,
    ),
    // Other components' Events that carry the pod's name but are about objects of other kinds.
    event(
      'same-name-rs',
      { kind: 'ReplicaSet', name: podName },
      'FailedCreate',
      'pods is forbidden: exceeded quota: compute',
      false,
    ),
    event(
      'same-name-pvc',
      { kind: 'PersistentVolumeClaim', name: podName },
      'ProvisioningFailed',
      'storageclass.storage.k8s.io "fast" not found',
      false,
    ),
    event(
      'same-name-svc',
      { kind: 'Service', name: podName },
      'FailedScheduling',
      '0/3 nodes are available: 3 node(s) had untolerated taint.',
      false,
    ),
  ];
  for (const body of events) await clients.core.createNamespacedEvent({ namespace, body });
}

const list = async (plural: 'anomalies' | 'issues') =>
  (
    (await clients.custom.listNamespacedCustomObject({
      group: 'aiops.cairn.dev',
      version: 'v1alpha1',
      namespace,
      plural,
    })) as { items: CairnObject[] }
  ).items;
const isSentinel = (a: CairnObject) =>
  a.spec.resource.name === 'sentinel' || a.spec.resource.name.startsWith('sentinel-');
const describeAnomaly = (a: CairnObject) =>
  `${a.spec.signal} on ${a.spec.resource.kind}/${a.spec.resource.name}: ${a.spec.message ?? ''}`;

let webPod: string;
let webReplicaSet: string;

beforeAll(async () => {
  clients = kubeClients();
  namespace = await createNamespace(clients, 'precision');
  volumeName = `${namespace}-data`;
  lazyClass = `${namespace}-lazy`;
  await createHealthyNamespace();
  // Settled before the operator looks: with 0–1 s windows, a Deployment still starting its pods is a finding.
  await waitUntilSettled();
  const pods = await podsOf(clients, namespace, 'web');
  webPod = pods[0]?.metadata?.name ?? '';
  webReplicaSet = pods[0]?.metadata?.ownerReferences?.find((o) => o.kind === 'ReplicaSet')?.name ?? '';
  await writeMisleadingEvents(webPod, webReplicaSet);

  operator = await startOperator({
    kubeconfig: inject('kubeconfig'),
    store: `sqlite:${join(mkdtempSync(join(tmpdir(), 'cairn-precision-')), 'events.db')}`,
    namespace,
    thresholds: IMPATIENT,
    remediate: false,
    watchNamespaces: [namespace],
    ...(process.env.CAIRN_TEST_LOG ? { log: (line: string) => process.stderr.write(`[operator] ${line}\n`) } : {}),
  });
  await eventually('the operator to lead', async () => operator.isLeader());
}, 300_000);
afterAll(async () => {
  await operator?.stop();
  await deleteNamespace(clients, namespace);
  await clients.core.deletePersistentVolume({ name: volumeName }).catch(() => undefined);
  await storage(clients)
    .deleteStorageClass({ name: lazyClass })
    .catch(() => undefined);
});

/** One row of the verdict: objects that must have raised nothing (a Pod row covers the pods named after it). */
interface Row {
  readonly what: string;
  readonly objects: () => readonly { readonly kind: string; readonly name: string }[];
}

const ROWS: readonly Row[] = [
  {
    what: 'a Deployment and its Service with ready endpoints',
    objects: () => [
      { kind: 'Deployment', name: 'web' },
      { kind: 'Service', name: 'web' },
      { kind: 'Pod', name: 'web' },
    ],
  },
  { what: 'a headless Service without selector', objects: () => [{ kind: 'Service', name: 'peers' }] },
  { what: 'an ExternalName Service', objects: () => [{ kind: 'Service', name: 'billing-db' }] },
  {
    what: 'an Ingress whose backends (by port name and number) and TLS Secret exist',
    objects: () => [
      { kind: 'Ingress', name: 'shop' },
      { kind: 'Secret', name: 'web-tls' },
    ],
  },
  { what: 'an Ingress with a default backend only', objects: () => [{ kind: 'Ingress', name: 'fallback' }] },
  { what: 'a claim bound to its volume', objects: () => [{ kind: 'PersistentVolumeClaim', name: 'data' }] },
  {
    what: 'a WaitForFirstConsumer claim no pod uses yet',
    objects: () => [
      { kind: 'PersistentVolumeClaim', name: 'scratch' },
      { kind: 'StorageClass', name: lazyClass },
    ],
  },
  { what: 'a NetworkPolicy selecting pods', objects: () => [{ kind: 'NetworkPolicy', name: 'web-ingress' }] },
  {
    what: 'a NetworkPolicy with an empty podSelector',
    objects: () => [{ kind: 'NetworkPolicy', name: 'default-deny' }],
  },
  {
    what: "the namespace's default ServiceAccount and kube-root-ca.crt ConfigMap",
    objects: () => [
      { kind: 'ServiceAccount', name: 'default' },
      { kind: 'ConfigMap', name: 'kube-root-ca.crt' },
    ],
  },
  {
    what: 'a Job that completed',
    objects: () => [
      { kind: 'Job', name: 'migrate' },
      { kind: 'Pod', name: 'migrate' },
    ],
  },
  { what: 'a suspended CronJob', objects: () => [{ kind: 'CronJob', name: 'report' }] },
  {
    what: "Cairn's own Warning Events about a healthy pod and its ReplicaSet",
    objects: () => [
      { kind: 'Pod', name: webPod },
      { kind: 'ReplicaSet', name: webReplicaSet },
    ],
  },
  {
    what: 'Events naming the pod by name under other kinds',
    objects: () => [
      { kind: 'ReplicaSet', name: webPod },
      { kind: 'PersistentVolumeClaim', name: webPod },
      { kind: 'Service', name: webPod },
    ],
  },
];

/** What the operator had recorded once the planted fault was found; each row below judges its part of it. */
let verdict: { anomalies: CairnObject[]; issues: CairnObject[] } | undefined;

const about = (items: readonly CairnObject[], object: { kind: string; name: string }) =>
  items.filter((a) =>
    object.kind === 'Pod'
      ? a.spec.resource.kind === 'Pod' &&
        (a.spec.resource.name === object.name || a.spec.resource.name.startsWith(`${object.name}-`))
      : a.spec.resource.kind === object.kind && a.spec.resource.name === object.name,
  );

describe('detection precision: a namespace of healthy, ordinary objects', () => {
  it('detection has run: the fault planted among them is found with every threshold at 0–1 s', async () => {
    // The namespace's own defaults are there, and are objects a detector must never flag.
    expect((await clients.core.readNamespacedServiceAccount({ name: 'default', namespace })).metadata?.name).toBe(
      'default',
    );
    expect(
      (await clients.core.readNamespacedConfigMap({ name: 'kube-root-ca.crt', namespace })).data?.['ca.crt'],
    ).toContain('BEGIN CERTIFICATE');

    // Every checked object is looked at again now that the operator runs (an update is a change like any other).
    const touch = { metadata: { annotations: { 'cairn.dev/precision-check': 'again' } } };
    const net = networking(clients);
    await clients.core.patchNamespacedPod({ name: webPod, namespace, body: touch }, PatchAs.merge);
    await clients.apps.patchNamespacedDeployment({ name: 'web', namespace, body: touch }, PatchAs.merge);
    for (const name of ['web', 'peers', 'billing-db'])
      await clients.core.patchNamespacedService({ name, namespace, body: touch }, PatchAs.merge);
    for (const name of ['shop', 'fallback'])
      await net.patchNamespacedIngress({ name, namespace, body: touch }, PatchAs.merge);
    for (const name of ['web-ingress', 'default-deny'])
      await net.patchNamespacedNetworkPolicy({ name, namespace, body: touch }, PatchAs.merge);
    for (const name of ['data', 'scratch'])
      await clients.core.patchNamespacedPersistentVolumeClaim({ name, namespace, body: touch }, PatchAs.merge);
    await clients.batch.patchNamespacedCronJob({ name: 'report', namespace, body: touch }, PatchAs.merge);
    await clients.batch.patchNamespacedJob({ name: 'migrate', namespace, body: touch }, PatchAs.merge);

    // The planted fault needs its 1 s window to pass, so by the time it is an Anomaly every other object has
    // had its reconcile and its own window too.
    await applyFault(await testCluster(), 'not-ready', `${namespace}/sentinel`);
    await eventually(
      'the sentinel to be detected',
      async () => (await list('anomalies')).some((a) => isSentinel(a) && a.spec.signal === 'pod_not_ready'),
      120_000,
    );
    verdict = { anomalies: await list('anomalies'), issues: await list('issues') };
  });

  it.each(ROWS)('never flags $what', ({ objects }) => {
    if (!verdict) throw new Error('no verdict: the planted fault was never detected');
    for (const object of objects()) {
      expect(about(verdict.anomalies, object).map(describeAnomaly), `${object.kind} ${object.name}`).toEqual([]);
      expect(about(verdict.issues, object).map(describeAnomaly), `${object.kind} ${object.name}`).toEqual([]);
    }
  });

  it("takes none of the misleading Events' words as a cause, and raises nothing else in the namespace", () => {
    if (!verdict) throw new Error('no verdict: the planted fault was never detected');
    const others = [...verdict.anomalies, ...verdict.issues].filter(
      (a) => !isSentinel(a) && !CLUSTER_SCOPED.has(a.spec.resource.kind),
    );
    expect(others.map(describeAnomaly)).toEqual([]);
    const words = /Insufficient cpu|web-config|exceeded quota|"fast" not found|untolerated taint|Back-off restarting/;
    expect(verdict.anomalies.filter((a) => words.test(JSON.stringify(a.spec))).map(describeAnomaly)).toEqual([]);
  });
});
