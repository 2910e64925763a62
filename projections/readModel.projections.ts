import type Database from 'better-sqlite3';
import { anomaliesProjection } from './anomalies.projection.ts';
import { chaosRunsProjection } from './chaosRuns.projection.ts';
import { escalationsProjection } from './escalations.projection.ts';
import { incidentsProjection } from './incidents.projection.ts';
import { insightsProjection } from './insights.projection.ts';
import { notificationsProjection } from './notifications.projection.ts';
import { postMortemsProjection } from './postMortems.projection.ts';
import { remediationsProjection } from './remediations.projection.ts';
import { slaClocksProjection } from './slaClocks.projection.ts';

/** Every projection of the sqlite read model, in the order `cairn projections rebuild` runs them. */
export const readModelProjections = [
  incidentsProjection,
  anomaliesProjection,
  insightsProjection,
  remediationsProjection,
  postMortemsProjection,
  notificationsProjection,
  escalationsProjection,
  slaClocksProjection,
  chaosRunsProjection,
];

/**
 * Bumped whenever a read-model table changes shape. A read model written by another version is dropped (tables and
 * checkpoints) and rebuilt from the event log on start: the log is the truth, the read model only a cache of it.
 */
export const READ_MODEL_VERSION = 8;

/** Drops a read model of another version so the projections rebuild it; returns whether it did. */
export function prepareReadModel(db: Database.Database): boolean {
  const version = db.pragma('user_version', { simple: true }) as number;
  if (version === READ_MODEL_VERSION) return false;
  const tables = db
    .prepare<[], { name: string }>(
      "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name != 'projection_checkpoints'",
    )
    .all()
    .map((row) => row.name);
  db.transaction(() => {
    for (const table of tables) db.exec(`DROP TABLE IF EXISTS "${table}"`);
    // Reactor checkpoints (reactor:<name>) stay: reactors act on the cluster and must not act twice.
    const hasCheckpoints = db
      .prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'projection_checkpoints'")
      .get();
    if (hasCheckpoints) db.exec("DELETE FROM projection_checkpoints WHERE name NOT LIKE 'reactor:%'");
    db.pragma(`user_version = ${READ_MODEL_VERSION}`);
  })();
  return version !== 0 || tables.length > 0;
}
