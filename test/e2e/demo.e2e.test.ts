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
    const child = spawn(
      process.execPath,
      [cli, 'demo', '--keep-running', '--http-port', '0', '--cluster-name', clusterName],
      { cwd, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let out = '';
    let printed: () => void = () => {};
    const summaryPrinted = new Promise<void>((resolve) => {
      printed = resolve;
    });
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      out += d;
      if (out.includes('press Ctrl-C to stop it')) printed();
    });
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      out += d;
    });
    const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
    await Promise.race([summaryPrinted, exited]);

    // While it keeps running, the ways in it printed answer, with the development key it printed.
    const key = /API key: +(\S+)/.exec(out)?.[1];
    const rest = /REST: +(\S+)/.exec(out)?.[1];
    const graphql = /GraphQL: +(\S+)/.exec(out)?.[1];
    const dashboard = /dashboard: +(\S+)/.exec(out)?.[1];
    expect(key, out).toBeDefined();
    const headers = { 'x-api-key': key!, 'content-type': 'application/json' };
    const listed = (await (await fetch(rest!, { headers })).json()) as { items: { state: string }[] };
    expect(listed.items.map((i) => i.state)).toEqual(['Resolved', 'Resolved']);
    const queried = await fetch(graphql!, {
      method: 'POST',
      headers,
      body: JSON.stringify({ query: '{ incidents { items { workload { name } state timeline { type } } } }' }),
    });
    const { data } = (await queried.json()) as {
      data: { incidents: { items: { workload: { name: string }; state: string; timeline: unknown[] }[] } };
    };
    expect(data.incidents.items.map((i) => i.workload.name).sort()).toEqual(['cart', 'web']);
    expect(data.incidents.items.every((i) => i.state === 'Resolved' && i.timeline.length > 3)).toBe(true);
    expect(dashboard).toMatch(/#key=/);
    const page = await fetch(dashboard!.split('#')[0]!);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('<title>Cairn</title>');

    child.kill('SIGINT');
    const code = await exited;

    expect(out).toContain('Both incidents ended: 2 of 2 resolved');
    expect(code).toBe(0);
    expect(out.match(/RESOLVED {4}after/g)).toHaveLength(2);
    expect(out).toMatch(/plan +RollbackDeployment\(toRevision=1\)/);
    expect(out).toMatch(/plan +AdjustResources\(/);
    expect(out).toMatch(/replay: +npx cairn replay [0-9a-f]+ --store sqlite:/);
    expect(out).toContain('Stopping the operator and the local cluster');
    expect(existsSync(join(cwd, 'cairn-data', 'demo', 'events.db'))).toBe(true);
    expect(existsSync(clusterDir(clusterName))).toBe(false);
  });
});
