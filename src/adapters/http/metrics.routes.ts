import type { FastifyInstance } from 'fastify';
import type { CairnMetrics } from '../metrics/prometheus.metrics.ts';

/**
 * GET /metrics in the Prometheus text format. Like /healthz it needs no API key: scrapers rarely carry one, and the
 * figures are counts and durations, never incident content.
 */
export async function metricsRoutes(app: FastifyInstance, opts: { metrics: Pick<CairnMetrics, 'scrape'> }) {
  app.get('/metrics', async (_request, reply) => {
    const { contentType, body } = await opts.metrics.scrape();
    return reply.type(contentType).send(body);
  });
}
