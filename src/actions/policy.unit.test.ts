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
const history = {
  current: 2,
  entries: [
    { revision: 2, ready: false },
    { revision: 1, ready: true },
  ],
};
const facts = { replicas: 4, envelope: { hpas: {}, replicas: 4, revisions: history } };

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
    const big = { replicas: 25, envelope: { hpas: {}, replicas: 25 } };
    const result = evaluatePlan(
      [
        action('RestartDeployment'),
        action('ScaleDeployment', { replicas: '5' }),
        action('ScaleDeployment', { replicas: '20' }),
        action('ScaleDeployment', { replicas: '25' }),
        action('DeletePod'),
      ],
      web,
      policy,
      big,
    );
    expect(result.allowed.map((a) => `${a.type}${a.params.replicas ?? ''}`)).toEqual([
      'ScaleDeployment20',
      'ScaleDeployment25',
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

describe('effects beyond the namespace', () => {
  const drain = (node: string) => action('DrainNode', { node });
  const onNodes = { ...facts, evictablePodsByNode: { n1: ['shop', 'payments'], n2: ['shop'] } };

  it('lists node and GitOps actions as needing approval while a proposal is screened', () => {
    const result = evaluatePlan(
      [drain('n1'), action('CordonNode', { node: 'n1' }), action('ArgoSyncApp'), action('RestartDeployment')],
      web,
      { ...policy, maxDestructivePerPlan: 2 },
      onNodes,
    );
    expect(result.refused).toEqual([]);
    expect(result.needsApproval.map((n) => n.action.type)).toEqual(['DrainNode', 'CordonNode', 'ArgoSyncApp']);
    expect(result.needsApproval[0]?.reason).toMatch(/DrainNode acts on node n1, which pods of every namespace share/);
  });

  it('refuses them in a plan people did not approve, and allows them once approved', () => {
    const unapproved = evaluatePlan([drain('n1'), action('HelmRollback')], web, policy, onNodes, { approved: false });
    expect(refusedCodes(unapproved)).toEqual([PolicyCode.NeedsApproval, PolicyCode.NeedsApproval]);
    expect(unapproved.refused[0]?.reason).toMatch(/runs only in a plan people approved/);
    const approved = evaluatePlan([drain('n1')], web, policy, onNodes, { approved: true });
    expect(approved.allowed.map((a) => a.type)).toEqual(['DrainNode']);
    expect(approved.needsApproval).toEqual([]);
  });

  it('lets an Issue on a Node act on that Node alone without approval only when configured', () => {
    const node: ResourceRef = { kind: 'Node', name: 'n2', namespace: '' };
    const alone = defaultRemediationPolicy({ autonomousNodeActions: true });
    expect(refusedCodes(evaluatePlan([drain('n2')], node, policy, onNodes, { approved: false }))).toEqual([
      PolicyCode.NeedsApproval,
    ]);
    expect(evaluatePlan([drain('n2')], node, alone, onNodes, { approved: false }).allowed).toHaveLength(1);
    expect(refusedCodes(evaluatePlan([drain('n1')], node, alone, onNodes, { approved: false }))).toEqual([
      PolicyCode.NeedsApproval,
    ]);
  });

  it('counts the pods a drain evicts in every namespace against the blast radius', () => {
    const crowded = { ...facts, evictablePodsByNode: { n1: [...Array(6).fill('shop'), ...Array(5).fill('payments')] } };
    const result = evaluatePlan([drain('n1')], web, policy, crowded, { approved: true });
    expect(refusedCodes(result)).toEqual([PolicyCode.BlastRadius]);
    expect(result.refused[0]?.reason).toMatch(/11 pods, above the limit of 10/);
  });

  it('disrupts at most one node per Issue, across its plans', () => {
    const approved = { approved: true };
    const sameNode = evaluatePlan(
      [action('CordonNode', { node: 'n1' }), action('UncordonNode', { node: 'n2' })],
      web,
      policy,
      onNodes,
      approved,
    );
    expect(sameNode.refused).toEqual([]);
    const two = evaluatePlan([action('CordonNode', { node: 'n1' }), drain('n2')], web, policy, onNodes, approved);
    expect(refusedCodes(two)).toEqual([PolicyCode.OneNodePerIssue]);
    expect(two.refused[0]?.reason).toMatch(/would disrupt node n2, but this Issue already disrupted node n1/);
    // The drain of an earlier, rolled-back plan still counts: re-analysis cannot move on to the next node.
    const earlier = [{ target: web, type: 'DrainNode', params: { node: 'n1' } }];
    expect(refusedCodes(evaluatePlan([drain('n2')], web, policy, onNodes, { approved: true, earlier }))).toEqual([
      PolicyCode.OneNodePerIssue,
    ]);
    expect(evaluatePlan([drain('n1')], web, policy, onNodes, { approved: true, earlier }).refused).toEqual([]);
  });
});

describe('the sanity envelope in the plan', () => {
  it('refuses out-of-envelope values with the bound named, before anything runs', () => {
    const withNode = {
      ...facts,
      envelope: {
        ...facts.envelope,
        containers: { app: { requests: { memory: '256Mi' }, limits: { memory: '512Mi' } } },
        largestNode: { cpu: 4, memory: 16 * 2 ** 30 },
      },
    };
    const result = evaluatePlan(
      [
        action('AdjustResources', { memory_request: '4Ti', memory_limit: '4Ti' }),
        action('ScaleDeployment', { replicas: '10000' }),
        action('RollbackDeployment', { toRevision: '9' }),
        action('AdjustResources', { memory_limit: '1Gi' }),
      ],
      web,
      policy,
      withNode,
    );
    expect(refusedCodes(result)).toEqual(['envelope.node_capacity', 'action.invalid_params', 'envelope.revision']);
    expect(result.allowed.map((a) => a.params.memory_limit)).toEqual(['1Gi']);
  });
});
