import * as k8s from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
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
} from '../../test/support/kube.ts';
import type { AgenticProvider, AgenticStepRequest, AgenticStepResult } from '../analysis/agentic.ts';
import type { AnalysisProvider, AnalysisRequest, AnalysisResult } from '../analysis/provider.ts';
import { withSecretValuesRedacted } from '../analysis/providers/secretValues.provider.ts';
import type { WorkloadRef } from '../analysis/workloadFacts.ts';
import type { LocalCluster } from '../cluster/localCluster.ts';
import { servePodLogs } from '../cluster/podLogs.ts';
import { runEnrichers } from './enricher.ts';
import { createKubernetesContextBuilder } from './kubernetesContext.ts';
import { createLogEnricher } from './logs/logs.enricher.ts';
import { createReferencedSecretValues } from './referencedSecrets.ts';

// Values no detector would recognise: only the Secrets the workload references say they are secret.
const password = 'Pleasant-Meadow-Quiet-42';
const apiKey = 'copper kettle whistles';
const certLine = 'MIIBszCCAVmgAwIBAgIUQm9ndXNDZXJ0TGluZUZvclRlc3Q';

let clients: KubeClients;
let cluster: LocalCluster;
let namespace: string;

const secret = (name: string, data: Record<string, string>): k8s.V1Secret => ({
  metadata: { name },
  stringData: data,
});

beforeAll(async () => {
  clients = kubeClients();
  cluster = await testCluster();
  namespace = await createNamespace(clients, 'redact');
  for (const body of [
    secret('db-creds', { password, username: 'orders-svc' }),
    secret('api-keys', { API_KEY: apiKey }),
    secret('client-cert', { 'tls.key': `-----BEGIN PRIVATE KEY-----\n${certLine}\n-----END PRIVATE KEY-----\n` }),
  ])
    await clients.core.createNamespacedSecret({ namespace, body });
});
afterAll(() => deleteNamespace(clients, namespace));

/** A Deployment naming its Secrets the three ways a pod can: env valueFrom, envFrom and a volume. */
const withSecrets = (name: string, missing = false): k8s.V1Deployment => {
  const body = deployment(name, { replicas: 1 });
  const spec = body.spec?.template.spec as k8s.V1PodSpec;
  const [app] = spec.containers;
  app!.env = [
    {
      name: 'DB_PASSWORD',
      valueFrom: { secretKeyRef: { name: missing ? 'no-such-secret' : 'db-creds', key: 'password' } },
    },
  ];
  app!.envFrom = [{ secretRef: { name: 'api-keys' } }];
  spec.volumes = [{ name: 'cert', secret: { secretName: 'client-cert' } }];
  app!.volumeMounts = [{ name: 'cert', mountPath: '/etc/cert' }];
  return body;
};

/** Records what a provider would have been sent. */
const recorder = () => {
  const seen: (AnalysisRequest | AgenticStepRequest)[] = [];
  const provider: AnalysisProvider & AgenticProvider = {
    name: 'recorder',
    analyze: async (request): Promise<AnalysisResult> => {
      seen.push(request);
      return { analysis: 'ok', confidence: 0.5, recommendations: [], suggestedActions: [], provider: 'r', model: 'm' };
    },
    agenticStep: async (request): Promise<AgenticStepResult> => {
      seen.push(request);
      return { decision: 'observe', reasoning: 'ok', confidence: 0.5, provider: 'r', model: 'm' };
    },
  };
  return { seen, provider };
};

/** The analysis request as the operator builds it: the context builder, then the log enricher. */
const buildRequest = async (config: k8s.KubeConfig, workload: WorkloadRef): Promise<AnalysisRequest> => ({
  issueId: `${workload.name}-issue`,
  namespace,
  workload,
  signal: 'crashloop',
  signals: ['crashloop'],
  severity: 'high',
  riskScore: 60,
  description: 'crashloop',
  context: await createKubernetesContextBuilder(config).build(workload),
  sections: await runEnrichers([createLogEnricher(config)], {
    issueId: `${workload.name}-issue`,
    workload,
    signal: 'crashloop',
    signals: ['crashloop'],
    detectedAt: new Date().toISOString(),
  }),
  previousFailures: [],
  doNotRepeat: [],
});

const start = async (name: string, missing = false) => {
  await clients.apps.createNamespacedDeployment({ namespace, body: withSecrets(name, missing) });
  const [pod] = await eventually(`${name} ready`, async () => {
    const pods = await podsOf(clients, namespace, name);
    return pods.length === 1 && pods.every(isReady) ? pods : undefined;
  });
  await servePodLogs(cluster, {
    namespace,
    pod: pod?.metadata?.name ?? '',
    containers: {
      app: {
        current: [
          '2026-01-01T12:00:00Z INFO starting orders',
          `2026-01-01T12:00:01Z ERROR login failed for orders-svc using ${password}`,
          `2026-01-01T12:00:02Z WARN upstream said: ${apiKey}`,
          `2026-01-01T12:00:03Z ERROR bad key line ${certLine}`,
          '2026-01-01T12:00:04Z ERROR giving up',
        ].join('\n'),
      },
    },
  });
  // An Event carrying a value, as a controller might quote a misconfigured field.
  await clients.core.createNamespacedEvent({
    namespace,
    body: {
      metadata: { name: `${name}.leak` },
      involvedObject: { kind: 'Deployment', name, namespace, apiVersion: 'apps/v1' },
      reason: 'ConfigInvalid',
      type: 'Warning',
      message: `value ${apiKey} rejected by the orders config`,
      lastTimestamp: new Date(),
      count: 1,
      source: { component: 'orders-controller' },
    },
  });
  return { kind: 'Deployment', name, namespace } as const;
};

describe("the values of a workload's Secrets, on the local control plane", () => {
  it('are found in its logs and Events and never reach the provider', async () => {
    const workload = await start('orders');
    const raw = JSON.stringify(await buildRequest(clients.config, workload));
    // They really travel in the request without this guard: no name or shape gives them away. The log section
    // quotes the password as a repeated message, its number replaced (`Pleasant-Meadow-Quiet-<n>`).
    for (const value of [apiKey, 'Pleasant-Meadow-Quiet']) expect(raw).toContain(value);

    const errors: string[] = [];
    const { seen, provider } = recorder();
    const guarded = withSecretValuesRedacted(
      provider,
      createReferencedSecretValues(clients.config, { onError: (what) => errors.push(what) }),
    );
    await guarded.analyze(await buildRequest(clients.config, workload));
    const sent = JSON.stringify(seen);
    for (const value of [password, 'Pleasant-Meadow-Quiet', apiKey, certLine]) expect(sent).not.toContain(value);
    // The username is data of the same Secret, so it goes too.
    expect(sent).toContain('login failed for [REDACTED] using [REDACTED]');
    expect(sent).toContain('[REDACTED] rejected by the orders config');
    expect(errors).toEqual([]);
  });

  it('are skipped quietly when a Secret is missing or Cairn may not read Secrets', async () => {
    const workload = await start('billing', true);
    const errors: string[] = [];
    const values = createReferencedSecretValues(clients.config, { onError: (what) => errors.push(what) });
    const found = await values(workload);
    // db-creds is not referenced (the missing Secret is): the others still count.
    expect(found).toContain(apiKey);
    expect(found).not.toContain(password);

    // A user who may read Deployments but not Secrets: every Secret read is refused with 403.
    const user = `reader-${namespace}`;
    await clients.objects.create({
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'Role',
      metadata: { name: 'deployment-reader', namespace },
      rules: [{ apiGroups: ['apps'], resources: ['deployments'], verbs: ['get'] }],
    } as k8s.KubernetesObject);
    await clients.objects.create({
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'RoleBinding',
      metadata: { name: 'deployment-reader', namespace },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'deployment-reader' },
      subjects: [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'User', name: user }],
    } as k8s.KubernetesObject);
    const limited = new k8s.KubeConfig();
    limited.loadFromString(clients.config.exportConfig());
    const current = limited.getCurrentUser();
    limited.users = limited.users.map((u) => (u.name === current?.name ? { ...u, impersonateUser: user } : u));
    const forbidden = createReferencedSecretValues(limited, { onError: (what) => errors.push(what) });
    expect(
      await eventually('the Role to apply', async () => {
        const got = await forbidden(workload);
        return got.length === 0 && (await limitedCanReadDeployment(limited, workload)) ? got : undefined;
      }),
    ).toEqual([]);
    expect(errors).toEqual([]);
  });
});

const limitedCanReadDeployment = async (config: k8s.KubeConfig, workload: WorkloadRef) =>
  config
    .makeApiClient(k8s.AppsV1Api)
    .readNamespacedDeployment({ name: workload.name, namespace: workload.namespace })
    .then(() => true)
    .catch(() => false);
