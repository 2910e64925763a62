import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { createServer as createNetServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { parseAllDocuments, stringify } from 'yaml';

/**
 * A real Prometheus (Debian's /usr/bin/prometheus) on a free loopback port, with its own config and data
 * directory, for tests. Series get in two ways: backfilled before start-up from OpenMetrics text with promtool
 * (any timestamps, instantly), or scraped from targets on loopback (live, one scrape a second).
 */
export const PROMETHEUS_BINARY = process.env.CAIRN_PROMETHEUS_BINARY ?? '/usr/bin/prometheus';
export const PROMTOOL_BINARY = process.env.CAIRN_PROMTOOL_BINARY ?? '/usr/bin/promtool';

const run = promisify(execFile);

/** Why a test needing Prometheus cannot run here, or undefined when the binary is present. */
export function prometheusUnavailable(): string | undefined {
  try {
    accessSync(PROMETHEUS_BINARY, constants.X_OK);
    return undefined;
  } catch {
    return `no Prometheus at ${PROMETHEUS_BINARY}: \`apt-get install -y prometheus\` (Debian) or set CAIRN_PROMETHEUS_BINARY`;
  }
}

export interface SeriesSpec {
  readonly name: string;
  readonly labels?: Readonly<Record<string, string>>;
  /** [unix seconds, value] */
  readonly samples: readonly (readonly [number, number])[];
}

export interface ScrapeJob {
  readonly job: string;
  /** `host:port` */
  readonly targets?: readonly string[];
  /** A Prometheus HTTP service-discovery URL listing targets and their paths (KWOK serves one). */
  readonly httpSdUrl?: string;
  readonly metricsPath?: string;
  readonly scheme?: 'http' | 'https';
  /** For scraping a kubelet-like endpoint served with a self-signed certificate. */
  readonly insecureSkipVerify?: boolean;
}

export interface PrometheusOptions {
  /** Series written into the TSDB before start-up. */
  readonly backfill?: readonly SeriesSpec[];
  readonly scrape?: readonly ScrapeJob[];
  readonly scrapeIntervalSeconds?: number;
  /** How long Prometheus keeps blocks (a Go duration); 1d unless a backfill reaches further back. */
  readonly retention?: string;
}

export interface RunningPrometheus {
  readonly url: string;
  readonly port: number;
  /** Runs an instant PromQL query; the vector's samples as label sets and numbers. */
  query(promql: string): Promise<{ metric: Record<string, string>; value: number }[]>;
  /** What Prometheus printed last, for failure messages. */
  output(): string;
  /** Waits until a query has a result (for scraped series). */
  waitForSeries(expr: string, timeoutMs?: number): Promise<void>;
  /** Stops the process (SIGTERM, then SIGKILL after 10 s) and removes its directory. Safe to call twice. */
  stop(): Promise<void>;
}

export async function freePort(): Promise<number> {
  const server = createNetServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const address = server.address();
  await new Promise((resolve) => server.close(resolve));
  if (!address || typeof address === 'string') throw new Error('no free port');
  return address.port;
}

const labelText = (labels: Readonly<Record<string, string>>) => {
  const entries = Object.entries(labels);
  if (entries.length === 0) return '';
  return `{${entries.map(([k, v]) => `${k}="${v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')}"`).join(',')}}`;
};

/** OpenMetrics text as `promtool tsdb create-blocks-from openmetrics` reads it (no types: names stay as given). */
export const openMetricsText = (series: readonly SeriesSpec[]): string => {
  const lines: string[] = [];
  for (const s of series) {
    const labels = labelText(s.labels ?? {});
    for (const [t, v] of [...s.samples].sort((a, b) => a[0] - b[0])) lines.push(`${s.name}${labels} ${v} ${t}`);
  }
  lines.push('# EOF');
  return `${lines.join('\n')}\n`;
};

/** Takes options, or just the `host:port` targets to scrape every second (job `cairn`). */
export async function startPrometheus(
  optionsOrTargets: PrometheusOptions | readonly string[] = {},
): Promise<RunningPrometheus> {
  const options: PrometheusOptions = Array.isArray(optionsOrTargets)
    ? { scrape: [{ job: 'cairn', targets: optionsOrTargets as readonly string[] }] }
    : (optionsOrTargets as PrometheusOptions);
  const dir = await mkdtemp(join(tmpdir(), 'cairn-prometheus-'));
  const dataDir = join(dir, 'data');
  const interval = `${options.scrapeIntervalSeconds ?? 1}s`;
  const config = {
    global: { scrape_interval: interval, evaluation_interval: interval },
    scrape_configs: (options.scrape ?? []).map((job) => ({
      job_name: job.job,
      metrics_path: job.metricsPath ?? '/metrics',
      scheme: job.scheme ?? 'http',
      ...(job.insecureSkipVerify ? { tls_config: { insecure_skip_verify: true } } : {}),
      ...(job.targets ? { static_configs: [{ targets: [...job.targets] }] } : {}),
      ...(job.httpSdUrl ? { http_sd_configs: [{ url: job.httpSdUrl, refresh_interval: '5s' }] } : {}),
    })),
  };
  await writeFile(join(dir, 'prometheus.yml'), stringify(config));
  if (options.backfill && options.backfill.length > 0) {
    const input = join(dir, 'backfill.om');
    await writeFile(input, openMetricsText(options.backfill));
    await run(PROMTOOL_BINARY, ['tsdb', 'create-blocks-from', 'openmetrics', input, dataDir]);
  }
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const child: ChildProcess = spawn(
    PROMETHEUS_BINARY,
    [
      `--config.file=${join(dir, 'prometheus.yml')}`,
      `--storage.tsdb.path=${dataDir}`,
      `--web.listen-address=127.0.0.1:${port}`,
      // Backfilled blocks may be hours old; keep them, but nothing longer than a test needs.
      `--storage.tsdb.retention.time=${options.retention ?? '1d'}`,
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let stderr = '';
  const keep = (chunk: Buffer) => {
    stderr = `${stderr}${chunk.toString()}`.slice(-8_000);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
    }
    await rm(dir, { recursive: true, force: true });
  };

  const deadline = Date.now() + 30_000;
  for (;;) {
    if (child.exitCode !== null) {
      await stop();
      throw new Error(`prometheus exited with code ${child.exitCode} before it was ready: ${stderr}`);
    }
    const ready = await fetch(`${url}/-/ready`).then(
      (r) => r.ok,
      () => false,
    );
    if (ready) break;
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`prometheus was not ready within 30 s: ${stderr}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }

  return {
    url,
    port,
    stop,
    output: () => stderr,
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
    async waitForSeries(expr, timeoutMs = 30_000) {
      const until = Date.now() + timeoutMs;
      for (;;) {
        const answer = (await fetch(`${url}/api/v1/query?${new URLSearchParams({ query: expr })}`).then((r) =>
          r.json(),
        )) as { data?: { result?: unknown[] } };
        if ((answer.data?.result?.length ?? 0) > 0) return;
        if (Date.now() > until) throw new Error(`no series for ${expr} within ${timeoutMs} ms`);
        await new Promise((r) => setTimeout(r, 250));
      }
    },
  };
}

export interface ScriptedTarget {
  /** `127.0.0.1:port`, for a ScrapeJob. */
  readonly target: string;
  /** How many times it has been scraped. */
  scrapes(): number;
  close(): Promise<void>;
}

/**
 * A /metrics endpoint whose body follows a script: the n-th scrape (from 0) gets `script(n)`, in the
 * Prometheus text format. Lets a test drive a series through a spike, a drop or a climb, one scrape at a time.
 */
export async function serveScriptedMetrics(script: (scrape: number) => string): Promise<ScriptedTarget> {
  let count = 0;
  const server: Server = createServer((request, response) => {
    if (request.url !== '/metrics') {
      response.writeHead(404).end();
      return;
    }
    const body = script(count);
    count += 1;
    response.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' }).end(body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (!address || typeof address === 'string') throw new Error('no address');
  return {
    target: `127.0.0.1:${address.port}`,
    scrapes: () => count,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/**
 * Where the KWOK controller of a local cluster lists its kubelet-style metrics endpoints for Prometheus (one per
 * node), read from the kwokctl configuration beside the cluster's kubeconfig.
 */
export async function kwokMetricsDiscoveryUrl(kubeconfig: string): Promise<string> {
  const file = join(dirname(kubeconfig), 'kwok.yaml');
  for (const doc of parseAllDocuments(await readFile(file, 'utf8'))) {
    const config = doc.toJS() as {
      kind?: string;
      components?: { name: string; metricsDiscovery?: { host: string; path: string; scheme: string } }[];
    };
    if (config?.kind !== 'KwokctlConfiguration') continue;
    const discovery = config.components?.find((c) => c.name === 'kwok-controller')?.metricsDiscovery;
    if (discovery) return `${discovery.scheme}://${discovery.host}${discovery.path}`;
  }
  throw new Error(`no KWOK metrics discovery in ${file}`);
}
