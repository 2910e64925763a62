import { describe, expect, it } from 'vitest';
import type { FailureEvidence } from '../../../domain/events/common.schema.ts';
import { analysisRequest, healthyFacts, workload } from '../../../test/fixtures/analysis.fixtures.ts';
import { defaultRemediationPolicy } from '../../actions/policy.ts';
import { actionDefinitions } from '../../actions/registry.ts';
import type { ContextSection } from '../../enrichers/enricher.ts';
import type { AgenticStepRequest, AvailableAction } from '../agentic.ts';
import type { AnalysisRequest } from '../provider.ts';
import { buildAgenticPrompt } from './agentic.prompt.ts';
import { buildAnalysisPrompt } from './analysis.prompt.ts';
import { PromptLimits } from './promptParts.ts';

// The prompts are the contract with every model: a change to one shows up as a diff of these files in review.

const crashContext = [
  'Deployment shop/web: 2 desired, 1 ready, 1 available, 1 updated; revision 2',
  'containers:',
  '  app image registry.local/shop/web:1.0.0-broken; limits memory 128Mi; requests cpu 100m memory 64Mi',
  '    env: LOG_LEVEL=info DB_HOST=db.shop',
  'revisions (newest first):',
  '  2 web-7d9f (current): 1/1 pods, 0 ready; image app: registry.local/shop/web:1.0.0 → registry.local/shop/web:1.0.0-broken',
  '  1 web-5c4b: 1/1 pods, 1 ready',
  'pods (unhealthy first):',
  '  web-7d9f-x2k1 (rev 2): Running, not ready, restarts 6; app CrashLoopBackOff (last exit 1, Error)',
  '  web-5c4b-q8n3 (rev 1): Running, ready, restarts 0',
  'events (newest first):',
  '  Warning BackOff pod/web-7d9f-x2k1: Back-off restarting failed container app (x12)',
].join('\n');

const logs: ContextSection = {
  enricher: 'logs',
  title: 'Logs of web-7d9f-x2k1 (app, previous container)',
  text: [
    'critical lines (3 lines of context):',
    '  2026-01-01T12:00:01Z INFO starting web 1.0.0-broken',
    '  2026-01-01T12:00:02Z ERROR config: missing required key PAYMENT_URL',
    '  2026-01-01T12:00:02Z FATAL exiting with status 1',
    'error patterns: crash/config (1)',
  ].join('\n'),
  facts: { patterns: { crash: 1 } },
};

const metrics: ContextSection = {
  enricher: 'metrics',
  title: 'Metrics of shop/web (last 30 min)',
  text: 'memory: 61 MiB of 128Mi limit, steady\ncpu: 12m, steady\nrestarts: rising (6 in 10 min)',
};

const oomFailure: FailureEvidence = {
  remediationId: 'rem-1',
  attempt: 1,
  outcome: 'rolled_back',
  reason: 'verification timed out: pods still OOMKilled after 90 s',
  attemptedActions: [{ type: 'AdjustResources', params: { container: 'app', memory_limit: '256Mi' } }],
  observations: ['app OOMKilled at 256Mi after 40 s', 'memory climbs linearly from start'],
};

const requests: Record<string, AnalysisRequest> = {
  'analysis-crashloop-after-release': {
    ...analysisRequest(healthyFacts(), {
      signal: 'crashloop',
      signals: ['crashloop', 'pod_not_ready'],
      severity: 'high',
      riskScore: 60,
      description: 'web crash-loops since revision 2',
      sections: [logs, metrics],
    }),
    context: { text: crashContext, facts: healthyFacts() },
  },
  'analysis-oom-second-attempt': analysisRequest(healthyFacts(), {
    signal: 'oom_kill',
    signals: ['oom_kill', 'pod_restart'],
    severity: 'critical',
    riskScore: 80,
    description: 'app OOMKilled repeatedly',
    previousFailures: [oomFailure],
    doNotRepeat: ['AdjustResources(container=app,memory_limit=256Mi)'],
    sections: [{ ...metrics, text: 'memory: at the 256Mi limit before each restart, rising linearly' }],
  }),
  'analysis-statefulset-thin-evidence': analysisRequest(
    healthyFacts({ kind: 'StatefulSet', name: 'db', namespace: 'data' }),
    {
      signal: 'pod_not_ready',
      signals: ['pod_not_ready'],
      severity: 'low',
      riskScore: 20,
      description: 'db-1 not ready',
      sections: [
        {
          enricher: 'metrics',
          title: 'metrics',
          text: 'metrics: not available',
          unavailable: 'Prometheus at http://prometheus:9090 did not answer',
        },
      ],
    },
  ),
};

const available = (types: readonly string[]): AvailableAction[] =>
  actionDefinitions
    .filter((d) => types.includes(d.type))
    .map((d) => ({ type: d.type, description: d.describe, destructive: d.destructive, params: d.params }));

const agenticRequest = (overrides: Partial<AgenticStepRequest> = {}): AgenticStepRequest => {
  const base = requests['analysis-crashloop-after-release']!;
  return {
    issueId: base.issueId,
    remediationId: 'rem-agentic-1',
    namespace: base.namespace,
    workload: base.workload,
    signal: base.signal,
    signals: base.signals,
    severity: base.severity,
    riskScore: base.riskScore,
    description: base.description,
    context: base.context,
    insight: {
      analysis: 'Revision 2 fails on start: PAYMENT_URL is missing from its configuration.',
      confidence: 0.7,
      recommendations: [],
      provider: 'openai',
      model: 'gpt-test-1',
    },
    history: [
      {
        step: 1,
        reasoning: 'One pod of revision 2 crash-loops; restarting will not fix config, but the pod may be stuck.',
        action: { type: 'DeletePod', params: { pod: 'web-7d9f-x2k1' } },
        outcome: 'succeeded',
        result: 'deleted pod shop/web-7d9f-x2k1',
        observation: 'the replacement pod web-7d9f-z9p0 crash-loops the same way',
      },
      { step: 2, reasoning: 'Waiting for the replacement to settle.', observation: 'web-7d9f-z9p0 restarts 3' },
    ],
    budget: { step: 3, maxSteps: 5, remainingSteps: 2, remainingSeconds: 240 },
    availableActions: available(['RollbackDeployment', 'RestartDeployment', 'AdjustResources', 'DeletePod', 'Custom']),
    doNotRepeat: ['DeletePod(pod=web-7d9f-x2k1)'],
    previousFailures: [],
    ...overrides,
  };
};

const snapshot = (prompt: { system: string; user: string }) =>
  `=== system ===\n${prompt.system}\n\n=== user ===\n${prompt.user}\n`;

describe('analysis prompt', () => {
  for (const [name, request] of Object.entries(requests)) {
    it(`matches its snapshot: ${name}`, async () => {
      await expect(snapshot(buildAnalysisPrompt(request))).toMatchFileSnapshot(`./__snapshots__/${name}.txt`);
    });
  }

  it('offers only actions for the workload kind that policy allows, never Custom', () => {
    const prompt = buildAnalysisPrompt(requests['analysis-crashloop-after-release']!, {
      policy: defaultRemediationPolicy({ allowedActions: ['RollbackDeployment', 'RestartStatefulSet', 'Custom'] }),
    });
    expect(prompt.actionTypes).toEqual(['RollbackDeployment']);
    expect(prompt.user).not.toMatch(/- Custom|RestartStatefulSet/);
  });

  it('carries the failures, the do-not-repeat list and the safety rules', () => {
    const prompt = buildAnalysisPrompt(requests['analysis-oom-second-attempt']!);
    expect(prompt.user).toContain('AdjustResources(container=app,memory_limit=256Mi)');
    expect(prompt.user).toContain('Attempt 1 was rolled back: verification timed out');
    expect(prompt.user).toContain('Attempt: 2');
    expect(prompt.system).toContain('Never suggest Custom');
    expect(prompt.system).toContain('protected namespace (kube-system, kube-public, kube-node-lease)');
  });

  it('stays within its bound however large the context, keeping every fixed part', () => {
    const huge = `${'x'.repeat(200)}\n`;
    const request = analysisRequest(healthyFacts(), {
      description: 'd'.repeat(50_000),
      sections: Array.from({ length: 12 }, (_, i) => ({
        enricher: `source${i}`,
        title: `Source ${i}`,
        text: huge.repeat(500),
      })),
      previousFailures: Array.from({ length: 9 }, (_, i) => ({
        ...oomFailure,
        attempt: i + 1,
        observations: Array.from({ length: 50 }, () => 'o'.repeat(2_000)),
      })),
      doNotRepeat: Array.from({ length: 500 }, (_, i) => `RestartDeployment(n=${i})`),
    });
    const prompt = buildAnalysisPrompt({ ...request, context: { ...request.context, text: huge.repeat(1_000) } });
    expect(prompt.user.length).toBeLessThanOrEqual(PromptLimits.maxChars);
    expect(prompt.system.length).toBeLessThan(5_000);
    // Every section is still there (cut, not dropped) and the parts after them survive.
    for (let i = 0; i < 12; i++) expect(prompt.user).toContain(`### Source ${i} (source${i})`);
    expect(prompt.user).toContain('(4 earlier failed attempts not shown)');
    expect(prompt.user).toContain('(and 450 more)');
    expect(prompt.user).toContain('## Available actions');
    expect(prompt.user).toMatch(/## Answer\nReply with the JSON object/);
  });

  it('keeps short sections whole when long ones share what is left', () => {
    const request = analysisRequest(healthyFacts(), {
      sections: [
        { enricher: 'metrics', title: 'Metrics', text: 'cpu steady; memory steady' },
        { enricher: 'logs', title: 'Logs', text: 'line\n'.repeat(20_000) },
      ],
    });
    const prompt = buildAnalysisPrompt(request, { maxChars: 20_000 });
    expect(prompt.user.length).toBeLessThanOrEqual(20_000);
    expect(prompt.user).toContain('cpu steady; memory steady');
    expect(prompt.user).toContain('… (truncated)');
  });
});

describe('agentic prompt', () => {
  it('matches its snapshot: a third step after a pod delete and an observation', async () => {
    await expect(snapshot(buildAgenticPrompt(agenticRequest()))).toMatchFileSnapshot(
      './__snapshots__/agentic-third-step.txt',
    );
  });

  it('matches its snapshot: the last step of the budget', async () => {
    const prompt = buildAgenticPrompt(
      agenticRequest({ budget: { step: 5, maxSteps: 5, remainingSteps: 0, remainingSeconds: 30 } }),
    );
    expect(prompt.user).toContain('This is the last step');
    await expect(snapshot(prompt)).toMatchFileSnapshot('./__snapshots__/agentic-last-step.txt');
  });

  it('offers the loop’s actions except Custom, and lists the steps so far with their outcomes', () => {
    const prompt = buildAgenticPrompt(agenticRequest());
    expect(prompt.actionTypes).toEqual(['RestartDeployment', 'RollbackDeployment', 'AdjustResources', 'DeletePod']);
    expect(prompt.user).toContain('action: DeletePod(pod=web-7d9f-x2k1)');
    expect(prompt.user).toContain('outcome: succeeded: deleted pod shop/web-7d9f-x2k1');
    expect(prompt.user).toContain('action: no action (observed)');
    expect(prompt.user).toContain('This is step 3 of at most 5; 2 step(s) left');
  });

  it('stays within its bound with a long history, summarising the oldest steps', () => {
    const history = Array.from({ length: 60 }, (_, i) => ({
      step: i + 1,
      reasoning: 'r'.repeat(5_000),
      action: { type: 'RestartDeployment', params: {} },
      outcome: 'failed' as const,
      result: 'e'.repeat(5_000),
      observation: 'o'.repeat(5_000),
    }));
    const prompt = buildAgenticPrompt(
      agenticRequest({ history, context: { text: 'c'.repeat(100_000), facts: healthyFacts() } }),
    );
    expect(prompt.user.length).toBeLessThanOrEqual(PromptLimits.maxChars);
    expect(prompt.user).toContain('Step 1: RestartDeployment() → failed');
    expect(prompt.user).toContain('Step 60\n  reasoning:');
    expect(prompt.user).toMatch(/## Answer\nReply with the JSON object/);
  });

  it('names the workload it acts on', () => {
    expect(buildAgenticPrompt(agenticRequest()).user).toContain(
      `Available actions (target ${workload.kind} ${workload.namespace}/${workload.name})`,
    );
  });
});
