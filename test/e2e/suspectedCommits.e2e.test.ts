import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { generateKey, writeKeyFile } from '../../src/adapters/http/security/apiKeys.ts';
import type { AIInsightStatus } from '../../src/adapters/kubernetes/api/aiInsight.kind.ts';
import type { SourceRepositoryStatus } from '../../src/adapters/kubernetes/api/sourceRepository.kind.ts';
import { servePodLogs, stopServingPodLogs } from '../../src/cluster/podLogs.ts';
import { type RunningOperator, startOperator } from '../../src/operator.ts';
import { createTestRepo, type TestRepo } from '../support/gitRepos.ts';
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

/**
 * The whole operator, a real git repository and a Deployment whose image tags are commits: a healthy release, then
 * one whose pods crash with a stack trace in the cart code. The AIInsight of the Issue names, first, the commit
 * that changed that file, between the two releases.
 */
let kube: KubeClients;
let namespace: string;
let operator: RunningOperator;
let repo: TestRepo;
let dataDir: string;
const sha: Record<string, string> = {};
const group = { group: 'aiops.cairn.dev', version: 'v1alpha1' } as const;
const viewer = generateKey('suspects-viewer', 'viewer');

beforeAll(async () => {
  kube = kubeClients();
  namespace = await createNamespace(kube, 'suspects');
  dataDir = mkdtempSync(join(tmpdir(), 'cairn-suspects-'));
  repo = createTestRepo('cairn-shop-web-');
  sha.good = repo.commit('Web 1.0', {
    'deploy/web/deployment.yaml': 'replicas: 1\n',
    'src/cart/total.ts': 'export const total = (items) => items.reduce((s, i) => s + i.price, 0);\n',
    'README.md': '# web\n',
  });
  sha.bad = repo.commit('Look prices up in the catalogue', {
    'src/cart/total.ts':
      'export const total = (items, catalogue) => items.reduce((s, i) => s + catalogue[i.sku].price, 0);\n',
  });
  sha.manifests = repo.commit('Label the pods', { 'deploy/web/deployment.yaml': 'replicas: 1\nlabels: {}\n' });
  sha.docs = repo.commit('Document the catalogue', { 'README.md': '# web\n\nPrices come from the catalogue.\n' });

  writeKeyFile(join(dataDir, 'api-keys.json'), [viewer.stored]);
  operator = await startOperator({
    kubeconfig: inject('kubeconfig'),
    store: `sqlite:${join(dataDir, 'events.db')}`,
    namespace,
    watchNamespaces: [namespace],
    sourceRepositoryCache: join(dataDir, 'repos'),
    http: { host: '127.0.0.1', port: 0 },
    api: { keysFile: join(dataDir, 'api-keys.json') },
    verificationTimeoutSeconds: 30,
    ...(process.env.CAIRN_TEST_LOG ? { log: (line: string) => process.stderr.write(`[suspects] ${line}\n`) } : {}),
  });
  await eventually('the operator to lead', async () => operator.isLeader());
}, 300_000);

afterAll(async () => {
  await operator?.stop();
  await stopServingPodLogs(await testCluster(), { name: `${namespace}-web`, namespace }).catch(() => undefined);
  await deleteNamespace(kube, namespace);
  repo?.remove();
  rmSync(dataDir, { recursive: true, force: true });
});

describe('suspected commits in the AIInsight', () => {
  it('name the commit that changed the file in the crash stack trace, between the healthy and the failing image', async () => {
    await kube.custom.createNamespacedCustomObject({
      ...group,
      plural: 'sourcerepositories',
      namespace,
      body: {
        apiVersion: 'aiops.cairn.dev/v1alpha1',
        kind: 'SourceRepository',
        metadata: { name: 'web' },
        spec: { url: repo.url, resources: [{ kind: 'Deployment', name: 'web' }], paths: ['deploy/web/'] },
      },
    });
    await eventually(
      'the repository to be fetched by the operator',
      async () =>
        (
          (await kube.custom.getNamespacedCustomObject({
            ...group,
            plural: 'sourcerepositories',
            namespace,
            name: 'web',
          })) as { status?: SourceRepositoryStatus }
        ).status?.headCommit?.sha === sha.docs,
      120_000,
    );
    // Every pod of the namespace logs the crash (KWOK serves these lines as the containers' logs).
    await servePodLogs(await testCluster(), {
      name: `${namespace}-web`,
      namespace,
      containers: {
        app: {
          current: [
            'listening on :8080',
            "TypeError: Cannot read properties of undefined (reading 'price')",
            '    at total (/app/src/cart/total.ts:1:72)',
            '    at checkout (/app/src/server.ts:12:9)',
          ],
        },
      },
    });

    const body = deployment('web', { replicas: 1, image: `registry.local/shop/web:${sha.good}` });
    await kube.apps.createNamespacedDeployment({ namespace, body });
    await eventually('web ready', async () => (await podsOf(kube, namespace, 'web')).some(isReady), 120_000);
    // The failing release: tagged with the newest commit; KWOK crashes images marked broken.
    await kube.apps.patchNamespacedDeployment({
      namespace,
      name: 'web',
      body: [
        {
          op: 'replace',
          path: '/spec/template/spec/containers/0/image',
          value: `registry.local/shop/web:${sha.docs}-broken`,
        },
      ],
    });

    const insight = await eventually(
      'an AIInsight with suspected commits',
      async () => {
        const list = (await kube.custom.listNamespacedCustomObject({ ...group, plural: 'aiinsights', namespace })) as {
          items: { status?: AIInsightStatus }[];
        };
        return list.items.find((i) => (i.status?.suspectedCommits?.length ?? 0) > 0)?.status;
      },
      240_000,
    );
    const [top, ...rest] = insight.suspectedCommits ?? [];
    expect(top).toMatchObject({
      repository: `${namespace}/web`,
      sha: sha.bad,
      author: 'Ada Lovelace',
      message: 'Look prices up in the catalogue',
      filesChanged: ['src/cart/total.ts'],
    });
    expect(top?.reasons[0]).toContain("named in the incident's stack trace");
    expect(rest.map((s) => s.sha)).toContain(sha.manifests);
    expect([top, ...rest].map((s) => s?.sha)).not.toContain(sha.docs);
    expect(top!.confidence).toBeGreaterThan(rest[0]!.confidence);

    // The insight views of the API say the same, from the read model.
    const viewed = await eventually(
      'the REST insight with suspected commits',
      async () => {
        const response = await fetch(`${operator.httpUrl}/api/v1/insights`, {
          headers: { authorization: `Bearer ${viewer.key}` },
        });
        const page = (await response.json()) as { items?: { suspectedCommits?: { sha: string }[] }[] };
        return page.items?.find((i) => (i.suspectedCommits?.length ?? 0) > 0);
      },
      120_000,
    );
    expect(viewed.suspectedCommits?.map((s) => s.sha)).toEqual(insight.suspectedCommits?.map((s) => s.sha));
  });
});
