import fastifyStatic from '@fastify/static';
import type { FastifyInstance } from 'fastify';

/** The dashboard's files: plain HTML, CSS and a script module, shipped as they are in dashboard/. */
export const DASHBOARD_DIR = new URL('../../../dashboard/', import.meta.url).pathname;

/**
 * The dashboard at `/`. Its files are public (they hold no data); everything it shows comes from /graphql with
 * the user's API key. Only the files present at start are routed, so every other path keeps the API's 404.
 */
export async function dashboardPlugin(app: FastifyInstance): Promise<void> {
  await app.register(fastifyStatic, { root: DASHBOARD_DIR, prefix: '/', wildcard: false, index: 'index.html' });
}
