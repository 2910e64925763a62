import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Command } from 'commander';

const benchDir = new URL('../../../bench/', import.meta.url).pathname;

/** Benchmarks are scripts under bench/ that print `name=value unit` lines; this runs them one after another. */
export function registerBenchCommand(program: Command): void {
  program
    .command('bench')
    .description('run the benchmarks under bench/ (each prints name=value unit lines)')
    .argument('[names...]', 'benchmarks to run (file names without .bench.ts); all when omitted')
    .action((names: string[]) => {
      const all = readdirSync(benchDir).filter((f) => f.endsWith('.bench.ts'));
      const chosen = names.length === 0 ? all : all.filter((f) => names.includes(f.replace(/\.bench\.ts$/, '')));
      if (chosen.length === 0) throw new Error(`no benchmark matches ${names.join(', ')}; known: ${all.join(', ')}`);
      for (const file of chosen) {
        process.stdout.write(`# ${file}\n`);
        const run = spawnSync(process.execPath, ['--import', 'tsx', join(benchDir, file)], {
          stdio: 'inherit',
          cwd: join(benchDir, '..'),
        });
        if (run.status !== 0) throw new Error(`benchmark ${file} failed with exit code ${run.status}`);
      }
    });
}
