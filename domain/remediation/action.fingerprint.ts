import type { ActionCall } from '../events/common.schema.ts';

/**
 * Longest fingerprint kept whole. Do-not-repeat entries travel in events whose fields are bounded, and a model may
 * propose an action with kilobytes of parameters: such a fingerprint keeps its head and ends in a digest of the rest.
 */
export const MAX_FINGERPRINT_LENGTH = 1_024;

/** FNV-1a, 64 bits: enough to tell two long parameter lists apart; no secrecy is needed. */
const digest = (text: string): string => {
  let hash = 0xcbf29ce484222325n;
  for (let i = 0; i < text.length; i++) {
    hash ^= BigInt(text.charCodeAt(i));
    hash = (hash * 0x100000001b3n) & 0xffffffffffffffffn;
  }
  return hash.toString(16).padStart(16, '0');
};

/**
 * What "the same action" means for do-not-repeat: same type and same parameters, in any order. Restarting a
 * Deployment that a restart did not fix is the same action; scaling it to 5 instead of 3 is not.
 */
export const actionFingerprint = (action: ActionCall): string => {
  const params = Object.keys(action.params)
    .sort()
    .map((key) => `${key}=${action.params[key]}`)
    .join(',');
  if (params.length === 0) return action.type;
  const whole = `${action.type}(${params})`;
  if (whole.length <= MAX_FINGERPRINT_LENGTH) return whole;
  // Still `Type(…)`, so whoever reads the type or masks parameters off a fingerprint keeps working.
  const tail = `…#${digest(whole)})`;
  return `${whole.slice(0, MAX_FINGERPRINT_LENGTH - tail.length)}${tail}`;
};
