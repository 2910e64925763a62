import { type ChildProcess, spawn } from 'node:child_process';
import { accessSync, constants, mkdtempSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { stringify } from 'yaml';
import { generateKey, writeKeyFile } from '../../src/adapters/http/security/apiKeys.ts';
import { applyFault } from '../../src/cluster/faults.ts';
import type { LocalCluster } from '../../src/cluster/localCluster.ts';
import { type RunningOperator, startOperator } from '../../src/operator.ts';
import {
  createNamespace,
  deleteNamespace,
  deployment,
  eventually,
  type KubeClients,
  kubeClients,
  podsOf,
  testCluster,
} from '../support/kube.ts';

interface CairnObject {
  metadata: { name: string };
  spec: Record<string, unknown> & {
    signal: string;
    source?: string;
    resource: { kind: string; name: string };
    signals?: string[];
    riskScore?: number;
    severity?: string;
    labels?: Record<string, string>;
  };
  status?: Record<string, unknown> & { state?: string; issueRef?: { name: string } };
}

/** Debian names the binary prometheus-alertmanager; upstream tarballs name it alertmanager. */
const ALERTMANAGER_BINARIES = ['alertmanager', 'prometheus-alertmanager'];
const INSTALL_HINT =
  'Alertmanager is not installed: this test runs a real one. Install it with ' +
  '`apt-get install -y prometheus-alertmanager` (Debian package, binary /usr/bin/prometheus-alertmanager), ' +
  'or put an `alertmanager` binary on PATH. `npx cairn prerequisites` installs it as root.';

const onPath = (name: string) =>
  (process.env.PATH ?? '')
    .split(delimiter)
    .map((dir) => join(dir, name))
    .find((path) => {
      try {
        accessSync(path, constants.X_OK);
        return true;
      } catch {
        return false;
      }
    });

const freePort = () =>
  new Promise<number>((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() =>
        typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port')),
      );
    });
  });

let clients: KubeClients;
let cluster: LocalCluster;
let namespace: string;
let operator: RunningOperator;
let alertmanager: ChildProcess | undefined;
let alertmanagerUrl: string;
let alertmanagerOutput = '';
const killAlertmanager = () => alertmanager?.kill('SIGKILL');

const alertmanagerKey = generateKey('alertmanager', 'operator');

async function startAlertmanager(binary: string, webhookUrl: string) {
  const dir = mkdtempSync(join(tmpdir(), 'cairn-alertmanager-'));
  const config = join(dir, 'alertmanager.yml');
  writeFileSync(
    config,
    stringify({
      route: {
        receiver: 'cairn',
        group_by: ['alertname', 'namespace'],
        group_wait: '1s',
        group_interval: '1s',
        repeat_interval: '1h',
      },
      receivers: [
        {
          name: 'cairn',
          webhook_configs: [
            {
              url: webhookUrl,
              send_resolved: true,
              // The receiver is an API route: Alertmanager sends an operator key the way Cairn accepts it.
              http_config: { authorization: { type: 'Bearer', credentials: alertmanagerKey.key } },
            },
          ],
        },
      ],
    }),
  );
  const port = await freePort();
  alertmanagerUrl = `http://127.0.0.1:${port}`;
  alertmanager = spawn(
    binary,
    [
      `--config.file=${config}`,
      `--storage.path=${join(dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${port}`,
      '--cluster.listen-address=', // no gossip: a single instance on loopback
      '--log.level=warn',
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  alertmanager.stdout?.on('data', (chunk) => {
    alertmanagerOutput += chunk;
  });
  alertmanager.stderr?.on('data', (chunk) => {
    alertmanagerOutput += chunk;
  });
  // Whatever happens to the test run, the Alertmanager goes with it.
  process.once('exit', killAlertmanager);
  await eventually(
    'Alertmanager to be ready',
    async () => {
      if (alertmanager?.exitCode !== null) throw new Error(`alertmanager exited: ${alertmanagerOutput}`);
      return (await fetch(`${alertmanagerUrl}/-/ready`)).ok;
    },
    30_000,
  );
}

async function stopAlertmanager() {
  const child = alertmanager;
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
  await exited;
  clearTimeout(timer);
  process.removeListener('exit', killAlertmanager);
}

const binary = ALERTMANAGER_BINARIES.map(onPath).find((path) => path !== undefined);
/** Every test fails (none is skipped) with what to install when the binary is missing. */
const requireAlertmanager = () => {
  if (!binary) throw new Error(INSTALL_HINT);
};

beforeAll(async () => {
  if (!binary) return;
  clients = kubeClients();
  cluster = await testCluster();
  namespace = await createNamespace(clients, 'alerts');
  const dataDir = mkdtempSync(join(tmpdir(), 'cairn-alerts-'));
  writeKeyFile(join(dataDir, 'api-keys.json'), [alertmanagerKey.stored]);
  operator = await startOperator({
    kubeconfig: inject('kubeconfig'),
    store: `sqlite:${join(dataDir, 'events.db')}`,
    namespace,
    http: { host: '127.0.0.1', port: 0 },
    api: { keysFile: join(dataDir, 'api-keys.json') },
    // deploy_failing stays out of the way, so the risk sums below are exact.
    thresholds: { workloadUnavailableSeconds: 3600 },
    // Detection only: a remediation would end the Issue before the alert joins it.
    remediate: false,
    watchNamespaces: [namespace],
    ...(process.env.CAIRN_TEST_LOG ? { log: (line: string) => process.stderr.write(`[operator] ${line}\n`) } : {}),
  });
  await eventually('the operator to lead', async () => operator.isLeader());
  await startAlertmanager(binary, `${operator.httpUrl}/api/v1/alertmanager`);
});
afterAll(async () => {
  await stopAlertmanager();
  await operator?.stop();
  if (clients && namespace) await deleteNamespace(clients, namespace);
});

const list = async (plural: 'anomalies' | 'issues') =>
  (
    (await clients.custom.listNamespacedCustomObject({
      group: 'aiops.cairn.dev',
      version: 'v1alpha1',
      namespace,
      plural,
    })) as { items: CairnObject[] }
  ).items;

async function issueOf(workload: string, expectSignals: string[]) {
  return eventually(`an Issue on ${workload} with ${expectSignals.join(' + ')}`, async () => {
    const [issue, ...more] = (await list('issues')).filter((i) => i.spec.resource.name === workload);
    if (more.length > 0) throw new Error(`more than one Issue for ${workload}`);
    const signals = [...(issue?.spec.signals ?? [])].sort();
    return issue && JSON.stringify(signals) === JSON.stringify([...expectSignals].sort()) ? issue : undefined;
  });
}

async function fireAlert(labels: Record<string, string>, summary: string) {
  const response = await fetch(`${alertmanagerUrl}/api/v2/alerts`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify([{ labels, annotations: { summary }, startsAt: new Date().toISOString() }]),
  });
  expect(response.status, await response.text()).toBe(200);
}

describe('Prometheus Alertmanager feeding the same correlation as the watchers', () => {
  it('an error-rate alert on a Deployment becomes a prometheus Anomaly that joins its OOM Issue and raises its risk', async () => {
    requireAlertmanager();
    await clients.apps.createNamespacedDeployment({ namespace, body: deployment('payments', { replicas: 2 }) });
    await applyFault(cluster, 'oom', `${namespace}/payments`);
    const before = await issueOf('payments', ['oom_kill', 'pod_restart']);
    expect(before.spec).toMatchObject({ riskScore: 50, severity: 'medium' });

    await fireAlert(
      { alertname: 'HighErrorRate', namespace, deployment: 'payments', severity: 'critical' },
      '5xx ratio 12% over 5m',
    );
    const raised = await issueOf('payments', ['oom_kill', 'pod_restart', 'error_rate']);
    expect(raised.metadata.name).toBe(before.metadata.name);
    expect(raised.spec).toMatchObject({ riskScore: 75, severity: 'high' });

    const anomaly = await eventually('the error_rate Anomaly to be correlated', async () =>
      (await list('anomalies')).find((a) => a.spec.signal === 'error_rate' && a.status?.issueRef),
    );
    expect(anomaly.spec).toMatchObject({
      source: 'prometheus',
      resource: { kind: 'Deployment', name: 'payments' },
      message: 'HighErrorRate: 5xx ratio 12% over 5m',
      labels: { alertname: 'HighErrorRate', deployment: 'payments', namespace, severity: 'critical' },
    });
    expect(anomaly.status?.issueRef?.name).toBe(before.metadata.name);
  });

  it('an alert that names a Pod is resolved through the API server to the Pod’s Deployment', async () => {
    requireAlertmanager();
    const [pod] = await podsOf(clients, namespace, 'payments');
    const podName = pod?.metadata?.name ?? '';
    // `job` here is Prometheus' scrape job, not a Job: the pod label is read first.
    await fireAlert(
      { alertname: 'HighLatency', namespace, pod: podName, job: 'kube-state-metrics' },
      'p99 above 2s for 10m',
    );
    const raised = await issueOf('payments', ['oom_kill', 'pod_restart', 'error_rate', 'latency_spike']);
    expect(raised.spec).toMatchObject({ riskScore: 95, severity: 'critical' });
    const anomaly = await eventually('the latency_spike Anomaly', async () =>
      (await list('anomalies')).find((a) => a.spec.signal === 'latency_spike' && a.status?.issueRef),
    );
    expect(anomaly.spec).toMatchObject({ source: 'prometheus', resource: { kind: 'Pod', name: podName } });
    expect(anomaly.status?.issueRef?.name).toBe(raised.metadata.name);
  });

  it('the operator’s receiver reports alerts it cannot place and ignores resolved ones, and serves /healthz', async () => {
    requireAlertmanager();
    expect((await fetch(`${operator.httpUrl}/healthz`)).status).toBe(200);
    const response = await fetch(`${operator.httpUrl}/api/v1/alertmanager`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-api-key': alertmanagerKey.key },
      body: JSON.stringify({
        version: '4',
        status: 'firing',
        receiver: 'cairn',
        alerts: [
          { status: 'firing', labels: { alertname: 'KubePodNotReady', namespace, pod: 'ghost-5d8f' } },
          { status: 'resolved', labels: { alertname: 'HighErrorRate', namespace, deployment: 'payments' } },
        ],
      }),
    });
    expect(response.status).toBe(200);
    expect(((await response.json()) as { results: unknown[] }).results).toEqual([
      {
        index: 0,
        alertname: 'KubePodNotReady',
        status: 'unmapped',
        signal: 'pod_not_ready',
        reason: `pod: Pod ${namespace}/ghost-5d8f does not exist`,
      },
      { index: 1, alertname: 'HighErrorRate', status: 'ignored', reason: 'resolved alerts are not recorded' },
    ]);
    expect(operator.isLeader()).toBe(true);
  });
});
