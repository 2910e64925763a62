import { CairnError, ErrorCategory, isCairnError } from '../../domain/errors.ts';
import type { ResourceRef } from '../../domain/events/common.schema.ts';

/** The codes actions throw. The executor records them on ActionFailed; the policy layer reuses the first two. */
export const ActionErrorCode = {
  InvalidParams: 'action.invalid_params',
  Unsafe: 'action.unsafe',
  Unknown: 'action.unknown',
  NotFound: 'action.not_found',
  IllegalState: 'action.illegal_state',
  Unavailable: 'action.unavailable',
  Incomplete: 'action.incomplete',
  Kubernetes: 'action.kubernetes',
} as const;
export type ActionErrorCode = (typeof ActionErrorCode)[keyof typeof ActionErrorCode];

export const invalidParam = (param: string, message: string): CairnError =>
  new CairnError(ActionErrorCode.InvalidParams, ErrorCategory.Validation, `${param}: ${message}`, {
    details: { param },
  });

export const unsafe = (param: string, message: string): CairnError =>
  new CairnError(ActionErrorCode.Unsafe, ErrorCategory.Validation, `${param}: ${message}`, { details: { param } });

export const missing = (what: string, message: string): CairnError =>
  new CairnError(ActionErrorCode.NotFound, ErrorCategory.NotFound, message, { details: { what } });

export const illegalState = (message: string, details?: Record<string, unknown>): CairnError =>
  new CairnError(ActionErrorCode.IllegalState, ErrorCategory.IllegalState, message, details ? { details } : undefined);

export const display = (ref: ResourceRef): string =>
  `${ref.kind} ${ref.namespace ? `${ref.namespace}/` : ''}${ref.name}`;

/** The HTTP status of a client-node ApiException, if that is what it is. */
export const statusCode = (error: unknown): number | undefined => {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'number' ? code : undefined;
};

export const isNotFound = (error: unknown): boolean => statusCode(error) === 404;
export const isConflict = (error: unknown): boolean => statusCode(error) === 409;

/** The API server's own message (a Status body), rather than the client's multi-line dump with headers. */
export const apiMessage = (error: unknown): string => {
  const body = (error as { body?: unknown } | null)?.body;
  const parsed = typeof body === 'string' ? safeParse(body) : body;
  const message = (parsed as { message?: unknown } | null | undefined)?.message;
  if (typeof message === 'string' && message.length > 0) return message;
  return error instanceof Error ? (error.message.split('\n')[0] ?? error.message) : String(error);
};

const safeParse = (text: string): unknown => {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
};

const categoryOf = (status: number | undefined): ErrorCategory => {
  switch (status) {
    case 400:
    case 422:
      return ErrorCategory.Validation;
    case 401:
    case 403:
      return ErrorCategory.Forbidden;
    case 404:
      return ErrorCategory.NotFound;
    case 409:
      return ErrorCategory.Conflict;
    default:
      // 429, 5xx and network failures: trying again later may work.
      return ErrorCategory.Transient;
  }
};

/** Library errors never leave the action layer: everything becomes a CairnError saying what was being done. */
export const kubeFailure = (error: unknown, doing: string): CairnError => {
  if (isCairnError(error)) return error;
  const status = statusCode(error);
  return new CairnError(ActionErrorCode.Kubernetes, categoryOf(status), `${doing}: ${apiMessage(error)}`, {
    cause: error,
    details: status === undefined ? {} : { status },
  });
};

/** Runs one API call and translates its failure. */
export const kube = async <T>(doing: string, call: () => Promise<T>): Promise<T> => {
  try {
    return await call();
  } catch (error) {
    throw kubeFailure(error, doing);
  }
};

/** Reads an object, or undefined when it does not exist. */
export const readOptional = async <T>(doing: string, call: () => Promise<T>): Promise<T | undefined> => {
  try {
    return await call();
  } catch (error) {
    if (isNotFound(error)) return undefined;
    throw kubeFailure(error, doing);
  }
};
