import { accessSync, constants } from 'node:fs';
import Database from 'better-sqlite3';
import type { FastifyInstance } from 'fastify';
import { type Browser, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { issueDecider } from '../../domain/issue/issue.decider.ts';
import { slaDecider } from '../../domain/sla/sla.decider.ts';
import { StreamCategory, streamName } from '../../domain/streams.ts';
import { readModelProjections } from '../../projections/readModel.projections.ts';
import { testKeys } from '../../test/support/apiKeys.ts';
import { openEventStore } from '../adapters/eventstore/openEventStore.ts';
import { dashboardPlugin } from '../adapters/http/dashboard.plugin.ts';
import { graphqlRoutes } from '../adapters/http/graphql/graphql.plugin.ts';
import { buildHttpApp } from '../adapters/http/httpApp.ts';
import { createReadModelQueries } from '../adapters/readmodel/readModel.queries.ts';
import { createSqliteProjectionTarget } from '../adapters/readmodel/sqlite.projectionTarget.ts';
import { createApiCommands } from '../application/apiCommands.ts';
import { createCommandHandler } from '../application/commandHandler.ts';
import { createAnomalyIntake } from '../application/detection/anomalyIntake.ts';
import { createAnomalyRecorder } from '../application/detection/anomalyRecorder.ts';
import { createProjectionRunner } from '../application/projectionRunner.ts';
import { WorkloadRefusal } from '../ports/workloadLookup.ts';
import { createSlaQueries } from './sla.queries.ts';

/*
 * The incident page's SLA clocks in a real headless Chromium, against the API and a read model projected from the
 * SLA deciders' events. The read side's clock is fixed two hours after detection: the unacknowledged Issue's
 * one-hour response target is breached, the acknowledged one's met, and both have six hours of resolution left.
 */
const CHROMIUM = process.env.CAIRN_CHROMIUM ?? '/usr/bin/chromium';
const t0 = Date.parse('2026-12-07T08:00:00.000Z');
const at = (minutes: number) => new Date(t0 + minutes * 60_000).toISOString();
const keys = testKeys();
let app: FastifyInstance;
let url: string;
let browser: Browser;
let page: Page;

beforeAll(async () => {
  try {
    accessSync(CHROMIUM, constants.X_OK);
  } catch {
    throw new Error(`no Chromium at ${CHROMIUM}: \`apt-get install -y chromium\` (Debian) or set CAIRN_CHROMIUM`);
  }
  const store = openEventStore('memory:');
  const issues = createCommandHandler(store, issueDecider);
  const clocks = createCommandHandler(store, slaDecider);
  const meta = (minutes: number, actor = 'system:sla') => ({ occurredAt: at(minutes), actor });
  for (const [id, name] of [
    ['late', 'cart'],
    ['prompt', 'web'],
  ] as const) {
    const workload = { kind: 'Deployment', name, namespace: 'shop' };
    await issues(streamName(StreamCategory.Issue, id), {
      type: 'DetectIssue',
      data: {
        issueId: id,
        workload,
        resource: workload,
        signal: 'oom_kill',
        source: 'watcher',
        anomalyId: id,
        description: 'x',
      },
      metadata: meta(0, 'system:test'),
    });
    await clocks(streamName(StreamCategory.Sla, id), {
      type: 'StartSla',
      data: {
        issueId: id,
        severity: 'medium',
        workload,
        detectedAt: at(0),
        terms: {
          sla: { namespace: 'cairn-system', name: 'platform', generation: 1 },
          responseSeconds: 3_600,
          resolutionSeconds: 8 * 3_600,
          escalateOn: [],
        },
      },
      metadata: meta(0),
    });
  }
  await clocks(streamName(StreamCategory.Sla, 'prompt'), {
    type: 'RecordAcknowledgement',
    data: {},
    metadata: meta(10),
  });
  await clocks(streamName(StreamCategory.Sla, 'late'), { type: 'SweepSla', data: {}, metadata: meta(61) });
  const db = new Database(':memory:');
  await createProjectionRunner({
    store,
    target: createSqliteProjectionTarget(db),
    projections: readModelProjections,
  }).catchUp();
  const queries = createReadModelQueries(db);
  const now = () => new Date(t0 + 2 * 3_600_000);
  app = await buildHttpApp({
    intake: createAnomalyIntake({ record: createAnomalyRecorder({ store, newId: () => 'x', now }), store }),
    workloads: { resolve: async () => ({ ok: false, reason: WorkloadRefusal.NotFound, message: 'no cluster' }) },
    newId: () => 'x',
    now,
    security: keys.security,
    api: { queries, commands: createApiCommands({ store, now }) },
    securedPlugins: [graphqlRoutes({ queries, slas: createSlaQueries(db, now) })],
    publicPlugins: [dashboardPlugin],
  });
  url = await app.listen({ host: '127.0.0.1', port: 0 });
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-gpu'] });
  page = await browser.newPage();
}, 60_000);
afterAll(async () => {
  await browser?.close();
  await app?.close();
});

const rows = () => page.locator('#incidents tbody tr');
const clock = (kind: string) => page.locator(`#detail .sla li[data-clock=${kind}]`);

describe('dashboard SLA clocks', () => {
  it('shows a breached response target and the resolution time left on the incident page', async () => {
    await page.goto(`${url}/`);
    await page.fill('#key', keys.keys.viewer);
    await page.click('#login button[type=submit]');
    await expect.poll(() => rows().count()).toBe(2);
    await rows().filter({ hasText: 'cart' }).click();
    await expect.poll(() => clock('response').getAttribute('data-state')).toBe('violated');
    expect(await clock('response').textContent()).toMatch(/^Response: breached: was due /);
    expect(await clock('resolution').getAttribute('data-state')).toBe('running');
    expect(await clock('resolution').textContent()).toContain('6 h 00 min left');
    expect(await page.textContent('#detail h3 >> nth=0')).toContain('SLA (cairn-system/platform, around the clock)');
  });

  it('shows a response target met by an acknowledgement', async () => {
    await rows().filter({ hasText: 'web' }).click();
    await expect.poll(() => clock('response').getAttribute('data-state')).toBe('met');
    expect(await clock('response').textContent()).toMatch(/^Response: met at /);
    expect(await clock('resolution').textContent()).toContain('6 h 00 min left');
    expect(await page.textContent('#error')).toBe('');
  });
});
