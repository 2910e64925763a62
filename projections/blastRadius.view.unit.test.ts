import { Value } from '@sinclair/typebox/value';
import { describe, expect, it } from 'vitest';
import { IssueStatus } from '../domain/events/issue.events.ts';
import type { PlanBlastRadius } from '../domain/events/remediation.events.ts';
import { initialIssueState } from '../domain/issue/issue.decider.ts';
import { AIInsightStatusSchema } from '../src/adapters/kubernetes/api/aiInsight.kind.ts';
import { RemediationPlanStatusSchema } from '../src/adapters/kubernetes/api/remediationPlan.kind.ts';
import { approvalRequestResource } from './approvalRequest.projection.ts';
import { blastRadiusDescription, blastRadiusStatus, blastRadiusSummary } from './blastRadius.view.ts';
import { insightResource, planResource } from './kubernetesResources.projection.ts';

const target = { kind: 'Deployment', name: 'web', namespace: 'shop' };
const radius: PlanBlastRadius = {
  actions: [
    {
      actionId: '1-restartdeployment',
      type: 'RestartDeployment',
      pods: 1,
      pdbViolations: [{ namespace: 'shop', name: 'web-pdb', disruptionsAllowed: 0, podsTaken: 1 }],
      servicesEmptied: [{ namespace: 'shop', name: 'web', readyEndpoints: 1 }],
      quotaOverflows: [],
    },
    {
      actionId: '2-scaledeployment',
      type: 'ScaleDeployment',
      pods: 0,
      replicas: { before: 1, after: 4 },
      pdbViolations: [],
      servicesEmptied: [],
      quotaOverflows: [
        {
          namespace: 'shop',
          name: 'compute',
          resource: 'requests.memory',
          used: 2 ** 30,
          added: 3 * 2 ** 27,
          hard: 2 ** 30,
        },
        { namespace: 'shop', name: 'compute', resource: 'limits.cpu', used: 1.5, added: 0.75, hard: 2 },
      ],
    },
  ],
  dependants: [
    { kind: 'Deployment', name: 'checkout', namespace: 'shop' },
    { kind: 'Deployment', name: 'search', namespace: 'shop' },
  ],
};

describe('the blast radius as people read it', () => {
  it('sums the plan into one sentence', () => {
    expect(blastRadiusSummary(radius)).toBe(
      '1 pod affected, 1 PodDisruptionBudget violated, 1 Service emptied, 2 quotas exceeded, 2 dependants',
    );
    expect(blastRadiusSummary({ actions: [], dependants: [] })).toBe(
      '0 pods affected, 0 PodDisruptionBudgets violated, 0 Services emptied, 0 quotas exceeded, 0 dependants',
    );
  });

  it('on the RemediationPlan: totals, and per action the findings in words, within the CRD schema', () => {
    const status = blastRadiusStatus(radius);
    expect(status).toMatchObject({ pods: 1, pdbViolations: 1, servicesEmptied: 1, quotaOverflows: 2, dependants: 2 });
    expect(status.actions[0]).toEqual({
      actionId: '1-restartdeployment',
      type: 'RestartDeployment',
      pods: 1,
      pdbViolations: ['shop/web-pdb: takes 1 healthy pod(s), allows 0'],
      servicesEmptied: ['shop/web: all 1 ready endpoint(s) gone'],
    });
    expect(status.actions[1]).toEqual({
      actionId: '2-scaledeployment',
      type: 'ScaleDeployment',
      pods: 0,
      replicas: { before: 1, after: 4 },
      quotaOverflows: [
        'shop/compute requests.memory: 1024Mi used + 384Mi > 1024Mi',
        'shop/compute limits.cpu: 1.5 used + 750m > 2',
      ],
    });
    expect(status.dependantRefs).toEqual(radius.dependants);
  });

  it('in the ApprovalRequest: the numbers, then each finding and the dependants', () => {
    expect(blastRadiusDescription(radius)).toBe(
      '1 pod affected, 1 PodDisruptionBudget violated, 1 Service emptied, 2 quotas exceeded, 2 dependants; ' +
        'RestartDeployment violates PodDisruptionBudget shop/web-pdb: takes 1 healthy pod(s), allows 0; ' +
        'RestartDeployment empties Service shop/web: all 1 ready endpoint(s) gone; ' +
        'ScaleDeployment exceeds ResourceQuota shop/compute requests.memory: 1024Mi used + 384Mi > 1024Mi; ' +
        'ScaleDeployment exceeds ResourceQuota shop/compute limits.cpu: 1.5 used + 750m > 2; ' +
        'dependants: Deployment shop/checkout, Deployment shop/search',
    );
  });
});

const at = (s: number) => new Date(Date.UTC(2026, 11, 7, 10, 0, s)).toISOString();
const created = {
  type: 'RemediationPlanCreated',
  data: {
    remediationId: 'ins-1-plan',
    issueId: 'iss-1',
    attempt: 1,
    source: 'ai-runbook',
    target,
    actions: [
      { actionId: '1-restartdeployment', type: 'RestartDeployment', params: {} },
      { actionId: '2-scaledeployment', type: 'ScaleDeployment', params: { replicas: '4' } },
    ],
    doNotRepeat: [],
    approval: { required: true, requiredApprovals: 1, timeoutSeconds: 600 },
    verificationTimeoutSeconds: 90,
    blastRadius: radius,
  },
  metadata: { occurredAt: at(0), actor: 'system:pipeline' },
};
const owner = { name: 'web-iss-1', uid: 'u-1' };

describe('the objects that show a plan’s blast radius', () => {
  it('the RemediationPlan status carries it; a plan recorded without one shows none', () => {
    const plan = planResource([created], 'Created', owner, 'cairn')!;
    expect(plan.status.blastRadius?.summary).toBe(blastRadiusSummary(radius));
    expect(Value.Check(RemediationPlanStatusSchema, plan.status)).toBe(true);
    const { blastRadius: _, ...older } = created.data;
    const before = planResource([{ ...created, data: older }], 'Created', owner, 'cairn')!;
    expect(before.status.blastRadius).toBeUndefined();
  });

  it('the AIInsight status sums the plan made from it and names that plan', () => {
    const state = {
      ...initialIssueState(),
      status: IssueStatus.Remediating,
      issueId: 'iss-1',
      workload: target,
      signal: 'oom_kill',
      signals: ['oom_kill'],
    };
    const round = {
      insightId: 'ins-1',
      attempt: 1,
      requestedAt: at(0),
      previousFailures: [],
      outcome: {
        kind: 'completed' as const,
        at: at(1),
        analysis: 'out of memory',
        confidence: 0.8,
        recommendations: [],
        suggestedActions: [],
        provider: 'rules',
        model: 'rules-v1',
      },
    };
    const { status } = insightResource(state, round as never, owner, 'cairn', { attempt: 1, blastRadius: radius });
    const shown = (status as { blastRadius?: Record<string, unknown> }).blastRadius;
    expect(shown).toEqual({
      planRef: { name: planResource([created], 'Created', owner, 'cairn')!.doc.metadata.name },
      summary: blastRadiusSummary(radius),
      pods: 1,
      pdbViolations: 1,
      servicesEmptied: 1,
      quotaOverflows: 2,
      dependants: 2,
    });
    expect(Value.Check(AIInsightStatusSchema, status)).toBe(true);
    const without = insightResource(state, round as never, owner, 'cairn');
    expect((without.status as { blastRadius?: unknown }).blastRadius).toBeUndefined();
  });

  it('the ApprovalRequest says the real numbers', () => {
    const requested = {
      type: 'ApprovalRequested',
      data: { requestId: 'ins-1-plan-approval', requiredApprovals: 1, expiresAt: at(600) },
      metadata: { occurredAt: at(1), actor: 'system:executor' },
    };
    const request = approvalRequestResource([created, requested], owner, 'cairn', () => false)!;
    expect(request.doc.spec.blastRadius.description).toBe(
      `2 action(s) on Deployment shop/web; ${blastRadiusDescription(radius)}`,
    );
  });
});
