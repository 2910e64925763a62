import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { testKeys } from '../../../../test/support/apiKeys.ts';
import { type ReadSide, startReadSide } from '../../../../test/support/readSide.ts';
import { SocketClose, SocketRefusal } from './socketGuard.ts';

/**
 * The bounds of a GraphQL websocket, over real sockets: a connection without a key is closed when its init timer
 * fires (the timer is the test's, fired by hand), one connection holds a bounded number of subscriptions, and its
 * messages count against its key's rate limit.
 */
const RATE = 12;
const MAX_SUBSCRIPTIONS = 3;
const keys = testKeys();
/** The armed init timers, fired by the test instead of the clock. */
const timers = new Set<() => void>();
const fireTimers = () => {
  for (const fire of [...timers]) {
    timers.delete(fire);
    fire();
  }
};
let side: ReadSide;
const open: Client[] = [];

beforeAll(async () => {
  side = await startReadSide(
    { security: { ...keys.security, rateLimit: { max: RATE, timeWindowMs: 60_000 } } },
    {
      socket: {
        initTimeoutMs: 5_000,
        maxSubscriptions: MAX_SUBSCRIPTIONS,
        schedule: (_ms, fire) => {
          timers.add(fire);
          return () => timers.delete(fire);
        },
      },
    },
  );
});
afterEach(async () => {
  await Promise.all(open.splice(0).map((c) => c.close()));
  timers.clear();
});
afterAll(async () => {
  await side?.stop();
});

interface Message {
  type: string;
  id?: string;
  payload?: unknown;
}
interface Client {
  readonly socket: WebSocket;
  readonly messages: Message[];
  readonly closed: Promise<{ code: number; reason: string }>;
  send(message: Message): void;
  next(match: (m: Message) => boolean): Promise<Message>;
  close(): Promise<void>;
}

/** A graphql-transport-ws client that does nothing on its own, so each test says what the client sends. */
async function connect(headers: Record<string, string> = {}): Promise<Client> {
  const socket = new WebSocket(`${side.url.replace(/^http/, 'ws')}/graphql`, 'graphql-transport-ws', { headers });
  const messages: Message[] = [];
  const waiting = new Set<() => void>();
  socket.on('message', (raw) => {
    messages.push(JSON.parse(String(raw)) as Message);
    for (const wake of waiting) wake();
  });
  const closed = new Promise<{ code: number; reason: string }>((resolve) =>
    socket.on('close', (code, reason) => {
      resolve({ code, reason: String(reason) });
      for (const wake of waiting) wake();
    }),
  );
  await new Promise<void>((resolve, reject) => {
    socket.once('open', () => resolve());
    socket.once('error', reject);
  });
  const client: Client = {
    socket,
    messages,
    closed,
    send: (message) => socket.send(JSON.stringify(message)),
    next: (match) =>
      new Promise((resolve, reject) => {
        const check = () => {
          const found = messages.find(match);
          if (found !== undefined) {
            waiting.delete(check);
            resolve(found);
          } else if (socket.readyState === WebSocket.CLOSED) {
            waiting.delete(check);
            reject(new Error(`socket closed; got ${JSON.stringify(messages)}`));
          }
        };
        waiting.add(check);
        check();
      }),
    close: () =>
      new Promise<void>((resolve) => {
        if (socket.readyState === WebSocket.CLOSED) return resolve();
        socket.once('close', () => resolve());
        socket.close();
      }),
  };
  open.push(client);
  return client;
}

/** A round trip: the connection is still served when its pong comes back. */
const alive = async (client: Client) => {
  const before = client.messages.filter((m) => m.type === 'pong').length;
  client.send({ type: 'ping' });
  await client.next((m) => m.type === 'pong' && client.messages.filter((p) => p.type === 'pong').length > before);
  return client.socket.readyState === WebSocket.OPEN;
};

const subscription = (id: string) => ({
  id,
  type: 'subscribe',
  payload: { query: 'subscription { incidentChanged { id } }' },
});

describe('GraphQL websocket bounds', () => {
  it('closes a connection that shows no key when its init timer fires: silent, or initialised without a key', async () => {
    const silent = await connect();
    const keyless = await connect();
    keyless.send({ type: 'connection_init', payload: {} });
    await keyless.next((m) => m.type === 'connection_ack');
    expect(timers.size).toBe(2);
    fireTimers();
    for (const client of [silent, keyless]) {
      const { code, reason } = await client.closed;
      expect(code).toBe(SocketClose.InitTimeout);
      expect(reason).toMatch(/API key/);
    }
  });

  it('keeps a connection that showed its key, in connection_init or on the upgrade, past the init timer', async () => {
    const browser = await connect();
    browser.send({ type: 'connection_init', payload: { apiKey: keys.keys.viewer } });
    await browser.next((m) => m.type === 'connection_ack');
    const tool = await connect(keys.header('viewer'));
    tool.send({ type: 'connection_init' });
    await tool.next((m) => m.type === 'connection_ack');
    fireTimers();
    expect(await alive(browser)).toBe(true);
    expect(await alive(tool)).toBe(true);
  });

  it('refuses a subscription past the cap of one connection, keeps the others, and admits one again after complete', async () => {
    const client = await connect(keys.header('operator'));
    client.send({ type: 'connection_init' });
    await client.next((m) => m.type === 'connection_ack');
    for (let i = 1; i <= MAX_SUBSCRIPTIONS + 1; i++) client.send(subscription(`s${i}`));
    const refused = await client.next((m) => m.type === 'error');
    expect(refused.id).toBe(`s${MAX_SUBSCRIPTIONS + 1}`);
    expect(JSON.stringify(refused.payload)).toContain(SocketRefusal.TooManySubscriptions);
    expect(client.messages.filter((m) => m.type === 'error')).toHaveLength(1);
    expect(await alive(client)).toBe(true);
    // One completed makes room for another.
    client.send({ id: 's1', type: 'complete' });
    client.send(subscription('s5'));
    expect(await alive(client)).toBe(true);
    expect(client.messages.filter((m) => m.type === 'error')).toHaveLength(1);
    client.send(subscription('s6'));
    const second = await client.next((m) => m.type === 'error' && m.id === 's6');
    expect(JSON.stringify(second.payload)).toContain(SocketRefusal.TooManySubscriptions);
  });

  it("counts every message against the key's rate limit: a flood closes the socket and the key gets 429 over HTTP", async () => {
    const client = await connect(keys.header('admin'));
    client.send({ type: 'connection_init' });
    await client.next((m) => m.type === 'connection_ack');
    for (let i = 0; i < RATE + 5; i++) client.send({ type: 'ping' });
    const { code, reason } = await client.closed;
    expect(code).toBe(SocketClose.RateLimited);
    expect(reason).toMatch(/retry after \d+ s/);
    const http = await fetch(`${side.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...keys.header('admin') },
      body: JSON.stringify({ query: '{ incidents { items { id } } }' }),
    });
    expect(http.status).toBe(429);
    // Another key is not slowed by it.
    const other = await fetch(`${side.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...keys.header('viewer') },
      body: JSON.stringify({ query: '{ incidents { items { id } } }' }),
    });
    expect(other.status).toBe(200);
  });
});
