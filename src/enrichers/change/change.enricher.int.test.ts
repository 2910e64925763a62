import * as k8s from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { applyGitopsCrds } from '../../../test/support/gitopsCrds.ts';
import { helm, webChartDir } from '../../../test/support/helmCli.ts';
import {
  createNamespace,
  deleteNamespace,
  deployment,
  eventually,
  isReady,
  type KubeClients,
  kubeClients,
  podsOf,
} from '../../../test/support/kube.ts';
import type { ContextSection } from '../enricher.ts';
import { runEnrichers } from '../enricher.ts';
import { createChangeEnricher } from './change.enricher.ts';
import { changeFactsOf } from './changeFacts.ts';

/**
 * The change enricher against the real API server: a release installed and upgraded by the real helm CLI, and
 * the real Argo CD and Flux CRDs with objects that point at the workload (no controllers: the tests write their
 * status as the controllers would).
 */
let kube: KubeClients;
let namespace: string;
let kubeconfig: string;
const Planted = 'Pl4nted-DB-pa55word-9f2';
const PlantedLater = 'Rotated-DB-pa55word-7c1';
const Good = 'registry.local/shop/web:1.0.0';
const Broken = 'registry.local/shop/web:1.1.0-broken';

beforeAll(async () => {
  kube = kubeClients();
  kubeconfig = inject('kubeconfig');
  namespace = await createNamespace(kube, 'change-ctx');
  await applyGitopsCrds(kubeconfig);
}, 600_000);
afterAll(async () => {
  await deleteNamespace(kube, namespace);
});

const enrich = async (kind: string, name: string, config = kube.config): Promise<ContextSection> => {
  const [section] = await runEnrichers(
    [createChangeEnricher(config)],
    {
      issueId: 'i-1',
      workload: { kind, namespace, name },
      signal: 'crashloop',
      signals: ['crashloop'],
      detectedAt: '2026-12-07T12:00:00Z',
    },
    { timeoutMs: 60_000 },
  );
  if (!section) throw new Error('no section');
  return section;
};

describe('the Helm release of a workload', () => {
  it('shows the history and the values diff of a real install and upgrade, never the planted password', async () => {
    await helm(kubeconfig, [
      'install',
      'web',
      webChartDir,
      '--namespace',
      namespace,
      '--set',
      `image=${Good}`,
      '--set',
      `database.password=${Planted}`,
    ]);
    await eventually(
      'the release to run',
      async () => ((await podsOf(kube, namespace, 'web')).filter(isReady).length === 2 ? true : undefined),
      120_000,
    );
    await helm(kubeconfig, [
      'upgrade',
      'web',
      webChartDir,
      '--namespace',
      namespace,
      '--reuse-values',
      '--set',
      `image=${Broken}`,
      '--set',
      'logLevel=debug',
      '--set',
      `database.password=${PlantedLater}`,
    ]);

    const section = await enrich('Deployment', 'web');
    expect(section.unavailable).toBeUndefined();
    const helmFacts = changeFactsOf([section])?.helm;
    expect(helmFacts).toMatchObject({
      release: 'web',
      namespace,
      currentRevision: 2,
      lastGoodRevision: 1,
      revisionCount: 2,
      chartChanged: false,
    });
    expect(helmFacts?.revisions.map((r) => [r.revision, r.status, r.chart, r.appVersion])).toEqual([
      [2, 'deployed', 'web-0.1.0', '1.0.0'],
      [1, 'superseded', 'web-0.1.0', '1.0.0'],
    ]);
    expect(section.text).toContain(`Helm release ${namespace}/web: 2 revision(s), current 2, last good before it 1.`);
    expect(section.text).toContain('Values revision 1 → 2: 3 change(s).');
    expect(section.text).toContain(`- image: "${Good}" → "${Broken}"`);
    expect(section.text).toContain('- logLevel: "info" → "debug"');
    expect(section.text).toContain('- database.password: [REDACTED] → [REDACTED]');
    const everything = JSON.stringify(section);
    expect(everything).not.toContain(Planted);
    expect(everything).not.toContain(PlantedLater);
    expect(section.text).toContain('GitOps: no Argo CD Application or Flux object deploys it.');
  }, 300_000);

  it('names a release record that does not decode, and a release that does not exist', async () => {
    const annotated = (name: string, release: string) => {
      const body = deployment(name, { replicas: 0 });
      body.metadata = { ...body.metadata, annotations: { 'meta.helm.sh/release-name': release } };
      return kube.apps.createNamespacedDeployment({ namespace, body });
    };
    await annotated('mangled', 'mangled');
    await kube.core.createNamespacedSecret({
      namespace,
      body: {
        metadata: {
          name: 'sh.helm.release.v1.mangled.v1',
          labels: { owner: 'helm', name: 'mangled', version: '1', status: 'deployed' },
        },
        type: 'helm.sh/release.v1',
        stringData: { release: 'this is not a Helm release' },
      },
    });
    const mangled = await enrich('Deployment', 'mangled');
    expect(mangled.unavailable).toBeUndefined();
    expect(mangled.text).toContain(
      '- revision 1 [deployed]: record unreadable (sh.helm.release.v1.mangled.v1: the release data is not JSON)',
    );

    await annotated('odd', 'Not A Release!');
    const odd = await enrich('Deployment', 'odd');
    expect(odd.text).toContain(
      `Not read: Helm release: the annotations name "Not A Release!" in "${namespace}", which is not a release.`,
    );

    await annotated('orphan', 'ghost');
    const orphan = await enrich('Deployment', 'orphan');
    expect(orphan.text).toContain(
      `Helm release ${namespace}/ghost: not found: the workload names Helm release "ghost", but namespace ${namespace} holds no record of it`,
    );
  });
});

describe('the GitOps object that deploys a workload', () => {
  const applications = { group: 'argoproj.io', version: 'v1alpha1', plural: 'applications' } as const;

  it('reads the Argo CD Application that lists the workload, bounded however many resources it has', async () => {
    await kube.apps.createNamespacedDeployment({ namespace, body: deployment('argo-web', { replicas: 0 }) });
    const resources = [
      ...Array.from({ length: 3_000 }, (_, i) => ({
        group: '',
        version: 'v1',
        kind: 'ConfigMap',
        namespace,
        name: `config-${i}`,
        status: i % 2 === 0 ? 'OutOfSync' : 'Synced',
      })),
      {
        group: 'apps',
        version: 'v1',
        kind: 'Deployment',
        namespace,
        name: 'argo-web',
        status: 'Synced',
        health: { status: 'Degraded', message: 'Deployment exceeded its progress deadline' },
      },
    ];
    await kube.custom.createNamespacedCustomObject({
      ...applications,
      namespace,
      body: {
        apiVersion: 'argoproj.io/v1alpha1',
        kind: 'Application',
        metadata: { name: 'shop' },
        spec: {
          project: 'default',
          source: { repoURL: 'https://git.example/shop.git', path: 'deploy', targetRevision: 'main' },
          destination: { server: 'https://kubernetes.default.svc', namespace },
        },
        // The Application CRD has no status subresource: Argo CD writes status with the object.
        status: {
          sync: { status: 'OutOfSync', revision: '9f1c2d3' },
          health: { status: 'Degraded' },
          resources,
          operationState: {
            phase: 'Succeeded',
            message: 'successfully synced (all tasks run)',
            startedAt: '2026-12-07T11:50:00Z',
            finishedAt: '2026-12-07T11:51:00Z',
            operation: { sync: { revision: '9f1c2d3' } },
            syncResult: { revision: '9f1c2d3' },
          },
        },
      },
    });

    const section = await enrich('Deployment', 'argo-web');
    const argo = changeFactsOf([section])?.argo;
    expect(argo).toMatchObject({
      name: 'shop',
      namespace,
      matchedBy: 'listed in its status.resources',
      syncStatus: 'OutOfSync',
      health: 'Degraded',
      revision: '9f1c2d3',
      resourceCount: 3_001,
      troubledCount: 1_501,
    });
    expect(section.text).toContain(
      `Argo CD Application ${namespace}/shop (listed in its status.resources): sync OutOfSync, health Degraded, revision 9f1c2d3, 3001 resource(s).`,
    );
    expect(section.text).toContain(
      '- last operation: Succeeded at 9f1c2d3, finished 2026-12-07T11:51:00Z: successfully synced (all tasks run)',
    );
    expect(section.text).toContain('- … 1491 more out-of-sync or unhealthy resource(s)');
    expect(section.text.length).toBeLessThan(4_000);
  });

  it('finds an Application by the instance label the workload carries, in whatever namespace it lives', async () => {
    const body = deployment('labelled-web', { replicas: 0 });
    body.metadata = {
      ...body.metadata,
      labels: { ...body.metadata?.labels, 'argocd.argoproj.io/instance': `${namespace}-app` },
    };
    await kube.apps.createNamespacedDeployment({ namespace, body });
    await kube.custom.createNamespacedCustomObject({
      ...applications,
      namespace,
      body: {
        apiVersion: 'argoproj.io/v1alpha1',
        kind: 'Application',
        metadata: { name: `${namespace}-app` },
        spec: {
          project: 'default',
          source: { repoURL: 'https://git.example/shop.git', path: 'labelled', targetRevision: 'main' },
          destination: { server: 'https://kubernetes.default.svc', namespace },
        },
        status: { sync: { status: 'Synced', revision: 'a1b2c3d' }, health: { status: 'Progressing' } },
      },
    });
    const section = await enrich('Deployment', 'labelled-web');
    expect(section.text).toContain(
      `Argo CD Application ${namespace}/${namespace}-app (label argocd.argoproj.io/instance): sync Synced, health Progressing, revision a1b2c3d, 0 resource(s).`,
    );
  });

  it('reads the Flux Kustomization and HelmRelease the labels name, and says when one is missing', async () => {
    const body = deployment('flux-web', { replicas: 0 });
    body.metadata = {
      ...body.metadata,
      labels: {
        ...body.metadata?.labels,
        'kustomize.toolkit.fluxcd.io/name': 'apps',
        'kustomize.toolkit.fluxcd.io/namespace': namespace,
        'helm.toolkit.fluxcd.io/name': 'web-flux',
      },
    };
    await kube.apps.createNamespacedDeployment({ namespace, body });
    const kustomizations = { group: 'kustomize.toolkit.fluxcd.io', version: 'v1', plural: 'kustomizations' };
    await kube.custom.createNamespacedCustomObject({
      ...kustomizations,
      namespace,
      body: {
        apiVersion: 'kustomize.toolkit.fluxcd.io/v1',
        kind: 'Kustomization',
        metadata: { name: 'apps' },
        spec: { interval: '5m', prune: true, path: './apps', sourceRef: { kind: 'GitRepository', name: 'shop' } },
      },
    });
    await kube.custom.replaceNamespacedCustomObjectStatus({
      ...kustomizations,
      namespace,
      name: 'apps',
      body: {
        apiVersion: 'kustomize.toolkit.fluxcd.io/v1',
        kind: 'Kustomization',
        metadata: {
          name: 'apps',
          resourceVersion: (
            (await kube.custom.getNamespacedCustomObject({ ...kustomizations, namespace, name: 'apps' })) as {
              metadata: { resourceVersion: string };
            }
          ).metadata.resourceVersion,
        },
        status: {
          lastAppliedRevision: 'main@sha1:4b7e0aa',
          lastAttemptedRevision: 'main@sha1:c03d9e1',
          conditions: [
            {
              type: 'Ready',
              status: 'False',
              reason: 'HealthCheckFailed',
              message: 'health check failed after 5m: Deployment/flux-web not ready',
              lastTransitionTime: '2026-12-07T11:55:00Z',
            },
          ],
        },
      },
    });

    const section = await enrich('Deployment', 'flux-web');
    expect(changeFactsOf([section])?.flux).toEqual([
      {
        kind: 'Kustomization',
        name: 'apps',
        namespace,
        lastAppliedRevision: 'main@sha1:4b7e0aa',
        lastAttemptedRevision: 'main@sha1:c03d9e1',
        ready: {
          status: 'False',
          reason: 'HealthCheckFailed',
          message: 'health check failed after 5m: Deployment/flux-web not ready',
        },
      },
      {
        kind: 'HelmRelease',
        name: 'web-flux',
        namespace,
        missing: "the workload's labels name it, but there is no such HelmRelease (or its CRD is not installed)",
      },
    ]);
    expect(section.text).toContain(
      `Flux Kustomization ${namespace}/apps: last applied main@sha1:4b7e0aa, last attempted main@sha1:c03d9e1, Ready False (HealthCheckFailed): health check failed after 5m: Deployment/flux-web not ready.`,
    );

    const helmReleases = { group: 'helm.toolkit.fluxcd.io', version: 'v2', plural: 'helmreleases' };
    await kube.custom.createNamespacedCustomObject({
      ...helmReleases,
      namespace,
      body: {
        apiVersion: 'helm.toolkit.fluxcd.io/v2',
        kind: 'HelmRelease',
        metadata: { name: 'web-flux' },
        spec: {
          interval: '10m',
          chart: { spec: { chart: 'web', version: '0.1.x', sourceRef: { kind: 'HelmRepository', name: 'shop' } } },
        },
      },
    });
    const live = (await kube.custom.getNamespacedCustomObject({ ...helmReleases, namespace, name: 'web-flux' })) as {
      metadata: { resourceVersion: string };
    };
    await kube.custom.replaceNamespacedCustomObjectStatus({
      ...helmReleases,
      namespace,
      name: 'web-flux',
      body: {
        apiVersion: 'helm.toolkit.fluxcd.io/v2',
        kind: 'HelmRelease',
        metadata: { name: 'web-flux', resourceVersion: live.metadata.resourceVersion },
        status: {
          history: [
            {
              chartName: 'web',
              chartVersion: '0.1.3',
              configDigest: 'sha256:1',
              digest: 'sha256:2',
              firstDeployed: '2026-12-07T11:00:00Z',
              lastDeployed: '2026-12-07T11:40:00Z',
              name: 'web-flux',
              namespace,
              status: 'deployed',
              version: 4,
            },
          ],
          conditions: [
            {
              type: 'Ready',
              status: 'True',
              reason: 'UpgradeSucceeded',
              message: 'Helm upgrade succeeded',
              lastTransitionTime: '2026-12-07T11:40:00Z',
            },
          ],
        },
      },
    });
    const again = await enrich('Deployment', 'flux-web');
    expect(again.text).toContain(
      `Flux HelmRelease ${namespace}/web-flux: last applied web@0.1.3, Ready True (UpgradeSucceeded): Helm upgrade succeeded.`,
    );
  });
});

describe('with the grants the Helm chart gives (get Applications, no list)', () => {
  const applications = { group: 'argoproj.io', version: 'v1alpha1', plural: 'applications' } as const;
  const rbac = () => kube.config.makeApiClient(k8s.RbacAuthorizationV1Api);
  const role = () => `${namespace}-change-reader`;

  afterAll(async () => {
    await rbac()
      .deleteClusterRoleBinding({ name: role() })
      .catch(() => undefined);
    await rbac()
      .deleteClusterRole({ name: role() })
      .catch(() => undefined);
    await kube.custom
      .deleteNamespacedCustomObject({ ...applications, namespace: 'argocd', name: `${namespace}-ro` })
      .catch(() => undefined);
  });

  it('still finds the Application the workload names, in the argocd namespace, and says what it may not list', async () => {
    await kube.core.createNamespace({ body: { metadata: { name: 'argocd' } } }).catch((e: { code?: number }) => {
      if (e.code !== 409) throw e;
    });
    await kube.custom.createNamespacedCustomObject({
      ...applications,
      namespace: 'argocd',
      body: {
        apiVersion: 'argoproj.io/v1alpha1',
        kind: 'Application',
        metadata: { name: `${namespace}-ro` },
        spec: {
          project: 'default',
          source: { repoURL: 'https://git.example/shop.git', path: 'ro', targetRevision: 'main' },
          destination: { server: 'https://kubernetes.default.svc', namespace },
        },
        status: { sync: { status: 'OutOfSync', revision: 'ffee001' }, health: { status: 'Degraded' } },
      },
    });
    const body = deployment('ro-web', { replicas: 0 });
    body.metadata = {
      ...body.metadata,
      labels: { ...body.metadata?.labels, 'argocd.argoproj.io/instance': `${namespace}-ro` },
      annotations: { 'meta.helm.sh/release-name': 'web' },
    };
    await kube.apps.createNamespacedDeployment({ namespace, body });

    await kube.core.createNamespacedServiceAccount({ namespace, body: { metadata: { name: 'change-reader' } } });
    await rbac().createClusterRole({
      body: {
        metadata: { name: role() },
        rules: [
          { apiGroups: ['apps'], resources: ['deployments'], verbs: ['get'] },
          { apiGroups: ['argoproj.io'], resources: ['applications'], verbs: ['get', 'patch'] },
        ],
      },
    });
    await rbac().createClusterRoleBinding({
      body: {
        metadata: { name: role() },
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: role() },
        subjects: [{ kind: 'ServiceAccount', name: 'change-reader', namespace }],
      },
    });
    const token = await kube.core.createNamespacedServiceAccountToken({
      name: 'change-reader',
      namespace,
      body: { spec: { audiences: [], expirationSeconds: 3600 } },
    });
    const admin = kube.config.getCurrentCluster();
    if (!admin || !token.status?.token) throw new Error('no cluster or token');
    const limited = new k8s.KubeConfig();
    limited.loadFromOptions({
      clusters: [admin],
      users: [{ name: 'change-reader', token: token.status.token }],
      contexts: [{ name: 'change-reader', cluster: admin.name, user: 'change-reader' }],
      currentContext: 'change-reader',
    });

    const section = await eventually('the role binding to take effect', async () => {
      const read = await enrich('Deployment', 'ro-web', limited);
      return read.text.includes('Argo CD Application argocd/') ? read : undefined;
    });
    expect(section.text).toContain(
      `Argo CD Application argocd/${namespace}-ro (label argocd.argoproj.io/instance): sync OutOfSync, health Degraded, revision ffee001, 0 resource(s).`,
    );
    // The release records are Secrets this identity may not list: said, not hidden, and the rest still shown.
    expect(section.text).toMatch(/Not read: Helm release change-ctx-[a-z0-9]+\/web: HTTP 403: .*secrets/);
  });
});
