import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { buildCli } from '../main.ts';
import { registerSloCommand, sloRules } from './slo.command.ts';

let dir: string;
const sloYaml = (name: string, extra = '') => `apiVersion: aiops.cairn.dev/v1alpha1
kind: ServiceLevelObjective
metadata: { name: ${name}${extra} }
spec:
  service: checkout
  workload: { kind: Deployment, name: checkout }
  indicator:
    type: latency
    latency: { metric: http_request_duration_seconds, selector: '{service="checkout"}', threshold: 0.3 }
  target: 99.9
  window: 30d
`;
const policy = `apiVersion: aiops.cairn.dev/v1alpha1
kind: NotificationPolicy
metadata: { name: on-call }
spec: { channels: [], rules: [] }
`;

const run = async (request: Omit<Parameters<typeof sloRules>[0], 'write'>) => {
  let out = '';
  await sloRules({ ...request, write: (t) => (out += t) });
  return out;
};

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'cairn-slo-cli-'));
  await writeFile(join(dir, 'one.yaml'), `${sloYaml('checkout-latency', ', namespace: shop')}---\n${policy}`);
  await writeFile(join(dir, 'two.yaml'), `${sloYaml('a')}---\n${sloYaml('b')}`);
  await writeFile(join(dir, 'bad.yaml'), sloYaml('bad').replace('threshold: 0.3', 'threshold: 0'));
  await writeFile(join(dir, 'broken.yaml'), 'kind: [unclosed');
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('cairn slo rules --file', () => {
  it('prints the PrometheusRule of the one SLO in a file, skipping other kinds', async () => {
    const rule = parse(await run({ file: join(dir, 'one.yaml'), labels: ['release=prometheus'] }));
    expect(rule.kind).toBe('PrometheusRule');
    expect(rule.metadata).toEqual({
      name: 'slo-checkout-latency',
      namespace: 'shop',
      labels: { release: 'prometheus' },
    });
    expect(rule.spec.groups[0].rules[0].labels).toEqual({ slo: 'checkout-latency', namespace: 'shop' });
  });

  it('takes the SLO named among several, in the namespace given by -n when the file has none', async () => {
    const rule = parse(await run({ file: join(dir, 'two.yaml'), slo: 'b', namespace: 'team' }));
    expect(rule.metadata).toEqual({ name: 'slo-b', namespace: 'team' });
    expect(parse(await run({ file: join(dir, 'two.yaml'), slo: 'team/a' })).metadata.name).toBe('slo-a');
  });

  it('says what is wrong, and prints nothing', async () => {
    await expect(run({ file: join(dir, 'two.yaml') })).rejects.toThrow(
      /two\.yaml holds 2 ServiceLevelObjectives \(a, b\): name one/,
    );
    await expect(run({ file: join(dir, 'two.yaml'), slo: 'c' })).rejects.toThrow(
      /holds no ServiceLevelObjective c \(it holds a, b\)/,
    );
    await expect(run({ file: join(dir, 'bad.yaml') })).rejects.toThrow(
      'ServiceLevelObjective default/bad: spec.indicator.latency.threshold: must be a number above 0',
    );
    await expect(run({ file: join(dir, 'broken.yaml') })).rejects.toThrow(/broken\.yaml is not YAML/);
    await expect(run({ file: join(dir, 'missing.yaml') })).rejects.toThrow(/cannot read .*missing\.yaml/);
    await expect(run({ file: join(dir, 'one.yaml'), labels: ['release'] })).rejects.toThrow(/--label takes key=value/);
    await expect(run({ file: join(dir, 'two.yaml'), slo: 'a/b/c' })).rejects.toThrow(/<namespace>\/<name> or <name>/);
    await expect(run({ file: join(dir, 'two.yaml'), slo: 'x/a', namespace: 'y' })).rejects.toThrow(
      'x/a names namespace x, but -n says y',
    );
  });

  it('reads standard input with -f -', async () => {
    const rule = parse(await run({ file: '-', stdin: async () => sloYaml('piped', ', namespace: web') }));
    expect(rule.metadata).toEqual({ name: 'slo-piped', namespace: 'web' });
  });

  it('is a command of the cairn CLI', async () => {
    const program = buildCli();
    const slo = program.commands.find((c) => c.name() === 'slo');
    expect(slo?.commands.map((c) => c.name())).toEqual(['rules']);
    let out = '';
    const { Command } = await import('commander');
    const own = new Command('cairn').exitOverride();
    registerSloCommand(own, (t) => {
      out += t;
    });
    await own.parseAsync(['node', 'cairn', 'slo', 'rules', '-f', join(dir, 'two.yaml'), '-n', 'team', 'a']);
    expect(parse(out).metadata).toEqual({ name: 'slo-a', namespace: 'team' });
  });
});
