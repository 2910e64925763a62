import fastifyStatic from '@fastify/static';
import type { FastifyInstance } from 'fastify';

/** The dashboard's files: plain HTML, CSS and a script module, shipped as they are in dashboard/. */
export const DASHBOARD_DIR = new URL('../../../dashboard/', import.meta.url).pathname;

/**
 * The dashboard at `/`. Its files are public (they hold no data); everything it shows comes from /graphql with
 * the user's API key. Only the files present at start are routed, so every other path keeps the API's 404.
 */
export async function dashboardPlugin(app: FastifyInstance): Promise<void> {
  // The page runs its own files and talks to its own origin (/graphql, over HTTP and a websocket), nothing else:
  // no inline script, no other origin, and no page may frame it.
  app.addHook('onSend', async (_request, reply) => {
    reply.header('content-security-policy', DASHBOARD_CSP);
  });
  await app.register(fastifyStatic, { root: DASHBOARD_DIR, prefix: '/', wildcard: false, index: 'index.html' });
}

export const DASHBOARD_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self'",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');
