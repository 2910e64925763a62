import Anthropic, {
  APIConnectionError,
  APIConnectionTimeoutError,
  APIError,
  APIUserAbortError,
} from '@anthropic-ai/sdk';
import { CairnError, ErrorCategory } from '../../../domain/errors.ts';
import { mapSdkError, ProviderErrorCode, remoteEndpoint } from './remoteCall.ts';
import {
  createRemoteProvider,
  type ModelCall,
  type ModelClient,
  type ModelReply,
  type RemoteProvider,
  type RemoteProviderOptions,
} from './remoteProvider.ts';

/**
 * Anthropic's Messages API. The answer is asked for as the input of a tool the model must call, whose input
 * schema is the answer's schema: the closest the API comes to structured output on every model. A gateway that
 * refuses tools (400) is asked again without them and not asked for them again; the prompt still spells out the
 * JSON, and the answer parser handles prose and fences.
 */
export const ANTHROPIC_PROVIDER = 'anthropic';
export const ANTHROPIC_DEFAULT_BASE_URL = 'https://api.anthropic.com';

export const AnthropicOutput = { Tool: 'tool', None: 'none' } as const;
export type AnthropicOutput = (typeof AnthropicOutput)[keyof typeof AnthropicOutput];

export interface AnthropicProviderConfig extends RemoteProviderOptions {
  readonly name?: string;
  readonly baseUrl?: string;
  readonly model: string;
  readonly apiKey?: string;
  readonly structuredOutput?: AnthropicOutput;
  /** Required by the API; default 4,096. */
  readonly maxOutputTokens?: number;
}

const sdkErrors = { APIError, APIUserAbortError, APIConnectionError, APIConnectionTimeoutError };

const TOOL_NAME = 'submit_answer';

const invalid = (name: string, what: string) =>
  new CairnError(ProviderErrorCode.InvalidResponse, ErrorCategory.Transient, `${name}: ${what}`);

/** The forced tool's input as JSON, else the text blocks: whichever the model produced. */
const replyText = (name: string, body: unknown, fallbackModel: string): ModelReply => {
  const message = body as { content?: unknown; model?: unknown } | null;
  if (typeof message !== 'object' || message === null || !Array.isArray(message.content))
    throw invalid(name, 'the response is not a message');
  const blocks = message.content as { type?: unknown; name?: unknown; input?: unknown; text?: unknown }[];
  const tool = blocks.find((block) => block?.type === 'tool_use' && block.name === TOOL_NAME);
  const text =
    tool !== undefined
      ? typeof tool.input === 'string'
        ? tool.input
        : JSON.stringify(tool.input ?? null)
      : blocks
          .filter((block) => block?.type === 'text' && typeof block.text === 'string')
          .map((block) => block.text as string)
          .join('\n');
  return {
    text,
    model: typeof message.model === 'string' && message.model ? message.model : fallbackModel,
  };
};

export function createAnthropicClient(config: AnthropicProviderConfig): ModelClient {
  const { name, baseURL, secrets } = remoteEndpoint(config, {
    name: ANTHROPIC_PROVIDER,
    defaultBaseUrl: ANTHROPIC_DEFAULT_BASE_URL,
    api: 'Anthropic API',
    keyVariable: 'ANTHROPIC_API_KEY',
  });
  // Every credential source is named explicitly, so the SDK never goes looking in the environment or on disk.
  const client = new Anthropic({
    baseURL,
    apiKey: config.apiKey || 'no-key',
    authToken: null,
    maxRetries: 0,
    logLevel: 'off',
  });
  let mode = config.structuredOutput ?? AnthropicOutput.Tool;
  return {
    name,
    mapError: (error) => mapSdkError(name, error, sdkErrors, secrets),
    async complete(call: ModelCall, { signal, timeoutMs }) {
      const started = Date.now();
      const send = (useTool: boolean) =>
        client.messages.create(
          {
            model: config.model,
            max_tokens: config.maxOutputTokens ?? 4_096,
            system: call.system,
            messages: [{ role: 'user', content: call.user }],
            ...(useTool
              ? {
                  tools: [
                    {
                      name: TOOL_NAME,
                      description: 'Submit the answer. Its input is the JSON object the instructions describe.',
                      input_schema: call.schema as Anthropic.Tool.InputSchema,
                    },
                  ],
                  tool_choice: { type: 'tool' as const, name: TOOL_NAME },
                }
              : {}),
          },
          { signal, timeout: Math.max(1, timeoutMs - (Date.now() - started)), maxRetries: 0 },
        );
      const useTool = mode === AnthropicOutput.Tool;
      try {
        return replyText(name, await send(useTool), config.model);
      } catch (error) {
        if (!(useTool && error instanceof APIError && error.status === 400)) throw error;
        mode = AnthropicOutput.None;
        return replyText(name, await send(false), config.model);
      }
    },
  };
}

export const createAnthropicProvider = (config: AnthropicProviderConfig): RemoteProvider =>
  createRemoteProvider(createAnthropicClient(config), config);
