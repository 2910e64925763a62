import { relative } from 'node:path';
import type { Command } from 'commander';
import { checkCrds, defaultCrdDir, writeCrds } from '../../adapters/kubernetes/crdGenerator.ts';

/** `cairn crds generate|check`: the CRDs under crds/ are generated from src/adapters/kubernetes/api/. */
export function registerCrdCommands(program: Command): void {
  const crds = program.command('crds').description('the CustomResourceDefinitions of aiops.cairn.dev');
  const shown = relative(process.cwd(), defaultCrdDir) || '.';

  crds
    .command('generate')
    .description(`write the CRD YAML for every kind to ${shown}`)
    .option('-d, --dir <dir>', 'output directory', defaultCrdDir)
    .action((options: { dir: string }) => {
      const files = writeCrds(options.dir);
      process.stdout.write(`wrote ${files.length} CRDs to ${options.dir}\n`);
    });

  crds
    .command('check')
    .description(`fail when the CRD YAML in ${shown} differs from the schemas`)
    .option('-d, --dir <dir>', 'directory to check', defaultCrdDir)
    .action((options: { dir: string }) => {
      const drift = checkCrds(options.dir);
      if (drift.length === 0) {
        process.stdout.write(`CRDs in ${options.dir} are up to date\n`);
        return;
      }
      const lines = drift.map((d) => `  ${d.file} (${d.problem})`).join('\n');
      throw new Error(`CRDs drift from src/adapters/kubernetes/api; run \`npm run crds\`:\n${lines}`);
    });
}
