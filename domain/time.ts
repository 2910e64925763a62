import { invalid } from './refusals.ts';

/**
 * Instants travel as ISO-8601 strings in message metadata. Parsing a given string is pure; only reading "now" is
 * not, and nothing here does.
 */
const MAX_EPOCH_MS = 8.64e15;

export const epochMs = (iso: string): number => Date.parse(iso);

/** `iso + ms`, or null when `iso` is not an instant: evolve must never throw, so it gets a value it can ignore. */
export const plusMs = (iso: string, ms: number): string | null => {
  const at = Date.parse(iso) + ms;
  return Number.isFinite(at) && Math.abs(at) <= MAX_EPOCH_MS ? new Date(at).toISOString() : null;
};

/** For decide: a command whose time cannot be read is refused rather than compared as NaN (always false). */
export const requireInstant = (iso: string, what: string): number => {
  const at = Date.parse(iso);
  if (!Number.isFinite(at)) throw invalid('command.invalid_instant', `${what} is not an ISO-8601 instant: '${iso}'`);
  return at;
};

/** `a` strictly before `b`; an unreadable instant is never "before" anything. */
export const isBefore = (a: string, b: string): boolean => Date.parse(a) < Date.parse(b);

export const secondsBetween = (from: string, to: string): number => {
  const seconds = (Date.parse(to) - Date.parse(from)) / 1000;
  return Number.isFinite(seconds) && seconds > 0 ? seconds : 0;
};
