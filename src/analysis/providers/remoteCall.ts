import { CairnError, ErrorCategory, isCairnError } from '../../../domain/errors.ts';
import { AnalysisErrorCode } from '../provider.ts';
import { REDACTED, redactSecrets } from '../redaction.ts';

/**
 * What the remote adapters share: SDK errors turned into CairnErrors, and retries that never outlive Cairn's
 * deadline. The SDKs' own retries are switched off because they sleep for whatever `retry-after` a server sends
 * (an hour is honoured) and cannot be interrupted while sleeping; here a wait that would pass the deadline is not
 * started, so the chain moves on to the next provider at once.
 */

export const ProviderErrorCode = {
  /** The key was refused (401/403): retrying or waiting will not help. */
  Auth: 'ProviderAuthFailed',
  /** The request was refused as malformed (400/404/422): an unknown model, an unsupported option. */
  Rejected: 'ProviderRequestRejected',
  RateLimited: 'ProviderRateLimited',
  /** 5xx, 408, 409: the server's trouble, worth another try. */
  ServerError: 'ProviderServerError',
  /** No connection (refused, DNS, reset). */
  Unreachable: 'ProviderUnreachable',
  Timeout: 'ProviderTimeout',
  /** A 200 whose body is not the provider's response format at all (not a model's bad answer). */
  InvalidResponse: 'ProviderResponseInvalid',
  /** Configuration that cannot work (no key for the public endpoint, no model). */
  Misconfigured: 'ProviderMisconfigured',
} as const;

/** The SDK error classes an adapter maps; both SDKs share this shape. */
export interface SdkErrorClasses {
  readonly APIError: abstract new (...args: never[]) => Error & { status?: number | undefined; headers?: unknown };
  readonly APIUserAbortError: abstract new (...args: never[]) => Error;
  readonly APIConnectionError: abstract new (...args: never[]) => Error;
  readonly APIConnectionTimeoutError: abstract new (...args: never[]) => Error;
}

const headerOf = (headers: unknown, name: string): string | undefined => {
  if (headers && typeof (headers as Headers).get === 'function') return (headers as Headers).get(name) ?? undefined;
  return undefined;
};

/** `retry-after-ms`, else `retry-after` in seconds or as an HTTP date; undefined when absent or unreadable. */
export const retryAfterMs = (headers: unknown, now = Date.now()): number | undefined => {
  const ms = Number.parseFloat(headerOf(headers, 'retry-after-ms') ?? '');
  if (Number.isFinite(ms) && ms >= 0) return ms;
  const raw = headerOf(headers, 'retry-after')?.trim();
  if (!raw) return undefined;
  if (/^\d+(\.\d+)?$/.test(raw)) return Number.parseFloat(raw) * 1000;
  const date = Date.parse(raw);
  return Number.isFinite(date) ? Math.max(0, date - now) : undefined;
};

/** The message without credentials: the configured key is removed verbatim, then the usual rules run. */
export const scrub = (text: string, secrets: readonly string[]): string => {
  let out = text;
  for (const secret of secrets) if (secret.length >= 4) out = out.split(secret).join(REDACTED);
  return redactSecrets(out).slice(0, 500);
};

export function mapSdkError(
  provider: string,
  error: unknown,
  sdk: SdkErrorClasses,
  secrets: readonly string[],
): CairnError {
  if (isCairnError(error)) return error;
  const message = scrub(error instanceof Error ? error.message : String(error), secrets);
  const fail = (code: string, category: ErrorCategory, text: string, details: Record<string, unknown> = {}) =>
    new CairnError(code, category, `${provider}: ${text}`, { details: { provider, ...details } });
  if (error instanceof sdk.APIUserAbortError)
    return fail(AnalysisErrorCode.Aborted, ErrorCategory.Transient, 'the request was cancelled');
  if (error instanceof sdk.APIConnectionTimeoutError)
    return fail(ProviderErrorCode.Timeout, ErrorCategory.Transient, 'no answer before the deadline');
  if (error instanceof sdk.APIConnectionError) {
    const cause = (error as { cause?: unknown }).cause;
    const reason =
      cause instanceof Error
        ? scrub(`${cause.message} ${String((cause as { cause?: unknown }).cause ?? '')}`, secrets)
        : message;
    return fail(ProviderErrorCode.Unreachable, ErrorCategory.Transient, `cannot connect (${reason.trim()})`);
  }
  if (error instanceof sdk.APIError && typeof error.status === 'number') {
    const status = error.status;
    if (status === 401 || status === 403)
      return fail(ProviderErrorCode.Auth, ErrorCategory.Forbidden, `the API key was refused (${message})`, { status });
    if (status === 429) {
      const wait = retryAfterMs(error.headers);
      return fail(ProviderErrorCode.RateLimited, ErrorCategory.Transient, `rate limited (${message})`, {
        status,
        ...(wait === undefined ? {} : { retryAfterMs: wait }),
      });
    }
    if (status >= 500 || status === 408 || status === 409) {
      const wait = retryAfterMs(error.headers);
      return fail(ProviderErrorCode.ServerError, ErrorCategory.Transient, `server error (${message})`, {
        status,
        ...(wait === undefined ? {} : { retryAfterMs: wait }),
      });
    }
    return fail(ProviderErrorCode.Rejected, ErrorCategory.Validation, `request refused (${message})`, { status });
  }
  return fail(ProviderErrorCode.InvalidResponse, ErrorCategory.Internal, message);
}

export interface RetryOptions {
  /** Retries after the first attempt. Default 2. */
  readonly maxRetries?: number;
  /** First backoff when the server names no wait; doubled each retry, with jitter, up to 8 s. Default 500 ms. */
  readonly baseDelayMs?: number;
  /** How a wait between attempts is spent; rejects when the signal fires. Default a real timer. */
  readonly sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
}

export interface AttemptContext {
  readonly signal: AbortSignal;
  /** What is left of the deadline: the SDK's timeout for this attempt. */
  readonly timeoutMs: number;
  readonly attempt: number;
}

const sleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });

/** An attempt needs at least this long to be worth starting. */
const MIN_ATTEMPT_MS = 250;

/**
 * Runs `attempt` until it succeeds, fails for good, or the deadline leaves no room for another try. Only
 * transient errors are retried; a server's `retry-after` is honoured when it fits before the deadline, and when it
 * does not the error is thrown at once with the wait in `details.retryAfterMs`.
 */
export async function withRetries<T>(
  attempt: (context: AttemptContext) => Promise<T>,
  options: RetryOptions & {
    readonly deadline: number;
    readonly signal?: AbortSignal;
    readonly map: (error: unknown) => CairnError;
    readonly provider: string;
  },
): Promise<T> {
  const maxRetries = options.maxRetries ?? 2;
  const baseDelayMs = options.baseDelayMs ?? 500;
  for (let n = 0; ; n++) {
    const timeoutMs = Math.floor(options.deadline - Date.now());
    if (timeoutMs <= 0)
      throw new CairnError(
        ProviderErrorCode.Timeout,
        ErrorCategory.Transient,
        `${options.provider}: no answer before the deadline`,
      );
    const signal = options.signal ?? new AbortController().signal;
    let error: CairnError;
    try {
      return await attempt({ signal, timeoutMs, attempt: n + 1 });
    } catch (raw) {
      if (options.signal?.aborted) throw aborted(options);
      error = options.map(raw);
    }
    if (error.category !== ErrorCategory.Transient || n >= maxRetries) throw error;
    const asked = error.details.retryAfterMs;
    const wait = typeof asked === 'number' ? asked : Math.min(baseDelayMs * 2 ** n, 8_000) * (1 - Math.random() * 0.25);
    if (Date.now() + wait + MIN_ATTEMPT_MS > options.deadline) {
      throw new CairnError(
        error.code,
        error.category,
        `${error.message}; not retried: ${typeof asked === 'number' ? `the server asked to wait ${Math.ceil(asked / 1000)} s,` : 'a retry would end'} past the deadline`,
        { details: error.details, cause: error },
      );
    }
    await (options.sleep ?? sleep)(wait, options.signal).catch(() => {
      throw aborted(options);
    });
  }
}

const aborted = (options: { readonly signal?: AbortSignal; readonly provider: string }) =>
  new CairnError(AnalysisErrorCode.Aborted, ErrorCategory.Transient, `${options.provider}: the request was cancelled`, {
    cause: options.signal?.reason,
  });

/** What both remote adapters need before they build an SDK client. */
export interface RemoteEndpoint {
  readonly name: string;
  readonly baseURL: string;
  /** Scrubbed from every error message the adapter reports. */
  readonly secrets: readonly string[];
}

/**
 * The checks both remote adapters make before they build a client: a model is required, and the vendor's own
 * endpoint needs a key (a local server on another base URL may need none).
 */
export function remoteEndpoint(
  config: { readonly name?: string; readonly baseUrl?: string; readonly model: string; readonly apiKey?: string },
  vendor: {
    readonly name: string;
    readonly defaultBaseUrl: string;
    readonly api: string;
    readonly keyVariable: string;
  },
): RemoteEndpoint {
  const name = config.name ?? vendor.name;
  const baseURL = config.baseUrl ?? vendor.defaultBaseUrl;
  if (!config.model)
    throw new CairnError(ProviderErrorCode.Misconfigured, ErrorCategory.Validation, `${name}: a model is required`);
  if (!config.apiKey && baseURL === vendor.defaultBaseUrl)
    throw new CairnError(
      ProviderErrorCode.Misconfigured,
      ErrorCategory.Validation,
      `${name}: the ${vendor.api} needs an API key (a key file or ${vendor.keyVariable})`,
    );
  return { name, baseURL, secrets: config.apiKey ? [config.apiKey] : [] };
}
