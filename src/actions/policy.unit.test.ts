import { describe, expect, it } from 'vitest';
import type { ActionSpec, ResourceRef } from '../../domain/events/common.schema.ts';
import { defaultRemediationPolicy, evaluatePlan, PolicyCode } from './policy.ts';
import { implementedActionTypes } from './registry.ts';

const web: ResourceRef = { kind: 'Deployment', name: 'web', namespace: 'shop' };
let seq = 0;
const action = (type: string, params: Record<string, string> = {}): ActionSpec => ({
  actionId: `a${++seq}`,
  type,
  params,
});
const policy = defaultRemediationPolicy();
const facts = { replicas: 4 };

const refusedCodes = (result: ReturnType<typeof evaluatePlan>) => result.refused.map((r) => r.code);

describe('the default policy', () => {
  it('allows every implemented action but Custom, protects the system namespaces, 1 destructive, 10 pods', () => {
    expect(policy.allowedActions).toEqual(implementedActionTypes.filter((t) => t !== 'Custom'));
    expect(policy.protectedNamespaces).toEqual(['kube-system', 'kube-public', 'kube-node-lease']);
    expect(policy.maxDestructivePerPlan).toBe(1);
    expect(policy.maxPodsAffected).toBe(10);
  });

  it('adds configured namespaces to the system ones rather than replacing them', () => {
    expect(defaultRemediationPolicy({ extraProtectedNamespaces: ['payments'] }).protectedNamespaces).toEqual([
      'kube-system',
      'kube-public',
      'kube-node-lease',
      'payments',
    ]);
  });
});

describe('evaluatePlan', () => {
  it('allows an ordinary plan whole', () => {
    const plan = [action('RollbackDeployment'), action('ScaleDeployment', { replicas: '6' }), action('DeletePod')];
    const result = evaluatePlan(plan, web, policy, facts);
    expect(result.allowed).toEqual(plan);
    expect(result.refused).toEqual([]);
  });

  it('refuses an action outside the allowlist, Custom included, whatever its params say', () => {
    const narrow = { ...policy, allowedActions: ['RestartDeployment'] };
    const result = evaluatePlan(
      [
        action('RestartDeployment'),
        action('ScaleDeployment', { replicas: '3', approved: 'true' }),
        action('Custom', { force: 'yes' }),
      ],
      web,
      narrow,
      facts,
    );
    expect(result.allowed.map((a) => a.type)).toEqual(['RestartDeployment']);
    expect(refusedCodes(result)).toEqual([PolicyCode.NotAllowed, PolicyCode.NotAllowed]);
    expect(result.refused[0]?.reason).toMatch(/ScaleDeployment is not in the policy's allowed actions/);

    // Even a policy that lists Custom cannot make it run: the action's own check refuses it.
    const permissive = { ...policy, allowedActions: [...policy.allowedActions, 'Custom'] };
    expect(refusedCodes(evaluatePlan([action('Custom')], web, permissive, facts))).toEqual(['action.unsafe']);
  });

  it('refuses every action on a protected namespace, configured ones too', () => {
    for (const namespace of ['kube-system', 'kube-public', 'kube-node-lease']) {
      const result = evaluatePlan([action('RestartDeployment')], { ...web, namespace }, policy, facts);
      expect(refusedCodes(result)).toEqual([PolicyCode.ProtectedNamespace]);
    }
    const withPayments = defaultRemediationPolicy({ extraProtectedNamespaces: ['payments'] });
    expect(
      refusedCodes(
        evaluatePlan([action('RollbackDeployment')], { ...web, namespace: 'payments' }, withPayments, facts),
      ),
    ).toEqual([PolicyCode.ProtectedNamespace]);
  });

  it('refuses a drain that would evict pods of a protected namespace', () => {
    const node: ResourceRef = { kind: 'Node', name: 'n1', namespace: '' };
    const result = evaluatePlan([action('DrainNode')], node, policy, {
      evictablePodsByNode: { n1: ['shop', 'kube-system'] },
    });
    expect(refusedCodes(result)).toEqual([PolicyCode.ProtectedNamespace]);
  });

  it('refuses an action whose blast radius is over the limit', () => {
    const big = { replicas: 25 };
    const result = evaluatePlan(
      [
        action('RestartDeployment'),
        action('ScaleDeployment', { replicas: '5' }),
        action('ScaleDeployment', { replicas: '20' }),
        action('ScaleDeployment', { replicas: '40' }),
        action('DeletePod'),
      ],
      web,
      policy,
      big,
    );
    expect(result.allowed.map((a) => `${a.type}${a.params.replicas ?? ''}`)).toEqual([
      'ScaleDeployment20',
      'ScaleDeployment40',
      'DeletePod',
    ]);
    expect(refusedCodes(result)).toEqual([PolicyCode.BlastRadius, PolicyCode.BlastRadius]);
    expect(result.refused[1]?.reason).toMatch(/scales 25 → 5: 20 pods, above the limit of 10/);

    const drain = evaluatePlan([action('DrainNode', { node: 'n1' })], web, policy, {
      replicas: 2,
      evictablePodsByNode: { n1: Array.from({ length: 11 }, () => 'shop') },
    });
    expect(refusedCodes(drain)).toEqual([PolicyCode.BlastRadius]);
  });

  it('refuses a pod-affecting action when the numbers to bound it are missing', () => {
    const result = evaluatePlan(
      [
        action('RestartDeployment'),
        action('DrainNode', { node: 'n1' }),
        action('PatchConfig', { configmap: 'c', key: 'k', value: 'v' }),
      ],
      web,
      policy,
    );
    expect(refusedCodes(result)).toEqual([PolicyCode.BlastRadiusUnknown, PolicyCode.BlastRadiusUnknown]);
    expect(result.allowed.map((a) => a.type)).toEqual(['PatchConfig']);
  });

  it('refuses a second destructive action; refused ones do not use up the budget', () => {
    const result = evaluatePlan(
      [
        action('DeletePod', { pod: 'Bad Name' }),
        action('DeletePod'),
        action('RestartDeployment'),
        action('DrainNode', { node: 'n1' }),
        action('RotateSecret', { secret: 's', key: 'k', value: 'v' }),
      ],
      web,
      policy,
      { ...facts, evictablePodsByNode: { n1: ['shop'] } },
    );
    expect(result.allowed.map((a) => a.type)).toEqual(['DeletePod', 'RestartDeployment']);
    expect(refusedCodes(result)).toEqual([
      'action.invalid_params',
      PolicyCode.TooManyDestructive,
      PolicyCode.TooManyDestructive,
    ]);
    expect(
      evaluatePlan([action('DeletePod'), action('DeletePod')], web, { ...policy, maxDestructivePerPlan: 2 }, facts)
        .refused,
    ).toEqual([]);
  });

  it('refuses bad params through the action check, before anything runs', () => {
    const result = evaluatePlan(
      [action('ScaleDeployment', { replicas: '0' }), action('Teleport')],
      web,
      { ...policy, allowedActions: ['ScaleDeployment', 'Teleport'] },
      facts,
    );
    expect(refusedCodes(result)).toEqual(['action.unsafe', 'action.unknown']);
  });
});
