import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildBundle, defaultBundlePath } from './build.ts';

// Built beside dist/cairn.mjs rather than in the system temp dir: the externals (better-sqlite3) resolve from the
// repository's node_modules, as they do for the real bundle. A directory of its own leaves a real build alone.
let dir: string;
let bundle: string;

beforeAll(async () => {
  mkdirSync(dirname(defaultBundlePath), { recursive: true });
  dir = mkdtempSync(join(dirname(defaultBundlePath), '.test-build-'));
  bundle = join(dir, 'cairn.mjs');
  const { warnings } = await buildBundle(bundle);
  expect(warnings).toEqual([]);
}, 60_000);

afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const runBundle = (...args: string[]) =>
  spawnSync(process.execPath, [bundle, ...args], { encoding: 'utf8', timeout: 10_000 });

describe('the production bundle', () => {
  it('runs with plain node and lists the commands, the operator among them', () => {
    const run = runBundle('--help');
    expect(run.status, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/^\s+operator \[options\]/m);
  });

  it("parses the operator's options without tsx", () => {
    const run = runBundle('operator', '--help');
    expect(run.status, run.stderr).toBe(0);
    expect(run.stdout).toContain('--kubeconfig <path>');
  });

  it('loads the gRPC AI server, protocol files included', () => {
    const run = runBundle('server', '--help');
    expect(run.status, run.stderr).toBe(0);
    expect(run.stdout).toContain('--token-file <file>');
  });

  it('exits non-zero on an unknown command, as the tsx entry point does', () => {
    const run = runBundle('no-such-command');
    expect(run.status).not.toBe(0);
    expect(run.stderr).toContain('no-such-command');
  });
});
