import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { access, chmod, mkdir, mkdtemp, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type ChangedFile, type CommitRecord, FileChange } from '../../domain/change/suspectedCommits.ts';
import { redactSecrets } from '../analysis/redaction.ts';

/**
 * The real `git` CLI, run with execFile under a timeout, never through a shell, never prompting. Credentials reach
 * git only through the child's environment and files only the operator can read (an askpass helper that prints
 * them, an SSH key written 0600): never in the URL, in argv, in a message or in a log.
 */

/** Why a clone or fetch failed, as the SourceRepository's Ready condition names it. */
export const SyncFailure = {
  Unreachable: 'Unreachable',
  AuthFailed: 'AuthFailed',
  BranchMissing: 'BranchMissing',
  InvalidSpec: 'InvalidSpec',
  SecretUnreadable: 'SecretUnreadable',
} as const;
export type SyncFailure = (typeof SyncFailure)[keyof typeof SyncFailure];

export class GitSyncError extends Error {
  override readonly name = 'GitSyncError';
  constructor(
    readonly reason: SyncFailure,
    message: string,
  ) {
    super(message);
  }
}

/** What the Secret of `spec.auth` gave. */
export type GitCredentials =
  | { readonly type: 'none' }
  | { readonly type: 'basic' | 'token'; readonly username: string; readonly password: string }
  | { readonly type: 'bearer'; readonly token: string }
  | { readonly type: 'ssh'; readonly privateKey: string; readonly knownHosts?: string };

export interface GitRunOptions {
  readonly cwd?: string;
  readonly env?: Readonly<Record<string, string>>;
  /** Default 60 s. */
  readonly timeoutMs?: number;
  readonly signal?: AbortSignal;
  /** Default 16 MiB. */
  readonly maxBuffer?: number;
}

/** Exits non-zero: `stderr` is git's own explanation, already redacted. */
export class GitCommandError extends Error {
  override readonly name = 'GitCommandError';
  constructor(
    message: string,
    readonly stderr: string,
    readonly timedOut: boolean,
  ) {
    super(message);
  }
}

/** Git never asks a terminal, never reads the machine's or user's config (a credential helper there), never pages. */
const baseEnv = (): Record<string, string> => ({
  PATH: process.env.PATH ?? '/usr/bin:/bin',
  HOME: process.env.HOME ?? tmpdir(),
  GIT_TERMINAL_PROMPT: '0',
  GIT_CONFIG_NOSYSTEM: '1',
  GIT_CONFIG_GLOBAL: '/dev/null',
  GIT_PAGER: 'cat',
  LC_ALL: 'C',
  GIT_SSH_COMMAND: 'ssh -o BatchMode=yes -o StrictHostKeyChecking=yes',
});

export function git(args: readonly string[], options: GitRunOptions = {}): Promise<string> {
  const timeoutMs = options.timeoutMs ?? 60_000;
  return new Promise((resolve, reject) => {
    execFile(
      'git',
      ['-c', 'core.quotePath=false', '-c', 'credential.helper=', ...args],
      {
        cwd: options.cwd,
        env: { ...baseEnv(), ...options.env },
        timeout: timeoutMs,
        killSignal: 'SIGKILL',
        maxBuffer: options.maxBuffer ?? 16 * 1024 * 1024,
        encoding: 'utf8',
        ...(options.signal ? { signal: options.signal } : {}),
      },
      (error, stdout, stderr) => {
        if (!error) {
          resolve(stdout);
          return;
        }
        const timedOut = (error as { killed?: boolean }).killed === true;
        const said = redactSecrets(String(stderr ?? '').trim()).slice(0, 2_000);
        const lines = said.split('\n').filter(Boolean);
        const first = (
          lines.find((l) => /^(?:fatal|error):/.test(l)) ??
          lines[0] ??
          error.message.split('\n')[0] ??
          'failed'
        ).replace(/^(?:fatal|error):\s*/, '');
        reject(
          new GitCommandError(
            timedOut
              ? `git ${args[0]}: no answer within ${Math.round(timeoutMs / 1000)} s`
              : `git ${args[0]}: ${first}`,
            said,
            timedOut,
          ),
        );
      },
    );
  });
}

/** A user name, password or key must never be read back from where it was given. */
const userinfo = /^[a-z+]+:\/\/[^/@]*@/i;

/** The problem with a clone URL that Cairn refuses before running git, or undefined. */
export function urlProblem(url: string): string | undefined {
  if (userinfo.test(url) && !/^ssh:\/\/[^:/@]+@/i.test(url)) {
    return 'the URL carries credentials; put them in the Secret named by spec.auth.secretRef instead';
  }
  if (/\s/.test(url) || url.startsWith('-')) return 'the URL holds whitespace or starts with "-"';
  if (/^(?:ext|fd)::/i.test(url)) return 'git transport helpers (ext::, fd::) are not allowed';
  return undefined;
}

/** Where a repository is mirrored: one bare repository per object and URL, so a changed URL starts afresh. */
export function mirrorPath(cacheDir: string, namespace: string, name: string, url: string): string {
  const digest = createHash('sha256').update(url).digest('hex').slice(0, 12);
  return join(cacheDir, namespace, `${name}-${digest}.git`);
}

const exists = (path: string) =>
  access(path).then(
    () => true,
    () => false,
  );

/**
 * Runs `work` with the environment git needs for the credentials: an askpass helper that prints the user name or
 * password from the child's environment, or an SSH key and known_hosts in a private temporary directory, removed
 * afterwards whatever happens.
 */
export async function withCredentials<T>(
  credentials: GitCredentials,
  work: (env: Record<string, string>) => Promise<T>,
): Promise<T> {
  if (credentials.type === 'none') return work({});
  if (credentials.type === 'bearer') {
    // Git's configuration from the environment (GIT_CONFIG_COUNT, git 2.31+): the header is in no argument or file.
    return work({
      GIT_CONFIG_COUNT: '1',
      GIT_CONFIG_KEY_0: 'http.extraHeader',
      GIT_CONFIG_VALUE_0: `Authorization: Bearer ${credentials.token}`,
    });
  }
  const dir = await mkdtemp(join(tmpdir(), 'cairn-git-'));
  try {
    await chmod(dir, 0o700);
    if (credentials.type === 'ssh') {
      const key = join(dir, 'key');
      await writeFile(
        key,
        credentials.privateKey.endsWith('\n') ? credentials.privateKey : `${credentials.privateKey}\n`,
        {
          mode: 0o600,
        },
      );
      const knownHosts = join(dir, 'known_hosts');
      await writeFile(knownHosts, credentials.knownHosts ?? '', { mode: 0o600 });
      const quote = (p: string) => `'${p.replace(/'/g, `'\\''`)}'`;
      return await work({
        GIT_SSH_COMMAND: `ssh -i ${quote(key)} -o IdentitiesOnly=yes -o BatchMode=yes -o UserKnownHostsFile=${quote(knownHosts)} -o StrictHostKeyChecking=yes`,
      });
    }
    const askpass = join(dir, 'askpass');
    await writeFile(
      askpass,
      '#!/bin/sh\ncase "$1" in\n  Username*) printf \'%s\\n\' "$CAIRN_GIT_USERNAME" ;;\n  *) printf \'%s\\n\' "$CAIRN_GIT_PASSWORD" ;;\nesac\n',
      { mode: 0o700 },
    );
    return await work({
      GIT_ASKPASS: askpass,
      CAIRN_GIT_USERNAME: credentials.username,
      CAIRN_GIT_PASSWORD: credentials.password,
    });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

const classify = (error: unknown, branch: string): GitSyncError => {
  if (error instanceof GitSyncError) return error;
  if (!(error instanceof GitCommandError)) {
    return new GitSyncError(
      SyncFailure.Unreachable,
      redactSecrets(error instanceof Error ? error.message : String(error)),
    );
  }
  const said = error.stderr;
  if (error.timedOut) return new GitSyncError(SyncFailure.Unreachable, error.message);
  if (/couldn't find remote ref|Remote branch .* not found|invalid refspec/i.test(said)) {
    return new GitSyncError(SyncFailure.BranchMissing, `the repository has no branch "${branch}"`);
  }
  if (
    /Authentication failed|could not read (?:Username|Password)|terminal prompts disabled|HTTP Basic: Access denied|The requested URL returned error: 40[13]|Permission denied \(publickey|Host key verification failed|Invalid username or password/i.test(
      said,
    )
  ) {
    return new GitSyncError(SyncFailure.AuthFailed, error.message);
  }
  return new GitSyncError(SyncFailure.Unreachable, error.message);
};

export interface HeadCommit {
  readonly sha: string;
  readonly author?: string;
  readonly message?: string;
  readonly at?: string;
}

/**
 * Makes the mirror current: a bare repository created on first use, then the branch and the tags fetched into it
 * (tags are how image tags and chart versions are found). Returns the branch's head. Throws GitSyncError, whose
 * reason and message are safe to show.
 */
export async function syncMirror(input: {
  readonly dir: string;
  readonly url: string;
  readonly branch: string;
  readonly credentials: GitCredentials;
  readonly timeoutMs?: number;
}): Promise<HeadCommit> {
  const problem = urlProblem(input.url);
  if (problem) throw new GitSyncError(SyncFailure.InvalidSpec, problem);
  const timeoutMs = input.timeoutMs ?? 120_000;
  const fetch = async () => {
    if (!(await exists(join(input.dir, 'HEAD')))) {
      await mkdir(input.dir, { recursive: true });
      await git(['init', '--bare', '--quiet', input.dir], { timeoutMs });
    } else {
      await removeStaleLocks(input.dir, Date.now() - timeoutMs);
    }
    await withCredentials(input.credentials, (env) =>
      git(
        [
          'fetch',
          '--quiet',
          '--prune',
          '--force',
          '--tags',
          '--no-write-fetch-head',
          '--',
          input.url,
          `+refs/heads/${input.branch}:refs/heads/${input.branch}`,
        ],
        { cwd: input.dir, env, timeoutMs },
      ),
    );
    return headCommit(input.dir, `refs/heads/${input.branch}`);
  };
  try {
    return await fetch();
  } catch (error) {
    // A mirror git no longer reads as a repository (a disk filled mid-write, a damaged config) is only a cache:
    // it is made again from the remote once.
    if (!(await readable(input.dir))) {
      await rm(input.dir, { recursive: true, force: true });
      try {
        return await fetch();
      } catch (again) {
        throw classify(again, input.branch);
      }
    }
    throw classify(error, input.branch);
  }
}

/** Whether git reads the directory as a bare repository. */
const readable = (dir: string) =>
  git(['rev-parse', '--is-bare-repository'], { cwd: dir, timeoutMs: 10_000 }).then(
    (out) => out.trim() === 'true',
    () => false,
  );

/**
 * Lock files a git process left when it was killed (the operator's kill -9 in the middle of a fetch) block every
 * later fetch. One older than a fetch's timeout belongs to no live fetch (that one would have been killed): gone.
 */
export async function removeStaleLocks(dir: string, olderThanMs: number): Promise<string[]> {
  const removed: string[] = [];
  const walk = async (path: string, depth: number): Promise<void> => {
    const entries = await readdir(path, { withFileTypes: true }).catch(() => []);
    for (const entry of entries) {
      const full = join(path, entry.name);
      if (entry.isDirectory()) {
        if (depth < 8 && (depth > 0 || entry.name === 'refs')) await walk(full, depth + 1);
      } else if (entry.name.endsWith('.lock')) {
        const info = await stat(full).catch(() => undefined);
        if (info && info.mtimeMs < olderThanMs) {
          await rm(full, { force: true });
          removed.push(full);
        }
      }
    }
  };
  await walk(dir, 0);
  return removed;
}

const Sep = '\x1f';
const Rec = '\x1e';

export async function headCommit(dir: string, ref: string): Promise<HeadCommit> {
  const out = await git(['log', '-1', `--format=%H${Sep}%an${Sep}%cI${Sep}%B`, ref, '--'], { cwd: dir });
  const [sha = '', author, at, ...message] = out.split(Sep);
  return {
    sha: sha.trim(),
    ...(author ? { author } : {}),
    ...(at ? { at: at.trim() } : {}),
    ...(message.join(Sep).trim() ? { message: message.join(Sep).trim().slice(0, 4_096) } : {}),
  };
}

/** A ref a workload names (an image tag, an annotation): kept to what a tag or sha can be, never an option. */
export const safeRef = (ref: string): boolean =>
  /^[A-Za-z0-9][A-Za-z0-9._/+-]{0,127}$/.test(ref) && !ref.includes('..');

/** The commit a sha (prefix), tag or `v`-prefixed tag names in the mirror, or undefined. */
export async function resolveCommit(dir: string, ref: string, signal?: AbortSignal): Promise<string | undefined> {
  if (!safeRef(ref)) return undefined;
  const candidates = /^[0-9a-f]{7,64}$/.test(ref)
    ? [ref, `refs/tags/${ref}`]
    : [`refs/tags/${ref}`, `refs/tags/v${ref}`];
  for (const candidate of candidates) {
    try {
      const sha = (
        await git(['rev-parse', '--verify', '--quiet', '--end-of-options', `${candidate}^{commit}`], {
          cwd: dir,
          signal,
        })
      ).trim();
      if (sha) return sha;
    } catch {
      // Not this one.
    }
  }
  return undefined;
}

/** The commit that set a chart's `version:` to `version` (the oldest one that did), on the branch. */
export async function chartVersionCommit(
  dir: string,
  branch: string,
  version: string,
  signal?: AbortSignal,
): Promise<string | undefined> {
  if (!safeRef(version)) return undefined;
  const escaped = version.replace(/[.+]/g, '\\$&');
  const out = await git(
    [
      'log',
      '--format=%H',
      `-G^version:[[:space:]]*["']?${escaped}["']?[[:space:]]*$`,
      `refs/heads/${branch}`,
      '--',
      '*Chart.yaml',
    ],
    { cwd: dir, signal },
  ).catch(() => '');
  const shas = out.split('\n').filter(Boolean);
  return shas.at(-1);
}

const changeOf = (status: string): FileChange =>
  (Object.values(FileChange) as string[]).includes(status[0] ?? '') ? (status[0] as FileChange) : FileChange.Other;

/** Parses `git log --name-status` output in the format `logCommits` asks for. */
export function parseLog(out: string): CommitRecord[] {
  const commits: CommitRecord[] = [];
  for (const record of out.split(Rec)) {
    if (!record.trim()) continue;
    const [header = '', ...rest] = record.split('\n');
    const [sha = '', parents = '', author = '', at = '', subject = ''] = header.split(Sep);
    if (!/^[0-9a-f]{7,64}$/.test(sha)) continue;
    const files: ChangedFile[] = [];
    for (const line of rest) {
      if (!line.trim()) continue;
      const [status = '', first = '', second] = line.split('\t');
      if (!first) continue;
      files.push(
        second === undefined
          ? { path: first, change: changeOf(status) }
          : { path: second, from: first, change: changeOf(status) },
      );
    }
    commits.push({
      sha,
      parents: parents.split(' ').filter(Boolean).length,
      ...(author ? { author } : {}),
      ...(at ? { at } : {}),
      ...(subject ? { message: subject } : {}),
      files,
    });
  }
  return commits;
}

/**
 * Commits newest first with the files each changed against its first parent (renames followed), either those in
 * `from..to` or the `max` newest reachable from `to` (optionally committed before `before`).
 */
export async function logCommits(
  dir: string,
  range: { readonly to: string; readonly from?: string; readonly before?: string; readonly max: number },
  signal?: AbortSignal,
): Promise<CommitRecord[]> {
  const out = await git(
    [
      'log',
      `--format=${Rec}%H${Sep}%P${Sep}%an${Sep}%cI${Sep}%s`,
      '--name-status',
      '-M',
      '--diff-merges=first-parent',
      `--max-count=${range.max}`,
      ...(range.before ? [`--before=${range.before}`] : []),
      '--end-of-options',
      range.from ? `${range.from}..${range.to}` : range.to,
      '--',
    ],
    { cwd: dir, signal },
  );
  return parseLog(out);
}

/** `git show --stat` of a commit, against its first parent. */
export async function diffStat(dir: string, sha: string, signal?: AbortSignal): Promise<string> {
  return (
    await git(['show', '--stat=100', '--format=', '--diff-merges=first-parent', '--end-of-options', sha, '--'], {
      cwd: dir,
      signal,
    })
  ).trimEnd();
}

/** The patch of a commit, limited to `files` when given. The caller redacts and bounds it. */
export async function diffText(
  dir: string,
  sha: string,
  files: readonly string[] = [],
  signal?: AbortSignal,
): Promise<string> {
  return git(
    [
      'show',
      '--format=',
      '--no-color',
      '--unified=2',
      '--diff-merges=first-parent',
      '--end-of-options',
      sha,
      '--',
      ...files,
    ],
    { cwd: dir, maxBuffer: 4 * 1024 * 1024, signal },
  );
}
