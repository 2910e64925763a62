import { type Static, Type } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import { CairnError, ErrorCategory } from '../../domain/errors.ts';
import { ChangeEvidence, SuggestedAction } from '../../domain/events/analysis.events.ts';
import type { FailureEvidence, Severity } from '../../domain/events/common.schema.ts';
import type { ContextSection } from '../enrichers/enricher.ts';
import { FallbackErrorCode, firstAnswer, type ProviderFailure } from './fallback.ts';
import type { KubernetesContext, WorkloadRef } from './workloadFacts.ts';

export type { KubernetesContext, WorkloadFacts, WorkloadRef } from './workloadFacts.ts';

/** Everything a provider may read about an Issue. Built once per analysis; providers never call back into Cairn. */
export interface AnalysisRequest {
  readonly issueId: string;
  readonly namespace: string;
  readonly workload: WorkloadRef;
  /** The signal that opened the Issue; `signals` holds every signal attached to it since (including this one). */
  readonly signal: string;
  readonly signals: readonly string[];
  readonly severity: Severity;
  readonly riskScore: number;
  readonly description: string;
  readonly context: KubernetesContext;
  /** What the enrichers found (logs, metrics, …), in a stable order; absent or empty when none ran. */
  readonly sections?: readonly ContextSection[];
  /** Why earlier remediations of this Issue did not work, oldest first; empty on the first analysis. */
  readonly previousFailures: readonly FailureEvidence[];
  /** Fingerprints (`actionFingerprint`) of actions that already failed on this Issue: never suggest them again. */
  readonly doNotRepeat: readonly string[];
}

/**
 * Something the model proposed that the provider could not turn into a usable action, and why. The code's family
 * (`parser.…`, `offered.…`) says at which stage it was refused; the Issue records each one.
 */
export const RefusedProposalSchema = Type.Object({
  action: Type.Optional(
    Type.Object({
      type: Type.String({ minLength: 1, maxLength: 128 }),
      params: Type.Record(Type.String({ maxLength: 128 }), Type.String({ maxLength: 4_096 }), { maxProperties: 32 }),
    }),
  ),
  code: Type.String({ minLength: 1, maxLength: 128 }),
  reason: Type.String({ maxLength: 2_048 }),
});
export type RefusedProposal = Static<typeof RefusedProposalSchema>;

/** The fields of `CompleteAnalysis`, so a result maps onto the command one to one. */
export const AnalysisResultSchema = Type.Object({
  analysis: Type.String({ minLength: 1, maxLength: 20_000 }),
  confidence: Type.Number({ minimum: 0, maximum: 1 }),
  recommendations: Type.Array(Type.String({ maxLength: 2_048 }), { maxItems: 50 }),
  suggestedActions: Type.Array(SuggestedAction, { maxItems: 50 }),
  provider: Type.String({ minLength: 1, maxLength: 128 }),
  model: Type.String({ maxLength: 256 }),
  /** Absent or empty when everything the model proposed was usable (the rules provider proposes only usable ones). */
  refusedProposals: Type.Optional(Type.Array(RefusedProposalSchema, { maxItems: 64 })),
  /** What changed around the workload (GitOps state, suspected commits), from the context, kept with the analysis. */
  change: Type.Optional(ChangeEvidence),
});
export type AnalysisResult = Readonly<Static<typeof AnalysisResultSchema>>;

export interface AnalyzeOptions {
  readonly signal?: AbortSignal;
  /**
   * When the caller stops waiting (epoch milliseconds), set by the chain from its per-provider timeout. A remote
   * provider plans its retries and waits to end before it; the signal fires at it regardless.
   */
  readonly deadline?: number;
}

export interface AnalysisProvider {
  /** Goes into `AnalysisResult.provider` and into failure reports; stable across restarts. */
  readonly name: string;
  /** Rejects on any failure; an answer that cannot be parsed is not a failure (see response.parser.ts). */
  analyze(request: AnalysisRequest, options?: AnalyzeOptions): Promise<AnalysisResult>;
}

export type { ProviderFailure } from './fallback.ts';

export interface ChainOptions {
  /** Per provider; a provider still running when it expires is aborted and the next one asked. Default 60 s. */
  readonly timeoutMs?: number;
  /** Told about each provider that failed before another answered (or all failed), for logs and metrics. */
  readonly onFallback?: (failure: ProviderFailure) => void;
}

export const AnalysisErrorCode = {
  /** Every provider of the chain failed; `details.failures` says how. */
  Unavailable: 'AnalysisUnavailable',
  /** A provider answered something that is not an AnalysisResult. */
  InvalidResult: 'AnalysisResultInvalid',
  Timeout: FallbackErrorCode.Timeout,
  Aborted: FallbackErrorCode.Aborted,
  /** The analysis cannot be had now but will be: a remote analysis server is unreachable or refusing us. */
  Waiting: 'AnalysisWaiting',
} as const;

const DEFAULT_PROVIDER_TIMEOUT_MS = 60_000;

/** Throws when a provider's answer would be refused by the AnalysisCompleted schema, naming the first problem. */
export const assertAnalysisResult = (provider: string, result: unknown): AnalysisResult => {
  if (Value.Check(AnalysisResultSchema, result)) return result;
  const first = Value.Errors(AnalysisResultSchema, result).First();
  throw new CairnError(
    AnalysisErrorCode.InvalidResult,
    ErrorCategory.Internal,
    `provider ${provider} returned an invalid analysis${first ? `: ${first.path || '/'} ${first.message}` : ''}`,
  );
};

/**
 * Asks each provider in turn until one answers: a failure, an invalid answer or a timeout moves on to the next one.
 * The answer's `provider` field names the provider that answered. Cancellation by the caller stops the chain at
 * once rather than falling back, since nobody is waiting for the answer any more.
 */
export function chainProviders(providers: readonly AnalysisProvider[], options: ChainOptions = {}): AnalysisProvider {
  if (providers.length === 0) {
    throw new CairnError(
      'AnalysisChainEmpty',
      ErrorCategory.Validation,
      'a provider chain needs at least one provider',
    );
  }
  const timeoutMs = options.timeoutMs ?? DEFAULT_PROVIDER_TIMEOUT_MS;
  return {
    name: providers.map((p) => p.name).join('>'),
    analyze: (request, callOptions = {}) =>
      firstAnswer(providers, {
        what: 'analysis',
        timeoutMs,
        ...(callOptions.signal ? { signal: callOptions.signal } : {}),
        ask: (provider, options) => provider.analyze(request, options),
        check: assertAnalysisResult,
        unavailableCode: AnalysisErrorCode.Unavailable,
        ...(options.onFallback ? { onFallback: options.onFallback } : {}),
      }),
  };
}
