import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestRepo, type TestRepo } from '../../test/support/gitRepos.ts';
import { chartOf, revisionRefs } from '../enrichers/commits/revisionRefs.ts';
import {
  chartVersionCommit,
  GitSyncError,
  logCommits,
  mirrorPath,
  resolveCommit,
  syncMirror,
  urlProblem,
  withCredentials,
} from './git.ts';

/** The git adapter on real repositories: the mirror, refs that workloads name, and the history as ranked. */
let repo: TestRepo;
let cache: string;
let mirror: string;
const sha: Record<string, string> = {};

beforeAll(async () => {
  repo = createTestRepo('cairn-git-');
  cache = mkdtempSync(join(tmpdir(), 'cairn-git-cache-'));
  sha.v1 = repo.commit('Chart 1.0.0', {
    'charts/web/Chart.yaml': 'apiVersion: v2\nname: web\nversion: 1.0.0\n',
    'deploy/web.yaml': 'a\n',
  });
  repo.tag('v1.0.0');
  repo.branch('feature');
  repo.checkout('feature');
  sha.feature = repo.commit('Feature work', { 'src/feature.ts': 'x\n' });
  repo.checkout('main');
  sha.renamed = repo.rename('deploy/web.yaml', 'manifests/web.yaml', 'Move the manifests');
  sha.merge = repo.merge('feature', 'Merge feature');
  sha.v11 = repo.commit('Chart 1.1.0', { 'charts/web/Chart.yaml': 'apiVersion: v2\nname: web\nversion: "1.1.0"\n' });
  repo.tag('2.0.0');
  mirror = mirrorPath(cache, 'shop', 'web', repo.url);
  await syncMirror({ dir: mirror, url: repo.url, branch: 'main', credentials: { type: 'none' } });
});

afterAll(() => {
  repo?.remove();
  rmSync(cache, { recursive: true, force: true });
});

describe('the git adapter', () => {
  it('resolves a sha prefix, a tag and a v-prefixed tag, and refuses what could be an option or a range', async () => {
    expect(await resolveCommit(mirror, sha.v1!.slice(0, 10))).toBe(sha.v1);
    expect(await resolveCommit(mirror, '1.0.0')).toBe(sha.v1);
    expect(await resolveCommit(mirror, '2.0.0')).toBe(sha.v11);
    expect(await resolveCommit(mirror, '9.9.9')).toBeUndefined();
    expect(await resolveCommit(mirror, '--all')).toBeUndefined();
    expect(await resolveCommit(mirror, `${sha.v1}..HEAD`)).toBeUndefined();
  });

  it('finds the commit that set a chart version, quoted or not', async () => {
    expect(await chartVersionCommit(mirror, 'main', '1.0.0')).toBe(sha.v1);
    expect(await chartVersionCommit(mirror, 'main', '1.1.0')).toBe(sha.v11);
    expect(await chartVersionCommit(mirror, 'main', '3.0.0')).toBeUndefined();
  });

  it('lists a range newest first: a rename with its old path, a merge with its changes against the first parent', async () => {
    const commits = await logCommits(mirror, { from: sha.v1, to: sha.v11!, max: 50 });
    expect(commits.map((c) => c.message)).toEqual([
      'Chart 1.1.0',
      'Merge feature',
      'Move the manifests',
      'Feature work',
    ]);
    const rename = commits.find((c) => c.sha === sha.renamed);
    expect(rename?.files).toEqual([{ path: 'manifests/web.yaml', from: 'deploy/web.yaml', change: 'R' }]);
    const merge = commits.find((c) => c.sha === sha.merge);
    expect(merge?.parents).toBe(2);
    expect(merge?.files).toEqual([{ path: 'src/feature.ts', change: 'A' }]);
    expect(commits[0]?.at).toMatch(/^\d{4}-\d\d-\d\dT/);
  });

  it('reads the refs of a pod template: annotation first, then image tags and the shas inside them', () => {
    expect(
      revisionRefs({
        annotations: { 'cairn.dev/commit': 'abc1234' },
        images: [
          'reg.local/web:main-1a2b3c4d',
          'reg.local/side@sha256:00ff',
          'reg.local/x:latest',
          'reg.local/y:1.2.3',
        ],
      }).map((r) => r.ref),
    ).toEqual(['abc1234', 'main-1a2b3c4d', '1a2b3c4d', '1.2.3']);
    expect(revisionRefs({ images: ['reg.local:5000/web:1a2b3c4d@sha256:00ff'] })).toEqual([
      { ref: '1a2b3c4d', from: 'the image tag of reg.local:5000/web' },
    ]);
    expect(chartOf('web-api-1.4.0')).toEqual({ name: 'web-api', version: '1.4.0' });
    expect(chartOf('nonsense')).toBeUndefined();
  });

  it('refuses URLs that carry credentials or a transport helper, before running git', async () => {
    expect(urlProblem('https://ci:hunter22@git.example.com/x.git')).toContain('carries credentials');
    expect(urlProblem('ext::sh -c touch% /tmp/pwned')).toContain('whitespace');
    expect(urlProblem('ext::sh')).toContain('not allowed');
    expect(urlProblem('ssh://git@git.example.com/x.git')).toBeUndefined();
    await expect(
      syncMirror({ dir: join(cache, 'x'), url: 'https://a:b@h/x', branch: 'main', credentials: { type: 'none' } }),
    ).rejects.toBeInstanceOf(GitSyncError);
  });

  it('fetches again after a fetch killed mid-way left its lock files behind', async () => {
    const { utimesSync, writeFileSync } = await import('node:fs');
    const locks = [join(mirror, 'refs', 'heads', 'main.lock'), join(mirror, 'packed-refs.lock')];
    const old = new Date(Date.now() - 3_600_000);
    for (const lock of locks) {
      writeFileSync(lock, '');
      utimesSync(lock, old, old);
    }
    const next = repo.commit('After the crash', { 'src/after.ts': 'y\n' });
    const head = await syncMirror({ dir: mirror, url: repo.url, branch: 'main', credentials: { type: 'none' } });
    expect(head.sha).toBe(next);
  });

  it('makes a mirror git can no longer read again from the remote', async () => {
    const { writeFileSync } = await import('node:fs');
    writeFileSync(join(mirror, 'config'), '[core\n\tbare = = =\n');
    const head = await syncMirror({ dir: mirror, url: repo.url, branch: 'main', credentials: { type: 'none' } });
    expect(head.sha).toBe(repo.head());
    expect(await resolveCommit(mirror, '2.0.0')).toBe(sha.v11);
  });

  it('writes the SSH key for one fetch only, readable by the operator alone', async () => {
    let seen = '';
    await withCredentials({ type: 'ssh', privateKey: 'KEY', knownHosts: 'host ssh-ed25519 AAAA' }, async (env) => {
      seen = env.GIT_SSH_COMMAND ?? '';
      const key = /-i '([^']+)'/.exec(seen)?.[1] ?? '';
      const { statSync, readFileSync } = await import('node:fs');
      expect(statSync(key).mode & 0o777).toBe(0o600);
      expect(readFileSync(key, 'utf8')).toBe('KEY\n');
      expect(seen).toContain('StrictHostKeyChecking=yes');
      expect(seen).not.toContain('KEY\n');
    });
    const key = /-i '([^']+)'/.exec(seen)?.[1] ?? '';
    const { existsSync } = await import('node:fs');
    expect(existsSync(key)).toBe(false);
  });
});
