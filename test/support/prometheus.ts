import { type ChildProcess, spawn } from 'node:child_process';
import { accessSync, constants, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';

const PROMETHEUS_BINARY = process.env.CAIRN_PROMETHEUS_BINARY ?? '/usr/bin/prometheus';

/** Why a test needing Prometheus cannot run here, or undefined when the binary is present. */
export function prometheusUnavailable(): string | undefined {
  try {
    accessSync(PROMETHEUS_BINARY, constants.X_OK);
    return undefined;
  } catch {
    return `no Prometheus at ${PROMETHEUS_BINARY}: \`apt-get install -y prometheus\` (Debian) or set CAIRN_PROMETHEUS_BINARY`;
  }
}

export const freePort = () =>
  new Promise<number>((resolve, reject) => {
    const server = createServer();
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() =>
        typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port')),
      );
    });
  });

export interface RunningPrometheus {
  readonly url: string;
  /** Runs an instant PromQL query; the vector's samples as label sets and numbers. */
  query(promql: string): Promise<{ metric: Record<string, string>; value: number }[]>;
  /** Everything Prometheus printed, for failure messages. */
  output(): string;
  stop(): Promise<void>;
}

/**
 * A real Prometheus on a loopback port, with its own config and data directory, scraping `targets` (host:port)
 * every second. Stopped (and its directory removed) by `stop()`.
 */
export async function startPrometheus(targets: readonly string[]): Promise<RunningPrometheus> {
  const dir = mkdtempSync(join(tmpdir(), 'cairn-prometheus-'));
  const config = join(dir, 'prometheus.yml');
  writeFileSync(
    config,
    stringify({
      global: { scrape_interval: '1s', evaluation_interval: '1s' },
      scrape_configs: [{ job_name: 'cairn', static_configs: [{ targets: [...targets] }] }],
    }),
  );
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  let output = '';
  const child: ChildProcess = spawn(
    PROMETHEUS_BINARY,
    [
      `--config.file=${config}`,
      `--storage.tsdb.path=${join(dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${port}`,
      '--storage.tsdb.retention.time=1h',
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  child.stdout?.setEncoding('utf8').on('data', (d: string) => {
    output += d;
  });
  child.stderr?.setEncoding('utf8').on('data', (d: string) => {
    output += d;
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));

  const stop = async () => {
    if (child.exitCode === null) {
      child.kill('SIGTERM');
      const killed = setTimeout(() => child.kill('SIGKILL'), 5_000);
      await exited;
      clearTimeout(killed);
    }
    rmSync(dir, { recursive: true, force: true });
  };

  const deadline = Date.now() + 30_000;
  for (;;) {
    if (child.exitCode !== null) {
      await stop();
      throw new Error(`prometheus exited with ${child.exitCode}:\n${output}`);
    }
    const ready = await fetch(`${url}/-/ready`).then(
      (r) => r.ok,
      () => false,
    );
    if (ready) break;
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`prometheus not ready after 30 s:\n${output}`);
    }
    await new Promise((r) => setTimeout(r, 200));
  }

  return {
    url,
    output: () => output,
    stop,
    async query(promql) {
      const response = await fetch(`${url}/api/v1/query?query=${encodeURIComponent(promql)}`);
      const body = (await response.json()) as {
        status: string;
        error?: string;
        data?: { resultType: string; result: { metric: Record<string, string>; value: [number, string] }[] };
      };
      if (body.status !== 'success' || body.data === undefined) {
        throw new Error(`PromQL ${promql} failed: ${body.error ?? response.status}`);
      }
      if (body.data.resultType !== 'vector') throw new Error(`PromQL ${promql} is a ${body.data.resultType}`);
      return body.data.result.map((r) => ({ metric: r.metric, value: Number(r.value[1]) }));
    },
  };
}
