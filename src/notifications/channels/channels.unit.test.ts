import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { NotificationDelivery, NotifiedIssue } from '../../../domain/events/notification.events.ts';
import { startVendorReceiver, type VendorReceiver } from '../../../test/support/notificationReceivers.ts';
import {
  ALERT_HOLD_MS,
  ALERTNAME,
  alertmanagerAlerts,
  alertmanagerRequest,
  sendAlertmanager,
} from './alertmanager.channel.ts';
import { type ChannelMessage, retryAfterSeconds } from './channel.ts';
import { EMAIL_LIMITS, emailHtml, emailSubject, emailText, sendEmail } from './email.channel.ts';
import { OPSGENIE_API_URL, OPSGENIE_LIMITS, opsgenieCall, opsgenieRequest, sendOpsgenie } from './opsgenie.channel.ts';
import { pagerDutyEvent, sendPagerDuty } from './pagerduty.channel.ts';
import { SLACK_LIMITS, sendSlack, slackPayload } from './slack.channel.ts';
import { sendTeams, TEAMS_LIMITS, teamsPayload } from './teams.channel.ts';
import { sendWebhook, verifyWebhook, WEBHOOK_SCHEMA, WebhookHeaders } from './webhook.channel.ts';

const routingKey = 'R0UT1NGKEY0123456789abcdefABCDEF';
const issue = (extra: Partial<NotifiedIssue> = {}): NotifiedIssue => ({
  issueId: 'iss-1',
  name: 'checkout-iss-1',
  severity: 'critical',
  signal: 'oom_kill',
  riskScore: 80,
  workload: { kind: 'Deployment', name: 'checkout', namespace: 'shop' },
  state: 'Detected',
  summary: 'container app was OOMKilled',
  detectedAt: '2026-01-05T10:00:00.000Z',
  ...extra,
});
const message = (delivery: Partial<NotificationDelivery> = {}, extra: Partial<NotifiedIssue> = {}): ChannelMessage => ({
  notificationId: 'g1-1',
  policy: { namespace: 'cairn-system', name: 'on-call', rule: 'prod' },
  groupKey: 'namespace=shop,signal=oom_kill',
  decidedAt: '2026-01-05T10:00:30.000Z',
  attempt: 1,
  delivery: {
    deliveryId: 'g1-1-pager-iss-1',
    channel: { name: 'pager', type: 'pagerduty' },
    repeat: false,
    issues: [{ issue: issue(extra), status: 'firing', transition: 'detected', changed: true }],
    omitted: 0,
    pagingAction: 'trigger',
    ...delivery,
  },
});

const genieKey = 'a1b2c3d4-0000-4000-8000-0123456789ab';
const incidentUrl = 'https://cairn.example.com/api/v1/incidents/{issueId}';

let slack: VendorReceiver;
let pagerDuty: VendorReceiver;
let webhook: VendorReceiver;
let teams: VendorReceiver;
let opsgenie: VendorReceiver;
beforeAll(async () => {
  [slack, pagerDuty, webhook, teams, opsgenie] = await Promise.all([
    startVendorReceiver('slack'),
    startVendorReceiver('pagerduty'),
    startVendorReceiver('webhook'),
    startVendorReceiver('teams'),
    startVendorReceiver('opsgenie', { apiKey: genieKey }),
  ]);
});
afterAll(async () => {
  await Promise.all([slack.close(), pagerDuty.close(), webhook.close(), teams.close(), opsgenie.close()]);
});

const many = (count: number, summary: string) =>
  Array.from({ length: count }, (_, i) => ({
    issue: issue({ issueId: `iss-${i}`, name: `n-${i}`, summary }),
    status: 'firing' as const,
    transition: 'detected' as const,
    changed: true,
  }));

/** A TCP server that accepts connections and never says a word: a vendor (or SMTP server) that hangs. */
async function silentServer() {
  const { createServer } = await import('node:net');
  const sockets = new Set<import('node:net').Socket>();
  const server = createServer((socket) => {
    sockets.add(socket);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    port: (server.address() as { port: number }).port,
    close: () => {
      for (const s of sockets) s.destroy();
      server.close();
    },
  };
}

describe('PagerDuty Events API v2', () => {
  it('triggers, acknowledges and resolves one incident keyed by the Issue, each answered 202', async () => {
    const url = `${pagerDuty.url}/v2/enqueue`;
    for (const action of ['trigger', 'acknowledge', 'resolve'] as const) {
      const result = await sendPagerDuty(message({ pagingAction: action }), { target: routingKey, url }, 5_000);
      expect(result).toMatchObject({ ok: true, statusCode: 202 });
    }
    const sent = pagerDuty.received.slice(-3);
    expect(sent.map((r) => r.problems)).toEqual([[], [], []]);
    expect(sent.map((r) => (r.body as { event_action: string }).event_action)).toEqual([
      'trigger',
      'acknowledge',
      'resolve',
    ]);
    expect(sent.map((r) => (r.body as { dedup_key: string }).dedup_key)).toEqual(['iss-1', 'iss-1', 'iss-1']);
    expect(sent[0]?.body).toMatchObject({ payload: { severity: 'critical' } });
  });

  it('cuts an oversized summary to the 1024 characters PagerDuty takes, rather than failing the page', async () => {
    const event = pagerDutyEvent(message({}, { summary: 'x'.repeat(50_000) }), routingKey) as {
      payload: { summary: string };
    };
    expect(event.payload.summary.length).toBe(1_024);
    const result = await sendPagerDuty(
      message({}, { summary: 'x'.repeat(50_000) }),
      { target: routingKey, url: pagerDuty.url },
      5_000,
    );
    expect(result.ok).toBe(true);
  });

  it('links the incident when the policy says where incidents are, and PagerDuty takes it', async () => {
    const linked = { ...message(), incidentUrl };
    const event = pagerDutyEvent(linked, routingKey);
    expect(event.links).toEqual([
      { href: 'https://cairn.example.com/api/v1/incidents/iss-1', text: 'The incident in Cairn' },
    ]);
    expect(await sendPagerDuty(linked, { target: routingKey, url: pagerDuty.url }, 5_000)).toMatchObject({ ok: true });
    expect(pagerDuty.received.at(-1)?.problems).toEqual([]);
  });

  it('stays a valid event far under 512 KB with every Issue field at its longest', async () => {
    const longest = {
      ...message(
        {},
        {
          issueId: 'i'.repeat(255),
          name: 'n'.repeat(255),
          signal: 's'.repeat(63),
          state: 't'.repeat(32),
          summary: 'x'.repeat(2_048),
          acknowledgedBy: 'a'.repeat(2_048),
          workload: { kind: 'K'.repeat(63), name: 'w'.repeat(253), namespace: 'n'.repeat(63) },
        },
      ),
      incidentUrl: `https://cairn.example.com/${'p'.repeat(2_000)}/{issueId}`,
    };
    const body = JSON.stringify(pagerDutyEvent(longest, routingKey));
    expect(Buffer.byteLength(body)).toBeLessThan(512 * 1024);
    expect(await sendPagerDuty(longest, { target: routingKey, url: pagerDuty.url }, 5_000)).toMatchObject({ ok: true });
    expect(pagerDuty.received.at(-1)?.problems).toEqual([]);
  });

  it('reports a refused event as a failure not worth retrying, without the routing key', async () => {
    const result = await sendPagerDuty(message(), { target: 'short-key', url: pagerDuty.url }, 5_000);
    expect(result).toMatchObject({ ok: false, statusCode: 400, retryable: false });
    expect(result.error).toContain('routing_key');
    expect(result.error).not.toContain('short-key');
  });

  it('honours 429 with Retry-After, and retries a 5xx', async () => {
    pagerDuty.script(
      { status: 429, headers: { 'retry-after': '7' }, body: '{"status":"throttle event"}' },
      { status: 503, body: 'upstream unavailable' },
    );
    const limited = await sendPagerDuty(message(), { target: routingKey, url: pagerDuty.url }, 5_000);
    expect(limited).toMatchObject({ ok: false, statusCode: 429, retryable: true, retryAfterSeconds: 7 });
    const down = await sendPagerDuty(message(), { target: routingKey, url: pagerDuty.url }, 5_000);
    expect(down).toMatchObject({ ok: false, statusCode: 503, retryable: true });
  });
});

describe('Slack incoming webhook', () => {
  const slackMessage = (extra: Partial<NotifiedIssue> = {}, delivery: Partial<NotificationDelivery> = {}) =>
    message({ channel: { name: 'slack', type: 'slack' }, deliveryId: 'g1-1-slack', ...delivery }, extra);

  it('posts Block Kit that Slack accepts, answered ok', async () => {
    const hook = `${slack.url}/services/T000/B000/SECRETPATH`;
    const result = await sendSlack(slackMessage(), { target: hook }, 5_000);
    expect(result).toMatchObject({ ok: true, statusCode: 200 });
    const last = slack.received.at(-1);
    expect(last?.problems).toEqual([]);
    expect(JSON.stringify(last?.body)).toContain('oom_kill on Deployment shop/checkout');
  });

  it('stays within Block Kit limits with 100 Issues and huge summaries, counting what it leaves out', async () => {
    const many = Array.from({ length: 100 }, (_, i) => ({
      issue: issue({ issueId: `iss-${i}`, name: `n-${i}`, summary: 'y'.repeat(10_000) }),
      status: 'firing' as const,
      transition: 'detected' as const,
      changed: true,
    }));
    const payload = slackPayload(slackMessage({}, { issues: many, omitted: 5 })) as { blocks: unknown[] };
    expect(payload.blocks.length).toBe(SLACK_LIMITS.blocks);
    expect(JSON.stringify(payload.blocks.at(-1))).toContain('and 57 more');
    const result = await sendSlack(slackMessage({}, { issues: many, omitted: 5 }), { target: slack.url }, 5_000);
    expect(result.ok).toBe(true);
    expect(slack.received.at(-1)?.problems).toEqual([]);
  });

  it('links each Issue to its incident, and keeps the link when it cuts a long summary', async () => {
    const linked = { ...slackMessage({ summary: 'q'.repeat(10_000) }), incidentUrl };
    const payload = slackPayload(linked) as { blocks: { text?: { text: string } }[] };
    expect(payload.blocks[1]?.text?.text).toContain(
      '<https://cairn.example.com/api/v1/incidents/iss-1|Open the incident>',
    );
    expect(payload.blocks[1]?.text?.text.length).toBe(SLACK_LIMITS.section);
    expect((await sendSlack(linked, { target: slack.url }, 5_000)).ok).toBe(true);
    expect(slack.received.at(-1)?.problems).toEqual([]);
  });

  it('never shows the webhook URL, which is the credential, in a failure', async () => {
    const hook = `${slack.url}/services/T000/B000/SECRETPATH`;
    slack.script({ status: 500, body: `rollup_error at ${hook}` });
    const failed = await sendSlack(slackMessage(), { target: hook }, 5_000);
    expect(failed).toMatchObject({ ok: false, statusCode: 500, retryable: true });
    expect(failed.error).not.toContain('SECRETPATH');
    const refused = await sendSlack(slackMessage(), { target: 'http://127.0.0.1:1/services/SECRETPATH' }, 5_000);
    expect(refused).toMatchObject({ ok: false, retryable: true });
    expect(refused.error).not.toContain('SECRETPATH');
    expect(refused.statusCode).toBeUndefined();
  });

  it('gives up waiting for a receiver that never answers, within the channel timeout', async () => {
    const { createServer } = await import('node:net');
    const silent = createServer(() => {});
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
    const port = (silent.address() as { port: number }).port;
    const result = await sendSlack(slackMessage(), { target: `http://127.0.0.1:${port}/hook` }, 200);
    silent.close();
    expect(result).toMatchObject({ ok: false, retryable: true, error: 'no answer within 200 ms' });
  });
});

describe('generic webhook', () => {
  const key = 'whsec-0123456789';
  const hookMessage = message({ channel: { name: 'hooks', type: 'webhook' }, deliveryId: 'g1-1-hooks' });
  delete (hookMessage.delivery as { pagingAction?: string }).pagingAction;

  it('signs timestamp and body, names the delivery, and a receiver verifies it', async () => {
    const now = Date.parse('2026-01-05T10:00:31Z');
    const result = await sendWebhook(
      hookMessage,
      { target: `${webhook.url}/cairn`, signingKey: key },
      5_000,
      () => now,
    );
    expect(result).toMatchObject({ ok: true, statusCode: 204 });
    const last = webhook.received.at(-1)!;
    expect(last.headers[WebhookHeaders.deliveryId]).toBe('g1-1-hooks');
    expect(last.headers[WebhookHeaders.timestamp]).toBe(String(now / 1000));
    expect((last.body as { schema: string }).schema).toBe(WEBHOOK_SCHEMA);
    const headers = {
      signature: String(last.headers[WebhookHeaders.signature]),
      timestamp: String(last.headers[WebhookHeaders.timestamp]),
    };
    expect(verifyWebhook(key, headers, last.raw, now / 1000 + 10)).toEqual({ ok: true });
    // A replay later than the tolerance, a changed body, or another key are refused.
    expect(verifyWebhook(key, headers, last.raw, now / 1000 + 301)).toEqual({ ok: false, reason: 'stale' });
    expect(verifyWebhook(key, headers, last.raw.replace('shop', 'shoq'), now / 1000)).toEqual({
      ok: false,
      reason: 'mismatch',
    });
    expect(verifyWebhook('other', headers, last.raw, now / 1000)).toEqual({ ok: false, reason: 'mismatch' });
    expect(last.raw).not.toContain(key);
  });

  it('gives each Issue its incident link when the policy has an incidentUrl', async () => {
    expect(await sendWebhook({ ...hookMessage, incidentUrl }, { target: webhook.url }, 5_000)).toMatchObject({
      ok: true,
    });
    const body = webhook.received.at(-1)?.body as { issues: { issueId: string; link?: string }[] };
    expect(body.issues).toEqual([
      expect.objectContaining({ issueId: 'iss-1', link: 'https://cairn.example.com/api/v1/incidents/iss-1' }),
    ]);
    expect(await sendWebhook(hookMessage, { target: webhook.url }, 5_000)).toMatchObject({ ok: true });
    expect((webhook.received.at(-1)!.body as { issues: object[] }).issues[0]).not.toHaveProperty('link');
  });
});

describe('Microsoft Teams workflow', () => {
  const teamsMessage = (extra: Partial<NotifiedIssue> = {}, delivery: Partial<NotificationDelivery> = {}) => {
    const m = message({ channel: { name: 'chat', type: 'teams' }, deliveryId: 'g1-1-chat', ...delivery }, extra);
    delete (m.delivery as { pagingAction?: string }).pagingAction;
    return { ...m, incidentUrl };
  };
  const hook = () => `${teams.url}/workflows/abc/triggers/manual/paths/invoke?sig=SECRETSIG`;
  const cardOf = (r: { body: unknown } | undefined) =>
    (r!.body as { attachments: { content: Record<string, unknown> }[] }).attachments[0]!.content;

  it('posts an Adaptive Card that the schema accepts, linking the incident, answered 202', async () => {
    const result = await sendTeams(teamsMessage(), { target: hook() }, 5_000);
    expect(result).toMatchObject({ ok: true, statusCode: 202 });
    const last = teams.received.at(-1);
    expect(last?.problems).toEqual([]);
    const card = cardOf(last);
    expect(card).toMatchObject({ type: 'AdaptiveCard', version: '1.4' });
    expect(JSON.stringify(card)).toContain('oom_kill on Deployment shop/checkout: detected');
    expect(card.actions).toEqual([
      { type: 'Action.OpenUrl', title: 'Open the incident', url: 'https://cairn.example.com/api/v1/incidents/iss-1' },
    ]);
  });

  it('says resolved in green when the Issue resolved', async () => {
    const resolved = teamsMessage(
      {},
      { issues: [{ issue: issue(), status: 'resolved', transition: 'resolved', changed: true }] },
    );
    expect((await sendTeams(resolved, { target: hook() }, 5_000)).ok).toBe(true);
    const card = cardOf(teams.received.at(-1));
    const [title] = card.body as { text: string; color: string }[];
    expect(title).toMatchObject({ color: 'Good' });
    expect(title?.text).toContain('1 resolved');
    expect(JSON.stringify(card)).toContain('resolved (Issue checkout-iss-1)');
  });

  it("keeps a card of 100 Issues with huge summaries under Teams' 28 KB, counting those left out", async () => {
    const body = JSON.stringify(teamsPayload(teamsMessage({}, { issues: many(100, 'z'.repeat(20_000)), omitted: 3 })));
    expect(Buffer.byteLength(body)).toBeLessThanOrEqual(TEAMS_LIMITS.card + 1_000);
    const shown = (body.match(/"type":"Container"/g) ?? []).length;
    expect(shown).toBeGreaterThan(0);
    expect(body).toContain(`"value":"${100 - shown + 3} more Issues"`);
    const result = await sendTeams(
      teamsMessage({}, { issues: many(100, 'z'.repeat(20_000)) }),
      { target: hook() },
      5_000,
    );
    expect(result.ok).toBe(true);
    expect(teams.received.at(-1)?.problems).toEqual([]);
  });

  it('retries a 429 after its Retry-After and a 5xx; a 200 naming an error is no delivery; no URL in errors', async () => {
    teams.script(
      { status: 429, headers: { 'retry-after': '30' }, body: `throttled ${hook()}` },
      { status: 502, body: 'bad gateway' },
      { status: 200, body: 'Microsoft Teams endpoint returned HTTP error 413 with ContextId x' },
    );
    const limited = await sendTeams(teamsMessage(), { target: hook() }, 5_000);
    expect(limited).toMatchObject({ ok: false, statusCode: 429, retryable: true, retryAfterSeconds: 30 });
    expect(limited.error).not.toContain('SECRETSIG');
    expect(await sendTeams(teamsMessage(), { target: hook() }, 5_000)).toMatchObject({ ok: false, retryable: true });
    const refused = await sendTeams(teamsMessage(), { target: hook() }, 5_000);
    expect(refused).toMatchObject({ ok: false, statusCode: 200, retryable: false });
    expect(refused.error).toContain('HTTP error 413');
    teams.script({ status: 200, body: 'Microsoft Teams endpoint returned HTTP error 429 with ContextId y' });
    expect(await sendTeams(teamsMessage(), { target: hook() }, 5_000)).toMatchObject({ ok: false, retryable: true });
  });

  it('gives up on a workflow that never answers within the timeout, to be retried', async () => {
    const silent = await silentServer();
    const result = await sendTeams(teamsMessage(), { target: `http://127.0.0.1:${silent.port}/hook` }, 200);
    silent.close();
    expect(result).toMatchObject({ ok: false, retryable: true, error: 'no answer within 200 ms' });
  });
});

describe('Opsgenie Alert API', () => {
  const genieMessage = (action: 'trigger' | 'acknowledge' | 'resolve', extra: Partial<NotifiedIssue> = {}) => ({
    ...message(
      { channel: { name: 'genie', type: 'opsgenie' }, deliveryId: `g1-1-genie-${action}`, pagingAction: action },
      extra,
    ),
    incidentUrl,
  });
  const credentials = () => ({ target: genieKey, url: opsgenie.url });

  it('creates one alert per Issue (alias = the Issue), then acknowledges and closes it by alias', async () => {
    const issueId = 'iss-ops-1';
    for (const action of ['trigger', 'trigger', 'acknowledge', 'resolve'] as const) {
      const result = await sendOpsgenie(
        genieMessage(action, { issueId, acknowledgedBy: action === 'acknowledge' ? 'key:alice' : undefined }),
        credentials(),
        5_000,
      );
      expect(result).toMatchObject({ ok: true, statusCode: 202 });
    }
    const sent = opsgenie.received.slice(-4);
    expect(sent.map((r) => r.problems)).toEqual([[], [], [], []]);
    expect(sent.map((r) => r.path)).toEqual([
      '/v2/alerts',
      '/v2/alerts',
      `/v2/alerts/${issueId}/acknowledge?identifierType=alias`,
      `/v2/alerts/${issueId}/close?identifierType=alias`,
    ]);
    expect(sent.every((r) => r.headers.authorization === `GenieKey ${genieKey}`)).toBe(true);
    expect(sent[0]?.body).toMatchObject({
      alias: issueId,
      priority: 'P1',
      source: 'Cairn',
      entity: 'shop/deployment/checkout',
    });
    expect((sent[0]!.body as { details: Record<string, string> }).details.link).toBe(
      `https://cairn.example.com/api/v1/incidents/${issueId}`,
    );
    expect(opsgenie.alerts.get(issueId)).toMatchObject({ status: 'closed', count: 2, acknowledgedBy: 'key:alice' });
  });

  it('maps severity to priority', () => {
    const priorities = (['critical', 'high', 'medium', 'low'] as const).map(
      (severity) => (opsgenieCall(genieMessage('trigger', { severity })).body as { priority: string }).priority,
    );
    expect(priorities).toEqual(['P1', 'P2', 'P3', 'P4']);
  });

  it('cuts the message to 130 and the description to 15000 characters, and Opsgenie takes it', async () => {
    const long = genieMessage('trigger', {
      issueId: 'iss-ops-long',
      summary: 'w'.repeat(40_000),
      workload: { kind: 'Deployment', name: 'n'.repeat(253), namespace: 'shop' },
    });
    const body = opsgenieCall(long).body as { message: string; description: string; tags: string[] };
    expect(body.message.length).toBe(OPSGENIE_LIMITS.message);
    expect(body.description.length).toBe(OPSGENIE_LIMITS.description);
    expect((await sendOpsgenie(long, credentials(), 5_000)).ok).toBe(true);
    expect(opsgenie.received.at(-1)?.problems).toEqual([]);
  });

  it('sends to the US API unless told the EU one', () => {
    expect(opsgenieRequest(genieMessage('trigger'), { target: genieKey }).url).toBe(`${OPSGENIE_API_URL}/v2/alerts`);
    expect(
      opsgenieRequest(genieMessage('resolve'), { target: genieKey, url: 'https://api.eu.opsgenie.com/' }).url,
    ).toBe('https://api.eu.opsgenie.com/v2/alerts/iss-1/close?identifierType=alias');
  });

  it('does not retry a wrong key, and never shows it; retries 429 after Retry-After and 5xx', async () => {
    const wrong = await sendOpsgenie(genieMessage('trigger'), { target: 'not-the-key-123', url: opsgenie.url }, 5_000);
    expect(wrong).toMatchObject({ ok: false, statusCode: 401, retryable: false });
    expect(wrong.error).toContain('Could not authenticate');
    expect(wrong.error).not.toContain('not-the-key-123');
    opsgenie.script({ status: 429, headers: { 'retry-after': '12' }, body: '{"message":"Too many requests"}' });
    opsgenie.script({ status: 503, body: '{"message":"Service unavailable"}' });
    expect(await sendOpsgenie(genieMessage('trigger'), credentials(), 5_000)).toMatchObject({
      ok: false,
      statusCode: 429,
      retryable: true,
      retryAfterSeconds: 12,
    });
    expect(await sendOpsgenie(genieMessage('trigger'), credentials(), 5_000)).toMatchObject({
      ok: false,
      statusCode: 503,
      retryable: true,
    });
  });

  it('gives up on an API that never answers within the timeout, to be retried', async () => {
    const silent = await silentServer();
    const result = await sendOpsgenie(
      genieMessage('trigger'),
      { target: genieKey, url: `http://127.0.0.1:${silent.port}` },
      200,
    );
    silent.close();
    expect(result).toMatchObject({ ok: false, retryable: true, error: 'no answer within 200 ms' });
  });
});

describe('Alertmanager alerts', () => {
  const amMessage = (issues: NotificationDelivery['issues']) => ({
    ...message({ channel: { name: 'am', type: 'alertmanager' }, deliveryId: 'g1-1-am', issues }),
    incidentUrl,
  });

  it('makes each Issue an alert with its labels, firing until a day after the message, ended when resolved', () => {
    const [firing, resolved] = alertmanagerAlerts(
      amMessage([
        { issue: issue(), status: 'firing', transition: 'detected', changed: true },
        {
          issue: issue({
            issueId: 'iss-2',
            name: 'db-iss-2',
            workload: { kind: 'Node', name: 'node-1', namespace: '' },
          }),
          status: 'resolved',
          transition: 'resolved',
          changed: true,
        },
      ]),
    );
    expect(firing).toEqual({
      labels: {
        alertname: ALERTNAME,
        severity: 'critical',
        namespace: 'shop',
        workload: 'deployment/checkout',
        issue: 'checkout-iss-1',
        signal: 'oom_kill',
      },
      annotations: {
        summary: 'CRITICAL oom_kill on Deployment shop/checkout: detected (Issue checkout-iss-1)',
        description: 'container app was OOMKilled',
        link: 'https://cairn.example.com/api/v1/incidents/iss-1',
      },
      startsAt: '2026-01-05T10:00:00.000Z',
      endsAt: new Date(Date.parse('2026-01-05T10:00:30.000Z') + ALERT_HOLD_MS).toISOString(),
      generatorURL: 'https://cairn.example.com/api/v1/incidents/iss-1',
    });
    // A cluster-scoped workload has no namespace label (Alertmanager drops empty ones anyway).
    expect(resolved).toMatchObject({ endsAt: '2026-01-05T10:00:30.000Z', labels: { workload: 'node/node-1' } });
    expect((resolved as { labels: Record<string, string> }).labels).not.toHaveProperty('namespace');
  });

  it('posts to the API v2 alerts path of the configured Alertmanager', () => {
    const request = alertmanagerRequest(
      amMessage([{ issue: issue(), status: 'firing', transition: 'detected', changed: true }]),
      {
        target: 'http://alertmanager.monitoring:9093/',
      },
    );
    expect(request.url).toBe('http://alertmanager.monitoring:9093/api/v2/alerts');
    expect(JSON.parse(request.body)).toHaveLength(1);
  });
});

describe('email', () => {
  const mailMessage = (extra: Partial<NotifiedIssue> = {}, delivery: Partial<NotificationDelivery> = {}) => {
    const m = message({ channel: { name: 'mail', type: 'email' }, deliveryId: 'g1-1-mail', ...delivery }, extra);
    delete (m.delivery as { pagingAction?: string }).pagingAction;
    return { ...m, incidentUrl };
  };
  const settings = (port: number) =>
    ({ host: '127.0.0.1', port, tls: 'none', from: 'cairn@example.com', to: ['oncall@example.com'] }) as const;

  it('puts severity and Issue in the subject, cut to its limit, with no line breaks', () => {
    expect(emailSubject(mailMessage())).toBe(
      '[CRITICAL] Cairn: CRITICAL oom_kill on Deployment shop/checkout: detected (Issue checkout-iss-1)',
    );
    const long = emailSubject(
      mailMessage({ workload: { kind: 'Deployment', name: `a\r\n${'b'.repeat(400)}`, namespace: 'shop' } }),
    );
    expect(long.length).toBe(EMAIL_LIMITS.subject);
    expect(long).not.toMatch(/[\r\n]/);
    const resolved = mailMessage(
      {},
      { issues: [{ issue: issue(), status: 'resolved', transition: 'resolved', changed: true }] },
    );
    expect(emailSubject(resolved)).toMatch(/^\[RESOLVED\] /);
  });

  it('writes both bodies with the link, escaping what the Issue says in HTML', () => {
    const m = mailMessage({ summary: '<script>alert(1)</script> & more' });
    expect(emailText(m)).toContain('Incident: https://cairn.example.com/api/v1/incidents/iss-1');
    expect(emailText(m)).toContain('<script>alert(1)</script> & more');
    const html = emailHtml(m);
    expect(html).toContain('<a href="https://cairn.example.com/api/v1/incidents/iss-1">Open the incident</a>');
    expect(html).toContain('&lt;script&gt;alert(1)&lt;/script&gt; &amp; more');
    expect(html).not.toContain('<script>');
  });

  it('names the Issue object to look at when the policy has no incidentUrl', () => {
    const { incidentUrl: _, ...plain } = mailMessage();
    expect(emailText(plain)).toContain('kubectl get issue checkout-iss-1');
  });

  it('reports a refused connection as a retryable failure, without the password', async () => {
    const silent = await silentServer();
    const port = silent.port;
    silent.close();
    const result = await sendEmail(
      mailMessage(),
      settings(port),
      { username: 'cairn', password: 'hunter2-password' },
      2_000,
    );
    expect(result).toMatchObject({ ok: false, retryable: true });
    expect(result.statusCode).toBeUndefined();
    expect(result.error).toContain('ECONNREFUSED');
    expect(result.error).not.toContain('hunter2-password');
  });

  it('gives up on a server that accepts the connection and never greets, within the timeout', async () => {
    const silent = await silentServer();
    const result = await sendEmail(mailMessage(), settings(silent.port), {}, 300);
    silent.close();
    expect(result).toMatchObject({ ok: false, retryable: true, error: 'no answer within 300 ms' });
  });
});

describe('every channel gives up on a receiver that hangs, within its timeout, to be retried', () => {
  it.each(['pagerduty', 'webhook', 'alertmanager', 'slack', 'teams', 'opsgenie'] as const)('%s', async (type) => {
    const silent = await silentServer();
    const at = `http://127.0.0.1:${silent.port}`;
    const m = message({ channel: { name: 'c', type }, deliveryId: `g1-1-c-${type}` });
    const result = await {
      pagerduty: () => sendPagerDuty(m, { target: routingKey, url: at }, 150),
      webhook: () => sendWebhook(m, { target: at }, 150),
      alertmanager: () => sendAlertmanager(m, { target: at }, 150),
      slack: () => sendSlack(m, { target: at }, 150),
      teams: () => sendTeams(m, { target: at }, 150),
      opsgenie: () => sendOpsgenie(m, { target: genieKey, url: at }, 150),
    }[type]();
    silent.close();
    expect(result).toMatchObject({ ok: false, retryable: true, error: 'no answer within 150 ms' });
    expect(result.statusCode).toBeUndefined();
  });
});

describe('Retry-After', () => {
  it('reads seconds and HTTP dates', () => {
    const now = Date.parse('2026-01-05T10:00:00Z');
    expect(retryAfterSeconds('120', now)).toBe(120);
    expect(retryAfterSeconds('Mon, 05 Jan 2026 10:01:00 GMT', now)).toBe(60);
    expect(retryAfterSeconds('soon', now)).toBeUndefined();
    expect(retryAfterSeconds(null, now)).toBeUndefined();
  });
});
