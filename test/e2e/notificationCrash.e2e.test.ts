import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type IncomingHttpHeaders, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { NotificationDecidedData } from '../../domain/events/notification.events.ts';
import { issueDecider } from '../../domain/issue/issue.decider.ts';
import type { RecordedEvent } from '../../domain/messages.ts';
import { StreamCategory, streamName } from '../../domain/streams.ts';
import { openEventStore } from '../../src/adapters/eventstore/openEventStore.ts';
import { createCommandHandler } from '../../src/application/commandHandler.ts';
import { verifyWebhook, WebhookHeaders } from '../../src/notifications/channels/webhook.channel.ts';
import type { EventStore } from '../../src/ports/eventStore.ts';
import { createNamespace, deleteNamespace, eventually, type KubeClients, kubeClients } from '../support/kube.ts';

/**
 * The outbox's promise, with the operator as it runs in production (`cairn operator`, a separate process): it is
 * SIGKILLed while the receivers hold the requests it sent (the decision is in the log, no outcome is), then
 * started again on the same store. Every delivery must arrive, PagerDuty's dedup_key and the webhook's delivery id
 * must be those of the first try, so the copies a receiver sees twice are the ones its dedup key absorbs. Then, on
 * the same operator: a channel that keeps failing is degraded in the policy's status and /readyz without blocking
 * the other channel, heals at the next delivered message, and `cairn notify test` reports a test message's outcome.
 */
const cairnBin = new URL('../../src/cli/cairn.mjs', import.meta.url).pathname;
const group = 'aiops.cairn.dev';
const version = 'v1alpha1';
const plural = 'notificationpolicies';
const routingKey = 'R0UT1NGKEY0123456789abcdefCRASH0';
const signingKey = 'whsec-crash-test-0123456789';
const devKey = `cairn_dev_${'k'.repeat(32)}`;

interface Held {
  readonly headers: IncomingHttpHeaders;
  readonly raw: string;
  readonly body: Record<string, unknown>;
}

/** A receiver that, while `holding`, takes requests in and answers none of them; otherwise answers `status`. */
async function startGate(okStatus: number) {
  const received: Held[] = [];
  const waiting: ServerResponse[] = [];
  const gate = { holding: true, status: okStatus };
  const server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (c: Buffer) => chunks.push(c));
    request.on('end', () => {
      const raw = Buffer.concat(chunks).toString('utf8');
      received.push({ headers: request.headers, raw, body: JSON.parse(raw) as Record<string, unknown> });
      if (gate.holding) {
        waiting.push(response);
        return;
      }
      response.writeHead(gate.status, { 'content-type': 'application/json' });
      response.end(gate.status < 300 ? '{"status":"success"}' : '{"error":"receiver down"}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    received,
    gate,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
type Gate = Awaited<ReturnType<typeof startGate>>;

interface OperatorProcess {
  readonly child: ChildProcess;
  readonly lines: string[];
  readonly exited: Promise<void>;
  url(): string | undefined;
}

let clients: KubeClients;
let namespace: string;
let storeDir: string;
let storeUrl: string;
let store: EventStore;
let pager: Gate;
let hook: Gate;
const children: OperatorProcess[] = [];
const killAll = () => {
  for (const { child } of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
};
process.once('exit', killAll);

/** A port free now, for `--http-port` (0 there turns HTTP off). */
const freePort = () =>
  new Promise<number>((resolve) => {
    const probe = createServer();
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as AddressInfo;
      probe.close(() => resolve(port));
    });
  });

async function startOperatorProcess(name: string): Promise<OperatorProcess> {
  const port = await freePort();
  const child = spawn(
    process.execPath,
    [
      cairnBin,
      'operator',
      '--kubeconfig',
      inject('kubeconfig'),
      '--store',
      storeUrl,
      '--namespace',
      namespace,
      '--identity',
      name,
      '--lease-duration',
      '4000',
      '--watch-namespace',
      namespace,
      '--http-port',
      String(port),
      '--dev-api-key',
      devKey,
      '--no-remediate',
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const lines: string[] = [];
  let partial = '';
  child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
    const parts = (partial + chunk).split('\n');
    partial = parts.pop() ?? '';
    for (const raw of parts) {
      lines.push(raw.replace(/^\S+ /, ''));
      if (process.env.CAIRN_TEST_LOG) process.stderr.write(`[${name}] ${raw}\n`);
    }
  });
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
    if (process.env.CAIRN_TEST_LOG) process.stderr.write(`[${name} stderr] ${chunk}`);
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const operator = {
    child,
    lines,
    exited,
    url: () => lines.map((l) => /HTTP API on (http:\S+)/.exec(l)?.[1]).find((u) => u !== undefined),
  };
  children.push(operator);
  return operator;
}

const events = async (type: string): Promise<RecordedEvent[]> =>
  (await store.readAll()).filter((e) => e.type === type && e.streamId.startsWith(`${StreamCategory.Notification}-`));

const detect = (issueId: string) =>
  createCommandHandler(store, issueDecider)(streamName(StreamCategory.Issue, issueId), {
    type: 'DetectIssue',
    data: {
      issueId,
      workload: { kind: 'Deployment', name: `shop-${issueId}`, namespace },
      resource: { kind: 'Deployment', name: `shop-${issueId}`, namespace },
      signal: 'oom_kill',
      source: 'watcher',
      anomalyId: `${issueId}-a1`,
      description: 'container app was OOMKilled',
    },
    metadata: { occurredAt: new Date().toISOString(), actor: 'system:test' },
  });

const policyStatus = async () =>
  (
    (await clients.custom.getNamespacedCustomObject({ group, version, namespace, plural, name: 'on-call' })) as {
      status?: {
        channels?: { name: string; state: string; consecutiveFailures: number; lastError?: string }[];
        conditions?: { type: string; status: string; message: string }[];
      };
    }
  ).status;

const run = (args: string[], env: Record<string, string>) =>
  new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
    const child = spawn(process.execPath, [cairnBin, ...args], {
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (c: string) => {
      stdout += c;
    });
    child.stderr.setEncoding('utf8').on('data', (c: string) => {
      stderr += c;
    });
    child.once('exit', (code) => resolve({ code, stdout, stderr }));
  });

beforeAll(async () => {
  clients = kubeClients();
  namespace = await createNamespace(clients, 'notifycrash');
  storeDir = mkdtempSync(join(tmpdir(), 'cairn-notify-crash-'));
  storeUrl = `sqlite:${join(storeDir, 'events.db')}`;
  store = openEventStore(storeUrl);
  [pager, hook] = await Promise.all([startGate(202), startGate(200)]);
  await clients.core.createNamespacedSecret({
    namespace,
    body: { metadata: { name: 'pagerduty' }, stringData: { routingKey } },
  });
  await clients.core.createNamespacedSecret({
    namespace,
    body: { metadata: { name: 'hook-signing' }, stringData: { key: signingKey } },
  });
  await clients.custom.createNamespacedCustomObject({
    group,
    version,
    namespace,
    plural,
    body: {
      apiVersion: `${group}/${version}`,
      kind: 'NotificationPolicy',
      metadata: { name: 'on-call' },
      spec: {
        channels: [
          {
            name: 'pager',
            type: 'pagerduty',
            url: `${pager.url}/v2/enqueue`,
            secretRef: { name: 'pagerduty', key: 'routingKey' },
          },
          {
            name: 'hook',
            type: 'webhook',
            url: `${hook.url}/cairn`,
            signingSecretRef: { name: 'hook-signing', key: 'key' },
          },
        ],
        rules: [{ name: 'all', match: { namespaces: [namespace] }, channels: ['pager', 'hook'] }],
        grouping: { groupBy: ['namespace'], groupWait: '0s', groupInterval: '1s', repeatInterval: '24h' },
      },
    },
  });
}, 120_000);
afterAll(async () => {
  killAll();
  await Promise.all(children.map((c) => c.exited));
  await store?.close();
  await Promise.all([pager?.close(), hook?.close()]);
  await deleteNamespace(clients, namespace);
  rmSync(storeDir, { recursive: true, force: true });
});

describe('notification outbox across kill -9', () => {
  let second: OperatorProcess;

  it('delivers every decided notification after a SIGKILL between decision and outcome, under the same dedup keys', async () => {
    const first = await startOperatorProcess('notify-a');
    await eventually(
      'the first operator to lead',
      async () => first.lines.some((l) => l.includes('is leading')),
      120_000,
    );
    await eventually(
      'the policy to be Ready',
      async () => (await policyStatus())?.conditions?.find((c) => c.type === 'Ready')?.status === 'True',
      120_000,
    );
    const issues = ['crash-1', 'crash-2', 'crash-3'];
    for (const id of issues) await detect(id);

    // PagerDuty gets one trigger per Issue, the webhook one grouped message: all four held, none answered.
    await eventually(
      'the receivers to hold every request',
      async () => pager.received.length >= 3 && hook.received.length >= 1,
      120_000,
    );
    const decided = (await events('NotificationDecided')).flatMap(
      (e) => (e.data as NotificationDecidedData).deliveries,
    );
    expect(decided.map((d) => d.deliveryId).sort()).toHaveLength(4);
    expect(await events('NotificationDelivered')).toEqual([]);
    first.child.kill('SIGKILL');
    await first.exited;

    pager.gate.holding = false;
    hook.gate.holding = false;
    second = await startOperatorProcess('notify-b');
    await eventually(
      'every decided delivery to be recorded delivered',
      async () => (await events('NotificationDelivered')).length >= decided.length,
      180_000,
    );

    const delivered = (await events('NotificationDelivered')).map((e) => (e.data as { deliveryId: string }).deliveryId);
    // Exactly one outcome per delivery: the restart neither lost nor recorded any twice.
    expect([...delivered].sort()).toEqual(decided.map((d) => d.deliveryId).sort());

    const pages = pager.received.map((r) => r.body as { dedup_key: string; event_action: string; routing_key: string });
    expect(pages.every((p) => p.event_action === 'trigger' && p.routing_key === routingKey)).toBe(true);
    // Each Issue paged under its own key, and only the held try and its retry carry it: PagerDuty keeps one incident.
    expect(new Set(pages.map((p) => p.dedup_key))).toEqual(new Set(issues));
    for (const key of issues) expect(pages.filter((p) => p.dedup_key === key)).toHaveLength(2);

    const hookIds = hook.received.map((r) => r.headers[WebhookHeaders.deliveryId]);
    const hookDelivery = decided.find((d) => d.channel.name === 'hook')?.deliveryId;
    expect(new Set(hookIds)).toEqual(new Set([hookDelivery]));
    expect(hook.received).toHaveLength(2);
    for (const r of hook.received) {
      const verdict = verifyWebhook(
        signingKey,
        {
          signature: r.headers[WebhookHeaders.signature] as string,
          timestamp: r.headers[WebhookHeaders.timestamp] as string,
        },
        r.raw,
        Math.floor(Date.now() / 1000),
      );
      expect(verdict).toEqual({ ok: true });
      expect((r.body.issues as { issueId: string }[]).map((i) => i.issueId).sort()).toEqual(issues);
    }
  }, 420_000);

  it('shows who was told what for an incident in the REST API, and counts it in /metrics', async () => {
    const api = await eventually('the second operator to serve HTTP', async () => second.url());
    const headers = { 'x-api-key': devKey };
    const listed = await eventually('the read model to show the deliveries', async () => {
      const response = await fetch(`${api}/api/v1/incidents/crash-1/notifications`, { headers });
      const items = ((await response.json()) as { items?: { outcome: string }[] }).items ?? [];
      return items.length === 2 && items.every((d) => d.outcome === 'delivered') ? items : undefined;
    });
    expect(listed.map((d) => (d as unknown as { channel: { name: string } }).channel.name).sort()).toEqual([
      'hook',
      'pager',
    ]);
    const metrics = await (await fetch(`${api}/metrics`)).text();
    expect(metrics).toMatch(/cairn_notifications_total\{channel="pager",outcome="delivered"\} 3/);
    expect(metrics).toMatch(/cairn_notification_delivery_seconds_count\{channel="hook"\} 1/);
  }, 120_000);

  it('marks a failing channel degraded in the status and /readyz while the other still delivers, and heals it', async () => {
    const api = second.url() as string;
    hook.gate.status = 500;
    const pagesBefore = pager.received.length;
    await detect('crash-4');
    await eventually(
      'the hook channel to be Degraded in the status',
      async () => (await policyStatus())?.channels?.find((c) => c.name === 'hook' && c.state === 'Degraded'),
      180_000,
    );
    const status = await policyStatus();
    expect(status?.conditions?.find((c) => c.type === 'Degraded')).toMatchObject({ status: 'True' });
    expect(status?.conditions?.find((c) => c.type === 'Degraded')?.message).toContain(
      'hook: 3 failed in a row, last: HTTP 500',
    );
    expect(status?.channels?.find((c) => c.name === 'pager')?.state).toBe('Healthy');
    // The pager was not held up by the failing webhook.
    expect(pager.received.length).toBe(pagesBefore + 1);

    const ready = await eventually('/readyz to name the degraded channel', async () => {
      const response = await fetch(`${api}/readyz`);
      const body = (await response.json()) as { checks: { name: string; ok: boolean; detail: string }[] };
      const check = body.checks.find((c) => c.name === 'notifications');
      return check && !check.ok ? { code: response.status, check } : undefined;
    });
    // Advisory: the operator stays ready.
    expect(ready.code).toBe(200);
    expect(ready.check.detail).toContain(`${namespace}/on-call channel hook degraded`);
    expect(ready.check.detail).not.toContain(signingKey);

    hook.gate.status = 200;
    await eventually(
      'the hook channel to heal at its next delivered message',
      async () => (await policyStatus())?.channels?.find((c) => c.name === 'hook' && c.state === 'Healthy'),
      180_000,
    );
    expect((await policyStatus())?.conditions?.find((c) => c.type === 'Degraded')?.status).toBe('False');
  }, 420_000);

  it('cairn notify test sends a test message through the outbox and prints the outcome', async () => {
    const api = second.url() as string;
    const env = { CAIRN_API_KEY: devKey };
    const before = hook.received.length;
    const ok = await run(['notify', 'test', `${namespace}/on-call`, 'hook', '--api-url', api, '--wait', '120'], env);
    expect(ok.stderr).toBe('');
    expect(ok.stdout).toMatch(/delivered to hook \(webhook\): HTTP 200 in \d+ ms, attempt 1/);
    expect(ok.code).toBe(0);
    const message = hook.received
      .slice(before)
      .find((r) => String(r.headers[WebhookHeaders.deliveryId]).startsWith('test-'));
    expect(JSON.stringify(message?.body ?? {})).toContain('asked for by key:dev');

    const unknown = await run(['notify', 'test', `${namespace}/on-call`, 'nope', '--api-url', api], env);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain('has no channel nope (it has: pager, hook)');

    hook.gate.status = 400;
    const refused = await run(
      ['notify', 'test', `${namespace}/on-call`, 'hook', '--api-url', api, '--wait', '120'],
      env,
    );
    expect(refused.code).toBe(1);
    expect(refused.stdout).toMatch(/FAILED on hook \(webhook\) after 1 attempt\(s\), given up: HTTP 400/);
    hook.gate.status = 200;
  }, 420_000);
});
