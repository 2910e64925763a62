import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { readModelProjections } from '../../projections/readModel.projections.ts';
import { openEventStore } from '../../src/adapters/eventstore/openEventStore.ts';
import { type GraphqlOptions, graphqlRoutes } from '../../src/adapters/http/graphql/graphql.plugin.ts';
import { buildHttpApp, type HttpAppDeps } from '../../src/adapters/http/httpApp.ts';
import { createNotificationQueries } from '../../src/adapters/readmodel/notifications.queries.ts';
import { createReadModelQueries, type ReadModelQueries } from '../../src/adapters/readmodel/readModel.queries.ts';
import {
  createSqliteProjectionTarget,
  openSqliteReadModel,
} from '../../src/adapters/readmodel/sqlite.projectionTarget.ts';
import { createApiCommands } from '../../src/application/apiCommands.ts';
import { createAnomalyIntake } from '../../src/application/detection/anomalyIntake.ts';
import { createAnomalyRecorder } from '../../src/application/detection/anomalyRecorder.ts';
import { createProjectionRunner } from '../../src/application/projectionRunner.ts';
import { createReadModelChanges } from '../../src/application/readModelChanges.ts';
import type { EventStore } from '../../src/ports/eventStore.ts';
import { WorkloadRefusal } from '../../src/ports/workloadLookup.ts';
import { testKeys } from './apiKeys.ts';

export interface ReadSide {
  readonly store: EventStore;
  readonly queries: ReadModelQueries;
  readonly app: FastifyInstance;
  /** `http://127.0.0.1:<port>` */
  readonly url: string;
  /** A real key per role, and the header that carries one. */
  readonly keys: ReturnType<typeof testKeys>;
  stop(): Promise<void>;
}

/**
 * The read side as the operator runs it, on a listening port: a sqlite event store and read model in a temp dir,
 * the projections live (catch-up then subscription), and the API (REST and GraphQL, API keys required) serving
 * from the read model.
 */
export async function startReadSide(
  extra: Partial<HttpAppDeps> = {},
  graphql: Partial<GraphqlOptions> = {},
): Promise<ReadSide> {
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
  const keys = testKeys();
  let ids = 0;
  const newId = () => `id${++ids}`;
  const now = () => new Date();
  const app = await buildHttpApp({
    intake: createAnomalyIntake({ record: createAnomalyRecorder({ store, newId, now }), store }),
    // No cluster behind this API: anomalies naming an object are refused as unknown.
    workloads: { resolve: async () => ({ ok: false, reason: WorkloadRefusal.NotFound, message: 'no cluster' }) },
    newId,
    now,
    security: keys.security,
    api: { queries, commands: createApiCommands({ store, now }) },
    securedPlugins: [
      graphqlRoutes({ queries, changes, notifications: { queries: createNotificationQueries(db) }, ...graphql }),
    ],
    ...extra,
  });
  const url = await app.listen({ host: '127.0.0.1', port: 0 });
  return {
    store,
    queries,
    app,
    url,
    keys,
    async stop() {
      await app.close();
      await runner.stop();
      await store.close();
      db.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
