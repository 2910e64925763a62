import type { CairnError } from '../../../domain/errors.ts';
import { RefusalCode } from '../../../domain/issue/refusal.stage.ts';
import type { RemediationPolicy } from '../../actions/policy.ts';
import { parseAgenticAnswer } from '../agentic.parser.ts';
import type { AgenticProvider, AgenticStepOptions, AgenticStepRequest, AgenticStepResult } from '../agentic.ts';
import { buildAgenticPrompt } from '../prompts/agentic.prompt.ts';
import { buildAnalysisPrompt } from '../prompts/analysis.prompt.ts';
import { agenticAnswerSchema, analysisAnswerSchema, type JsonSchema } from '../prompts/answerSchema.ts';
import type { AnalysisProvider, AnalysisRequest, AnalysisResult, AnalyzeOptions } from '../provider.ts';
import { redactSecrets } from '../redaction.ts';
import { parseModelAnswer, toAnalysisResult } from '../response.parser.ts';
import { type AttemptContext, type RetryOptions, withRetries } from './remoteCall.ts';

/**
 * One shape for every remote model: a client that turns a system and a user message into the model's text, and
 * the provider around it that builds the prompt, redacts it, retries within the deadline and parses the answer.
 */
export interface ModelCall {
  readonly system: string;
  readonly user: string;
  /** The answer's JSON Schema, for servers that can constrain their output to it. */
  readonly schema: JsonSchema;
  readonly schemaName: string;
}

export interface ModelReply {
  /** The model's answer as text (a tool's input is serialised); parsed leniently afterwards. */
  readonly text: string;
  /** The model that answered, as the server reports it. */
  readonly model: string;
}

export interface ModelClient {
  readonly name: string;
  complete(call: ModelCall, context: AttemptContext): Promise<ModelReply>;
  /** SDK error → CairnError (credentials scrubbed from messages). */
  mapError(error: unknown): CairnError;
}

export interface RemoteProviderOptions {
  /** Budget of one analysis including retries, when the caller sets no earlier deadline. Default 60 s. */
  readonly timeoutMs?: number;
  readonly retry?: RetryOptions;
  /** The policy the prompt describes (allowed actions, protected namespaces). */
  readonly policy?: RemediationPolicy;
}

export const DEFAULT_REMOTE_TIMEOUT_MS = 60_000;

export const deadlineOf = (options: AnalyzeOptions, timeoutMs: number): number =>
  Math.min(options.deadline ?? Number.POSITIVE_INFINITY, Date.now() + timeoutMs);

/** Redacts both messages again at the last point before they leave the process, whoever built them. */
export const redactCall = (call: ModelCall): ModelCall => ({
  ...call,
  system: redactSecrets(call.system),
  user: redactSecrets(call.user),
});

export interface RemoteProvider extends AnalysisProvider, AgenticProvider {
  /** One model call with Cairn's retries and deadline, for callers with their own prompt (the agentic step). */
  complete(call: ModelCall, options?: AnalyzeOptions): Promise<ModelReply>;
}

export function createRemoteProvider(client: ModelClient, options: RemoteProviderOptions = {}): RemoteProvider {
  const timeoutMs = options.timeoutMs ?? DEFAULT_REMOTE_TIMEOUT_MS;
  const complete = (call: ModelCall, callOptions: AnalyzeOptions = {}) => {
    const safe = redactCall(call);
    return withRetries((context) => client.complete(safe, context), {
      ...options.retry,
      deadline: deadlineOf(callOptions, timeoutMs),
      ...(callOptions.signal ? { signal: callOptions.signal } : {}),
      map: (error) => client.mapError(error),
      provider: client.name,
    });
  };
  const policy = options.policy ? { policy: options.policy } : {};
  return {
    name: client.name,
    complete,
    async agenticStep(request: AgenticStepRequest, callOptions: AgenticStepOptions = {}): Promise<AgenticStepResult> {
      const prompt = buildAgenticPrompt(request, policy);
      const reply = await complete(
        {
          system: prompt.system,
          user: prompt.user,
          schema: agenticAnswerSchema(prompt.actionTypes),
          schemaName: 'cairn_agentic_step',
        },
        callOptions,
      );
      return parseAgenticAnswer(reply.text, request, client.name, reply.model.slice(0, 256));
    },
    async analyze(request: AnalysisRequest, callOptions: AnalyzeOptions = {}): Promise<AnalysisResult> {
      const prompt = buildAnalysisPrompt(request, policy);
      const reply = await complete(
        {
          system: prompt.system,
          user: prompt.user,
          schema: analysisAnswerSchema(prompt.actionTypes),
          schemaName: 'cairn_analysis',
        },
        callOptions,
      );
      const parsed = parseModelAnswer(reply.text);
      // An action the prompt did not offer (Custom, one policy forbids, one for another kind) would only be refused
      // later and cost an attempt.
      const offered = new Set(prompt.actionTypes);
      const suggestedActions = parsed.suggestedActions.filter((action) => offered.has(action.type));
      const notOffered = parsed.suggestedActions
        .filter((action) => !offered.has(action.type))
        .map((action) => ({
          action: { type: action.type, params: { ...action.params } },
          code: RefusalCode.NotOffered,
          reason: `${action.type} was not among the actions offered for ${request.workload.kind} ${request.workload.namespace}/${request.workload.name}`,
        }));
      return toAnalysisResult(
        { ...parsed, suggestedActions, refused: [...parsed.refused, ...notOffered] },
        client.name,
        reply.model.slice(0, 256),
      );
    },
  };
}
