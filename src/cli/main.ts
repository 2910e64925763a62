import { Command, CommanderError } from 'commander';
import { prepareReadModel, readModelProjections } from '../../projections/readModel.projections.ts';
import { registerApiKeyCommand } from './commands/apikey.command.ts';
import { registerApprovalsCommand } from './commands/approvals.command.ts';
import { registerAuditCommand } from './commands/audit.command.ts';
import { registerBenchCommand } from './commands/bench.command.ts';
import { registerChaosCommand } from './commands/chaos.command.ts';
import { registerClusterCommands } from './commands/cluster.command.ts';
import { registerCrdCommands } from './commands/crds.command.ts';
import { registerDemoCommand } from './commands/demo.command.ts';
import { registerNotifyCommand } from './commands/notify.command.ts';
import { registerOperatorCommand } from './commands/operator.command.ts';
import { registerPrerequisitesCommand } from './commands/prerequisites.command.ts';
import { registerProjectionsCommand } from './commands/projections.command.ts';
import { registerReplayCommand } from './commands/replay.command.ts';
import { registerServerCommand } from './commands/server.command.ts';
import { registerSloCommand } from './commands/slo.command.ts';
import { registerSnapshotKeysCommand } from './commands/snapshotKeys.command.ts';

export function buildCli(): Command {
  const program = new Command('cairn')
    .description('Cairn: an event-sourced AIOps operator for Kubernetes')
    .showHelpAfterError()
    .exitOverride();
  for (const register of [
    registerOperatorCommand,
    registerServerCommand,
    registerClusterCommands,
    registerCrdCommands,
    registerDemoCommand,
    registerBenchCommand,
    registerAuditCommand,
    registerApiKeyCommand,
    (program: Command) => registerProjectionsCommand(program, readModelProjections, undefined, prepareReadModel),
    registerReplayCommand,
    registerSnapshotKeysCommand,
    registerNotifyCommand,
    registerApprovalsCommand,
    registerSloCommand,
    registerChaosCommand,
    registerPrerequisitesCommand,
  ])
    register(program);
  return program;
}

/** The composition root of the CLI: the only place that turns errors into an exit code. */
export async function main(argv: string[]): Promise<number> {
  try {
    await buildCli().parseAsync(argv);
    // A command that finished with a verdict (the demo's incidents not all resolved) sets it here.
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (error) {
    if (error instanceof CommanderError) return error.exitCode;
    process.stderr.write(`cairn: ${describe(error)}\n`);
    return 1;
  }
}

function describe(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  return error.cause === undefined ? error.message : `${error.message}\n  caused by: ${describe(error.cause)}`;
}
