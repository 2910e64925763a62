import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDashboard } from '../../../test/support/dashboardBrowser.ts';
import { writePipelineIncident } from '../../../test/support/pipelineLog.ts';
import { type ReadSide, startReadSide } from '../../../test/support/readSide.ts';
import { dashboardPlugin } from './dashboard.plugin.ts';

/**
 * The dashboard in a real headless Chromium shows a plan's blast radius in the incident view: the totals (pods,
 * budgets, Services, quotas, dependants) and what each action touches, as the plan recorded them.
 */
let side: ReadSide;
let browser: Browser;
let page: Page;

beforeAll(async () => {
  side = await startReadSide({ publicPlugins: [dashboardPlugin] });
  await writePipelineIncident(side.store, {
    issueId: 'pay-oom',
    outcome: 'open',
    workload: { kind: 'Deployment', name: 'pay', namespace: 'shop' },
    blastRadius: {
      actions: [
        {
          actionId: 'raise-memory',
          type: 'AdjustResources',
          pods: 0,
          pdbViolations: [],
          servicesEmptied: [],
          quotaOverflows: [
            {
              namespace: 'shop',
              name: 'compute',
              resource: 'limits.memory',
              used: 768 * 2 ** 20,
              added: 384 * 2 ** 20,
              hard: 2 ** 30,
            },
          ],
        },
      ],
      dependants: [
        { kind: 'Deployment', name: 'checkout', namespace: 'shop' },
        { kind: 'Deployment', name: 'storefront', namespace: 'shop' },
      ],
    },
  });
  await writePipelineIncident(side.store, {
    issueId: 'cart-oom',
    outcome: 'open',
    start: 100,
    workload: { kind: 'Deployment', name: 'cart', namespace: 'shop' },
  });
  ({ browser, page } = await openDashboard(side.url, side.keys.keys.viewer));
}, 120_000);
afterAll(async () => {
  await browser?.close();
  await side?.stop();
});

const rows = () => page.locator('#incidents tbody tr');
const metric = (label: string) => page.locator(`#detail .blast-radius tr[data-metric="${label}"] td`).textContent();

describe('dashboard blast radius', () => {
  it('shows the numbers the plan recorded: pods, budgets, Services, quotas and dependants', async () => {
    await expect.poll(() => rows().count(), { timeout: 30_000 }).toBe(2);
    await rows().filter({ hasText: 'pay' }).click();
    await expect.poll(() => page.locator('#detail .blast-radius').isVisible(), { timeout: 30_000 }).toBe(true);
    expect(await metric('Pods')).toBe('0');
    expect(await metric('PodDisruptionBudgets violated')).toBe('0');
    expect(await metric('Services emptied')).toBe('0');
    expect(await metric('Quotas exceeded')).toBe('1');
    expect(await metric('Dependants')).toBe('2');
    expect(await page.locator('#detail .blast-findings li').allTextContents()).toEqual([
      'AdjustResources exceeds ResourceQuota shop/compute limits.memory: 768Mi used + 384Mi > 1024Mi',
    ]);
    expect(await page.textContent('#detail')).toContain(
      'Dependants: Deployment shop/checkout, Deployment shop/storefront',
    );
  });

  it('shows no blast radius for a plan recorded without one', async () => {
    await rows().filter({ hasText: 'cart' }).click();
    await expect.poll(() => page.textContent('#detail h2'), { timeout: 30_000 }).toContain('Deployment/cart');
    await expect.poll(() => page.locator('#detail .actions li').count(), { timeout: 30_000 }).toBe(1);
    expect(await page.locator('#detail .blast-radius').count()).toBe(0);
  });
});
