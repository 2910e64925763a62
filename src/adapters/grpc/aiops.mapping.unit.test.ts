import { describe, expect, it } from 'vitest';
import { isCairnError } from '../../../domain/errors.ts';
import { analysisRequest, healthyFacts, revision } from '../../../test/fixtures/analysis.fixtures.ts';
import type { AnalysisRequest } from '../../analysis/provider.ts';
import { createRulesProvider } from '../../analysis/rules.provider.ts';
import {
  analyzeRequestFromWire,
  analyzeRequestToWire,
  analyzeResponseFromWire,
  analyzeResponseToWire,
} from './aiops.mapping.ts';
import { AIOpsService, type WireAnalyzeIssueRequest, type WireAnalyzeIssueResponse } from './aiops.proto.ts';
import { bearerMatches } from './aiops.server.ts';
import { alertOfReport, createAlertBuffer } from './alertBuffer.ts';

/** Through the real protobuf encoding, as a server would receive it. */
const overTheWire = <T>(method: 'AnalyzeIssue', part: 'request' | 'response', value: unknown): T => {
  const definition = AIOpsService[method]!;
  return part === 'request'
    ? (definition.requestDeserialize(definition.requestSerialize(value)) as T)
    : (definition.responseDeserialize(definition.responseSerialize(value)) as T);
};

const richRequest: AnalysisRequest = analysisRequest(
  healthyFacts({
    oomKilled: true,
    oomKilledContainers: ['app'],
    revisions: [
      revision(2, 'registry.local/shop/web:2.0.0', {
        current: true,
        imageChanges: [
          { container: 'app', from: 'registry.local/shop/web:1.0.0', to: 'registry.local/shop/web:2.0.0' },
        ],
      }),
      revision(1, 'registry.local/shop/web:1.0.0', {
        ready: true,
        imageChanges: [{ container: 'sidecar', to: 'x:1' }],
      }),
    ],
    currentRevision: 0,
    pods: [
      {
        name: 'web-a',
        phase: 'Running',
        ready: false,
        restarts: 4,
        reasons: ['OOMKilled'],
        oomKilledContainers: ['app'],
      },
      { name: 'web-b', revision: 1, phase: 'Running', ready: true, restarts: 0, reasons: [], oomKilledContainers: [] },
    ],
    hpa: { minReplicas: 1, maxReplicas: 3, currentReplicas: 3, desiredReplicas: 3, maxedOut: true, target: 'cpu 80%' },
    job: { active: 0, succeeded: 0, failed: 2, state: 'Failed (BackoffLimitExceeded)' },
  }),
  {
    signal: 'oom_kill',
    signals: ['oom_kill', 'pod_restart'],
    severity: 'high',
    riskScore: 50,
    sections: [
      { enricher: 'logs', title: 'Logs', text: 'java.lang.OutOfMemoryError', facts: { patterns: ['oom'], lines: 3 } },
      { enricher: 'metrics', title: 'Metrics', text: 'metrics: not available', unavailable: 'no Prometheus' },
    ],
    previousFailures: [
      {
        remediationId: 'r1',
        attempt: 1,
        outcome: 'rolled_back',
        reason: 'verification timed out',
        attemptedActions: [{ type: 'RestartDeployment', params: {} }],
        failedAction: { type: 'RestartDeployment', params: { a: 'b' }, error: 'still crashing' },
        observations: ['VerificationFailed: pods not ready'],
      },
    ],
    doNotRepeat: ['RestartDeployment'],
  },
);

describe('AnalyzeIssue request mapping', () => {
  it('brings every fact, section and failure across the wire unchanged', () => {
    const wire = overTheWire<WireAnalyzeIssueRequest>('AnalyzeIssue', 'request', analyzeRequestToWire(richRequest));
    expect(analyzeRequestFromWire(wire)).toEqual(richRequest);
    expect(wire.issueName).toMatch(/^web-/);
    expect(wire.previousFailureContext).toContain('attempt 1 (r1) rolled_back: verification timed out');
  });

  it('keeps optional facts absent rather than zero', () => {
    const request = analysisRequest(healthyFacts({ currentRevision: undefined }));
    const wire = overTheWire<WireAnalyzeIssueRequest>('AnalyzeIssue', 'request', analyzeRequestToWire(request));
    const back = analyzeRequestFromWire(wire);
    expect(back.context.facts).not.toHaveProperty('currentRevision');
    expect(back.context.facts.containers[0]).not.toHaveProperty('cpuLimit');
    expect(back.context.facts).not.toHaveProperty('hpa');
  });

  it('gives the rules provider the same answer on the server as in the operator', async () => {
    const rules = createRulesProvider();
    const wire = overTheWire<WireAnalyzeIssueRequest>('AnalyzeIssue', 'request', analyzeRequestToWire(richRequest));
    expect(await rules.analyze(analyzeRequestFromWire(wire))).toEqual(await rules.analyze(richRequest));
  });

  const refusal = (patch: Partial<WireAnalyzeIssueRequest>) => {
    const wire = {
      ...overTheWire<WireAnalyzeIssueRequest>('AnalyzeIssue', 'request', analyzeRequestToWire(richRequest)),
      ...patch,
    };
    try {
      analyzeRequestFromWire(wire);
    } catch (error) {
      if (isCairnError(error)) return `${error.category} ${error.message}`;
      throw error;
    }
    throw new Error('accepted');
  };

  it.each([
    [{ issueId: '' }, /^Validation issueId: .*length/],
    [{ severity: 'urgent' }, /^Validation severity:/],
    [{ riskScore: 400 }, /^Validation riskScore:/],
    [{ resourceKind: 'not a kind' }, /^Validation resourceKind:/],
    [{ signalType: 'Bad Signal!' }, /^Validation signalType:/],
    [{ resourceName: '' }, /^Validation resourceName:/],
  ] as const)('refuses %j with a message naming the field', (patch, message) => {
    expect(refusal(patch as Partial<WireAnalyzeIssueRequest>)).toMatch(message);
  });

  it('refuses sections whose facts are not a JSON object, and facts about another workload', () => {
    const wire = analyzeRequestToWire(richRequest);
    expect(refusal({ sections: [{ ...wire.sections[0]!, factsJson: '{nope' }] })).toBe(
      'Validation sections.0.factsJson: not JSON',
    );
    expect(refusal({ sections: [{ ...wire.sections[0]!, factsJson: '[1]' }] })).toBe(
      'Validation sections.0.factsJson: must be a JSON object',
    );
    expect(refusal({ workloadFacts: { ...wire.workloadFacts!, name: 'other' } })).toMatch(
      /^Validation workloadFacts describe Deployment shop\/other/,
    );
    expect(refusal({ previousFailures: [{ ...wire.previousFailures[0]!, outcome: 'exploded' }] })).toMatch(
      /^Validation previousFailures\.0\.outcome:/,
    );
  });
});

describe('AnalyzeIssue response mapping', () => {
  it('round-trips an analysis, confidence included', async () => {
    const result = await createRulesProvider().analyze(richRequest);
    const wire = overTheWire<WireAnalyzeIssueResponse>('AnalyzeIssue', 'response', analyzeResponseToWire(result));
    expect(analyzeResponseFromWire(wire, '127.0.0.1:1')).toEqual(result);
  });

  it('refuses an answer the event log would refuse, naming the server', () => {
    const good: WireAnalyzeIssueResponse = {
      analysis: 'x',
      confidence: 0.5,
      recommendations: [],
      provider: 'p',
      model: 'm',
      suggestedActions: [],
      refusedProposals: [],
    };
    expect(() => analyzeResponseFromWire({ ...good, analysis: '' }, 'ai:1')).toThrow(/AI server ai:1.*analysis/);
    expect(() =>
      analyzeResponseFromWire(
        { ...good, suggestedActions: [{ name: 'n', action: 'rm -rf', description: '', params: {} }] },
        'ai:1',
      ),
    ).toThrow(/AI server at ai:1 answered an invalid analysis: suggestedActions\.0\.action/);
  });
});

describe('refused proposals over the wire', () => {
  const answer = (refusedProposals: unknown[]) =>
    overTheWire<WireAnalyzeIssueResponse>('AnalyzeIssue', 'response', {
      analysis: 'x',
      confidence: 0.5,
      recommendations: [],
      provider: 'openai',
      model: 'm',
      suggestedActions: [],
      refusedProposals,
    });

  it('brings what the server refused to the operator, with or without an action', () => {
    const result = {
      analysis: 'x',
      confidence: 0.5,
      recommendations: [],
      suggestedActions: [],
      provider: 'openai',
      model: 'm',
      refusedProposals: [
        {
          action: { type: 'DeleteNamespace', params: { namespace: 'prod' } },
          code: 'parser.unknown_action_type',
          reason: 'unknown action type: DeleteNamespace',
        },
        { code: 'parser.unstructured_answer', reason: 'the answer was not the expected JSON' },
      ],
    };
    const wire = overTheWire<WireAnalyzeIssueResponse>('AnalyzeIssue', 'response', analyzeResponseToWire(result));
    expect(analyzeResponseFromWire(wire, 'ai:1')).toEqual(result);
  });

  it('reads an answer of an older server, which sends none, as one without refusals', () => {
    const { refusedProposals: _, ...older } = answer([]);
    expect(analyzeResponseFromWire(older as WireAnalyzeIssueResponse, 'ai:1')).not.toHaveProperty('refusedProposals');
  });

  it('cuts a flood of refusals from a server to what the Issue records, instead of refusing the analysis', () => {
    const flood = Array.from({ length: 500 }, (_, i) => ({
      action: `Wipe${i}`.padEnd(400, 'x'),
      params: { reason: 'y'.repeat(10_000) },
      code: '',
      reason: 'z'.repeat(10_000),
    }));
    const refused = analyzeResponseFromWire(answer(flood), 'ai:1').refusedProposals ?? [];
    expect(refused).toHaveLength(21);
    expect(refused[0]?.code).toBe('parser.unspecified');
    expect(refused[0]?.action?.type.length).toBeLessThanOrEqual(128);
    expect(refused.at(-1)?.reason).toBe('480 more unusable proposals, not listed one by one');
  });
});

describe('bearer tokens', () => {
  it('accepts only the exact token, in the Bearer scheme', () => {
    expect(bearerMatches('Bearer s3cret', 's3cret')).toBe(true);
    expect(bearerMatches('bearer s3cret', 's3cret')).toBe(true);
    expect(bearerMatches('Bearer s3cre', 's3cret')).toBe(false);
    expect(bearerMatches('Bearer s3cret2', 's3cret')).toBe(false);
    expect(bearerMatches('s3cret', 's3cret')).toBe(false);
    expect(bearerMatches(undefined, 's3cret')).toBe(false);
    expect(bearerMatches(Buffer.from('Bearer s3cret'), 's3cret')).toBe(false);
  });
});

describe('alert buffer', () => {
  const report = (signal: string, name: string, namespace = 'shop') => ({
    signal,
    source: 'watcher' as const,
    resource: { kind: 'Pod', name: `${name}-1`, namespace },
    workload: { kind: 'Deployment', name, namespace },
    message: `${signal} on ${name}`,
    observedAt: '2026-01-01T00:00:00.000Z',
  });

  it('holds one alert per signal and workload, by namespace, for its TTL', () => {
    let now = 0;
    const buffer = createAlertBuffer({ ttlMs: 1000, now: () => now });
    buffer.record(report('oom_kill', 'web'));
    buffer.record(report('oom_kill', 'web'));
    buffer.record(report('pod_restart', 'cart', 'other'));
    expect(buffer.list('').map((a) => a.alertType)).toEqual(['OOMKilled', 'HighRestartCount']);
    expect(buffer.list('shop')).toHaveLength(1);
    now = 1500;
    buffer.record(report('pod_not_ready', 'web'));
    expect(buffer.list('').map((a) => a.signal)).toEqual(['pod_not_ready']);
  });

  it('speaks the reference alert names and keeps the workload', () => {
    expect(alertOfReport(report('oom_kill', 'web'))).toEqual({
      alertType: 'OOMKilled',
      deployment: 'web',
      namespace: 'shop',
      message: 'oom_kill on web',
      severity: 'low',
      timestamp: 1767225600,
      resourceKind: 'Deployment',
      resourceName: 'web',
      signal: 'oom_kill',
    });
  });
});
