import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunningPrometheus, startPrometheus } from '../../../test/support/prometheus.ts';
import { createPrometheusClient, PrometheusErrorCode } from './prometheus.client.ts';

const at = Math.floor(Date.now() / 1000) - 3600;

/** A local server that is not Prometheus, answering whatever `handle` writes. */
async function otherServer(handle: (body: string, headers: IncomingHttpHeaders) => [number, string] | undefined) {
  const server: Server = createServer((request, response) => {
    let body = '';
    request.on('data', (chunk) => {
      body += chunk;
    });
    request.on('end', () => {
      const answer = handle(body, request.headers);
      if (answer) response.writeHead(answer[0], { 'content-type': 'application/json' }).end(answer[1]);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return {
    port,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

describe('Prometheus client', () => {
  let prometheus: RunningPrometheus;
  beforeAll(async () => {
    prometheus = await startPrometheus({
      backfill: [
        {
          name: 'queue_depth',
          labels: { queue: 'orders' },
          samples: Array.from({ length: 41 }, (_, i) => [at - 600 + i * 15, i] as const),
        },
      ],
    });
  });
  afterAll(async () => {
    await prometheus?.stop();
  });

  it('answers instant and range queries with parsed samples', async () => {
    const client = createPrometheusClient({ url: `${prometheus.url}/` });
    const [instant] = await client.query('queue_depth', { time: at });
    expect(instant?.labels).toMatchObject({ __name__: 'queue_depth', queue: 'orders' });
    expect(instant?.samples).toEqual([[at, 40]]);
    const [range] = await client.queryRange('queue_depth * 2', { start: at - 60, end: at, stepSeconds: 30 });
    expect(range?.samples).toEqual([
      [at - 60, 72],
      [at - 30, 76],
      [at, 80],
    ]);
  });

  it('answers an empty list for a query with no data', async () => {
    const client = createPrometheusClient({ url: prometheus.url });
    expect(await client.query('no_such_metric{a="b"}', { time: at })).toEqual([]);
  });

  it('rejects bad PromQL as a validation error with Prometheus’ reason', async () => {
    const client = createPrometheusClient({ url: prometheus.url });
    const failure = await client.query('sum(queue_depth', { time: at }).catch((e) => e);
    expect(failure).toMatchObject({ code: PrometheusErrorCode.BadQuery, category: 'Validation' });
    expect(failure.message).toContain('bad_data');
  });

  it('says when nothing listens at the URL', async () => {
    const stopped = await startPrometheus();
    await stopped.stop();
    const failure = await createPrometheusClient({ url: stopped.url })
      .query('up')
      .catch((e) => e);
    expect(failure).toMatchObject({ code: PrometheusErrorCode.Unreachable, category: 'Transient' });
    expect(failure.message).toBe(`Prometheus at ${stopped.url} is unreachable (ECONNREFUSED)`);
  });

  it('gives up after its timeout on a server that never answers', async () => {
    const silent = await otherServer(() => undefined);
    try {
      const failure = await createPrometheusClient({ url: `http://127.0.0.1:${silent.port}`, timeoutMs: 300 })
        .query('up')
        .catch((e) => e);
      // The configured timeout, not the 5 s default, is the one that ended the wait: the message names it.
      expect(failure).toMatchObject({ code: PrometheusErrorCode.Timeout, category: 'Transient' });
      expect(failure.message).toMatch(/: no answer within 300 ms$/);
    } finally {
      await silent.close();
    }
  });

  it('tells a server that is not Prometheus from one that failed', async () => {
    const answers: [number, string][] = [
      [200, '<html>login</html>'],
      [200, '{"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":"x"}]}}'],
      [503, '{"status":"error","errorType":"execution","error":"query timed out"}'],
      [502, 'bad gateway'],
    ];
    let next = 0;
    const server = await otherServer(() => answers[next++]);
    try {
      const client = createPrometheusClient({ url: `http://127.0.0.1:${server.port}` });
      const failures = [];
      for (let i = 0; i < answers.length; i += 1) failures.push(await client.query('up').catch((e) => e));
      expect(failures.map((f) => f.code)).toEqual([
        PrometheusErrorCode.InvalidResponse,
        PrometheusErrorCode.InvalidResponse,
        PrometheusErrorCode.QueryFailed,
        PrometheusErrorCode.QueryFailed,
      ]);
      expect(failures[2].message).toContain('execution: query timed out');
      expect(failures[3].message).toContain('HTTP 502');
    } finally {
      await server.close();
    }
  });

  it('sends credentials from the URL as a Basic header and never puts them in a message', async () => {
    let seen: IncomingHttpHeaders = {};
    let sent = '';
    const server = await otherServer((body, headers) => {
      seen = headers;
      sent = body;
      return [500, 'no'];
    });
    try {
      const client = createPrometheusClient({ url: `http://reader:s3cr%40t@127.0.0.1:${server.port}/prom` });
      expect(client.displayUrl).toBe(`http://127.0.0.1:${server.port}/prom`);
      const failure = await client.query('up{job="x"}').catch((e) => e);
      expect(seen.authorization).toBe(`Basic ${Buffer.from('reader:s3cr@t').toString('base64')}`);
      expect(new URLSearchParams(sent).get('query')).toBe('up{job="x"}');
      expect(failure.message).not.toContain('s3cr');
      expect(failure.message).not.toContain('reader');
    } finally {
      await server.close();
    }
  });

  it('refuses a URL that is not http(s)', () => {
    expect(() => createPrometheusClient({ url: 'ftp://prometheus' })).toThrow(/must be http or https/);
    expect(() => createPrometheusClient({ url: 'prometheus:9090x' })).toThrow();
  });
});
