import { describe, expect, it } from 'vitest';
import { isCairnError } from '../../domain/errors.ts';
import { healthyFacts, revision } from '../../test/fixtures/analysis.fixtures.ts';
import {
  AgenticDecision,
  type AgenticHistoryEntry,
  type AgenticProvider,
  type AgenticStepRequest,
  type AgenticStepResult,
  type AvailableAction,
  assertAgenticStepResult,
  chainAgenticProviders,
  createRulesAgenticProvider,
  decideAgenticStepWithRules,
  RULES_AGENTIC_PROVIDER,
} from './agentic.ts';
import type { PodFacts, WorkloadFacts } from './workloadFacts.ts';

const GOOD = 'registry.local/shop/web:1.0.0';
const BROKEN = 'registry.local/shop/web:1.0.0-broken';

const available = (...types: string[]): AvailableAction[] =>
  types.map((type) => ({ type, description: type, destructive: type === 'DeletePod', params: {} }));
const ALL = available('AdjustResources', 'RollbackDeployment', 'RestartDeployment', 'DeletePod', 'ScaleDeployment');

const pod = (name: string, overrides: Partial<PodFacts> = {}): PodFacts => ({
  name,
  revision: 1,
  phase: 'Running',
  ready: true,
  restarts: 0,
  reasons: [],
  oomKilledContainers: [],
  ...overrides,
});

const request = (
  facts: WorkloadFacts,
  overrides: Partial<Omit<AgenticStepRequest, 'context'>> = {},
): AgenticStepRequest => ({
  issueId: 'web-1',
  remediationId: 'web-1-insight-1-plan',
  namespace: facts.namespace,
  workload: { kind: facts.kind, name: facts.name, namespace: facts.namespace },
  signal: 'pod_not_ready',
  signals: ['pod_not_ready'],
  severity: 'medium',
  riskScore: 40,
  description: 'test',
  context: { text: 'context', facts },
  history: [],
  budget: { step: 1, maxSteps: 10, remainingSteps: 9, remainingSeconds: 600 },
  availableActions: ALL,
  doNotRepeat: [],
  previousFailures: [],
  ...overrides,
});

const decide = (req: AgenticStepRequest): AgenticStepResult => {
  const result = decideAgenticStepWithRules(req);
  // Every answer must pass the port's own schema.
  assertAgenticStepResult(RULES_AGENTIC_PROVIDER, result);
  return result;
};
const actionOf = (result: AgenticStepResult) => {
  if (result.decision !== AgenticDecision.Action) throw new Error(`expected an action, got ${result.decision}`);
  return { type: result.action.type, params: result.action.params };
};

/** Three replicas, one of them wedged (running, not ready). */
const oneWedged = (overrides: Partial<WorkloadFacts> = {}) =>
  healthyFacts({
    replicas: { desired: 3, ready: 2, available: 2, updated: 3 },
    pods: [pod('web-a', { ready: false, reasons: [] }), pod('web-b'), pod('web-c')],
    podCount: 3,
    notReadyPods: 1,
    ...overrides,
  });

const oom = healthyFacts({
  replicas: { desired: 1, ready: 0, available: 0, updated: 1 },
  containers: [{ name: 'app', image: GOOD, memoryLimit: '128Mi', memoryRequest: '64Mi' }],
  pods: [pod('web-a', { ready: false, restarts: 4, reasons: ['OOMKilled'], oomKilledContainers: ['app'] })],
  podCount: 1,
  notReadyPods: 1,
  oomKilled: true,
  oomKilledContainers: ['app'],
  crashLooping: true,
});

const acted = (
  step: number,
  type: string,
  params: Record<string, string>,
  outcome: AgenticHistoryEntry['outcome'],
): AgenticHistoryEntry => ({ step, reasoning: 'r', action: { type, params }, outcome, result: 'x', observation: 'o' });

describe('rules agentic provider', () => {
  it('replaces the one sick pod when the others serve', () => {
    expect(actionOf(decide(request(oneWedged())))).toEqual({ type: 'DeletePod', params: { pod: 'web-a' } });
  });

  it('never repeats an action that was refused or failed: moves on to the next candidate', () => {
    const history = [acted(1, 'DeletePod', { pod: 'web-a' }, 'refused')];
    expect(actionOf(decide(request(oneWedged(), { history })))).toEqual({ type: 'RestartDeployment', params: {} });
    const failed = [acted(1, 'DeletePod', { pod: 'web-a' }, 'failed'), acted(2, 'RestartDeployment', {}, 'failed')];
    expect(decide(request(oneWedged(), { history: failed })).decision).toBe(AgenticDecision.GiveUp);
  });

  it('skips what already failed on the Issue and what the policy does not offer', () => {
    const result = decide(
      request(oneWedged(), { doNotRepeat: ['DeletePod(pod=web-a)'], availableActions: available('DeletePod') }),
    );
    expect(result.decision).toBe(AgenticDecision.GiveUp);
    expect(result.reasoning).toMatch(/human/);
  });

  it('raises the memory limit of an OOMKilled container, doubling from the current limit each step', () => {
    expect(actionOf(decide(request(oom, { signal: 'oom_kill' })))).toEqual({
      type: 'AdjustResources',
      params: { container: 'app', memory_limit: '256Mi' },
    });
    // The refreshed context shows the raised limit; still OOM: raise again, a different action.
    const raised = { ...oom, containers: [{ name: 'app', image: GOOD, memoryLimit: '256Mi', memoryRequest: '64Mi' }] };
    const history = [acted(1, 'AdjustResources', { container: 'app', memory_limit: '256Mi' }, 'succeeded')];
    expect(actionOf(decide(request(raised, { signal: 'oom_kill', history })))).toEqual({
      type: 'AdjustResources',
      params: { container: 'app', memory_limit: '512Mi' },
    });
  });

  it('rolls a crash-looping release back to the revision with the other image', () => {
    const facts = healthyFacts({
      replicas: { desired: 1, ready: 0, available: 0, updated: 1 },
      containers: [{ name: 'app', image: BROKEN }],
      revisions: [revision(2, BROKEN, { current: true }), revision(1, GOOD)],
      currentRevision: 2,
      pods: [pod('web-a', { revision: 2, ready: false, restarts: 6, reasons: ['CrashLoopBackOff'] })],
      podCount: 1,
      notReadyPods: 1,
      crashLooping: true,
    });
    expect(actionOf(decide(request(facts, { signal: 'crashloop' })))).toEqual({
      type: 'RollbackDeployment',
      params: { toRevision: '1' },
    });
  });

  it('rolls back at most once: a second rollback would only return to a template already tried', () => {
    const facts = healthyFacts({
      replicas: { desired: 1, ready: 0, available: 0, updated: 1 },
      containers: [{ name: 'app', image: BROKEN }],
      revisions: [revision(3, BROKEN, { current: true }), revision(2, BROKEN)],
      currentRevision: 3,
      pods: [pod('web-a', { revision: 3, ready: false, restarts: 6, reasons: ['CrashLoopBackOff'] })],
      podCount: 1,
      notReadyPods: 1,
      crashLooping: true,
    });
    const history = [acted(1, 'RollbackDeployment', { toRevision: '1' }, 'succeeded')];
    expect(actionOf(decide(request(facts, { signal: 'crashloop', history })))).toEqual({
      type: 'RestartDeployment',
      params: {},
    });
    const failedBefore = ['RollbackDeployment(toRevision=1)', 'RestartDeployment'];
    expect(decide(request(facts, { signal: 'crashloop', doNotRepeat: failedBefore })).decision).toBe(
      AgenticDecision.GiveUp,
    );
  });

  it('watches a rollout that is still under way after a successful action instead of acting again', () => {
    const rolling = oneWedged({ replicas: { desired: 3, ready: 2, available: 2, updated: 2 }, podCount: 4 });
    const history = [acted(1, 'RestartDeployment', {}, 'succeeded')];
    expect(decide(request(rolling, { history })).decision).toBe(AgenticDecision.Observe);
    // ...but not forever.
    const watched = [...history, { step: 2, reasoning: 'wait' }, { step: 3, reasoning: 'wait' }];
    expect(decide(request(rolling, { history: watched })).decision).not.toBe(AgenticDecision.Observe);
  });

  it('declares the problem resolved once the workload is healthy, with a conclusion for the PostMortem', () => {
    const history = [acted(1, 'DeletePod', { pod: 'web-a' }, 'succeeded')];
    const result = decide(request(healthyFacts(), { history }));
    expect(result.decision).toBe(AgenticDecision.Resolved);
    if (result.decision !== AgenticDecision.Resolved) return;
    expect(result.conclusion.summary).toContain('1 action(s)');
    expect(result.confidence).toBeGreaterThan(0.5);
  });

  it('gives up on a workload it cannot read', () => {
    const facts = { ...healthyFacts(), found: false };
    expect(decide(request(facts)).decision).toBe(AgenticDecision.GiveUp);
  });

  it('answers the same request the same way', () => {
    const req = request(oneWedged());
    expect(decideAgenticStepWithRules(req)).toEqual(decideAgenticStepWithRules(req));
  });
});

describe('agentic port', () => {
  it('refuses an answer that is not a step, naming the problem', () => {
    const bad = { decision: 'action', reasoning: 'x', confidence: 2, provider: 'p', model: 'm' };
    expect(() => assertAgenticStepResult('p', bad)).toThrow(/invalid agentic step/);
    expect(() => assertAgenticStepResult('p', { ...bad, decision: 'maybe' })).toThrow(/invalid agentic step/);
  });

  it('falls back along a chain when a provider fails or answers nonsense', async () => {
    const broken: AgenticProvider = {
      name: 'broken',
      agenticStep: async () => {
        throw new Error('HTTP 500');
      },
    };
    const nonsense: AgenticProvider = { name: 'nonsense', agenticStep: async () => ({}) as AgenticStepResult };
    const failures: string[] = [];
    const chain = chainAgenticProviders([broken, nonsense, createRulesAgenticProvider()], {
      onFallback: (f) => failures.push(f.provider),
    });
    const result = await chain.agenticStep(request(oneWedged()));
    expect(result.provider).toBe(RULES_AGENTIC_PROVIDER);
    expect(failures).toEqual(['broken', 'nonsense']);
  });

  it('times out a provider that never answers, and reports when all fail', async () => {
    const silent: AgenticProvider = { name: 'silent', agenticStep: () => new Promise(() => {}) };
    const chain = chainAgenticProviders([silent], { timeoutMs: 20 });
    const error = await chain.agenticStep(request(oneWedged())).catch((e: unknown) => e);
    expect(isCairnError(error) && error.code).toBe('AgenticUnavailable');
    expect(String((error as Error).message)).toMatch(/silent: .*within 20 ms/);
  });
});
