import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type * as k8s from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { openEventStore } from '../../src/adapters/eventstore/openEventStore.ts';
import { applyFault } from '../../src/cluster/faults.ts';
import type { LocalCluster } from '../../src/cluster/localCluster.ts';
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

interface CairnObject {
  metadata: {
    name: string;
    uid?: string;
    labels?: Record<string, string>;
    ownerReferences?: { kind: string; name: string; uid: string; controller?: boolean }[];
  };
  spec: Record<string, unknown> & { resource?: { name: string }; issueRef?: { name: string } };
  status?: Record<string, unknown> & { state?: string };
}

let clients: KubeClients;
let cluster: LocalCluster;

interface Scope {
  namespace: string;
  operator: RunningOperator;
  storeUrl: string;
}

/** An operator that watches one namespace of its own, so scenarios with different limits run side by side. */
async function scope(prefix: string, maxAttempts: number): Promise<Scope> {
  const namespace = await createNamespace(clients, prefix);
  const storeUrl = `sqlite:${join(mkdtempSync(join(tmpdir(), `cairn-${prefix}-`)), 'events.db')}`;
  const operator = await startOperator({
    kubeconfig: inject('kubeconfig'),
    store: storeUrl,
    namespace,
    watchNamespaces: [namespace],
    // A short verification window keeps failing attempts short.
    verificationTimeoutSeconds: 20,
    maxAttempts,
    thresholds: { workloadUnavailableSeconds: 3600, podNotReadySeconds: 3 },
    ...(process.env.CAIRN_TEST_LOG ? { log: (line: string) => process.stderr.write(`[${prefix}] ${line}\n`) } : {}),
  });
  await eventually('the operator to lead', async () => operator.isLeader());
  return { namespace, operator, storeUrl };
}

const scopes: Scope[] = [];
beforeAll(async () => {
  clients = kubeClients();
  cluster = await testCluster();
});
afterAll(async () => {
  for (const s of scopes) {
    await s.operator.stop();
    await deleteNamespace(clients, s.namespace);
  }
});

const list = async (namespace: string, plural: string) =>
  (
    (await clients.custom.listNamespacedCustomObject({
      group: 'aiops.cairn.dev',
      version: 'v1alpha1',
      namespace,
      plural,
    })) as {
      items: CairnObject[];
    }
  ).items;

const endedIssue = (namespace: string, workload: string, timeoutMs = 180_000) =>
  eventually(
    `the Issue of ${workload} to end`,
    async () => {
      const issue = (await list(namespace, 'issues')).find((i) => i.spec.resource?.name === workload);
      return issue && (issue.status?.state === 'Resolved' || issue.status?.state === 'Escalated') ? issue : undefined;
    },
    timeoutMs,
  );

const plansOf = async (namespace: string, issue: CairnObject) =>
  (await list(namespace, 'remediationplans'))
    .filter((p) => p.spec.issueRef?.name === issue.metadata.name)
    .sort((a, b) => Number(a.spec.attempt) - Number(b.spec.attempt));

const templateOf = async (namespace: string, name: string) => {
  const d = await clients.apps.readNamespacedDeployment({ name, namespace });
  return {
    replicas: d.spec?.replicas,
    containers: d.spec?.template.spec?.containers.map((c) => ({ image: c.image, resources: c.resources })),
  };
};

/** Deploys `name`, waits for it to be ready, then rolls out a release that needs 4x its memory limit. */
async function hungryRelease(namespace: string, name: string) {
  const body = deployment(name, { replicas: 1, memoryLimit: '128Mi' });
  await clients.apps.createNamespacedDeployment({ namespace, body });
  await eventually(`${name} ready`, async () => (await podsOf(clients, namespace, name)).some(isReady));
  const healthy = await templateOf(namespace, name);
  await clients.objects.patch(
    {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name, namespace },
      spec: {
        selector: body.spec!.selector,
        // A new release (a new image) that needs 4x its memory limit.
        template: {
          metadata: { annotations: { 'fault.cairn.dev/memory-working-set': '512Mi' } },
          spec: { containers: [{ name: 'app', image: 'registry.local/shop/web:2.0.0' }] },
        },
      },
    } as k8s.KubernetesObject,
    undefined,
    undefined,
    'test',
    undefined,
    'application/strategic-merge-patch+json',
  );
  return { healthy, faulty: await templateOf(namespace, name) };
}

const group = { group: 'aiops.cairn.dev', version: 'v1alpha1' };
const getObject = async (namespace: string, plural: string, name: string) =>
  (await clients.custom.getNamespacedCustomObject({ ...group, namespace, plural, name })) as CairnObject;

/** The Issue's PostMortem, found through its postMortemRef, once its status has been written. */
const postMortemOf = (namespace: string, issue: CairnObject) =>
  eventually(`the PostMortem of ${issue.metadata.name}`, async () => {
    const ref = (issue.status?.postMortemRef as { name?: string } | undefined)?.name;
    if (!ref) return undefined;
    const pm = await getObject(namespace, 'postmortems', ref).catch(() => undefined);
    return pm?.status?.timeline ? pm : undefined;
  });

interface PostMortemStatus {
  timeline: { at: string; type: string; detail: string }[];
  actionsExecuted: { type: string; result: string; detail?: string }[];
  conditions: { type: string; status: string; reason: string }[];
  resolvedAt?: string;
  duration: string;
  rootCause: string;
  recurrence: { last30Days: number };
}

/** Owned by the Issue as its controller, so Kubernetes deletes it with the Issue. */
const expectOwnedBy = (child: CairnObject, issue: CairnObject) =>
  expect(child.metadata.ownerReferences).toEqual([
    expect.objectContaining({ kind: 'Issue', name: issue.metadata.name, uid: issue.metadata.uid, controller: true }),
  ]);

const issueEvents = async (storeUrl: string, issue: CairnObject) => {
  const store = openEventStore(storeUrl);
  try {
    return await store.readStream(`issue-${issue.metadata.labels?.['aiops.cairn.dev/issue-id']}`);
  } finally {
    await store.close();
  }
};

describe('remediation on a real cluster, rules provider, one attempt per Issue', () => {
  let s: Scope;
  beforeAll(async () => {
    s = await scope('remedy', 1);
    scopes.push(s);
  });

  it('bad image: rolls the Deployment back to the image that worked, verifies, and resolves', async () => {
    const { namespace } = s;
    await clients.apps.createNamespacedDeployment({ namespace, body: deployment('web', { replicas: 2 }) });
    await eventually('web ready', async () => (await podsOf(clients, namespace, 'web')).filter(isReady).length === 2);
    await applyFault(cluster, 'crashloop', `${namespace}/web`);

    const issue = await endedIssue(namespace, 'web');
    expect(issue.status?.state).toBe('Resolved');
    const [plan] = await plansOf(namespace, issue);
    expect(plan?.spec.actions).toEqual([{ type: 'RollbackDeployment', params: { toRevision: '1' } }]);
    expect(plan?.status).toMatchObject({
      state: 'Completed',
      actions: [{ type: 'RollbackDeployment', state: 'Succeeded' }],
    });
    const pods = await podsOf(clients, namespace, 'web');
    expect(pods.filter(isReady).map((p) => p.spec?.containers[0]?.image)).toEqual([
      'registry.local/shop/web:1.0.0',
      'registry.local/shop/web:1.0.0',
    ]);
    const [insight] = (await list(namespace, 'aiinsights')).filter(
      (i) => i.spec.issueRef?.name === issue.metadata.name,
    );
    expect(insight?.status).toMatchObject({ phase: 'Completed', provider: 'rules' });

    const pm = await postMortemOf(namespace, issue);
    expectOwnedBy(pm, issue);
    expect(pm.metadata.labels?.['aiops.cairn.dev/outcome']).toBe('resolved');
    const status = pm.status as unknown as PostMortemStatus;
    expect(status.timeline[0]?.type).toBe('IssueDetected');
    expect(status.timeline.at(-1)?.type).toBe('IssueResolved');
    expect(status.timeline).toContainEqual(
      expect.objectContaining({
        type: 'ActionSucceeded',
        detail: expect.stringMatching(/^RollbackDeployment succeeded: rolled Deployment .*web back to revision 1/),
      }),
    );
    expect(status.actionsExecuted).toEqual([
      expect.objectContaining({ type: 'RollbackDeployment', result: 'Succeeded' }),
    ]);
    expect(status.conditions).toEqual([
      expect.objectContaining({ type: 'Resolved', status: 'True', reason: 'Remediated' }),
    ]);
    expect(status.resolvedAt).toBe(issue.status?.resolvedAt);
    expect(status.rootCause).toContain('crash-loops');
    expect(status.recurrence).toEqual({ last30Days: 0 });
  });

  it('OOM: raises the memory limit, verifies, and resolves', async () => {
    const { namespace } = s;
    await clients.apps.createNamespacedDeployment({
      namespace,
      body: deployment('cart', { replicas: 1, memoryLimit: '128Mi' }),
    });
    await eventually('cart ready', async () => (await podsOf(clients, namespace, 'cart')).some(isReady));
    await applyFault(cluster, 'oom', `${namespace}/cart`);

    const issue = await endedIssue(namespace, 'cart');
    expect(issue.status?.state).toBe('Resolved');
    const [plan] = await plansOf(namespace, issue);
    expect((plan?.spec.actions as { type: string }[] | undefined)?.map((a) => a.type)).toEqual(['AdjustResources']);
    expect((await templateOf(namespace, 'cart')).containers?.[0]?.resources?.limits?.memory).toBe('256Mi');
  });

  it('a verification failure rolls back to the snapshot exactly, and with no attempt left the Issue is Escalated', async () => {
    const { namespace } = s;
    const { faulty } = await hungryRelease(namespace, 'hungry');
    const issue = await endedIssue(namespace, 'hungry');
    expect(issue.status?.state).toBe('Escalated');
    const [plan, ...more] = await plansOf(namespace, issue);
    expect(more).toEqual([]);
    expect((plan?.spec.actions as { type: string }[] | undefined)?.map((a) => a.type)).toEqual(['AdjustResources']);
    expect(plan?.status).toMatchObject({ state: 'RolledBack', rollback: { state: 'Succeeded' } });
    // The rollback put back exactly what the snapshot held: the release with its 128Mi limit, not the 256Mi tried.
    expect(await templateOf(namespace, 'hungry')).toEqual(faulty);
    const escalated = (await issueEvents(s.storeUrl, issue)).find((e) => e.type === 'IssueEscalated');
    expect(escalated?.data).toMatchObject({ reason: 'attempts_exhausted', attempts: 1 });

    const pm = await postMortemOf(namespace, issue);
    expectOwnedBy(pm, issue);
    expect(pm.metadata.labels?.['aiops.cairn.dev/outcome']).toBe('escalated');
    const status = pm.status as unknown as PostMortemStatus;
    const types = status.timeline.map((t) => t.type);
    // The snapshot rollback comes after the failed verification and before the escalation.
    expect(types.indexOf('VerificationFailed')).toBeLessThan(types.indexOf('RollbackCompleted'));
    expect(types.at(-1)).toBe('IssueEscalated');
    expect(status.actionsExecuted).toEqual([
      expect.objectContaining({ type: 'AdjustResources', result: 'RolledBack' }),
    ]);
    expect(status.conditions).toEqual([
      expect.objectContaining({ type: 'Resolved', status: 'False', reason: 'Escalated' }),
    ]);
    expect(status.resolvedAt).toBeUndefined();
  });

  it('deleting an Issue garbage-collects its AIInsight, RemediationPlan and PostMortem', async () => {
    const { namespace } = s;
    await clients.apps.createNamespacedDeployment({ namespace, body: deployment('gone', { replicas: 1 }) });
    await eventually('gone ready', async () => (await podsOf(clients, namespace, 'gone')).some(isReady));
    await applyFault(cluster, 'crashloop', `${namespace}/gone`);
    const issue = await endedIssue(namespace, 'gone');
    // The PostMortem is the resource writer's last write for the ended Issue: nothing will re-create the Issue.
    await postMortemOf(namespace, issue);
    const children = async () => {
      const owned = async (plural: string) =>
        (await list(namespace, plural)).filter((o) =>
          o.metadata.ownerReferences?.some((r) => r.uid === issue.metadata.uid),
        );
      return {
        aiinsights: (await owned('aiinsights')).length,
        remediationplans: (await owned('remediationplans')).length,
        postmortems: (await owned('postmortems')).length,
      };
    };
    expect(await children()).toEqual({ aiinsights: 1, remediationplans: 1, postmortems: 1 });

    // Foreground: the API server keeps the Issue until the garbage collector has deleted every child it blocks on.
    await clients.custom.deleteNamespacedCustomObject({
      ...group,
      namespace,
      plural: 'issues',
      name: issue.metadata.name,
      propagationPolicy: 'Foreground',
    });
    await eventually('the Issue and its children to be deleted', async () => {
      const issueLeft = await getObject(namespace, 'issues', issue.metadata.name).then(
        () => true,
        (error: { code?: number }) => error.code !== 404,
      );
      const left = await children();
      return !issueLeft && left.aiinsights + left.remediationplans + left.postmortems === 0;
    });
  });
});

describe('remediation on a real cluster, rules provider, several attempts', () => {
  let s: Scope;
  beforeAll(async () => {
    s = await scope('retry', 3);
    scopes.push(s);
  });

  it('after a failed attempt, re-analysis avoids the failed action and a different strategy resolves the Issue', async () => {
    const { namespace } = s;
    const { healthy } = await hungryRelease(namespace, 'greedy');
    const issue = await endedIssue(namespace, 'greedy', 240_000);
    expect(issue.status?.state).toBe('Resolved');
    const plans = await plansOf(namespace, issue);
    expect(plans.map((p) => [(p.spec.actions as { type: string }[])[0]?.type, p.status?.state])).toEqual([
      ['AdjustResources', 'RolledBack'],
      ['RollbackDeployment', 'Completed'],
    ]);
    const reanalysis = (await issueEvents(s.storeUrl, issue)).find((e) => e.type === 'ReanalysisRequested');
    expect(reanalysis?.data).toMatchObject({ attempt: 2, doNotRepeat: [expect.stringContaining('AdjustResources')] });
    // Revision 1, the release before the one that needed more memory, is what runs now.
    expect(await templateOf(namespace, 'greedy')).toEqual(healthy);
    // Both attempts' streams are in the PostMortem: the undone limit raise, then the rollback that fixed it.
    const status = (await postMortemOf(namespace, issue)).status as unknown as PostMortemStatus;
    expect(status.actionsExecuted.map((a) => [a.type, a.result])).toEqual([
      ['AdjustResources', 'RolledBack'],
      ['RollbackDeployment', 'Succeeded'],
    ]);
  });

  it('a crash loop that no action fixes is escalated once nothing is left to try', async () => {
    const { namespace } = s;
    await clients.apps.createNamespacedDeployment({
      namespace,
      body: deployment('doomed', { replicas: 1, image: 'registry.local/shop/doomed:0.1-broken' }),
    });
    const issue = await endedIssue(namespace, 'doomed', 240_000);
    expect(issue.status?.state).toBe('Escalated');
    const events = await issueEvents(s.storeUrl, issue);
    const started = events.filter((e) => e.type === 'RemediationStarted').length;
    expect(started).toBeGreaterThanOrEqual(1);
    // Each object has its own writer queue, so the last plan may land just after the Issue shows Escalated.
    const plans = await eventually('a RolledBack plan object for every remediation', async () => {
      const found = await plansOf(namespace, issue);
      return found.length === started && found.every((p) => p.status?.state === 'RolledBack') && found;
    });
    expect(events.at(-1)?.type).toBe('IssueEscalated');
    const status = (await postMortemOf(namespace, issue)).status as unknown as PostMortemStatus;
    expect(status.conditions).toEqual([expect.objectContaining({ reason: 'Escalated' })]);
    expect(status.timeline.filter((t) => t.type === 'RollbackCompleted')).toHaveLength(plans.length);
  });
});
