import { CairnError, ErrorCategory } from '../../../domain/errors.ts';

/**
 * A thin client for Prometheus' HTTP query API (`/api/v1/query`, `/api/v1/query_range`). It answers parsed
 * samples or throws a CairnError; an empty result is an answer, not an error. Credentials in the URL become a
 * Basic header and never appear in an error message.
 */
export const PrometheusErrorCode = {
  /** Nothing answered at the URL (refused, DNS, reset). */
  Unreachable: 'PrometheusUnreachable',
  Timeout: 'PrometheusTimeout',
  /** Prometheus refused the query (bad PromQL, bad parameters): retrying the same query will not help. */
  BadQuery: 'PrometheusBadQuery',
  /** Prometheus answered but failed (5xx, execution error, timeout on its side). */
  QueryFailed: 'PrometheusQueryFailed',
  /** Something answered that is not Prometheus' API. */
  InvalidResponse: 'PrometheusInvalidResponse',
  Aborted: 'PrometheusAborted',
} as const;

/** One series: its labels, and its samples as [unix seconds, value] in time order. */
export interface PrometheusSeries {
  readonly labels: Readonly<Record<string, string>>;
  readonly samples: readonly (readonly [number, number])[];
}

export interface PrometheusClientOptions {
  /** Base URL, e.g. `http://prometheus.monitoring:9090` (a path prefix is kept; user:password@ becomes Basic auth). */
  readonly url: string;
  /** Per request; 5 s by default. */
  readonly timeoutMs?: number;
}

export interface PrometheusClient {
  /** The URL without credentials, for messages. */
  readonly displayUrl: string;
  /** An instant query at `time` (unix seconds; now when absent). */
  query(expr: string, options?: { time?: number; signal?: AbortSignal }): Promise<PrometheusSeries[]>;
  /** A range query from `start` to `end` (unix seconds) every `stepSeconds`. */
  queryRange(
    expr: string,
    range: { start: number; end: number; stepSeconds: number },
    options?: { signal?: AbortSignal },
  ): Promise<PrometheusSeries[]>;
  /** The values a label takes in the series matching `match` (a selector) between `start` and `end` (unix seconds). */
  labelValues(
    label: string,
    options?: { match?: string; start?: number; end?: number; signal?: AbortSignal },
  ): Promise<string[]>;
  /** The command-line flags Prometheus runs with (`/api/v1/status/flags`), e.g. `storage.tsdb.retention.time`. */
  flags(options?: { signal?: AbortSignal }): Promise<Record<string, string>>;
}

interface ApiAnswer {
  status?: unknown;
  errorType?: unknown;
  error?: unknown;
  data?: { resultType?: unknown; result?: unknown } & Record<string, unknown>;
}

const parseUrl = (raw: string) => {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new CairnError(PrometheusErrorCode.BadQuery, ErrorCategory.Validation, 'the Prometheus URL is not a URL');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new CairnError(
      PrometheusErrorCode.BadQuery,
      ErrorCategory.Validation,
      `the Prometheus URL must be http or https, not ${url.protocol}`,
    );
  }
  const authorization =
    url.username || url.password
      ? `Basic ${Buffer.from(`${decodeURIComponent(url.username)}:${decodeURIComponent(url.password)}`).toString('base64')}`
      : undefined;
  url.username = '';
  url.password = '';
  url.search = '';
  url.hash = '';
  const base = url.toString().replace(/\/+$/, '');
  return { base, authorization };
};

/** Prometheus writes sample values as strings, including `NaN` and `±Inf`. */
const sampleOf = (pair: unknown): readonly [number, number] | undefined => {
  if (!Array.isArray(pair) || pair.length !== 2) return undefined;
  const [t, v] = pair as [unknown, unknown];
  if (typeof t !== 'number' || typeof v !== 'string') return undefined;
  return [t, Number(v)];
};

const seriesOf = (data: ApiAnswer['data']): PrometheusSeries[] | undefined => {
  const result = data?.result;
  if (!Array.isArray(result)) return undefined;
  const series: PrometheusSeries[] = [];
  for (const item of result as { metric?: unknown; value?: unknown; values?: unknown }[]) {
    const labels = (item?.metric ?? {}) as Record<string, string>;
    if (typeof labels !== 'object') return undefined;
    const raw = data?.resultType === 'matrix' ? item.values : [item.value];
    if (!Array.isArray(raw)) return undefined;
    const samples = raw.map(sampleOf);
    if (samples.some((s) => s === undefined)) return undefined;
    series.push({ labels, samples: samples as (readonly [number, number])[] });
  }
  return series;
};

export function createPrometheusClient(options: PrometheusClientOptions): PrometheusClient {
  const { base, authorization } = parseUrl(options.url);
  const timeoutMs = options.timeoutMs ?? 5_000;

  const call = async <T>(
    path: string,
    params: Record<string, string>,
    signal: AbortSignal | undefined,
    read: (data: unknown) => T | undefined,
    method: 'GET' | 'POST' = 'POST',
  ): Promise<T> => {
    const what = `Prometheus at ${base}`;
    const timeout = AbortSignal.timeout(timeoutMs);
    const combined = signal ? AbortSignal.any([signal, timeout]) : timeout;
    let response: Response;
    let text: string;
    try {
      // POST keeps long queries out of URLs (and out of proxies' access logs).
      // Status and label endpoints answer GET only.
      const query = new URLSearchParams(params);
      response = await fetch(method === 'GET' && query.size > 0 ? `${base}${path}?${query}` : `${base}${path}`, {
        method,
        headers: {
          ...(method === 'POST' ? { 'content-type': 'application/x-www-form-urlencoded' } : {}),
          accept: 'application/json',
          ...(authorization ? { authorization } : {}),
        },
        ...(method === 'POST' ? { body: query } : {}),
        signal: combined,
      });
      text = await response.text();
    } catch (error) {
      if (signal?.aborted) {
        throw new CairnError(PrometheusErrorCode.Aborted, ErrorCategory.Transient, `query to ${what} was cancelled`);
      }
      if (timeout.aborted) {
        throw new CairnError(
          PrometheusErrorCode.Timeout,
          ErrorCategory.Transient,
          `${what}: no answer within ${timeoutMs} ms`,
        );
      }
      const cause = (error as { cause?: { code?: string; message?: string } }).cause;
      const reason = cause?.code ?? cause?.message ?? (error instanceof Error ? error.message : String(error));
      throw new CairnError(
        PrometheusErrorCode.Unreachable,
        ErrorCategory.Transient,
        `${what} is unreachable (${reason})`,
        {
          cause: error,
        },
      );
    }
    let answer: ApiAnswer | undefined;
    try {
      answer = JSON.parse(text) as ApiAnswer;
    } catch {
      answer = undefined;
    }
    if (answer?.status === 'error') {
      const message = `${what} refused the query: ${String(answer.errorType ?? 'error')}: ${String(answer.error ?? '').slice(0, 300)}`;
      // bad_data is the caller's query; execution, timeout and internal errors are the server's.
      if (answer.errorType === 'bad_data' || response.status === 400 || response.status === 422) {
        throw new CairnError(PrometheusErrorCode.BadQuery, ErrorCategory.Validation, message, {
          details: { errorType: answer.errorType },
        });
      }
      throw new CairnError(PrometheusErrorCode.QueryFailed, ErrorCategory.Transient, message, {
        details: { errorType: answer.errorType },
      });
    }
    if (!response.ok) {
      throw new CairnError(
        PrometheusErrorCode.QueryFailed,
        response.status >= 500 ? ErrorCategory.Transient : ErrorCategory.Validation,
        `${what} answered HTTP ${response.status}`,
        { details: { status: response.status } },
      );
    }
    const result = answer?.status === 'success' ? read(answer.data) : undefined;
    if (result === undefined) {
      throw new CairnError(
        PrometheusErrorCode.InvalidResponse,
        ErrorCategory.Transient,
        `${what} answered something that is not a Prometheus ${path.includes('/query') ? 'query result' : 'API answer'}`,
      );
    }
    return result;
  };
  const series = (data: unknown) => seriesOf(data as ApiAnswer['data']);
  const strings = (data: unknown) =>
    Array.isArray(data) && data.every((v) => typeof v === 'string') ? (data as string[]) : undefined;
  const stringMap = (data: unknown) =>
    data !== null &&
    typeof data === 'object' &&
    !Array.isArray(data) &&
    Object.values(data).every((v) => typeof v === 'string')
      ? (data as Record<string, string>)
      : undefined;

  return {
    displayUrl: base,
    query: (expr, queryOptions = {}) =>
      call(
        '/api/v1/query',
        { query: expr, ...(queryOptions.time !== undefined ? { time: String(queryOptions.time) } : {}) },
        queryOptions.signal,
        series,
      ),
    queryRange: (expr, range, rangeOptions = {}) => {
      if (!(range.stepSeconds > 0) || !(range.end >= range.start)) {
        return Promise.reject(
          new CairnError(
            PrometheusErrorCode.BadQuery,
            ErrorCategory.Validation,
            'a range query needs end ≥ start and a positive step',
          ),
        );
      }
      return call(
        '/api/v1/query_range',
        { query: expr, start: String(range.start), end: String(range.end), step: String(range.stepSeconds) },
        rangeOptions.signal,
        series,
      );
    },
    labelValues: (label, options = {}) =>
      call(
        `/api/v1/label/${encodeURIComponent(label)}/values`,
        {
          ...(options.match !== undefined ? { 'match[]': options.match } : {}),
          ...(options.start !== undefined ? { start: String(options.start) } : {}),
          ...(options.end !== undefined ? { end: String(options.end) } : {}),
        },
        options.signal,
        strings,
        'GET',
      ),
    flags: (options = {}) => call('/api/v1/status/flags', {}, options.signal, stringMap, 'GET'),
  };
}
