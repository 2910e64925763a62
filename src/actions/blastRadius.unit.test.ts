import { describe, expect, it } from 'vitest';
import type { ActionSpec } from '../../domain/events/common.schema.ts';
import { describePolicy } from '../policy/policyConfig.ts';
import {
  assessBlastRadius,
  type BlastRadiusInputs,
  blastRadiusKey,
  DisruptionGuard,
  disruptionReason,
  hasBlastRadius,
  isRollingRestart,
  parseDisruptionGuard,
  quotaReason,
  rolloutOf,
  selectorMatches,
} from './blastRadius.ts';
import { defaultRemediationPolicy, evaluatePlan, PolicyCode, RemediationMode } from './policy.ts';

const target = { kind: 'Deployment', name: 'web', namespace: 'shop' };
const action = (type: string, params: Record<string, string> = {}): ActionSpec => ({
  actionId: `${type}-1`,
  type,
  params,
});

const pod = (name: string, ready = true, app = 'web') => ({
  namespace: 'shop',
  name,
  labels: { app },
  ready,
});

const inputs = (overrides: Partial<BlastRadiusInputs> = {}): BlastRadiusInputs => ({
  pods: [pod('web-1'), pod('web-2'), pod('web-3', false), pod('db-0', true, 'db')],
  pdbs: [
    {
      namespace: 'shop',
      name: 'web-pdb',
      selector: { matchLabels: { app: 'web' } },
      disruptionsAllowed: 0,
      currentHealthy: 2,
      desiredHealthy: 2,
    },
  ],
  services: [
    { namespace: 'shop', name: 'web', selector: { app: 'web' } },
    { namespace: 'shop', name: 'db', selector: { app: 'db' } },
  ],
  quotas: [
    {
      namespace: 'shop',
      name: 'compute',
      hard: { pods: '5', 'requests.memory': '768Mi', 'limits.cpu': '4' },
      used: { pods: '4', 'requests.memory': '512Mi', 'limits.cpu': '1' },
    },
  ],
  target: {
    replicas: 3,
    pods: ['web-1', 'web-2', 'web-3'],
    containers: [{ name: 'app', requests: { cpu: '100m', memory: '128Mi' }, limits: { cpu: '250m', memory: '128Mi' } }],
  },
  ...overrides,
});

describe('selectorMatches', () => {
  it('applies matchLabels and every matchExpressions operator', () => {
    const labels = { app: 'web', tier: 'front' };
    expect(selectorMatches({}, labels)).toBe(true);
    expect(selectorMatches({ matchLabels: { app: 'web' } }, labels)).toBe(true);
    expect(selectorMatches({ matchLabels: { app: 'db' } }, labels)).toBe(false);
    expect(selectorMatches({ matchExpressions: [{ key: 'tier', operator: 'In', values: ['front'] }] }, labels)).toBe(
      true,
    );
    expect(selectorMatches({ matchExpressions: [{ key: 'tier', operator: 'NotIn', values: ['front'] }] }, labels)).toBe(
      false,
    );
    expect(selectorMatches({ matchExpressions: [{ key: 'zone', operator: 'DoesNotExist' }] }, labels)).toBe(true);
    expect(selectorMatches({ matchExpressions: [{ key: 'zone', operator: 'Exists' }] }, labels)).toBe(false);
  });
});

describe('assessBlastRadius', () => {
  it('a deleted ready pod covered by a budget allowing no disruption violates it', () => {
    const radius = assessBlastRadius(action('DeletePod'), target, inputs({ chosen: ['shop/web-1'] }));
    expect(radius.pods).toEqual(['shop/web-1']);
    expect(radius.pdbViolations).toEqual([
      { namespace: 'shop', name: 'web-pdb', disruptionsAllowed: 0, podsTaken: 1, currentHealthy: 2, desiredHealthy: 2 },
    ]);
    expect(radius.servicesEmptied).toEqual([]);
  });

  it('a pod that is not ready takes nothing from the budget or the Service', () => {
    const radius = assessBlastRadius(action('DeletePod'), target, inputs({ chosen: ['shop/web-3'] }));
    expect(radius.pdbViolations).toEqual([]);
    expect(radius.servicesEmptied).toEqual([]);
  });

  it('taking the last ready pod of a Service empties it', () => {
    const radius = assessBlastRadius(action('DeletePod'), target, inputs({ chosen: ['shop/db-0'] }));
    expect(radius.servicesEmptied).toEqual([{ namespace: 'shop', name: 'db', readyEndpoints: 1 }]);
  });

  it('a scale-down takes not-ready pods first, then ready ones', () => {
    const one = assessBlastRadius(action('ScaleDeployment', { replicas: '2' }), target, inputs());
    expect(one.pods).toEqual(['shop/web-3']);
    expect(one.pdbViolations).toEqual([]);
    const all = assessBlastRadius(action('ScaleDeployment', { replicas: '0' }), target, inputs());
    expect(all.pods).toHaveLength(3);
    expect(all.replicas).toEqual({ before: 3, after: 0 });
    expect(all.pdbViolations[0]?.podsTaken).toBe(2);
    expect(all.servicesEmptied).toEqual([{ namespace: 'shop', name: 'web', readyEndpoints: 2 }]);
  });

  it('a scale-up over the pod count and memory of a quota names both', () => {
    const radius = assessBlastRadius(action('ScaleDeployment', { replicas: '6' }), target, inputs());
    expect(radius.pods).toEqual([]);
    expect(radius.quotaOverflows).toEqual([
      { namespace: 'shop', name: 'compute', resource: 'pods', used: 4, added: 3, hard: 5 },
      {
        namespace: 'shop',
        name: 'compute',
        resource: 'requests.memory',
        used: 512 * 2 ** 20,
        added: 3 * 128 * 2 ** 20,
        hard: 768 * 2 ** 20,
      },
    ]);
    expect(assessBlastRadius(action('ScaleDeployment', { replicas: '4' }), target, inputs()).quotaOverflows).toEqual(
      [],
    );
  });

  it('a limit raise counts the new limit of every replica against the quota', () => {
    const radius = assessBlastRadius(action('AdjustResources', { cpu_limit: '1500m' }), target, inputs());
    // 3 replicas × 1.25 more cores on top of 1 used: 4.75 > 4.
    expect(radius.quotaOverflows).toEqual([
      { namespace: 'shop', name: 'compute', resource: 'limits.cpu', used: 1, added: 3.75, hard: 4 },
    ]);
    expect(assessBlastRadius(action('AdjustResources', { cpu_limit: '1' }), target, inputs()).quotaOverflows).toEqual(
      [],
    );
  });

  it('a budget with no selector covers nothing; an empty selector covers the whole namespace', () => {
    const pdbs = [
      { namespace: 'shop', name: 'none', disruptionsAllowed: 0, currentHealthy: 0, desiredHealthy: 0 },
      { namespace: 'shop', name: 'all', selector: {}, disruptionsAllowed: 1, currentHealthy: 3, desiredHealthy: 2 },
    ];
    const radius = assessBlastRadius(
      action('DrainNode'),
      target,
      inputs({ pdbs, chosen: ['shop/web-1', 'shop/db-0'] }),
    );
    expect(radius.pdbViolations.map((v) => [v.name, v.podsTaken])).toEqual([['all', 2]]);
  });
});

describe('rolling restarts', () => {
  const restart = action('RestartDeployment');
  const oneReplica = (rollout: { maxUnavailable: number; maxSurge: number }) =>
    inputs({
      pods: [pod('web-1')],
      pdbs: [
        {
          namespace: 'shop',
          name: 'web-pdb',
          selector: { matchLabels: { app: 'web' } },
          disruptionsAllowed: 0,
          currentHealthy: 1,
          desiredHealthy: 1,
        },
      ],
      target: { replicas: 1, pods: ['web-1'], containers: [], rollout },
    });

  it("resolves each kind's strategy as its controller does", () => {
    expect(rolloutOf('Deployment', undefined, 1)).toEqual({ maxUnavailable: 0, maxSurge: 1 });
    expect(rolloutOf('Deployment', undefined, 8)).toEqual({ maxUnavailable: 2, maxSurge: 2 });
    expect(rolloutOf('Deployment', { type: 'Recreate' }, 4)).toEqual({ maxUnavailable: 4, maxSurge: 0 });
    expect(rolloutOf('Deployment', { rollingUpdate: { maxUnavailable: '50%', maxSurge: 0 } }, 3)).toEqual({
      maxUnavailable: 1,
      maxSurge: 0,
    });
    // Both resolve to nothing: the controller still moves, one pod at a time.
    expect(rolloutOf('Deployment', { rollingUpdate: { maxUnavailable: '10%', maxSurge: 0 } }, 3)).toEqual({
      maxUnavailable: 1,
      maxSurge: 0,
    });
    expect(rolloutOf('StatefulSet', undefined, 3)).toEqual({ maxUnavailable: 1, maxSurge: 0 });
    expect(rolloutOf('DaemonSet', { rollingUpdate: { maxUnavailable: '10%' } }, 5)).toEqual({
      maxUnavailable: 1,
      maxSurge: 0,
    });
    expect(rolloutOf('Deployment', { rollingUpdate: { maxUnavailable: 9 } }, 3).maxUnavailable).toBe(3);
  });

  it('a single replica restarted without surge empties its Service and breaks its budget', () => {
    const radius = assessBlastRadius(restart, target, oneReplica({ maxUnavailable: 1, maxSurge: 0 }));
    expect(radius.pods).toEqual(['shop/web-1']);
    expect(radius.rollout).toEqual({ podsDownAtOnce: 1, surgePods: 0 });
    expect(radius.pdbViolations.map((v) => [v.name, v.podsTaken])).toEqual([['web-pdb', 1]]);
    expect(radius.servicesEmptied).toEqual([{ namespace: 'shop', name: 'web', readyEndpoints: 1 }]);
    expect(disruptionReason(restart, radius)).toContain('(a rolling restart of 1 pod(s), 1 down at once)');
  });

  it('a single replica with a surge pod keeps serving: the new pod is ready before the old one goes', () => {
    const radius = assessBlastRadius(restart, target, oneReplica({ maxUnavailable: 0, maxSurge: 1 }));
    expect(radius.pods).toEqual(['shop/web-1']);
    expect(radius.pdbViolations).toEqual([]);
    expect(radius.servicesEmptied).toEqual([]);
  });

  it('takes ready pods down maxUnavailable at a time, and not the Service with them', () => {
    const radius = assessBlastRadius(
      restart,
      target,
      inputs({
        target: { ...inputs().target!, rollout: { maxUnavailable: 1, maxSurge: 0 } },
      }),
    );
    expect(radius.pods).toEqual(['shop/web-1', 'shop/web-2', 'shop/web-3']);
    expect(radius.rollout?.podsDownAtOnce).toBe(1);
    expect(radius.pdbViolations.map((v) => v.podsTaken)).toEqual([1]);
    expect(radius.servicesEmptied).toEqual([]);
    const wide = assessBlastRadius(
      restart,
      target,
      inputs({ target: { ...inputs().target!, rollout: { maxUnavailable: 3, maxSurge: 0 } } }),
    );
    expect(wide.servicesEmptied).toEqual([{ namespace: 'shop', name: 'web', readyEndpoints: 2 }]);
  });

  it('empties a Service that selects fewer pods than go down at once, whichever pods they are', () => {
    // Only web-2 is the primary; a restart replaces every pod, one at a time, so web-2 goes down at some point.
    const inputsWithPrimary = inputs({
      pods: [pod('web-1'), { ...pod('web-2'), labels: { app: 'web', role: 'primary' } }, pod('web-3')],
      services: [{ namespace: 'shop', name: 'web-primary', selector: { app: 'web', role: 'primary' } }],
      target: { ...inputs().target!, rollout: { maxUnavailable: 1, maxSurge: 0 } },
    });
    const radius = assessBlastRadius(restart, target, inputsWithPrimary);
    expect(radius.servicesEmptied).toEqual([{ namespace: 'shop', name: 'web-primary', readyEndpoints: 1 }]);
    expect(radius.pdbViolations.map((v) => v.podsTaken)).toEqual([1]);
  });

  it('counts surge pods against the pods, cpu and memory of the quota', () => {
    const radius = assessBlastRadius(
      restart,
      target,
      inputs({ target: { ...inputs().target!, rollout: { maxUnavailable: 0, maxSurge: 3 } } }),
    );
    expect(radius.quotaOverflows.map((q) => [q.resource, q.used, q.added, q.hard])).toEqual([
      ['pods', 4, 3, 5],
      ['requests.memory', 512 * 2 ** 20, 384 * 2 ** 20, 768 * 2 ** 20],
    ]);
    expect(quotaReason(restart, radius)).toContain('RestartDeployment (3 surge pod(s) during the rolling restart)');
  });

  it('an ordered StatefulSet restart is a rolling restart; naming a pod restarts only that one', () => {
    expect(isRollingRestart(action('RestartStatefulSetPod'))).toBe(true);
    expect(isRollingRestart(action('RestartStatefulSetPod', { pod: 'db-0' }))).toBe(false);
    expect(hasBlastRadius(action('RestartDaemonSet'))).toBe(true);
    const named = assessBlastRadius(
      action('RestartStatefulSetPod', { pod: 'web-1' }),
      { ...target, kind: 'StatefulSet' },
      inputs({ chosen: ['shop/web-1'] }),
    );
    expect(named.pods).toEqual(['shop/web-1']);
    expect(named.rollout).toBeUndefined();
  });
});

describe('the policy with blast radius facts', () => {
  const policy = defaultRemediationPolicy();
  const deletion = action('DeletePod');
  const facts = (chosen: string[]) => ({
    replicas: 3,
    blastRadius: { [blastRadiusKey(deletion)]: assessBlastRadius(deletion, target, inputs({ chosen })) },
  });

  it('refuses a deletion a PodDisruptionBudget forbids, with the numbers', () => {
    const verdict = evaluatePlan([deletion], target, policy, facts(['shop/web-1']));
    expect(verdict.allowed).toEqual([]);
    expect(verdict.refused[0]?.code).toBe(PolicyCode.Disruption);
    expect(verdict.refused[0]?.reason).toBe(
      'DeletePod would disrupt too much: it takes down 1 healthy pod(s) covered by PodDisruptionBudget shop/web-pdb, which allows 0 disruption(s) (2 healthy, 2 required)',
    );
  });

  it('lets a harmless deletion through', () => {
    expect(evaluatePlan([deletion], target, policy, facts(['shop/web-3'])).allowed).toEqual([deletion]);
  });

  it('in approve mode lists it as needing approval, and runs it once approved', () => {
    const approve = defaultRemediationPolicy({ mode: RemediationMode.Approve });
    const screened = evaluatePlan([deletion], target, approve, facts(['shop/web-1']));
    expect(screened.allowed).toEqual([deletion]);
    expect(screened.needsApproval[0]?.reason).toContain('PodDisruptionBudget shop/web-pdb');
    expect(evaluatePlan([deletion], target, approve, facts(['shop/web-1']), { approved: true }).allowed).toEqual([
      deletion,
    ]);
    const unapproved = evaluatePlan([deletion], target, approve, facts(['shop/web-1']), { approved: false });
    expect(unapproved.refused[0]?.code).toBe(PolicyCode.NeedsApproval);
  });

  it('refuses a scale-up over a quota naming it, and checks nothing with the guard off', () => {
    const scale = action('ScaleDeployment', { replicas: '6' });
    const radius = { [blastRadiusKey(scale)]: assessBlastRadius(scale, target, inputs()) };
    const verdict = evaluatePlan([scale], target, policy, {
      replicas: 3,
      envelope: { replicas: 3, hpas: {} },
      blastRadius: radius,
    });
    expect(verdict.refused[0]?.code).toBe(PolicyCode.QuotaExceeded);
    expect(verdict.refused[0]?.reason).toBe(
      'ScaleDeployment (3 → 6 replicas) would exceed a quota: ResourceQuota shop/compute allows pods=5, 4 is used and the action adds 3; ResourceQuota shop/compute allows requests.memory=768Mi, 512Mi is used and the action adds 384Mi',
    );
    const off = defaultRemediationPolicy({ disruptionGuard: DisruptionGuard.Off });
    expect(
      evaluatePlan([scale], target, off, { replicas: 3, envelope: { replicas: 3, hpas: {} }, blastRadius: radius })
        .refused,
    ).toEqual([]);
  });

  it('is part of the policy described at start-up', () => {
    expect(describePolicy(defaultRemediationPolicy())).toContain('disruption guard refuse');
    expect(describePolicy(defaultRemediationPolicy({ disruptionGuard: DisruptionGuard.Off }))).toContain(
      'disruption guard off',
    );
  });

  it('parses the guard flag and names a bad value', () => {
    expect(parseDisruptionGuard(' off ')).toBe('off');
    expect(() => parseDisruptionGuard('maybe')).toThrow(
      '--disruption-guard: "maybe" is not one of off, refuse, approve',
    );
  });
});
