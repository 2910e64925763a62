import { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import { registerOperatorCommand } from '../cli/commands/operator.command.ts';

/** `cairn operator` as a user runs it: bad policy flags stop it before it reaches for a cluster or a store. */
const operator = (...args: string[]) => {
  const program = new Command('cairn').exitOverride();
  registerOperatorCommand(program);
  return program.parseAsync(['node', 'cairn', 'operator', '--kubeconfig', '/nonexistent/kubeconfig', ...args]);
};

describe('cairn operator policy flags', () => {
  it('names the flag and the value it refuses', async () => {
    await expect(operator('--namespace-mode', 'prod=approve,dev')).rejects.toThrow(
      '--namespace-mode: "dev" is not namespace=mode (e.g. prod=approve,dev=auto)',
    );
    await expect(operator('--remediation-mode', 'yolo')).rejects.toThrow('--remediation-mode: "yolo" is not a mode');
    await expect(operator('--deny-action', 'RestartDeploymnet')).rejects.toThrow(
      '--deny-action: unknown action type "RestartDeploymnet"',
    );
    await expect(operator('--max-replica-share', '0')).rejects.toThrow('--max-replica-share takes a share above 0');
    await expect(operator('--audit-event-max-age', 'forever')).rejects.toThrow(
      '--audit-event-max-age takes a duration such as 30d',
    );
    await expect(operator('--protected-namespace', 'Payments')).rejects.toThrow(
      '--protected-namespace: "Payments" is not a namespace name',
    );
  });

  it('refuses a policy that contradicts itself before starting anything', async () => {
    await expect(
      operator('--allow-action', 'DeletePod,RestartDeployment', '--deny-action', 'DeletePod'),
    ).rejects.toThrow('--allow-action and --deny-action both name DeletePod');
  });
});
