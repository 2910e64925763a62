import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeDependantIncident } from '../../../test/support/changeContextIncident.ts';
import { openDashboard } from '../../../test/support/dashboardBrowser.ts';
import { writeIncident } from '../../../test/support/incidentLog.ts';
import { type ReadSide, startReadSide } from '../../../test/support/readSide.ts';
import { dashboardPlugin } from './dashboard.plugin.ts';

/**
 * The dashboard in a real headless Chromium shows what the PostMortem says changed around an ended incident: the
 * cascade with this Issue's place, the suspected commit and why, the GitOps state and each plan's blast radius.
 */
let side: ReadSide;
let browser: Browser;
let page: Page;

beforeAll(async () => {
  side = await startReadSide({ publicPlugins: [dashboardPlugin] });
  const web = { kind: 'Deployment', name: 'web', namespace: 'shop' };
  await writeDependantIncident(side.store, 'web-dep', web, { ...web, name: 'db' }, 'shop/web-src');
  await writeIncident(side.store, 'plain', 20, { kind: 'Deployment', name: 'cart', namespace: 'shop' });
  ({ browser, page } = await openDashboard(side.url, side.keys.keys.viewer));
}, 120_000);
afterAll(async () => {
  await browser?.close();
  await side?.stop();
});

const rows = () => page.locator('#incidents tbody tr');
const text = (selector: string) => page.locator(`#detail ${selector}`).textContent();

describe('dashboard postmortem', () => {
  it('shows the cascade, the suspected commit, the GitOps state and the blast radius of an ended incident', async () => {
    await expect.poll(() => rows().count(), { timeout: 30_000 }).toBe(2);
    await rows().filter({ hasText: 'web' }).click();
    await expect.poll(() => page.locator('#detail .pm-cascade').isVisible(), { timeout: 30_000 }).toBe(true);
    expect(await text('.pm-cascade')).toBe(
      'Cascade, root cause first: Deployment shop/db → Deployment shop/web (this Issue: 2 of 2)',
    );
    expect(await text('.pm-commit')).toBe(
      'Suspected commit 9c1e4b7 in shop/web-src by dana: halve the connection pool (confidence 75 %)',
    );
    expect(await page.locator('#detail .pm-commit-reasons li').allTextContents()).toEqual([
      'changes the database settings of the failing workload',
    ]);
    expect(await text('.pm-gitops')).toBe(
      'GitOps: Argo CD Application argocd/web: Synced, Degraded at revision 9c1e4b7',
    );
    expect(await page.locator('#detail .pm-blast li').allTextContents()).toEqual([
      'Plan for attempt 1: 3 pod(s), 0 PodDisruptionBudget(s) violated, 1 Service(s) emptied, 0 quota(s) exceeded, 1 dependant(s)',
    ]);
    // The analysis part names the most likely commit and why, as the analysis recorded it.
    expect(await text('.insight-commit')).toBe(
      'Most likely commit 9c1e4b7 in shop/web-src by dana: halve the connection pool (confidence 75 %)',
    );
    expect(await page.locator('#detail .insight-commit-reasons li').allTextContents()).toEqual([
      'changes the database settings of the failing workload',
    ]);
    expect(await text('.insight-gitops')).toBe(
      'GitOps: Argo CD Application argocd/web: Synced, Degraded at revision 9c1e4b7',
    );
    expect(await page.textContent('#error')).toBe('');
  });

  it('shows none of it for an incident without change context', async () => {
    await rows().filter({ hasText: 'cart' }).click();
    await expect.poll(() => page.textContent('#detail h2'), { timeout: 30_000 }).toContain('Deployment/cart');
    await expect.poll(() => page.textContent('#detail'), { timeout: 30_000 }).toContain('Postmortem');
    for (const part of ['.pm-cascade', '.pm-commit', '.pm-gitops', '.pm-blast', '.insight-commit', '.insight-gitops']) {
      expect(await page.locator(`#detail ${part}`).count(), part).toBe(0);
    }
  });
});
