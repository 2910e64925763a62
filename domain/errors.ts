/**
 * One error type for the whole of Cairn. Each boundary (HTTP, gRPC, reconcile) maps `category` to its own
 * vocabulary in a single table, so a new error never needs a new mapping at every edge.
 */
export const ErrorCategory = {
  Validation: 'Validation',
  IllegalState: 'IllegalState',
  NotFound: 'NotFound',
  Conflict: 'Conflict',
  Forbidden: 'Forbidden',
  Transient: 'Transient',
  Internal: 'Internal',
} as const;
export type ErrorCategory = (typeof ErrorCategory)[keyof typeof ErrorCategory];

export class CairnError extends Error {
  override readonly name: string = 'CairnError';
  constructor(
    readonly code: string,
    readonly category: ErrorCategory,
    message: string,
    options?: { cause?: unknown; details?: Record<string, unknown> },
  ) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.details = options?.details ?? {};
  }
  readonly details: Record<string, unknown>;
}

export const isCairnError = (error: unknown): error is CairnError => error instanceof CairnError;
