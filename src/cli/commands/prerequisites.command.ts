import type { Command } from 'commander';
import { ensurePrerequisites, machineLookup, runShown } from '../../cluster/prerequisites.ts';

const progress = (line: string) => process.stderr.write(`• ${line}\n`);

export function registerPrerequisitesCommand(program: Command): void {
  program
    .command('prerequisites')
    .description(
      'check the tools the tests run for real (Go, Alertmanager, Prometheus, Chromium, jq, openssl, git, sshd); ' +
        'as root with apt-get, install the missing Debian packages, otherwise list the commands to run',
    )
    .option('--no-install', 'only check and list the commands to run, install nothing')
    .action(async (opts: { install: boolean }) => {
      await ensurePrerequisites({
        look: machineLookup,
        root: process.getuid?.() === 0,
        install: opts.install,
        run: runShown,
        log: progress,
      });
    });
}
