import { accessSync, constants } from 'node:fs';
import { type Browser, chromium, type Page } from 'playwright-core';

/** Debian's Chromium, or the one CAIRN_CHROMIUM names. */
export const CHROMIUM = process.env.CAIRN_CHROMIUM ?? '/usr/bin/chromium';

/**
 * A real headless Chromium on the dashboard at `url`, logged in with `key`; fails with the line to run when there
 * is no Chromium. Close the browser when done.
 */
export async function openDashboard(url: string, key: string): Promise<{ browser: Browser; page: Page }> {
  try {
    accessSync(CHROMIUM, constants.X_OK);
  } catch {
    throw new Error(`no Chromium at ${CHROMIUM}: \`apt-get install -y chromium\` (Debian) or set CAIRN_CHROMIUM`);
  }
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-gpu'] });
  const page = await browser.newPage();
  await page.goto(`${url}/`);
  await page.fill('#key', key);
  await page.click('#login button[type=submit]');
  return { browser, page };
}
