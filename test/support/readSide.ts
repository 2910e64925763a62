import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Fastify, { type FastifyInstance } from 'fastify';
import { readModelProjections } from '../../projections/readModel.projections.ts';
import { openEventStore } from '../../src/adapters/eventstore/openEventStore.ts';
import { graphqlPlugin } from '../../src/adapters/http/graphql/graphql.plugin.ts';
import { createReadModelQueries, type ReadModelQueries } from '../../src/adapters/readmodel/readModel.queries.ts';
import {
  createSqliteProjectionTarget,
  openSqliteReadModel,
} from '../../src/adapters/readmodel/sqlite.projectionTarget.ts';
import { createProjectionRunner } from '../../src/application/projectionRunner.ts';
import { createReadModelChanges } from '../../src/application/readModelChanges.ts';
import type { EventStore } from '../../src/ports/eventStore.ts';

export interface ReadSide {
  readonly store: EventStore;
  readonly queries: ReadModelQueries;
  readonly app: FastifyInstance;
  /** `http://127.0.0.1:<port>` */
  readonly url: string;
  stop(): Promise<void>;
}

/**
 * The read side as the operator runs it, on a listening port: a sqlite event store and read model in a temp dir,
 * the projections live (catch-up then subscription), and the API serving from the read model.
 */
export async function startReadSide(): Promise<ReadSide> {
  const dir = mkdtempSync(join(tmpdir(), 'cairn-readside-'));
  const store = openEventStore(`sqlite:${join(dir, 'events.db')}`);
  const db = openSqliteReadModel(join(dir, 'readmodel.db'));
  const changes = createReadModelChanges();
  const runner = createProjectionRunner({
    store,
    target: createSqliteProjectionTarget(db),
    projections: readModelProjections,
    onProjected: changes.publish,
  });
  await runner.start();
  const queries = createReadModelQueries(db);
  const app = Fastify();
  await app.register(graphqlPlugin, { queries, changes });
  const url = await app.listen({ host: '127.0.0.1', port: 0 });
  return {
    store,
    queries,
    app,
    url,
    async stop() {
      await app.close();
      await runner.stop();
      await store.close();
      db.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
