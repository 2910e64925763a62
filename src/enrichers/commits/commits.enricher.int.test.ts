import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type * as k8s from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestRepo, type TestRepo } from '../../../test/support/gitRepos.ts';
import {
  createNamespace,
  deleteNamespace,
  deployment,
  eventually,
  type KubeClients,
  kubeClients,
  podsOf,
  testCluster,
} from '../../../test/support/kube.ts';
import { createMemoryEventStore } from '../../adapters/eventstore/memory.eventStore.ts';
import type { SourceRepositoryStatus } from '../../adapters/kubernetes/api/sourceRepository.kind.ts';
import { judgeRevision, revisionVerdicts } from '../../application/revisionLedger.ts';
import type { LocalCluster } from '../../cluster/localCluster.ts';
import { servePodLogs } from '../../cluster/podLogs.ts';
import { type RunningSourceRepositories, startSourceRepositories } from '../../sourceRepos/sourceRepos.module.ts';
import { type ContextSection, runEnrichers } from '../enricher.ts';
import { createCommitsEnricher } from './commits.enricher.ts';
import { type CommitsFacts, commitsFactsOf } from './commitsFacts.ts';

/**
 * The commits enricher with real git repositories made by the test, mirrored by the real SourceRepository module,
 * and a Deployment on the real API server whose image tag is a commit: the commit that broke it (the one that
 * changed the file its stack trace names) comes first, and a password in that commit's diff stays out.
 */
let kube: KubeClients;
let cluster: LocalCluster;
let namespace: string;
let cacheDir: string;
let running: RunningSourceRepositories;
const repos: TestRepo[] = [];
const Planted = 'Sup3r-S3cret-Value-91';
const store = createMemoryEventStore();
const sha: Record<string, string> = {};

const group = { group: 'aiops.cairn.dev', version: 'v1alpha1', plural: 'sourcerepositories' } as const;
const createRepository = (name: string, spec: Record<string, unknown>) =>
  kube.custom.createNamespacedCustomObject({
    ...group,
    namespace,
    body: { apiVersion: 'aiops.cairn.dev/v1alpha1', kind: 'SourceRepository', metadata: { name }, spec },
  });
const repositoryStatus = async (name: string) =>
  ((await kube.custom.getNamespacedCustomObject({ ...group, namespace, name })) as { status?: SourceRepositoryStatus })
    .status;

const enrich = async (name: string): Promise<ContextSection> => {
  const [section] = await runEnrichers(
    [createCommitsEnricher(kube.config, { cacheDir, verdicts: (w) => revisionVerdicts(store, w) })],
    {
      issueId: 'i-1',
      workload: { kind: 'Deployment', namespace, name },
      signal: 'crashloop',
      signals: ['crashloop'],
      detectedAt: new Date(Date.now() + 60_000).toISOString(),
    },
    { timeoutMs: 60_000 },
  );
  if (!section) throw new Error('no section');
  return section;
};

const stackTrace = [
  '2026-12-07T10:00:00.000Z INFO starting web on :8080',
  "TypeError: Cannot read properties of undefined (reading 'price')",
  '    at total (/app/src/cart/total.ts:14:22)',
  '    at handler (/app/src/server.ts:40:11)',
  '    at Layer.handle (/app/node_modules/express/lib/router/layer.js:95:5)',
];

beforeAll(async () => {
  kube = kubeClients();
  cluster = await testCluster();
  namespace = await createNamespace(kube, 'commits');
  cacheDir = mkdtempSync(join(tmpdir(), 'cairn-mirrors-'));

  // The web repository: a healthy release, then four commits, one of which breaks the cart total.
  const web = createTestRepo('cairn-web-');
  repos.push(web);
  sha.good = web.commit('Web 1.0', {
    'deploy/web/deployment.yaml': 'replicas: 2\n',
    'src/cart/total.ts': 'export const total = (items) => items.reduce((s, i) => s + i.price, 0);\n',
    'src/server.ts': 'import { total } from "./cart/total";\n',
    'README.md': '# web\n',
  });
  sha.docs = web.commit('Explain the cart in the README', { 'README.md': '# web\n\nThe cart sums prices.\n' });
  sha.bad = web.commit(
    'Look prices up in the catalogue',
    {
      'src/cart/total.ts': `const DB_PASSWORD = '${Planted}';\nexport const total = (items, catalogue) => items.reduce((s, i) => s + catalogue[i.sku].price, 0);\n`,
    },
    { author: 'Grace Hopper' },
  );
  sha.replicas = web.commit('Three replicas', { 'deploy/web/deployment.yaml': 'replicas: 3\n' });
  sha.changelog = web.commit('Changelog', { 'CHANGELOG.md': '- catalogue prices\n' });

  // A second repository that also builds web (its platform overlay), and one that cannot be cloned.
  const platform = createTestRepo('cairn-platform-');
  repos.push(platform);
  platform.commit('Platform base', { 'overlays/web/kustomization.yaml': 'resources: []\n', 'other/x.yaml': 'x\n' });
  sha.overlay = platform.commit('Web overlay: lower the memory limit', {
    'overlays/web/kustomization.yaml': 'resources: [limits.yaml]\n',
  });

  running = startSourceRepositories({ config: kube.config, cacheDir, namespaces: [namespace], minIntervalMs: 300 });
  await createRepository('web', {
    url: web.url,
    resources: [{ kind: 'Deployment', name: 'web' }],
    paths: ['deploy/web/'],
  });
  await createRepository('platform', {
    url: platform.url,
    workloadPaths: [{ kind: 'Deployment', name: 'we*', paths: ['overlays/{name}/**'] }],
  });
  await createRepository('unreachable', { url: 'file:///nonexistent/cairn/platform.git' });
  await eventually(
    'the repositories to be fetched',
    async () =>
      (await repositoryStatus('web'))?.headCommit?.sha === sha.changelog &&
      (await repositoryStatus('platform'))?.headCommit?.sha === sha.overlay &&
      (await repositoryStatus('unreachable'))?.conditions?.some((c) => c.reason === 'Unreachable'),
    120_000,
  );
}, 300_000);

afterAll(async () => {
  await running?.stop();
  await deleteNamespace(kube, namespace);
  for (const r of repos) r.remove();
  rmSync(cacheDir, { recursive: true, force: true });
});

/** Rolls the Deployment out at `image` and waits for a ReplicaSet of that image; returns its template hash. */
const rollOut = async (name: string, image: string): Promise<string> => {
  const rs = await eventually(
    `a ReplicaSet of ${image}`,
    async () =>
      (await kube.apps.listNamespacedReplicaSet({ namespace, labelSelector: `app=${name}` })).items.find(
        (r) => r.spec?.template?.spec?.containers[0]?.image === image,
      ),
    120_000,
  );
  return rs.metadata?.labels?.['pod-template-hash'] ?? '';
};

describe('the commits enricher', () => {
  it('ranks the commit that changed the file in the stack trace first, between the healthy and the failing image', async () => {
    const good = `registry.local/shop/web:${sha.good}`;
    const body: k8s.V1Deployment = deployment('web', { replicas: 1, image: good });
    body.metadata = {
      ...body.metadata,
      annotations: { 'cairn.dev/source-repository': `${namespace}/unreachable` },
    };
    await kube.apps.createNamespacedDeployment({ namespace, body });
    const goodHash = await rollOut('web', good);
    // What the watcher records when a rollout completes: the revision ledger proves the good one healthy.
    await judgeRevision(
      store,
      {
        workload: { kind: 'Deployment', namespace, name: 'web' },
        revision: goodHash,
        verdict: 'healthy',
        reason: 'test rollout',
      },
      { occurredAt: new Date().toISOString(), actor: 'system:watcher' },
    );
    // The failing release: the image tag is the newest commit, and the pod crashes (KWOK's broken-image stage).
    const failing = `registry.local/shop/web:${sha.changelog}-broken`;
    await kube.apps.patchNamespacedDeployment({
      namespace,
      name: 'web',
      body: [{ op: 'replace', path: '/spec/template/spec/containers/0/image', value: failing }],
    });
    await rollOut('web', failing);
    const pod = await eventually('a failing pod', async () =>
      (await podsOf(kube, namespace, 'web')).find((p) => p.spec?.containers[0]?.image === failing),
    );
    await servePodLogs(cluster, {
      namespace,
      pod: pod.metadata?.name ?? '',
      containers: { app: { current: stackTrace } },
    });

    const section = await eventually('the stack trace to be read', async () => {
      const s = await enrich('web');
      return commitsFactsOf([s])?.traceFiles.length ? s : undefined;
    });
    const facts = commitsFactsOf([section]) as CommitsFacts;
    expect(facts.traceFiles).toContain('/app/src/cart/total.ts');
    const web = facts.repositories.find((r) => r.repository === `${namespace}/web`);
    expect(web).toMatchObject({ range: 'exact', commitsExamined: 4, matchedBy: ['listed in spec.resources'] });
    expect(web?.failing).toMatchObject({ commit: sha.changelog });
    expect(web?.healthy).toMatchObject({ commit: sha.good, proven: true });

    const top = facts.suspectedCommits[0];
    expect(top).toMatchObject({ repository: `${namespace}/web`, sha: sha.bad, author: 'Grace Hopper' });
    expect(top?.reasons[0]).toContain("src/cart/total.ts, named in the incident's stack trace");
    expect(top?.filesChanged).toEqual(['src/cart/total.ts']);
    // The manifests commit is suspected too, below; the README and changelog commits touch nothing in scope.
    const shas = facts.suspectedCommits.map((s) => s.sha);
    expect(shas).toContain(sha.replicas);
    expect(shas).not.toContain(sha.docs);
    expect(shas).not.toContain(sha.changelog);

    // The diff excerpt of the top suspect is in the text, redacted.
    expect(section.text).toContain(`Diff of ${sha.bad?.slice(0, 12)}`);
    expect(section.text).toContain('catalogue[i.sku].price');
    expect(JSON.stringify(section)).not.toContain(Planted);
  });

  it('looks a workload up in every repository that builds it, and names the one it cannot read', async () => {
    const section = await enrich('web');
    const facts = commitsFactsOf([section]) as CommitsFacts;
    expect(facts.repositories.map((r) => r.repository)).toEqual([
      `${namespace}/platform`,
      `${namespace}/unreachable`,
      `${namespace}/web`,
    ]);
    const platform = facts.repositories.find((r) => r.repository === `${namespace}/platform`);
    expect(platform?.matchedBy[0]).toContain('workloadPaths rule "we*"');
    expect(platform?.paths).toEqual(['overlays/web/**']);
    // Its failing revision is no commit of this repository: the commits before the incident, less surely.
    expect(platform?.range).toBe('before-detection');
    const overlay = facts.suspectedCommits.find((s) => s.sha === sha.overlay);
    expect(overlay?.reasons.join(' ')).toContain("the workload's manifests");
    expect(overlay!.confidence).toBeLessThan(facts.suspectedCommits[0]!.confidence);
    const unreachable = facts.repositories.find((r) => r.repository === `${namespace}/unreachable`);
    expect(unreachable?.unreadable).toMatch(/^not fetched yet \(Unreachable: /);
    expect(section.text).toContain(`Repository ${namespace}/unreachable`);
    expect(facts.suspectedCommits[0]?.sha).toBe(sha.bad);
  });

  it('says so when no repository maps the workload', async () => {
    const section = await enrich('not-built-here');
    expect(section.unavailable).toBeUndefined();
    expect(section.text).toContain('No SourceRepository maps this workload.');
    expect(commitsFactsOf([section])?.suspectedCommits).toEqual([]);
  });
});
