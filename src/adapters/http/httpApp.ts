import swagger from '@fastify/swagger';
import { Type } from '@sinclair/typebox';
import Fastify, { type FastifyInstance, type FastifyPluginAsync } from 'fastify';
import type { AnomalyIntake } from '../../application/detection/anomalyIntake.ts';
import type { WorkloadLookup } from '../../ports/workloadLookup.ts';
import type { CairnMetrics } from '../metrics/prometheus.metrics.ts';
import { alertmanagerRoutes } from './alertmanager.routes.ts';
import { anomalyRoutes } from './anomalies.routes.ts';
import { type ApiDeps, apiRoutes } from './api/api.routes.ts';
import { metricsRoutes } from './metrics.routes.ts';
import { problemErrorHandler, sendProblem } from './problem.ts';
import { type SecurityOptions, securityPlugin } from './security/security.plugin.ts';

/** One readiness check: what it is and whether it passes now. */
export interface ReadinessCheck {
  readonly name: string;
  /**
   * Shown in /readyz but not deciding it: something the replica works around (Issues wait for an unreachable AI
   * server) and that taking the API out of service would not help.
   */
  readonly advisory?: boolean;
  check(): Promise<{ readonly ok: boolean; readonly detail: string }>;
}

export interface HttpAppDeps {
  readonly intake: AnomalyIntake;
  readonly workloads: WorkloadLookup;
  readonly newId: () => string;
  readonly now: () => Date;
  /** API keys, roles and the per-key rate limit of every secured route (all of /api/v1 but its OpenAPI document). */
  readonly security: SecurityOptions;
  /** The REST groups over the read model and the commands; absent, only the detection routes are served. */
  readonly api?: ApiDeps;
  /** What /readyz checks (event store, projections, cluster); ready when every check passes. */
  readonly readiness?: readonly ReadinessCheck[];
  readonly log?: (line: string) => void;
  /** Serves GET /metrics (no API key) when given. */
  readonly metrics?: CairnMetrics;
  /**
   * Plugins registered in the secured scope, beside /api/v1 (GraphQL at /graphql, say): their routes get the API-key
   * check and the rate limit, and each must declare `config: { role }` or the app refuses to build.
   */
  readonly securedPlugins?: readonly FastifyPluginAsync[];
  /** Plugins registered at the root with no key (a dashboard's static files, say). */
  readonly publicPlugins?: readonly FastifyPluginAsync[];
  /** Largest accepted body; an Alertmanager group of a thousand alerts fits in the default. */
  readonly bodyLimit?: number;
}

const HealthSchema = Type.Object({ status: Type.Literal('ok') });
const ReadySchema = Type.Object({
  status: Type.Union([Type.Literal('ready'), Type.Literal('not_ready')]),
  checks: Type.Array(
    Type.Object({
      name: Type.String(),
      ok: Type.Boolean(),
      detail: Type.String(),
      advisory: Type.Optional(Type.Boolean()),
    }),
  ),
});

export const OPENAPI_PATH = '/api/v1/openapi.json';

/** Builds (does not start) Cairn's HTTP app; the caller listens, tests use `app.inject()`. */
export async function buildHttpApp(deps: HttpAppDeps): Promise<FastifyInstance> {
  const log = deps.log ?? (() => {});
  const app = Fastify({
    logger: false,
    bodyLimit: deps.bodyLimit ?? 4 * 1024 * 1024,
    // A misspelt field is refused, not silently dropped; payloads that may grow (Alertmanager's) allow extras.
    ajv: { customOptions: { removeAdditional: false } },
  });
  // JSON only: anything else is a 415 problem rather than a string that fails validation.
  app.removeContentTypeParser('text/plain');
  app.decorate('securedRoutes', []);
  // Every answer: never sniffed into another type, never framed, no Referer carrying a URL elsewhere; the API's
  // answers are data, so they may load nothing (the dashboard's scope sets a policy of its own for its page).
  app.addHook('onSend', async (_request, reply) => {
    reply.header('x-content-type-options', 'nosniff');
    reply.header('x-frame-options', 'DENY');
    reply.header('referrer-policy', 'no-referrer');
    if (!reply.hasHeader('content-security-policy')) {
      reply.header('content-security-policy', "default-src 'none'; frame-ancestors 'none'");
    }
  });
  app.setErrorHandler(problemErrorHandler(log));
  app.setNotFoundHandler((request, reply) =>
    sendProblem(reply, {
      status: 404,
      code: 'route.not_found',
      detail: `no route for ${request.method} ${request.url.split('?')[0]}`,
    }),
  );

  // The OpenAPI document is generated from the route schemas registered below.
  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'Cairn API',
        version: 'v1',
        description:
          'Incidents, remediations, approvals, postmortems and analytics of the Cairn AIOps operator. Every route but the health probes, /metrics and this document needs an API key (X-API-Key header or Authorization: Bearer); roles are viewer < operator < admin; 100 requests per minute per key.',
      },
      components: {
        securitySchemes: {
          apiKey: { type: 'apiKey', in: 'header', name: 'X-API-Key' },
          bearer: { type: 'http', scheme: 'bearer' },
        },
      },
      security: [{ apiKey: [] }, { bearer: [] }],
    },
    hideUntagged: false,
  });

  app.get('/healthz', { schema: { hide: true, response: { 200: HealthSchema } } }, async () => ({
    status: 'ok' as const,
  }));
  app.get(
    '/readyz',
    { schema: { hide: true, response: { 200: ReadySchema, 503: ReadySchema } } },
    async (_r, reply) => {
      const checks = await Promise.all(
        (deps.readiness ?? []).map(async (c) => {
          const advisory = c.advisory ? { advisory: true } : {};
          try {
            return { name: c.name, ...(await c.check()), ...advisory };
          } catch (error) {
            const detail = error instanceof Error ? error.message : String(error);
            return { name: c.name, ok: false, detail, ...advisory };
          }
        }),
      );
      const ready = checks.every((c) => c.ok || c.advisory === true);
      return reply.code(ready ? 200 : 503).send({ status: ready ? 'ready' : 'not_ready', checks });
    },
  );
  app.get(OPENAPI_PATH, { schema: { hide: true } }, async () => app.swagger());
  if (deps.metrics) await app.register(metricsRoutes, { metrics: deps.metrics });
  for (const plugin of deps.publicPlugins ?? []) await app.register(plugin);

  await app.register(async (secured) => {
    await secured.register(securityPlugin, deps.security);
    await secured.register(
      async (api) => {
        await api.register(alertmanagerRoutes, { intake: deps.intake, workloads: deps.workloads, now: deps.now, log });
        await api.register(anomalyRoutes, {
          intake: deps.intake,
          workloads: deps.workloads,
          newId: deps.newId,
          now: deps.now,
        });
        if (deps.api) await api.register(apiRoutes, deps.api);
      },
      { prefix: '/api/v1' },
    );
    for (const plugin of deps.securedPlugins ?? []) await secured.register(plugin);
  });
  return app;
}
