import { Value } from '@sinclair/typebox/value';
import { describe, expect, it } from 'vitest';
import type { ActionSpec } from '../../domain/events/common.schema.ts';
import { PlanBlastRadius } from '../../domain/events/remediation.events.ts';
import { type ActionBlastRadius, blastRadiusKey, DisruptionGuard } from './blastRadius.ts';
import { blastRadiusApproval, recordedBlastRadius } from './planBlastRadius.ts';
import { defaultRemediationPolicy, evaluatePlan, PolicyCode, PolicyDefaults } from './policy.ts';

const target = { kind: 'Deployment', name: 'web', namespace: 'shop' };
const restart: ActionSpec = { actionId: '1-restartdeployment', type: 'RestartDeployment', params: {} };
const cordon: ActionSpec = { actionId: '2-cordonnode', type: 'CordonNode', params: { node: 'n1' } };

const harmful: ActionBlastRadius = {
  pods: ['shop/web-1'],
  rollout: { podsDownAtOnce: 1, surgePods: 0 },
  pdbViolations: [
    { namespace: 'shop', name: 'web-pdb', disruptionsAllowed: 0, podsTaken: 1, currentHealthy: 1, desiredHealthy: 1 },
  ],
  servicesEmptied: [{ namespace: 'shop', name: 'web', readyEndpoints: 1 }],
  quotaOverflows: [],
};
const dependants = (n: number) =>
  Array.from({ length: n }, (_, i) => ({ kind: 'Deployment', name: `caller-${i}`, namespace: 'shop' }));

describe('recordedBlastRadius', () => {
  it('records each assessed action by id with its counts, and the dependants', () => {
    const radius = recordedBlastRadius([restart, cordon], { [blastRadiusKey(restart)]: harmful }, dependants(2));
    expect(radius).toEqual({
      actions: [
        {
          actionId: '1-restartdeployment',
          type: 'RestartDeployment',
          pods: 1,
          pdbViolations: [{ namespace: 'shop', name: 'web-pdb', disruptionsAllowed: 0, podsTaken: 1 }],
          servicesEmptied: [{ namespace: 'shop', name: 'web', readyEndpoints: 1 }],
          quotaOverflows: [],
        },
      ],
      dependants: dependants(2),
    });
  });

  it('records no quota overflow it could not write as a number', () => {
    const absurd: ActionBlastRadius = {
      ...harmful,
      quotaOverflows: [
        { namespace: 'shop', name: 'q', resource: 'pods', used: Number.POSITIVE_INFINITY, added: 1, hard: 5 },
        { namespace: 'shop', name: 'q', resource: 'limits.cpu', used: 1, added: 4, hard: 2 },
      ],
    };
    const radius = recordedBlastRadius([restart], { [blastRadiusKey(restart)]: absurd }, []);
    expect(radius.actions[0]?.quotaOverflows.map((q) => q.resource)).toEqual(['limits.cpu']);
    expect(Value.Check(PlanBlastRadius, radius)).toBe(true);
  });

  it('keeps within the event bounds', () => {
    const many: ActionBlastRadius = {
      ...harmful,
      servicesEmptied: Array.from({ length: 40 }, (_, i) => ({ namespace: 'shop', name: `s${i}`, readyEndpoints: 1 })),
    };
    const radius = recordedBlastRadius([restart], { [blastRadiusKey(restart)]: many }, dependants(70));
    expect(radius.actions[0]?.servicesEmptied).toHaveLength(32);
    expect(radius.dependants).toHaveLength(64);
  });
});

describe('the blast radius limits', () => {
  const radius = (n: number) => recordedBlastRadius([restart], { [blastRadiusKey(restart)]: harmful }, dependants(n));

  it('asks for approval above --max-dependants, and not at it', () => {
    const policy = defaultRemediationPolicy({ maxDependants: 3, disruptionGuard: DisruptionGuard.Refuse });
    expect(blastRadiusApproval(policy, target, radius(3))).toEqual([]);
    expect(blastRadiusApproval(policy, target, radius(4))).toEqual([
      '4 workload(s) depend on Deployment shop/web, above the limit of 3 (--max-dependants)',
    ]);
    expect(defaultRemediationPolicy().maxDependants).toBe(PolicyDefaults.maxDependants);
  });

  it('with --disruption-guard approve a budget violated or a Service emptied makes the plan wait, not refused', () => {
    const policy = defaultRemediationPolicy({ disruptionGuard: DisruptionGuard.Approve });
    expect(blastRadiusApproval(policy, target, radius(0))).toEqual([
      'the plan would violate 1 PodDisruptionBudget(s) and leave 1 Service(s) with no ready endpoint (--disruption-guard approve)',
    ]);
    const facts = { replicas: 1, blastRadius: { [blastRadiusKey(restart)]: harmful } };
    const screened = evaluatePlan([restart], target, policy, facts);
    expect(screened.allowed).toEqual([restart]);
    expect(screened.needsApproval[0]?.reason).toContain('PodDisruptionBudget shop/web-pdb');
    expect(evaluatePlan([restart], target, policy, facts, { approved: true }).allowed).toEqual([restart]);
    const unapproved = evaluatePlan([restart], target, policy, facts, { approved: false });
    expect(unapproved.refused.map((r) => r.code)).toEqual([PolicyCode.Disruption]);
    expect(unapproved.refused[0]?.reason).toContain('it runs only in a plan people approved');
  });

  it('with the default guard (refuse) the same restart is refused and asks nobody', () => {
    const policy = defaultRemediationPolicy();
    expect(blastRadiusApproval(policy, target, radius(0))).toEqual([]);
    const verdict = evaluatePlan([restart], target, policy, {
      replicas: 1,
      blastRadius: { [blastRadiusKey(restart)]: harmful },
    });
    expect(verdict.refused[0]?.code).toBe(PolicyCode.Disruption);
    expect(verdict.refused[0]?.reason).toContain('RestartDeployment (a rolling restart of 1 pod(s), 1 down at once)');
  });
});
