import OpenAI, { APIConnectionError, APIConnectionTimeoutError, APIError, APIUserAbortError } from 'openai';
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
 * Any server that speaks OpenAI's chat-completions API: OpenAI itself, Ollama (`http://localhost:11434/v1`),
 * vLLM, OpenRouter, LiteLLM. Structured output is asked for with a JSON Schema response format; a server that
 * refuses the format (400) is asked again without it and not asked for it again, and the prompt still spells
 * out the JSON, so the answer parser handles whatever comes back.
 */
export const OPENAI_PROVIDER = 'openai';
export const OPENAI_DEFAULT_BASE_URL = 'https://api.openai.com/v1';

export const StructuredOutput = { JsonSchema: 'json_schema', JsonObject: 'json_object', None: 'none' } as const;
export type StructuredOutput = (typeof StructuredOutput)[keyof typeof StructuredOutput];

export interface OpenAiProviderConfig extends RemoteProviderOptions {
  /** Reported as `provider` in results; default `openai`. */
  readonly name?: string;
  readonly baseUrl?: string;
  readonly model: string;
  /** Absent for servers that need none (a local Ollama or vLLM). */
  readonly apiKey?: string;
  readonly structuredOutput?: StructuredOutput;
  /** Upper bound of the answer's tokens; not sent when absent (servers differ in the field they accept). */
  readonly maxOutputTokens?: number;
}

const sdkErrors = { APIError, APIUserAbortError, APIConnectionError, APIConnectionTimeoutError };

const responseFormat = (mode: StructuredOutput, call: ModelCall) => {
  if (mode === StructuredOutput.JsonSchema)
    return {
      type: 'json_schema' as const,
      // Not strict: strict mode forbids the open `params` map, and the parser is the judge anyway.
      json_schema: { name: call.schemaName, schema: call.schema as Record<string, unknown>, strict: false },
    };
  if (mode === StructuredOutput.JsonObject) return { type: 'json_object' as const };
  return undefined;
};

const invalid = (name: string, what: string) =>
  new CairnError(ProviderErrorCode.InvalidResponse, ErrorCategory.Transient, `${name}: ${what}`);

/** The text of the first choice; a body that is not a chat completion is the server's fault, not the model's. */
const replyText = (name: string, body: unknown, fallbackModel: string): ModelReply => {
  if (typeof body !== 'object' || body === null) throw invalid(name, 'the response is not a chat completion');
  const completion = body as { choices?: unknown; model?: unknown };
  if (!Array.isArray(completion.choices) || completion.choices.length === 0)
    throw invalid(name, 'the response holds no choices');
  const message = (completion.choices[0] as { message?: { content?: unknown; refusal?: unknown } }).message;
  const content = typeof message?.content === 'string' ? message.content : '';
  const refusal = typeof message?.refusal === 'string' ? message.refusal : '';
  return {
    text: content || refusal,
    model: typeof completion.model === 'string' && completion.model ? completion.model : fallbackModel,
  };
};

export function createOpenAiClient(config: OpenAiProviderConfig): ModelClient {
  const { name, baseURL, secrets } = remoteEndpoint(config, {
    name: OPENAI_PROVIDER,
    defaultBaseUrl: OPENAI_DEFAULT_BASE_URL,
    api: 'OpenAI API',
    keyVariable: 'OPENAI_API_KEY',
  });
  const client = new OpenAI({
    baseURL,
    // Local servers ignore the key but the SDK insists on one.
    apiKey: config.apiKey || 'no-key',
    organization: null,
    project: null,
    maxRetries: 0,
    logLevel: 'off',
  });
  let mode = config.structuredOutput ?? StructuredOutput.JsonSchema;
  return {
    name,
    mapError: (error) => mapSdkError(name, error, sdkErrors, secrets),
    async complete(call, { signal, timeoutMs }) {
      const started = Date.now();
      const send = (format: ReturnType<typeof responseFormat>) =>
        client.chat.completions.create(
          {
            model: config.model,
            messages: [
              { role: 'system', content: call.system },
              { role: 'user', content: call.user },
            ],
            ...(format ? { response_format: format } : {}),
            ...(config.maxOutputTokens ? { max_completion_tokens: config.maxOutputTokens } : {}),
          },
          { signal, timeout: Math.max(1, timeoutMs - (Date.now() - started)), maxRetries: 0 },
        );
      const format = responseFormat(mode, call);
      try {
        return replyText(name, await send(format), config.model);
      } catch (error) {
        if (!(format && error instanceof APIError && error.status === 400)) throw error;
        // The server does not know the format (an older Ollama, a proxy): ask in plain text from now on.
        mode = StructuredOutput.None;
        return replyText(name, await send(undefined), config.model);
      }
    },
  };
}

export const createOpenAiProvider = (config: OpenAiProviderConfig): RemoteProvider =>
  createRemoteProvider(createOpenAiClient(config), config);
