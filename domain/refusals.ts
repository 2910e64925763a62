import { CairnError, ErrorCategory } from './errors.ts';

/**
 * Shorthands for the errors deciders throw. A refusal is a decision ("not in this state"); an invalid command is
 * the caller's mistake; keeping them apart lets each boundary answer 409 or 400 without guessing.
 */
export const refuse = (code: string, message: string, details?: Record<string, unknown>): CairnError =>
  new CairnError(code, ErrorCategory.IllegalState, message, details === undefined ? undefined : { details });

export const invalid = (code: string, message: string, details?: Record<string, unknown>): CairnError =>
  new CairnError(code, ErrorCategory.Validation, message, details === undefined ? undefined : { details });

export const notFound = (code: string, message: string, details?: Record<string, unknown>): CairnError =>
  new CairnError(code, ErrorCategory.NotFound, message, details === undefined ? undefined : { details });
