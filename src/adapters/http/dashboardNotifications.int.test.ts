import { accessSync, constants } from 'node:fs';
import { type Browser, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { NotificationCommand } from '../../../domain/notification/notification.commands.ts';
import { notificationDecider } from '../../../domain/notification/notification.decider.ts';
import { StreamCategory, streamName } from '../../../domain/streams.ts';
import { writePipelineIncident } from '../../../test/support/pipelineLog.ts';
import { type ReadSide, startReadSide } from '../../../test/support/readSide.ts';
import { createCommandHandler } from '../../application/commandHandler.ts';
import { dashboardPlugin } from './dashboard.plugin.ts';

/**
 * The incident page of the dashboard, in a real headless Chromium against a real API and read model, lists who
 * was told of the incident: channel, transition, when, and how the delivery went.
 */
const CHROMIUM = process.env.CAIRN_CHROMIUM ?? '/usr/bin/chromium';

let side: ReadSide;
let browser: Browser;
let page: Page;

const at = (s: number) => new Date(Date.UTC(2026, 11, 7, 9, 0, s)).toISOString();

beforeAll(async () => {
  try {
    accessSync(CHROMIUM, constants.X_OK);
  } catch {
    throw new Error(`no Chromium at ${CHROMIUM}: \`apt-get install -y chromium\` (Debian) or set CAIRN_CHROMIUM`);
  }
  side = await startReadSide({ publicPlugins: [dashboardPlugin] });
  await writePipelineIncident(side.store, {
    issueId: 'cart-oom',
    outcome: 'open',
    workload: { kind: 'Deployment', name: 'cart', namespace: 'shop' },
  });
  const group = createCommandHandler(side.store, notificationDecider);
  const stream = streamName(StreamCategory.Notification, 'g-cart');
  const send = (command: NotificationCommand) => group(stream, command);
  const meta = (s: number) => ({ occurredAt: at(s), actor: 'system:notifications' });
  await send({
    type: 'RecordTransition',
    data: {
      groupId: 'g-cart',
      policy: { namespace: 'shop', name: 'on-call', rule: 'all' },
      groupKey: 'namespace=shop',
      channels: [
        { name: 'team-chat', type: 'slack' },
        { name: 'pager', type: 'pagerduty' },
      ],
      grouping: { groupWaitSeconds: 0, groupIntervalSeconds: 60, repeatIntervalSeconds: 3_600 },
      transition: 'detected',
      subscribed: true,
      issue: {
        issueId: 'cart-oom',
        name: 'cart-oom',
        severity: 'high',
        signal: 'oom_kill',
        riskScore: 60,
        workload: { kind: 'Deployment', name: 'cart', namespace: 'shop' },
        state: 'Detected',
        summary: 'container app was OOMKilled',
        detectedAt: at(0),
      },
      sourceEventId: 'src-1',
    },
    metadata: meta(0),
  });
  await send({ type: 'FlushGroup', data: {}, metadata: meta(1) });
  const outcome = (deliveryId: string, ok: boolean, statusCode: number, error = '') =>
    send({
      type: 'RecordDeliveryOutcome',
      data: {
        deliveryId,
        attempt: 1,
        outcome: ok ? 'delivered' : 'failed',
        statusCode,
        latencyMs: 40,
        error,
        retryable: false,
        jitter: 0,
      },
      metadata: meta(2),
    });
  await outcome('g-cart-1-team-chat', true, 200);
  await outcome('g-cart-1-pager-cart-oom', false, 400, 'HTTP 400: Event object is invalid');
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-gpu'] });
  page = await browser.newPage();
});
afterAll(async () => {
  await browser?.close();
  await side?.stop();
});

describe('dashboard notifications', () => {
  it("lists on the incident's page each delivery: channel, transition, when, and outcome", async () => {
    await page.goto(`${side.url}/`);
    await page.fill('#key', side.keys.keys.viewer);
    await page.click('#login button[type=submit]');
    await page.locator('#incidents tbody tr').filter({ hasText: 'cart' }).click();
    await expect.poll(() => page.locator('#detail .notifications li').count(), { timeout: 15_000 }).toBe(2);
    const lines = await page.locator('#detail .notifications li').allTextContents();
    expect(lines[0]).toContain('team-chat (slack) told detected: delivered (HTTP 200)');
    expect(lines[1]).toContain(
      'pager (pagerduty) told detected: failed after 1 attempt(s): HTTP 400: Event object is invalid',
    );
    const shown = await page.locator('#detail .notifications li time').first().textContent();
    expect(shown).toBe(await page.evaluate((iso) => new Date(iso).toLocaleString(), at(1)));
    expect(await page.locator('#detail .notifications li[data-outcome="failed"]').count()).toBe(1);
  });
});
