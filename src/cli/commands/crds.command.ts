import { join, relative } from 'node:path';
import type { Command } from 'commander';
import { checkCrds, crdDirs, writeCrds } from '../../adapters/kubernetes/crdGenerator.ts';

/**
 * `cairn crds generate|check`: the CRDs under crds/ and the Helm chart's crds/ are generated from
 * src/adapters/kubernetes/api/, so the two copies cannot differ.
 */
export function registerCrdCommands(program: Command): void {
  const crds = program.command('crds').description('the CustomResourceDefinitions of aiops.cairn.dev');
  const shown = crdDirs.map((dir) => relative(process.cwd(), dir) || '.').join(' and ');
  const dirsOf = (options: { dir?: string }) => (options.dir === undefined ? crdDirs : [options.dir]);

  crds
    .command('generate')
    .description(`write the CRD YAML for every kind to ${shown}`)
    .option('-d, --dir <dir>', 'write to this directory only')
    .action((options: { dir?: string }) => {
      for (const dir of dirsOf(options)) {
        const files = writeCrds(dir);
        process.stdout.write(`wrote ${files.length} CRDs to ${dir}\n`);
      }
    });

  crds
    .command('check')
    .description(`fail when the CRD YAML in ${shown} differs from the schemas`)
    .option('-d, --dir <dir>', 'check this directory only')
    .action((options: { dir?: string }) => {
      const drift = dirsOf(options).flatMap((dir) =>
        checkCrds(dir).map((d) => `  ${relative(process.cwd(), join(dir, d.file))} (${d.problem})`),
      );
      if (drift.length === 0) {
        process.stdout.write(`CRDs in ${dirsOf(options).join(' and ')} are up to date\n`);
        return;
      }
      throw new Error(`CRDs drift from src/adapters/kubernetes/api; run \`npm run crds\`:\n${drift.join('\n')}`);
    });
}
