import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type GitHttpServer, startGitHttpServer } from '../../test/support/gitHttpServer.ts';
import { createTestRepo, type TestRepo } from '../../test/support/gitRepos.ts';
import {
  createNamespace,
  deleteNamespace,
  eventually,
  type KubeClients,
  kubeClients,
} from '../../test/support/kube.ts';
import { startSshGitServer } from '../../test/support/sshGitServer.ts';
import type { SourceRepositoryStatus } from '../adapters/kubernetes/api/sourceRepository.kind.ts';
import { mirrorPath } from './git.ts';
import { type RunningSourceRepositories, startSourceRepositories } from './sourceRepos.module.ts';

/**
 * SourceRepositories against the real API server and real git: repositories made by the test, served from disk
 * and through git's own smart-HTTP backend behind basic authentication.
 */
let kube: KubeClients;
let namespace: string;
let cacheDir: string;
let running: RunningSourceRepositories;
let repo: TestRepo;
let server: GitHttpServer;
const errors: string[] = [];
const Password = 'Git-HTTP-pa55word-4d1';

const group = { group: 'aiops.cairn.dev', version: 'v1alpha1', plural: 'sourcerepositories' } as const;

const create = (name: string, spec: Record<string, unknown>) =>
  kube.custom.createNamespacedCustomObject({
    ...group,
    namespace,
    body: { apiVersion: 'aiops.cairn.dev/v1alpha1', kind: 'SourceRepository', metadata: { name }, spec },
  });

const statusOf = async (name: string) =>
  ((await kube.custom.getNamespacedCustomObject({ ...group, namespace, name })) as { status?: SourceRepositoryStatus })
    .status;

const readyCondition = (status: SourceRepositoryStatus | undefined) =>
  status?.conditions?.find((c) => c.type === 'Ready');

beforeAll(async () => {
  kube = kubeClients();
  namespace = await createNamespace(kube, 'srcrepo');
  cacheDir = mkdtempSync(join(tmpdir(), 'cairn-mirrors-'));
  repo = createTestRepo('cairn-srcrepo-');
  repo.commit('Add the web deployment', { 'deploy/web/deployment.yaml': 'kind: Deployment\n' });
  repo.commit('Add the cart service', { 'src/cart/total.ts': 'export const total = 1;\n' });
  server = await startGitHttpServer(repo.dir, { username: 'ci', password: Password });
  // A short interval, so a new commit is fetched soon; the test waits for it, never for an amount of time.
  running = startSourceRepositories({
    config: kube.config,
    cacheDir,
    namespaces: [namespace],
    minIntervalMs: 300,
    onError: (what, error) => errors.push(`${what}: ${error instanceof Error ? error.message : String(error)}`),
  });
}, 180_000);

afterAll(async () => {
  await running?.stop();
  await server?.close();
  await deleteNamespace(kube, namespace);
  repo?.remove();
  rmSync(cacheDir, { recursive: true, force: true });
});

describe('a SourceRepository', () => {
  it('is cloned and then fetched on its interval: the status shows the head, and a new commit once fetched', async () => {
    await create('web', {
      url: repo.url,
      branch: 'main',
      resources: [{ kind: 'Deployment', name: 'web' }],
      syncInterval: '1s',
    });
    const first = repo.head();
    const synced = await eventually(
      'the first sync',
      async () => {
        const s = await statusOf('web');
        return s?.headCommit?.sha === first ? s : undefined;
      },
      120_000,
    );
    expect(synced.ready).toBe(true);
    expect(synced.headCommit?.message).toBe('Add the cart service');
    expect(synced.headCommit?.author).toBe('Ada Lovelace');
    expect(readyCondition(synced)).toMatchObject({ status: 'True', reason: 'Synced' });
    expect(synced.lastSyncedAt).toBeDefined();

    const second = repo.commit('Make the total a function', { 'src/cart/total.ts': 'export const total = () => 1;\n' });
    const fetched = await eventually(
      'the new commit to be fetched',
      async () => {
        const s = await statusOf('web');
        return s?.headCommit?.sha === second ? s : undefined;
      },
      120_000,
    );
    expect(fetched.headCommit?.message).toBe('Make the total a function');

    // Deleted, its mirror goes with it.
    const mirror = mirrorPath(cacheDir, namespace, 'web', repo.url);
    expect(existsSync(mirror)).toBe(true);
    await kube.custom.deleteNamespacedCustomObject({ ...group, namespace, name: 'web' });
    await eventually('the mirror to be removed', async () => !existsSync(mirror));
  });

  it('that cannot be cloned says why in its status, and keeps no secret there', async () => {
    await create('gone', { url: 'file:///nonexistent/cairn/repo.git', syncInterval: '1m' });
    const status = await eventually('the clone to fail', async () => {
      const s = await statusOf('gone');
      return readyCondition(s)?.status === 'False' ? s : undefined;
    });
    expect(status.ready).toBe(false);
    expect(readyCondition(status)?.reason).toBe('Unreachable');
    expect(readyCondition(status)?.message).toMatch(/does not appear to be a git repository|not found|No such/i);
  });

  it('whose branch does not exist says so', async () => {
    await create('nobranch', { url: repo.url, branch: 'release/9.9', syncInterval: '1m' });
    const status = await eventually('the fetch to fail', async () => {
      const s = await statusOf('nobranch');
      return readyCondition(s)?.status === 'False' ? s : undefined;
    });
    expect(readyCondition(status)).toMatchObject({ reason: 'BranchMissing' });
    expect(readyCondition(status)?.message).toContain('release/9.9');
  });

  it('with credentials in its URL is refused without fetching, and the status does not repeat them', async () => {
    await create('inline', { url: `http://ci:${Password}@127.0.0.1:1/web.git`, syncInterval: '1m' });
    const status = await eventually('the refusal', async () => {
      const s = await statusOf('inline');
      return readyCondition(s)?.status === 'False' ? s : undefined;
    });
    expect(readyCondition(status)?.reason).toBe('InvalidSpec');
    expect(JSON.stringify(status)).not.toContain(Password);
  });

  it('over HTTP basic auth: fetched with the Secret, refused with a wrong one, the password never shown', async () => {
    await kube.core.createNamespacedSecret({
      namespace,
      body: { metadata: { name: 'git-basic' }, stringData: { username: 'ci', password: Password } },
    });
    await kube.core.createNamespacedSecret({
      namespace,
      body: { metadata: { name: 'git-wrong' }, stringData: { username: 'ci', password: 'not-the-password-77' } },
    });
    await create('http-ok', {
      url: server.url,
      auth: { type: 'basic', secretRef: { name: 'git-basic' } },
      syncInterval: '1m',
    });
    await create('http-wrong', {
      url: server.url,
      auth: { type: 'basic', secretRef: { name: 'git-wrong' } },
      syncInterval: '1m',
    });
    await create('http-nosecret', {
      url: server.url,
      auth: { type: 'basic', secretRef: { name: 'absent' } },
      syncInterval: '1m',
    });
    const ok = await eventually(
      'the authenticated fetch',
      async () => {
        const s = await statusOf('http-ok');
        return s?.headCommit?.sha === repo.head() ? s : undefined;
      },
      120_000,
    );
    expect(ok.ready).toBe(true);
    const wrong = await eventually('the refused fetch', async () => {
      const s = await statusOf('http-wrong');
      return readyCondition(s)?.status === 'False' ? s : undefined;
    });
    expect(readyCondition(wrong)?.reason).toBe('AuthFailed');
    expect(server.refused()).toBeGreaterThan(0);
    const missing = await eventually('the missing Secret', async () => {
      const s = await statusOf('http-nosecret');
      return readyCondition(s)?.status === 'False' ? s : undefined;
    });
    expect(readyCondition(missing)).toMatchObject({
      reason: 'SecretUnreadable',
      message: `Secret ${namespace}/absent does not exist`,
    });
    for (const s of [ok, wrong, missing]) {
      expect(JSON.stringify(s)).not.toContain(Password);
      expect(JSON.stringify(s)).not.toContain('not-the-password-77');
    }
    expect(errors.join('\n')).not.toContain(Password);
  });

  it('over SSH: fetched with the key and a trusted host key, refused for a host it does not know', async () => {
    const ssh = await startSshGitServer();
    try {
      await kube.core.createNamespacedSecret({
        namespace,
        body: {
          metadata: { name: 'git-ssh' },
          type: 'kubernetes.io/ssh-auth',
          stringData: { 'ssh-privatekey': ssh.privateKey, known_hosts: ssh.knownHosts },
        },
      });
      await kube.core.createNamespacedSecret({
        namespace,
        body: {
          metadata: { name: 'git-ssh-stranger' },
          type: 'kubernetes.io/ssh-auth',
          stringData: { 'ssh-privatekey': ssh.privateKey, known_hosts: ssh.wrongKnownHosts },
        },
      });
      await create('ssh-ok', {
        url: ssh.urlOf(repo.dir),
        auth: { type: 'ssh', secretRef: { name: 'git-ssh' } },
        syncInterval: '1m',
      });
      await create('ssh-stranger', {
        url: ssh.urlOf(repo.dir),
        auth: { type: 'ssh', secretRef: { name: 'git-ssh-stranger' } },
        syncInterval: '1m',
      });
      const ok = await eventually(
        'the fetch over SSH',
        async () => {
          const s = await statusOf('ssh-ok');
          return s?.headCommit?.sha === repo.head() ? s : undefined;
        },
        120_000,
      );
      expect(ok.ready).toBe(true);
      const stranger = await eventually('the refused host', async () => {
        const s = await statusOf('ssh-stranger');
        return readyCondition(s)?.status === 'False' ? s : undefined;
      });
      expect(readyCondition(stranger)?.reason).toBe('AuthFailed');
      const key = ssh.privateKey.split('\n')[1] ?? '';
      expect(JSON.stringify([ok, stranger])).not.toContain(key);
    } finally {
      await ssh.stop();
    }
  });

  it('with a token: sent as the password of x-access-token unless the Secret names a user', async () => {
    const Token = 'tok-7f3a9c1e5b2d8f4a6c0e';
    const tokenServer = await startGitHttpServer(repo.dir, { username: 'x-access-token', password: Token });
    try {
      await kube.core.createNamespacedSecret({
        namespace,
        body: { metadata: { name: 'git-token' }, stringData: { token: Token } },
      });
      await create('http-token', {
        url: tokenServer.url,
        auth: { type: 'token', secretRef: { name: 'git-token' } },
        syncInterval: '1m',
      });
      const status = await eventually(
        'the fetch with the token',
        async () => {
          const s = await statusOf('http-token');
          return s?.headCommit?.sha === repo.head() ? s : undefined;
        },
        120_000,
      );
      expect(status.ready).toBe(true);
      expect(JSON.stringify(status)).not.toContain(Token);
    } finally {
      await tokenServer.close();
    }
  });

  it('with a bearer token: sent as an Authorization header, refused when the host does not take it', async () => {
    const Token = 'brr-5d1c9e7a3f0b8264e1a7';
    const bearerServer = await startGitHttpServer(repo.dir, { bearer: Token });
    try {
      await kube.core.createNamespacedSecret({
        namespace,
        body: { metadata: { name: 'git-bearer' }, stringData: { token: `${Token}\n` } },
      });
      await kube.core.createNamespacedSecret({
        namespace,
        body: { metadata: { name: 'git-bearer-wrong' }, stringData: { token: 'brr-not-this-one' } },
      });
      await create('http-bearer', {
        url: bearerServer.url,
        auth: { type: 'bearer', secretRef: { name: 'git-bearer' } },
        syncInterval: '1m',
      });
      // The same token as a basic password is not what this host takes.
      await create('http-bearer-as-basic', {
        url: bearerServer.url,
        auth: { type: 'token', secretRef: { name: 'git-bearer' } },
        syncInterval: '1m',
      });
      // A line break would smuggle a second header in: refused before git runs, the value never repeated.
      await kube.core.createNamespacedSecret({
        namespace,
        body: { metadata: { name: 'git-bearer-broken' }, stringData: { token: `${Token}\nX-Smuggled: yes` } },
      });
      await create('http-bearer-broken', {
        url: bearerServer.url,
        auth: { type: 'bearer', secretRef: { name: 'git-bearer-broken' } },
        syncInterval: '1m',
      });
      await create('http-bearer-wrong', {
        url: bearerServer.url,
        auth: { type: 'bearer', secretRef: { name: 'git-bearer-wrong' } },
        syncInterval: '1m',
      });
      const ok = await eventually(
        'the fetch with the bearer token',
        async () => {
          const s = await statusOf('http-bearer');
          return s?.headCommit?.sha === repo.head() ? s : undefined;
        },
        120_000,
      );
      expect(ok.ready).toBe(true);
      for (const name of ['http-bearer-as-basic', 'http-bearer-wrong']) {
        const refused = await eventually(`${name} to be refused`, async () => {
          const s = await statusOf(name);
          return readyCondition(s)?.status === 'False' ? s : undefined;
        });
        expect(readyCondition(refused)?.reason, name).toBe('AuthFailed');
        expect(refused.headCommit, name).toBeUndefined();
      }
      const broken = await eventually('the token with a line break to be refused', async () => {
        const s = await statusOf('http-bearer-broken');
        return readyCondition(s)?.status === 'False' ? s : undefined;
      });
      expect(readyCondition(broken)).toMatchObject({ reason: 'SecretUnreadable' });
      expect(readyCondition(broken)?.message).toContain('git-bearer-broken');
      expect(JSON.stringify(broken)).not.toContain('Smuggled');
      expect(bearerServer.refused()).toBeGreaterThan(0);
      const statuses = await Promise.all(
        ['http-bearer', 'http-bearer-as-basic', 'http-bearer-wrong', 'http-bearer-broken'].map(statusOf),
      );
      expect(JSON.stringify(statuses)).not.toContain(Token);
    } finally {
      await bearerServer.close();
    }
  });

  it('with a bearer token: a redirect to another host never carries the token there', async () => {
    const Token = 'brr-a9e3c1d7f5b2084c6e19';
    const seen: (string | undefined)[] = [];
    const elsewhere = createServer((request, response) => {
      seen.push(request.headers.authorization);
      response.writeHead(404).end();
    });
    await new Promise<void>((resolve) => elsewhere.listen(0, '127.0.0.1', resolve));
    const port = (elsewhere.address() as AddressInfo).port;
    const redirecting = createServer((request, response) => {
      response.writeHead(302, { location: `http://127.0.0.1:${port}${request.url ?? '/'}` }).end();
    });
    await new Promise<void>((resolve) => redirecting.listen(0, '127.0.0.1', resolve));
    try {
      await kube.core.createNamespacedSecret({
        namespace,
        body: { metadata: { name: 'git-bearer-redirected' }, stringData: { token: Token } },
      });
      await create('http-bearer-redirected', {
        url: `http://127.0.0.1:${(redirecting.address() as AddressInfo).port}/repo.git`,
        auth: { type: 'bearer', secretRef: { name: 'git-bearer-redirected' } },
        syncInterval: '1m',
      });
      const refused = await eventually('the redirected fetch to fail', async () => {
        const s = await statusOf('http-bearer-redirected');
        return readyCondition(s)?.status === 'False' ? s : undefined;
      });
      expect(refused.headCommit).toBeUndefined();
      // Git followed the redirect (the other host was asked), without the header.
      expect(seen.length).toBeGreaterThan(0);
      expect(seen.filter((header) => header?.includes(Token))).toEqual([]);
      expect(JSON.stringify(refused)).not.toContain(Token);
    } finally {
      await new Promise((resolve) => redirecting.close(resolve));
      await new Promise((resolve) => elsewhere.close(resolve));
    }
  });
});
