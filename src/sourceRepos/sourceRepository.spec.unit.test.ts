import { describe, expect, it } from 'vitest';
import type { SourceRepositorySpec } from '../adapters/kubernetes/api/sourceRepository.kind.ts';
import { defaultRepositoryCache } from './sourceRepos.module.ts';
import { annotatedRepositories, matchWorkload, repositorySpec } from './sourceRepository.spec.ts';

const repo = (spec: Partial<SourceRepositorySpec>) => ({
  namespace: 'shop',
  name: 'web',
  spec: { url: 'https://git.example.com/shop/web.git', ...spec } as SourceRepositorySpec,
});
const workload = (name: string, annotations: Record<string, string> = {}, namespace = 'shop') => ({
  kind: 'Deployment',
  namespace,
  name,
  annotations,
});

describe('repositorySpec', () => {
  it('fills in the defaults and turns a local path into a file URL', () => {
    const parsed = repositorySpec({ url: '/srv/git/web.git' });
    expect(parsed).toMatchObject({
      ok: true,
      spec: { url: 'file:///srv/git/web.git', branch: 'main', auth: { type: 'none' }, syncIntervalMs: 600_000 },
    });
  });

  it('names the field of a bad spec', () => {
    expect(repositorySpec({ url: 'ftp://x' })).toMatchObject({ ok: false, field: 'spec.url' });
    expect(repositorySpec({ url: 'https://u:p@h/x.git' })).toMatchObject({
      ok: false,
      field: 'spec.url',
      message: expect.stringContaining('carries credentials'),
    });
    expect(repositorySpec({ url: 'https://h/x.git', syncInterval: '0s' })).toMatchObject({
      ok: false,
      field: 'spec.syncInterval',
    });
    expect(repositorySpec({ url: 'https://h/x.git', auth: { type: 'basic' } })).toMatchObject({
      ok: false,
      field: 'spec.auth.secretRef',
    });
    expect(repositorySpec({ url: 'https://h/x.git', auth: { type: 'bearer' } })).toMatchObject({
      ok: false,
      field: 'spec.auth.secretRef',
      message: 'bearer credentials need a Secret',
    });
  });

  it('keeps the Secret of bearer credentials', () => {
    const parsed = repositorySpec({
      url: 'https://h/x.git',
      auth: { type: 'bearer', secretRef: { name: 'git-bearer' } },
    });
    expect(parsed).toMatchObject({ ok: true, spec: { auth: { type: 'bearer', secret: 'git-bearer' } } });
  });
});

describe('matchWorkload', () => {
  it('matches a listed workload, with the repository paths', () => {
    const match = matchWorkload(
      repo({ resources: [{ kind: 'Deployment', name: 'web' }], paths: ['deploy/'] }),
      workload('web'),
    );
    expect(match).toEqual({ by: ['listed in spec.resources'], paths: ['deploy/'] });
    // Listed in another namespace is another workload.
    expect(
      matchWorkload(repo({ resources: [{ kind: 'Deployment', name: 'web' }] }), workload('web', {}, 'other')),
    ).toBe(undefined);
  });

  it("matches by the workload's annotation, from any namespace, a bare name meaning the workload's own", () => {
    expect(annotatedRepositories(workload('api', { 'cairn.dev/source-repository': 'web, platform/base' }))).toEqual([
      'shop/web',
      'platform/base',
    ]);
    const match = matchWorkload(repo({}), workload('api', { 'cairn.dev/source-repository': 'shop/web' }, 'shop'));
    expect(match?.by).toEqual(["the workload's cairn.dev/source-repository annotation"]);
    expect(match?.paths).toEqual([]);
  });

  it('matches by a path rule of its namespace, whose paths win over spec.paths, placeholders filled in', () => {
    const r = repo({
      paths: ['src/'],
      workloadPaths: [
        { kind: 'Deployment', name: 'web-*', paths: ['deploy/{name}/**', 'envs/{namespace}/{name}.yaml'] },
        { kind: 'StatefulSet', name: '*', paths: ['db/'] },
      ],
    });
    expect(matchWorkload(r, workload('web-eu'))).toEqual({
      by: ['the workloadPaths rule "web-*"'],
      paths: ['deploy/web-eu/**', 'envs/shop/web-eu.yaml'],
    });
    expect(matchWorkload(r, workload('api'))).toBeUndefined();
    expect(matchWorkload(r, workload('web-eu', {}, 'other'))).toBeUndefined();
  });

  it('says every way a workload is tied to the repository', () => {
    const r = repo({
      resources: [{ kind: 'Deployment', name: 'web' }],
      workloadPaths: [{ name: 'web', paths: ['a/'] }],
    });
    expect(matchWorkload(r, workload('web', { 'cairn.dev/source-repository': 'web' }))?.by).toHaveLength(3);
  });
});

describe('defaultRepositoryCache', () => {
  it('keeps mirrors beside a sqlite event store, else in ./cairn-data', () => {
    expect(defaultRepositoryCache('sqlite:/var/lib/cairn/events.db')).toBe('/var/lib/cairn/source-repositories');
    expect(defaultRepositoryCache('memory:')).toBe('cairn-data/source-repositories');
    expect(defaultRepositoryCache('esdb://eventstore:2113?tls=false')).toBe('cairn-data/source-repositories');
  });
});
