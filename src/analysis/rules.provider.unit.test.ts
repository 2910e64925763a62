import { describe, expect, it } from 'vitest';
import type { FailureEvidence } from '../../domain/events/common.schema.ts';
import { actionFingerprint } from '../../domain/remediation/action.fingerprint.ts';
import { agenticStepRequest, analysisRequest, healthyFacts, revision } from '../../test/fixtures/analysis.fixtures.ts';
import { decideAgenticStepWithRules } from './agentic.ts';
import { type AnalysisRequest, assertAnalysisResult } from './provider.ts';
import {
  analyzeWithRules,
  createRulesProvider,
  RULES_MODEL,
  RULES_PROVIDER,
  RuleConfidence,
} from './rules.provider.ts';
import { absentWorkloadFacts, type PodFacts, type WorkloadFacts } from './workloadFacts.ts';

const GOOD = 'registry.local/shop/web:1.0.0';
const BROKEN = 'registry.local/shop/web:1.0.0-broken';
const MISSING = 'registry.local/shop/web:1.0.0-nonexistent';

const pod = (name: string, revisionNumber: number, overrides: Partial<PodFacts> = {}): PodFacts => ({
  name,
  revision: revisionNumber,
  phase: 'Running',
  ready: true,
  restarts: 0,
  reasons: [],
  oomKilledContainers: [],
  ...overrides,
});

/** Revision 2 changed the image; revision 1 still serves (a rolling update stuck on crashing pods). */
const crashAfterImageChange = (overrides: Partial<WorkloadFacts> = {}): WorkloadFacts =>
  healthyFacts({
    containers: [{ name: 'app', image: BROKEN, memoryLimit: '128Mi', memoryRequest: '64Mi' }],
    revisions: [
      revision(2, BROKEN, {
        current: true,
        replicas: 1,
        imageChanges: [{ container: 'app', from: GOOD, to: BROKEN }],
      }),
      revision(1, GOOD, { replicas: 1, readyReplicas: 1, ready: true }),
    ],
    currentRevision: 2,
    pods: [
      pod('web-rs2-aaaaa', 2, { ready: false, restarts: 7, reasons: ['CrashLoopBackOff', 'Error'] }),
      pod('web-rs1-bbbbb', 1),
    ],
    podCount: 2,
    notReadyPods: 1,
    maxRestarts: 7,
    crashLooping: true,
    warningReasons: ['BackOff'],
    ...overrides,
  });

const oomFacts = (overrides: Partial<WorkloadFacts> = {}): WorkloadFacts =>
  healthyFacts({
    revisions: [
      revision(2, GOOD, { current: true, replicas: 1 }),
      revision(1, GOOD, { replicas: 1, readyReplicas: 1, ready: true }),
    ],
    currentRevision: 2,
    pods: [
      pod('web-rs2-aaaaa', 2, { ready: false, restarts: 5, reasons: ['OOMKilled'], oomKilledContainers: ['app'] }),
    ],
    podCount: 2,
    notReadyPods: 1,
    maxRestarts: 5,
    oomKilled: true,
    oomKilledContainers: ['app'],
    crashLooping: true,
    ...overrides,
  });

const notReadyFacts = (overrides: Partial<WorkloadFacts> = {}): WorkloadFacts =>
  healthyFacts({
    pods: [pod('web-rs1-aaaaa', 1, { ready: false })],
    notReadyPods: 2,
    warningReasons: ['Unhealthy'],
    ...overrides,
  });

const analyze = (facts: WorkloadFacts, overrides: Partial<Omit<AnalysisRequest, 'context'>> = {}) => {
  const result = analyzeWithRules(analysisRequest(facts, overrides));
  // Every answer must be one the AnalysisCompleted event accepts.
  assertAnalysisResult(RULES_PROVIDER, result);
  return result;
};

const failure = (attempt: number, ...actions: { type: string; params: Record<string, string> }[]): FailureEvidence => ({
  remediationId: `rem-${attempt}`,
  attempt,
  outcome: 'rolled_back',
  reason: 'verification timed out',
  attemptedActions: actions,
  observations: [],
});

describe('rules provider: OOM kills', () => {
  it('raises the memory limit of the killed container to twice its current limit, keeping the request', () => {
    const result = analyze(oomFacts(), { signal: 'oom_kill' });
    expect(result.suggestedActions).toEqual([
      {
        name: 'raise-memory-limit-app',
        type: 'AdjustResources',
        description: 'Raise the memory limit of container app from 128Mi to 256Mi',
        params: { container: 'app', memory_limit: '256Mi', memory_request: '64Mi' },
      },
    ]);
    expect(result.confidence).toBe(RuleConfidence.oomAdjustSeen);
    expect(result.analysis).toMatch(/OOMKilled/);
    expect(result.provider).toBe(RULES_PROVIDER);
    expect(result.model).toBe(RULES_MODEL);
  });

  it('raises the request with the limit when they were equal (Guaranteed QoS stays Guaranteed)', () => {
    const facts = oomFacts({ containers: [{ name: 'app', image: GOOD, memoryLimit: '1Gi', memoryRequest: '1Gi' }] });
    expect(analyze(facts).suggestedActions[0]?.params).toEqual({
      container: 'app',
      memory_limit: '2Gi',
      memory_request: '2Gi',
    });
  });

  it.each([
    ['300Mi', '600Mi'],
    ['1.5Gi', '3Gi'],
    ['500M', '954Mi'],
    ['134217728', '256Mi'],
  ])('doubles %s to %s', (limit, raised) => {
    const facts = oomFacts({ containers: [{ name: 'app', image: GOOD, memoryLimit: limit }] });
    expect(analyze(facts).suggestedActions[0]?.params).toEqual({ container: 'app', memory_limit: raised });
  });

  it('never suggests a request above the new limit', () => {
    for (const [limit, request] of [
      ['128Mi', '64Mi'],
      ['128Mi', '128Mi'],
      ['1Gi', '900Mi'],
    ] as const) {
      const facts = oomFacts({
        containers: [{ name: 'app', image: GOOD, memoryLimit: limit, memoryRequest: request }],
      });
      const params = analyze(facts).suggestedActions[0]?.params ?? {};
      const bytes = (q: string) => Number.parseFloat(q) * (q.endsWith('Gi') ? 1024 : 1);
      expect(bytes(params.memory_request ?? '0')).toBeLessThanOrEqual(bytes(params.memory_limit ?? '0'));
    }
  });

  it('sets a limit of twice the request when the container had no limit', () => {
    const facts = oomFacts({ containers: [{ name: 'app', image: GOOD, memoryRequest: '64Mi' }] });
    expect(analyze(facts).suggestedActions[0]?.params).toEqual({
      container: 'app',
      memory_limit: '128Mi',
      memory_request: '64Mi',
    });
  });

  it('adjusts only the containers that were OOM-killed', () => {
    const facts = oomFacts({
      containers: [
        { name: 'app', image: GOOD, memoryLimit: '128Mi' },
        { name: 'sidecar', image: 'envoy:1.30', memoryLimit: '64Mi' },
      ],
      oomKilledContainers: ['sidecar'],
    });
    expect(analyze(facts).suggestedActions.map((a) => a.params.container)).toEqual(['sidecar']);
  });

  it('trusts the oom_kill signal with lower confidence when the pods no longer show the kill', () => {
    const facts = healthyFacts();
    const result = analyze(facts, { signal: 'oom_kill', signals: ['oom_kill'] });
    expect(result.suggestedActions[0]?.type).toBe('AdjustResources');
    expect(result.confidence).toBe(RuleConfidence.oomAdjustSignalOnly);
  });

  it('does not guess which of several containers to resize; it rolls back instead', () => {
    const facts = oomFacts({
      containers: [
        { name: 'app', image: GOOD, memoryLimit: '128Mi' },
        { name: 'sidecar', image: 'envoy:1.30', memoryLimit: '64Mi' },
      ],
      oomKilled: false,
      oomKilledContainers: [],
    });
    const result = analyze(facts, { signal: 'oom_kill', signals: ['oom_kill'] });
    expect(result.suggestedActions.map((a) => [a.type, a.params])).toEqual([
      ['RollbackDeployment', { toRevision: '1' }],
    ]);
  });

  it('after a failed AdjustResources, rolls back past the limit changes to the release before the one that OOMs', () => {
    // Revision 4 is the failing release restored after a tried limit change (revision 3); revision 1 ran 1.0.0.
    const NEW = 'registry.local/shop/web:2.0.0';
    const facts = oomFacts({
      containers: [{ name: 'app', image: NEW, memoryLimit: '128Mi', memoryRequest: '128Mi' }],
      revisions: [
        revision(4, NEW, { current: true, replicas: 1 }),
        revision(3, NEW, { memoryLimits: { app: '256Mi' } }),
        revision(1, GOOD),
      ],
      currentRevision: 4,
      pods: [
        pod('web-rs4-aaaaa', 4, { ready: false, restarts: 4, reasons: ['OOMKilled'], oomKilledContainers: ['app'] }),
      ],
    });
    const result = analyze(facts, {
      signal: 'oom_kill',
      doNotRepeat: ['AdjustResources(container=app,memory_limit=256Mi,memory_request=256Mi)'],
    });
    expect(result.suggestedActions.map((a) => [a.type, a.params])).toEqual([
      ['RollbackDeployment', { toRevision: '1' }],
    ]);
  });

  it('after a failed AdjustResources, rolls back to the previous revision', () => {
    const first = analyze(oomFacts());
    const doNotRepeat = first.suggestedActions.map(actionFingerprint);
    const result = analyze(oomFacts(), {
      doNotRepeat,
      previousFailures: [failure(1, ...first.suggestedActions)],
    });
    expect(result.suggestedActions).toHaveLength(1);
    expect(result.suggestedActions[0]).toMatchObject({ type: 'RollbackDeployment', params: { toRevision: '1' } });
    expect(result.analysis).toContain('AdjustResources');
    expect(result.confidence).toBe(RuleConfidence.oomRollback);
  });

  it('does not try a second, bigger AdjustResources after the first failed without a rollback', () => {
    // The failed attempt left the limit at 256Mi, so doubling again would be a new fingerprint: still refused.
    const facts = oomFacts({ containers: [{ name: 'app', image: GOOD, memoryLimit: '256Mi' }] });
    const result = analyze(facts, {
      doNotRepeat: ['AdjustResources(container=app,memory_limit=256Mi)'],
    });
    expect(result.suggestedActions.map((a) => a.type)).toEqual(['RollbackDeployment']);
  });

  it('after AdjustResources and a rollback failed, restarts; then gives up with low confidence', () => {
    const doNotRepeat = [
      'AdjustResources(container=app,memory_limit=256Mi,memory_request=64Mi)',
      'RollbackDeployment(toRevision=1)',
    ];
    const third = analyze(oomFacts(), { doNotRepeat });
    expect(third.suggestedActions.map((a) => a.type)).toEqual(['RestartDeployment']);
    const last = analyze(oomFacts(), { doNotRepeat: [...doNotRepeat, 'RestartDeployment'] });
    expect(last.suggestedActions).toEqual([]);
    expect(last.confidence).toBeLessThanOrEqual(0.3);
    expect(last.analysis).toMatch(/human/);
    expect(last.recommendations[0]).toMatch(/Escalate/);
  });

  it('without an earlier revision, goes from AdjustResources straight to a restart', () => {
    const facts = oomFacts({ revisions: [revision(1, GOOD, { current: true, replicas: 2 })], currentRevision: 1 });
    const result = analyze(facts, {
      doNotRepeat: ['AdjustResources(container=app,memory_limit=256Mi,memory_request=64Mi)'],
    });
    expect(result.suggestedActions.map((a) => a.type)).toEqual(['RestartDeployment']);
  });
});

describe('rules provider: a bad release (crash loop or image pull right after an image change)', () => {
  it('rolls back to the previous revision that still serves', () => {
    const result = analyze(crashAfterImageChange());
    expect(result.suggestedActions).toEqual([
      {
        name: 'rollback-to-revision-1',
        type: 'RollbackDeployment',
        description: 'Roll Deployment shop/web back to revision 1 (web-rs1)',
        params: { toRevision: '1' },
      },
    ]);
    expect(result.confidence).toBe(RuleConfidence.releaseRollbackToReady);
    expect(result.analysis).toContain(`${GOOD} → ${BROKEN}`);
  });

  it('skips earlier revisions that run the same broken image', () => {
    const facts = crashAfterImageChange({
      revisions: [
        revision(3, BROKEN, { current: true, replicas: 1 }),
        revision(2, BROKEN, { imageChanges: [{ container: 'app', from: GOOD, to: BROKEN }] }),
        revision(1, GOOD, { replicas: 1, readyReplicas: 1, ready: true }),
      ],
      currentRevision: 3,
      pods: [pod('web-rs3-aaaaa', 3, { ready: false, restarts: 4, reasons: ['CrashLoopBackOff'] })],
    });
    expect(analyze(facts).suggestedActions[0]?.params).toEqual({ toRevision: '1' });
  });

  it('prefers a revision that still serves over a newer one that was scaled down', () => {
    const facts = crashAfterImageChange({
      revisions: [
        revision(3, BROKEN, { current: true, replicas: 1 }),
        revision(2, 'registry.local/shop/web:0.9.0'),
        revision(1, GOOD, { replicas: 1, readyReplicas: 1, ready: true }),
      ],
      currentRevision: 3,
      pods: [pod('web-rs3-aaaaa', 3, { ready: false, reasons: ['CrashLoopBackOff'] })],
    });
    expect(analyze(facts).suggestedActions[0]?.params).toEqual({ toRevision: '1' });
  });

  it('rolls back to a scaled-down revision with less confidence when none serves', () => {
    const facts = crashAfterImageChange({
      revisions: [revision(2, BROKEN, { current: true, replicas: 2 }), revision(1, GOOD)],
    });
    const result = analyze(facts);
    expect(result.suggestedActions[0]?.params).toEqual({ toRevision: '1' });
    expect(result.confidence).toBe(RuleConfidence.releaseRollbackToScaledDown);
  });

  it('rolls back an image that cannot be pulled', () => {
    const facts = crashAfterImageChange({
      containers: [{ name: 'app', image: MISSING, memoryLimit: '128Mi' }],
      revisions: [
        revision(2, MISSING, { current: true, replicas: 1 }),
        revision(1, GOOD, { replicas: 1, readyReplicas: 1, ready: true }),
      ],
      pods: [pod('web-rs2-aaaaa', 2, { phase: 'Pending', ready: false, reasons: ['ImagePullBackOff'] })],
      crashLooping: false,
      imagePullFailing: true,
    });
    const result = analyze(facts, { signal: 'image_pull', signals: ['image_pull'] });
    expect(result.suggestedActions[0]).toMatchObject({ type: 'RollbackDeployment', params: { toRevision: '1' } });
    expect(result.analysis).toMatch(/cannot pull/);
  });

  it('after a failed rollback, restarts; then nothing is left', () => {
    const second = analyze(crashAfterImageChange(), { doNotRepeat: ['RollbackDeployment(toRevision=1)'] });
    expect(second.suggestedActions.map((a) => a.type)).toEqual(['RestartDeployment']);
    expect(second.suggestedActions[0]?.params).toEqual({});
    const third = analyze(crashAfterImageChange(), {
      doNotRepeat: ['RollbackDeployment(toRevision=1)', 'RestartDeployment'],
    });
    expect(third.suggestedActions).toEqual([]);
    expect(third.confidence).toBeLessThanOrEqual(0.3);
  });

  it('counts actions from the failure evidence as tried even when doNotRepeat is empty', () => {
    const result = analyze(crashAfterImageChange(), {
      previousFailures: [failure(1, { type: 'RollbackDeployment', params: { toRevision: '1' } })],
    });
    expect(result.suggestedActions.map((a) => a.type)).toEqual(['RestartDeployment']);
  });

  it('does not blame the newest release when only pods of an older revision fail', () => {
    const facts = crashAfterImageChange({
      pods: [
        pod('web-rs1-bbbbb', 1, { ready: false, restarts: 9, reasons: ['CrashLoopBackOff'] }),
        pod('web-rs2-aaaaa', 2),
      ],
    });
    const result = analyze(facts);
    expect(result.analysis).not.toMatch(/changed the image/);
  });
});

describe('rules provider: crash loops, image pulls and unready pods without a release to blame', () => {
  it('rolls back the last template change of a crash loop, with moderate confidence', () => {
    const facts = crashAfterImageChange({
      revisions: [
        revision(2, GOOD, { current: true, replicas: 1 }),
        revision(1, GOOD, { replicas: 1, readyReplicas: 1, ready: true }),
      ],
    });
    const result = analyze(facts);
    expect(result.suggestedActions[0]).toMatchObject({ type: 'RollbackDeployment', params: { toRevision: '1' } });
    expect(result.confidence).toBe(RuleConfidence.crashRollback);
  });

  it('restarts a crash loop with a single revision', () => {
    const facts = crashAfterImageChange({
      revisions: [revision(1, GOOD, { current: true, replicas: 2 })],
      currentRevision: 1,
      pods: [pod('web-rs1-aaaaa', 1, { ready: false, restarts: 4, reasons: ['CrashLoopBackOff'] })],
    });
    const result = analyze(facts);
    expect(result.suggestedActions.map((a) => a.type)).toEqual(['RestartDeployment']);
    expect(result.confidence).toBe(RuleConfidence.crashRestart);
  });

  it('suggests nothing for an image that never could be pulled, and says where to look', () => {
    const facts = healthyFacts({
      imagePullFailing: true,
      notReadyPods: 2,
      pods: [pod('web-rs1-aaaaa', 1, { phase: 'Pending', ready: false, reasons: ['ErrImagePull'] })],
    });
    const result = analyze(facts, { signal: 'image_pull', signals: ['image_pull'] });
    expect(result.suggestedActions).toEqual([]);
    expect(result.confidence).toBeLessThanOrEqual(0.3);
    expect(result.recommendations.join(' ')).toMatch(/imagePullSecrets/);
  });

  it('restarts a workload whose pods are stuck not ready', () => {
    const result = analyze(notReadyFacts(), { signal: 'pod_not_ready', signals: ['pod_not_ready'] });
    expect(result.suggestedActions).toEqual([
      {
        name: 'restart-rollout',
        type: 'RestartDeployment',
        description: 'Restart the pods of Deployment shop/web',
        params: {},
      },
    ]);
    expect(result.confidence).toBe(RuleConfidence.notReadyRestart);
  });

  it('after a failed restart of unready pods, rolls back if it can, else gives up', () => {
    const withHistory = notReadyFacts({
      revisions: [revision(2, GOOD, { current: true, replicas: 2 }), revision(1, GOOD, { imageChanges: [] })],
      currentRevision: 2,
    });
    const next = analyze(withHistory, { doNotRepeat: ['RestartDeployment'] });
    expect(next.suggestedActions[0]).toMatchObject({ type: 'RollbackDeployment', params: { toRevision: '1' } });
    const none = analyze(notReadyFacts(), { doNotRepeat: ['RestartDeployment'] });
    expect(none.suggestedActions).toEqual([]);
    expect(none.confidence).toBeLessThanOrEqual(0.3);
  });

  it('recognises deploy_failing with replicas short of the desired count as unready evidence', () => {
    const facts = healthyFacts({ replicas: { desired: 2, ready: 1, available: 1, updated: 2 } });
    const result = analyze(facts, { signal: 'deploy_failing', signals: ['deploy_failing'] });
    expect(result.suggestedActions.map((a) => a.type)).toEqual(['RestartDeployment']);
  });
});

describe('rules provider: thin evidence', () => {
  it('answers "unknown" with low confidence and no action when the context shows nothing wrong', () => {
    for (const signal of ['latency_spike', 'error_rate', 'custom']) {
      const result = analyze(healthyFacts(), { signal, signals: [signal] });
      expect(result.analysis).toBe('unknown');
      expect(result.confidence).toBeLessThanOrEqual(0.3);
      expect(result.suggestedActions).toEqual([]);
      expect(result.recommendations.length).toBeGreaterThan(0);
    }
  });

  it('answers "unknown" when the signal left no trace in the context (the symptom is gone)', () => {
    for (const signal of ['pod_restart', 'crashloop', 'image_pull', 'pod_not_ready', 'deploy_failing']) {
      const result = analyze(healthyFacts(), { signal, signals: [signal] });
      expect(result.analysis).toBe('unknown');
      expect(result.suggestedActions).toEqual([]);
    }
  });

  it('answers "unknown" when the workload could not be read, whatever the signal', () => {
    const facts = { ...healthyFacts(), found: false, containers: [], revisions: [] };
    const result = analyze(facts, { signal: 'oom_kill', signals: ['oom_kill'] });
    expect(result.analysis).toBe('unknown');
    expect(result.suggestedActions).toEqual([]);
  });
});

describe('rules provider: other workload kinds', () => {
  it('uses the StatefulSet actions', () => {
    const sts = (facts: WorkloadFacts): WorkloadFacts => ({ ...facts, kind: 'StatefulSet' });
    expect(analyze(sts(oomFacts())).suggestedActions[0]?.type).toBe('AdjustStatefulSetResources');
    expect(analyze(sts(crashAfterImageChange())).suggestedActions[0]).toMatchObject({
      type: 'RollbackStatefulSet',
      params: { toRevision: '1' },
    });
    expect(analyze(sts(notReadyFacts())).suggestedActions[0]?.type).toBe('RestartStatefulSet');
  });

  it('uses the DaemonSet actions', () => {
    const ds = (facts: WorkloadFacts): WorkloadFacts => ({ ...facts, kind: 'DaemonSet' });
    expect(analyze(ds(oomFacts())).suggestedActions[0]?.type).toBe('AdjustDaemonSetResources');
    expect(analyze(ds(crashAfterImageChange())).suggestedActions[0]?.type).toBe('RollbackDaemonSet');
    expect(analyze(ds(notReadyFacts())).suggestedActions[0]?.type).toBe('RestartDaemonSet');
  });

  it('resizes Jobs and CronJobs that are OOM-killed', () => {
    const job = { ...oomFacts(), kind: 'Job', revisions: [] };
    expect(analyze(job).suggestedActions[0]?.type).toBe('AdjustJobResources');
    const cron = { ...oomFacts(), kind: 'CronJob', revisions: [] };
    expect(analyze(cron).suggestedActions[0]?.type).toBe('AdjustCronJobResources');
  });

  it('suggests nothing for a failing Job it has no remedy for', () => {
    const job: WorkloadFacts = {
      ...healthyFacts(),
      kind: 'Job',
      revisions: [],
      job: { active: 0, succeeded: 0, failed: 4, backoffLimit: 3, state: 'Failed (BackoffLimitExceeded)' },
    };
    const result = analyze(job, { signal: 'job_failed', signals: ['job_failed'] });
    expect(result.suggestedActions).toEqual([]);
    expect(result.confidence).toBeLessThanOrEqual(0.3);
    expect(result.analysis).toContain('BackoffLimitExceeded');
  });

  it('has no remedy for kinds it does not know', () => {
    const result = analyze({ ...oomFacts(), kind: 'Rollout' }, { signal: 'oom_kill' });
    expect(result.suggestedActions).toEqual([]);
    expect(result.confidence).toBeLessThanOrEqual(0.3);
  });
});

describe('rules provider: re-analysis and purity', () => {
  const scenarios: readonly [string, WorkloadFacts, string][] = [
    ['oom', oomFacts(), 'oom_kill'],
    ['bad release', crashAfterImageChange(), 'pod_restart'],
    ['not ready', notReadyFacts(), 'pod_not_ready'],
    [
      'crash without image change',
      crashAfterImageChange({ revisions: [revision(1, GOOD, { current: true })] }),
      'crashloop',
    ],
  ];

  for (const [name, facts, signal] of scenarios) {
    it(`${name}: walks its ladder without ever repeating a failed action, then stops`, () => {
      const doNotRepeat: string[] = [];
      const previousFailures: FailureEvidence[] = [];
      for (let attempt = 1; attempt <= 6; attempt++) {
        const result = analyze(facts, { signal, signals: [signal], doNotRepeat: [...doNotRepeat], previousFailures });
        for (const action of result.suggestedActions) expect(doNotRepeat).not.toContain(actionFingerprint(action));
        if (result.suggestedActions.length === 0) {
          expect(result.confidence).toBeLessThanOrEqual(0.3);
          expect(attempt).toBeGreaterThan(1);
          return;
        }
        doNotRepeat.push(...result.suggestedActions.map(actionFingerprint));
        previousFailures.push(failure(attempt, ...result.suggestedActions));
      }
      throw new Error('the ladder never ended');
    });
  }

  it('answers the same request the same way and does not touch it', () => {
    const request = analysisRequest(crashAfterImageChange(), { doNotRepeat: ['RestartDeployment'] });
    const frozen = structuredClone(request);
    deepFreeze(request);
    expect(analyzeWithRules(request)).toEqual(analyzeWithRules(request));
    expect(request).toEqual(frozen);
  });

  it('is exposed as a provider named "rules" that honours cancellation', async () => {
    const provider = createRulesProvider();
    expect(provider.name).toBe('rules');
    expect((await provider.analyze(analysisRequest(oomFacts()))).suggestedActions[0]?.type).toBe('AdjustResources');
    const controller = new AbortController();
    controller.abort();
    await expect(provider.analyze(analysisRequest(oomFacts()), { signal: controller.signal })).rejects.toThrow(
      /cancelled/,
    );
  });
});

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object') {
    for (const item of Object.values(value)) deepFreeze(item);
    Object.freeze(value);
  }
  return value;
}

// ---------------------------------------------------------------------------------------------------------------
// Causes, template changes and configuration

/** Revision 2 changed the pod template (not the image); its pods cannot start; revision 1 still serves. */
const templateChangeFacts = (
  changes: readonly string[],
  newPod: Partial<PodFacts>,
  overrides: Partial<WorkloadFacts> = {},
): WorkloadFacts =>
  healthyFacts({
    revisions: [
      revision(2, GOOD, { current: true, replicas: 2, templateChanges: changes }),
      revision(1, GOOD, { replicas: 1, readyReplicas: 1, ready: true }),
    ],
    currentRevision: 2,
    replicas: { desired: 2, ready: 1, available: 1, updated: 2 },
    pods: [pod('web-rs2-aaaaa', 2, { ready: false, ...newPod }), pod('web-rs1-bbbbb', 1)],
    notReadyPods: 1,
    ...overrides,
  });

const unschedulable = {
  code: 'unschedulable',
  message: "0/2 nodes are available: 2 node(s) didn't match Pod's node affinity/selector.",
  seenOn: 'Pod/web-rs2-aaaaa',
  field: 'spec.template.spec.nodeSelector / affinity.nodeAffinity',
} as const;

describe('rules provider: a template change whose new pods fail is rolled back first', () => {
  it('rolls back a nodeSelector nobody can satisfy instead of restarting "wedged" pods', () => {
    const facts = templateChangeFacts(
      ['spec.nodeSelector.disktype'],
      { phase: 'Pending', pending: true, reasons: ['Unschedulable'] },
      { blockers: [{ ...unschedulable, revision: 2 }] },
    );
    const result = analyze(facts, { signal: 'deploy_failing', signals: ['deploy_failing'] });
    expect(result.suggestedActions).toEqual([
      expect.objectContaining({ type: 'RollbackDeployment', params: { toRevision: '1' } }),
    ]);
    expect(result.confidence).toBe(RuleConfidence.templateRollbackToReady);
    expect(result.analysis).toContain('revision 2 changed its pod template (spec.nodeSelector.disktype)');
    expect(result.analysis).toContain("didn't match Pod's node affinity/selector");
    expect(result.analysis).not.toMatch(/wedged/);
  });

  it.each([
    ['an env change that crashes', ['spec.containers[app].env[MODE].value'], { restarts: 4, reasons: ['Error'] }],
    ['a probe change that never gets ready', ['spec.containers[app].readinessProbe.httpGet.path'], {}],
    [
      'a Secret reference that does not exist',
      ['spec.containers[app].env[DB_PASSWORD]'],
      { phase: 'Pending', pending: true, reasons: ['CreateContainerConfigError'] },
    ],
  ] as const)('rolls back %s', (_, changes, newPod) => {
    const result = analyze(templateChangeFacts(changes, newPod), { signal: 'deploy_failing' });
    expect(result.suggestedActions.map((a) => [a.type, a.params.toRevision])).toEqual([['RollbackDeployment', '1']]);
    expect(result.analysis).toContain(changes[0]);
  });

  it('goes back to a scaled-down revision, less sure, when no earlier one serves', () => {
    const facts = templateChangeFacts(
      ['spec.tolerations'],
      { phase: 'Pending', pending: true },
      {
        revisions: [
          revision(3, GOOD, { current: true, replicas: 2, templateChanges: ['spec.tolerations'] }),
          revision(2, GOOD),
          revision(1, GOOD),
        ],
        currentRevision: 3,
        pods: [pod('web-rs3-aaaaa', 3, { ready: false, phase: 'Pending', pending: true })],
      },
    );
    const result = analyze(facts, { signal: 'deploy_failing' });
    expect(result.suggestedActions[0]?.params).toEqual({ toRevision: '2' });
    expect(result.confidence).toBe(RuleConfidence.templateRollbackToScaledDown);
  });

  it('does not blame the template when only pods of the older revision fail', () => {
    const facts = healthyFacts({
      revisions: [
        revision(2, GOOD, {
          current: true,
          replicas: 1,
          readyReplicas: 1,
          ready: true,
          templateChanges: ['spec.priority'],
        }),
        revision(1, GOOD, { replicas: 1 }),
      ],
      currentRevision: 2,
      pods: [pod('web-rs1-aaaaa', 1, { ready: false }), pod('web-rs2-bbbbb', 2)],
      notReadyPods: 1,
    });
    const result = analyze(facts, { signal: 'pod_not_ready' });
    expect(result.suggestedActions[0]?.type).toBe('RestartDeployment');
  });

  it("does not count Cairn's own restart annotation as a template change", () => {
    const facts = templateChangeFacts(['metadata.annotations[kubectl.kubernetes.io/restartedAt]'], {});
    const result = analyze(facts, { signal: 'pod_not_ready' });
    expect(result.analysis).not.toContain('changed its pod template');
  });
});

describe('rules provider: causes no action removes are escalated with the field to fix', () => {
  const blocked = (blocker: Record<string, unknown>, overrides: Partial<WorkloadFacts> = {}) =>
    healthyFacts({
      replicas: { desired: 2, ready: 0, available: 0, updated: 2 },
      pods: [pod('web-rs1-aaaaa', 1, { ready: false, phase: 'Pending', pending: true })],
      notReadyPods: 1,
      blockers: [{ seenOn: 'Pod/web-rs1-aaaaa', revision: 1, ...blocker } as never],
      ...overrides,
    });

  it.each([
    [
      'a missing Secret',
      {
        code: 'config_missing',
        message: 'container app: secret "db-credentials" not found',
        object: { kind: 'Secret', name: 'db-credentials' },
        field: 'spec.template.spec.containers[app] (env / envFrom / volumes)',
      },
      ['Secret db-credentials', 'spec.template.spec.containers[app]'],
    ],
    [
      'a missing ConfigMap key',
      {
        code: 'config_missing',
        message: "container app: couldn't find key LEVEL in ConfigMap shop/settings",
        object: { kind: 'ConfigMap', name: 'settings' },
      },
      ['ConfigMap settings', 'LEVEL'],
    ],
    ['an impossible node selector', unschedulable, ['spec.template.spec.nodeSelector', 'node affinity/selector']],
    [
      'an admission webhook denial',
      {
        code: 'admission_denied',
        message: 'admission webhook "policy.example.com" denied the request: privileged containers are not allowed',
        seenOn: 'ReplicaSet/web-rs1',
        object: { kind: 'AdmissionWebhook', name: 'policy.example.com' },
      },
      ['policy.example.com', 'privileged containers'],
    ],
    [
      'a LimitRange',
      {
        code: 'limit_range',
        message: 'pods "web-x" is forbidden: maximum memory usage per Container is 256Mi, but limit is 1Gi',
        seenOn: 'ReplicaSet/web-rs1',
        object: { kind: 'LimitRange', name: '' },
        field: 'spec.template.spec.containers[*].resources',
      },
      ['maximum memory usage per Container is 256Mi', 'spec.template.spec.containers[*].resources'],
    ],
  ])('%s: no action, low confidence, the object and field named', (_, blocker, named) => {
    const result = analyze(blocked(blocker), { signal: 'deploy_failing' });
    expect(result.suggestedActions).toEqual([]);
    expect(result.confidence).toBeLessThanOrEqual(0.3);
    for (const text of named) expect(`${result.analysis} ${result.recommendations.join(' ')}`).toContain(text);
    expect(result.analysis).not.toMatch(/wedged/);
  });

  it('an exceeded quota: names the ResourceQuota with its used/hard numbers', () => {
    const facts = blocked(
      {
        code: 'quota_exceeded',
        message:
          'pods "web-x" is forbidden: exceeded quota: compute, requested: limits.memory=128Mi, used: limits.memory=256Mi, limited: limits.memory=256Mi',
        seenOn: 'ReplicaSet/web-rs1',
        object: { kind: 'ResourceQuota', name: 'compute' },
      },
      {
        quotas: [
          { name: 'compute', usage: { 'limits.memory': '256Mi/256Mi', pods: '2/10' }, exhausted: ['limits.memory'] },
        ],
      },
    );
    const result = analyze(facts, { signal: 'deploy_failing' });
    expect(result.suggestedActions).toEqual([]);
    expect(result.confidence).toBeLessThanOrEqual(0.3);
    expect(result.analysis).toContain('ResourceQuota compute: limits.memory 256Mi/256Mi');
    expect(result.recommendations.join(' ')).toContain('Raise the hard limits of ResourceQuota compute');
  });

  it('a Job past its activeDeadlineSeconds: names the field, proposes nothing', () => {
    const facts = healthyFacts({
      kind: 'Job',
      name: 'nightly',
      revisions: [],
      job: { active: 0, succeeded: 0, failed: 1, state: 'Failed (DeadlineExceeded)' },
      blockers: [
        {
          code: 'deadline_exceeded',
          message: 'Job was active longer than specified deadline (activeDeadlineSeconds 60)',
          seenOn: 'Job/nightly',
          field: 'spec.activeDeadlineSeconds',
        },
      ],
    });
    const result = analyze(facts, { signal: 'job_failed' });
    expect(result.suggestedActions).toEqual([]);
    expect(result.confidence).toBeLessThanOrEqual(0.3);
    expect(result.analysis).toContain('spec.activeDeadlineSeconds');
  });

  it('pending pods with no known cause are not "wedged": no restart', () => {
    const facts = healthyFacts({
      pods: [pod('web-rs1-aaaaa', 1, { ready: false, phase: 'Pending', pending: true })],
      notReadyPods: 1,
    });
    const result = analyze(facts, { signal: 'pod_not_ready' });
    expect(result.suggestedActions).toEqual([]);
    expect(result.confidence).toBe(RuleConfidence.pendingNoFix);
    expect(result.analysis).toContain('never started');
  });

  it('a CronJob that missed its schedule: names what to check, proposes nothing', () => {
    const facts = healthyFacts({ kind: 'CronJob', name: 'report', revisions: [], replicas: undefined });
    const result = analyze(facts, { signal: 'cronjob_missed', signals: ['cronjob_missed'] });
    expect(result.suggestedActions).toEqual([]);
    expect(result.confidence).toBeLessThanOrEqual(0.3);
    expect(result.recommendations.join(' ')).toContain('spec.startingDeadlineSeconds');
  });
});

describe('rules provider: configuration that points at nothing', () => {
  const subject = (kind: string, name: string, problems: string[], overrides: Partial<WorkloadFacts> = {}) =>
    healthyFacts({
      kind,
      name,
      replicas: undefined,
      containers: [],
      revisions: [],
      podCount: 0,
      subject: { problems },
      ...overrides,
    });

  it.each([
    [
      'Service',
      'web-svc',
      'service_no_endpoints',
      'spec.selector of Service web-svc matches no pod: app is wbe but the nearest pods have app=web',
    ],
    [
      'Ingress',
      'shop',
      'ingress_misconfigured',
      'spec.rules[0].http.paths[0].backend.service.name: Service web-svc does not exist',
    ],
    ['PersistentVolumeClaim', 'data', 'pvc_pending', 'spec.storageClassName: StorageClass fast does not exist'],
    ['HorizontalPodAutoscaler', 'web', 'hpa_misconfigured', 'spec.scaleTargetRef: Deployment webb does not exist'],
    [
      'NetworkPolicy',
      'deny',
      'netpol_selects_nothing',
      'spec.podSelector app=wbe of NetworkPolicy deny selects no pod',
    ],
    [
      'ValidatingWebhookConfiguration',
      'policy',
      'webhook_unavailable',
      'webhook check.example.com: Service policy/checker has no ready endpoint (failurePolicy Fail: matching requests are rejected)',
    ],
  ])('%s %s (%s): no action, confidence ≤ 0.3, the field named', (kind, name, signal, problem) => {
    const result = analyze(subject(kind, name, [problem]), { signal, signals: [signal] });
    expect(result.suggestedActions).toEqual([]);
    expect(result.confidence).toBeLessThanOrEqual(0.3);
    expect(result.analysis).toContain(problem);
    expect(result.recommendations[0]).toBe(`Fix: ${problem}.`);
  });

  it('says so when the subject shows no problem any more', () => {
    const result = analyze(subject('Service', 'web-svc', []), { signal: 'service_no_endpoints' });
    expect(result.analysis).toBe('unknown');
    expect(result.suggestedActions).toEqual([]);
  });

  it('a Service that selects none of the workload since its template changed a label: rolls the label back', () => {
    const facts = healthyFacts({
      revisions: [
        revision(2, GOOD, {
          current: true,
          replicas: 2,
          readyReplicas: 2,
          ready: true,
          templateChanges: ['metadata.labels.tier'],
        }),
        revision(1, GOOD, { replicas: 0 }),
      ],
      currentRevision: 2,
      pods: [pod('web-rs2-aaaaa', 2), pod('web-rs2-bbbbb', 2)],
      services: [
        {
          name: 'web-svc',
          type: 'ClusterIP',
          selector: { app: 'web', tier: 'frontend' },
          matchingPods: 0,
          readyEndpoints: 0,
          notReadyEndpoints: 0,
          selectsWorkload: false,
          mismatchedLabels: [{ key: 'tier', wants: 'frontend', podsHave: 'front' }],
        },
      ],
    });
    const result = analyze(facts, { signal: 'service_no_endpoints' });
    expect(result.suggestedActions).toEqual([
      expect.objectContaining({ type: 'RollbackDeployment', params: { toRevision: '1' } }),
    ]);
    expect(result.analysis).toContain('Service web-svc selects no pod');
  });

  it('the same Service without a template change: escalates naming the Service and the label', () => {
    const facts = healthyFacts({
      services: [
        {
          name: 'web-svc',
          type: 'ClusterIP',
          selector: { app: 'wbe' },
          matchingPods: 0,
          readyEndpoints: 0,
          notReadyEndpoints: 0,
          selectsWorkload: false,
          mismatchedLabels: [{ key: 'app', wants: 'wbe', podsHave: 'web' }],
        },
      ],
    });
    const result = analyze(facts, { signal: 'service_no_endpoints' });
    expect(result.suggestedActions).toEqual([]);
    expect(result.confidence).toBeLessThanOrEqual(0.3);
    expect(result.analysis).toContain(
      'spec.selector of Service web-svc matches no pod: app=wbe where the pods have app=web',
    );
  });

  it('a pending claim of a StatefulSet with a missing StorageClass: names the claim and the class', () => {
    const facts = healthyFacts({
      kind: 'StatefulSet',
      name: 'db',
      pvcs: [{ name: 'data-db-0', phase: 'Pending', storageClass: 'fast', storageClassExists: false }],
    });
    const result = analyze(facts, { signal: 'pvc_pending' });
    expect(result.suggestedActions).toEqual([]);
    expect(result.analysis).toContain('PersistentVolumeClaim data-db-0 names StorageClass fast');
  });

  it('a WaitForFirstConsumer claim Pending by design is no problem', () => {
    const facts = healthyFacts({
      pvcs: [
        {
          name: 'data',
          phase: 'Pending',
          storageClass: 'local',
          storageClassExists: true,
          bindingMode: 'WaitForFirstConsumer',
          problem: 'WaitForFirstConsumer: waiting for first consumer',
        },
      ],
    });
    const result = analyze(facts, { signal: 'pvc_pending' });
    expect(result.analysis).not.toContain('PersistentVolumeClaim data');
  });
});

describe('agentic rules step after a no-action analysis', () => {
  const step = (facts: WorkloadFacts) => {
    const base = agenticStepRequest();
    return decideAgenticStepWithRules({
      ...base,
      context: { text: 'context', facts },
      history: [],
      availableActions: [
        { type: 'RestartDeployment', description: 'restart', destructive: true },
        { type: 'DeletePod', description: 'delete a pod', destructive: true },
        { type: 'RollbackDeployment', description: 'roll back', destructive: true },
      ] as never,
    });
  };

  it('does not call a Service with a selector typo healthy: it gives up with the problem', () => {
    const result = step(
      healthyFacts({
        kind: 'Service',
        name: 'web-svc',
        replicas: undefined,
        revisions: [],
        subject: { problems: ['spec.selector of Service web-svc matches no pod'] },
      }),
    );
    expect(result.decision).toBe('give-up');
    expect(result.reasoning).toContain('spec.selector of Service web-svc matches no pod');
  });

  it('neither restarts nor deletes pods blocked on a missing Secret or pending', () => {
    for (const facts of [
      healthyFacts({
        pods: [pod('web-rs1-aaaaa', 1, { ready: false, phase: 'Pending', pending: true }), pod('web-rs1-bbbbb', 1)],
        notReadyPods: 1,
        blockers: [{ code: 'config_missing', message: 'secret "db" not found', seenOn: 'Pod/web-rs1-aaaaa' }],
      }),
      healthyFacts({
        pods: [pod('web-rs1-aaaaa', 1, { ready: false, phase: 'Pending', pending: true }), pod('web-rs1-bbbbb', 1)],
        notReadyPods: 1,
      }),
    ]) {
      const result = step(facts);
      expect(result.decision).toBe('give-up');
      expect('action' in result ? result.action : undefined).toBeUndefined();
    }
  });
});

describe('node trouble and evictions', () => {
  const nodeFacts = absentWorkloadFacts({ kind: 'Node', name: 'worker-3', namespace: '' });

  it('escalates a node short of disk with what to free, and proposes nothing', () => {
    const result = analyzeWithRules(
      analysisRequest(nodeFacts, {
        signal: 'disk_pressure',
        signals: ['disk_pressure'],
        description: 'node is low on disk (DiskPressure: kubelet has disk pressure)',
      }),
    );
    expect(result.suggestedActions).toEqual([]);
    expect(result.confidence).toBeLessThanOrEqual(0.3);
    expect(result.analysis).toContain('Node worker-3 is short of disk');
    expect(result.recommendations.join('\n')).toMatch(/unused images/);
    expect(result.recommendations.join('\n')).toMatch(/kubectl cordon/);
  });

  it('names every trouble of a node that is not ready and short of memory', () => {
    const result = analyzeWithRules(
      analysisRequest(nodeFacts, { signal: 'node_not_ready', signals: ['node_not_ready', 'memory_pressure'] }),
    );
    expect(result.analysis).toContain('is not ready and is short of memory');
    expect(result.recommendations.join('\n')).toMatch(/kubelet/);
    expect(result.recommendations.join('\n')).toMatch(/limits/);
    expect(result.suggestedActions).toEqual([]);
  });

  it('escalates evicted pods of an otherwise healthy workload with the requests to set, and restarts nothing', () => {
    const result = analyzeWithRules(
      analysisRequest(healthyFacts(), {
        signal: 'pod_evicted',
        signals: ['pod_evicted'],
        description: 'pod was evicted from node worker-3: The node was low on resource: memory.',
      }),
    );
    expect(result.suggestedActions).toEqual([]);
    expect(result.confidence).toBeLessThanOrEqual(0.3);
    expect(result.analysis).toContain('were evicted by their node');
    expect(result.recommendations.join('\n')).toMatch(/requests/);
  });

  it('still rolls back a crashing release when one of its pods was also evicted', () => {
    const result = analyzeWithRules(
      analysisRequest(crashAfterImageChange(), { signal: 'pod_restart', signals: ['pod_restart', 'pod_evicted'] }),
    );
    expect(result.suggestedActions.map((a) => a.type)).toEqual(['RollbackDeployment']);
  });
});
