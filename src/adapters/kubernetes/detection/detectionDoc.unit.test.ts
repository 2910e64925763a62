import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { severityFor, signalWeight } from '../../../../domain/correlation/risk.policy.ts';
import { signalTypes } from '../api/signalTypes.ts';
import { DefaultThresholds } from './detectors.ts';

const root = join(import.meta.dirname, '../../../..');
const doc = readFileSync(join(root, 'docs/detection.md'), 'utf8');

/** The rows of the "Signals" table, cell by cell. */
const signalRows = (() => {
  const section = doc.slice(doc.indexOf('## Signals'), doc.indexOf('## What is never flagged'));
  return section
    .split('\n')
    .filter((line) => /^\| `[a-z_]+` +\|/.test(line))
    .map((line) =>
      line
        .slice(1, -1)
        .split('|')
        .map((cell) => cell.trim()),
    );
})();

describe('docs/detection.md', () => {
  it('has one row per signal an Anomaly can carry, and no other', () => {
    const documented = signalRows.map(([signal]) => signal?.replaceAll('`', ''));
    expect([...documented].sort()).toEqual([...signalTypes].sort());
  });

  it('gives each signal its weight from the risk table and the severity it has alone', () => {
    for (const [signal, , , , weight, alone] of signalRows) {
      const name = (signal as string).replaceAll('`', '');
      expect(Number(weight), name).toBe(signalWeight(name));
      // A burn alert carries its pair's severity as a floor (docs/slo.md), whatever its weight alone would give.
      expect(alone, name).toBe(name === 'slo_burn_rate' ? 'pair' : severityFor(signalWeight(name)).toLowerCase());
    }
  });

  it('names real thresholds with their defaults', () => {
    let named = 0;
    for (const [signal, , , waits] of signalRows) {
      const threshold = /^`(\w+)` \((\d+) s\)$/.exec(waits as string);
      if (!threshold) continue;
      named += 1;
      const [, name, seconds] = threshold;
      expect(Object.keys(DefaultThresholds), `${signal}: ${name}`).toContain(name);
      expect(DefaultThresholds[name as keyof typeof DefaultThresholds], `${signal}: ${name}`).toBe(Number(seconds));
    }
    expect(named).toBeGreaterThanOrEqual(15);
    for (const [name, value] of Object.entries(DefaultThresholds)) {
      if (name.endsWith('Seconds')) expect(doc, name).toContain(`\`${name}\``);
      else expect(doc, name).toContain(`\`${name}\` (${value})`);
    }
  });

  it('points at test files that exist', () => {
    const files = [...doc.matchAll(/(?:test|src)\/[\w/.-]+\.test\.ts/g)].map((m) => m[0]);
    expect(files.length).toBeGreaterThan(10);
    for (const file of new Set(files)) expect(existsSync(join(root, file)), file).toBe(true);
  });
});
