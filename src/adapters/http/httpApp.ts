import { Type } from '@sinclair/typebox';
import Fastify, { type FastifyInstance, type preHandlerAsyncHookHandler } from 'fastify';
import type { AnomalyIntake } from '../../application/detection/anomalyIntake.ts';
import type { WorkloadLookup } from '../../ports/workloadLookup.ts';
import type { CairnMetrics } from '../metrics/prometheus.metrics.ts';
import { alertmanagerRoutes } from './alertmanager.routes.ts';
import { anomalyRoutes } from './anomalies.routes.ts';
import { metricsRoutes } from './metrics.routes.ts';
import { problemErrorHandler, sendProblem } from './problem.ts';

export interface HttpAppDeps {
  readonly intake: AnomalyIntake;
  readonly workloads: WorkloadLookup;
  readonly newId: () => string;
  readonly now: () => Date;
  /**
   * Runs before every `/api/v1` route and may answer instead of it: the place where API-key authentication goes
   * when the REST API arrives. Health endpoints stay outside it, so probes need no key.
   */
  readonly authenticate?: preHandlerAsyncHookHandler;
  readonly log?: (line: string) => void;
  /** Serves GET /metrics (no API key) when given. */
  readonly metrics?: CairnMetrics;
  /** Largest accepted body; an Alertmanager group of a thousand alerts fits in the default. */
  readonly bodyLimit?: number;
}

const HealthSchema = Type.Object({ status: Type.Literal('ok') });

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
  app.setErrorHandler(problemErrorHandler(log));
  app.setNotFoundHandler((request, reply) =>
    sendProblem(reply, {
      status: 404,
      code: 'route.not_found',
      detail: `no route for ${request.method} ${request.url.split('?')[0]}`,
    }),
  );

  app.get('/healthz', { schema: { response: { 200: HealthSchema } } }, async () => ({ status: 'ok' as const }));
  if (deps.metrics) await app.register(metricsRoutes, { metrics: deps.metrics });

  await app.register(
    async (api) => {
      if (deps.authenticate) api.addHook('preHandler', deps.authenticate);
      await api.register(alertmanagerRoutes, { intake: deps.intake, workloads: deps.workloads, now: deps.now, log });
      await api.register(anomalyRoutes, {
        intake: deps.intake,
        workloads: deps.workloads,
        newId: deps.newId,
        now: deps.now,
      });
    },
    { prefix: '/api/v1' },
  );
  return app;
}
