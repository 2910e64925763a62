import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Command } from 'commander';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeGameDay } from '../../../test/support/chaosLog.ts';
import { openEventStore } from '../../adapters/eventstore/openEventStore.ts';
import { buildChaosReport } from '../../chaos/chaosReport.ts';
import { parseExperimentRef, registerChaosCommand } from './chaos.command.ts';

/**
 * `cairn chaos` against a real sqlite event store, filled through the store API with a game day's events (written
 * by the chaos decider and validated by the catalogue, like the operator's).
 */
let dir: string;
let url: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'cairn-cli-chaos-'));
  url = `sqlite:${join(dir, 'events.db')}`;
  const store = openEventStore(url);
  await writeGameDay(store);
  await writeGameDay(store, 'payments', 'bad-image.v2');
  await store.close();
});
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

async function cairn(...args: string[]): Promise<string> {
  let out = '';
  const program = new Command('cairn').exitOverride();
  registerChaosCommand(program, (text) => {
    out += text;
  });
  await program.parseAsync(['node', 'cairn', 'chaos', ...args]);
  return out;
}

describe('cairn chaos report', () => {
  it('prints every run latest first with its timeline, checks and figures, then the summary', async () => {
    const out = await cairn('report', 'shop/bad-image', '--store', url);
    if (process.env.CAIRN_SHOW_REPORT) process.stdout.write(out);
    const lines = out.split('\n');
    expect(lines[0]).toBe('ChaosExperiment shop/bad-image');
    expect(lines.filter((l) => /^Run \d/.test(l))).toEqual([
      'Run 4: FAILED  image_pull on Deployment shop/web (edited)',
      'Run 3: PASSED  image_pull on Deployment shop/web (edited)',
      'Run 2: REFUSED  image_pull on Deployment shop/web (edited)',
      'Run 1: PASSED  image_pull on Deployment shop/web (created)',
    ]);
    // The Issue's signal comes from its own stream.
    expect(lines).toContain('    +00:03.2  Issue detected iss-shop-r1 (image_pull)');
    expect(lines).toContain(
      '    FAILED  share        the fault reaches every replica: 3 of 3 (100%), at most 50% allowed by safety.maxPodsPercent',
    );
    expect(out).toMatch(
      / {4}time to detect +3\.2 s\n {4}time to plan +4\.1 s\n {4}time to recover +7\.9 s\n {4}remediated by Cairn +yes/,
    );
    expect(out).toContain(
      'Summary over 4 run(s)\n  passed 2, failed 1, aborted 0, dry run 0, refused 1, in progress 0',
    );
    expect(out).toMatch(/time to detect +3 +3\.2 s +4 s/);
  });

  it('--run shows one run, and --json is the report document itself', async () => {
    const one = await cairn('report', 'shop/bad-image', '--store', url, '--run', '2');
    expect(one).toContain('Run 2: REFUSED');
    expect(one).not.toContain('Run 1:');
    expect(one).toContain('Summary over 4 run(s)');
    const latest = await cairn('report', 'shop/bad-image', '--store', url, '--last', '2');
    expect(
      latest
        .split('\n')
        .filter((l) => /^Run \d/.test(l))
        .map((l) => l.slice(0, 5)),
    ).toEqual(['Run 4', 'Run 3']);
    expect(latest).toContain('Summary over 4 run(s)');

    const json = JSON.parse(await cairn('report', 'payments/bad-image.v2', '--store', url, '--json', '--run', '1'));
    const store = openEventStore(url);
    const events = await store.readStream('chaos-payments.bad-image.v2');
    await store.close();
    expect(json).toEqual(
      JSON.parse(
        JSON.stringify(
          buildChaosReport({ namespace: 'payments', name: 'bad-image.v2' }, events, {
            run: 1,
            issueSignal: () => 'image_pull',
          }),
        ),
      ),
    );
    expect(json.runs[0].figures).toEqual({
      timeToDetectSeconds: 3.2,
      timeToPlanSeconds: 4.1,
      timeToRecoverSeconds: 7.9,
      remediatedByCairn: true,
      issueId: 'iss-payments-r1',
    });
  });

  it('refuses what it cannot answer, saying why', async () => {
    await expect(cairn('report', 'shop/nothing', '--store', url)).rejects.toThrow(
      'ChaosExperiment shop/nothing has no runs recorded',
    );
    await expect(cairn('report', 'shop/bad-image', '--store', url, '--run', '9')).rejects.toThrow(
      'ChaosExperiment shop/bad-image has no run 9; its runs are 1 to 4',
    );
    await expect(cairn('report', 'shop/bad-image', '--store', url, '--run', '0')).rejects.toThrow(
      /--run <n>' argument '0' is invalid\. a whole number from 1/,
    );
    await expect(cairn('report', 'bad-image', '--store', url)).rejects.toThrow(
      '"bad-image" is not <namespace>/<name> of a ChaosExperiment',
    );
    await expect(cairn('report', 'shop/bad-image', '--store', `sqlite:${join(dir, 'missing.db')}`)).rejects.toThrow();
    expect(() => parseExperimentRef('Shop/x')).toThrow(/lower-case Kubernetes names/);
    expect(() => parseExperimentRef('shop/a/b')).toThrow(/not <namespace>\/<name>/);
    expect(parseExperimentRef('shop/bad-image.v2')).toEqual({ namespace: 'shop', name: 'bad-image.v2' });
  });
});

describe('cairn chaos list', () => {
  it('lists every experiment that has run, with its latest run', async () => {
    const lines = (await cairn('list', '--store', url)).trimEnd().split('\n');
    expect(lines[0]).toMatch(
      /^EXPERIMENT +RUNS +LATEST +STATE +FAULT +TARGET +DETECT +PLAN +RECOVER +BY CAIRN +STARTED$/,
    );
    expect(lines.slice(1).map((l) => l.split(/ {2,}/).slice(0, 4))).toEqual([
      ['payments/bad-image.v2', '4', '4', 'Failed'],
      ['shop/bad-image', '4', '4', 'Failed'],
    ]);
    const json = JSON.parse(await cairn('list', '--store', url, '--json'));
    expect(json.map((e: { namespace: string; name: string }) => `${e.namespace}/${e.name}`)).toEqual([
      'payments/bad-image.v2',
      'shop/bad-image',
    ]);
    expect(json[1].latest).toMatchObject({ run: 4, outcome: 'failed', figures: { remediatedByCairn: false } });
  });

  it('says so when nothing has run', async () => {
    const empty = `sqlite:${join(dir, 'empty.db')}`;
    await openEventStore(empty).close();
    expect(await cairn('list', '--store', empty)).toBe('no ChaosExperiment has run yet\n');
  });
});

describe('the cairn executable', () => {
  it('has the chaos command, and a refusal exits 1 with the reason on stderr', async () => {
    const run = promisify(execFile);
    const bin = join(import.meta.dirname, '../cairn.mjs');
    const { stdout } = await run(process.execPath, [
      bin,
      'chaos',
      'report',
      'shop/bad-image',
      '--run',
      '3',
      '--store',
      url,
    ]);
    expect(stdout).toContain('Run 3: PASSED');
    const failed = await run(process.execPath, [bin, 'chaos', 'report', 'shop/ghost', '--store', url]).catch(
      (error: { code: number; stderr: string }) => error,
    );
    expect(failed).toMatchObject({ code: 1, stderr: 'cairn: ChaosExperiment shop/ghost has no runs recorded\n' });
  }, 120_000);
});
