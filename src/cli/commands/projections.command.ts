import type Database from 'better-sqlite3';
import type { Command } from 'commander';
import { DEFAULT_EVENT_STORE_URL } from '../../adapters/eventstore/eventStore.factory.ts';
import { openEventStore } from '../../adapters/eventstore/openEventStore.ts';
import {
  createSqliteProjectionTarget,
  defaultReadModelPath,
  openSqliteReadModel,
  type SqliteProjection,
} from '../../adapters/readmodel/sqlite.projectionTarget.ts';
import { createProjectionRunner } from '../../application/projectionRunner.ts';
import type { Write } from './audit.command.ts';

const stdout: Write = (text) => {
  process.stdout.write(text);
};

/**
 * `cairn projections rebuild|status`. The projections are passed in by whoever composes the CLI; with none
 * registered the command says so rather than pretending to have rebuilt something.
 */
export function registerProjectionsCommand(
  program: Command,
  projections: readonly SqliteProjection[] = [],
  write: Write = stdout,
  /** Brings an existing read model file to the projections' schema before they run. */
  prepare: (db: Database.Database) => void = () => {},
): void {
  const command = program.command('projections').description('inspect and rebuild the read-model projections');

  const withRunner = async (
    opts: { store: string; readModel?: string },
    fn: (runner: ReturnType<typeof createProjectionRunner>) => Promise<void>,
  ) => {
    const store = openEventStore(opts.store, { mustExist: true });
    const db = openSqliteReadModel(opts.readModel ?? defaultReadModelPath(opts.store));
    prepare(db);
    try {
      await fn(createProjectionRunner({ store, target: createSqliteProjectionTarget(db), projections }));
    } finally {
      await store.close();
      db.close();
    }
  };

  command
    .command('rebuild')
    .description('reset projections (tables and checkpoint) and replay the whole log into them')
    .argument('[names...]', 'projections to rebuild; all when omitted')
    .option('--store <url>', 'event store URL', DEFAULT_EVENT_STORE_URL)
    .option('--read-model <path>', 'read model sqlite file (default: readmodel.db beside the store)')
    .action(async (names: string[], opts: { store: string; readModel?: string }) => {
      if (projections.length === 0) {
        write('no projections are registered; nothing to rebuild\n');
        return;
      }
      await withRunner(opts, async (runner) => {
        const chosen = names.length > 0 ? names : projections.map((p) => p.name);
        const started = Date.now();
        await runner.rebuild(chosen);
        const took = Date.now() - started;
        for (const s of runner.status().filter((s) => chosen.includes(s.name))) {
          write(`rebuilt ${s.name}: checkpoint ${s.checkpoint ?? 'none'}\n`);
        }
        write(`replayed the log into ${chosen.length} projection(s) in ${took} ms\n`);
      });
    });

  command
    .command('status')
    .description('print each projection and its checkpoint')
    .option('--store <url>', 'event store URL', DEFAULT_EVENT_STORE_URL)
    .option('--read-model <path>', 'read model sqlite file (default: readmodel.db beside the store)')
    .action(async (opts: { store: string; readModel?: string }) => {
      if (projections.length === 0) {
        write('no projections are registered\n');
        return;
      }
      await withRunner(opts, async (runner) => {
        for (const s of runner.status()) write(`${s.name}  checkpoint ${s.checkpoint ?? 'none'}\n`);
      });
    });
}
