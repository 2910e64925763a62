import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { clusterDir } from '../../src/cluster/localCluster.ts';

const cli = new URL('../../src/cli/cairn.mjs', import.meta.url).pathname;

/**
 * `npm run demo` is the first thing a newcomer runs. This runs it as they would (its own control plane, its own
 * working directory) and holds it to its promise: both incidents resolved, the ways in printed, nothing left behind.
 */
describe('cairn demo', () => {
  it('takes two injected faults to two resolved incidents and cleans up after itself', async () => {
    const cwd = mkdtempSync(join(tmpdir(), 'cairn-demo-'));
    const clusterName = `cairn-demo-test-${process.pid}`;
    const child = spawn(process.execPath, [cli, 'demo', '--exit', '--http-port', '0', '--cluster-name', clusterName], {
      cwd,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      out += d;
    });
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      out += d;
    });
    const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));

    expect(out).toContain('Both incidents ended: 2 of 2 resolved');
    expect(code).toBe(0);
    expect(out.match(/RESOLVED {4}after/g)).toHaveLength(2);
    expect(out).toMatch(/plan +RollbackDeployment\(toRevision=1\)/);
    expect(out).toMatch(/plan +AdjustResources\(/);
    expect(out).toMatch(/replay: +npx cairn replay [0-9a-f]+ --store sqlite:/);
    expect(existsSync(join(cwd, 'cairn-data', 'demo', 'events.db'))).toBe(true);
    expect(existsSync(clusterDir(clusterName))).toBe(false);
  });
});
