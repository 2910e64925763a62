import { spawn } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { basename, dirname } from 'node:path';

/**
 * A real git smart-HTTP server for tests: git's own `git http-backend` run as a CGI program behind a tiny Node HTTP
 * server on loopback, which asks for HTTP basic authentication first. Clones and fetches go through the real
 * protocol; only the user name and password given here are let in.
 */
export interface GitHttpServer {
  /** `http://127.0.0.1:<port>/<repository dir name>` */
  readonly url: string;
  /** Requests refused for want of the right credentials. */
  refused(): number;
  close(): Promise<void>;
}

export async function startGitHttpServer(
  repoDir: string,
  credentials: { readonly username: string; readonly password: string } | { readonly bearer: string },
): Promise<GitHttpServer> {
  const root = dirname(repoDir);
  // Basic authentication, or (with `bearer`) only an `Authorization: Bearer <token>` header, as some hosts want.
  const expected =
    'bearer' in credentials
      ? `Bearer ${credentials.bearer}`
      : `Basic ${Buffer.from(`${credentials.username}:${credentials.password}`).toString('base64')}`;
  const challenge = 'bearer' in credentials ? 'Bearer realm="cairn-test"' : 'Basic realm="cairn-test"';
  const user = 'bearer' in credentials ? 'bearer' : credentials.username;
  let refused = 0;
  const server: Server = createServer((req, res) => {
    if (req.headers.authorization !== expected) {
      refused++;
      res.writeHead(401, { 'WWW-Authenticate': challenge, 'Content-Type': 'text/plain' });
      res.end('authentication required\n');
      return;
    }
    const url = new URL(req.url ?? '/', 'http://localhost');
    const cgi = spawn('git', ['http-backend'], {
      env: {
        PATH: process.env.PATH ?? '/usr/bin:/bin',
        GIT_PROJECT_ROOT: root,
        GIT_HTTP_EXPORT_ALL: '1',
        GIT_CONFIG_NOSYSTEM: '1',
        GIT_CONFIG_GLOBAL: '/dev/null',
        REQUEST_METHOD: req.method ?? 'GET',
        PATH_INFO: decodeURIComponent(url.pathname),
        QUERY_STRING: url.search.slice(1),
        CONTENT_TYPE: req.headers['content-type'] ?? '',
        ...(req.headers['content-encoding'] ? { HTTP_CONTENT_ENCODING: req.headers['content-encoding'] } : {}),
        ...(req.headers['git-protocol'] ? { GIT_PROTOCOL: String(req.headers['git-protocol']) } : {}),
        REMOTE_USER: user,
        REMOTE_ADDR: '127.0.0.1',
      },
      stdio: ['pipe', 'pipe', 'ignore'],
    });
    req.pipe(cgi.stdin);
    let head = Buffer.alloc(0);
    let headersDone = false;
    cgi.stdout.on('data', (chunk: Buffer) => {
      if (headersDone) {
        res.write(chunk);
        return;
      }
      head = Buffer.concat([head, chunk]);
      const end = head.indexOf('\r\n\r\n');
      if (end < 0) return;
      headersDone = true;
      let status = 200;
      const headers: Record<string, string> = {};
      for (const line of head.subarray(0, end).toString('latin1').split('\r\n')) {
        const colon = line.indexOf(':');
        if (colon < 0) continue;
        const name = line.slice(0, colon).trim();
        const value = line.slice(colon + 1).trim();
        if (name.toLowerCase() === 'status') status = Number.parseInt(value, 10);
        else headers[name] = value;
      }
      res.writeHead(status, headers);
      res.write(head.subarray(end + 4));
    });
    cgi.on('close', () => {
      if (!headersDone) res.writeHead(500).end();
      else res.end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/${basename(repoDir)}`,
    refused: () => refused,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
