import { type Command, Option } from 'commander';
import {
  ApiKeyEnv,
  isProviderKind,
  type ProviderChainConfig,
  type ProviderKind,
  providerKinds,
  type RemoteProviderKind,
  type RemoteProviderSettings,
  remoteProviderKinds,
} from '../analysis/providers/providerChain.ts';

/**
 * The analysis provider flags, shared by `cairn operator` and `cairn server`. A per-provider value is written
 * `name=value` (`--provider-model anthropic=claude-sonnet-4-5`); a bare value is accepted when the chain has one
 * remote provider, which is the common case (`--provider openai --provider-model llama3.1`).
 */
export interface ProviderFlags {
  provider: string[];
  providerBaseUrl?: string[];
  providerModel?: string[];
  providerApiKeyFile?: string[];
  providerTimeout: number;
  rulesFallback: boolean;
}

const collect = (value: string, previous: string[] | undefined): string[] => [...(previous ?? []), value];

const parseList = (value: string, previous: string[] | undefined): string[] => {
  const names = value
    .split(',')
    .map((name) => name.trim().toLowerCase())
    .filter(Boolean);
  for (const name of names)
    if (!isProviderKind(name))
      throw new Error(`--provider takes ${providerKinds.join(', ')} (comma-separated), not "${name}"`);
  // The default (['rules']) is replaced, not extended, by the first value given.
  return previous && previous !== defaultProviders ? [...previous, ...names] : names;
};
const defaultProviders = ['rules'];

const parseSeconds = (value: string): number => {
  const seconds = Number(value);
  if (!/^\d+(\.\d+)?$/.test(value) || seconds <= 0) throw new Error('--provider-timeout takes a number of seconds');
  return seconds;
};

export function addProviderOptions(command: Command): Command {
  return command
    .addOption(
      new Option(
        '--provider <list>',
        `analysis providers asked in order, comma-separated or repeated (${providerKinds.join(', ')}); rules is added last unless --no-rules-fallback`,
      )
        .env('CAIRN_PROVIDER')
        .argParser(parseList)
        .default(defaultProviders, 'rules'),
    )
    .addOption(
      new Option(
        '--provider-base-url <[name=]url>',
        'API base URL, e.g. http://localhost:11434/v1 for Ollama; repeatable',
      )
        .env('CAIRN_PROVIDER_BASE_URL')
        .argParser(collect),
    )
    .addOption(
      new Option('--provider-model <[name=]model>', 'model name, required for each remote provider; repeatable')
        .env('CAIRN_PROVIDER_MODEL')
        .argParser(collect),
    )
    .addOption(
      new Option(
        '--provider-api-key-file <[name=]path>',
        `file holding the API key (default: ${Object.values(ApiKeyEnv).join(' or ')}); repeatable`,
      )
        .env('CAIRN_PROVIDER_API_KEY_FILE')
        .argParser(collect),
    )
    .addOption(
      new Option('--provider-timeout <seconds>', 'time each provider has, retries included, before the next is asked')
        .argParser(parseSeconds)
        .default(60),
    )
    .option('--no-rules-fallback', 'do not append the rules provider to the chain');
}

/** `name=value` for a known remote provider, or a bare value; a URL's own `=` is never mistaken for one. */
const split = (raw: string): { name?: RemoteProviderKind; value: string } => {
  const match = /^([a-z]+)=(.*)$/s.exec(raw);
  if (match && (remoteProviderKinds as readonly string[]).includes(match[1] ?? ''))
    return { name: match[1] as RemoteProviderKind, value: match[2] ?? '' };
  return { value: raw };
};

const assign = (
  flag: string,
  values: readonly string[] | undefined,
  field: keyof Pick<RemoteProviderSettings, 'baseUrl' | 'model' | 'apiKeyFile'>,
  remotes: readonly RemoteProviderKind[],
  settings: Partial<Record<RemoteProviderKind, Record<string, string>>>,
) => {
  for (const raw of values ?? []) {
    const { name, value } = split(raw);
    const target = name ?? (remotes.length === 1 ? remotes[0] : undefined);
    if (!target) {
      throw new Error(
        remotes.length === 0
          ? `${flag} needs a remote provider in --provider (${remoteProviderKinds.join(', ')})`
          : `${flag} "${raw}" is ambiguous with ${remotes.join(' and ')} in the chain: write ${remotes[0]}=<value>`,
      );
    }
    if (!remotes.includes(target)) throw new Error(`${flag} names ${target}, which is not in --provider`);
    if (!value) throw new Error(`${flag} for ${target} is empty`);
    const entry = settings[target] ?? {};
    entry[field] = value;
    settings[target] = entry;
  }
};

export function providerConfigFromFlags(flags: ProviderFlags): ProviderChainConfig {
  const providers = flags.provider as ProviderKind[];
  const remotes = remoteProviderKinds.filter((kind) => providers.includes(kind));
  const settings: Partial<Record<RemoteProviderKind, Record<string, string>>> = {};
  assign('--provider-base-url', flags.providerBaseUrl, 'baseUrl', remotes, settings);
  assign('--provider-model', flags.providerModel, 'model', remotes, settings);
  assign('--provider-api-key-file', flags.providerApiKeyFile, 'apiKeyFile', remotes, settings);
  return {
    providers,
    settings: settings as ProviderChainConfig['settings'],
    timeoutMs: Math.round(flags.providerTimeout * 1000),
    rulesFallback: flags.rulesFallback,
  };
}
