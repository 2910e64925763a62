import { Metadata, type ServiceError, status } from '@grpc/grpc-js';
import { CairnError, ErrorCategory, isCairnError } from '../../../domain/errors.ts';
import { redactSecrets } from '../../analysis/redaction.ts';

/** The gRPC boundary's one mapping table from Cairn's error categories to status codes. */
export const GrpcStatusByCategory: Readonly<Record<ErrorCategory, status>> = {
  [ErrorCategory.Validation]: status.INVALID_ARGUMENT,
  [ErrorCategory.IllegalState]: status.FAILED_PRECONDITION,
  [ErrorCategory.NotFound]: status.NOT_FOUND,
  [ErrorCategory.Conflict]: status.ABORTED,
  [ErrorCategory.Forbidden]: status.PERMISSION_DENIED,
  [ErrorCategory.Transient]: status.UNAVAILABLE,
  [ErrorCategory.Internal]: status.INTERNAL,
};

/**
 * Trailers that mark a status as the server's own answer, with Cairn's code and category, so a client can tell
 * "the server said no" from "no server answered" even when both are UNAVAILABLE.
 */
export const ErrorTrailer = { code: 'cairn-error-code', category: 'cairn-error-category' } as const;

/** A handler's failure as the status the client receives; internal details stay in the server's log. */
export function toServiceError(error: unknown): Partial<ServiceError> {
  const metadata = new Metadata();
  if (isCairnError(error)) {
    metadata.set(ErrorTrailer.code, error.code);
    metadata.set(ErrorTrailer.category, error.category);
    const code = GrpcStatusByCategory[error.category];
    const details = code === status.INTERNAL ? 'internal error' : redactSecrets(error.message).slice(0, 2_000);
    return { code, details, metadata };
  }
  metadata.set(ErrorTrailer.code, 'internal');
  metadata.set(ErrorTrailer.category, ErrorCategory.Internal);
  return { code: status.INTERNAL, details: 'internal error', metadata };
}

const CATEGORIES = new Set<string>(Object.values(ErrorCategory));

/** The server's own error, rebuilt from its trailers; undefined when the status did not come from a Cairn server. */
export function fromServiceError(error: ServiceError, server: string): CairnError | undefined {
  const code = error.metadata?.get(ErrorTrailer.code)[0];
  const category = error.metadata?.get(ErrorTrailer.category)[0];
  if (typeof code !== 'string' || typeof category !== 'string' || !CATEGORIES.has(category)) return undefined;
  return new CairnError(code, category as ErrorCategory, `the AI server at ${server} answered: ${error.details}`, {
    cause: error,
  });
}
