import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { openEventStore } from '../../src/adapters/eventstore/openEventStore.ts';
import { FaultMarks } from '../../src/cluster/stages.ts';
import { type OperatorOptions, type RunningOperator, startOperator } from '../../src/operator.ts';
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

interface CairnObject {
  metadata: { name: string; labels?: Record<string, string> };
  spec: Record<string, unknown> & { resource?: { name: string }; issueRef?: { name: string } };
  status?: Record<string, unknown> & { state?: string };
}

let clients: KubeClients;
const group = { group: 'aiops.cairn.dev', version: 'v1alpha1' };

interface Scope {
  namespace: string;
  operator: RunningOperator;
  storeUrl: string;
}
const scopes: Scope[] = [];

/** An operator of its own per scenario group, watching one namespace. */
async function scope(prefix: string, options: Partial<OperatorOptions>): Promise<Scope> {
  const namespace = await createNamespace(clients, prefix);
  const storeUrl = `sqlite:${join(mkdtempSync(join(tmpdir(), `cairn-${prefix}-`)), 'events.db')}`;
  const operator = await startOperator({
    kubeconfig: inject('kubeconfig'),
    store: storeUrl,
    namespace,
    watchNamespaces: [namespace],
    verificationTimeoutSeconds: 20,
    maxAttempts: 1,
    thresholds: { workloadUnavailableSeconds: 3600, podNotReadySeconds: 3 },
    ...options,
    ...(process.env.CAIRN_TEST_LOG ? { log: (line: string) => process.stderr.write(`[${prefix}] ${line}\n`) } : {}),
  });
  await eventually('the operator to lead', async () => operator.isLeader());
  const s = { namespace, operator, storeUrl };
  scopes.push(s);
  return s;
}

beforeAll(() => {
  clients = kubeClients();
});
afterAll(async () => {
  for (const s of scopes) {
    await s.operator.stop();
    await deleteNamespace(clients, s.namespace);
  }
});

const list = async (namespace: string, plural: string) =>
  ((await clients.custom.listNamespacedCustomObject({ ...group, namespace, plural })) as { items: CairnObject[] })
    .items;

const issueOf = (namespace: string, workload: string) =>
  eventually(`the Issue of ${workload}`, async () =>
    (await list(namespace, 'issues')).find((i) => i.spec.resource?.name === workload),
  );

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
  (await list(namespace, 'remediationplans')).filter((p) => p.spec.issueRef?.name === issue.metadata.name);

/** Waits for the plan's status to show what the stream holds (the projection runs after the events). */
const planWhen = (namespace: string, issue: CairnObject, done: (plan: CairnObject) => boolean) =>
  eventually(`the plan of ${issue.metadata.name}`, async () => (await plansOf(namespace, issue)).find(done));

async function readyDeployment(namespace: string, name: string, replicas: number) {
  await clients.apps.createNamespacedDeployment({ namespace, body: deployment(name, { replicas }) });
  await eventually(
    `${name} ready`,
    async () => (await podsOf(clients, namespace, name)).filter(isReady).length === replicas,
  );
  return (await podsOf(clients, namespace, name)).map((p) => p.metadata?.name ?? '').sort();
}

/** Wedges the given pods: they keep running but fail readiness, as a deadlocked process would. */
async function wedge(namespace: string, pods: readonly string[]) {
  for (const name of pods) {
    // A JSON patch, the client's default: the pods have labels (their app), so adding one is safe.
    await clients.core.patchNamespacedPod({
      name,
      namespace,
      body: [{ op: 'add', path: `/metadata/labels/${FaultMarks.wedged.replace('/', '~1')}`, value: 'true' }],
    });
  }
}

const streamEvents = async (storeUrl: string, stream: string) => {
  const store = openEventStore(storeUrl);
  try {
    return await store.readStream(stream);
  } finally {
    await store.close();
  }
};

describe('agentic mode on a real cluster, rules providers', () => {
  let s: Scope;
  beforeAll(async () => {
    // A restart of 3 pods is over the blast radius of 2, so the analysis' restart is not usable; a loop of 2 steps.
    s = await scope('agentic', {
      policy: { maxPodsAffected: 2 },
      agentic: { maxSteps: 2, timeLimitSeconds: 120, settleMs: 5_000 },
    });
  });

  it('the analysis proposes nothing usable: agentic steps fix it, the Issue resolves, a runbook is generated', async () => {
    const { namespace } = s;
    const pods = await readyDeployment(namespace, 'shop', 3);
    await wedge(namespace, [pods[0] as string]);

    const issue = await endedIssue(namespace, 'shop');
    expect(issue.status?.state).toBe('Resolved');
    const plan = await planWhen(namespace, issue, (p) => p.status?.state === 'Completed');
    expect(plan.spec).toMatchObject({ mode: 'agentic', actions: [{ type: 'DeletePod', params: { pod: pods[0] } }] });
    expect(plan.metadata.labels?.['aiops.cairn.dev/source']).toBe('agentic');
    const steps = plan.status?.agenticSteps as { step: number; action?: { type: string }; reasoning: string }[];
    expect(steps.map((st) => st.action?.type ?? 'none')).toEqual(['DeletePod', 'none']);
    expect(steps[1]?.reasoning).toMatch(/^\[resolved\]/);
    expect(plan.status?.actions).toEqual([expect.objectContaining({ type: 'DeletePod', state: 'Succeeded' })]);
    // The wedged pod is gone; three ready replicas serve.
    const now = await podsOf(clients, namespace, 'shop');
    expect(now.map((p) => p.metadata?.name)).not.toContain(pods[0]);
    expect(now.filter(isReady)).toHaveLength(3);

    // The analysis' restart was screened out by the policy, and the plan records where it came from.
    const created = (
      await streamEvents(
        s.storeUrl,
        `remediation-${issue.metadata.labels?.['aiops.cairn.dev/issue-id']}-insight-1-plan`,
      )
    )[0];
    expect(created?.data).toMatchObject({
      source: 'agentic',
      actions: [],
      agentic: { maxSteps: 2, timeLimitSeconds: 120 },
    });

    const runbook = await eventually('the generated runbook', async () =>
      (await list(namespace, 'runbooks')).find((r) => r.metadata.name.startsWith('agentic-pod-not-ready-')),
    );
    expect(runbook.metadata.labels).toMatchObject({
      'aiops.cairn.dev/auto-generated': 'true',
      'aiops.cairn.dev/source': 'agentic',
    });
    expect(runbook.spec).toMatchObject({
      trigger: { signal: 'pod_not_ready', resourceKind: 'Deployment' },
      steps: [{ action: 'DeletePod', params: { pod: pods[0] } }],
    });
  });

  it('a loop that spends its step budget rolls back to the snapshot and the Issue is Escalated', async () => {
    const { namespace } = s;
    const pods = await readyDeployment(namespace, 'till', 3);
    const before = await clients.apps.readNamespacedDeployment({ name: 'till', namespace });
    await wedge(namespace, pods.slice(0, 2));

    const issue = await endedIssue(namespace, 'till');
    expect(issue.status?.state).toBe('Escalated');
    const plan = await planWhen(namespace, issue, (p) => p.status?.state === 'RolledBack');
    // Step 1 replaced one wedged pod; step 2's second pod deletion was refused (one destructive action per plan)
    // and never ran; then the budget of 2 steps was spent.
    expect(plan.status?.actions).toEqual([
      expect.objectContaining({ type: 'DeletePod', state: 'Succeeded' }),
      expect.objectContaining({ type: 'DeletePod', state: 'Skipped', message: expect.stringContaining('destructive') }),
    ]);
    expect(plan.status?.rollback).toMatchObject({ state: 'Succeeded', reason: 'no resolution in 2 steps' });
    const after = await clients.apps.readNamespacedDeployment({ name: 'till', namespace });
    expect(after.spec?.template).toEqual(before.spec?.template);
    expect(after.spec?.replicas).toBe(3);
    const events = await streamEvents(s.storeUrl, `issue-${issue.metadata.labels?.['aiops.cairn.dev/issue-id']}`);
    expect(events.at(-1)).toMatchObject({ type: 'IssueEscalated', data: { reason: 'attempts_exhausted' } });
    // No runbook comes from a loop that did not resolve anything.
    expect((await list(namespace, 'runbooks')).filter((r) => r.metadata.name.includes('till'))).toEqual([]);
  });
});

describe('approvals on a real cluster', () => {
  let s: Scope;
  beforeAll(async () => {
    s = await scope('approve', {
      agentic: false,
      approvalRules: [
        {
          name: 'restarts-need-two',
          match: { actionTypes: ['RestartDeployment'] },
          mode: 'quorum',
          requiredApprovers: 2,
          timeoutSeconds: 600,
        },
      ],
    });
  });

  const waitingPlan = async (namespace: string, workload: string) => {
    const issue = await issueOf(namespace, workload);
    const plan = await planWhen(namespace, issue, (p) => p.status?.state === 'AwaitingApproval');
    return { issue, plan };
  };

  it('a plan that needs approval waits, then runs once a quorum of people approved it, and resolves', async () => {
    const { namespace, operator } = s;
    const pods = await readyDeployment(namespace, 'gate', 2);
    await wedge(namespace, pods);
    const { issue, plan } = await waitingPlan(namespace, 'gate');
    expect(plan.status?.conditions).toEqual([
      expect.objectContaining({ type: 'Approved', status: 'Unknown', reason: 'WaitingForApproval' }),
    ]);
    const requestId = (plan.status?.approvalRequestRef as { name: string } | undefined)?.name ?? '';
    const pending = await eventually('the pending request', async () =>
      (await operator.approvals.listPending()).find((r) => r.requestId === requestId),
    );
    expect(pending).toMatchObject({ requiredApprovals: 2, actions: [{ type: 'RestartDeployment' }] });

    // Nothing runs on one approval: the pods are the same, still wedged.
    await operator.approvals.approve(requestId, 'alice@example.com');
    await new Promise((r) => setTimeout(r, 2_000));
    expect((await podsOf(clients, namespace, 'gate')).map((p) => p.metadata?.name).sort()).toEqual(pods);
    expect((await issueOf(namespace, 'gate')).status?.state).toBe('Remediating');

    const approved = await operator.approvals.approve(requestId, 'bob@example.com');
    expect(approved).toMatchObject({ state: 'Approved', approvals: 2 });
    const ended = await endedIssue(namespace, 'gate');
    expect(ended.status?.state).toBe('Resolved');
    const done = await planWhen(namespace, issue, (p) => p.status?.state === 'Completed');
    expect(done.status?.conditions).toEqual([
      expect.objectContaining({
        type: 'Approved',
        status: 'True',
        message: 'approved by alice@example.com, bob@example.com',
      }),
    ]);
    expect((await podsOf(clients, namespace, 'gate')).filter(isReady)).toHaveLength(2);
  });

  it('a refused plan never runs, and the Issue is Escalated', async () => {
    const { namespace, operator } = s;
    const pods = await readyDeployment(namespace, 'held', 2);
    const before = await clients.apps.readNamespacedDeployment({ name: 'held', namespace });
    await wedge(namespace, pods);
    const { issue, plan } = await waitingPlan(namespace, 'held');
    const requestId = (plan.status?.approvalRequestRef as { name: string } | undefined)?.name ?? '';
    await eventually('the pending request', async () =>
      (await operator.approvals.listPending()).some((r) => r.requestId === requestId),
    );
    const refused = await operator.approvals.reject(requestId, 'carol@example.com', 'freeze before the release');
    expect(refused).toMatchObject({ state: 'Rejected', decisions: [{ approver: 'carol@example.com' }] });

    const ended = await endedIssue(namespace, 'held');
    expect(ended.status?.state).toBe('Escalated');
    const failed = await planWhen(namespace, issue, (p) => p.status?.state === 'Failed');
    expect(failed.status?.actions).toEqual([expect.objectContaining({ type: 'RestartDeployment', state: 'Pending' })]);
    expect(failed.status?.conditions).toEqual([
      expect.objectContaining({ type: 'Approved', status: 'False', reason: 'Refused' }),
    ]);
    // Untouched: no restart was rolled out, the same wedged pods are there.
    const after = await clients.apps.readNamespacedDeployment({ name: 'held', namespace });
    expect(after.metadata?.generation).toBe(before.metadata?.generation);
    expect((await podsOf(clients, namespace, 'held')).map((p) => p.metadata?.name).sort()).toEqual(pods);
    await expect(operator.approvals.approve(requestId, 'dave@example.com')).rejects.toMatchObject({
      code: 'remediation.already_failed',
    });
  });
});
