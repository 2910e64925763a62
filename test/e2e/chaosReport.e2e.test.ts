import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command } from 'commander';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { generateKey, writeKeyFile } from '../../src/adapters/http/security/apiKeys.ts';
import type { ChaosReport } from '../../src/chaos/chaosReport.ts';
import { registerChaosCommand } from '../../src/cli/commands/chaos.command.ts';
import { type RunningOperator, startOperator } from '../../src/operator.ts';
import {
  createNamespace,
  deleteNamespace,
  deployment,
  eventually,
  isReady,
  type KubeClients,
  kubeClients,
  podsOf,
} from '../support/kube.ts';

/**
 * The bad-image game day of docs/chaos.md, as written there, against the real control plane with Cairn remediating:
 * the experiment's status, the report the running operator serves over REST and GraphQL, and the one the CLI prints
 * from the event store all tell the same run.
 */
const group = 'aiops.cairn.dev';
const version = 'v1alpha1';
const viewer = generateKey('game-day', 'viewer');

let clients: KubeClients;
let namespace: string;
let dir: string;
let operator: RunningOperator;

beforeAll(async () => {
  clients = kubeClients();
  namespace = await createNamespace(clients, 'chaos-report');
  dir = mkdtempSync(join(tmpdir(), 'cairn-chaos-report-e2e-'));
  writeKeyFile(join(dir, 'api-keys.json'), [viewer.stored]);
  operator = await startOperator({
    kubeconfig: inject('kubeconfig'),
    store: `sqlite:${join(dir, 'events.db')}`,
    namespace,
    watchNamespaces: [namespace],
    http: { host: '127.0.0.1', port: 0 },
    api: { keysFile: join(dir, 'api-keys.json') },
    chaos: true,
    ...(process.env.CAIRN_TEST_LOG ? { log: (line: string) => process.stderr.write(`[chaos] ${line}\n`) } : {}),
  });
  await eventually('the operator to lead', async () => operator.isLeader());
}, 120_000);

afterAll(async () => {
  await operator?.stop();
  if (namespace) await deleteNamespace(clients, namespace);
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const api = async (path: string, init: RequestInit = {}) => {
  const response = await fetch(`${operator.httpUrl}${path}`, {
    ...init,
    headers: { 'x-api-key': viewer.key, ...(init.body ? { 'content-type': 'application/json' } : {}) },
  });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
};

interface Status {
  state?: string;
  result?: string;
  remediatedByCairn?: boolean;
  timeToDetectSeconds?: number;
  timeToPlanSeconds?: number;
  timeToRecoverSeconds?: number;
  issueRef?: { name: string };
}

describe("docs/chaos.md's bad-image game day", () => {
  it('passes with Cairn rolling back, and the report says so in REST, GraphQL and the CLI', async () => {
    await clients.apps.createNamespacedDeployment({ namespace, body: deployment('web', { replicas: 3 }) });
    await eventually(
      'web ready',
      async () => (await podsOf(clients, namespace, 'web')).filter(isReady).length === 3,
      120_000,
    );
    await eventually('web available', async () => {
      const d = await clients.apps.readNamespacedDeployment({ namespace, name: 'web' });
      return (d.status?.availableReplicas ?? 0) === 3 && (d.status?.updatedReplicas ?? 0) === 3;
    });
    await clients.custom.createNamespacedCustomObject({
      group,
      version,
      namespace,
      plural: 'chaosexperiments',
      body: {
        apiVersion: `${group}/${version}`,
        kind: 'ChaosExperiment',
        metadata: { name: 'bad-image' },
        spec: {
          fault: { type: 'image_pull' },
          target: { kind: 'Deployment', name: 'web' },
          duration: '2m',
          safety: { maxPodsPercent: 100 },
          recovery: { expect: 'IssueResolved', within: '3m' },
        },
      },
    });
    const status = await eventually(
      'bad-image to finish',
      async () => {
        const object = (await clients.custom.getNamespacedCustomObject({
          group,
          version,
          namespace,
          plural: 'chaosexperiments',
          name: 'bad-image',
        })) as { status?: Status };
        const s = object.status ?? {};
        return ['Passed', 'Failed', 'Aborted', 'Refused'].includes(s.state ?? '') ? s : undefined;
      },
      300_000,
    );
    expect(status).toMatchObject({ state: 'Passed', remediatedByCairn: true });

    // REST, once the read model has the verdict.
    const listed = await eventually('the run in GET /api/v1/chaos', async () => {
      const { status: code, body } = await api(`/api/v1/chaos?namespace=${namespace}`);
      expect(code).toBe(200);
      const [item] = body.items as { name: string; runs: number; latest: { state: string } }[];
      return item?.latest.state === 'Passed' ? item : undefined;
    });
    expect(listed).toMatchObject({ name: 'bad-image', runs: 1 });
    const { status: code, body } = await api(`/api/v1/chaos/${namespace}/bad-image/report`);
    expect(code).toBe(200);
    const report = body as unknown as ChaosReport;
    const [run] = report.runs;
    expect(run?.figures).toEqual({
      timeToDetectSeconds: status.timeToDetectSeconds,
      timeToPlanSeconds: status.timeToPlanSeconds,
      timeToRecoverSeconds: status.timeToRecoverSeconds,
      remediatedByCairn: true,
      issueId: status.issueRef?.name,
    });
    expect(run?.reason).toBe(status.result);
    const texts = run?.timeline.map((e) => e.text) ?? [];
    const issue = status.issueRef?.name ?? '';
    expect(texts).toEqual(
      expect.arrayContaining([expect.stringMatching(new RegExp(`^Issue detected ${issue} \\(\\w+\\)$`))]),
    );
    expect(texts).toContain(`Issue resolved ${issue} (remediated)`);
    expect(texts.at(-1)).toMatch(/^Run completed: PASSED: recovered .*Cairn's remediation brought it back$/);
    expect(report.summary.outcomes).toMatchObject({ passed: 1, failed: 0 });

    // GraphQL, the same figures.
    const graphql = await api('/graphql', {
      method: 'POST',
      body: JSON.stringify({
        query: `{ chaosReport(namespace: "${namespace}", name: "bad-image") {
          runs { state figures { timeToDetectSeconds timeToRecoverSeconds remediatedByCairn } } } }`,
      }),
    });
    expect(graphql.body).toEqual({
      data: {
        chaosReport: {
          runs: [
            {
              state: 'Passed',
              figures: {
                timeToDetectSeconds: status.timeToDetectSeconds,
                timeToRecoverSeconds: status.timeToRecoverSeconds,
                remediatedByCairn: true,
              },
            },
          ],
        },
      },
    });

    // The CLI, from the event store the operator writes.
    let out = '';
    const program = new Command('cairn').exitOverride();
    registerChaosCommand(program, (text) => {
      out += text;
    });
    const store = `sqlite:${join(dir, 'events.db')}`;
    await program.parseAsync([
      'node',
      'cairn',
      'chaos',
      'report',
      `${namespace}/bad-image`,
      '--store',
      store,
      '--json',
    ]);
    expect(JSON.parse(out)).toEqual(report);
  }, 420_000);
});
