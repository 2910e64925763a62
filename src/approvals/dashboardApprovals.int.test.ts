import { accessSync, constants } from 'node:fs';
import { type Browser, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ResourceRef } from '../../domain/events/common.schema.ts';
import type { IssueCommand } from '../../domain/issue/issue.commands.ts';
import { issueDecider } from '../../domain/issue/issue.decider.ts';
import type { RemediationCommand } from '../../domain/remediation/remediation.commands.ts';
import { remediationDecider } from '../../domain/remediation/remediation.decider.ts';
import { type ReadSide, startReadSide } from '../../test/support/readSide.ts';
import { dashboardPlugin } from '../adapters/http/dashboard.plugin.ts';
import { createCommandHandler } from '../application/commandHandler.ts';
import { createAnomalyRecorder } from '../application/detection/anomalyRecorder.ts';

/**
 * The dashboard's approval buttons in a real headless Chromium against the real REST API and read model: a plan
 * waiting for two people shows its request; a viewer key is refused and told so; an operator key counts once; a
 * second, distinct key reaches the quorum and the request leaves the page.
 */
const CHROMIUM = process.env.CAIRN_CHROMIUM ?? '/usr/bin/chromium';

let side: ReadSide;
let browser: Browser;
let page: Page;
let requestId: string;

/** An Issue whose plan waits for two approvals, written through the deciders as the operator would, timed now. */
async function waitingIncident(side: ReadSide) {
  const workload: ResourceRef = { kind: 'Deployment', name: 'checkout', namespace: 'shop' };
  const pod: ResourceRef = { kind: 'Pod', name: 'checkout-7d9-abc', namespace: 'shop' };
  const at = () => ({ occurredAt: new Date().toISOString(), actor: 'system:pipeline' });
  const record = createAnomalyRecorder({ store: side.store, newId: () => 'checkout-1', now: () => new Date() });
  const opened = await record({
    signal: 'oom_kill',
    source: 'watcher',
    resource: pod,
    workload,
    message: 'container app was OOMKilled',
    observedAt: new Date().toISOString(),
  });
  const { issueId, anomalyId } = opened.find((e) => e.type === 'CorrelationIssueOpened')!.data as {
    issueId: string;
    anomalyId: string;
  };
  const issues = createCommandHandler(side.store, issueDecider);
  const remediations = createCommandHandler(side.store, remediationDecider);
  const tell = (command: Omit<IssueCommand, 'metadata'>) =>
    issues(`issue-${issueId}`, { ...command, metadata: at() } as IssueCommand);
  await tell({
    type: 'DetectIssue',
    data: { issueId, workload, resource: pod, signal: 'oom_kill', source: 'watcher', anomalyId, description: 'OOM' },
  } as Omit<IssueCommand, 'metadata'>);
  await tell({ type: 'RequestAnalysis', data: { insightId: `${issueId}-insight-1` } } as Omit<
    IssueCommand,
    'metadata'
  >);
  await tell({
    type: 'CompleteAnalysis',
    data: {
      insightId: `${issueId}-insight-1`,
      analysis: 'the container needs more memory than its limit',
      confidence: 0.9,
      recommendations: ['raise the memory limit'],
      suggestedActions: [
        { name: 'raise', type: 'AdjustResources', description: 'raise memory', params: { memory_limit: '512Mi' } },
      ],
      provider: 'rules',
      model: 'rules-v1',
    },
  } as Omit<IssueCommand, 'metadata'>);
  const remediationId = `${issueId}-plan`;
  await tell({ type: 'StartRemediation', data: { remediationId, source: 'ai-runbook' } } as Omit<
    IssueCommand,
    'metadata'
  >);
  const plan = `remediation-${remediationId}`;
  await remediations(plan, {
    type: 'CreateRemediationPlan',
    data: {
      remediationId,
      issueId,
      attempt: 1,
      source: 'ai-runbook',
      target: workload,
      actions: [{ actionId: 'a1', type: 'AdjustResources', params: { memory_limit: '512Mi' } }],
      approval: { required: true, requiredApprovals: 2, timeoutSeconds: 3_600 },
    },
    metadata: at(),
  } as RemediationCommand);
  await remediations(plan, {
    type: 'RequestApproval',
    data: { requestId: `${remediationId}-approval` },
    metadata: at(),
  } as RemediationCommand);
  return `${remediationId}-approval`;
}

beforeAll(async () => {
  try {
    accessSync(CHROMIUM, constants.X_OK);
  } catch {
    throw new Error(`no Chromium at ${CHROMIUM}: \`apt-get install -y chromium\` (Debian) or set CAIRN_CHROMIUM`);
  }
  side = await startReadSide({ publicPlugins: [dashboardPlugin] });
  requestId = await waitingIncident(side);
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-gpu'] });
  page = await browser.newPage();
});
afterAll(async () => {
  await browser?.close();
  await side?.stop();
});

const login = async (key: string) => {
  await page.goto(`${side.url}/`);
  await page.evaluate('sessionStorage.clear()');
  await page.goto(`${side.url}/`);
  await page.fill('#key', key);
  await page.click('#login button[type=submit]');
  await expect.poll(() => page.locator('#incidents tbody tr').count()).toBe(1);
  await page.locator('#incidents tbody tr').first().click();
  await expect.poll(() => page.locator('#detail').isVisible()).toBe(true);
};
const request = () => page.locator(`#detail .approval[data-request="${requestId}"]`);

describe('dashboard approval buttons', () => {
  it('show the waiting request, and tell a viewer key it may not decide', async () => {
    await login(side.keys.keys.viewer);
    await expect.poll(() => request().textContent()).toContain('0 of 2 approval(s)');
    await request().locator('button.approve').click();
    await expect.poll(() => request().locator('.decision-error').textContent()).toContain('HTTP 403');
    expect(side.queries.getApproval(requestId)?.approvers).toEqual([]);
  });

  it('count an operator key once toward the quorum', async () => {
    await login(side.keys.keys.operator);
    await request().locator('button.approve').click();
    await expect.poll(() => request().textContent()).toContain('1 of 2 approval(s) (key:operator-test)');
    await request().locator('button.approve').click();
    await expect.poll(() => request().locator('.decision-error').textContent()).toContain('HTTP 409');
    expect(side.queries.getApproval(requestId)?.approvers).toEqual(['key:operator-test']);
  });

  it('reach the quorum with a second, distinct key: the request leaves the page and the plan is cleared', async () => {
    await login(side.keys.keys.admin);
    await request().locator('button.approve').click();
    await expect.poll(() => request().count()).toBe(0);
    await expect.poll(() => page.textContent('#detail')).toContain('Remediation: Pending');
    expect(side.queries.getApproval(requestId)).toMatchObject({
      state: 'approved',
      approvers: ['key:operator-test', 'key:admin-test'],
    });
  });
});
