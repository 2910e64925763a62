import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { NotificationDelivery, NotifiedIssue } from '../../../domain/events/notification.events.ts';
import { startVendorReceiver, type VendorReceiver } from '../../../test/support/notificationReceivers.ts';
import { type ChannelMessage, retryAfterSeconds } from './channel.ts';
import { pagerDutyEvent, sendPagerDuty } from './pagerduty.channel.ts';
import { SLACK_LIMITS, sendSlack, slackPayload } from './slack.channel.ts';
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

let slack: VendorReceiver;
let pagerDuty: VendorReceiver;
let webhook: VendorReceiver;
beforeAll(async () => {
  [slack, pagerDuty, webhook] = await Promise.all([
    startVendorReceiver('slack'),
    startVendorReceiver('pagerduty'),
    startVendorReceiver('webhook'),
  ]);
});
afterAll(async () => {
  await Promise.all([slack.close(), pagerDuty.close(), webhook.close()]);
});

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
