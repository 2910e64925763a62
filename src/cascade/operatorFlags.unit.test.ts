import { describe, expect, it } from 'vitest';
import { buildCli } from '../cli/main.ts';

/** Parses `cairn operator` flags as the CLI does, without starting anything. */
const parse = (args: readonly string[]) => {
  const operator = buildCli().commands.find((c) => c.name() === 'operator');
  if (!operator) throw new Error('no operator command');
  operator.exitOverride();
  operator.parseOptions([...args]);
  return operator.opts() as { cascadeWindow: number; cascadeRecoveryGrace: number };
};

describe('cairn operator cascade settings', () => {
  it('default to a 15-minute window and a 30-second recovery grace', () => {
    expect(parse([])).toMatchObject({ cascadeWindow: 15, cascadeRecoveryGrace: 30 });
  });

  it('take a window, off (0) and a grace', () => {
    expect(parse(['--cascade-window', '5', '--cascade-recovery-grace', '0'])).toMatchObject({
      cascadeWindow: 5,
      cascadeRecoveryGrace: 0,
    });
    expect(parse(['--cascade-window', 'off'])).toMatchObject({ cascadeWindow: 0 });
    expect(parse(['--cascade-window=0'])).toMatchObject({ cascadeWindow: 0 });
  });

  it('name a bad value and the flag', () => {
    expect(() => parse(['--cascade-window', 'fifteen'])).toThrow(/--cascade-window must be .*got "fifteen"/);
    expect(() => parse(['--cascade-window', '2000'])).toThrow('--cascade-window');
    expect(() => parse(['--cascade-recovery-grace', '1.5'])).toThrow(
      /--cascade-recovery-grace must be a whole number of seconds/,
    );
  });
});
