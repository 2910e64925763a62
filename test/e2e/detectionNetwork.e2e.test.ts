import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as k8s from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { applyFault } from '../../src/cluster/faults.ts';
import type { LocalCluster } from '../../src/cluster/localCluster.ts';
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

interface CairnObject {
  metadata: { name: string };
  spec: Record<string, unknown> & {
    signal: string;
    message?: string;
    signals?: string[];
    anomalies?: string[];
    resource: { kind: string; name: string; namespace?: string };
  };
  status?: Record<string, unknown> & { state?: string; correlated?: boolean; issueRef?: { name: string } };
}

let clients: KubeClients;
let networking: k8s.NetworkingV1Api;
let admission: k8s.AdmissionregistrationV1Api;
let cluster: LocalCluster;
let namespace: string;
let operator: RunningOperator;
/** Cluster-scoped and seen by every operator on the shared cluster: named after this run, removed as soon as seen. */
let webhookName: string;

beforeAll(async () => {
  clients = kubeClients();
  networking = clients.config.makeApiClient(k8s.NetworkingV1Api);
  admission = clients.config.makeApiClient(k8s.AdmissionregistrationV1Api);
  cluster = await testCluster();
  namespace = await createNamespace(clients, 'detnet');
  webhookName = `cairn-e2e-${namespace}`;
  operator = await startOperator({
    kubeconfig: inject('kubeconfig'),
    store: `sqlite:${join(mkdtempSync(join(tmpdir(), 'cairn-detnet-')), 'events.db')}`,
    namespace,
    thresholds: {
      // Long enough for the EndpointSlice controller to fill a new Service's slice under load, so a healthy Service
      // is never caught between its creation and its first endpoints.
      serviceNoEndpointsSeconds: 15,
      ingressMisconfiguredSeconds: 2,
      netpolSelectsNothingSeconds: 2,
      webhookUnavailableSeconds: 2,
      podNotReadySeconds: 3,
      // deploy_failing stays out of the way: the wedged Deployment's Issue is about its pods and its Service.
      workloadUnavailableSeconds: 3600,
    },
    // The missing certificate Secret can only be seen with TLS Secrets watched.
    detectTlsSecrets: true,
    remediate: false,
    watchNamespaces: [namespace],
    ...(process.env.CAIRN_TEST_LOG ? { log: (line: string) => process.stderr.write(`[operator] ${line}\n`) } : {}),
  });
  await eventually('the operator to lead', async () => operator.isLeader());
});

afterAll(async () => {
  await admission.deleteValidatingWebhookConfiguration({ name: webhookName }).catch(() => undefined);
  await operator?.stop();
  await deleteNamespace(clients, namespace);
});

const list = async (plural: 'anomalies' | 'issues') =>
  (
    (await clients.custom.listNamespacedCustomObject({
      group: 'aiops.cairn.dev',
      version: 'v1alpha1',
      namespace,
      plural,
    })) as { items: CairnObject[] }
  ).items;

const about = (items: CairnObject[], kind: string, name: string) =>
  items.filter((i) => i.spec.resource.kind === kind && i.spec.resource.name === name);

const anomalyOn = (kind: string, name: string, signal: string) =>
  eventually(
    `a ${signal} Anomaly on ${kind} ${name}`,
    async () => about(await list('anomalies'), kind, name).find((a) => a.spec.signal === signal),
    120_000,
  );

/**
 * Other test files break kwok-node-1 and kwok-node-2 on purpose (NotReady), which turns their pods unready for real:
 * the pods here, whose readiness the assertions are about, run on kwok-node-0 alone.
 */
const STEADY_NODE = 'kwok-node-0';

async function readyDeployment(name: string, replicas: number) {
  const body = deployment(name, { replicas });
  const pod = body.spec?.template.spec as k8s.V1PodSpec;
  pod.nodeSelector = { 'kubernetes.io/hostname': STEADY_NODE };
  await clients.apps.createNamespacedDeployment({ namespace, body });
  await eventually(
    `${replicas} ready pods of ${name}`,
    async () => (await podsOf(clients, namespace, name)).filter(isReady).length === replicas,
    120_000,
  );
}

const service = (name: string, spec: k8s.V1ServiceSpec): k8s.V1Service => ({ metadata: { name }, spec });
const http = [{ name: 'http', port: 80, targetPort: 8080 }];

async function readyAddresses(name: string) {
  const slices = await clients.config.makeApiClient(k8s.DiscoveryV1Api).listNamespacedEndpointSlice({
    namespace,
    labelSelector: `kubernetes.io/service-name=${name}`,
  });
  return slices.items.flatMap((s) => s.endpoints ?? []).filter((e) => e.conditions?.ready !== false).length;
}

describe('networking detection on a real cluster', () => {
  it('names the nearest Deployment and the label to fix for a Service whose selector has a typo', async () => {
    await readyDeployment('web-frontend', 2);
    // Created once the pods are ready, so the healthy Service has endpoints from its first slice on.
    await clients.core.createNamespacedService({
      namespace,
      body: service('storefront', { selector: { app: 'web-frontnd' }, ports: http }),
    });
    await clients.core.createNamespacedService({
      namespace,
      body: service('frontend', { selector: { app: 'web-frontend' }, ports: http }),
    });

    const anomaly = await anomalyOn('Service', 'storefront', 'service_no_endpoints');
    expect(anomaly.spec.message).toContain(
      `selector app=web-frontnd matches no pod; nearest: Deployment ${namespace}/web-frontend has app=web-frontend`,
    );
    const issue = await eventually(
      'an Issue on the Service',
      async () => about(await list('issues'), 'Service', 'storefront').find((i) => i.status?.state !== undefined),
      120_000,
    );
    expect(issue.spec.signals).toEqual(['service_no_endpoints']);
    await eventually(
      'the healthy Service to have two ready addresses',
      async () => (await readyAddresses('frontend')) === 2,
      120_000,
    );
  });

  it('joins the Deployment’s Issue when every pod its Service selects turns unready', async () => {
    await readyDeployment('wedge', 2);
    await clients.core.createNamespacedService({
      namespace,
      body: service('wedge', { selector: { app: 'wedge' }, ports: http }),
    });
    await eventually(
      'the Service to have two ready addresses',
      async () => (await readyAddresses('wedge')) === 2,
      120_000,
    );
    await applyFault(cluster, 'not-ready', `${namespace}/wedge`);

    const anomaly = await anomalyOn('Service', 'wedge', 'service_no_endpoints');
    expect(anomaly.spec.message).toContain(
      `2 pods match selector app=wedge of Service ${namespace}/wedge but none is ready`,
    );
    // The Issue lists its anomalies by name in its spec: the Service's is one of the Deployment's.
    await eventually(
      'the Deployment’s Issue to hold the Service’s anomaly',
      async () => {
        const [issue] = about(await list('issues'), 'Deployment', 'wedge');
        return (
          issue?.spec.signals?.includes('service_no_endpoints') && issue.spec.anomalies?.includes(anomaly.metadata.name)
        );
      },
      120_000,
    );
    expect(about(await list('issues'), 'Service', 'wedge')).toEqual([]);
  });

  it('reports a missing backend Service, a missing port and a missing TLS Secret, one Ingress each', async () => {
    const ingress = (name: string, spec: k8s.V1IngressSpec) =>
      networking.createNamespacedIngress({ namespace, body: { metadata: { name }, spec } });
    const rule = (serviceName: string, port: k8s.V1ServiceBackendPort) => ({
      host: `${serviceName}.shop.example.com`,
      http: { paths: [{ path: '/', pathType: 'Prefix', backend: { service: { name: serviceName, port } } }] },
    });
    await ingress('no-backend', { rules: [rule('checkout', { number: 80 })] });
    await ingress('wrong-port', { rules: [rule('frontend', { number: 8443 })] });
    await ingress('no-cert', {
      rules: [rule('frontend', { name: 'http' })],
      tls: [{ hosts: ['frontend.shop.example.com'], secretName: 'frontend-tls' }],
    });
    await ingress('default-only', { defaultBackend: { service: { name: 'frontend', port: { number: 80 } } } });

    const missing = await anomalyOn('Ingress', 'no-backend', 'ingress_misconfigured');
    expect(missing.spec.message).toContain(
      `spec.rules[0].http.paths[0].backend.service.name: no Service ${namespace}/checkout`,
    );
    const port = await anomalyOn('Ingress', 'wrong-port', 'ingress_misconfigured');
    expect(port.spec.message).toContain(`Service ${namespace}/frontend does not expose port 8443 (it has http/80)`);
    const cert = await anomalyOn('Ingress', 'no-cert', 'ingress_misconfigured');
    expect(cert.spec.message).toContain(`spec.tls[0].secretName: no TLS Secret ${namespace}/frontend-tls`);
    for (const name of ['no-backend', 'wrong-port', 'no-cert']) {
      expect(about(await list('anomalies'), 'Ingress', name)).toHaveLength(1);
    }
  });

  it('reports a NetworkPolicy that selects no pod', async () => {
    const policy = (name: string, matchLabels: Record<string, string>) =>
      networking.createNamespacedNetworkPolicy({
        namespace,
        body: { metadata: { name }, spec: { podSelector: { matchLabels }, policyTypes: ['Ingress'] } },
      });
    await policy('frontend-only', { app: 'web-frontend' });
    await policy('payments-only', { app: 'payments' });
    const anomaly = await anomalyOn('NetworkPolicy', 'payments-only', 'netpol_selects_nothing');
    expect(anomaly.spec.message).toContain(
      `spec.podSelector app=payments of NetworkPolicy ${namespace}/payments-only matches no pod`,
    );
  });

  it('reports an admission webhook whose Service has no endpoints, and what its failure policy means', async () => {
    // No selector and no hand-made endpoints: the Service exists, nothing answers behind it.
    await clients.core.createNamespacedService({
      namespace,
      body: service('admission-gate', { ports: [{ port: 443, targetPort: 8443 }] }),
    });
    await admission.createValidatingWebhookConfiguration({
      body: {
        metadata: { name: webhookName },
        webhooks: [
          {
            name: `gate.${namespace}.cairn.dev`,
            clientConfig: { service: { namespace, name: 'admission-gate', path: '/validate' } },
            rules: [{ apiGroups: [''], apiVersions: ['v1'], operations: ['CREATE'], resources: ['configmaps'] }],
            // Ignore, and only objects carrying a label nothing else uses: no other test's writes are touched.
            failurePolicy: 'Ignore',
            objectSelector: { matchLabels: { [`cairn-e2e-webhook-${namespace}`]: 'true' } },
            sideEffects: 'None',
            admissionReviewVersions: ['v1'],
            timeoutSeconds: 1,
          },
        ],
      },
    });
    try {
      const anomaly = await anomalyOn('ValidatingWebhookConfiguration', webhookName, 'webhook_unavailable');
      expect(anomaly.spec.message).toBe(
        `ValidatingWebhookConfiguration ${webhookName}: webhook gate.${namespace}.cairn.dev calls Service ${namespace}/admission-gate, which has no ready endpoint; failurePolicy Ignore: its checks are skipped`,
      );
    } finally {
      await admission.deleteValidatingWebhookConfiguration({ name: webhookName }).catch(() => undefined);
    }
  });

  it('notices a webhook losing its backend when that Service lives in a namespace the operator does not watch', async () => {
    // Webhook backends usually live in their own namespace (a cert-manager or policy engine's): a change there must
    // still bring the cluster-scoped webhook configuration back for a look.
    const home = await createNamespace(clients, 'detnet-hook');
    const name = `${webhookName}-remote`;
    try {
      const body = deployment('gatekeeper', { replicas: 1 });
      (body.spec?.template.spec as k8s.V1PodSpec).nodeSelector = { 'kubernetes.io/hostname': STEADY_NODE };
      await clients.apps.createNamespacedDeployment({ namespace: home, body });
      await clients.core.createNamespacedService({
        namespace: home,
        body: service('gatekeeper', { selector: { app: 'gatekeeper' }, ports: [{ port: 443, targetPort: 8443 }] }),
      });
      await eventually(
        'the gatekeeper Service to have a ready endpoint',
        async () => {
          const slices = await clients.config.makeApiClient(k8s.DiscoveryV1Api).listNamespacedEndpointSlice({
            namespace: home,
            labelSelector: 'kubernetes.io/service-name=gatekeeper',
          });
          return slices.items.flatMap((s) => s.endpoints ?? []).some((e) => e.conditions?.ready === true);
        },
        120_000,
      );
      await admission.createValidatingWebhookConfiguration({
        body: {
          metadata: { name },
          webhooks: [
            {
              name: `remote.${namespace}.cairn.dev`,
              clientConfig: { service: { namespace: home, name: 'gatekeeper', path: '/validate' } },
              rules: [{ apiGroups: [''], apiVersions: ['v1'], operations: ['CREATE'], resources: ['configmaps'] }],
              failurePolicy: 'Ignore',
              objectSelector: { matchLabels: { [`cairn-e2e-webhook-${namespace}`]: 'true' } },
              sideEffects: 'None',
              admissionReviewVersions: ['v1'],
              timeoutSeconds: 1,
            },
          ],
        },
      });
      // Healthy for now. Then its only replica goes away: the EndpointSlice change in the unwatched namespace is
      // what tells the operator.
      await clients.apps.patchNamespacedDeployment(
        { name: 'gatekeeper', namespace: home, body: { spec: { replicas: 0 } } },
        k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch),
      );
      const anomaly = await anomalyOn('ValidatingWebhookConfiguration', name, 'webhook_unavailable');
      expect(anomaly.spec.message).toContain(`calls Service ${home}/gatekeeper, which has no ready endpoint`);
    } finally {
      await admission.deleteValidatingWebhookConfiguration({ name }).catch(() => undefined);
      await deleteNamespace(clients, home);
    }
  });

  it('says nothing about healthy Services, Services without pods by design (no selector, ExternalName, scaled to zero), a default backend or a policy that selects pods', async () => {
    await clients.core.createNamespacedService({
      namespace,
      body: service('frontend-peers', { clusterIP: 'None', ports: http }),
    });
    await clients.core.createNamespacedService({
      namespace,
      body: service('mail', { type: 'ExternalName', externalName: 'mail.example.com' }),
    });
    // A Deployment scaled to zero on purpose: its Service has no pods, and none are expected.
    await clients.apps.createNamespacedDeployment({ namespace, body: deployment('nightly-batch', { replicas: 0 }) });
    await clients.core.createNamespacedService({
      namespace,
      body: service('nightly-batch', { selector: { app: 'nightly-batch' }, ports: http }),
    });
    // Something faulty created after them, reported only once the detectors have looked at them too.
    await clients.core.createNamespacedService({
      namespace,
      body: service('late', { selector: { app: 'no-such-app' }, ports: http }),
    });
    await anomalyOn('Service', 'late', 'service_no_endpoints');

    const anomalies = await list('anomalies');
    const quiet = [
      ['Service', 'frontend'],
      ['Service', 'frontend-peers'],
      ['Service', 'mail'],
      ['Service', 'nightly-batch'],
      ['Deployment', 'nightly-batch'],
      ['Service', 'admission-gate'],
      ['Deployment', 'web-frontend'],
      ['Ingress', 'default-only'],
      ['NetworkPolicy', 'frontend-only'],
    ].flatMap(([kind, name]) => about(anomalies, kind as string, name as string));
    expect(quiet).toEqual([]);
  });
});
