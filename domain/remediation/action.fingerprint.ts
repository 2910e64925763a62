import type { ActionCall } from '../events/common.schema.ts';

/**
 * What "the same action" means for do-not-repeat: same type and same parameters, in any order. Restarting a
 * Deployment that a restart did not fix is the same action; scaling it to 5 instead of 3 is not.
 */
export const actionFingerprint = (action: ActionCall): string => {
  const params = Object.keys(action.params)
    .sort()
    .map((key) => `${key}=${action.params[key]}`)
    .join(',');
  return params.length === 0 ? action.type : `${action.type}(${params})`;
};
