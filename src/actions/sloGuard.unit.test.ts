import { describe, expect, it } from 'vitest';
import type { ActionSpec, ResourceRef } from '../../domain/events/common.schema.ts';
import type { ApprovalVerdict } from '../../domain/remediation/approval.policy.ts';
import type { ServiceLevelObjectiveResource } from '../adapters/kubernetes/api/serviceLevelObjective.kind.ts';
import { describePolicy, PolicyConfigError, parseSloGuard } from '../policy/policyConfig.ts';
import { defaultRemediationPolicy, evaluatePlan, PolicyCode, sloApproval } from './policy.ts';
import { sloFactsFor } from './sloFacts.ts';
import { type SloFact, sloGuardReason } from './sloGuard.ts';

const web: ResourceRef = { kind: 'Deployment', name: 'web', namespace: 'shop' };
let seq = 0;
const action = (type: string, params: Record<string, string> = {}): ActionSpec => ({
  actionId: `s${++seq}`,
  type,
  params,
});
const history = {
  current: 2,
  entries: [
    { revision: 2, ready: false },
    { revision: 1, ready: true },
  ],
};
const exhausted: SloFact = { namespace: 'shop', name: 'web-availability', budgetRemaining: -0.125, pageAlerts: [] };
const fastBurn: SloFact = { namespace: 'shop', name: 'web-latency', budgetRemaining: 0.4, pageAlerts: ['page-1h'] };
const healthy: SloFact = { namespace: 'shop', name: 'web-errors', budgetRemaining: 0.8, pageAlerts: [] };
const factsWith = (slos: readonly SloFact[]) => ({
  replicas: 4,
  envelope: { hpas: {}, replicas: 4, revisions: history },
  slos,
});
const plan = () => [action('RollbackDeployment'), action('ScaleDeployment', { replicas: '6' }), action('DeletePod')];
const notRequired: ApprovalVerdict = { required: false, requiredApprovals: 0, timeoutSeconds: 3600 };

describe('the SLO guard in evaluatePlan', () => {
  it('refuses a destructive action on a workload whose budget is exhausted, naming the SLO and its numbers', () => {
    const policy = defaultRemediationPolicy({ sloGuard: 'refuse' });
    const result = evaluatePlan(plan(), web, policy, factsWith([exhausted]), { approved: true });
    expect(result.allowed.map((a) => a.type)).toEqual(['RollbackDeployment', 'ScaleDeployment']);
    expect(result.refused).toHaveLength(1);
    expect(result.refused[0]).toMatchObject({ code: PolicyCode.SloBudget, action: { type: 'DeletePod' } });
    expect(result.refused[0]!.reason).toContain('SLO shop/web-availability');
    expect(result.refused[0]!.reason).toContain('error budget remaining -12.5% (exhausted)');
  });

  it('refuses under a page-urgency burn even with budget left, and names the burn alert', () => {
    const policy = defaultRemediationPolicy({ sloGuard: 'refuse' });
    const result = evaluatePlan([action('DeletePod')], web, policy, factsWith([fastBurn]));
    expect(result.refused.map((r) => r.code)).toEqual([PolicyCode.SloBudget]);
    expect(result.refused[0]!.reason).toContain('burn alert page-1h firing (page)');
    expect(result.refused[0]!.reason).toContain('error budget remaining 40%');
  });

  it('leaves a plan alone when every SLO of the workload is healthy, or when the guard is off', () => {
    const refuse = defaultRemediationPolicy({ sloGuard: 'refuse' });
    expect(evaluatePlan(plan(), web, refuse, factsWith([healthy])).refused).toEqual([]);
    const off = defaultRemediationPolicy();
    expect(off.sloGuard).toBe('off');
    expect(evaluatePlan(plan(), web, off, factsWith([exhausted, fastBurn])).refused).toEqual([]);
  });

  it('in approve mode lists the destructive action as needing approval while screening', () => {
    const policy = defaultRemediationPolicy({ sloGuard: 'approve' });
    const result = evaluatePlan(plan(), web, policy, factsWith([exhausted]));
    expect(result.refused).toEqual([]);
    expect(result.allowed).toHaveLength(3);
    expect(result.needsApproval.map((n) => n.action.type)).toEqual(['DeletePod']);
    expect(result.needsApproval[0]!.reason).toContain('SLO shop/web-availability');
  });

  it('in approve mode refuses the destructive action of an unapproved plan and runs it in an approved one', () => {
    const policy = defaultRemediationPolicy({ sloGuard: 'approve' });
    const unapproved = evaluatePlan(plan(), web, policy, factsWith([fastBurn]), { approved: false });
    expect(unapproved.refused.map((r) => [r.action.type, r.code])).toEqual([['DeletePod', PolicyCode.NeedsApproval]]);
    expect(unapproved.allowed.map((a) => a.type)).toEqual(['RollbackDeployment', 'ScaleDeployment']);
    const approved = evaluatePlan(plan(), web, policy, factsWith([fastBurn]), { approved: true });
    expect(approved.refused).toEqual([]);
  });
});

describe('sloApproval', () => {
  const actions = [{ type: 'RollbackDeployment' }, { type: 'DeletePod' }];

  it('asks one person for a destructive plan on a workload out of budget, with the SLO named', () => {
    const policy = defaultRemediationPolicy({ sloGuard: 'approve' });
    const verdict = sloApproval(policy, actions, [exhausted], notRequired);
    expect(verdict).toMatchObject({ required: true, requiredApprovals: 1 });
    expect(verdict.rule).toContain('DeletePod');
    expect(verdict.rule).toContain('SLO shop/web-availability: error budget remaining -12.5% (exhausted)');
  });

  it('asks nothing for a rollback-only plan, a healthy SLO, or another guard mode', () => {
    const approve = defaultRemediationPolicy({ sloGuard: 'approve' });
    expect(sloApproval(approve, [{ type: 'RollbackDeployment' }], [exhausted], notRequired)).toBe(notRequired);
    expect(sloApproval(approve, actions, [healthy], notRequired)).toBe(notRequired);
    expect(sloApproval(defaultRemediationPolicy({ sloGuard: 'refuse' }), actions, [exhausted], notRequired)).toBe(
      notRequired,
    );
  });

  it('never lowers what a rule already requires', () => {
    const two: ApprovalVerdict = { required: true, requiredApprovals: 2, timeoutSeconds: 3600, rule: 'prod needs two' };
    expect(sloApproval(defaultRemediationPolicy({ sloGuard: 'approve' }), actions, [exhausted], two)).toBe(two);
  });
});

describe('SLO facts', () => {
  const slo = (
    name: string,
    spec: Partial<ServiceLevelObjectiveResource['spec']>,
    status: ServiceLevelObjectiveResource['status'],
  ) =>
    ({
      apiVersion: 'aiops.cairn.dev/v1alpha1',
      kind: 'ServiceLevelObjective',
      metadata: { name, namespace: 'shop' },
      spec: { service: 'web', target: 99.9, indicator: { good: 'g', total: 't' }, ...spec },
      status,
    }) as unknown as ServiceLevelObjectiveResource;

  it('keeps the SLOs naming the target, their budget and their page-urgency alerts only', () => {
    const facts = sloFactsFor(
      [
        slo(
          'web-availability',
          { workload: { kind: 'Deployment', name: 'web', namespace: 'shop' } },
          {
            errorBudgetRemaining: 0.3,
            firing: [
              { name: 'fast', severity: 'critical', since: '2026-12-07T10:00:00Z' },
              { name: 'slow', severity: 'medium', since: '2026-12-07T09:00:00Z' },
            ],
          },
        ),
        slo(
          'other',
          { workload: { kind: 'Deployment', name: 'api', namespace: 'shop' } },
          { errorBudgetRemaining: -1 },
        ),
        slo(
          'off',
          { workload: { kind: 'Deployment', name: 'web', namespace: 'shop' }, enabled: false },
          { errorBudgetRemaining: -1 },
        ),
        slo('none', {}, { errorBudgetRemaining: -1 }),
      ],
      web,
    );
    expect(facts).toEqual([
      { namespace: 'shop', name: 'web-availability', budgetRemaining: 0.3, pageAlerts: ['fast'] },
    ]);
    expect(sloGuardReason(facts)).toBe(
      'SLO shop/web-availability: error budget remaining 30%, burn alert fast firing (page)',
    );
  });

  it('treats an SLO not evaluated yet as no reason to guard', () => {
    const facts = sloFactsFor(
      [slo('new', { workload: { kind: 'Deployment', name: 'web', namespace: 'shop' } }, undefined)],
      web,
    );
    expect(facts).toEqual([{ namespace: 'shop', name: 'new', pageAlerts: [] }]);
    expect(sloGuardReason(facts)).toBeUndefined();
  });
});

describe('--slo-guard', () => {
  it('takes off, approve or refuse and names the flag on anything else', () => {
    expect(parseSloGuard('refuse')).toBe('refuse');
    expect(parseSloGuard(' approve ')).toBe('approve');
    expect(() => parseSloGuard('block')).toThrow(PolicyConfigError);
    expect(() => parseSloGuard('block')).toThrow('--slo-guard: "block" is not one of off, approve, refuse');
  });

  it('is shown in the policy line', () => {
    expect(describePolicy(defaultRemediationPolicy({ sloGuard: 'approve' }))).toContain('SLO guard approve');
  });
});
