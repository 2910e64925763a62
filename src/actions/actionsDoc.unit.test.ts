import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { actionDefinitions } from './registry.ts';

/** docs/actions.md is what users read: every action and every parameter it takes must be there. */
describe('docs/actions.md', () => {
  const doc = readFileSync(new URL('../../docs/actions.md', import.meta.url), 'utf8');
  const rows = new Map(
    doc
      .split('\n')
      .filter((line) => line.startsWith('| `'))
      .map((line) => [/^\| `(\w+)`/.exec(line)?.[1] ?? '', line]),
  );
  it('lists every action with each of its parameters', () => {
    for (const action of actionDefinitions) {
      const row = rows.get(action.type);
      expect(row, action.type).toBeDefined();
      for (const param of Object.keys(action.params)) expect(row, `${action.type} ${param}`).toContain(`\`${param}\``);
    }
    expect(rows.size).toBe(actionDefinitions.length);
  });
});
