import { accessSync, constants } from 'node:fs';
import type { Duplex } from 'node:stream';
import { type Browser, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writePipelineIncident } from '../../../test/support/pipelineLog.ts';
import { type ReadSide, startReadSide } from '../../../test/support/readSide.ts';
import { dashboardPlugin } from './dashboard.plugin.ts';

/**
 * The dashboard in a real headless Chromium against a real API and read model: it asks for a key, lists the
 * incidents, opens one with its timeline, insight and actions, and shows an incident projected after it loaded.
 */
const CHROMIUM = process.env.CAIRN_CHROMIUM ?? '/usr/bin/chromium';

let side: ReadSide;
let browser: Browser;
let page: Page;
/** Every socket the server upgraded to a websocket, so a test can drop them. */
const upgraded = new Set<Duplex>();

beforeAll(async () => {
  try {
    accessSync(CHROMIUM, constants.X_OK);
  } catch {
    throw new Error(`no Chromium at ${CHROMIUM}: \`apt-get install -y chromium\` (Debian) or set CAIRN_CHROMIUM`);
  }
  side = await startReadSide({ publicPlugins: [dashboardPlugin] });
  side.app.server.on('upgrade', (_request, socket: Duplex) => {
    upgraded.add(socket);
    socket.once('close', () => upgraded.delete(socket));
  });
  await writePipelineIncident(side.store, {
    issueId: 'cart-oom',
    outcome: 'resolved',
    workload: { kind: 'Deployment', name: 'cart', namespace: 'shop' },
    attach: ['pod_restart'],
  });
  await writePipelineIncident(side.store, {
    issueId: 'web-pull',
    outcome: 'rolled_back',
    start: 100,
    signal: 'image_pull',
    workload: { kind: 'Deployment', name: 'web', namespace: 'shop' },
  });
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-gpu'] });
  page = await browser.newPage();
  page.on('console', (message) => console_.push(message.text()));
});
afterAll(async () => {
  await browser?.close();
  await side?.stop();
});

const rows = () => page.locator('#incidents tbody tr');
/** What the page logged: a script or connection the security policy blocked shows up here. */
const console_: string[] = [];

describe('dashboard', () => {
  it('is served with a policy that allows its own scripts, styles and origin only, and may not be framed', async () => {
    for (const path of ['/', '/app.js', '/style.css']) {
      const response = await fetch(`${side.url}${path}`);
      expect(response.status, path).toBe(200);
      const csp = response.headers.get('content-security-policy') ?? '';
      expect(csp, path).toContain("default-src 'none'");
      expect(csp, path).toContain("script-src 'self'");
      expect(csp, path).toContain("connect-src 'self'");
      expect(csp, path).toContain("frame-ancestors 'none'");
      expect(response.headers.get('x-frame-options'), path).toBe('DENY');
      expect(response.headers.get('x-content-type-options'), path).toBe('nosniff');
      expect(response.headers.get('referrer-policy'), path).toBe('no-referrer');
    }
    const api = await fetch(`${side.url}/graphql`, { method: 'POST' });
    expect(api.headers.get('x-content-type-options')).toBe('nosniff');
    expect(api.headers.get('content-security-policy')).toBe("default-src 'none'; frame-ancestors 'none'");
  });

  it('asks for an API key and says so when the key is refused', async () => {
    await page.goto(`${side.url}/`);
    await expect.poll(() => page.locator('#login').isVisible()).toBe(true);
    await page.fill('#key', 'not-a-key');
    await page.click('#login button[type=submit]');
    await expect.poll(() => page.textContent('#login-error')).toMatch(/not valid/);
    expect(await page.locator('#app').isVisible()).toBe(false);
  });

  it('lists the incidents of the read model with severity and state, and the analytics summary', async () => {
    await page.fill('#key', side.keys.keys.viewer);
    await page.click('#login button[type=submit]');
    await expect.poll(() => rows().count()).toBe(2);
    const texts = await rows().allTextContents();
    // Newest first: web (detected later), then cart.
    expect(texts[0]).toContain('shop/deployment/web');
    expect(texts[0]).toContain('Escalated');
    expect(texts[1]).toContain('shop/deployment/cart');
    expect(texts[1]).toContain('medium');
    expect(texts[1]).toContain('Resolved');
    const summary = await page.textContent('#summary');
    expect(summary).toContain('1Resolved');
    expect(summary).toContain('1Escalated');
    expect(summary).toContain('50 %Remediation success');
  });

  it('opens an incident with its timeline, insight, remediation actions and postmortem', async () => {
    await rows().filter({ hasText: 'cart' }).click();
    await expect.poll(() => page.locator('#detail').isVisible()).toBe(true);
    await expect.poll(() => page.locator('#detail .timeline li').count()).toBeGreaterThanOrEqual(6);
    const timeline = await page.locator('#detail .timeline li').allTextContents();
    expect(timeline[0]).toMatch(/oom_kill on Deployment shop\/cart/);
    expect(timeline.at(-1)).toMatch(/resolved/);
    const detail = await page.textContent('#detail');
    expect(detail).toContain('the container needs more memory than its limit');
    expect(await page.locator('#detail .actions li').allTextContents()).toEqual([
      'AdjustResources(memory_limit=512Mi) succeeded: memory limit 512Mi',
    ]);
    expect(detail).toContain('Postmortem');
  });

  it('shows an incident projected after the page loaded, pushed by the subscription (it polls every 30 s only)', async () => {
    // The page's websocket carries its key in connection_init and is subscribed.
    await expect.poll(() => page.getAttribute('#live', 'data-live'), { timeout: 10_000 }).toBe('true');
    await writePipelineIncident(side.store, {
      issueId: 'search-new',
      outcome: 'open',
      start: 200,
      workload: { kind: 'Deployment', name: 'search', namespace: 'shop' },
    });
    await expect.poll(() => rows().count(), { timeout: 10_000 }).toBe(3);
    expect(await rows().first().textContent()).toContain('shop/deployment/search');
    expect(await page.textContent('#error')).toBe('');
  });

  it('reconnects its subscription when the socket drops, and is pushed changes again', async () => {
    await expect.poll(() => page.getAttribute('#live', 'data-live'), { timeout: 10_000 }).toBe('true');
    expect(upgraded.size).toBe(1);
    for (const socket of upgraded) socket.destroy();
    await expect.poll(() => page.getAttribute('#live', 'data-live'), { timeout: 5_000 }).toBe('false');
    // It reconnects after 3 s, well inside the 30 s poll, so the row below can only come from the new socket.
    await expect.poll(() => page.getAttribute('#live', 'data-live'), { timeout: 10_000 }).toBe('true');
    await writePipelineIncident(side.store, {
      issueId: 'cart-again',
      outcome: 'open',
      start: 300,
      workload: { kind: 'Deployment', name: 'cart', namespace: 'shop' },
    });
    await expect.poll(() => rows().count(), { timeout: 10_000 }).toBe(4);
  });

  it('ran everything above without the security policy blocking a script, a style or its websocket', () => {
    expect(console_.filter((line) => /Content Security Policy|Refused to/i.test(line))).toEqual([]);
  });
});
