import { randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { stringify } from 'yaml';
import type { RecordedEvent } from '../../../domain/messages.ts';
import { parseStreamName } from '../../../domain/streams.ts';
import { openEventStore } from '../../adapters/eventstore/openEventStore.ts';
import { applyFault } from '../../cluster/faults.ts';
import { clusterDown, clusterUp, kubectl, type LocalCluster, OperatorNamespace } from '../../cluster/localCluster.ts';
import { startOperator } from '../../operator.ts';
import { narrate } from '../demo/narrator.ts';

const DemoNamespace = 'shop';

/** The sample shop: a web front end that will get a bad image, and a cart whose new release needs more memory. */
const sampleApp = () =>
  [
    { apiVersion: 'v1', kind: 'Namespace', metadata: { name: DemoNamespace } },
    ...[
      { name: 'web', image: 'registry.local/shop/web:1.4.2', replicas: 2, memory: '256Mi' },
      { name: 'cart', image: 'registry.local/shop/cart:3.0.1', replicas: 1, memory: '128Mi' },
    ].map((app) => ({
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: app.name, namespace: DemoNamespace, labels: { app: app.name } },
      spec: {
        replicas: app.replicas,
        selector: { matchLabels: { app: app.name } },
        template: {
          metadata: { labels: { app: app.name } },
          spec: {
            containers: [
              {
                name: app.name,
                image: app.image,
                resources: { requests: { cpu: '100m', memory: app.memory }, limits: { memory: app.memory } },
              },
            ],
          },
        },
      },
    })),
  ]
    .map((doc) => stringify(doc))
    .join('---\n');

interface DemoOptions {
  exit?: boolean;
  keepRunning?: boolean;
  clusterName: string;
  httpPort: number;
  timeout: number;
}

export function registerDemoCommand(program: Command): void {
  program
    .command('demo')
    .description(
      'run Cairn end to end: a local control plane, a sample app, two injected faults, the loop to resolved incidents',
    )
    .option('--exit', 'stop everything once the incidents have ended (the default when not on a terminal)')
    .option(
      '--keep-running',
      'keep the cluster, operator, API and dashboard running after the incidents end, until Ctrl-C or SIGTERM, even when not on a terminal',
    )
    .option('--cluster-name <name>', 'name of the local cluster', 'cairn-demo')
    .option('--http-port <port>', 'port of the HTTP API (0 picks a free one)', (v) => Number.parseInt(v, 10), 8090)
    .option(
      '--timeout <seconds>',
      'give up when the incidents have not ended by then',
      (v) => Number.parseInt(v, 10),
      300,
    )
    .action(async (opts: DemoOptions) => {
      process.exitCode = await runDemo(opts);
    });
}

const say = (line: string) => process.stdout.write(`${line}\n`);
const step = (line: string) => process.stdout.write(`\n▸ ${line}\n`);

async function runDemo(opts: DemoOptions): Promise<number> {
  const storeDir = resolve('cairn-data', 'demo');
  const storeUrl = `sqlite:${resolve(storeDir, 'events.db')}`;
  rmSync(storeDir, { recursive: true, force: true });

  step('Starting a local Kubernetes control plane (etcd, kube-apiserver, controllers, scheduler, KWOK nodes)');
  const cluster: LocalCluster = await clusterUp({ name: opts.clusterName, log: (line) => say(`  ${line}`) });
  let stopped = false;
  const cleanUp = async (operatorStop?: () => Promise<void>) => {
    if (stopped) return;
    stopped = true;
    await operatorStop?.();
    await clusterDown(opts.clusterName);
  };

  step('Starting the Cairn operator: embedded event store, rules provider, leader election');
  const devApiKey = `cairn_dev_${randomBytes(24).toString('base64url')}`;
  const operator = await startOperator({
    kubeconfig: cluster.kubeconfig,
    store: storeUrl,
    namespace: OperatorNamespace,
    http: { host: '127.0.0.1', port: opts.httpPort },
    // The demo runs in the explicit development mode: one admin key, printed below, never stored.
    api: { devApiKey },
    verificationTimeoutSeconds: 45,
    log: (line) => {
      if (line.startsWith('error:')) say(`  ! ${line}`);
    },
  }).catch(async (error) => {
    await cleanUp();
    throw error;
  });
  const interrupted = new Promise<void>((r) => {
    for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => r());
  });

  const store = openEventStore(storeUrl);
  const ended = new Map<string, string>();
  let announce: () => void = () => {};
  const bothEnded = new Promise<void>((r) => {
    announce = () => ended.size >= 2 && r();
  });
  const workloadOf = new Map<string, string>();
  const subscription = store.subscribeToAll({}, (event: RecordedEvent) => {
    const { category, id } = parseStreamName(event.streamId);
    const data = event.data as { workload?: { name: string }; target?: { name: string }; issueId?: string };
    if (event.type === 'IssueDetected' && data.workload) workloadOf.set(id, data.workload.name);
    if (event.type === 'RemediationPlanCreated' && data.issueId && data.target) workloadOf.set(id, data.target.name);
    const who = data.workload?.name ?? workloadOf.get(id) ?? (category === 'issue' ? '?' : '');
    const line = narrate(event);
    if (line) say(`  ${event.metadata.occurredAt.slice(11, 19)}  ${who.padEnd(5)} ${line}`);
    if (event.type === 'IssueResolved' || event.type === 'IssueEscalated') {
      ended.set(id, event.type === 'IssueResolved' ? 'Resolved' : 'Escalated');
      announce();
    }
  });

  try {
    step(`Deploying the sample app into namespace "${DemoNamespace}" (web ×2, cart ×1)`);
    await kubectl(cluster, ['apply', '-f', '-'], sampleApp());
    await kubectl(cluster, [
      '-n',
      DemoNamespace,
      'rollout',
      'status',
      'deployment/web',
      'deployment/cart',
      '--timeout=90s',
    ]);
    say('  web and cart are running and ready');

    step('Injecting two faults: a bad image on web, a release of cart that needs twice its memory limit');
    say(`  ${await applyFault(cluster, 'crashloop', `${DemoNamespace}/web`)}`);
    say(`  ${await applyFault(cluster, 'oom', `${DemoNamespace}/cart`)}`);

    step('Watching Cairn work (every line is an event in the audit log)');
    const timedOut = new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), opts.timeout * 1000).unref());
    const outcome = await Promise.race([
      bothEnded.then(() => 'done' as const),
      timedOut,
      interrupted.then(() => 'interrupted' as const),
    ]);
    if (outcome === 'interrupted') return 130;
    const resolved = [...ended.values()].filter((s) => s === 'Resolved').length;

    step(outcome === 'timeout' ? `Gave up after ${opts.timeout} s` : `Both incidents ended: ${resolved} of 2 resolved`);
    const issueId = [...ended.keys()][0];
    say(`  kubectl:   export KUBECONFIG=${cluster.kubeconfig}`);
    say(`             kubectl get anomalies,issues,aiinsights,remediationplans -n ${DemoNamespace}`);
    if (operator.httpUrl) {
      // The key rides in the fragment, which the browser keeps to itself: the dashboard reads it and forgets it.
      say(`  dashboard: ${operator.httpUrl}/#key=${devApiKey}`);
      say(`  REST:      ${operator.httpUrl}/api/v1/incidents   (OpenAPI: ${operator.httpUrl}/api/v1/openapi.json)`);
      say(
        `  GraphQL:   ${operator.httpUrl}/graphql   (e.g. curl -H 'X-API-Key: ${devApiKey}' -H 'content-type: application/json' -d '{"query":"{ incidents { items { id state severity } } }"}' ${operator.httpUrl}/graphql)`,
      );
      say(`  metrics:   ${operator.httpUrl}/metrics   (Prometheus format, no key)`);
    }
    say(
      `  API key:   ${devApiKey}   (development mode; e.g. curl -H 'X-API-Key: ${devApiKey}' ${operator.httpUrl}/api/v1/incidents)`,
    );
    if (issueId) say(`  replay:    npx cairn replay ${issueId} --store ${storeUrl}`);
    say(`  audit:     npx cairn audit verify --store ${storeUrl}`);

    if (opts.keepRunning || (!opts.exit && process.stdout.isTTY)) {
      step('Cairn keeps watching the cluster; press Ctrl-C to stop it and remove the cluster');
      await interrupted;
    }
    return outcome === 'done' && resolved === 2 ? 0 : 1;
  } finally {
    await subscription.close();
    await store.close();
    say('\nStopping the operator and the local cluster…');
    await cleanUp(() => operator.stop());
  }
}
