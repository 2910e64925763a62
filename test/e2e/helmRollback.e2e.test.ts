import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { openEventStore } from '../../src/adapters/eventstore/openEventStore.ts';
import { ensureHelm } from '../../src/cluster/toolchain.ts';
import { type RunningOperator, startOperator } from '../../src/operator.ts';
import { helm, helmHistory, webChartDir } from '../support/helmCli.ts';
import {
  createNamespace,
  deleteNamespace,
  eventually,
  isReady,
  type KubeClients,
  kubeClients,
  podsOf,
} from '../support/kube.ts';

/**
 * A Helm-managed workload broken by a `helm upgrade`, on the real control plane with the real helm CLI: Cairn
 * detects the crash loop, the rules provider reads the release's history from the change context and proposes a
 * HelmRollback to the last good revision, a person approves it (a Helm release may reach beyond the namespace),
 * Cairn runs `helm rollback`, the pods recover, verification passes and the Issue is resolved; Helm's own history
 * shows the rollback as revision 3.
 */
let clients: KubeClients;
let namespace: string;
let operator: RunningOperator;
let storeUrl: string;
let kubeconfig: string;
const Good = 'registry.local/shop/web:1.0.0';
const Broken = 'registry.local/shop/web:1.1.0-broken';
const Password = 'Hunter2-e2e-Pa55word-4d1';
let previousHelm: string | undefined;

interface CairnObject {
  metadata: { name: string; labels?: Record<string, string> };
  spec: Record<string, unknown> & { resource?: { kind: string; name: string } };
  status?: Record<string, unknown> & { state?: string };
}

beforeAll(async () => {
  clients = kubeClients();
  kubeconfig = inject('kubeconfig');
  namespace = await createNamespace(clients, 'helm-rollback');
  storeUrl = `sqlite:${join(mkdtempSync(join(tmpdir(), 'cairn-helm-rollback-')), 'events.db')}`;
  // The HelmRollback action runs the helm CLI named by CAIRN_HELM (else `helm` on PATH).
  previousHelm = process.env.CAIRN_HELM;
  process.env.CAIRN_HELM = await ensureHelm((line) => process.stderr.write(`[helm] ${line}\n`));
  operator = await startOperator({
    kubeconfig,
    store: storeUrl,
    namespace,
    watchNamespaces: [namespace],
    verificationTimeoutSeconds: 90,
    maxAttempts: 1,
    agentic: false,
    // The crash loop's own signal opens the Issue; slow starts under load open none.
    thresholds: { workloadUnavailableSeconds: 3600, podNotReadySeconds: 3600 },
    ...(process.env.CAIRN_TEST_LOG ? { log: (line: string) => process.stderr.write(`[helm-rb] ${line}\n`) } : {}),
  });
  await eventually('the operator to lead', async () => operator.isLeader());
}, 600_000);

afterAll(async () => {
  await operator?.stop();
  if (previousHelm === undefined) delete process.env.CAIRN_HELM;
  else process.env.CAIRN_HELM = previousHelm;
  if (namespace) await deleteNamespace(clients, namespace);
});

const issues = async () =>
  (
    (await clients.custom.listNamespacedCustomObject({
      group: 'aiops.cairn.dev',
      version: 'v1alpha1',
      namespace,
      plural: 'issues',
    })) as { items: CairnObject[] }
  ).items;

const runsOnly = (image: string) =>
  eventually(
    `every pod of web to run ${image} and be ready`,
    async () => {
      const pods = await podsOf(clients, namespace, 'web');
      return pods.length === 2 && pods.every((p) => isReady(p) && p.spec?.containers[0]?.image === image)
        ? pods
        : undefined;
    },
    180_000,
  );

describe('HelmRollback end to end', () => {
  it('rolls a release broken by helm upgrade back to its last good revision, and resolves the Issue', async () => {
    const chart = (image: string) => [
      webChartDir,
      '--namespace',
      namespace,
      '--set',
      `image=${image}`,
      '--set',
      `database.password=${Password}`,
    ];
    await helm(kubeconfig, ['install', 'web', ...chart(Good)]);
    await runsOnly(Good);
    await helm(kubeconfig, ['upgrade', 'web', ...chart(Broken)]);
    expect((await helmHistory(kubeconfig, 'web', namespace)).map((r) => [r.revision, r.status])).toEqual([
      [1, 'superseded'],
      [2, 'deployed'],
    ]);

    // The plan rolls the release back; it waits for a person because a release may reach beyond the namespace.
    const pending = await eventually(
      'a HelmRollback waiting for approval',
      async () =>
        (await operator.approvals.listPending()).find(
          (r) => r.target.namespace === namespace && r.actions.some((a) => a.type === 'HelmRollback'),
        ),
      300_000,
    );
    expect(pending.actions).toEqual([
      expect.objectContaining({ type: 'HelmRollback', params: { release: 'web', revision: '1' } }),
    ]);
    await operator.approvals.approve(pending.requestId, 'oncall@example.com');

    const resolved = await eventually(
      'the Issue to end',
      async () => {
        const issue = (await issues()).find((i) => i.metadata.labels?.['aiops.cairn.dev/issue-id'] === pending.issueId);
        return issue?.status?.state === 'Resolved' || issue?.status?.state === 'Escalated' ? issue : undefined;
      },
      300_000,
    );
    expect(resolved.status?.state).toBe('Resolved');
    await runsOnly(Good);

    const history = await helmHistory(kubeconfig, 'web', namespace);
    expect(history.map((r) => [r.revision, r.status, r.description])).toEqual([
      [1, 'superseded', 'Install complete'],
      [2, 'superseded', 'Upgrade complete'],
      [3, 'deployed', 'Rollback to 1'],
    ]);

    // The analysis read the release from the change context, and the planted password never reached it.
    const store = openEventStore(storeUrl);
    try {
      // Positions are bigints; the type and data are what was recorded.
      const log = (await store.readAll()).map((e) => ({ type: e.type, data: e.data }));
      const analysed = log.find((e) => e.type === 'AnalysisCompleted');
      expect(JSON.stringify(analysed?.data)).toContain('Helm release web made that change in its revision 2');
      expect(JSON.stringify(log)).not.toContain(Password);
      expect(log.map((e) => e.type)).toContain('VerificationPassed');
      expect(log.map((e) => e.type)).not.toContain('VerificationFailed');
      expect(log.some((e) => e.type === 'ActionSucceeded' && JSON.stringify(e.data).includes('HelmRollback'))).toBe(
        true,
      );
    } finally {
      await store.close();
    }
  }, 900_000);
});
