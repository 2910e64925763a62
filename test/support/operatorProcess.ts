import { type ChildProcess, spawn } from 'node:child_process';

/**
 * `cairn operator` as its own process, for tests that kill it (SIGKILL: no lease release, no flush) or run several
 * replicas. Its stdout lines are kept (without their timestamp) and echoed with CAIRN_TEST_LOG.
 */
const cairnBin = new URL('../../src/cli/cairn.mjs', import.meta.url).pathname;

export interface OperatorProcess {
  readonly identity: string;
  readonly child: ChildProcess;
  readonly lines: string[];
  readonly exited: Promise<void>;
  /** Throws, with the tail of stderr, once the process has exited. */
  alive(): void;
  /** It holds the lease and watches the cluster. */
  leading(): boolean;
  /** The HTTP API's URL once it has printed it. */
  url(): string | undefined;
}

const running: OperatorProcess[] = [];
const killRunning = () => {
  for (const { child } of running) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
};
process.once('exit', killRunning);

/** Starts `cairn operator --identity <identity> <args…>`. */
export function spawnOperator(
  identity: string,
  args: readonly string[],
  options: { onLine?: (line: string) => void } = {},
): OperatorProcess {
  const child = spawn(process.execPath, [cairnBin, 'operator', '--identity', identity, ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: string[] = [];
  let partial = '';
  child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
    const parts = (partial + chunk).split('\n');
    partial = parts.pop() ?? '';
    for (const raw of parts) {
      const line = raw.replace(/^\S+ /, '');
      lines.push(line);
      if (process.env.CAIRN_TEST_LOG) process.stderr.write(`[${identity}] ${line}\n`);
      options.onLine?.(line);
    }
  });
  let stderr = '';
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
    stderr = (stderr + chunk).slice(-4_000);
    if (process.env.CAIRN_TEST_LOG) process.stderr.write(`[${identity} stderr] ${chunk}`);
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const alive = () => {
    if (child.exitCode !== null) throw new Error(`${identity} exited with code ${child.exitCode}: ${stderr}`);
  };
  const operator: OperatorProcess = {
    identity,
    child,
    lines,
    exited,
    alive,
    leading: () => {
      alive();
      return lines.includes(`${identity} is leading: watching the cluster`);
    },
    url: () => {
      alive();
      return lines.map((l) => /HTTP API on (\S+)/.exec(l)?.[1]).find((u) => u !== undefined);
    },
  };
  running.push(operator);
  return operator;
}

/** Kills every operator process still running (SIGKILL) and waits for them to exit. */
export async function killOperators(): Promise<void> {
  killRunning();
  await Promise.all(running.map((o) => o.exited));
}
