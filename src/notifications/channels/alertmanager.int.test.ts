import { type ChildProcess, spawn } from 'node:child_process';
import { accessSync, constants, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import type { NotificationDelivery, NotifiedIssue } from '../../../domain/events/notification.events.ts';
import { eventually } from '../../../test/support/kube.ts';
import { startVendorReceiver, type VendorReceiver } from '../../../test/support/notificationReceivers.ts';
import { ALERTNAME, sendAlertmanager } from './alertmanager.channel.ts';
import type { ChannelMessage } from './channel.ts';

/*
 * The alertmanager channel against Debian's real Alertmanager: Cairn posts each Issue as an alert, Alertmanager
 * routes it to a webhook receiver as it would to any team's, firing and then resolved.
 */

const BINARIES = ['alertmanager', 'prometheus-alertmanager'];
const binary = (process.env.PATH ?? '')
  .split(delimiter)
  .flatMap((dir) => BINARIES.map((name) => join(dir, name)))
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
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });

const issue: NotifiedIssue = {
  issueId: 'iss-am-1',
  name: 'checkout-iss-am-1',
  severity: 'critical',
  signal: 'oom_kill',
  riskScore: 85,
  workload: { kind: 'Deployment', name: 'checkout', namespace: 'shop' },
  state: 'Detected',
  summary: 'container app was OOMKilled',
  detectedAt: new Date(Date.now() - 60_000).toISOString(),
};
const message = (status: 'firing' | 'resolved', decidedAt: string): ChannelMessage => ({
  notificationId: `g-am-${status}`,
  policy: { namespace: 'shop', name: 'on-call', rule: 'all' },
  groupKey: 'namespace=shop',
  decidedAt,
  attempt: 1,
  incidentUrl: 'https://cairn.example.com/api/v1/incidents/{issueId}',
  delivery: {
    deliveryId: `g-am-${status}-am`,
    channel: { name: 'am', type: 'alertmanager' },
    repeat: false,
    issues: [{ issue, status, transition: status === 'firing' ? 'detected' : 'resolved', changed: true }],
    omitted: 0,
  } satisfies NotificationDelivery,
});

interface WebhookAlert {
  status: string;
  labels: Record<string, string>;
  annotations: Record<string, string>;
  startsAt: string;
  endsAt: string;
}

describe('alertmanager channel into a real Alertmanager', () => {
  let alertmanager: ChildProcess;
  let url: string;
  let team: VendorReceiver;
  let dir: string;

  beforeAll(async () => {
    if (binary === undefined) {
      throw new Error(
        'this test runs a real Alertmanager: `apt-get install -y prometheus-alertmanager` (`npx cairn prerequisites` does as root)',
      );
    }
    team = await startVendorReceiver('webhook');
    dir = mkdtempSync(join(tmpdir(), 'cairn-am-channel-'));
    const port = await freePort();
    url = `http://127.0.0.1:${port}`;
    writeFileSync(
      join(dir, 'alertmanager.yml'),
      stringify({
        route: {
          receiver: 'team',
          group_by: ['alertname', 'issue'],
          group_wait: '1s',
          group_interval: '1s',
          repeat_interval: '1h',
        },
        receivers: [{ name: 'team', webhook_configs: [{ url: `${team.url}/alerts`, send_resolved: true }] }],
      }),
    );
    alertmanager = spawn(
      binary!,
      [
        `--config.file=${join(dir, 'alertmanager.yml')}`,
        `--storage.path=${join(dir, 'data')}`,
        `--web.listen-address=127.0.0.1:${port}`,
        '--cluster.listen-address=',
        '--log.level=warn',
      ],
      { stdio: 'ignore' },
    );
    await eventually('Alertmanager to be ready', async () => (await fetch(`${url}/-/ready`)).ok, 60_000);
  });
  afterAll(async () => {
    // Alertmanager writes its data directory as it shuts down: remove it once the process is gone.
    const exited =
      alertmanager && alertmanager.exitCode === null ? new Promise((r) => alertmanager?.once('exit', r)) : undefined;
    alertmanager?.kill('SIGTERM');
    await exited;
    await team?.close();
    if (dir) rmSync(dir, { recursive: true, force: true, maxRetries: 5, retryDelay: 100 });
  });

  const delivered = (status: string) =>
    team.received
      .flatMap((r) => (r.body as { alerts?: WebhookAlert[] }).alerts ?? [])
      .find((a) => a.status === status && a.labels.issue === issue.name);

  it('arrives firing with its labels and annotations, then resolved when Cairn resolves the Issue', async () => {
    const fired = await sendAlertmanager(message('firing', new Date().toISOString()), { target: url }, 10_000);
    expect(fired).toMatchObject({ ok: true, statusCode: 200 });
    const firing = await eventually('the firing alert at the team receiver', async () => delivered('firing'), 60_000);
    expect(firing.labels).toEqual({
      alertname: ALERTNAME,
      severity: 'critical',
      namespace: 'shop',
      workload: 'deployment/checkout',
      issue: 'checkout-iss-am-1',
      signal: 'oom_kill',
    });
    expect(firing.annotations).toMatchObject({
      summary: 'CRITICAL oom_kill on Deployment shop/checkout: detected (Issue checkout-iss-am-1)',
      link: 'https://cairn.example.com/api/v1/incidents/iss-am-1',
    });
    expect(Date.parse(firing.startsAt)).toBe(Date.parse(issue.detectedAt));

    const active = (await (await fetch(`${url}/api/v2/alerts?filter=issue%3D%22${issue.name}%22`)).json()) as {
      status: { state: string };
    }[];
    expect(active.map((a) => a.status.state)).toEqual(['active']);

    const resolved = await sendAlertmanager(message('resolved', new Date().toISOString()), { target: url }, 10_000);
    expect(resolved.ok).toBe(true);
    const ended = await eventually(
      'the resolved alert at the team receiver',
      async () => delivered('resolved'),
      60_000,
    );
    expect(ended.labels.issue).toBe(issue.name);
    expect(team.received.every((r) => r.problems.length === 0)).toBe(true);
  });

  it('reports an Alertmanager refusing a malformed alert as a failure not worth retrying', async () => {
    const bad = message('firing', new Date().toISOString());
    const broken = {
      ...bad,
      delivery: {
        ...bad.delivery,
        issues: [{ ...bad.delivery.issues[0]!, issue: { ...issue, detectedAt: 'not a time' } }],
      },
    };
    const result = await sendAlertmanager(broken, { target: url }, 10_000);
    expect(result).toMatchObject({ ok: false, statusCode: 400, retryable: false });
  });
});
