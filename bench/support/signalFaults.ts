import * as k8s from '@kubernetes/client-node';
import { FaultMarks } from '../../src/cluster/stages.ts';

/**
 * Configuration faults for the per-signal detection benchmark. Each scenario prepares its healthy objects for every
 * run before the operator starts (so nothing of the setup is measured), then breaks run i with one ordinary API
 * change, the way a person or a bad release would: a Service selector typo, an Ingress pointing at a Service that
 * is not there, a claim naming a StorageClass that does not exist, and so on. Every run has objects of its own, so
 * each fault is a new Anomaly on a new subject and opens a new Issue.
 */

export interface BenchClients {
  readonly core: k8s.CoreV1Api;
  readonly apps: k8s.AppsV1Api;
  readonly networking: k8s.NetworkingV1Api;
  readonly autoscaling: k8s.AutoscalingV2Api;
  readonly discovery: k8s.DiscoveryV1Api;
  readonly admission: k8s.AdmissionregistrationV1Api;
}

export function benchClients(config: k8s.KubeConfig): BenchClients {
  return {
    core: config.makeApiClient(k8s.CoreV1Api),
    apps: config.makeApiClient(k8s.AppsV1Api),
    networking: config.makeApiClient(k8s.NetworkingV1Api),
    autoscaling: config.makeApiClient(k8s.AutoscalingV2Api),
    discovery: config.makeApiClient(k8s.DiscoveryV1Api),
    admission: config.makeApiClient(k8s.AdmissionregistrationV1Api),
  };
}

export interface SignalScenario {
  /** The `name` part of this scenario's output lines (`detection_<name>_to_anomaly_p50=…`). */
  readonly name: string;
  readonly signal: string;
  /** The cause code the Anomaly must carry; a finding without it (or with another) does not count. */
  readonly cause?: string;
  readonly namespace: string;
  /** The object the Anomaly is about in run i; in `namespace` unless it names its own ('' when cluster-scoped). */
  readonly subject: (i: number) => { readonly kind: string; readonly name: string; readonly namespace?: string };
  /** Healthy objects for `runs` runs, created before the operator watches; resolves once they are settled. */
  readonly prepare: (clients: BenchClients, runs: number) => Promise<void>;
  /** The one API change that breaks run i. */
  readonly inject: (clients: BenchClients, i: number) => Promise<unknown>;
}

/** The detection bench's second namespace; a ResourceQuota there caps every Deployment of that namespace. */
export const SIGNALS_NAMESPACE = 'bench-signals';
export const QUOTA_NAMESPACE = 'bench-quota';

const IMAGE = 'registry.local/bench/app:1.0.0';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const strategic = k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.StrategicMergePatch);
const mergePatch = k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch);
const indexed = (prefix: string) => (i: number) => `${prefix}-${String(i).padStart(2, '0')}`;

const deploymentOf = (name: string): k8s.V1Deployment => ({
  metadata: { name, labels: { app: name } },
  spec: {
    replicas: 1,
    selector: { matchLabels: { app: name } },
    // One pod may go: a release whose new pod cannot start leaves the Deployment unavailable, as in production
    // with a single replica.
    strategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 1, maxSurge: 1 } },
    template: {
      metadata: { labels: { app: name } },
      spec: { containers: [{ name: 'app', image: IMAGE, resources: { requests: { cpu: '10m' } } }] },
    },
  },
});

async function until(what: string, check: () => Promise<boolean>, timeoutMs = 300_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      if (await check()) return;
    } catch {
      // Not there yet.
    }
    if (Date.now() > deadline) throw new Error(`${what}: not settled within ${timeoutMs} ms`);
    await sleep(1_000);
  }
}

async function inBatches<T>(items: readonly T[], size: number, each: (item: T) => Promise<unknown>) {
  for (let i = 0; i < items.length; i += size) await Promise.all(items.slice(i, i + size).map(each));
}

const range = (runs: number) => Array.from({ length: runs }, (_, i) => i);

async function deploymentsReady(clients: BenchClients, namespace: string, names: readonly string[]) {
  await inBatches(names, 10, (name) =>
    clients.apps.createNamespacedDeployment({ namespace, body: deploymentOf(name) }),
  );
  await until(`${names.length} Deployments in ${namespace} ready`, async () => {
    const { items } = await clients.apps.listNamespacedDeployment({ namespace });
    const wanted = new Set(names);
    return (
      items.filter((d) => wanted.has(d.metadata?.name ?? '') && d.status?.availableReplicas === 1).length ===
      names.length
    );
  });
}

/** Deployments web-NN with a Service each (port http/80), ready endpoints included. */
const web = indexed('web');
let webReady: Promise<void> | undefined;
function webServices(clients: BenchClients, runs: number): Promise<void> {
  webReady ??= (async () => {
    const names = range(runs).map(web);
    await deploymentsReady(clients, SIGNALS_NAMESPACE, names);
    await inBatches(names, 10, (name) =>
      clients.core.createNamespacedService({
        namespace: SIGNALS_NAMESPACE,
        body: {
          metadata: { name },
          spec: { selector: { app: name }, ports: [{ name: 'http', port: 80, targetPort: 8080 }] },
        },
      }),
    );
    await until('every web Service to have a ready endpoint', async () => {
      const slices = await clients.discovery.listNamespacedEndpointSlice({ namespace: SIGNALS_NAMESPACE });
      const served = new Set(
        slices.items
          .filter((s) => (s.endpoints ?? []).some((e) => e.conditions?.ready === true))
          .map((s) => s.metadata?.labels?.['kubernetes.io/service-name']),
      );
      return names.every((n) => served.has(n));
    });
  })();
  return webReady;
}

export const signalScenarios: readonly SignalScenario[] = [
  {
    name: 'service_no_endpoints',
    signal: 'service_no_endpoints',
    cause: 'selector_matches_nothing',
    namespace: SIGNALS_NAMESPACE,
    subject: (i) => ({ kind: 'Service', name: web(i) }),
    prepare: webServices,
    // The usual cause: a typo in the selector.
    inject: (clients, i) =>
      clients.core.patchNamespacedService(
        { name: web(i), namespace: SIGNALS_NAMESPACE, body: { spec: { selector: { app: `${web(i)}x` } } } },
        strategic,
      ),
  },
  {
    name: 'ingress_misconfigured',
    signal: 'ingress_misconfigured',
    cause: 'backend_service_missing',
    namespace: SIGNALS_NAMESPACE,
    subject: (i) => ({ kind: 'Ingress', name: indexed('shop')(i) }),
    prepare: async (clients, runs) => {
      await webServices(clients, runs);
      await inBatches(range(runs), 10, (i) =>
        clients.networking.createNamespacedIngress({
          namespace: SIGNALS_NAMESPACE,
          body: {
            metadata: { name: indexed('shop')(i) },
            spec: {
              rules: [
                {
                  host: `${indexed('shop')(i)}.example.com`,
                  http: {
                    paths: [
                      {
                        path: '/',
                        pathType: 'Prefix',
                        backend: { service: { name: web(i), port: { name: 'http' } } },
                      },
                    ],
                  },
                },
              ],
            },
          },
        }),
      );
    },
    inject: (clients, i) =>
      clients.networking.patchNamespacedIngress(
        {
          name: indexed('shop')(i),
          namespace: SIGNALS_NAMESPACE,
          body: [
            {
              op: 'replace',
              path: '/spec/rules/0/http/paths/0/backend/service/name',
              value: `${web(i)}-v2`,
            },
          ],
        },
        k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.JsonPatch),
      ),
  },
  {
    name: 'pvc_pending',
    signal: 'pvc_pending',
    cause: 'storage_class_missing',
    namespace: SIGNALS_NAMESPACE,
    subject: (i) => ({ kind: 'PersistentVolumeClaim', name: indexed('claim')(i) }),
    prepare: async () => undefined,
    inject: (clients, i) =>
      clients.core.createNamespacedPersistentVolumeClaim({
        namespace: SIGNALS_NAMESPACE,
        body: {
          metadata: { name: indexed('claim')(i) },
          spec: {
            accessModes: ['ReadWriteOnce'],
            storageClassName: 'fast-ssd',
            resources: { requests: { storage: '1Gi' } },
          },
        },
      }),
  },
  {
    name: 'hpa_misconfigured',
    signal: 'hpa_misconfigured',
    cause: 'scale_target_missing',
    namespace: SIGNALS_NAMESPACE,
    subject: (i) => ({ kind: 'HorizontalPodAutoscaler', name: indexed('scaler')(i) }),
    prepare: async () => undefined,
    inject: (clients, i) =>
      clients.autoscaling.createNamespacedHorizontalPodAutoscaler({
        namespace: SIGNALS_NAMESPACE,
        body: {
          metadata: { name: indexed('scaler')(i) },
          spec: {
            scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: indexed('checkout')(i) },
            minReplicas: 1,
            maxReplicas: 3,
            metrics: [
              { type: 'Resource', resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: 80 } } },
            ],
          },
        },
      }),
  },
  {
    name: 'webhook_unavailable',
    signal: 'webhook_unavailable',
    cause: 'webhook_service_missing',
    namespace: SIGNALS_NAMESPACE,
    subject: (i) => ({ kind: 'ValidatingWebhookConfiguration', name: indexed('bench-gate')(i), namespace: '' }),
    prepare: async (clients, runs) => {
      await webServices(clients, runs);
      await inBatches(range(runs), 10, (i) =>
        clients.admission.createValidatingWebhookConfiguration({
          body: {
            metadata: { name: indexed('bench-gate')(i) },
            webhooks: [
              {
                name: `gate-${i}.bench.cairn.dev`,
                clientConfig: { service: { namespace: SIGNALS_NAMESPACE, name: web(i), path: '/validate' } },
                rules: [{ apiGroups: [''], apiVersions: ['v1'], operations: ['CREATE'], resources: ['configmaps'] }],
                // Ignore, and only for objects carrying a label nothing has: the bench's own writes pass untouched.
                failurePolicy: 'Ignore',
                objectSelector: { matchLabels: { 'bench.cairn.dev/gated': 'true' } },
                sideEffects: 'None',
                admissionReviewVersions: ['v1'],
                timeoutSeconds: 1,
              },
            ],
          },
        }),
      );
    },
    // The webhook is pointed at a Service that does not exist (a rename that missed the configuration).
    inject: (clients, i) =>
      clients.admission.patchValidatingWebhookConfiguration(
        {
          name: indexed('bench-gate')(i),
          body: [{ op: 'replace', path: '/webhooks/0/clientConfig/service/name', value: `${web(i)}-renamed` }],
        },
        k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.JsonPatch),
      ),
  },
  {
    name: 'netpol_selects_nothing',
    signal: 'netpol_selects_nothing',
    namespace: SIGNALS_NAMESPACE,
    subject: (i) => ({ kind: 'NetworkPolicy', name: indexed('allow')(i) }),
    prepare: async (clients, runs) => {
      await webServices(clients, runs);
      await inBatches(range(runs), 10, (i) =>
        clients.networking.createNamespacedNetworkPolicy({
          namespace: SIGNALS_NAMESPACE,
          body: {
            metadata: { name: indexed('allow')(i) },
            spec: { podSelector: { matchLabels: { app: web(i) } }, policyTypes: ['Ingress'], ingress: [{}] },
          },
        }),
      );
    },
    inject: (clients, i) =>
      clients.networking.patchNamespacedNetworkPolicy(
        {
          name: indexed('allow')(i),
          namespace: SIGNALS_NAMESPACE,
          body: { spec: { podSelector: { matchLabels: { app: `${web(i)}-legacy` } } } },
        },
        mergePatch,
      ),
  },
  {
    // The `missing-config` fault of the local cluster: the release reads its environment from a ConfigMap that
    // does not exist, and its pod waits in CreateContainerConfigError.
    name: 'cause_config_missing',
    signal: 'deploy_failing',
    cause: 'config_missing',
    namespace: SIGNALS_NAMESPACE,
    subject: (i) => ({ kind: 'Deployment', name: indexed('cfg')(i) }),
    prepare: (clients, runs) => deploymentsReady(clients, SIGNALS_NAMESPACE, range(runs).map(indexed('cfg'))),
    inject: (clients, i) => {
      const configMap = `${indexed('cfg')(i)}-settings`;
      return clients.apps.patchNamespacedDeployment(
        {
          name: indexed('cfg')(i),
          namespace: SIGNALS_NAMESPACE,
          body: {
            spec: {
              template: {
                metadata: { annotations: { [FaultMarks.missingConfig]: configMap } },
                spec: { containers: [{ name: 'app', envFrom: [{ configMapRef: { name: configMap } }] }] },
              },
            },
          },
        },
        strategic,
      );
    },
  },
  {
    // A release that asks for nodes nobody has: its new pod is never scheduled.
    name: 'cause_unschedulable',
    signal: 'deploy_failing',
    cause: 'unschedulable',
    namespace: SIGNALS_NAMESPACE,
    subject: (i) => ({ kind: 'Deployment', name: indexed('sched')(i) }),
    prepare: (clients, runs) => deploymentsReady(clients, SIGNALS_NAMESPACE, range(runs).map(indexed('sched'))),
    inject: (clients, i) =>
      clients.apps.patchNamespacedDeployment(
        {
          name: indexed('sched')(i),
          namespace: SIGNALS_NAMESPACE,
          body: { spec: { template: { spec: { nodeSelector: { 'cloud.example.com/pool': 'gpu' } } } } },
        },
        strategic,
      ),
  },
  {
    // A namespace whose pod quota is exactly used up: scaling any Deployment up is refused by the API server.
    name: 'cause_quota_exceeded',
    signal: 'deploy_failing',
    cause: 'quota_exceeded',
    namespace: QUOTA_NAMESPACE,
    subject: (i) => ({ kind: 'Deployment', name: indexed('capped')(i) }),
    prepare: async (clients, runs) => {
      await clients.core.createNamespacedResourceQuota({
        namespace: QUOTA_NAMESPACE,
        body: { metadata: { name: 'pods' }, spec: { hard: { pods: String(runs) } } },
      });
      await deploymentsReady(clients, QUOTA_NAMESPACE, range(runs).map(indexed('capped')));
      await until('the pod quota to be used up', async () => {
        const quota = await clients.core.readNamespacedResourceQuota({ name: 'pods', namespace: QUOTA_NAMESPACE });
        return quota.status?.used?.pods === String(runs);
      });
    },
    inject: (clients, i) =>
      clients.apps.patchNamespacedDeploymentScale(
        { name: indexed('capped')(i), namespace: QUOTA_NAMESPACE, body: { spec: { replicas: 2 } } },
        mergePatch,
      ),
  },
];
