import { CairnError, ErrorCategory, isCairnError } from '../../domain/errors.ts';
import { redactSecrets } from './redaction.ts';

/** How one provider of a chain failed before another answered (or all failed), for logs and metrics. */
export interface ProviderFailure {
  readonly provider: string;
  readonly error: string;
  readonly timedOut: boolean;
}

export const FallbackErrorCode = {
  Timeout: 'AnalysisTimeout',
  Aborted: 'AnalysisAborted',
} as const;

/** One question asked of a chain of providers: analyses and agentic steps differ only in these. */
export interface Question<P extends { readonly name: string }, T> {
  /** Named in errors: `analysis`, `agentic step`. */
  readonly what: string;
  readonly timeoutMs: number;
  readonly signal?: AbortSignal;
  readonly ask: (provider: P, options: { readonly signal: AbortSignal; readonly deadline: number }) => Promise<unknown>;
  /** Validates an answer; throws (and the next provider is asked) when it is not one. */
  readonly check: (provider: string, answer: unknown) => T;
  /** The code of the error thrown when no provider answered. */
  readonly unavailableCode: string;
  readonly onFallback?: (failure: ProviderFailure) => void;
}

/**
 * A provider that runs out of the chain's deadline may notice before the chain's own timer does (a remote one
 * gives its HTTP call exactly the time left): its `ProviderTimeout` (see providers/remoteCall.ts, not imported
 * here because that module imports this one through provider.ts) is a timeout all the same.
 */
const TIMEOUT_CODES: ReadonlySet<string> = new Set([FallbackErrorCode.Timeout, 'ProviderTimeout']);

const aborted = (what: string, signal: AbortSignal) =>
  new CairnError(FallbackErrorCode.Aborted, ErrorCategory.Transient, `${what} was cancelled`, {
    cause: signal.reason,
  });

/** Asks one provider under its own deadline, linked to the caller's signal; settles as soon as either fires. */
async function askWithDeadline<P extends { readonly name: string }, T>(provider: P, q: Question<P, T>): Promise<T> {
  const outer = q.signal;
  const controller = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  let onOuterAbort: (() => void) | undefined;
  // A provider that ignores its signal must not hold the chain: the race settles on the abort regardless.
  const stopped = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      const error = new CairnError(
        FallbackErrorCode.Timeout,
        ErrorCategory.Transient,
        `provider ${provider.name} did not answer within ${q.timeoutMs} ms`,
      );
      controller.abort(error);
      reject(error);
    }, q.timeoutMs);
    onOuterAbort = () => {
      controller.abort(outer?.reason);
      reject(aborted(q.what, outer as AbortSignal));
    };
    outer?.addEventListener('abort', onOuterAbort, { once: true });
  });
  try {
    const deadline = Date.now() + q.timeoutMs;
    const answer = await Promise.race([q.ask(provider, { signal: controller.signal, deadline }), stopped]);
    return q.check(provider.name, answer);
  } finally {
    clearTimeout(timer);
    if (onOuterAbort) outer?.removeEventListener('abort', onOuterAbort);
  }
}

/**
 * Asks each provider in turn until one answers: a failure, an invalid answer or a timeout moves on to the next one.
 * Cancellation by the caller stops the chain at once rather than falling back, since nobody is waiting any more.
 */
export async function firstAnswer<P extends { readonly name: string }, T>(
  providers: readonly P[],
  q: Question<P, T>,
): Promise<T> {
  const failures: ProviderFailure[] = [];
  for (const provider of providers) {
    if (q.signal?.aborted) throw aborted(q.what, q.signal);
    try {
      return await askWithDeadline(provider, q);
    } catch (error) {
      if (q.signal?.aborted) throw aborted(q.what, q.signal);
      const failure: ProviderFailure = {
        provider: provider.name,
        error: redactSecrets(error instanceof Error ? error.message : String(error)).slice(0, 500),
        timedOut: isCairnError(error) && TIMEOUT_CODES.has(error.code),
      };
      failures.push(failure);
      q.onFallback?.(failure);
    }
  }
  throw new CairnError(
    q.unavailableCode,
    ErrorCategory.Transient,
    `no ${q.what} provider answered: ${failures.map((f) => `${f.provider}: ${f.error}`).join('; ')}`,
    { details: { failures } },
  );
}
