import { readFileSync } from 'node:fs';
import * as k8s from '@kubernetes/client-node';
import { type Command, Option } from 'commander';
import { startAiServer } from '../../adapters/grpc/aiops.server.ts';
import { createAlertBuffer } from '../../adapters/grpc/alertBuffer.ts';
import { startDetectionController } from '../../adapters/kubernetes/detection/detectionController.ts';
import { createProviderChain, describeProviderChain } from '../../analysis/providers/providerChain.ts';
import { addProviderOptions, type ProviderFlags, providerConfigFromFlags } from '../providerOptions.ts';

const whole = (flag: string, max: number) => (value: string) => {
  const n = Number(value);
  if (!/^\d+$/.test(value) || n > max) throw new Error(`${flag} takes a whole number up to ${max}, not "${value}"`);
  return n;
};

const readSecretFile = (flag: string, path: string) => {
  try {
    const text = readFileSync(path, 'utf8').trim();
    if (!text) throw new Error('it is empty');
    return text;
  } catch (error) {
    throw new Error(`${flag} ${path}: ${error instanceof Error ? error.message : String(error)}`);
  }
};

interface ServerOpts extends ProviderFlags {
  host: string;
  port: number;
  tlsCert?: string;
  tlsKey?: string;
  tokenFile?: string;
  watch: boolean;
  kubeconfig?: string;
  watchNamespace?: string[];
  alertTtl: number;
  analysisDelay?: number;
}

export function registerServerCommand(program: Command): void {
  addProviderOptions(program.command('server'))
    .description(
      'serve the AIOps gRPC API (AnalyzeIssue, GetAlerts, and grpc.health.v1) over the analysis providers; ' +
        'operators use it with `cairn operator --ai-server host:port`',
    )
    .option('--host <address>', 'address to listen on', '127.0.0.1')
    .option('--port <port>', 'port to listen on (0 picks one and prints it)', whole('--port', 65_535), 50_051)
    .option('--tls-cert <file>', 'PEM certificate chain: serve TLS (needs --tls-key)')
    .option('--tls-key <file>', 'PEM private key of --tls-cert')
    .option('--token-file <file>', 'require `authorization: Bearer <token>` with the token in this file')
    .option('--watch', "watch the cluster and answer GetAlerts with what Cairn's detectors see", false)
    .option('--kubeconfig <path>', 'kubeconfig for --watch (default: KUBECONFIG, ~/.kube/config, or in-cluster)')
    .option(
      '--watch-namespace <name>',
      'with --watch, only this namespace (repeatable)',
      (v: string, p: string[] = []) => [...p, v],
    )
    .option(
      '--alert-ttl <seconds>',
      'how long a watched alert is served after it was last seen',
      whole('--alert-ttl', 86_400),
      7_200,
    )
    .addOption(
      new Option('--analysis-delay <ms>', 'hold every analysis this long (to exercise client deadlines)')
        .argParser(whole('--analysis-delay', 600_000))
        .hideHelp(),
    )
    .action(async (opts: ServerOpts) => {
      if (Boolean(opts.tlsCert) !== Boolean(opts.tlsKey)) throw new Error('--tls-cert and --tls-key go together');
      // Listening for the signals before saying we listen: a supervisor may stop us as soon as it reads that.
      const stopRequested = new Promise<void>((resolve) => {
        for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => resolve());
      });
      const log = (line: string) => process.stdout.write(`${new Date().toISOString()} ${line}\n`);
      const providers = providerConfigFromFlags(opts);
      const provider = createProviderChain(providers, {
        onFallback: (failure) =>
          log(`analysis: ${failure.provider} failed, asking the next provider: ${failure.error}`),
      });
      log(`analysis providers: ${describeProviderChain(providers)}`);
      const alerts = createAlertBuffer({ ttlMs: opts.alertTtl * 1000 });
      let watcher: { stop(): Promise<void> } | undefined;
      if (opts.watch) {
        const config = new k8s.KubeConfig();
        if (opts.kubeconfig) config.loadFromFile(opts.kubeconfig);
        else config.loadFromDefault();
        watcher = startDetectionController({
          config,
          record: async (report) => alerts.record(report),
          ...(opts.watchNamespace ? { namespaces: opts.watchNamespace } : {}),
          onError: (what, error) => log(`error: ${what}: ${error instanceof Error ? error.message : String(error)}`),
        });
      }
      const server = await startAiServer({
        host: opts.host,
        port: opts.port,
        provider,
        alerts,
        ...(opts.tlsCert && opts.tlsKey
          ? { tls: { cert: readFileSync(opts.tlsCert), key: readFileSync(opts.tlsKey) } }
          : {}),
        ...(opts.tokenFile ? { token: readSecretFile('--token-file', opts.tokenFile) } : {}),
        ...(opts.analysisDelay ? { analysisDelayMs: opts.analysisDelay } : {}),
        log,
      });
      log(
        `AI server listening on ${opts.host}:${server.port} (${opts.tlsCert ? 'TLS' : 'plaintext'}, ${opts.tokenFile ? 'bearer token required' : 'no token'}${opts.watch ? ', watching the cluster' : ''})`,
      );
      await stopRequested;
      log('AI server stopping');
      await Promise.all([server.stop(), watcher?.stop()]);
    });
}
