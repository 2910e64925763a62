import type { FastifyInstance, FastifyPluginAsync, FastifyRequest } from 'fastify';
import type { GraphQLError } from 'graphql';
import mercurius, { type IResolvers, type MercuriusLoaders } from 'mercurius';
import { CairnError, ErrorCategory, isCairnError } from '../../../../domain/errors.ts';
import { parseStreamName, StreamCategory } from '../../../../domain/streams.ts';
import type { ReadModelChanges } from '../../../application/readModelChanges.ts';
import type {
  AnalyticsView,
  IncidentView,
  ReadModelQueries,
  RemediationView,
} from '../../readmodel/readModel.queries.ts';
import type { Identity } from '../security/apiKeys.ts';
import { graphqlSchema } from './graphql.schema.ts';

export const INCIDENT_CHANGED = 'incident.changed';

export interface GraphqlOptions {
  readonly queries: ReadModelQueries;
  /** Where live subscriptions learn of read-model commits; without it, subscriptions deliver nothing. */
  readonly changes?: ReadModelChanges;
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
        // mercurius is CommonJS: its helpers are reached through the default export under plain Node ESM.
        subscribe: mercurius.withFilter(
          (_root, _args, { pubsub }) => pubsub.subscribe(INCIDENT_CHANGED),
          (payload: { incidentChanged: IncidentView }, args: { id?: string | null }) =>
            args.id === undefined || args.id === null || payload.incidentChanged.id === args.id,
        ),
      },
    },
    Anomaly: { labels: (anomaly) => pairs(anomaly.labels) },
    SuggestedAction: { params: (action) => pairs(action.params) },
    RefusedAction: { params: (action) => pairs(action.params) },
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
 * read model. Registered in the API's secured scope, its route asks for the viewer role like the REST reads: the
 * key travels in the X-API-Key (or Authorization: Bearer) header, on a websocket's upgrade request too, or, for a
 * browser, which cannot set that header on a websocket, as `apiKey` in the connection_init payload.
 */
export async function graphqlPlugin(app: FastifyInstance, options: GraphqlOptions): Promise<void> {
  const { queries, changes } = options;
  const log = options.log ?? (() => {});
  // An upgrade refused before it reaches the websocket plugin (no key: 401) skips that plugin's own cleanup, and its
  // socket would stay open for ever, holding the server open on shutdown. End it once the refusal is sent.
  app.addHook('onResponse', async (request, reply) => {
    if (request.headers.upgrade?.toLowerCase() === 'websocket' && reply.statusCode >= 400) {
      request.raw.socket?.destroy();
    }
  });
  await app.register(mercurius, {
    schema: graphqlSchema,
    resolvers: resolvers(queries),
    loaders: loaders(queries),
    graphiql: false,
    queryDepth: 8,
    // Compile a query to JavaScript once it has been seen: the dashboard and tools repeat the same few.
    jit: 1,
    errorFormatter: (execution) => ({
      statusCode: 200,
      response: { data: execution.data ?? null, errors: execution.errors.map((e) => formatError(e, log)) },
    }),
    subscription: {
      // A browser's websocket carries no header, so its key comes in connection_init's payload ({ apiKey }).
      onConnect: ({ payload }: { payload?: { apiKey?: unknown } | null }) => {
        if (payload?.apiKey === undefined) return true;
        const identity = typeof payload.apiKey === 'string' ? app.verifyApiKey(payload.apiKey) : undefined;
        return identity === undefined ? false : { identity };
      },
    },
    additionalRouteOptions: { config: { role: 'viewer', keyAfterUpgrade: true } },
  });
  // Nothing is served on a connection that showed no valid key, on its upgrade or in connection_init.
  app.graphql.addHook('preSubscriptionExecution', async (_schema, _document, context) => {
    const { identity, request } = context as unknown as { identity?: Identity; request?: FastifyRequest };
    if ((identity ?? request?.identity ?? null) === null) {
      throw new CairnError(
        'auth.required',
        ErrorCategory.Forbidden,
        'send an API key in the X-API-Key header of the upgrade, or as apiKey in the connection_init payload',
      );
    }
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

/** The plugin bound to its options, for `buildHttpApp`'s secured plugins. */
export const graphqlRoutes =
  (options: GraphqlOptions): FastifyPluginAsync =>
  async (app) => {
    await app.register(graphqlPlugin, options);
  };
