/**
 * Notifications: how soon the first message of an Issue reaches a receiver, and how many deliveries per second the
 * outbox sustains when many Issues page at once.
 *
 *   node --import tsx bench/notifications.bench.ts     (NOTIFY_LATENCY_SAMPLES=50, NOTIFY_INCIDENTS=1000)
 *
 * NOTIFY_OPERATOR_ENTRY=dist/cairn.mjs runs the bundled operator (`npm run build` first) instead of the CLI through
 * tsx; NOTIFY_OPERATOR_NODE_ARGS passes Node flags to the operator alone (e.g. `--cpu-prof --cpu-prof-dir=/tmp/p`).
 *
 * Runs `cairn operator` as a child process (so its RSS is its own) on a temp sqlite store, against its own control
 * plane (`cairn-bench-notify`, always torn down) or, when CAIRN_KUBECONFIG is set, against that cluster. A
 * NotificationPolicy in the bench namespace sends every Issue to three channels whose receivers are local HTTP
 * servers checking the vendors' formats: Slack, PagerDuty Events v2 and a signed webhook, grouped by Issue with
 * groupWait 0, so each Issue is its own message.
 *
 * Latency: one Issue at a time is recorded in the store (DetectIssue through the Issue decider, as the correlation
 * reactor does); the sample runs from just before that append to the arrival of the first request naming the Issue
 * at any receiver, both on this machine's clock. Throughput: NOTIFY_INCIDENTS Issues are recorded as fast as the
 * store takes them; deliveries/s is 3 × incidents over the time from the first append to the last request received.
 * `all_decided` is when the last of those Issues had its NotificationDecided in the log (routing and deciding done,
 * the rest is sending). The operator's RSS (VmRSS) is sampled every 250 ms meanwhile.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as k8s from '@kubernetes/client-node';
import { issueDecider } from '../domain/issue/issue.decider.ts';
import { StreamCategory, streamName } from '../domain/streams.ts';
import { openEventStore } from '../src/adapters/eventstore/openEventStore.ts';
import { createCommandHandler } from '../src/application/commandHandler.ts';
import { clusterDown, clusterDownSync, clusterUp } from '../src/cluster/localCluster.ts';
import type { EventStore } from '../src/ports/eventStore.ts';
import { startVendorReceiver, type VendorReceiver } from '../test/support/notificationReceivers.ts';

const SAMPLES = Number(process.env.NOTIFY_LATENCY_SAMPLES ?? 50);
const INCIDENTS = Number(process.env.NOTIFY_INCIDENTS ?? 1_000);
const CLUSTER = 'cairn-bench-notify';
const NAMESPACE = `bench-notify-${process.pid}`;
/** Which operator runs: the CLI through tsx by default, or another entry such as the bundle (dist/cairn.mjs). */
const cairnBin = process.env.NOTIFY_OPERATOR_ENTRY || new URL('../src/cli/cairn.mjs', import.meta.url).pathname;
/** Node flags for the operator alone (--cpu-prof, --max-old-space-size, ...), space-separated. */
const nodeArgs = (process.env.NOTIFY_OPERATOR_NODE_ARGS ?? '').split(' ').filter((a) => a !== '');

const report = (name: string, value: number, unit: string, digits = 0) =>
  process.stdout.write(`${name}=${value.toFixed(digits)} ${unit}\n`);
const progress = (line: string) => process.stderr.write(`[notifications] ${line}\n`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const percentile = (sorted: readonly number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))] ?? Number.NaN;

const rssMb = (pid: number): number | undefined => {
  try {
    const line = readFileSync(`/proc/${pid}/status`, 'utf8')
      .split('\n')
      .find((l) => l.startsWith('VmRSS:'));
    return line === undefined ? undefined : Number(line.replace(/\D+/g, '')) / 1024;
  } catch {
    return undefined;
  }
};

const freePort = () =>
  new Promise<number>((resolve) => {
    const probe = createServer();
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as AddressInfo;
      probe.close(() => resolve(port));
    });
  });

/** Which Issue a received request is about, whatever the vendor's format. */
function issuesOf(body: unknown): string[] {
  const b = body as {
    dedup_key?: string;
    issues?: { issueId: string }[];
    blocks?: unknown;
  };
  if (typeof b?.dedup_key === 'string') return [b.dedup_key];
  if (Array.isArray(b?.issues)) return b.issues.map((i) => i.issueId);
  const text = JSON.stringify(body);
  return [...text.matchAll(/Issue (bench-[a-z0-9-]+)/g)].map((m) => m[1] as string);
}

async function run(kubeconfig: string) {
  const config = new k8s.KubeConfig();
  config.loadFromFile(kubeconfig);
  const core = config.makeApiClient(k8s.CoreV1Api);
  const custom = config.makeApiClient(k8s.CustomObjectsApi);
  const receivers = await Promise.all([
    startVendorReceiver('slack'),
    startVendorReceiver('pagerduty'),
    startVendorReceiver('webhook'),
  ]);
  const [slack, pagerDuty, webhook] = receivers as [VendorReceiver, VendorReceiver, VendorReceiver];
  // When each Issue was first heard of, at any receiver; wrapped around the receivers' own bookkeeping.
  const firstHeard = new Map<string, number>();
  const counted = receivers.map(() => 0);
  const watch = () => {
    receivers.forEach((r, i) => {
      for (let k = counted[i] as number; k < r.received.length; k++) {
        for (const id of issuesOf(r.received[k]?.body)) if (!firstHeard.has(id)) firstHeard.set(id, performance.now());
      }
      counted[i] = r.received.length;
    });
  };
  const watcher = setInterval(watch, 2);

  await core.createNamespace({ body: { metadata: { name: NAMESPACE } } });
  const dir = mkdtempSync(join(tmpdir(), 'cairn-bench-notify-'));
  const storeUrl = `sqlite:${join(dir, 'events.db')}`;
  let child: ChildProcess | undefined;
  let store: EventStore | undefined;
  try {
    await core.createNamespacedSecret({
      namespace: NAMESPACE,
      body: { metadata: { name: 'slack' }, stringData: { url: `${slack.url}/services/T0/B0/BENCH` } },
    });
    await core.createNamespacedSecret({
      namespace: NAMESPACE,
      body: { metadata: { name: 'pagerduty' }, stringData: { routingKey: 'R0UT1NGKEY0123456789abcdefBENCH0' } },
    });
    await custom.createNamespacedCustomObject({
      group: 'aiops.cairn.dev',
      version: 'v1alpha1',
      namespace: NAMESPACE,
      plural: 'notificationpolicies',
      body: {
        apiVersion: 'aiops.cairn.dev/v1alpha1',
        kind: 'NotificationPolicy',
        metadata: { name: 'bench' },
        spec: {
          channels: [
            { name: 'chat', type: 'slack', secretRef: { name: 'slack', key: 'url' } },
            {
              name: 'pager',
              type: 'pagerduty',
              url: `${pagerDuty.url}/v2/enqueue`,
              secretRef: { name: 'pagerduty', key: 'routingKey' },
            },
            { name: 'hook', type: 'webhook', url: `${webhook.url}/cairn` },
          ],
          rules: [{ name: 'all', match: { namespaces: [NAMESPACE] }, channels: ['chat', 'pager', 'hook'] }],
          grouping: { groupBy: ['issue'], groupWait: '0s', groupInterval: '1s', repeatInterval: '24h' },
        },
      },
    });

    const port = await freePort();
    child = spawn(
      process.execPath,
      [
        ...nodeArgs,
        cairnBin,
        'operator',
        '--kubeconfig',
        kubeconfig,
        '--store',
        storeUrl,
        '--namespace',
        NAMESPACE,
        '--identity',
        'bench',
        '--watch-namespace',
        NAMESPACE,
        '--http-port',
        String(port),
        '--no-remediate',
      ],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    const lines: string[] = [];
    child.stdout?.setEncoding('utf8').on('data', (chunk: string) => lines.push(...chunk.split('\n')));
    const started = Date.now();
    while (!lines.some((l) => l.includes('is leading'))) {
      if (child.exitCode !== null) throw new Error(`the operator exited with code ${child.exitCode}`);
      if (Date.now() - started > 120_000) throw new Error('the operator did not lead within 120 s');
      await sleep(100);
    }
    for (;;) {
      const policy = (await custom.getNamespacedCustomObject({
        group: 'aiops.cairn.dev',
        version: 'v1alpha1',
        namespace: NAMESPACE,
        plural: 'notificationpolicies',
        name: 'bench',
      })) as { status?: { conditions?: { type: string; status: string }[] } };
      if (policy.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True')) break;
      await sleep(100);
    }
    progress('operator leading, policy Ready');

    store = openEventStore(storeUrl);
    const issues = createCommandHandler(store, issueDecider);
    const detect = (issueId: string) =>
      issues(streamName(StreamCategory.Issue, issueId), {
        type: 'DetectIssue',
        data: {
          issueId,
          workload: { kind: 'Deployment', name: issueId, namespace: NAMESPACE },
          resource: { kind: 'Deployment', name: issueId, namespace: NAMESPACE },
          signal: 'oom_kill',
          source: 'watcher',
          anomalyId: `${issueId}-a1`,
          description: 'container app was OOMKilled',
        },
        metadata: { occurredAt: new Date().toISOString(), actor: 'system:bench' },
      });

    const latencies: number[] = [];
    for (let i = 0; i < SAMPLES; i++) {
      const id = `bench-lat-${i}`;
      const t0 = performance.now();
      await detect(id);
      const deadline = Date.now() + 30_000;
      while (!firstHeard.has(id)) {
        if (Date.now() > deadline) throw new Error(`no receiver heard of ${id} within 30 s`);
        await sleep(1);
      }
      latencies.push((firstHeard.get(id) as number) - t0);
    }
    latencies.sort((a, b) => a - b);
    report('notify_first_delivery_p50', percentile(latencies, 50), 'ms');
    report('notify_first_delivery_p99', percentile(latencies, 99), 'ms');
    report('notify_first_delivery_max', latencies.at(-1) ?? Number.NaN, 'ms');

    const pid = child.pid as number;
    const before = counted.reduce((a, b) => a + b, 0);
    const expected = before + 3 * INCIDENTS;
    let peak = rssMb(pid) ?? 0;
    const idle = peak;
    const sampler = setInterval(() => {
      peak = Math.max(peak, rssMb(pid) ?? 0);
    }, 250);
    // Where the time goes: routing and deciding (NotificationDecided in the log) versus sending.
    let decided = 0;
    let allDecidedAt = Number.NaN;
    const head = (await store.readAll()).at(-1)?.position;
    const decisions = store.subscribeToAll(
      { ...(head === undefined ? {} : { fromPosition: head }), filter: { eventTypes: ['NotificationDecided'] } },
      () => {
        decided += 1;
        if (decided === INCIDENTS) allDecidedAt = performance.now();
      },
    );
    const t0 = performance.now();
    const ids = Array.from({ length: INCIDENTS }, (_, i) => `bench-fan-${i}`);
    for (let i = 0; i < ids.length; i += 50) await Promise.all(ids.slice(i, i + 50).map(detect));
    const recorded = performance.now() - t0;
    progress(`${INCIDENTS} Issues recorded in ${Math.round(recorded)} ms; waiting for ${3 * INCIDENTS} deliveries`);
    const deadline = Date.now() + 600_000;
    let last = t0;
    let total = before;
    while (total < expected) {
      if (Date.now() > deadline) throw new Error(`only ${total - before} of ${3 * INCIDENTS} deliveries in 10 min`);
      await sleep(20);
      const now = receivers.reduce((a, r) => a + r.received.length, 0);
      if (now > total) last = performance.now();
      total = now;
    }
    clearInterval(sampler);
    await decisions.close();
    const seconds = (last - t0) / 1000;
    const problems = receivers.flatMap((r) => r.received.filter((x) => x.problems.length > 0));
    if (problems.length > 0) throw new Error(`${problems.length} requests a vendor would refuse`);
    report('notify_fanout_incidents', INCIDENTS, 'incidents');
    report('notify_fanout_deliveries_per_second', (3 * INCIDENTS) / seconds, 'deliveries/s', 1);
    report('notify_fanout_seconds', seconds, 's', 2);
    report('notify_fanout_all_decided_seconds', (allDecidedAt - t0) / 1000, 's', 2);
    report('notify_operator_rss_before', idle, 'MB', 1);
    report('notify_operator_rss_peak', peak, 'MB', 1);
    report('notify_operator_rss_after', rssMb(pid) ?? Number.NaN, 'MB', 1);
  } finally {
    clearInterval(watcher);
    child?.kill('SIGTERM');
    await store?.close();
    await Promise.all(receivers.map((r) => r.close()));
    await core.deleteNamespace({ name: NAMESPACE }).catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
  }
}

const shared = process.env.CAIRN_KUBECONFIG;
if (shared) {
  await run(shared);
} else {
  const cluster = await clusterUp({ name: CLUSTER, log: progress });
  const teardown = () => clusterDownSync(CLUSTER, cluster.toolchain);
  process.once('exit', teardown);
  try {
    await run(cluster.kubeconfig);
  } finally {
    process.off('exit', teardown);
    await clusterDown(CLUSTER);
  }
}
