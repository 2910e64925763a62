import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ActionSpec, ResourceRef } from '../../domain/events/common.schema.ts';
import type { ApprovalVerdict } from '../../domain/remediation/approval.policy.ts';
import {
  createNamespace,
  deleteNamespace,
  deployment,
  eventually,
  isReady,
  type KubeClients,
  kubeClients,
  podsOf,
} from '../../test/support/kube.ts';
import { type ActionClients, createActionClients } from './action.ts';
import { PatchAs } from './patchOptions.ts';
import { defaultRemediationPolicy, evaluatePlan, observePlanFacts, PolicyCode, sloApproval } from './policy.ts';
import { observeSloFacts } from './sloFacts.ts';

/*
 * The SLO guard against a real API server: an SLO object names the Deployment, its status (written here as the SLO
 * evaluator writes it) says the budget is spent, and the plan is judged the way the executor judges it.
 */
const group = 'aiops.cairn.dev';
const version = 'v1alpha1';
const plural = 'servicelevelobjectives';

let kube: KubeClients;
let clients: ActionClients;
let namespace: string;
const web = (): ResourceRef => ({ kind: 'Deployment', name: 'web', namespace });
let seq = 0;
const act = (type: string, params: Record<string, string> = {}): ActionSpec => ({
  actionId: `g${++seq}`,
  type,
  params,
});

const writeStatus = (name: string, status: Record<string, unknown>) =>
  kube.custom.patchNamespacedCustomObjectStatus(
    { group, version, plural, namespace, name, body: { status } },
    PatchAs.merge,
  );

beforeAll(async () => {
  kube = kubeClients();
  clients = createActionClients(kube.config);
  namespace = await createNamespace(kube, 'sloguard');
  await kube.apps.createNamespacedDeployment({ namespace, body: deployment('web', { replicas: 2 }) });
  await eventually(
    '2 ready pods of web',
    async () => (await podsOf(kube, namespace, 'web')).filter(isReady).length === 2,
    180_000,
  );
  for (const [name, workload] of [
    ['web-availability', { kind: 'Deployment', name: 'web' }],
    ['api-availability', { kind: 'Deployment', name: 'api' }],
  ] as const) {
    await kube.custom.createNamespacedCustomObject({
      group,
      version,
      namespace,
      plural,
      body: {
        apiVersion: `${group}/${version}`,
        kind: 'ServiceLevelObjective',
        metadata: { name },
        spec: {
          service: workload.name,
          workload,
          indicator: { type: 'availability', good: 'sum(up[$window])', total: 'count(up[$window])' },
          target: 99,
          window: '1h',
        },
      },
    });
  }
  await writeStatus('api-availability', { errorBudgetRemaining: -3 });
}, 240_000);
afterAll(() => deleteNamespace(kube, namespace));

async function judge(policy: ReturnType<typeof defaultRemediationPolicy>, actions: ActionSpec[]) {
  const facts = await observePlanFacts(clients, web(), actions, undefined, policy);
  return evaluatePlan(actions, web(), policy, facts, { approved: false });
}

describe('the SLO guard on a real API server', () => {
  it('runs every action while the SLO of the workload has budget left', async () => {
    await writeStatus('web-availability', { errorBudgetRemaining: 0.6, firing: [] });
    const result = await judge(defaultRemediationPolicy({ sloGuard: 'refuse' }), [
      act('ScaleDeployment', { replicas: '3' }),
      act('DeletePod'),
    ]);
    expect(result.refused).toEqual([]);
  });

  it('refuses a destructive action once the budget is spent, with the SLO and its numbers, and scales up still', async () => {
    await writeStatus('web-availability', {
      errorBudgetRemaining: -0.25,
      firing: [{ name: 'page-1h', severity: 'critical', since: '2026-12-07T10:00:00Z' }],
    });
    const result = await judge(defaultRemediationPolicy({ sloGuard: 'refuse' }), [
      act('ScaleDeployment', { replicas: '3' }),
      act('DeletePod'),
    ]);
    expect(result.allowed.map((a) => a.type)).toEqual(['ScaleDeployment']);
    expect(result.refused.map((r) => [r.action.type, r.code])).toEqual([['DeletePod', PolicyCode.SloBudget]]);
    expect(result.refused[0]!.reason).toContain(`SLO ${namespace}/web-availability`);
    expect(result.refused[0]!.reason).toContain('error budget remaining -25% (exhausted)');
    expect(result.refused[0]!.reason).toContain('burn alert page-1h firing (page)');
    // The other SLO of the namespace names another workload: it is not in the reason.
    expect(result.refused[0]!.reason).not.toContain('api-availability');
  });

  it('in approve mode asks one person for the destructive plan, with the SLO named', async () => {
    await writeStatus('web-availability', { errorBudgetRemaining: -0.25, firing: [] });
    const policy = defaultRemediationPolicy({ sloGuard: 'approve' });
    const none: ApprovalVerdict = { required: false, requiredApprovals: 0, timeoutSeconds: 3600 };
    const verdict = sloApproval(policy, [act('DeletePod')], await observeSloFacts(clients, web()), none);
    expect(verdict).toMatchObject({ required: true, requiredApprovals: 1 });
    expect(verdict.rule).toContain(`SLO ${namespace}/web-availability: error budget remaining -25% (exhausted)`);
    const unapproved = await judge(policy, [act('DeletePod')]);
    expect(unapproved.refused.map((r) => r.code)).toEqual([PolicyCode.NeedsApproval]);
  });
});
