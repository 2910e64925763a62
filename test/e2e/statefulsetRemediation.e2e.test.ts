import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { PatchAs } from '../../src/actions/patchOptions.ts';
import { openEventStore } from '../../src/adapters/eventstore/openEventStore.ts';
import { markImage } from '../../src/cluster/faults.ts';
import { FaultMarks } from '../../src/cluster/stages.ts';
import { type RunningOperator, startOperator } from '../../src/operator.ts';
import {
  createNamespace,
  deleteNamespace,
  eventually,
  isReady,
  type KubeClients,
  kubeClients,
  podsOf,
} from '../support/kube.ts';
import { statefulSet } from '../support/workloads.ts';

interface CairnObject {
  metadata: { name: string; labels?: Record<string, string> };
  spec: Record<string, unknown> & { resource?: { kind: string; name: string }; issueRef?: { name: string } };
  status?: { state?: string };
}

let clients: KubeClients;
let namespace: string;
let operator: RunningOperator;
let storeUrl: string;
const group = { group: 'aiops.cairn.dev', version: 'v1alpha1' };

beforeAll(async () => {
  clients = kubeClients();
  namespace = await createNamespace(clients, 'sts-remediation');
  storeUrl = `sqlite:${join(mkdtempSync(join(tmpdir(), 'cairn-sts-')), 'events.db')}`;
  operator = await startOperator({
    kubeconfig: inject('kubeconfig'),
    store: storeUrl,
    namespace,
    watchNamespaces: [namespace],
    verificationTimeoutSeconds: 30,
    thresholds: { workloadUnavailableSeconds: 3600, podNotReadySeconds: 3 },
  });
  await eventually('the operator to lead', async () => operator.isLeader());
});
afterAll(async () => {
  await operator?.stop();
  await deleteNamespace(clients, namespace);
});

const list = async (plural: string) =>
  ((await clients.custom.listNamespacedCustomObject({ ...group, namespace, plural })) as { items: CairnObject[] })
    .items;

describe('a StatefulSet fault fixed through the whole operator', () => {
  it('a crash-looping release of a StatefulSet is rolled back by a hand-written Runbook → Resolved', async () => {
    // One runbook per severity, so the test does not depend on the risk score of the signals seen.
    for (const severity of ['low', 'medium', 'high', 'critical']) {
      await clients.custom.createNamespacedCustomObject({
        ...group,
        namespace,
        plural: 'runbooks',
        body: {
          apiVersion: 'aiops.cairn.dev/v1alpha1',
          kind: 'Runbook',
          metadata: { name: `statefulset-rollback-${severity}` },
          spec: {
            description: 'A StatefulSet whose new revision crashes goes back to the previous ControllerRevision.',
            trigger: { severity, resourceKind: 'StatefulSet' },
            steps: [{ name: 'rollback', action: 'RollbackStatefulSet', params: { toRevision: 'previous' } }],
          },
        },
      });
    }
    await clients.apps.createNamespacedStatefulSet({ namespace, body: statefulSet('ledger', { replicas: 2 }) });
    await eventually(
      'ledger ready',
      async () => (await podsOf(clients, namespace, 'ledger')).filter(isReady).length === 2,
    );

    await clients.apps.patchNamespacedStatefulSet(
      {
        name: 'ledger',
        namespace,
        body: [
          {
            op: 'replace',
            path: '/spec/template/spec/containers/0/image',
            value: markImage('registry.local/shop/db:1.0.0', FaultMarks.crashImage),
          },
        ],
      },
      PatchAs.json,
    );

    const issue = await eventually(
      'the Issue of ledger to be resolved',
      async () =>
        (await list('issues')).find(
          (i) =>
            i.spec.resource?.kind === 'StatefulSet' &&
            i.spec.resource.name === 'ledger' &&
            i.status?.state === 'Resolved',
        ),
      150_000,
    );

    const store = openEventStore(storeUrl);
    try {
      const issueId = issue.metadata.labels?.['aiops.cairn.dev/issue-id'];
      const events = (await store.readAll()).filter((e) => JSON.stringify(e.data).includes(issueId ?? '-'));
      const plan = events.find((e) => e.type === 'RemediationPlanCreated')?.data as {
        source: string;
        runbook?: string;
        actions: { type: string }[];
      };
      expect(plan.source).toBe('manual-runbook');
      expect(plan.runbook).toMatch(/^statefulset-rollback-/);
      expect(plan.actions.map((a) => a.type)).toEqual(['RollbackStatefulSet']);
      const succeeded = (await store.readAll()).find(
        (e) => e.type === 'ActionSucceeded' && (e.data as { type?: string }).type === 'RollbackStatefulSet',
      );
      expect((succeeded?.data as { result?: string } | undefined)?.result).toMatch(
        /^rolled StatefulSet .*\/ledger back to revision 1/,
      );
    } finally {
      await store.close();
    }
    const plans = (await list('remediationplans')).filter((p) => p.spec.issueRef?.name === issue.metadata.name);
    expect(plans.map((p) => p.status?.state)).toContain('Completed');
    const pods = await podsOf(clients, namespace, 'ledger');
    expect(pods.map((p) => p.spec?.containers[0]?.image)).toEqual([
      'registry.local/shop/db:1.0.0',
      'registry.local/shop/db:1.0.0',
    ]);
    expect(pods.every(isReady)).toBe(true);
  });
});
