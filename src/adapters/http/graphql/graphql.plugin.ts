import type { FastifyError, FastifyInstance, FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import type { DocumentNode, GraphQLError, GraphQLSchema } from 'graphql';
import mercurius, { type IResolvers, type MercuriusLoaders } from 'mercurius';
import { CairnError, ErrorCategory, isCairnError } from '../../../../domain/errors.ts';
import { parseStreamName, StreamCategory } from '../../../../domain/streams.ts';
import type { ReadModelChanges } from '../../../application/readModelChanges.ts';
import type { SlaQueries } from '../../../sla/sla.queries.ts';
import type { ChaosQueries } from '../../readmodel/chaos.queries.ts';
import type { EscalationQueries } from '../../readmodel/escalations.queries.ts';
import type {
  AnalyticsView,
  IncidentView,
  ReadModelQueries,
  RemediationView,
} from '../../readmodel/readModel.queries.ts';
import { problemErrorHandler, sendProblem } from '../problem.ts';
import type { Identity } from '../security/apiKeys.ts';
import { chaosResolvers, chaosTypeDefs } from './chaos.graphql.ts';
import { escalationLoaders, escalationTypeDefs } from './escalation.graphql.ts';
import { graphqlSchema } from './graphql.schema.ts';
import { graphql } from './graphqlRuntime.ts';
import {
  type GraphqlNotifications,
  notificationLoaders,
  notificationResolvers,
  notificationTypeDefs,
} from './notifications.graphql.ts';
import { type CostLimits, checkCost, DefaultCostLimits } from './queryCost.ts';
import { slaLoaders, slaTypeDefs } from './sla.graphql.ts';
import { createSocketGuard, DefaultSocketLimits, type SocketLimits } from './socketGuard.ts';

export const INCIDENT_CHANGED = 'incident.changed';

export interface GraphqlOptions {
  readonly queries: ReadModelQueries;
  /** Where live subscriptions learn of read-model commits; without it, subscriptions deliver nothing. */
  readonly changes?: ReadModelChanges;
  readonly log?: (line: string) => void;
  /** What one query may cost; the defaults let the dashboard and paging scripts through. */
  readonly cost?: CostLimits;
  /** Bounds on one websocket: the init timeout and the subscriptions it may hold. */
  readonly socket?: SocketLimits;
  /** Deliveries, channel health and policies; without it those fields answer empty lists. */
  readonly notifications?: GraphqlNotifications;
  /** Incident.escalation; null for every incident without it. */
  readonly escalations?: EscalationQueries;
  /** Incident.sla; null for every incident without it. */
  readonly slas?: SlaQueries;
  /** chaosExperiments and chaosReport; an empty page and null without it. */
  readonly chaos?: ChaosQueries;
}

/** The longest query text accepted, checked before it is parsed. */
export const MAX_QUERY_BYTES = 32 * 1024;

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
    IncidentCascade: {
      // The root Issue of every cascade asked for, in one read.
      root: async (items: Of<{ rootIssueId: string }>) =>
        queries.getIncidents(items.map(({ obj }) => obj.rootIssueId)).map((view) => view ?? null),
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
    // The PostMortem document leaves out empty lists; the schema promises lists.
    SuspectedCommit: { filesChanged: (c) => c.filesChanged ?? [], reasons: (c) => c.reasons ?? [] },
    PlanBlastRadius: { dependants: (plan) => plan.dependants ?? [] },
    ActionBlastRadius: {
      pdbViolations: (a) => a.pdbViolations ?? [],
      servicesEmptied: (a) => a.servicesEmptied ?? [],
      quotaOverflows: (a) => a.quotaOverflows ?? [],
    },
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

/** A refusal in GraphQL's own terms: the message says why, `extensions.code` is stable. */
const refusal = (error: CairnError) =>
  new graphql.GraphQLError(error.message, { extensions: { code: error.code, ...error.details } });

/**
 * Which errors reaching the route are the request's, not the query's: a key, a rate limit, a media type, a body
 * that is not JSON or whose `query` is not a string. Those keep their HTTP status as a problem; the rest are
 * GraphQL errors. Mercurius reports a body failing its schema as a GraphQL validation error wrapping fastify's.
 */
function requestError(error: FastifyError & { errors?: unknown[] }): FastifyError | undefined {
  if (error instanceof graphql.GraphQLError || isCairnError(error)) return undefined;
  if (error.code === 'MER_ERR_GQL_VALIDATION') {
    if (error.errors === undefined) return error; // variables or extensions of a GET that are not JSON
    const [inner] = error.errors as (FastifyError | undefined)[];
    return error.errors.length === 1 && inner?.validation !== undefined ? inner : undefined;
  }
  return error.code?.startsWith('MER_ERR_') ? undefined : error;
}

/** What a POST must hold: mercurius would take a `query` that is not text as a parsed document, skipping our checks. */
function bodyError(body: unknown): { path: string; message: string } | undefined {
  if (typeof body !== 'object' || body === null || Array.isArray(body))
    return { path: 'body', message: 'must be an object' };
  const { query, variables, operationName } = body as Record<string, unknown>;
  if (typeof query !== 'string') return { path: 'body/query', message: 'must be a string' };
  // mercurius answers an empty query with an unexplained "internal error".
  if (query.trim() === '') return { path: 'body/query', message: 'must not be empty' };
  if (variables !== undefined && variables !== null && (typeof variables !== 'object' || Array.isArray(variables))) {
    return { path: 'body/variables', message: 'must be an object' };
  }
  if (operationName !== undefined && operationName !== null && typeof operationName !== 'string') {
    return { path: 'body/operationName', message: 'must be a string' };
  }
  return undefined;
}

/**
 * The body is judged as it arrived, before the route's schema coerces `{"query": 123}` into the text "123" (which
 * mercurius would then try as a JSON document), and the verdict given after the key's rate limit, so malformed
 * bodies count against it too.
 */
const malformed = new WeakMap<FastifyRequest, { path: string; message: string }>();
async function judgeBody(request: FastifyRequest) {
  const error = bodyError(request.body);
  if (error !== undefined) malformed.set(request, error);
}
async function refuseMalformed(request: FastifyRequest, reply: FastifyReply) {
  const error = malformed.get(request);
  if (error === undefined) return;
  return sendProblem(reply, {
    status: 400,
    code: 'request.invalid',
    detail: 'a GraphQL request is a JSON object with query (a string) and optionally variables and operationName',
    errors: [error],
  });
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
  const limits = options.cost ?? DefaultCostLimits;
  const guard = createSocketGuard(app, options.socket ?? DefaultSocketLimits);
  const problems = problemErrorHandler(log);
  const answer = (error: FastifyError & { errors?: unknown[] }, request: FastifyRequest, reply: FastifyReply) => {
    const http = requestError(error);
    if (http !== undefined) return problems(http, request, reply);
    const errors = (error.errors ?? [error]).map((e) =>
      formatError(
        e instanceof graphql.GraphQLError
          ? e
          : new graphql.GraphQLError(String((e as Error).message), { originalError: e as Error }),
        log,
      ),
    );
    return reply.code(200).send({ data: null, errors });
  };
  const judge = (schema: GraphQLSchema, document: DocumentNode, variables?: Record<string, unknown> | null) => {
    // Mercurius tries text that is not GraphQL as a JSON syntax tree; only what its parser produced is served.
    if (
      typeof document !== 'object' ||
      document === null ||
      document.kind !== 'Document' ||
      document.loc === undefined
    ) {
      throw refusal(new CairnError('graphql.syntax', ErrorCategory.Validation, 'the query is not GraphQL text'));
    }
    try {
      checkCost(schema, document, { variables, limits });
    } catch (error) {
      throw isCairnError(error) ? refusal(error) : error;
    }
  };
  // Every websocket of the route is watched from its first message: mercurius serves the protocol, the guard bounds
  // it. The route is mercurius', so its socket handler is wrapped as the route is added.
  app.addHook('onRoute', (route) => {
    if ([route.method].flat().includes('POST')) {
      route.preValidation = [...[route.preValidation ?? []].flat(), judgeBody];
      // After the key's rate limit, whose hook is in the list already.
      route.preHandler = [...[route.preHandler ?? []].flat(), refuseMalformed];
      return;
    }
    const socketRoute = route as typeof route & { wsHandler?: (socket: never, request: FastifyRequest) => unknown };
    const serve = socketRoute.wsHandler;
    if (typeof serve !== 'function') return;
    socketRoute.wsHandler = function (this: unknown, socket, request) {
      guard.watch(socket, request);
      return serve.call(this, socket, request);
    };
  });
  // An upgrade refused before it reaches the websocket plugin (no key: 401) skips that plugin's own cleanup, and its
  // socket would stay open for ever, holding the server open on shutdown. End it once the refusal is sent.
  app.addHook('onResponse', async (request, reply) => {
    if (request.headers.upgrade?.toLowerCase() === 'websocket' && reply.statusCode >= 400) {
      request.raw.socket?.destroy();
    }
  });
  await app.register(mercurius, {
    schema: `${graphqlSchema}\n${notificationTypeDefs}\n${escalationTypeDefs}\n${slaTypeDefs}\n${chaosTypeDefs}`,
    resolvers: merged(
      merged(resolvers(queries), notificationResolvers(options.notifications)),
      chaosResolvers(options.chaos),
    ),
    loaders: merged(
      merged(loaders(queries), notificationLoaders(options.notifications)),
      merged(escalationLoaders(options.escalations), slaLoaders(options.slas)),
    ),
    graphiql: false,
    queryDepth: 8,
    // The request's own errors keep their status; the query's are answered in GraphQL's terms.
    errorHandler: (error, request, reply) => {
      answer(error as FastifyError & { errors?: unknown[] }, request, reply);
    },
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
  // A query is sized before it is parsed, estimated before it is validated (validating a thousand aliases costs
  // more than refusing them), and estimated again with its variables before it runs.
  app.graphql.addHook('preParsing', async (_schema, source) => {
    if (Buffer.byteLength(source, 'utf8') > MAX_QUERY_BYTES) {
      throw refusal(
        new CairnError(
          'graphql.query_too_large',
          ErrorCategory.Validation,
          `the query text is longer than ${MAX_QUERY_BYTES} bytes; split it into several requests`,
        ),
      );
    }
  });
  app.graphql.addHook('preValidation', async (schema, document) => judge(schema, document));
  app.graphql.addHook('preExecution', async (schema, document, _context, variables) => {
    judge(schema, document, variables as Record<string, unknown> | undefined);
  });
  type SocketContext = { identity?: Identity; request?: FastifyRequest };
  app.graphql.addHook('preSubscriptionParsing', async (_schema, source, context, id) => {
    const { identity, request } = context as unknown as SocketContext;
    // Nothing is served on a connection that showed no valid key, on its upgrade or in connection_init.
    if ((identity ?? request?.identity ?? null) === null) {
      throw new CairnError(
        'auth.required',
        ErrorCategory.Forbidden,
        'send an API key in the X-API-Key header of the upgrade, or as apiKey in the connection_init payload',
      );
    }
    if (Buffer.byteLength(source, 'utf8') > MAX_QUERY_BYTES) {
      throw refusal(
        new CairnError(
          'graphql.query_too_large',
          ErrorCategory.Validation,
          `the subscription text is longer than ${MAX_QUERY_BYTES} bytes`,
        ),
      );
    }
    // Subscriptions of one connection start concurrently: the place is taken here, before anything is awaited.
    guard.admit(request, String(id));
  });
  app.graphql.addHook('preSubscriptionExecution', async (schema, document, context, id) => {
    const { request } = context as unknown as SocketContext;
    try {
      judge(schema, document);
    } catch (error) {
      guard.release(request, String(id));
      throw error;
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
/** Resolver or loader maps of two modules, type by type. */
function merged<T extends Record<string, unknown>>(a: T, b: T): T {
  const out: Record<string, unknown> = { ...a };
  for (const [type, fields] of Object.entries(b)) {
    out[type] = { ...(out[type] as object | undefined), ...(fields as object) };
  }
  return out as T;
}

export const graphqlRoutes =
  (options: GraphqlOptions): FastifyPluginAsync =>
  async (app) => {
    await app.register(graphqlPlugin, options);
  };
