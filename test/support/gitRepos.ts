import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

/**
 * Real git repositories made by the tests: `git init`, files written, commits with fixed authors and dates (so two
 * runs give the same history, shas aside), tags. Nothing here imitates git.
 */
export interface TestRepo {
  readonly dir: string;
  /** `file://` URL of the repository, as a SourceRepository names it. */
  readonly url: string;
  /** Writes (or, with `null`, deletes) the files and commits them; returns the new commit's sha. */
  commit(message: string, files: Readonly<Record<string, string | null>>, options?: { author?: string }): string;
  /** Renames a file in a commit of its own. */
  rename(from: string, to: string, message: string): string;
  tag(name: string, ref?: string): void;
  branch(name: string): void;
  checkout(name: string): void;
  /** Merges a branch with a merge commit (never fast-forward); returns the merge's sha. */
  merge(name: string, message: string): string;
  head(): string;
  git(...args: string[]): string;
  remove(): void;
}

let clock = Date.parse('2026-12-01T09:00:00Z');

export function createTestRepo(prefix = 'cairn-repo-', branch = 'main'): TestRepo {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  const run = (args: string[], env: Record<string, string> = {}) =>
    execFileSync('git', args, {
      cwd: dir,
      encoding: 'utf8',
      env: {
        PATH: process.env.PATH ?? '/usr/bin:/bin',
        HOME: dir,
        GIT_CONFIG_NOSYSTEM: '1',
        GIT_CONFIG_GLOBAL: '/dev/null',
        LC_ALL: 'C',
        ...env,
      },
    }).trim();
  const dated = (author = 'Ada Lovelace') => {
    clock += 60_000;
    const when = new Date(clock).toISOString();
    const email = `${author.toLowerCase().replace(/[^a-z]+/g, '.')}@example.com`;
    return {
      GIT_AUTHOR_NAME: author,
      GIT_AUTHOR_EMAIL: email,
      GIT_COMMITTER_NAME: author,
      GIT_COMMITTER_EMAIL: email,
      GIT_AUTHOR_DATE: when,
      GIT_COMMITTER_DATE: when,
    };
  };
  run(['init', '--quiet', `--initial-branch=${branch}`]);
  const repo: TestRepo = {
    dir,
    url: `file://${dir}`,
    commit(message, files, options = {}) {
      for (const [path, content] of Object.entries(files)) {
        const full = join(dir, path);
        if (content === null) rmSync(full, { force: true });
        else {
          mkdirSync(dirname(full), { recursive: true });
          writeFileSync(full, content);
        }
      }
      run(['add', '--all']);
      run(['commit', '--quiet', '--allow-empty', '-m', message], dated(options.author));
      return repo.head();
    },
    rename(from, to, message) {
      mkdirSync(dirname(join(dir, to)), { recursive: true });
      run(['mv', from, to]);
      run(['commit', '--quiet', '-m', message], dated());
      return repo.head();
    },
    tag(name, ref = 'HEAD') {
      run(['tag', name, ref]);
    },
    branch(name) {
      run(['branch', name]);
    },
    checkout(name) {
      run(['checkout', '--quiet', name]);
    },
    merge(name, message) {
      run(['merge', '--quiet', '--no-ff', '-m', message, name], dated());
      return repo.head();
    },
    head: () => run(['rev-parse', 'HEAD']),
    git: (...args) => run(args),
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
  return repo;
}
