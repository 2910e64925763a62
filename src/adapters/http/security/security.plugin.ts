import { timingSafeEqual } from 'node:crypto';
import rateLimit from '@fastify/rate-limit';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { CairnError, ErrorCategory } from '../../../../domain/errors.ts';
import { sendProblem } from '../problem.ts';
import { hashKey, type Identity, type KeyRing, Role, roleAllows } from './apiKeys.ts';

declare module 'fastify' {
  interface FastifyRequest {
    /** Set by the security plugin once the key is checked; null outside secured routes. */
    identity: Identity | null;
  }
  interface FastifyInstance {
    /** Every secured route with the role it declares, for the route table of tests and docs. */
    securedRoutes: { method: string; url: string; role: import('./apiKeys.ts').Role }[];
    /** The identity of a key, or undefined if it is not valid: for keys that arrive other than in a header. */
    verifyApiKey: (key: string) => Identity | undefined;
  }
  interface FastifyContextConfig {
    /** The least role that may call the route; every secured route must declare one. */
    role?: import('./apiKeys.ts').Role;
    /**
     * A websocket upgrade to this route may come without a key, which then travels in the protocol's first message
     * (a browser cannot set headers on a websocket); the route must check it there before it serves anything.
     */
    keyAfterUpgrade?: boolean;
  }
}

export const RATE_LIMIT_PER_MINUTE = 100;

export interface SecurityOptions {
  /** The current keys; called per request, so a reloaded ring takes effect at once. */
  readonly keys: () => KeyRing;
  /**
   * A development key with the admin role, accepted beside the configured keys. Only an explicit development mode
   * passes one; its holder is audited as `key:dev`.
   */
  readonly devKey?: string;
  readonly rateLimit?: { readonly max: number; readonly timeWindowMs: number };
  /** Requests without a valid key allowed per client address; past it they are answered 429. */
  readonly authFailureLimit?: { readonly max: number; readonly timeWindowMs: number };
}

export const AUTH_FAILURES_PER_MINUTE = 30;

const DEV_IDENTITY: Identity = { keyId: 'dev', name: 'dev', role: Role.Admin, actor: 'key:dev' };

/** `X-API-Key: <key>` or `Authorization: Bearer <key>` (what Alertmanager's http_config can send). */
const presentedKey = (request: FastifyRequest): string | undefined => {
  const header = request.headers['x-api-key'];
  if (typeof header === 'string' && header.length > 0) return header.trim();
  const authorization = request.headers.authorization;
  if (typeof authorization === 'string') {
    const match = /^Bearer\s+(\S+)\s*$/i.exec(authorization);
    if (match) return match[1];
  }
  return undefined;
};

const sameKey = (a: string, b: string) =>
  timingSafeEqual(Buffer.from(hashKey(a), 'hex'), Buffer.from(hashKey(b), 'hex'));

/** The identity of a secured route's caller; the plugin guarantees it is there. */
export const identityOf = (request: FastifyRequest): Identity => {
  if (request.identity === null) {
    throw new CairnError('auth.required', ErrorCategory.Internal, 'route reached without an identity');
  }
  return request.identity;
};

/**
 * API-key authentication, per-route roles and a per-key rate limit for every route of the scope it is registered
 * in (fastify-plugin: the hooks belong to that scope, not to a child of it). Order: the key is checked when the
 * request arrives, before its body is read; the role next; the rate limit last, counted per key, so one client
 * over its limit never slows another. With no keys configured and no development key, everything is refused:
 * an API that controls remediation must not open itself because a file is missing.
 */
async function security(app: FastifyInstance, options: SecurityOptions) {
  if (!app.hasRequestDecorator('identity')) app.decorateRequest('identity', null);
  if (!app.hasDecorator('securedRoutes')) app.decorate('securedRoutes', []);
  const verify = (key: string): Identity | undefined =>
    options.devKey !== undefined && sameKey(key, options.devKey) ? DEV_IDENTITY : options.keys().verify(key);
  if (!app.hasDecorator('verifyApiKey')) app.decorate('verifyApiKey', verify);

  app.addHook('onRoute', (route) => {
    const role = (route.config as { role?: string } | undefined)?.role;
    if (role === undefined) {
      throw new Error(`${String(route.method)} ${route.url} declares no role: secured routes say who may call them`);
    }
    for (const method of [route.method].flat()) {
      if (method !== 'HEAD') app.securedRoutes.push({ method, url: route.url, role: role as Role });
    }
  });

  const refuse = (reply: FastifyReply, status: number, code: string, detail: string) => {
    if (status === 401) reply.header('www-authenticate', 'Bearer realm="cairn"');
    return sendProblem(reply, { status, code, detail });
  };

  // Set once the rate-limit plugin below is registered, long before the first request.
  let failedFrom: ReturnType<FastifyInstance['createRateLimit']> | undefined;
  /**
   * A 401, unless this address has sent too many requests without a valid key: then 429. A valid key is still
   * served from that address: keys are 256 random bits, so telling a
   * guesser that one works teaches nothing, while refusing it would let one client behind a shared address (a NAT,
   * an ingress without forwarded addresses) lock everyone else out.
   */
  const refuseUnknown = async (request: FastifyRequest, reply: FastifyReply, code: string, detail: string) => {
    const verdict = failedFrom === undefined ? undefined : await failedFrom(request);
    if (verdict !== undefined && !verdict.isAllowed && verdict.isExceeded) {
      reply.header('retry-after', verdict.ttlInSeconds);
      return refuse(
        reply,
        429,
        'auth.too_many_failures',
        `more than ${verdict.max} requests without a valid API key from ${request.ip}; retry after ${verdict.ttlInSeconds} s`,
      );
    }
    return refuse(reply, 401, code, detail);
  };

  app.addHook('onRequest', async (request, reply) => {
    const ring = options.keys();
    if (ring.size === 0 && options.devKey === undefined) {
      return refuse(
        reply,
        503,
        'auth.no_keys_configured',
        'no API keys are configured, so the API refuses every request: create one with `cairn apikey create --role <role> --name <name>`, or start in development mode with --dev-api-key',
      );
    }
    const key = presentedKey(request);
    if (key === undefined) {
      // Node's own verdict that this is an upgrade (it came through the 'upgrade' event), not the header alone: a
      // plain GET that merely says `Upgrade: websocket` is answered over HTTP and must show its key like any other.
      const upgrade = (request.raw as { upgrade?: boolean }).upgrade === true;
      if (upgrade && request.routeOptions.config?.keyAfterUpgrade === true) return;
      return refuseUnknown(
        request,
        reply,
        'auth.required',
        'send an API key in the X-API-Key header (or Authorization: Bearer)',
      );
    }
    const identity = verify(key);
    if (identity === undefined) return refuseUnknown(request, reply, 'auth.invalid_key', 'the API key is not valid');
    request.identity = identity;
    const needed = request.routeOptions.config?.role;
    // No role: no route matched; the 404 follows, for authenticated callers only.
    if (needed !== undefined && !roleAllows(identity.role, needed)) {
      return refuse(
        reply,
        403,
        'auth.forbidden',
        `${request.method} ${request.routeOptions.url} needs the ${needed} role; key ${identity.name} has ${identity.role}`,
      );
    }
  });

  const limit = options.rateLimit ?? { max: RATE_LIMIT_PER_MINUTE, timeWindowMs: 60_000 };
  await app.register(rateLimit, {
    global: true,
    hook: 'preHandler',
    max: limit.max,
    timeWindow: limit.timeWindowMs,
    keyGenerator: (request) => request.identity?.keyId ?? `ip:${request.ip}`,
    errorResponseBuilder: (_request, context) =>
      Object.assign(
        new Error(
          `this key made more than ${context.max} requests in ${context.after}; retry after ${Math.ceil(context.ttl / 1000)} s`,
        ),
        { statusCode: 429, code: 'CAIRN_RATE_LIMITED' },
      ),
  });
  const failures = options.authFailureLimit ?? { max: AUTH_FAILURES_PER_MINUTE, timeWindowMs: 60_000 };
  failedFrom = app.createRateLimit({
    max: failures.max,
    timeWindow: failures.timeWindowMs,
    keyGenerator: (request) => `unauthenticated:${request.ip}`,
  });
}

export const securityPlugin = fp(security, { name: 'cairn-security', fastify: '5.x' });
