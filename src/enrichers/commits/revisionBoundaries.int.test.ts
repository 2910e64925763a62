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
} from '../../../test/support/kube.ts';
import { daemonSet, statefulSet } from '../../../test/support/workloads.ts';
import { createMemoryEventStore } from '../../adapters/eventstore/memory.eventStore.ts';
import type { SourceRepositoryStatus } from '../../adapters/kubernetes/api/sourceRepository.kind.ts';
import { judgeRevision, revisionVerdicts } from '../../application/revisionLedger.ts';
import { type RunningSourceRepositories, startSourceRepositories } from '../../sourceRepos/sourceRepos.module.ts';
import { runEnrichers } from '../enricher.ts';
import { createCommitsEnricher } from './commits.enricher.ts';
import { type CommitsFacts, commitsFactsOf } from './commitsFacts.ts';

/**
 * The revision boundaries of the commits enricher on the real API server, with real git repositories: a Helm chart
 * version on the pod template, the `cairn.dev/commit` annotation, and the ControllerRevisions of a StatefulSet and a
 * DaemonSet. Each time the healthy revision is proven the way the watcher proves it (a verdict in the revision
 * ledger), and the commit that broke the workload between the two revisions comes first; commits outside the range
 * are not examined.
 */
let kube: KubeClients;
let namespace: string;
let cacheDir: string;
let running: RunningSourceRepositories;
const repos: Record<string, TestRepo> = {};
const store = createMemoryEventStore();
const sha: Record<string, string> = {};

const group = { group: 'aiops.cairn.dev', version: 'v1alpha1', plural: 'sourcerepositories' } as const;
const createRepository = (name: string, spec: Record<string, unknown>) =>
  kube.custom.createNamespacedCustomObject({
    ...group,
    namespace,
    body: { apiVersion: 'aiops.cairn.dev/v1alpha1', kind: 'SourceRepository', metadata: { name }, spec },
  });
const headOf = async (name: string) =>
  ((await kube.custom.getNamespacedCustomObject({ ...group, namespace, name })) as { status?: SourceRepositoryStatus })
    .status?.headCommit?.sha;

const facts = async (kind: string, name: string): Promise<CommitsFacts> => {
  const [section] = await runEnrichers(
    [createCommitsEnricher(kube.config, { cacheDir, verdicts: (w) => revisionVerdicts(store, w) })],
    {
      issueId: `i-${name}`,
      workload: { kind, namespace, name },
      signal: 'crashloop',
      signals: ['crashloop'],
      detectedAt: new Date(Date.now() + 60_000).toISOString(),
    },
    { timeoutMs: 60_000 },
  );
  const found = commitsFactsOf(section ? [section] : []);
  if (!found) throw new Error(`no commits facts: ${section?.text}`);
  return found;
};

/** What the watcher records when a rollout of the revision completes. */
const prove = (kind: string, name: string, revision: string) =>
  judgeRevision(
    store,
    { workload: { kind, namespace, name }, revision, verdict: 'healthy', reason: 'test rollout' },
    { occurredAt: new Date().toISOString(), actor: 'system:watcher' },
  );

/** The template hash of the Deployment's ReplicaSet whose pod template satisfies `test`. */
const replicaSetOf = async (name: string, what: string, test: (t: k8s.V1PodTemplateSpec) => boolean) => {
  const rs = await eventually(
    `a ReplicaSet of ${name} with ${what}`,
    async () =>
      (await kube.apps.listNamespacedReplicaSet({ namespace, labelSelector: `app=${name}` })).items.find((r) =>
        r.spec?.template ? test(r.spec.template) : false,
      ),
    120_000,
  );
  return rs.metadata?.labels?.['pod-template-hash'] ?? '';
};

/** The names of the workload's ControllerRevisions, oldest first, once there are `count`. */
const controllerRevisions = async (name: string, count: number) => {
  const list = await eventually(
    `${count} ControllerRevision(s) of ${name}`,
    async () => {
      const items = (await kube.apps.listNamespacedControllerRevision({ namespace, labelSelector: `app=${name}` }))
        .items;
      return items.length >= count ? items : undefined;
    },
    120_000,
  );
  return list.sort((a, b) => a.revision - b.revision).map((r) => r.metadata?.name ?? '');
};

const chartYaml = (version: string) => `apiVersion: v2\nname: web\nversion: ${version}\n`;

beforeAll(async () => {
  kube = kubeClients();
  namespace = await createNamespace(kube, 'commit-bounds');
  cacheDir = mkdtempSync(join(tmpdir(), 'cairn-bounds-'));

  // A chart released as 0.1.0, broken by a template change, released as 0.2.0, then worked on further.
  const web = createTestRepo('cairn-chart-');
  repos.web = web;
  sha.chart010 = web.commit('Chart web 0.1.0', {
    'charts/web/Chart.yaml': chartYaml('0.1.0'),
    'charts/web/templates/deployment.yaml': 'containerPort: 8080\n',
    'deploy/web/values.yaml': 'port: 8080\n',
  });
  sha.chartDocs = web.commit('Chart README', { 'README.md': '# the web chart\n' });
  sha.chartBad = web.commit(
    'Serve on port 9090',
    { 'charts/web/templates/deployment.yaml': 'containerPort: 9090\n', 'deploy/web/values.yaml': 'port: 9090\n' },
    { author: 'Grace Hopper' },
  );
  sha.chart020 = web.commit('Chart web 0.2.0', { 'charts/web/Chart.yaml': chartYaml('0.2.0') });
  sha.chartLater = web.commit('Probe the new port', { 'charts/web/templates/deployment.yaml': 'probe: 9090\n' });

  // An API whose pod templates name their commit in an annotation.
  const api = createTestRepo('cairn-api-');
  repos.api = api;
  sha.apiGood = api.commit('API 1.0', { 'deploy/api/config.yaml': 'timeout: 30s\n', 'src/api.go': 'package api\n' });
  sha.apiBad = api.commit('Shorter timeout', { 'deploy/api/config.yaml': 'timeout: 1ms\n' }, { author: 'Alan Turing' });
  sha.apiDocs = api.commit('Document the API', { 'README.md': '# api\n' });
  sha.apiCurrent = api.commit('Changelog for 1.1', { 'CHANGELOG.md': '- 1.1\n' });
  sha.apiLater = api.commit('Longer timeout again', { 'deploy/api/config.yaml': 'timeout: 30s\n' });

  // A database and a node agent whose image tags are commits.
  const db = createTestRepo('cairn-db-');
  repos.db = db;
  sha.dbGood = db.commit('DB 1.0', { 'deploy/db/statefulset.yaml': 'shared_buffers: 128MB\n' });
  sha.dbBad = db.commit('Tune the buffers', { 'deploy/db/statefulset.yaml': 'shared_buffers: 1TB\n' });
  sha.dbDocs = db.commit('Document the tuning', { 'docs/tuning.md': '# tuning\n' });

  running = startSourceRepositories({ config: kube.config, cacheDir, namespaces: [namespace], minIntervalMs: 300 });
  await createRepository('web', {
    url: web.url,
    resources: [{ kind: 'Deployment', name: 'web' }],
    paths: ['deploy/web/'],
  });
  await createRepository('api', {
    url: api.url,
    resources: [{ kind: 'Deployment', name: 'api' }],
    paths: ['deploy/api/'],
  });
  await createRepository('db', {
    url: db.url,
    resources: [
      { kind: 'StatefulSet', name: 'db' },
      { kind: 'DaemonSet', name: 'agent' },
    ],
    paths: ['deploy/db/'],
  });
  await eventually(
    'the repositories to be fetched',
    async () =>
      (await headOf('web')) === sha.chartLater &&
      (await headOf('api')) === sha.apiLater &&
      (await headOf('db')) === sha.dbDocs,
    120_000,
  );
}, 300_000);

afterAll(async () => {
  await running?.stop();
  await deleteNamespace(kube, namespace);
  for (const r of Object.values(repos)) r.remove();
  rmSync(cacheDir, { recursive: true, force: true });
});

describe('the revisions the commits enricher compares', () => {
  it('takes the chart versions of the helm.sh/chart label as the boundary, and ranks the commit that broke the chart between them first', async () => {
    const body = deployment('web', { replicas: 1, image: 'registry.local/shop/web:stable' });
    const template = body.spec!.template;
    template.metadata = { ...template.metadata, labels: { app: 'web', 'helm.sh/chart': 'web-0.1.0' } };
    await kube.apps.createNamespacedDeployment({ namespace, body });
    await prove(
      'Deployment',
      'web',
      await replicaSetOf('web', 'chart 0.1.0', (t) => t.metadata?.labels?.['helm.sh/chart'] === 'web-0.1.0'),
    );
    await kube.apps.patchNamespacedDeployment({
      namespace,
      name: 'web',
      body: [{ op: 'replace', path: '/spec/template/metadata/labels/helm.sh~1chart', value: 'web-0.2.0' }],
    });
    await replicaSetOf('web', 'chart 0.2.0', (t) => t.metadata?.labels?.['helm.sh/chart'] === 'web-0.2.0');

    const found = await facts('Deployment', 'web');
    const repo = found.repositories.find((r) => r.repository === `${namespace}/web`);
    expect(repo).toMatchObject({ range: 'exact', commitsExamined: 3 });
    expect(repo?.failing).toMatchObject({ ref: '0.2.0', commit: sha.chart020 });
    expect(repo?.failing?.from).toContain('chart version');
    expect(repo?.healthy).toMatchObject({ ref: '0.1.0', commit: sha.chart010, proven: true });
    const [top, ...rest] = found.suspectedCommits;
    expect(top).toMatchObject({ sha: sha.chartBad, author: 'Grace Hopper' });
    expect(top?.reasons.join('\n')).toContain("changes the workload's chart");
    expect(top?.reasons.join('\n')).toContain("changes the workload's manifests");
    // The release commit is suspected less; the README and the work after 0.2.0 are not suspected at all.
    expect(rest.map((s) => s.sha)).toEqual([sha.chart020]);
  });

  it('takes the cairn.dev/commit annotations of the failing and the proven-healthy ReplicaSet as the boundary', async () => {
    const body = deployment('api', { replicas: 1, image: 'registry.local/shop/api:stable' });
    const template = body.spec!.template;
    // A short sha is resolved too.
    template.metadata = { ...template.metadata, annotations: { 'cairn.dev/commit': sha.apiGood!.slice(0, 12) } };
    await kube.apps.createNamespacedDeployment({ namespace, body });
    const goodHash = await replicaSetOf('api', 'the good commit', (t) =>
      Boolean(t.metadata?.annotations?.['cairn.dev/commit']?.length === 12),
    );
    await prove('Deployment', 'api', goodHash);
    await kube.apps.patchNamespacedDeployment({
      namespace,
      name: 'api',
      body: [{ op: 'replace', path: '/spec/template/metadata/annotations/cairn.dev~1commit', value: sha.apiCurrent }],
    });
    await replicaSetOf(
      'api',
      'the current commit',
      (t) => t.metadata?.annotations?.['cairn.dev/commit'] === sha.apiCurrent,
    );

    const found = await facts('Deployment', 'api');
    const repo = found.repositories.find((r) => r.repository === `${namespace}/api`);
    expect(repo).toMatchObject({ range: 'exact', commitsExamined: 3 });
    expect(repo?.failing).toMatchObject({ commit: sha.apiCurrent, from: 'the cairn.dev/commit annotation' });
    expect(repo?.healthy).toMatchObject({ commit: sha.apiGood, proven: true });
    expect(found.suspectedCommits.map((s) => s.sha)).toEqual([sha.apiBad]);
    expect(found.suspectedCommits[0]?.author).toBe('Alan Turing');
  });

  it("reads a StatefulSet's two revisions from its ControllerRevisions: the commit between the two image tags comes first", async () => {
    await kube.apps.createNamespacedStatefulSet({
      namespace,
      body: statefulSet('db', { replicas: 1, image: `registry.local/shop/db:${sha.dbGood}` }),
    });
    const [first] = await controllerRevisions('db', 1);
    await prove('StatefulSet', 'db', first!);
    await kube.apps.patchNamespacedStatefulSet({
      namespace,
      name: 'db',
      body: [
        {
          op: 'replace',
          path: '/spec/template/spec/containers/0/image',
          value: `registry.local/shop/db:${sha.dbDocs}`,
        },
      ],
    });
    const [, second] = await controllerRevisions('db', 2);
    await eventually(
      'the StatefulSet to roll out its new revision',
      async () =>
        (await kube.apps.readNamespacedStatefulSet({ namespace, name: 'db' })).status?.updateRevision === second,
      120_000,
    );

    const found = await facts('StatefulSet', 'db');
    const repo = found.repositories.find((r) => r.repository === `${namespace}/db`);
    expect(repo).toMatchObject({ range: 'exact', commitsExamined: 2 });
    expect(repo?.failing).toMatchObject({ commit: sha.dbDocs });
    expect(repo?.healthy).toMatchObject({ commit: sha.dbGood, proven: true });
    expect(found.suspectedCommits.map((s) => s.sha)).toEqual([sha.dbBad]);
    expect(found.suspectedCommits[0]?.reasons.join('\n')).not.toContain('nothing proved healthy');
  });

  it("reads a DaemonSet's ControllerRevisions too; unproven, its previous revision bounds the range less surely", async () => {
    await kube.apps.createNamespacedDaemonSet({
      namespace,
      body: daemonSet('agent', { image: `registry.local/shop/agent:${sha.dbGood}` }),
    });
    await controllerRevisions('agent', 1);
    await kube.apps.patchNamespacedDaemonSet({
      namespace,
      name: 'agent',
      body: [
        {
          op: 'replace',
          path: '/spec/template/spec/containers/0/image',
          value: `registry.local/shop/agent:${sha.dbDocs}`,
        },
      ],
    });
    await controllerRevisions('agent', 2);

    const found = await facts('DaemonSet', 'agent');
    const repo = found.repositories.find((r) => r.repository === `${namespace}/db`);
    expect(repo).toMatchObject({ range: 'previous-revision', commitsExamined: 2 });
    expect(repo?.failing).toMatchObject({ commit: sha.dbDocs });
    expect(repo?.healthy).toMatchObject({ commit: sha.dbGood, proven: false });
    const [top] = found.suspectedCommits;
    expect(top?.sha).toBe(sha.dbBad);
    expect(top?.reasons.join('\n')).toContain('nothing proved healthy');
  });
});
