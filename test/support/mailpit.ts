import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';

/*
 * Mailpit (github.com/axllent/mailpit), a real SMTP server with a REST API to read back what it received. Built
 * once per machine from the Go module proxy with `go install`, cached in ~/.cache/cairn/mailpit-<version>/, and
 * started per test with its own ports, in-memory-sized temporary database, and optional TLS and authentication.
 */

export const MAILPIT_VERSION = 'v1.33.1';
const MODULE = 'github.com/axllent/mailpit';

export const mailpitDir = (): string => join(homedir(), '.cache', 'cairn', `mailpit-${MAILPIT_VERSION}`);

let building: Promise<string> | undefined;

/** The Mailpit binary, built first if this machine has none (a few minutes, progress on stderr). */
export function ensureMailpit(): Promise<string> {
  building ??= (async () => {
    const dir = mailpitDir();
    const binary = join(dir, 'mailpit');
    if (existsSync(binary)) return binary;
    mkdirSync(dir, { recursive: true });
    // Built into a private directory and renamed into place, so a concurrent build or a crash never leaves half a
    // binary where the next run would use it.
    const scratch = mkdtempSync(join(dir, '.build-'));
    process.stderr.write(`[mailpit] building ${MODULE}@${MAILPIT_VERSION} with go install into ${dir}\n`);
    await new Promise<void>((resolve, reject) => {
      const go = spawn('go', ['install', `${MODULE}@${MAILPIT_VERSION}`], {
        env: { ...process.env, GOBIN: scratch, CGO_ENABLED: '0', GOFLAGS: '-mod=mod' },
        stdio: ['ignore', 'inherit', 'pipe'],
      });
      go.stderr?.on('data', (chunk: Buffer) => {
        for (const line of chunk.toString().split('\n').filter(Boolean)) process.stderr.write(`[mailpit] ${line}\n`);
      });
      go.on('error', (error) => reject(new Error(`cannot run go (Go 1.24+ is needed to build Mailpit): ${error}`)));
      go.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`go install of Mailpit failed (${code})`))));
    });
    if (!existsSync(binary)) renameSync(join(scratch, 'mailpit'), binary);
    rmSync(scratch, { recursive: true, force: true });
    process.stderr.write('[mailpit] built\n');
    return binary;
  })();
  building.catch(() => {
    building = undefined;
  });
  return building;
}

const freePort = () =>
  new Promise<number>((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });

export interface MailpitOptions {
  /** PEM certificate and key: Mailpit offers STARTTLS, or with `implicit` speaks TLS from the first byte. */
  readonly tls?: { readonly cert: string; readonly key: string; readonly implicit?: boolean };
  /** Refuse mail until the client has started TLS. */
  readonly requireStartTls?: boolean;
  /** Accept only this user and password. */
  readonly auth?: { readonly username: string; readonly password: string };
  /** Let the test make the server answer SMTP errors (Mailpit's chaos triggers). */
  readonly chaos?: boolean;
}

/** An SMTP error Mailpit answers at one stage of a session, with a probability in percent (0 turns it off). */
export interface ChaosTrigger {
  readonly ErrorCode: number;
  readonly Probability: number;
}
export type ChaosTriggers = Partial<Record<'Sender' | 'Recipient' | 'Authentication', ChaosTrigger>>;

export interface MailpitMessageSummary {
  readonly ID: string;
  readonly MessageID: string;
  readonly Subject: string;
  readonly From: { readonly Address: string };
  readonly To: readonly { readonly Address: string }[];
}

export interface MailpitMessage extends MailpitMessageSummary {
  readonly Text: string;
  readonly HTML: string;
}

export interface Mailpit {
  readonly smtpPort: number;
  readonly apiUrl: string;
  messages(): Promise<MailpitMessageSummary[]>;
  message(id: string): Promise<MailpitMessage>;
  /** Sets the chaos triggers (needs `chaos: true`). */
  chaos(triggers: ChaosTriggers): Promise<void>;
  stop(): Promise<void>;
}

/** Starts a Mailpit of its own (ports, database, configuration) and waits until its API answers. */
export async function startMailpit(options: MailpitOptions = {}): Promise<Mailpit> {
  const binary = await ensureMailpit();
  const work = mkdtempSync(join(tmpdir(), 'cairn-mailpit-'));
  const [smtpPort, httpPort] = [await freePort(), await freePort()];
  const args = [
    '--smtp',
    `127.0.0.1:${smtpPort}`,
    '--listen',
    `127.0.0.1:${httpPort}`,
    '--database',
    join(work, 'mailpit.db'),
    '--disable-version-check',
    '--smtp-disable-rdns',
    '--quiet',
  ];
  if (options.tls) {
    writeFileSync(join(work, 'cert.pem'), options.tls.cert);
    writeFileSync(join(work, 'key.pem'), options.tls.key, { mode: 0o600 });
    args.push('--smtp-tls-cert', join(work, 'cert.pem'), '--smtp-tls-key', join(work, 'key.pem'));
    if (options.tls.implicit) args.push('--smtp-require-tls');
  }
  if (options.requireStartTls) args.push('--smtp-require-starttls');
  if (options.chaos) args.push('--enable-chaos');
  if (options.auth) {
    writeFileSync(join(work, 'auth'), `${options.auth.username}:${options.auth.password}\n`, { mode: 0o600 });
    args.push('--smtp-auth-file', join(work, 'auth'));
    // Without TLS, Mailpit (like any careful server) refuses PLAIN/LOGIN; the tests with auth use TLS.
  }
  const child: ChildProcess = spawn(binary, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr?.on('data', (c: Buffer) => {
    stderr = (stderr + c.toString()).slice(-4_000);
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const apiUrl = `http://127.0.0.1:${httpPort}`;
  const stop = async () => {
    if (child.exitCode === null) child.kill('SIGTERM');
    await Promise.race([exited, new Promise((r) => setTimeout(r, 5_000))]);
    if (child.exitCode === null) child.kill('SIGKILL');
    rmSync(work, { recursive: true, force: true });
  };
  const started = Date.now();
  for (;;) {
    if (child.exitCode !== null) throw new Error(`Mailpit exited (${child.exitCode}): ${stderr}`);
    try {
      const response = await fetch(`${apiUrl}/api/v1/info`);
      if (response.ok) break;
    } catch {
      // not listening yet
    }
    if (Date.now() - started > 60_000) {
      await stop();
      throw new Error(`Mailpit did not answer on ${apiUrl} within 60 s: ${stderr}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  const get = async <T>(path: string): Promise<T> => {
    const response = await fetch(`${apiUrl}${path}`);
    if (!response.ok) throw new Error(`Mailpit ${path}: HTTP ${response.status}`);
    return (await response.json()) as T;
  };
  return {
    smtpPort,
    apiUrl,
    messages: async () => (await get<{ messages: MailpitMessageSummary[] }>('/api/v1/messages')).messages,
    message: (id) => get<MailpitMessage>(`/api/v1/message/${encodeURIComponent(id)}`),
    chaos: async (triggers) => {
      const response = await fetch(`${apiUrl}/api/v1/chaos`, {
        method: 'PUT',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(triggers),
      });
      if (!response.ok) throw new Error(`Mailpit chaos: HTTP ${response.status} ${await response.text()}`);
    },
    stop,
  };
}

/** A self-signed certificate for 127.0.0.1 and localhost, made with openssl; it is its own CA. */
export async function selfSignedCertificate(): Promise<{ cert: string; key: string }> {
  const { execFile } = await import('node:child_process');
  const { readFileSync } = await import('node:fs');
  const dir = mkdtempSync(join(tmpdir(), 'cairn-cert-'));
  try {
    await new Promise<void>((resolve, reject) =>
      execFile(
        'openssl',
        [
          'req',
          '-x509',
          '-newkey',
          'rsa:2048',
          '-nodes',
          '-keyout',
          join(dir, 'key.pem'),
          '-out',
          join(dir, 'cert.pem'),
          '-days',
          '2',
          '-subj',
          '/CN=localhost',
          '-addext',
          'subjectAltName=IP:127.0.0.1,DNS:localhost',
        ],
        (error) => (error ? reject(new Error(`openssl could not make a certificate: ${error.message}`)) : resolve()),
      ),
    );
    return { cert: readFileSync(join(dir, 'cert.pem'), 'utf8'), key: readFileSync(join(dir, 'key.pem'), 'utf8') };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
