import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CascadeIncidents, openCascade } from '../../../test/support/cascadeIncidents.ts';
import { openDashboard } from '../../../test/support/dashboardBrowser.ts';
import { type ReadSide, startReadSide } from '../../../test/support/readSide.ts';
import { dashboardPlugin } from './dashboard.plugin.ts';

/**
 * The dashboard in a real headless Chromium shows an incident's cascade: the root says how many incidents it took
 * down, a dependant whose plan waits links to its root (the link opens it), and one that recovered with it says so.
 */
let side: ReadSide;
let browser: Browser;
let page: Page;

let cascade: CascadeIncidents;

beforeAll(async () => {
  side = await startReadSide({ publicPlugins: [dashboardPlugin] });
  // api is the root; web and mobile call it and wait for it.
  cascade = await openCascade(side.store, 'd');
  ({ browser, page } = await openDashboard(side.url, side.keys.keys.viewer));
}, 120_000);
afterAll(async () => {
  await browser?.close();
  await side?.stop();
});

const rows = () => page.locator('#incidents tbody tr');
const role = () => page.locator('#detail .cascade-role').textContent();

describe('dashboard cascade', () => {
  it('shows the root as the root cause of the others, and a waiting dependant linked to its root', async () => {
    await expect.poll(() => rows().count(), { timeout: 30_000 }).toBe(3);
    await rows().filter({ hasText: 'shop/deployment/api' }).click();
    await expect.poll(role, { timeout: 30_000 }).toBe('Root cause of 2 other incidents');
    expect(await page.locator('#detail .cascade-chain li').allTextContents()).toEqual([
      'Deployment/api (this incident)',
      'Deployment/web',
      'Deployment/mobile',
    ]);

    await rows().filter({ hasText: 'shop/deployment/mobile' }).click();
    await expect.poll(role, { timeout: 30_000 }).toMatch(/^Waiting for root Deployment\/api in shop: no plan starts/);
    // The link opens the root.
    await page.locator('#detail .cascade-role a.incident-link').click();
    await expect.poll(() => page.textContent('#detail h2'), { timeout: 30_000 }).toBe('Deployment/api in shop');
    expect(await page.textContent('#error')).toBe('');
  });

  it('shows a dependant that recovered with its root', async () => {
    // api is fixed and web recovers with it.
    await cascade.resolveRoot('1 of 1 replicas available');
    await rows().filter({ hasText: 'shop/deployment/web' }).click();
    await expect
      .poll(role, { timeout: 30_000 })
      .toBe('Recovered with its root Deployment/api in shop: 1 of 1 replicas available');
  });
});
