import { accessSync, constants } from 'node:fs';
import { type Browser, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { IssueCommand } from '../../../domain/issue/issue.commands.ts';
import { issueDecider } from '../../../domain/issue/issue.decider.ts';
import { type ReadSide, startReadSide } from '../../../test/support/readSide.ts';
import { createCommandHandler } from '../../application/commandHandler.ts';
import { dashboardPlugin } from './dashboard.plugin.ts';

/**
 * The dashboard in a real headless Chromium shows an incident's cascade: the root says how many incidents it took
 * down, a dependant whose plan waits links to its root (the link opens it), and one that recovered with it says so.
 */
const CHROMIUM = process.env.CAIRN_CHROMIUM ?? '/usr/bin/chromium';
const deployment = (name: string) => ({ kind: 'Deployment', name, namespace: 'shop' });
const at = (s: number) => new Date(Date.UTC(2026, 0, 1, 0, 0, s)).toISOString();

let side: ReadSide;
let browser: Browser;
let page: Page;

/** api is the root; web and mobile call it and wait for it. Second call: api is fixed and web recovers with it. */
async function writeCascade(resolveRoot: boolean) {
  const issues = createCommandHandler(side.store, issueDecider);
  const tell = (id: string, command: Omit<IssueCommand, 'metadata'>, s: number) =>
    issues(`issue-${id}`, { ...command, metadata: { occurredAt: at(s), actor: 'system:test' } } as IssueCommand);
  if (!resolveRoot) {
    for (const [id, name, s] of [
      ['d-api', 'api', 0],
      ['d-web', 'web', 1],
      ['d-mobile', 'mobile', 2],
    ] as const) {
      await tell(
        id,
        {
          type: 'DetectIssue',
          data: {
            issueId: id,
            workload: deployment(name),
            resource: deployment(name),
            signal: 'pod_not_ready',
            source: 'watcher',
            anomalyId: `an-${id}`,
            description: 'not ready',
          },
        },
        s,
      );
    }
    const chain = [
      { issueId: 'd-api', workload: deployment('api'), detectedAt: at(0) },
      { issueId: 'd-web', workload: deployment('web'), detectedAt: at(1) },
      { issueId: 'd-mobile', workload: deployment('mobile'), detectedAt: at(2) },
    ];
    for (const id of ['d-api', 'd-web', 'd-mobile']) {
      await tell(id, { type: 'CorrelateCascade', data: { rootIssueId: 'd-api', chain, windowMinutes: 15 } }, 3);
    }
    for (const id of ['d-web', 'd-mobile']) {
      await tell(id, { type: 'RequestAnalysis', data: { insightId: `${id}-i1` } }, 4);
      await tell(
        id,
        {
          type: 'CompleteAnalysis',
          data: {
            insightId: `${id}-i1`,
            analysis: 'not ready',
            confidence: 0.7,
            recommendations: [],
            suggestedActions: [],
            provider: 'rules',
            model: 'rules-v1',
          },
        },
        5,
      );
      await tell(
        id,
        {
          type: 'DeferRemediationToRoot',
          data: { rootIssueId: 'd-api', insightId: `${id}-i1`, reason: 'Deployment shop/api, which it calls' },
        },
        6,
      );
    }
    return;
  }
  await tell('d-api', { type: 'ResolveIssue', data: { note: 'rolled back' } }, 7);
  await tell(
    'd-web',
    { type: 'ResolveRecoveredWithRoot', data: { rootIssueId: 'd-api', detail: '1 of 1 replicas available' } },
    40,
  );
}

beforeAll(async () => {
  try {
    accessSync(CHROMIUM, constants.X_OK);
  } catch {
    throw new Error(`no Chromium at ${CHROMIUM}: \`apt-get install -y chromium\` (Debian) or set CAIRN_CHROMIUM`);
  }
  side = await startReadSide({ publicPlugins: [dashboardPlugin] });
  await writeCascade(false);
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-gpu'] });
  page = await browser.newPage();
  await page.goto(`${side.url}/`);
  await page.fill('#key', side.keys.keys.viewer);
  await page.click('#login button[type=submit]');
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
    await writeCascade(true);
    await rows().filter({ hasText: 'shop/deployment/web' }).click();
    await expect
      .poll(role, { timeout: 30_000 })
      .toBe('Recovered with its root Deployment/api in shop: 1 of 1 replicas available');
  });
});
