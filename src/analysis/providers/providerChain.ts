import { readFileSync } from 'node:fs';
import { CairnError, ErrorCategory } from '../../../domain/errors.ts';
import type { RemediationPolicy } from '../../actions/policy.ts';
import { type AgenticProvider, chainAgenticProviders, createRulesAgenticProvider } from '../agentic.ts';
import { type AnalysisProvider, chainProviders, type ProviderFailure } from '../provider.ts';
import { createRulesProvider, RULES_PROVIDER } from '../rules.provider.ts';
import {
  ANTHROPIC_DEFAULT_BASE_URL,
  ANTHROPIC_PROVIDER,
  type AnthropicOutput,
  createAnthropicProvider,
} from './anthropic.provider.ts';
import {
  createOpenAiProvider,
  OPENAI_DEFAULT_BASE_URL,
  OPENAI_PROVIDER,
  type StructuredOutput,
} from './openai.provider.ts';
import { ProviderErrorCode, type RetryOptions } from './remoteCall.ts';

/**
 * Configuration → the chain of providers an analysis asks in turn. The one place that knows every provider, so
 * `cairn operator` and `cairn server` build the same chain from the same flags.
 */

export const ProviderKind = { Rules: RULES_PROVIDER, OpenAi: OPENAI_PROVIDER, Anthropic: ANTHROPIC_PROVIDER } as const;
export type ProviderKind = (typeof ProviderKind)[keyof typeof ProviderKind];
export type RemoteProviderKind = Exclude<ProviderKind, 'rules'>;
export const providerKinds: readonly ProviderKind[] = Object.values(ProviderKind);
export const remoteProviderKinds: readonly RemoteProviderKind[] = [ProviderKind.OpenAi, ProviderKind.Anthropic];

export interface RemoteProviderSettings {
  readonly baseUrl?: string;
  readonly model?: string;
  /** The key itself; prefer `apiKeyFile` (a mounted Secret) so it never sits in a process listing. */
  readonly apiKey?: string;
  readonly apiKeyFile?: string;
  readonly structuredOutput?: StructuredOutput | AnthropicOutput;
  readonly maxOutputTokens?: number;
}

export interface ProviderChainConfig {
  /** The providers to ask, in order. Default: rules alone. */
  readonly providers?: readonly ProviderKind[];
  readonly settings?: Readonly<Partial<Record<RemoteProviderKind, RemoteProviderSettings>>>;
  /** How long each provider has (its retries included) before the next is asked. Default 60 s. */
  readonly timeoutMs?: number;
  /** Append `rules` when the list does not end with it (default true), so an analysis always gets an answer. */
  readonly rulesFallback?: boolean;
  readonly retry?: RetryOptions;
  /** What the prompts say policy allows. */
  readonly policy?: RemediationPolicy;
}

export interface ChainDependencies {
  /** Where API keys are read from when no key or key file is configured. */
  readonly env?: Readonly<Record<string, string | undefined>>;
  readonly onFallback?: (failure: ProviderFailure) => void;
}

/** The environment variable each provider's key is read from by default: the names its own tools use. */
export const ApiKeyEnv: Readonly<Record<RemoteProviderKind, string>> = {
  openai: 'OPENAI_API_KEY',
  anthropic: 'ANTHROPIC_API_KEY',
};

const DefaultBaseUrl: Readonly<Record<RemoteProviderKind, string>> = {
  openai: OPENAI_DEFAULT_BASE_URL,
  anthropic: ANTHROPIC_DEFAULT_BASE_URL,
};

const misconfigured = (message: string) =>
  new CairnError(ProviderErrorCode.Misconfigured, ErrorCategory.Validation, message);

export const isProviderKind = (value: string): value is ProviderKind =>
  (providerKinds as readonly string[]).includes(value);

/** The providers in the order they will be asked, `rules` appended unless told otherwise. */
export const chainOrder = (config: ProviderChainConfig): ProviderKind[] => {
  const listed = config.providers && config.providers.length > 0 ? [...config.providers] : [ProviderKind.Rules];
  const seen = new Set<ProviderKind>();
  for (const kind of listed) {
    if (!isProviderKind(kind)) throw misconfigured(`unknown provider "${kind}" (known: ${providerKinds.join(', ')})`);
    if (seen.has(kind)) throw misconfigured(`provider ${kind} is listed twice`);
    seen.add(kind);
  }
  if (config.rulesFallback !== false && !seen.has(ProviderKind.Rules)) listed.push(ProviderKind.Rules);
  return listed;
};

/** The key from the settings, the key file (trimmed), or the provider's environment variable; never logged. */
export const resolveApiKey = (
  kind: RemoteProviderKind,
  settings: RemoteProviderSettings,
  env: Readonly<Record<string, string | undefined>>,
): string | undefined => {
  if (settings.apiKey) return settings.apiKey;
  if (settings.apiKeyFile) {
    let content: string;
    try {
      content = readFileSync(settings.apiKeyFile, 'utf8');
    } catch (error) {
      throw misconfigured(
        `${kind}: cannot read the API key file ${settings.apiKeyFile} (${(error as NodeJS.ErrnoException).code ?? 'unreadable'})`,
      );
    }
    const key = content.trim();
    if (!key) throw misconfigured(`${kind}: the API key file ${settings.apiKeyFile} is empty`);
    return key;
  }
  return env[ApiKeyEnv[kind]]?.trim() || undefined;
};

const remoteProvider = (
  kind: RemoteProviderKind,
  config: ProviderChainConfig,
  env: Readonly<Record<string, string | undefined>>,
): AnalysisProvider & AgenticProvider => {
  const settings = config.settings?.[kind] ?? {};
  if (!settings.model)
    throw misconfigured(`${kind}: a model is required (--provider-model ${kind}=<model>, e.g. for Ollama llama3.1)`);
  if (settings.baseUrl !== undefined && !/^https?:\/\/[^\s]+$/.test(settings.baseUrl))
    throw misconfigured(`${kind}: the base URL must be an http(s) URL, not "${settings.baseUrl}"`);
  const apiKey = resolveApiKey(kind, settings, env);
  const common = {
    model: settings.model,
    ...(settings.baseUrl ? { baseUrl: settings.baseUrl.replace(/\/+$/, '') } : {}),
    ...(apiKey ? { apiKey } : {}),
    ...(settings.maxOutputTokens ? { maxOutputTokens: settings.maxOutputTokens } : {}),
    ...(config.timeoutMs ? { timeoutMs: config.timeoutMs } : {}),
    ...(config.retry ? { retry: config.retry } : {}),
    ...(config.policy ? { policy: config.policy } : {}),
  };
  return kind === ProviderKind.OpenAi
    ? createOpenAiProvider({
        ...common,
        ...(settings.structuredOutput ? { structuredOutput: settings.structuredOutput as StructuredOutput } : {}),
      })
    : createAnthropicProvider({
        ...common,
        ...(settings.structuredOutput ? { structuredOutput: settings.structuredOutput as AnthropicOutput } : {}),
      });
};

/** The chain answers both analyses and agentic steps, from the same providers in the same order. */
export type ProviderChain = AnalysisProvider & AgenticProvider;

/**
 * Builds the configured chain, failing at start-up (not at the first Issue) on anything that cannot work: an
 * unknown provider, a missing model, an unreadable key file, no key for a public endpoint.
 */
export function createProviderChain(config: ProviderChainConfig = {}, deps: ChainDependencies = {}): ProviderChain {
  const env = deps.env ?? process.env;
  const kinds = chainOrder(config);
  const remotes = new Map(
    kinds
      .filter((kind): kind is RemoteProviderKind => kind !== ProviderKind.Rules)
      .map((kind) => [kind, remoteProvider(kind, config, env)] as const),
  );
  const options = {
    ...(config.timeoutMs ? { timeoutMs: config.timeoutMs } : {}),
    ...(deps.onFallback ? { onFallback: deps.onFallback } : {}),
  };
  const analysis = chainProviders(
    kinds.map((kind) => (kind === ProviderKind.Rules ? createRulesProvider() : remotes.get(kind)!)),
    options,
  );
  const agentic = chainAgenticProviders(
    kinds.map((kind) => (kind === ProviderKind.Rules ? createRulesAgenticProvider() : remotes.get(kind)!)),
    options,
  );
  return {
    name: analysis.name,
    analyze: (request, callOptions) => analysis.analyze(request, callOptions),
    agenticStep: (request, callOptions) => agentic.agenticStep(request, callOptions),
  };
}

/** One line for the start-up log: who is asked, in order, with model and endpoint; never a key. */
export const describeProviderChain = (config: ProviderChainConfig = {}): string =>
  chainOrder(config)
    .map((kind) => {
      if (kind === ProviderKind.Rules) return kind;
      const settings = config.settings?.[kind] ?? {};
      return `${kind} (${settings.model ?? 'no model'} at ${settings.baseUrl ?? DefaultBaseUrl[kind]})`;
    })
    .join(' > ');
