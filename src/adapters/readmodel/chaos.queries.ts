import type Database from 'better-sqlite3';
import { CairnError, ErrorCategory } from '../../../domain/errors.ts';
import type { StoredChaosEvent } from '../../../projections/chaosRuns.projection.ts';
import { prepared } from '../../../projections/sqlite.statements.ts';
import {
  buildChaosReport,
  type ChaosExperimentSummary,
  type ChaosReport,
  summarizeExperiment,
} from '../../chaos/chaosReport.ts';
import { DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE, type ReadModelQueries } from './readModel.queries.ts';

export interface ChaosListQuery {
  readonly namespace?: string;
  readonly limit?: number;
  readonly cursor?: string;
}

export interface ChaosQueries {
  /** Experiments that have run, in namespace/name order, a page at a time. */
  listExperiments(query?: ChaosListQuery): { items: ChaosExperimentSummary[]; nextCursor: string | null };
  /** The game-day report; NotFound for an experiment without runs, or a run it never had. */
  report(namespace: string, name: string, options?: { readonly run?: number; readonly last?: number }): ChaosReport;
}

const invalidCursor = () =>
  new CairnError(
    'query.invalid_cursor',
    ErrorCategory.Validation,
    'cursor is not one this API returned; start again without it',
  );

const encodeCursor = (namespace: string, name: string) =>
  Buffer.from(JSON.stringify([namespace, name]), 'utf8').toString('base64url');

const decodeCursor = (cursor: string): [string, string] => {
  try {
    const value = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as unknown;
    if (Array.isArray(value) && value.length === 2 && value.every((v) => typeof v === 'string')) {
      return value as [string, string];
    }
  } catch {
    // refused below
  }
  throw invalidCursor();
};

/**
 * The read side of chaos runs, from the `chaos_runs` projection: rows hold each run's events, and the pure report
 * code turns them into the list and the report. `incidents` names the signal of each Issue a run links to.
 */
export function createChaosQueries(
  db: Database.Database,
  incidents?: Pick<ReadModelQueries, 'getIncident'>,
): ChaosQueries {
  const eventsOf = (rows: readonly { events: string }[]) =>
    rows.flatMap((r) => JSON.parse(r.events) as StoredChaosEvent[]);
  return {
    listExperiments(query = {}) {
      const limit = query.limit ?? DEFAULT_PAGE_SIZE;
      if (!Number.isInteger(limit) || limit < 1 || limit > MAX_PAGE_SIZE) {
        throw new CairnError(
          'query.invalid_limit',
          ErrorCategory.Validation,
          `limit must be an integer from 1 to ${MAX_PAGE_SIZE}`,
        );
      }
      const after = query.cursor === undefined ? undefined : decodeCursor(query.cursor);
      const where = [
        ...(query.namespace === undefined ? [] : ['namespace = @namespace']),
        ...(after === undefined ? [] : ['(namespace, name) > (@afterNamespace, @afterName)']),
      ];
      const experiments = prepared<object, { namespace: string; name: string }>(
        db,
        `SELECT DISTINCT namespace, name FROM chaos_runs ${where.length === 0 ? '' : `WHERE ${where.join(' AND ')}`}
         ORDER BY namespace, name LIMIT @take`,
      ).all({
        take: limit + 1,
        ...(query.namespace === undefined ? {} : { namespace: query.namespace }),
        ...(after === undefined ? {} : { afterNamespace: after[0], afterName: after[1] }),
      });
      const page = experiments.slice(0, limit);
      const latest = prepared<[string, string], { events: string }>(
        db,
        'SELECT events FROM chaos_runs WHERE namespace = ? AND name = ? ORDER BY run DESC LIMIT 1',
      );
      const count = prepared<[string, string], { runs: number }>(
        db,
        'SELECT COUNT(*) AS runs FROM chaos_runs WHERE namespace = ? AND name = ?',
      );
      const items = page.flatMap(({ namespace, name }) => {
        const summary = summarizeExperiment({ namespace, name }, eventsOf(latest.all(namespace, name)));
        return summary === undefined ? [] : [{ ...summary, runs: count.get(namespace, name)?.runs ?? summary.runs }];
      });
      const last = page.at(-1);
      return {
        items,
        nextCursor: experiments.length > limit && last !== undefined ? encodeCursor(last.namespace, last.name) : null,
      };
    },
    report(namespace, name, options = {}) {
      const rows = prepared<[string, string], { events: string }>(
        db,
        'SELECT events FROM chaos_runs WHERE namespace = ? AND name = ? ORDER BY run',
      ).all(namespace, name);
      return buildChaosReport({ namespace, name }, eventsOf(rows), {
        ...(options.run === undefined ? {} : { run: options.run }),
        ...(options.last === undefined ? {} : { last: options.last }),
        ...(incidents === undefined ? {} : { issueSignal: (id: string) => incidents.getIncident(id)?.signal }),
      });
    },
  };
}
