import type { FastifyInstance, FastifyRequest } from 'fastify';
import type WebSocket from 'ws';
import type { Identity } from '../security/apiKeys.ts';
import { graphql } from './graphqlRuntime.ts';

/** Bounds on one GraphQL websocket. */
export interface SocketLimits {
  /** A connection that has not shown a valid key (and sent connection_init) by then is closed with 4408. */
  readonly initTimeoutMs: number;
  /** Live subscriptions one connection may hold; the next is refused, the connection stays. */
  readonly maxSubscriptions: number;
  /** Arms a timer and returns its cancel; tests pass one they fire by hand. */
  readonly schedule?: (ms: number, fire: () => void) => () => void;
}

export const DefaultSocketLimits: SocketLimits = { initTimeoutMs: 10_000, maxSubscriptions: 20 };

/** Close codes of graphql-transport-ws, and one of ours in its 4xxx range for the rate limit. */
export const SocketClose = { InitTimeout: 4408, RateLimited: 4429 } as const;

export const SocketRefusal = { TooManySubscriptions: 'graphql.too_many_subscriptions' } as const;

interface Connection {
  readonly request: FastifyRequest;
  initialised: boolean;
  readonly subscriptions: Set<string>;
}

const setTimer = (ms: number, fire: () => void) => {
  const timer = setTimeout(fire, ms);
  timer.unref();
  return () => clearTimeout(timer);
};

const messageOf = (raw: WebSocket.RawData): { type?: unknown; id?: unknown; payload?: { apiKey?: unknown } } => {
  try {
    const value = JSON.parse(String(raw)) as unknown;
    return typeof value === 'object' && value !== null ? (value as Record<string, never>) : {};
  } catch {
    return {};
  }
};

/**
 * Watches every GraphQL websocket beside mercurius, which serves the protocol: a connection must show a key within
 * the init timeout or be closed; each message it sends counts against its key's rate limit (the same counter as
 * the key's HTTP requests, by address while it has no key); its subscriptions are counted and capped.
 */
export function createSocketGuard(app: FastifyInstance, limits: SocketLimits) {
  const connections = new WeakMap<FastifyRequest, Connection>();
  const schedule = limits.schedule ?? setTimer;
  // Present when the app's security plugin registered the rate limit; bare test apps have none.
  const limiter = app.hasDecorator('createRateLimit') ? app.createRateLimit() : undefined;

  const watch = (socket: WebSocket, request: FastifyRequest) => {
    const connection: Connection = { request, initialised: false, subscriptions: new Set() };
    connections.set(request, connection);
    const known = () => connection.initialised && request.identity !== null;
    let cancel: (() => void) | undefined = schedule(limits.initTimeoutMs, () => {
      cancel = undefined;
      if (!known() && socket.readyState === socket.OPEN) {
        socket.close(
          SocketClose.InitTimeout,
          `no valid API key within ${Math.round(limits.initTimeoutMs / 1000)} s: send it as apiKey in connection_init`,
        );
      }
    });
    socket.on('close', () => cancel?.());

    socket.on('message', (raw) => {
      const message = messageOf(raw);
      if (message.type === 'connection_init') {
        const key = message.payload?.apiKey;
        const identity: Identity | undefined = typeof key === 'string' ? app.verifyApiKey(key) : undefined;
        // The connection's key from now on, for the subscription check and the rate limit alike.
        if (identity !== undefined && request.identity === null) request.identity = identity;
        connection.initialised = true;
        if (known()) {
          cancel?.();
          cancel = undefined;
        }
      } else if ((message.type === 'complete' || message.type === 'stop') && typeof message.id === 'string') {
        connection.subscriptions.delete(message.id);
      }
      if (limiter === undefined) return;
      limiter(request).then(
        (verdict) => {
          if (verdict.isAllowed || !verdict.isExceeded || socket.readyState !== socket.OPEN) return;
          socket.close(
            SocketClose.RateLimited,
            `more than ${verdict.max} requests and messages a minute for this key; retry after ${verdict.ttlInSeconds} s`,
          );
        },
        () => socket.terminate(),
      );
    });
  };

  return {
    watch,
    /**
     * Takes a place for a subscription about to start, or refuses it if its connection holds as many as it may. The
     * place is kept until the client completes the subscription or the socket closes.
     */
    admit(request: FastifyRequest | undefined, id: string) {
      const connection = request === undefined ? undefined : connections.get(request);
      if (connection === undefined || connection.subscriptions.has(id)) return;
      if (connection.subscriptions.size >= limits.maxSubscriptions) {
        throw new graphql.GraphQLError(
          `this connection holds ${limits.maxSubscriptions} subscriptions, as many as one may; complete one first or open another connection`,
          { extensions: { code: SocketRefusal.TooManySubscriptions } },
        );
      }
      connection.subscriptions.add(id);
    },
    /** Gives back the place of a subscription refused after it was admitted. */
    release(request: FastifyRequest | undefined, id: string) {
      if (request !== undefined) connections.get(request)?.subscriptions.delete(id);
    },
  };
}
