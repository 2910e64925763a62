import { describe, expect, it } from 'vitest';
import { isCairnError } from '../../domain/errors.ts';
import { analysisRequest, healthyFacts } from '../../test/fixtures/analysis.fixtures.ts';
import {
  AnalysisErrorCode,
  type AnalysisProvider,
  type AnalysisResult,
  assertAnalysisResult,
  chainProviders,
  type ProviderFailure,
} from './provider.ts';
import { createRulesProvider } from './rules.provider.ts';

const request = analysisRequest(healthyFacts());

const answer = (provider: string): AnalysisResult => ({
  analysis: `answer from ${provider}`,
  confidence: 0.7,
  recommendations: [],
  suggestedActions: [],
  provider,
  model: 'm',
});

const answering = (name: string): AnalysisProvider => ({ name, analyze: async () => answer(name) });
const failing = (name: string, message = 'connection refused'): AnalysisProvider => ({
  name,
  analyze: async () => {
    throw new Error(message);
  },
});
/** Never settles and ignores its signal: the chain must not wait for it. */
const hanging = (name: string): AnalysisProvider => ({ name, analyze: () => new Promise<AnalysisResult>(() => {}) });

describe('chainProviders', () => {
  it('answers with the first provider when it works, and names it', async () => {
    const chain = chainProviders([answering('openai'), answering('rules')]);
    expect(chain.name).toBe('openai>rules');
    expect((await chain.analyze(request)).provider).toBe('openai');
  });

  it('falls back to the next provider on an error and reports the failure', async () => {
    const failures: ProviderFailure[] = [];
    const chain = chainProviders([failing('openai'), failing('anthropic', 'HTTP 529'), answering('rules')], {
      onFallback: (f) => failures.push(f),
    });
    const result = await chain.analyze(request);
    expect(result.provider).toBe('rules');
    expect(failures).toEqual([
      { provider: 'openai', error: 'connection refused', timedOut: false },
      { provider: 'anthropic', error: 'HTTP 529', timedOut: false },
    ]);
  });

  it('falls back on a timeout even when the provider ignores its abort signal', async () => {
    const failures: ProviderFailure[] = [];
    let aborted: AbortSignal | undefined;
    const slow: AnalysisProvider = {
      name: 'ollama',
      analyze: (_request, options) => {
        aborted = options?.signal;
        return new Promise<AnalysisResult>(() => {});
      },
    };
    const chain = chainProviders([slow, answering('rules')], { timeoutMs: 20, onFallback: (f) => failures.push(f) });
    expect((await chain.analyze(request)).provider).toBe('rules');
    expect(failures[0]).toMatchObject({ provider: 'ollama', timedOut: true });
    expect(aborted?.aborted).toBe(true);
  });

  it('treats an answer that breaks the result schema as a failure', async () => {
    const broken: AnalysisProvider = {
      name: 'broken',
      analyze: async () => ({ ...answer('broken'), confidence: 3 }),
    };
    const failures: ProviderFailure[] = [];
    const chain = chainProviders([broken, answering('rules')], { onFallback: (f) => failures.push(f) });
    expect((await chain.analyze(request)).provider).toBe('rules');
    expect(failures[0]?.error).toMatch(/invalid analysis.*confidence/);
  });

  it('throws a Transient AnalysisUnavailable naming every failure when all fail', async () => {
    const chain = chainProviders([failing('a', 'boom'), hanging('b')], { timeoutMs: 20 });
    const error = await chain.analyze(request).catch((e: unknown) => e);
    expect(isCairnError(error)).toBe(true);
    if (!isCairnError(error)) return;
    expect(error.code).toBe(AnalysisErrorCode.Unavailable);
    expect(error.category).toBe('Transient');
    expect(error.message).toContain('a: boom');
    expect(error.details.failures).toHaveLength(2);
  });

  it('redacts secrets that providers put into their error messages', async () => {
    const failures: ProviderFailure[] = [];
    const chain = chainProviders(
      [failing('openai', 'bad key Bearer sk-abcdefghijklmnopqrstuvwxyz'), answering('rules')],
      {
        onFallback: (f) => failures.push(f),
      },
    );
    await chain.analyze(request);
    expect(failures[0]?.error).not.toContain('abcdefghijklmnopqrstuvwxyz');
  });

  it('stops at once, without falling back, when the caller cancels', async () => {
    const controller = new AbortController();
    let rulesAsked = false;
    const rules: AnalysisProvider = {
      name: 'rules',
      analyze: async () => {
        rulesAsked = true;
        return answer('rules');
      },
    };
    const chain = chainProviders([hanging('openai'), rules], { timeoutMs: 10_000 });
    const pending = chain.analyze(request, { signal: controller.signal });
    controller.abort();
    const error = await pending.catch((e: unknown) => e);
    expect(isCairnError(error) && error.code).toBe(AnalysisErrorCode.Aborted);
    expect(rulesAsked).toBe(false);
  });

  it('refuses an already cancelled call before asking anyone', async () => {
    const controller = new AbortController();
    controller.abort();
    const error = await chainProviders([answering('rules')])
      .analyze(request, { signal: controller.signal })
      .catch((e: unknown) => e);
    expect(isCairnError(error) && error.code).toBe(AnalysisErrorCode.Aborted);
  });

  it('needs at least one provider', () => {
    expect(() => chainProviders([])).toThrow(/at least one/);
  });

  it('ends well with the rules provider as the last link', async () => {
    const chain = chainProviders([failing('openai'), createRulesProvider()]);
    const result = await chain.analyze(request);
    expect(result.provider).toBe('rules');
  });
});

describe('assertAnalysisResult', () => {
  it('accepts a valid result and names the first problem of an invalid one', () => {
    expect(assertAnalysisResult('p', answer('p')).provider).toBe('p');
    expect(() => assertAnalysisResult('p', { ...answer('p'), analysis: '' })).toThrow(/analysis/);
    expect(() =>
      assertAnalysisResult('p', {
        ...answer('p'),
        suggestedActions: [{ name: 'x', type: 'not pascal', description: '', params: {} }],
      }),
    ).toThrow(/suggestedActions/);
  });
});
