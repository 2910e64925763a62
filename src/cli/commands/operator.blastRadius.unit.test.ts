import { describe, expect, it } from 'vitest';
import { buildCli } from '../main.ts';

/** Parses `cairn operator` flags as the CLI does, without starting anything. */
const parse = (args: readonly string[]) => {
  const operator = buildCli().commands.find((c) => c.name() === 'operator');
  if (!operator) throw new Error('no operator command');
  operator.exitOverride();
  operator.parseOptions([...args]);
  return operator.opts() as { disruptionGuard: string; maxDependants: number };
};

describe('cairn operator blast radius limits', () => {
  it('default to refusing disruptions and approval above 5 dependants', () => {
    expect(parse([])).toMatchObject({ disruptionGuard: 'refuse', maxDependants: 5 });
  });

  it('take approve and a dependants limit', () => {
    expect(parse(['--disruption-guard', 'approve', '--max-dependants', '0'])).toMatchObject({
      disruptionGuard: 'approve',
      maxDependants: 0,
    });
  });

  it('name a bad value', () => {
    expect(() => parse(['--disruption-guard', 'sometimes'])).toThrow(
      '--disruption-guard: "sometimes" is not one of off, refuse, approve',
    );
    expect(() => parse(['--max-dependants', '-2'])).toThrow('--max-dependants');
    expect(() => parse(['--max-dependants', 'many'])).toThrow('--max-dependants');
  });
});
