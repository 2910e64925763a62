import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { ResourceRef } from '../../domain/events/common.schema.ts';
import { applyGitopsCrds } from '../../test/support/gitopsCrds.ts';
import {
  createNamespace,
  deleteNamespace,
  deployment,
  eventually,
  type KubeClients,
  kubeClients,
} from '../../test/support/kube.ts';
import { refusalOf } from '../../test/support/refusal.ts';
import { type ActionClients, createActionClients } from './action.ts';
import { requireAction } from './registry.ts';

let kube: KubeClients;
let clients: ActionClients;
let namespace: string;
const argoCrd = 'applications.argoproj.io';

beforeAll(async () => {
  kube = kubeClients();
  clients = createActionClients(kube.config);
  namespace = await createNamespace(kube, 'actions-gitops');
});
afterAll(async () => {
  await deleteNamespace(kube, namespace);
});

const run = async (type: string, target: ResourceRef, params: Record<string, string> = {}) => {
  const action = requireAction(type);
  action.check(params, target);
  return action.execute({ clients, target, params });
};

const failure = refusalOf;

describe('HelmRollback', () => {
  it('says honestly that there is no Helm release to roll back', async () => {
    await kube.apps.createNamespacedDeployment({ namespace, body: deployment('plain', { replicas: 1 }) });
    const plain: ResourceRef = { kind: 'Deployment', name: 'plain', namespace };
    const unmanaged = await failure(run('HelmRollback', plain));
    expect(unmanaged.category).toBe('NotFound');
    expect(unmanaged.message).toBe(
      `Deployment ${namespace}/plain is not managed by a Helm release (no meta.helm.sh/release-name annotation) and no release was named`,
    );
    const named = await failure(run('HelmRollback', plain, { release: 'shop' }));
    expect(named.category).toBe('NotFound');
    expect(named.message).toBe(`there is no Helm release "shop" in namespace ${namespace} (no release records)`);
  });

  it('finds a release from its records and says when the helm CLI is not there to roll it back', async () => {
    const body = deployment('charted', { replicas: 1 });
    body.metadata = { ...body.metadata, annotations: { 'meta.helm.sh/release-name': 'shop' } };
    await kube.apps.createNamespacedDeployment({ namespace, body });
    await kube.core.createNamespacedSecret({
      namespace,
      body: {
        metadata: {
          name: 'sh.helm.release.v1.shop.v1',
          labels: { owner: 'helm', name: 'shop', version: '1', status: 'deployed' },
        },
        type: 'helm.sh/release.v1',
        stringData: { release: 'not a real release' },
      },
    });
    const charted: ResourceRef = { kind: 'Deployment', name: 'charted', namespace };
    const noRevision = await failure(run('HelmRollback', charted, { revision: '7' }));
    expect(noRevision.message).toBe('Helm release shop has no revision 7 (it has 1)');
    const error = await failure(run('HelmRollback', charted));
    expect(error.code).toBe('action.unavailable');
    expect(error.message).toMatch(/helm/);
  });
});

describe('ArgoSyncApp', () => {
  const web = (): ResourceRef => ({ kind: 'Deployment', name: 'web', namespace });

  it('says honestly that Argo CD is absent; with its CRD, requests a sync by setting the operation', async () => {
    const body = deployment('web', { replicas: 1 });
    body.metadata = {
      ...body.metadata,
      annotations: { 'argocd.argoproj.io/tracking-id': `shop-app:apps/Deployment:${namespace}/web` },
    };
    await kube.apps.createNamespacedDeployment({ namespace, body });

    const present = await clients.extensions.readCustomResourceDefinition({ name: argoCrd }).then(
      () => true,
      () => false,
    );
    if (!present) {
      const absent = await failure(run('ArgoSyncApp', web(), { argoNamespace: namespace }));
      // Another suite on the shared cluster may install the real CRD meanwhile; the claim holds only while it is absent.
      const stillAbsent = await clients.extensions.readCustomResourceDefinition({ name: argoCrd }).then(
        () => false,
        () => true,
      );
      if (stillAbsent) {
        expect(absent.category).toBe('NotFound');
        expect(absent.message).toBe(
          `Argo CD is not installed in this cluster (no ${argoCrd} CustomResourceDefinition)`,
        );
      }

      // The real Application CRD, as Argo CD ships it; never deleted, other suites may use it.
      await applyGitopsCrds(inject('kubeconfig'));
    }

    const noApp = await failure(run('ArgoSyncApp', web(), { argoNamespace: namespace }));
    expect(noApp.message).toBe(`there is no Argo CD Application ${namespace}/shop-app`);

    const where = { group: 'argoproj.io', version: 'v1alpha1', plural: 'applications', namespace };
    await eventually('the Application kind to be served', () =>
      clients.custom
        .createNamespacedCustomObject({
          ...where,
          body: {
            apiVersion: 'argoproj.io/v1alpha1',
            kind: 'Application',
            metadata: { name: 'shop-app' },
            spec: {
              project: 'default',
              source: { repoURL: 'https://git.example/shop.git', path: 'deploy', targetRevision: 'main' },
              destination: { server: 'https://kubernetes.default.svc', namespace },
            },
          },
        })
        .then(() => true),
    );

    const result = await run('ArgoSyncApp', web(), { argoNamespace: namespace, revision: 'abc123' });
    expect(result.detail).toBe(`requested a sync of Argo CD Application ${namespace}/shop-app to abc123`);
    const app = (await clients.custom.getNamespacedCustomObject({ ...where, name: 'shop-app' })) as {
      operation?: unknown;
    };
    expect(app.operation).toEqual({ initiatedBy: { username: 'cairn' }, sync: { prune: false, revision: 'abc123' } });

    // Argo CD has not picked it up (there is no Argo CD here): a second request is refused, not stacked.
    const busy = await failure(run('ArgoSyncApp', web(), { argoNamespace: namespace }));
    expect(busy.category).toBe('Conflict');
  });
});
