import type { FastifyInstance, preHandlerAsyncHookHandler } from 'fastify';
import type { GraphQLError } from 'graphql';
import mercurius, { type IResolvers, type MercuriusLoaders, withFilter } from 'mercurius';
import { isCairnError } from '../../../../domain/errors.ts';
import { parseStreamName, StreamCategory } from '../../../../domain/streams.ts';
import type { ReadModelChanges } from '../../../application/readModelChanges.ts';
import type {
  AnalyticsView,
  IncidentView,
  ReadModelQueries,
  RemediationView,
} from '../../readmodel/readModel.queries.ts';
import { graphqlSchema } from './graphql.schema.ts';

export const INCIDENT_CHANGED = 'incident.changed';

export interface GraphqlOptions {
  readonly queries: ReadModelQueries;
  /** Where live subscriptions learn of read-model commits; without it, subscriptions deliver nothing. */
  readonly changes?: ReadModelChanges;
  /** Runs before every GraphQL request over HTTP (the API-key check of the REST API). */
  readonly authenticate?: preHandlerAsyncHookHandler;
  /**
   * Decides whether a websocket may subscribe, from its `connection_init` payload (browsers cannot send headers on
   * a websocket, so the key travels there). Refuses every subscription when absent and `authenticate` is set.
   */
  readonly authorizeSocket?: (payload: Record<string, unknown> | undefined) => boolean | Promise<boolean>;
  readonly log?: (line: string) => void;
}

type Args<T> = { readonly [K in keyof T]?: T[K] | null };
/** GraphQL sends null for an omitted nullable argument; the query layer wants it absent. */
const defined = <T extends object>(args: Args<T> | null | undefined): T =>
  Object.fromEntries(Object.entries(args ?? {}).filter(([, v]) => v !== null && v !== undefined)) as T;

const pairs = (record: Readonly<Record<string, string>> | undefined) =>
  Object.entries(record ?? {}).map(([name, value]) => ({ name, value }));
const counts = (record: Readonly<Record<string, number>>) =>
  Object.entries(record).map(([key, count]) => ({ key, count }));

const analytics = (view: AnalyticsView) => ({
  ...view,
  since: view.range.since,
  until: view.range.until,
  bySeverity: counts(view.bySeverity),
  byState: counts(view.byState),
  bySignal: counts(view.bySignal),
});

/**
 * Loaders batch every use of a field within one execution: a page of 50 incidents asking for their timeline,
 * insight and remediation with its actions runs one read-model query per field, whatever the page size.
 */
function loaders(queries: ReadModelQueries): MercuriusLoaders {
  type Of<T> = { obj: T }[];
  const byIssue =
    <V>(fetch: (ids: readonly string[]) => Map<string, V[]>) =>
    async (items: Of<IncidentView>) => {
      const found = fetch(items.map(({ obj }) => obj.id));
      return items.map(({ obj }) => found.get(obj.id) ?? []);
    };
  const byId =
    <V>(idOf: (incident: IncidentView) => string | null, fetch: (ids: readonly string[]) => (V | undefined)[]) =>
    async (items: Of<IncidentView>) => {
      const ids = items.map(({ obj }) => idOf(obj)).filter((id): id is string => id !== null);
      const found = new Map(fetch(ids).map((view, i) => [ids[i]!, view]));
      return items.map(({ obj }) => {
        const id = idOf(obj);
        return id === null ? null : (found.get(id) ?? null);
      });
    };
  return {
    Incident: {
      timeline: byIssue((ids) => queries.timelines(ids)),
      anomalies: byIssue((ids) => queries.anomaliesOfIssues(ids)),
      insights: byIssue((ids) => queries.insightsOfIssues(ids)),
      remediations: byIssue((ids) => queries.remediationsOfIssues(ids)),
      insight: byId(
        (incident) => incident.insightId,
        (ids) => queries.getInsights(ids),
      ),
      remediation: byId(
        (incident) => incident.remediationId,
        (ids) => queries.getRemediations(ids),
      ),
      postmortem: byId(
        (incident) => incident.id,
        (ids) => queries.getPostMortems(ids),
      ),
    },
    Remediation: {
      actions: async (items: Of<RemediationView>) => {
        const found = queries.actionsOf(items.map(({ obj }) => obj.id));
        return items.map(({ obj }) => found.get(obj.id) ?? []);
      },
    },
  };
}

function resolvers(queries: ReadModelQueries): IResolvers {
  return {
    Query: {
      incidents: (_root, args) => queries.listIncidents({ ...defined(args.filter), ...defined(args) }),
      incident: (_root, { id }) => queries.getIncident(id) ?? null,
      anomalies: (_root, args) => queries.listAnomalies({ ...defined(args.filter), ...defined(args) }),
      insight: (_root, { id }) => queries.getInsight(id) ?? null,
      remediations: (_root, args) => queries.listRemediations(defined(args)),
      remediation: (_root, { id }) => queries.getRemediation(id) ?? null,
      postmortems: (_root, args) => queries.listPostMortems(defined(args)),
      postmortem: (_root, { id }) => queries.getPostMortem(id) ?? null,
      analytics: (_root, args) => analytics(queries.analytics(defined(args))),
    },
    Subscription: {
      incidentChanged: {
        subscribe: withFilter(
          (_root, _args, { pubsub }) => pubsub.subscribe(INCIDENT_CHANGED),
          (payload: { incidentChanged: IncidentView }, args: { id?: string | null }) =>
            args.id === undefined || args.id === null || payload.incidentChanged.id === args.id,
        ),
      },
    },
    Anomaly: { labels: (anomaly) => pairs(anomaly.labels) },
    SuggestedAction: { params: (action) => pairs(action.params) },
    RemediationAction: { params: (action) => pairs(action.params) },
  };
}

/** Validation, not-found and conflict errors keep their message and code; anything else is not explained. */
function formatError(error: GraphQLError, log: (line: string) => void) {
  const original = error.originalError;
  if (original === undefined || original === null || 'errors' in original) return error.toJSON();
  if (isCairnError(original) && original.category !== 'Internal' && original.category !== 'Transient') {
    return { ...error.toJSON(), extensions: { code: original.code, category: original.category } };
  }
  log(`error: graphql ${error.path?.join('.') ?? ''}: ${original.message}`);
  return { message: 'internal error', path: error.path, extensions: { code: 'internal' } };
}

/**
 * GraphQL at /graphql (queries over HTTP, the `incidentChanged` subscription over a websocket), read-only over the
 * read model. Registered in a scope of its own so the API-key check applies to its route and nowhere else.
 */
export async function graphqlPlugin(app: FastifyInstance, options: GraphqlOptions): Promise<void> {
  const { queries, changes } = options;
  const log = options.log ?? (() => {});
  if (options.authenticate) {
    const authenticate = options.authenticate;
    // A websocket upgrade carries its key in connection_init (checked in onConnect), not in a header.
    app.addHook('preHandler', async function (request, reply) {
      if (request.headers.upgrade?.toLowerCase() === 'websocket') return;
      return authenticate.call(this, request, reply);
    });
  }
  await app.register(mercurius, {
    schema: graphqlSchema,
    resolvers: resolvers(queries),
    loaders: loaders(queries),
    graphiql: false,
    queryDepth: 8,
    errorFormatter: (execution) => ({
      statusCode: 200,
      response: { data: execution.data ?? null, errors: execution.errors.map((e) => formatError(e, log)) },
    }),
    subscription: {
      onConnect: async ({ payload }) => {
        if (options.authenticate === undefined) return true;
        return (await options.authorizeSocket?.(payload as Record<string, unknown> | undefined)) ?? false;
      },
    },
  });

  if (changes !== undefined) {
    const publishIncident = (issueId: string) => {
      const incident = queries.getIncident(issueId);
      if (incident === undefined) return;
      app.graphql.pubsub.publish({ topic: INCIDENT_CHANGED, payload: { incidentChanged: incident } }, () => {});
    };
    const unsubscribe = changes.subscribe(({ projection, event }) => {
      const { category, id } = parseStreamName(event.streamId);
      // One notification per event: the incidents projection for the Issue's own events, the remediations
      // projection for its plans' progress (actions, verification, rollback).
      if (projection === 'incidents' && category === StreamCategory.Issue) publishIncident(id);
      if (projection === 'remediations' && category === StreamCategory.Remediation) {
        const [remediation] = queries.getRemediations([id]);
        if (remediation !== undefined) publishIncident(remediation.issueId);
      }
    });
    app.addHook('onClose', async () => {
      unsubscribe();
    });
  }
}
