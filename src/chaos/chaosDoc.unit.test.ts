import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { checkSafety, defaultSafety } from '../../domain/chaos/chaosSafety.ts';
import { STARTING_DEADLINE_MS } from '../../domain/chaos/chaosSchedule.ts';
import { chaosFaultTypes } from './faultPlan.ts';

const root = join(import.meta.dirname, '../..');
const doc = readFileSync(join(root, 'docs/chaos.md'), 'utf8');

/** The rows of a table in the section titled `heading`, cell by cell, the header and rule left out. */
const rowsOf = (heading: string) => {
  const start = doc.indexOf(`## ${heading}`);
  expect(start, heading).toBeGreaterThanOrEqual(0);
  const end = doc.indexOf('\n## ', start + 1);
  return doc
    .slice(start, end < 0 ? undefined : end)
    .split('\n')
    .filter((line) => /^\| `[a-z_]+` +\|/.test(line))
    .map((line) =>
      line
        .slice(1, -1)
        .split('|')
        .map((cell) => cell.trim()),
    );
};

describe('docs/chaos.md', () => {
  it('has one row per fault type the injector knows, and no other', () => {
    const documented = rowsOf('Fault types').map(([fault]) => fault?.replaceAll('`', ''));
    expect([...documented].sort()).toEqual(Object.keys(chaosFaultTypes).sort());
  });

  it('gives each fault its scope, its targets, and whether it is real, simulated only or refused', () => {
    for (const [fault, scope, targets, kind] of rowsOf('Fault types')) {
      const info = chaosFaultTypes[(fault as string).replaceAll('`', '') as keyof typeof chaosFaultTypes];
      expect(scope, fault).toBe(info.scope);
      expect(targets?.split(', '), fault).toEqual([...info.targetKinds]);
      expect(kind, fault).toBe(!info.injectable ? 'refused' : info.simulatedOnly ? 'simulated only' : 'real');
    }
  });

  it('lists the safety checks a run records, in their order', () => {
    const { checks } = checkSafety({
      targetLabel: 'Deployment shop/web',
      targetNamespace: 'shop',
      scope: 'pods',
      count: 1,
      safety: { ...defaultSafety, minHealthyPods: 1 },
      health: { exists: true, desired: 3, ready: 3, healthy: true, detail: 'healthy' },
    });
    expect(rowsOf('Safety checks').map(([check]) => check?.replaceAll('`', ''))).toEqual(checks.map((c) => c.name));
  });

  it('states the defaults and the starting deadline the code uses', () => {
    expect(doc).toMatch(new RegExp(`\\| \`safety\\.maxPodsPercent\` +\\| ${defaultSafety.maxPodsPercent} +\\|`));
    expect(doc).toContain(`\`[${defaultSafety.blockedNamespaces.join(', ')}]\``);
    expect(doc).toContain(`within ${STARTING_DEADLINE_MS / 1000} seconds`);
  });
});
