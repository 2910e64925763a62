import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { checkEnvelope, EnvelopeCode } from './envelope.ts';
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

/** The envelope table names every bound's code and every action the envelope judges. */
describe('docs/actions.md, the sanity envelope', () => {
  const doc = readFileSync(new URL('../../docs/actions.md', import.meta.url), 'utf8');
  const table = doc.slice(doc.indexOf('## The sanity envelope'), doc.indexOf('## The actions'));
  it('lists every envelope code', () => {
    for (const code of Object.values(EnvelopeCode)) expect(table, code).toContain(`\`${code}\``);
  });
  it('lists every action the envelope can refuse', () => {
    const target = { kind: 'Deployment', name: 'web', namespace: 'shop' };
    for (const { type } of actionDefinitions) {
      // With no facts at all, an action the envelope judges is refused for want of them (or for its values).
      const params = {
        replicas: '3',
        size: '1Gi',
        pvc: 'p',
        memory_limit: '1Gi',
        maxReplicas: '3',
        parallelism: '2',
        activeDeadlineSeconds: '1',
        backoffLimit: '99',
        startingDeadlineSeconds: '1',
        schedule: '* * * * *',
        maxUnavailable: '100%',
      };
      const judged = !checkEnvelope({ actionId: 'a', type, params }, target, {}).ok;
      if (judged) expect(table, type).toContain(`\`${type}\``);
    }
  });
});
