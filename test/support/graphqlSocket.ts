import WebSocket from 'ws';

/** GraphQL results are trees whose shape the query decides; tests index into them freely. */
// biome-ignore lint/suspicious/noExplicitAny: the shape is the query's, checked by the test's assertions
export type GraphqlData = Record<string, any>;

export interface SubscriptionClient {
  /** Payloads of `next` messages received so far (`{ data, errors }`). */
  readonly received: { data?: GraphqlData; errors?: unknown[] }[];
  /** Payloads of `error` messages: the server refused the subscription after accepting the connection. */
  readonly refusals: unknown[];
  /** Resolves with the first refusal of the subscription (past or future). */
  refusal(timeoutMs?: number): Promise<unknown>;
  /** Resolves with the first received payload (past or future) that `match` accepts. */
  waitFor(match: (payload: { data?: GraphqlData }) => boolean, timeoutMs?: number): Promise<{ data?: GraphqlData }>;
  close(): Promise<void>;
}

/**
 * A GraphQL subscription over a real websocket, speaking the graphql-transport-ws protocol as browser clients do:
 * connection_init (with `initPayload`, where an API key travels), wait for the ack, subscribe, collect `next`s.
 * Rejects if the server refuses the connection.
 */
export async function subscribe(
  url: string,
  query: string,
  options: {
    variables?: Record<string, unknown>;
    initPayload?: Record<string, unknown>;
    /** Sent with the upgrade request: where the API key goes. */
    headers?: Record<string, string>;
  } = {},
): Promise<SubscriptionClient> {
  const socket = new WebSocket(url.replace(/^http/, 'ws'), 'graphql-transport-ws', { headers: options.headers ?? {} });
  const received: { data?: GraphqlData; errors?: unknown[] }[] = [];
  const refusals: unknown[] = [];
  const waiters = new Set<() => void>();
  const acked = new Promise<void>((resolve, reject) => {
    socket.on('open', () => socket.send(JSON.stringify({ type: 'connection_init', payload: options.initPayload })));
    socket.on('message', (raw) => {
      const message = JSON.parse(String(raw)) as { type: string; payload?: { data?: GraphqlData; errors?: unknown[] } };
      if (message.type === 'connection_ack') {
        socket.send(
          JSON.stringify({ id: '1', type: 'subscribe', payload: { query, variables: options.variables ?? {} } }),
        );
        resolve();
      } else if (message.type === 'next') {
        if (message.payload !== undefined) received.push(message.payload);
        for (const wake of waiters) wake();
      } else if (message.type === 'error') {
        refusals.push(message.payload);
        for (const wake of waiters) wake();
      } else if (message.type === 'connection_error') {
        reject(new Error(`connection refused: ${JSON.stringify(message.payload)}`));
      }
    });
    socket.on('close', (code, reason) => reject(new Error(`socket closed before ack: ${code} ${String(reason)}`)));
    socket.on('unexpected-response', (request, response) => {
      // ws leaves the refused request open; end it, or the server waits for it when closing.
      request.destroy();
      reject(new Error(`upgrade refused: HTTP ${response.statusCode}`));
    });
    socket.on('error', reject);
  });
  await acked;
  const waitFor = <T>(what: string, find: () => T | undefined, timeoutMs: number) =>
    new Promise<T>((resolve, reject) => {
      const check = () => {
        const found = find();
        if (found === undefined) return false;
        waiters.delete(check);
        clearTimeout(timer);
        resolve(found);
        return true;
      };
      const timer = setTimeout(() => {
        waiters.delete(check);
        reject(new Error(`no ${what} in ${timeoutMs} ms; got ${JSON.stringify({ received, refusals })}`));
      }, timeoutMs);
      if (!check()) waiters.add(check);
    });
  return {
    received,
    refusals,
    refusal: (timeoutMs = 10_000) => waitFor('refusal', () => refusals[0], timeoutMs),
    waitFor(match, timeoutMs = 10_000) {
      return waitFor('matching subscription message', () => received.find(match), timeoutMs);
    },
    close: () =>
      new Promise<void>((resolve) => {
        if (socket.readyState === WebSocket.CLOSED) return resolve();
        socket.once('close', () => resolve());
        socket.close();
      }),
  };
}
