import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ErrorCategory, isCairnError } from '../../../domain/errors.ts';
import { analysisRequest, healthyFacts } from '../../../test/fixtures/analysis.fixtures.ts';
import {
  anthropicError,
  anthropicMessage,
  closedPort,
  type LlmServer,
  openAiCompletion,
  openAiError,
  type ScriptedReply,
  startLlmServer,
} from '../../../test/support/llmServer.ts';
import {
  type AgenticProvider,
  type AgenticStepRequest,
  chainAgenticProviders,
  createRulesAgenticProvider,
} from '../agentic.ts';
import { AnalysisErrorCode, type AnalysisProvider, chainProviders, type ProviderFailure } from '../provider.ts';
import { UNPARSED_CONFIDENCE } from '../response.parser.ts';
import { createRulesProvider } from '../rules.provider.ts';
import { createAnthropicProvider } from './anthropic.provider.ts';
import { createOpenAiProvider } from './openai.provider.ts';
import { ProviderErrorCode } from './remoteCall.ts';

// Both adapters against a local server speaking their wire format. Every behaviour is asserted through what a
// caller sees (the result, the error, the provider that answered) and what the server received.

const KEY = 'sk-test-0123456789abcdefghijklmnop';

const good = {
  analysis: 'The new image crashes on start: revision 2 introduced registry.local/shop/web:1.0.0-broken.',
  confidence: 0.82,
  recommendations: ['Fix the image before rolling forward again'],
  actions: [
    {
      name: 'rollback',
      type: 'RollbackDeployment',
      description: 'Go back to the last working revision',
      params: { toRevision: '1' },
    },
  ],
};

interface Wire {
  readonly name: 'openai' | 'anthropic';
  /** A 200 whose model answer is `answer` (an object goes through the structured path, a string as text). */
  readonly ok: (answer: unknown) => ScriptedReply;
  readonly error: (status: number, message: string, headers?: Record<string, string>) => ScriptedReply;
  readonly create: (
    origin: string,
    options?: { retryBaseDelayMs?: number; sleep?: (ms: number) => Promise<void>; timeoutMs?: number },
  ) => AnalysisProvider & AgenticProvider;
  /** The request asked for structured output. */
  readonly askedStructured: (body: unknown) => boolean;
  readonly authHeader: (headers: Readonly<Record<string, string>>) => string | undefined;
}

const wires: readonly Wire[] = [
  {
    name: 'openai',
    ok: (answer) => ({
      json: openAiCompletion(typeof answer === 'string' ? answer : JSON.stringify(answer), 'gpt-test-1'),
    }),
    error: (status, message, headers) => ({ status, json: openAiError(message), ...(headers ? { headers } : {}) }),
    create: (origin, options = {}) =>
      createOpenAiProvider({
        baseUrl: `${origin}/v1`,
        model: 'gpt-test-1',
        apiKey: KEY,
        retry: { baseDelayMs: options.retryBaseDelayMs ?? 50, ...(options.sleep ? { sleep: options.sleep } : {}) },
        ...(options.timeoutMs ? { timeoutMs: options.timeoutMs } : {}),
      }),
    askedStructured: (body) =>
      (body as { response_format?: { type?: string } }).response_format?.type === 'json_schema',
    authHeader: (headers) => headers.authorization,
  },
  {
    name: 'anthropic',
    ok: (answer) => ({
      json: anthropicMessage(typeof answer === 'string' ? { text: answer } : { toolInput: answer }, 'claude-test-1'),
    }),
    error: (status, message, headers) => ({
      status,
      json: anthropicError(status === 401 ? 'authentication_error' : 'api_error', message),
      ...(headers ? { headers } : {}),
    }),
    create: (origin, options = {}) =>
      createAnthropicProvider({
        baseUrl: origin,
        model: 'claude-test-1',
        apiKey: KEY,
        retry: { baseDelayMs: options.retryBaseDelayMs ?? 50, ...(options.sleep ? { sleep: options.sleep } : {}) },
        ...(options.timeoutMs ? { timeoutMs: options.timeoutMs } : {}),
      }),
    askedStructured: (body) => (body as { tool_choice?: { type?: string } }).tool_choice?.type === 'tool',
    authHeader: (headers) => headers['x-api-key'] ?? headers.authorization,
  },
];

const request = analysisRequest(healthyFacts(), { signal: 'crashloop', signals: ['crashloop'] });

const stepRequest: AgenticStepRequest = {
  ...request,
  remediationId: 'rem-1',
  history: [],
  budget: { step: 1, maxSteps: 5, remainingSteps: 4, remainingSeconds: 300 },
  availableActions: [
    {
      type: 'RollbackDeployment',
      description: 'roll back',
      destructive: false,
      params: { toRevision: { description: 'r' } },
    },
    { type: 'RestartDeployment', description: 'restart', destructive: false, params: {} },
  ],
  doNotRepeat: ['RestartDeployment'],
};

const failureOf = async (promise: Promise<unknown>) => {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error('expected a rejection');
};

describe.each(wires)('$name adapter against a local server', (wire) => {
  let server: LlmServer;
  beforeAll(async () => {
    server = await startLlmServer();
  });
  afterAll(() => server.close());
  beforeEach(() => server.reset());

  it('turns a structured answer into an analysis, naming the provider and the model that answered', async () => {
    server.script(wire.ok(good));
    const result = await wire.create(server.origin).analyze(request);
    expect(result).toEqual({
      analysis: good.analysis,
      confidence: 0.82,
      recommendations: good.recommendations,
      suggestedActions: [
        {
          name: 'rollback',
          type: 'RollbackDeployment',
          description: 'Go back to the last working revision',
          params: { toRevision: '1' },
        },
      ],
      provider: wire.name,
      model: wire.name === 'openai' ? 'gpt-test-1' : 'claude-test-1',
    });
    expect(server.requests).toHaveLength(1);
    const sent = server.requests[0]!;
    expect(sent.path).toBe(wire.name === 'openai' ? '/v1/chat/completions' : '/v1/messages');
    expect(wire.askedStructured(sent.json)).toBe(true);
    expect(wire.authHeader(sent.headers)).toContain(KEY);
    expect(sent.body).toContain('Deployment shop/web');
  });

  it('reads JSON wrapped in prose and a code fence', async () => {
    server.script(
      wire.ok(`Here is what I found:\n\n\`\`\`json\n${JSON.stringify(good, null, 2)}\n\`\`\`\nHope it helps.`),
    );
    const result = await wire.create(server.origin).analyze(request);
    expect(result.analysis).toBe(good.analysis);
    expect(result.suggestedActions.map((a) => a.type)).toEqual(['RollbackDeployment']);
  });

  it('keeps an answer that is not JSON as the analysis, at confidence 0.5 and with no actions', async () => {
    server.script(wire.ok('I think the pod is crashing. Maybe roll it back? RollbackDeployment would do.'));
    const result = await wire.create(server.origin).analyze(request);
    expect(result).toMatchObject({
      analysis: 'I think the pod is crashing. Maybe roll it back? RollbackDeployment would do.',
      confidence: UNPARSED_CONFIDENCE,
      suggestedActions: [],
      recommendations: [],
      provider: wire.name,
      refusedProposals: [expect.objectContaining({ code: 'parser.unstructured_answer' })],
    });
  });

  it('treats JSON of the wrong shape as text rather than failing', async () => {
    server.script(wire.ok({ diagnosis: 'oom', actions: 'restart everything' }));
    const result = await wire.create(server.origin).analyze(request);
    expect(result.confidence).toBe(UNPARSED_CONFIDENCE);
    expect(result.suggestedActions).toEqual([]);
    expect(result.analysis).toContain('restart everything');
  });

  it('clamps a confidence of 7 to 1 and drops actions the prompt did not offer', async () => {
    server.script(
      wire.ok({
        ...good,
        confidence: 7,
        actions: [
          ...good.actions,
          { name: 'x', type: 'Custom', description: 'ssh in', params: {} },
          { type: 'Reboot' },
        ],
      }),
    );
    const result = await wire.create(server.origin).analyze(request);
    expect(result.confidence).toBe(1);
    expect(result.suggestedActions.map((a) => a.type)).toEqual(['RollbackDeployment']);
    // Both are on the record with the stage that turned them down.
    expect(result.refusedProposals?.map((r) => [r.code, r.action?.type])).toEqual([
      ['parser.unknown_action_type', 'Reboot'],
      ['offered.not_offered', 'Custom'],
    ]);
  });

  it('fails for good on 401, without retrying and without the key in the message', async () => {
    server.script(wire.error(401, `Incorrect API key provided: ${KEY}`));
    const error = await failureOf(wire.create(server.origin).analyze(request));
    expect(isCairnError(error)).toBe(true);
    if (!isCairnError(error)) return;
    expect(error.code).toBe(ProviderErrorCode.Auth);
    expect(error.category).toBe(ErrorCategory.Forbidden);
    expect(error.message).not.toContain(KEY);
    expect(server.requests).toHaveLength(1);
  });

  it('waits as long as a 429 asks when that fits the deadline, then answers', async () => {
    server.script(wire.error(429, 'slow down', { 'retry-after': '1' }), wire.ok(good));
    const waits: number[] = [];
    const sleep = async (ms: number) => {
      waits.push(ms);
    };
    const result = await wire.create(server.origin, { sleep }).analyze(request, { deadline: Date.now() + 10_000 });
    expect(result.analysis).toBe(good.analysis);
    expect(server.requests).toHaveLength(2);
    // The one wait between the attempts is the second the server asked for, not the provider's own backoff.
    expect(waits).toEqual([1_000]);
  });

  it('gives up at once on a 429 whose retry-after passes the deadline, saying how long it asked for', async () => {
    server.script(wire.error(429, 'quota', { 'retry-after': '3600' }), wire.ok(good));
    const waits: number[] = [];
    const sleep = async (ms: number) => {
      waits.push(ms);
    };
    const error = await failureOf(
      wire.create(server.origin, { sleep }).analyze(request, { deadline: Date.now() + 5_000 }),
    );
    expect(waits).toEqual([]);
    expect(isCairnError(error) && error.message).toMatch(/the server asked to wait 3600 s, past the deadline/);
    expect(isCairnError(error) && error.code).toBe(ProviderErrorCode.RateLimited);
    expect(isCairnError(error) && error.category).toBe(ErrorCategory.Transient);
    expect(isCairnError(error) && error.details.retryAfterMs).toBe(3_600_000);
    expect(server.requests).toHaveLength(1);
  });

  it('retries a 500 and answers when the server recovers', async () => {
    server.script(wire.error(500, 'boom'), wire.ok(good));
    const result = await wire.create(server.origin).analyze(request);
    expect(result.analysis).toBe(good.analysis);
    expect(server.requests).toHaveLength(2);
  });

  it('stops retrying a failing server after a bounded number of attempts', async () => {
    server.fallback(wire.error(503, 'down'));
    const error = await failureOf(wire.create(server.origin).analyze(request));
    expect(isCairnError(error) && error.code).toBe(ProviderErrorCode.ServerError);
    expect(server.requests).toHaveLength(3);
  });

  it('asks again without structured output when the server refuses it, and stops asking for it', async () => {
    server.script(wire.error(400, 'unknown field'), wire.ok(good), wire.ok(good));
    const provider = wire.create(server.origin);
    expect((await provider.analyze(request)).analysis).toBe(good.analysis);
    expect((await provider.analyze(request)).analysis).toBe(good.analysis);
    expect(server.requests.map((r) => wire.askedStructured(r.json))).toEqual([true, false, false]);
  });

  it('refuses a 200 whose body is not its wire format', async () => {
    server.fallback({ text: '<html>proxy login</html>', contentType: 'text/html' });
    const error = await failureOf(wire.create(server.origin).analyze(request));
    expect(isCairnError(error) && error.code).toBe(ProviderErrorCode.InvalidResponse);
  });

  it('stops when the caller cancels', async () => {
    server.script({ hang: true });
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 200);
    const error = await failureOf(wire.create(server.origin).analyze(request, { signal: controller.signal }));
    expect(isCairnError(error) && error.code).toBe(AnalysisErrorCode.Aborted);
  });

  describe('in a chain with the rules provider', () => {
    const chain = (provider: AnalysisProvider, failures: ProviderFailure[]) =>
      chainProviders([provider, createRulesProvider()], { timeoutMs: 1_000, onFallback: (f) => failures.push(f) });

    it('is the one that answers when it can', async () => {
      server.script(wire.ok(good));
      const failures: ProviderFailure[] = [];
      const result = await chain(wire.create(server.origin), failures).analyze(request);
      expect(result.provider).toBe(wire.name);
      expect(failures).toEqual([]);
    });

    it('moves on to rules when the server never answers', async () => {
      server.fallback({ hang: true });
      const failures: ProviderFailure[] = [];
      const result = await chain(wire.create(server.origin), failures).analyze(request);
      // The chain's 1 s budget is what ends the wait (a hang would outlast the test); whichever timer notices
      // first, the chain's or the provider's own, the failure is reported as a timeout.
      expect(result.provider).toBe('rules');
      expect(failures).toMatchObject([{ provider: wire.name, timedOut: true }]);
    });

    it("reports a timeout when its own budget, shorter than the chain's, runs out first", async () => {
      server.fallback({ hang: true });
      const failures: ProviderFailure[] = [];
      const provider = wire.create(server.origin, { timeoutMs: 300 });
      const result = await chainProviders([provider, createRulesProvider()], {
        timeoutMs: 60_000,
        onFallback: (f) => failures.push(f),
      }).analyze(request);
      expect(result.provider).toBe('rules');
      expect(failures).toMatchObject([{ provider: wire.name, timedOut: true }]);
      expect(failures[0]?.error).toMatch(/no answer before the deadline/);
    });

    it('moves on to rules when nothing listens', async () => {
      const port = await closedPort();
      const failures: ProviderFailure[] = [];
      const result = await chain(wire.create(`http://127.0.0.1:${port}`), failures).analyze(request);
      expect(result.provider).toBe('rules');
      expect(failures).toHaveLength(1);
      expect(failures[0]?.error).toMatch(/cannot connect/);
    });

    it('moves on to rules after a 401', async () => {
      server.script(wire.error(401, 'bad key'));
      const failures: ProviderFailure[] = [];
      const result = await chain(wire.create(server.origin), failures).analyze(request);
      expect(result.provider).toBe('rules');
      expect(failures[0]?.error).toMatch(/API key was refused/);
    });
  });

  describe('agentic steps', () => {
    const rollback = {
      name: 'rollback',
      type: 'RollbackDeployment',
      description: 'go back',
      params: { toRevision: '1' },
    };

    it('turns a structured step into an action decision', async () => {
      server.script(
        wire.ok({ decision: 'action', reasoning: 'revision 2 crashes', confidence: 0.8, action: rollback }),
      );
      const step = await wire.create(server.origin).agenticStep(stepRequest);
      expect(step).toEqual({
        decision: 'action',
        reasoning: 'revision 2 crashes',
        confidence: 0.8,
        action: rollback,
        provider: wire.name,
        model: wire.name === 'openai' ? 'gpt-test-1' : 'claude-test-1',
      });
      expect(server.requests[0]?.body).toContain('This is step 1 of at most 5');
    });

    it('observes, at confidence 0.5, when the answer is prose', async () => {
      server.script(wire.ok('I would roll it back, probably.'));
      const step = await wire.create(server.origin).agenticStep(stepRequest);
      expect(step).toMatchObject({
        decision: 'observe',
        confidence: 0.5,
        reasoning: 'I would roll it back, probably.',
      });
    });

    it('observes instead of proposing an action that already failed or is not offered', async () => {
      const restart = { name: 'r', type: 'RestartDeployment', description: 'again', params: {} };
      const drain = { name: 'd', type: 'DrainNode', description: 'drain', params: { node: 'n1' } };
      server.script(
        wire.ok({ decision: 'action', reasoning: 'restart', confidence: 0.6, action: restart }),
        wire.ok({ decision: 'action', reasoning: 'drain', confidence: 0.6, action: drain }),
      );
      const provider = wire.create(server.origin);
      expect(await provider.agenticStep(stepRequest)).toMatchObject({
        decision: 'observe',
        reasoning: expect.stringContaining('RestartDeployment already failed or was refused on this Issue'),
        refused: { action: { type: 'RestartDeployment', params: {} }, code: 'do-not-repeat' },
      });
      expect(await provider.agenticStep(stepRequest)).toMatchObject({
        decision: 'observe',
        reasoning: expect.stringContaining('DrainNode is not among the available actions'),
        refused: { action: { type: 'DrainNode', params: { node: 'n1' } }, code: 'offered.not_offered' },
      });
    });

    it('carries the conclusion of a resolved step', async () => {
      server.script(
        wire.ok({
          decision: 'resolved',
          reasoning: 'all pods ready',
          confidence: 0.9,
          conclusion: {
            summary: 'rolled back',
            rootCause: 'bad image',
            impact: 'half capacity for 5 min',
            lessonsLearned: ['test images'],
            preventionActions: ['canary'],
          },
        }),
      );
      const step = await wire.create(server.origin).agenticStep(stepRequest);
      expect(step).toMatchObject({ decision: 'resolved', conclusion: { rootCause: 'bad image' } });
    });

    it('falls back to the rules step when the server never answers', async () => {
      server.fallback({ hang: true });
      const failures: ProviderFailure[] = [];
      const chain = chainAgenticProviders([wire.create(server.origin), createRulesAgenticProvider()], {
        timeoutMs: 1_000,
        onFallback: (f) => failures.push(f),
      });
      const step = await chain.agenticStep(stepRequest);
      expect(step.provider).toBe('rules');
      expect(failures).toMatchObject([{ provider: wire.name, timedOut: true }]);
    });
  });
});
