import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type * as k8s from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { openEventStore } from '../../src/adapters/eventstore/openEventStore.ts';
import { applyFault } from '../../src/cluster/faults.ts';
import { FaultMarks } from '../../src/cluster/stages.ts';
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
  testCluster,
} from '../support/kube.ts';

/**
 * Analysis and remediation follow the cause, on the real control plane with remediation on: a template change that
 * leaves the new pods unschedulable is rolled back (never restarted as if the pods were wedged), and a Service whose
 * selector has a typo is escalated with no action and the label to fix.
 */

interface CairnObject {
  metadata: { name: string; labels?: Record<string, string> };
  spec: Record<string, unknown> & { resource?: { kind: string; name: string }; issueRef?: { name: string } };
  status?: Record<string, unknown> & { state?: string };
}

let clients: KubeClients;
let namespace: string;
let operator: RunningOperator;
let storeUrl: string;

beforeAll(async () => {
  clients = kubeClients();
  namespace = await createNamespace(clients, 'cause');
  storeUrl = `sqlite:${join(mkdtempSync(join(tmpdir(), 'cairn-cause-')), 'events.db')}`;
  operator = await startOperator({
    kubeconfig: inject('kubeconfig'),
    store: storeUrl,
    namespace,
    watchNamespaces: [namespace],
    verificationTimeoutSeconds: 60,
    maxAttempts: 1,
    thresholds: {
      workloadUnavailableSeconds: 5,
      // The pending pods' own signal would open the same Issue; the workload's signal is the one under test.
      podNotReadySeconds: 3600,
      podBlockedSeconds: 3600,
      // Long enough for the EndpointSlice controller to fill a healthy Service's slice under load.
      serviceNoEndpointsSeconds: 10,
    },
    ...(process.env.CAIRN_TEST_LOG ? { log: (line: string) => process.stderr.write(`[cause] ${line}\n`) } : {}),
  });
  await eventually('the operator to lead', async () => operator.isLeader());
}, 120_000);

afterAll(async () => {
  await operator?.stop();
  if (namespace) await deleteNamespace(clients, namespace);
});

const list = async (plural: string) =>
  (
    (await clients.custom.listNamespacedCustomObject({
      group: 'aiops.cairn.dev',
      version: 'v1alpha1',
      namespace,
      plural,
    })) as { items: CairnObject[] }
  ).items;

const endedIssue = (kind: string, name: string) =>
  eventually(
    `the Issue of ${kind} ${name} to end`,
    async () => {
      const issue = (await list('issues')).find(
        (i) => i.spec.resource?.kind === kind && i.spec.resource?.name === name,
      );
      return issue && (issue.status?.state === 'Resolved' || issue.status?.state === 'Escalated') ? issue : undefined;
    },
    300_000,
  );

const issueEvents = async (issue: CairnObject) => {
  const store = openEventStore(storeUrl);
  try {
    return await store.readStream(`issue-${issue.metadata.labels?.['aiops.cairn.dev/issue-id']}`);
  } finally {
    await store.close();
  }
};

interface Analysis {
  analysis: string;
  confidence: number;
  recommendations: string[];
  suggestedActions: { type: string; params: Record<string, string> }[];
}

describe('remediation follows the cause', () => {
  it('a template change that leaves the new pods unschedulable is rolled back, and the pods get scheduled', async () => {
    const name = 'placed';
    await clients.apps.createNamespacedDeployment({ namespace, body: deployment(name, { replicas: 2 }) });
    await eventually(
      `${name} ready`,
      async () => (await podsOf(clients, namespace, name)).filter(isReady).length === 2,
      120_000,
    );
    // Revision 2 asks for a node no KWOK node is: the scheduler leaves its pods Pending.
    await clients.objects.patch(
      {
        apiVersion: 'apps/v1',
        kind: 'Deployment',
        metadata: { name, namespace },
        spec: { template: { spec: { nodeSelector: { 'cairn.dev/no-such-pool': 'gpu' } } } },
      } as k8s.KubernetesObject,
      undefined,
      undefined,
      'test',
      undefined,
      'application/strategic-merge-patch+json',
    );

    const issue = await endedIssue('Deployment', name);
    const events = await issueEvents(issue);
    const analysis = events.find((e) => e.type === 'AnalysisCompleted')?.data as Analysis | undefined;
    expect(analysis?.suggestedActions).toEqual([
      expect.objectContaining({ type: 'RollbackDeployment', params: { toRevision: '1' } }),
    ]);
    expect(analysis?.analysis).toContain('spec.nodeSelector[cairn.dev/no-such-pool]');
    expect(analysis?.analysis).not.toMatch(/wedged/);
    expect(issue.status?.state).toBe('Resolved');
    // Nothing was restarted: the only action run is the rollback. Each object has its own writer queue, so the
    // plan may land just after the Issue shows Resolved.
    const plans = await eventually('the plan of the Issue', async () => {
      const found = (await list('remediationplans')).filter((p) => p.spec.issueRef?.name === issue.metadata.name);
      return found.length > 0 ? found : undefined;
    });
    expect(plans.flatMap((p) => (p.spec.actions as { type: string }[]).map((a) => a.type))).toEqual([
      'RollbackDeployment',
    ]);
    expect(events.filter((e) => e.type === 'RemediationStarted')).toHaveLength(1);
    const restored = await clients.apps.readNamespacedDeployment({ name, namespace });
    expect(restored.spec?.template.spec?.nodeSelector ?? {}).toEqual({});
    await eventually(
      `${name} scheduled and ready again`,
      async () => {
        const pods = await podsOf(clients, namespace, name);
        return pods.length === 2 && pods.every((p) => isReady(p) && p.spec?.nodeName) ? pods : undefined;
      },
      120_000,
    );
  }, 420_000);

  it('a release that reads a ConfigMap that does not exist is rolled back to the revision that served', async () => {
    const name = 'settings';
    await clients.apps.createNamespacedDeployment({ namespace, body: deployment(name, { replicas: 2 }) });
    await eventually(
      `${name} ready`,
      async () => (await podsOf(clients, namespace, name)).filter(isReady).length === 2,
      120_000,
    );
    await applyFault(await testCluster(), 'missing-config', `${namespace}/${name}`);

    const issue = await endedIssue('Deployment', name);
    const analysis = (await issueEvents(issue)).find((e) => e.type === 'AnalysisCompleted')?.data as
      | Analysis
      | undefined;
    expect(analysis?.suggestedActions).toEqual([
      expect.objectContaining({ type: 'RollbackDeployment', params: { toRevision: '1' } }),
    ]);
    expect(analysis?.analysis).toContain('spec.containers[app].envFrom');
    expect(analysis?.analysis).toContain(`config_missing: container app: configmap "${name}-settings" not found`);
    expect(issue.status?.state).toBe('Resolved');
    const restored = await clients.apps.readNamespacedDeployment({ name, namespace });
    expect(restored.spec?.template.spec?.containers[0]?.envFrom ?? []).toEqual([]);
  }, 420_000);

  it('a first release that reads a missing ConfigMap has nothing to go back to: escalated, naming the ConfigMap', async () => {
    const name = 'fresh';
    const body = deployment(name, { replicas: 1 });
    const template = body.spec?.template;
    if (!template?.spec?.containers[0]) throw new Error('the test Deployment has no container');
    template.metadata = { ...template.metadata, annotations: { [FaultMarks.missingConfig]: `${name}-settings` } };
    template.spec.containers[0].envFrom = [{ configMapRef: { name: `${name}-settings` } }];
    await clients.apps.createNamespacedDeployment({ namespace, body });

    const issue = await endedIssue('Deployment', name);
    expect(issue.status?.state).toBe('Escalated');
    const events = await issueEvents(issue);
    const analysis = events.find((e) => e.type === 'AnalysisCompleted')?.data as Analysis | undefined;
    expect(analysis?.suggestedActions).toEqual([]);
    expect(analysis?.confidence).toBeLessThanOrEqual(0.3);
    expect(analysis?.analysis).toContain(`configmap "${name}-settings" not found`);
    expect(analysis?.recommendations.join(' ')).toContain(`Create ConfigMap ${name}-settings in the namespace`);
    // Neither restarted nor rolled: the template is the one that was applied.
    const untouched = await clients.apps.readNamespacedDeployment({ name, namespace });
    expect(untouched.metadata?.annotations?.['deployment.kubernetes.io/revision']).toBe('1');
    expect(untouched.spec?.template.metadata?.annotations?.['kubectl.kubernetes.io/restartedAt']).toBeUndefined();
  }, 420_000);

  it('a Service whose selector has a typo is escalated with no action, naming the Service and the label', async () => {
    const name = 'catalog';
    await clients.apps.createNamespacedDeployment({ namespace, body: deployment(name, { replicas: 1 }) });
    await eventually(`${name} ready`, async () => (await podsOf(clients, namespace, name)).some(isReady), 120_000);
    await clients.core.createNamespacedService({
      namespace,
      body: {
        metadata: { name: 'catalog-svc' },
        spec: { selector: { app: 'catalgo' }, ports: [{ port: 80, targetPort: 8080 }] },
      },
    });

    const issue = await endedIssue('Service', 'catalog-svc');
    expect(issue.status?.state).toBe('Escalated');
    const events = await issueEvents(issue);
    const analysis = events.find((e) => e.type === 'AnalysisCompleted')?.data as Analysis | undefined;
    expect(analysis?.suggestedActions).toEqual([]);
    expect(analysis?.confidence).toBeLessThanOrEqual(0.3);
    expect(analysis?.analysis).toContain('spec.selector of Service catalog-svc');
    expect(analysis?.analysis).toContain('app is catalgo but the nearest pods have app=catalog');
    expect(events.some((e) => e.type === 'IssueEscalated')).toBe(true);
    // The Deployment the Service should select was never touched.
    const untouched = await clients.apps.readNamespacedDeployment({ name, namespace });
    expect(untouched.metadata?.annotations?.['deployment.kubernetes.io/revision']).toBe('1');
  }, 420_000);
});
