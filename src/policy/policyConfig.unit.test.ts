import { describe, expect, it } from 'vitest';
import type { ActionSpec, ResourceRef } from '../../domain/events/common.schema.ts';
import { approvalFor } from '../../domain/remediation/approval.policy.ts';
import {
  approvalUnderPolicy,
  defaultApproval,
  defaultRemediationPolicy,
  evaluatePlan,
  modeFor,
  observeOnly,
  PolicyCode,
} from '../actions/policy.ts';
import {
  checkPolicyConsistency,
  describePolicy,
  parseActionList,
  parseCount,
  parseDefaultApproval,
  parseNamespaceList,
  parseNamespaceModes,
  parseRemediationMode,
  parseReplicaShare,
} from './policyConfig.ts';

const web = (namespace: string): ResourceRef => ({ kind: 'Deployment', name: 'web', namespace });
const node: ResourceRef = { kind: 'Node', name: 'n1', namespace: '' };
let seq = 0;
const act = (type: string, params: Record<string, string> = {}): ActionSpec => ({
  actionId: `a${++seq}`,
  type,
  params,
});
const facts = { replicas: 4, envelope: { hpas: {}, replicas: 4 } };
const codes = (r: ReturnType<typeof evaluatePlan>) => r.refused.map((x) => x.code);

describe('namespace modes', () => {
  const policy = defaultRemediationPolicy({ mode: 'auto', namespaceModes: { prod: 'approve', lab: 'observe' } });

  it('takes the namespace its own mode, and the default elsewhere and for cluster-scoped objects', () => {
    expect(modeFor(policy, 'prod')).toBe('approve');
    expect(modeFor(policy, 'lab')).toBe('observe');
    expect(modeFor(policy, 'shop')).toBe('auto');
    expect(modeFor(defaultRemediationPolicy({ mode: 'observe', namespaceModes: { dev: 'auto' } }), '')).toBe('observe');
    // An inherited property name is not a namespace with a mode.
    expect(modeFor(policy, 'constructor')).toBe('auto');
  });

  it('observe refuses every action of a plan with its own code, whatever else the action is', () => {
    const result = evaluatePlan([act('RestartDeployment'), act('Custom')], web('lab'), policy, facts);
    expect(result.allowed).toEqual([]);
    expect(codes(result)).toEqual([PolicyCode.ObserveMode, PolicyCode.ObserveMode]);
    expect(result.refused[0]?.reason).toMatch(/namespace lab is in observe mode/);
    expect(observeOnly(policy, web('lab'))).toMatch(/never acts there/);
    expect(observeOnly(policy, web('prod'))).toBeUndefined();
  });

  it('approve lets an approved plan run and refuses one that runs without approval', () => {
    const plan = [act('RestartDeployment')];
    expect(evaluatePlan(plan, web('prod'), policy, facts, { approved: true }).allowed).toEqual(plan);
    const unapproved = evaluatePlan(plan, web('prod'), policy, facts, { approved: false });
    expect(codes(unapproved)).toEqual([PolicyCode.NeedsApproval]);
    expect(unapproved.refused[0]?.reason).toMatch(/prod is in approve mode/);
    expect(evaluatePlan(plan, web('shop'), policy, facts, { approved: false }).allowed).toEqual(plan);
  });
});

describe('where the operator policy meets the approval rules', () => {
  const subject = (namespace: string) => ({
    severity: 'high' as const,
    riskScore: 60,
    namespace,
    kind: 'Deployment',
    source: 'ai-runbook' as const,
    actionTypes: ['RestartDeployment'],
    destructive: false,
    confidence: 0.95,
  });
  const autoRule = [
    {
      name: 'confident',
      mode: 'auto' as const,
      autoApprove: { minConfidence: 0.9, maxSeverity: 'critical' as const },
    },
  ];

  it('approve mode asks for people even where a rule would approve the plan itself', () => {
    const policy = defaultRemediationPolicy({ namespaceModes: { prod: 'approve' } });
    expect(approvalFor(autoRule, subject('prod')).required).toBe(false);
    const verdict = approvalUnderPolicy(policy, 'prod', approvalFor(autoRule, subject('prod')));
    expect(verdict).toMatchObject({ required: true, requiredApprovals: 1 });
    expect(verdict.rule).toMatch(/approve mode/);
    expect(approvalUnderPolicy(policy, 'shop', approvalFor(autoRule, subject('shop'))).required).toBe(false);
  });

  it('keeps a quorum a rule asked for', () => {
    const quorum = [{ name: 'two', mode: 'quorum' as const, requiredApprovers: 2 }];
    const policy = defaultRemediationPolicy({ mode: 'approve' });
    expect(approvalUnderPolicy(policy, 'x', approvalFor(quorum, subject('x')))).toMatchObject({
      required: true,
      requiredApprovals: 2,
      rule: 'two',
    });
  });

  it('the default approval is what a plan no rule matched needs', () => {
    const single = defaultRemediationPolicy({ defaultApproval: 'single' });
    const none = approvalUnderPolicy(single, 'shop', approvalFor([], subject('shop')));
    expect(none.required).toBe(false);
    expect(defaultApproval(single, none)).toMatchObject({
      required: true,
      requiredApprovals: 1,
      rule: 'the default approval: one person, as no rule matched',
    });
    // Nothing to add where the plan already waits, nor where the default is auto.
    const approve = defaultRemediationPolicy({ defaultApproval: 'single', mode: 'approve' });
    expect(defaultApproval(approve, approvalUnderPolicy(approve, 'shop', none))).toBeUndefined();
    expect(defaultApproval(defaultRemediationPolicy(), none)).toBeUndefined();
    // A rule that lets the plan through is a match: approvalUnderPolicy leaves it alone.
    expect(approvalUnderPolicy(single, 'shop', approvalFor(autoRule, subject('shop'))).required).toBe(false);
  });
});

describe('deny list and replica share', () => {
  it('refuses a denied action with its own code even when the allowlist names it', () => {
    const policy = defaultRemediationPolicy({ deniedActions: ['DeletePod'] });
    const result = evaluatePlan([act('DeletePod'), act('RestartDeployment')], web('shop'), policy, facts);
    expect(codes(result)).toEqual([PolicyCode.Denied]);
    expect(result.refused[0]?.reason).toBe("DeletePod is on the policy's deny list");
    expect(result.allowed.map((a) => a.type)).toEqual(['RestartDeployment']);
  });

  it('refuses an action that takes down more than the allowed share of replicas', () => {
    const policy = defaultRemediationPolicy({ maxReplicaShare: 0.5 });
    const result = evaluatePlan(
      [act('RestartDeployment'), act('ScaleDeployment', { replicas: '2' }), act('DeletePod')],
      web('shop'),
      policy,
      facts,
    );
    // Restart replaces 4 of 4 (100%); scaling 4 → 2 removes 2 (50%); one pod is 25%.
    expect(codes(result)).toEqual([PolicyCode.BlastRadiusShare]);
    expect(result.refused[0]?.reason).toMatch(/4 of 4 replicas \(100%\), above the limit of 50%/);
    expect(result.allowed.map((a) => a.type)).toEqual(['ScaleDeployment', 'DeletePod']);
  });

  it('bounds nothing beyond the pod count by default, and never judges a node drain by the share', () => {
    expect(evaluatePlan([act('RestartDeployment')], web('shop'), defaultRemediationPolicy(), facts).refused).toEqual(
      [],
    );
    const drain = evaluatePlan(
      [act('DrainNode')],
      node,
      defaultRemediationPolicy({ maxReplicaShare: 0.1, autonomousNodeActions: true }),
      { replicas: 1, evictablePodsByNode: { n1: ['shop', 'shop'] } },
      { approved: true },
    );
    expect(codes(drain)).not.toContain(PolicyCode.BlastRadiusShare);
  });

  it('a configured protected namespace is refused like the system ones', () => {
    const policy = defaultRemediationPolicy({ extraProtectedNamespaces: ['payments'] });
    const result = evaluatePlan([act('RestartDeployment')], web('payments'), policy, facts);
    expect(codes(result)).toEqual([PolicyCode.ProtectedNamespace]);
  });

  it('a limit of one destructive action per plan, or none', () => {
    const none = defaultRemediationPolicy({ maxDestructivePerPlan: 0 });
    expect(codes(evaluatePlan([act('DeletePod')], web('shop'), none, facts))).toEqual([PolicyCode.TooManyDestructive]);
  });
});

describe('parsing the policy flags', () => {
  it('namespace modes: pairs, repeatable, with clear errors', () => {
    expect(parseNamespaceModes('prod=approve, dev=auto')).toEqual({ prod: 'approve', dev: 'auto' });
    expect(parseNamespaceModes('lab=observe', { prod: 'approve' })).toEqual({ prod: 'approve', lab: 'observe' });
    expect(() => parseNamespaceModes('prod')).toThrow('"prod" is not namespace=mode (e.g. prod=approve,dev=auto)');
    expect(() => parseNamespaceModes('prod=fast')).toThrow('"fast" is not a mode; use one of observe, approve, auto');
    expect(() => parseNamespaceModes('Prod=auto')).toThrow('"Prod" is not a namespace name');
    expect(() => parseNamespaceModes('a=auto,b==x')).toThrow('"b==x" is not namespace=mode');
    expect(() => parseNamespaceModes('prod=auto,prod=observe')).toThrow(
      'namespace prod is given two modes (auto and observe)',
    );
    expect(() => parseNamespaceModes(' , ')).toThrow('takes namespace=mode pairs');
  });

  it('action lists name real action types', () => {
    expect(parseActionList('--deny-action')('DeletePod, RestartDeployment', ['DeletePod'])).toEqual([
      'DeletePod',
      'RestartDeployment',
    ]);
    expect(() => parseActionList('--deny-action')('DeletPod')).toThrow('--deny-action: unknown action type "DeletPod"');
    expect(() => parseActionList('--allow-action')('restartdeployment')).toThrow('did you mean RestartDeployment?');
  });

  it('shares, counts, modes, namespaces and the default approval', () => {
    expect(parseReplicaShare('0.5')).toBe(0.5);
    expect(parseReplicaShare('25%')).toBe(0.25);
    expect(parseReplicaShare('1')).toBe(1);
    for (const bad of ['0', '1.5', '150%', 'half', '-0.2', '']) {
      expect(() => parseReplicaShare(bad)).toThrow('--max-replica-share takes a share above 0 and at most 1');
    }
    expect(parseCount('--max-pods-affected', 0)('0')).toBe(0);
    expect(() => parseCount('--max-pods-affected', 0)('2.5')).toThrow('whole number of at least 0, not "2.5"');
    expect(parseRemediationMode('observe')).toBe('observe');
    expect(() => parseRemediationMode('manual')).toThrow('--remediation-mode: "manual" is not a mode');
    expect(parseNamespaceList('--protected-namespace')('payments,ledger', ['payments'])).toEqual([
      'payments',
      'ledger',
    ]);
    expect(() => parseNamespaceList('--protected-namespace')('pay_ments')).toThrow('"pay_ments" is not a namespace');
    expect(parseDefaultApproval('single')).toBe('single');
    expect(() => parseDefaultApproval('quorum')).toThrow('"quorum" is not one of auto, single');
  });

  it('refuses a policy that contradicts itself', () => {
    expect(() =>
      checkPolicyConsistency(
        defaultRemediationPolicy({ allowedActions: ['DeletePod'], deniedActions: ['DeletePod'] }),
        {
          allowedActions: ['DeletePod'],
        },
      ),
    ).toThrow('--allow-action and --deny-action both name DeletePod');
    expect(() =>
      checkPolicyConsistency(
        defaultRemediationPolicy({
          allowedActions: ['DeletePod', 'RestartDeployment'],
          deniedActions: ['DeletePod', 'RestartDeployment'],
        }),
      ),
    ).toThrow('refuses every allowed action');
  });

  it('describes the policy in one line for the start-up log and /readyz', () => {
    const text = describePolicy(
      defaultRemediationPolicy({
        mode: 'approve',
        namespaceModes: { lab: 'observe', dev: 'auto' },
        defaultApproval: 'single',
        extraProtectedNamespaces: ['payments'],
        deniedActions: ['DeletePod'],
        maxReplicaShare: 0.25,
      }),
    );
    expect(text).toContain('mode approve (namespaces: dev=auto, lab=observe)');
    expect(text).toContain('default approval single');
    expect(text).toContain('protected namespaces kube-system, kube-public, kube-node-lease, payments');
    expect(text).toContain('denied actions DeletePod');
    expect(text).toContain('at most 10 pods and 25% of replicas per action');
  });
});
