import { describe, expect, it } from 'vitest';
import { DisruptionGuard } from '../../actions/blastRadius.ts';
import { defaultRemediationPolicy } from '../../actions/policy.ts';
import { describePolicy } from '../../policy/policyConfig.ts';
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

  it('are part of the policy logged at start-up and shown in /readyz', () => {
    expect(describePolicy(defaultRemediationPolicy({ maxDependants: 2 }))).toContain(
      'disruption guard refuse; approval above 2 dependant(s)',
    );
    expect(describePolicy(defaultRemediationPolicy({ disruptionGuard: DisruptionGuard.Off }))).toContain(
      'disruption guard off; no blast radius assessed',
    );
  });
});
