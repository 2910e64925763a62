import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command } from 'commander';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { analysisRequest, healthyFacts } from '../../../test/fixtures/analysis.fixtures.ts';
import {
  anthropicMessage,
  type LlmServer,
  openAiCompletion,
  openAiError,
  startLlmServer,
} from '../../../test/support/llmServer.ts';
import { addProviderOptions, type ProviderFlags, providerConfigFromFlags } from '../../cli/providerOptions.ts';
import type { ProviderFailure } from '../provider.ts';
import { chainOrder, createProviderChain, describeProviderChain } from './providerChain.ts';

const parse = (...args: string[]): ProviderFlags => {
  const command = addProviderOptions(new Command('test').exitOverride().configureOutput({ writeErr: () => {} }));
  command.parse(args, { from: 'user' });
  return command.opts<ProviderFlags>();
};

const answer = JSON.stringify({ analysis: 'from the model', confidence: 0.7, recommendations: [], actions: [] });
const request = analysisRequest(healthyFacts());

describe('provider flags', () => {
  it('default to the rules provider alone', () => {
    const config = providerConfigFromFlags(parse());
    expect(chainOrder(config)).toEqual(['rules']);
    expect(config.timeoutMs).toBe(60_000);
  });

  it('read a comma-separated chain and append rules as the last resort', () => {
    const config = providerConfigFromFlags(
      parse(
        '--provider',
        'anthropic,openai',
        '--provider-model',
        'anthropic=claude-x',
        '--provider-model',
        'openai=llama3.1',
        '--provider-base-url',
        'openai=http://localhost:11434/v1',
      ),
    );
    expect(chainOrder(config)).toEqual(['anthropic', 'openai', 'rules']);
    expect(config.settings).toEqual({
      anthropic: { model: 'claude-x' },
      openai: { model: 'llama3.1', baseUrl: 'http://localhost:11434/v1' },
    });
  });

  it('apply a bare value to the only remote provider', () => {
    const config = providerConfigFromFlags(
      parse('--provider', 'openai', '--provider-model', 'llama3.1', '--provider-base-url', 'http://h:1/v1?x=y'),
    );
    expect(config.settings?.openai).toEqual({ model: 'llama3.1', baseUrl: 'http://h:1/v1?x=y' });
  });

  it('refuse a bare value when two remote providers could be meant', () => {
    expect(() => providerConfigFromFlags(parse('--provider', 'openai,anthropic', '--provider-model', 'm'))).toThrow(
      /ambiguous.*openai=<value>/,
    );
  });

  it('refuse an unknown provider and a value for a provider not in the chain', () => {
    expect(() => parse('--provider', 'gemini')).toThrow(/--provider takes rules, openai, anthropic/);
    expect(() => providerConfigFromFlags(parse('--provider', 'openai', '--provider-model', 'anthropic=x'))).toThrow(
      /names anthropic, which is not in --provider/,
    );
  });

  it('leave rules out when told, and keep it where the list puts it', () => {
    expect(chainOrder(providerConfigFromFlags(parse('--provider', 'openai', '--no-rules-fallback')))).toEqual([
      'openai',
    ]);
    expect(chainOrder({ providers: ['rules', 'openai'] })).toEqual(['rules', 'openai']);
  });
});

describe('createProviderChain', () => {
  let server: LlmServer;
  let dir: string;
  beforeAll(async () => {
    server = await startLlmServer();
    dir = mkdtempSync(join(tmpdir(), 'cairn-keys-'));
  });
  afterAll(() => server.close());
  beforeEach(() => server.reset());

  it('is the rules provider alone by default', async () => {
    const result = await createProviderChain().analyze(request);
    expect(result.provider).toBe('rules');
  });

  it('fails at start-up, not at the first Issue, on a configuration that cannot work', () => {
    expect(() => createProviderChain({ providers: ['openai'] }, { env: {} })).toThrow(/openai: a model is required/);
    expect(() =>
      createProviderChain({ providers: ['openai'], settings: { openai: { model: 'gpt' } } }, { env: {} }),
    ).toThrow(/needs an API key/);
    expect(() =>
      createProviderChain(
        { providers: ['anthropic'], settings: { anthropic: { model: 'c', apiKeyFile: join(dir, 'missing') } } },
        { env: {} },
      ),
    ).toThrow(/cannot read the API key file .*missing \(ENOENT\)/);
    expect(() => createProviderChain({ providers: ['openai', 'openai'] })).toThrow(/listed twice/);
  });

  it('reads the key from its file and sends it only as the auth header', async () => {
    const keyFile = join(dir, 'openai.key');
    writeFileSync(keyFile, 'sk-from-file-abcdefghijklmnopqrstuv\n');
    server.script({ json: openAiCompletion(answer) });
    const chain = createProviderChain(
      {
        providers: ['openai'],
        settings: { openai: { model: 'm', baseUrl: `${server.origin}/v1`, apiKeyFile: keyFile } },
      },
      { env: {} },
    );
    const result = await chain.analyze(request);
    expect(result.provider).toBe('openai');
    expect(server.requests[0]?.headers.authorization).toBe('Bearer sk-from-file-abcdefghijklmnopqrstuv');
    expect(server.requests[0]?.body).not.toContain('sk-from-file');
  });

  it('reads the key from the provider environment variable when no file is given', async () => {
    server.script({ json: anthropicMessage({ toolInput: JSON.parse(answer) }) });
    const chain = createProviderChain(
      { providers: ['anthropic'], settings: { anthropic: { model: 'c', baseUrl: server.origin } } },
      { env: { ANTHROPIC_API_KEY: 'sk-ant-env-key-0123456789abcdefghij' } },
    );
    expect((await chain.analyze(request)).provider).toBe('anthropic');
    const headers = server.requests[0]?.headers ?? {};
    expect(headers['x-api-key'] ?? headers.authorization).toContain('sk-ant-env-key-0123456789abcdefghij');
  });

  it('asks each provider in order and says who answered', async () => {
    server.script(
      { status: 401, json: openAiError('bad key') },
      { json: anthropicMessage({ toolInput: JSON.parse(answer) }) },
    );
    const failures: ProviderFailure[] = [];
    const config = {
      providers: ['openai', 'anthropic'] as const,
      settings: {
        openai: { model: 'local', baseUrl: `${server.origin}/v1` },
        anthropic: { model: 'c', baseUrl: server.origin, apiKey: 'k-123456' },
      },
      timeoutMs: 5_000,
    };
    const result = await createProviderChain(config, { env: {}, onFallback: (f) => failures.push(f) }).analyze(request);
    expect(result.provider).toBe('anthropic');
    expect(result.analysis).toBe('from the model');
    expect(failures.map((f) => f.provider)).toEqual(['openai']);
    expect(describeProviderChain(config)).toBe(
      `openai (local at ${server.origin}/v1) > anthropic (c at ${server.origin}) > rules`,
    );
  });
});
