import type { Command } from 'commander';

export function registerDemoCommand(program: Command): void {
  program
    .command('demo')
    .description('run Cairn end to end on a local control plane with injected faults')
    .action(async () => {
      process.stdout.write('The demo pipeline is not built yet.\n');
    });
}
