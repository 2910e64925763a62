import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createConnection, createServer } from 'node:net';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';

/**
 * A real OpenSSH server for tests (Debian's openssh-server, which `cairn prerequisites` installs): sshd on a loopback port with
 * a host key and one authorised client key made for the test, letting in the current user, so git clones over
 * `ssh://` run the real protocol. Nothing on the machine's own sshd configuration is read or changed.
 */
export interface SshGitServer {
  /** `ssh://<user>@127.0.0.1:<port><dir>` for a repository directory on this machine. */
  urlOf(dir: string): string;
  /** The client key sshd accepts (OpenSSH PEM), as a `kubernetes.io/ssh-auth` Secret holds it. */
  readonly privateKey: string;
  /** The known_hosts line of this server's host key. */
  readonly knownHosts: string;
  /** A known_hosts line of another key for the same address: a host git must not trust. */
  readonly wrongKnownHosts: string;
  stop(): Promise<void>;
}

export const sshdPath = '/usr/sbin/sshd';

const freePort = () =>
  new Promise<number>((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });

const listening = (port: number) =>
  new Promise<boolean>((resolve) => {
    const socket = createConnection({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });

export async function startSshGitServer(): Promise<SshGitServer> {
  if (!existsSync(sshdPath))
    throw new Error(`${sshdPath} is missing: apt-get install openssh-server (npx cairn prerequisites does as root)`);
  const dir = mkdtempSync(join(tmpdir(), 'cairn-sshd-'));
  const keygen = (file: string) =>
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'cairn-test', '-f', file]);
  keygen(join(dir, 'host'));
  keygen(join(dir, 'other-host'));
  keygen(join(dir, 'client'));
  writeFileSync(join(dir, 'authorized_keys'), readFileSync(join(dir, 'client.pub')), { mode: 0o600 });
  const port = await freePort();
  writeFileSync(
    join(dir, 'sshd_config'),
    [
      `ListenAddress 127.0.0.1:${port}`,
      `HostKey ${join(dir, 'host')}`,
      `AuthorizedKeysFile ${join(dir, 'authorized_keys')}`,
      `PidFile ${join(dir, 'sshd.pid')}`,
      'PasswordAuthentication no',
      'KbdInteractiveAuthentication no',
      'PubkeyAuthentication yes',
      'PermitRootLogin prohibit-password',
      'UsePAM no',
      'StrictModes no',
      '',
    ].join('\n'),
  );
  // Run as root, sshd wants its privilege separation directory.
  if (process.getuid?.() === 0 && !existsSync('/run/sshd')) mkdirSync('/run/sshd', { recursive: true, mode: 0o755 });
  const child: ChildProcess = spawn(sshdPath, ['-D', '-e', '-f', join(dir, 'sshd_config')], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
    stderr = (stderr + chunk).slice(-4_000);
  });
  const deadline = Date.now() + 20_000;
  while (!(await listening(port))) {
    if (child.exitCode !== null || Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`sshd did not start: ${stderr}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  const hostLine = (file: string) => {
    const [type, key] = readFileSync(join(dir, file), 'utf8').trim().split(' ');
    return `[127.0.0.1]:${port} ${type} ${key}\n`;
  };
  const user = userInfo().username;
  return {
    urlOf: (repo) => `ssh://${user}@127.0.0.1:${port}${repo}`,
    privateKey: readFileSync(join(dir, 'client'), 'utf8'),
    knownHosts: hostLine('host.pub'),
    wrongKnownHosts: hostLine('other-host.pub'),
    stop: async () => {
      if (child.exitCode === null) {
        const exited = new Promise((r) => child.once('exit', r));
        child.kill('SIGTERM');
        await exited;
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
