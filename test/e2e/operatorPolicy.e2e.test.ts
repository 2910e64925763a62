import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { openEventStore } from '../../src/adapters/eventstore/openEventStore.ts';
import { auditEventResources, checkAuditEventObjects } from '../../src/audit/auditEvents.module.ts';
import { applyFault } from '../../src/cluster/faults.ts';
import type { LocalCluster } from '../../src/cluster/localCluster.ts';
import { type RunningOperator, startOperator } from '../../src/operator.ts';
import { isAuditableEventStore } from '../../src/ports/eventStore.ts';
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

/*
 * The operator policy as configuration, on a real control plane: one operator, four namespaces, each with the same
 * bad release (a crash-looping image, which the rules provider answers with a rollback). Observe mode records the
 * plan and leaves the workload alone; a protected namespace and a denied action are refused with their policy
 * codes; approve mode makes the plan wait for a person and runs it once approved. Every step of it is an AuditEvent.
 */

interface CairnObject {
  metadata: { name: string; labels?: Record<string, string> };
  spec: Record<string, unknown> & { resource?: { name: string }; issueRef?: { name: string } };
  status?: Record<string, unknown> & { state?: string };
}

let clients: KubeClients;
let cluster: LocalCluster;
let operator: RunningOperator;
let storeUrl: string;
const devKey = `cairn_dev_${randomBytes(12).toString('hex')}`;
const ns = { operator: '', observe: '', approve: '', protect: '', deny: '' };
const logged: string[] = [];

beforeAll(async () => {
  clients = kubeClients();
  cluster = await testCluster();
  for (const key of Object.keys(ns) as (keyof typeof ns)[]) ns[key] = await createNamespace(clients, `pol-${key}`);
  storeUrl = `sqlite:${join(mkdtempSync(join(tmpdir(), 'cairn-policy-')), 'events.db')}`;
  operator = await startOperator({
    kubeconfig: inject('kubeconfig'),
    store: storeUrl,
    namespace: ns.operator,
    watchNamespaces: [ns.observe, ns.approve, ns.protect, ns.deny],
    thresholds: { workloadUnavailableSeconds: 3600, podNotReadySeconds: 3 },
    verificationTimeoutSeconds: 60,
    maxAttempts: 1,
    agentic: false,
    policy: {
      mode: 'auto',
      namespaceModes: { [ns.observe]: 'observe', [ns.approve]: 'approve' },
      extraProtectedNamespaces: [ns.protect],
      // The deny namespace's fault is an OOM kill, which the rules provider answers by raising the memory limit.
      deniedActions: ['AdjustResources'],
    },
    http: { host: '127.0.0.1', port: 0 },
    api: { devApiKey: devKey },
    log: (line: string) => {
      logged.push(line);
      if (process.env.CAIRN_TEST_LOG) process.stderr.write(`[policy] ${line}\n`);
    },
  });
  await eventually('the operator to lead', async () => operator.isLeader());
}, 120_000);
afterAll(async () => {
  await operator?.stop();
  for (const name of Object.values(ns)) if (name) await deleteNamespace(clients, name);
});

const list = async (namespace: string, plural: string) =>
  (
    (await clients.custom.listNamespacedCustomObject({
      group: 'aiops.cairn.dev',
      version: 'v1alpha1',
      namespace,
      plural,
    })) as { items: CairnObject[] }
  ).items;

const templateOf = async (namespace: string) => {
  const d = await clients.apps.readNamespacedDeployment({ name: 'web', namespace });
  return { generation: d.metadata?.generation, replicas: d.spec?.replicas, template: d.spec?.template };
};

/** A healthy Deployment, then a release whose pods crash-loop; returns the Deployment as the bad release left it. */
async function badRelease(namespace: string) {
  await clients.apps.createNamespacedDeployment({ namespace, body: deployment('web', { replicas: 2 }) });
  await eventually(`web ready in ${namespace}`, async () =>
    (await podsOf(clients, namespace, 'web')).filter(isReady).length === 2 ? true : undefined,
  );
  await applyFault(cluster, 'crashloop', `${namespace}/web`);
  return templateOf(namespace);
}

const issueIn = (namespace: string, state?: string) =>
  eventually(
    `the Issue of web in ${namespace}${state ? ` to be ${state}` : ''}`,
    async () => {
      const issue = (await list(namespace, 'issues')).find((i) => i.spec.resource?.name === 'web');
      return issue && (state === undefined || issue.status?.state === state) ? issue : undefined;
    },
    240_000,
  );

const issueEvents = async (issue: CairnObject) => {
  const store = openEventStore(storeUrl);
  try {
    return await store.readStream(`issue-${issue.metadata.labels?.['aiops.cairn.dev/issue-id']}`);
  } finally {
    await store.close();
  }
};

const refusals = async (issue: CairnObject) =>
  (await issueEvents(issue))
    .filter((e) => e.type === 'ProposalRefused')
    .map((e) => e.data as { code: string; reason: string; stage: string; action?: { type: string } });

const api = async (path: string) => {
  const response = await fetch(`${operator.httpUrl}${path}`, { headers: { 'x-api-key': devKey } });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
};

describe('operator policy on a real control plane', () => {
  it('/readyz shows the policy in force', async () => {
    const { body } = await api('/readyz');
    const policy = (body.checks as { name: string; ok: boolean; detail: string; advisory?: boolean }[]).find(
      (c) => c.name === 'policy',
    );
    expect(policy).toMatchObject({ ok: true, advisory: true });
    const modes = [`${ns.approve}=approve`, `${ns.observe}=observe`].sort().join(', ');
    expect(policy?.detail).toContain(`mode auto (namespaces: ${modes})`);
    expect(policy?.detail).toContain(`protected namespaces kube-system, kube-public, kube-node-lease, ${ns.protect}`);
    expect(policy?.detail).toContain('denied actions AdjustResources');
    // The same line opens the operator's log.
    expect(logged.filter((line) => line.startsWith('policy: '))).toEqual([`policy: ${policy?.detail}`]);
  });

  it('observe mode: records the analysis and the plan it would have run, hands the Issue over, and never acts', async () => {
    const faulty = await badRelease(ns.observe);
    const issue = await issueIn(ns.observe, 'Escalated');
    const events = await issueEvents(issue);
    expect(events.map((e) => e.type)).toContain('AnalysisCompleted');
    expect(events.map((e) => e.type)).not.toContain('RemediationStarted');
    const refused = await refusals(issue);
    expect(refused.length).toBeGreaterThan(0);
    for (const r of refused) {
      expect(r).toMatchObject({ stage: 'policy', code: 'policy.observe_mode' });
      expect(r.reason).toContain(`namespace ${ns.observe} is in observe mode`);
    }
    expect(refused.map((r) => r.action?.type)).toContain('RollbackDeployment');
    // Read through retries: the API server may answer 429 while another suite re-registers a CRD.
    expect(await eventually('the plans of the namespace', () => list(ns.observe, 'remediationplans'))).toEqual([]);
    // The decision is on the Issue's timeline, and the refused plan on its analysis, as the REST API shows them.
    const id = issue.metadata.labels?.['aiops.cairn.dev/issue-id'];
    const timeline = await eventually('the timeline with the escalation', async () => {
      const { status, body } = await api(`/api/v1/incidents/${id}/timeline`);
      const items = body.items as { type: string; summary: string }[] | undefined;
      return status === 200 ? items?.find((t) => t.type === 'IssueEscalated') : undefined;
    });
    expect(timeline.summary).toContain(`namespace ${ns.observe} is in observe mode`);
    const insight = await eventually('the analysis with its refused plan', async () => {
      const { status, body } = await api(`/api/v1/insights?issueId=${id}`);
      const items = body.items as { refusedProposals: { code: string; action?: { type: string } }[] }[] | undefined;
      return status === 200 && (items?.[0]?.refusedProposals.length ?? 0) === refused.length ? items?.[0] : undefined;
    });
    expect(insight.refusedProposals.map((r) => r.code)).toEqual(refused.map(() => 'policy.observe_mode'));
    // The workload is exactly as the bad release left it.
    expect(await templateOf(ns.observe)).toEqual(faulty);
  });

  it('a namespace protected by configuration is refused with a policy event', async () => {
    const faulty = await badRelease(ns.protect);
    const issue = await issueIn(ns.protect, 'Escalated');
    const refused = await refusals(issue);
    expect(refused.map((r) => r.code)).toContain('policy.protected_namespace');
    expect(refused.find((r) => r.code === 'policy.protected_namespace')?.reason).toBe(
      `namespace ${ns.protect} is protected: Cairn never acts there`,
    );
    expect(await templateOf(ns.protect)).toEqual(faulty);
  });

  it('a deny-listed action is refused with policy.denied', async () => {
    await clients.apps.createNamespacedDeployment({
      namespace: ns.deny,
      body: deployment('web', { replicas: 1, memoryLimit: '64Mi' }),
    });
    await applyFault(cluster, 'oom', `${ns.deny}/web`);
    const issue = await issueIn(ns.deny, 'Escalated');
    const refused = await refusals(issue);
    expect(refused).toContainEqual(
      expect.objectContaining({
        code: 'policy.denied',
        stage: 'policy',
        reason: "AdjustResources is on the policy's deny list",
        action: expect.objectContaining({ type: 'AdjustResources' }),
      }),
    );
    const d = await clients.apps.readNamespacedDeployment({ name: 'web', namespace: ns.deny });
    expect(d.spec?.template.spec?.containers[0]?.resources?.limits?.memory).toBe('64Mi');
  });

  it('approve mode: the plan waits for a person, and runs once approved', async () => {
    const faulty = await badRelease(ns.approve);
    const issue = await issueIn(ns.approve);
    const plan = await eventually(
      'the plan to wait for approval',
      async () =>
        (await list(ns.approve, 'remediationplans')).find(
          (p) => p.spec.issueRef?.name === issue.metadata.name && p.status?.state === 'AwaitingApproval',
        ),
      240_000,
    );
    const requestId = (plan.status?.approvalRequestRef as { name: string } | undefined)?.name ?? '';
    const pending = await eventually('the pending approval', async () =>
      (await operator.approvals.listPending()).find((r) => r.requestId === requestId),
    );
    expect(pending.actions.map((a) => a.type)).toEqual(['RollbackDeployment']);
    expect(await templateOf(ns.approve)).toEqual(faulty);

    await operator.approvals.approve(requestId, 'alice@example.com');
    await issueIn(ns.approve, 'Resolved');
    expect((await templateOf(ns.approve)).template).not.toEqual(faulty.template);
  });

  it('every action, approval and policy refusal is an AuditEvent that matches the chain', async () => {
    const resources = auditEventResources(clients.config);
    const objects = await eventually('AuditEvents of the approval and the rollback', async () => {
      const items = await resources.list(ns.operator);
      const types = new Set(items.map((o) => o.spec?.eventType));
      return ['ProposalRefused', 'ApprovalRequested', 'ApprovalGranted', 'ActionStarted', 'ActionSucceeded'].every(
        (t) => types.has(t),
      )
        ? items
        : undefined;
    });
    const codes = objects
      .filter((o) => o.spec?.eventType === 'ProposalRefused')
      .map((o) => (o.spec?.details as Record<string, string> | undefined)?.code);
    expect(new Set(codes)).toEqual(new Set(['policy.observe_mode', 'policy.protected_namespace', 'policy.denied']));
    const granted = objects.find((o) => o.spec?.eventType === 'ApprovalGranted');
    expect(granted?.spec?.actor).toEqual({ type: 'user', name: 'alice@example.com' });
    const store = openEventStore(storeUrl);
    try {
      if (!isAuditableEventStore(store)) throw new Error('the sqlite store keeps the audit chain');
      expect(await checkAuditEventObjects(store, objects)).toEqual({ ok: true, objects: objects.length });
    } finally {
      await store.close();
    }
  });
});
