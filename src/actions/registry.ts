import { isCairnError } from '../../domain/errors.ts';
import type { ResourceRef } from '../../domain/events/common.schema.ts';
import { isActionType } from '../adapters/kubernetes/api/actionTypes.ts';
import type { ActionDefinition, ActionParams } from './action.ts';
import { ActionErrorCode, missing } from './actionErrors.ts';
import { configActions } from './config.actions.ts';
import { cronJobActions } from './cronjob.actions.ts';
import { customAction } from './custom.actions.ts';
import { daemonSetActions } from './daemonset.actions.ts';
import { deploymentActions } from './deployment.actions.ts';
import { gitopsActions } from './gitops.actions.ts';
import { jobActions } from './job.actions.ts';
import { networkActions } from './network.actions.ts';
import { nodeActions } from './node.actions.ts';
import { podActions } from './pod.actions.ts';
import { scalingActions } from './scaling.actions.ts';
import { statefulSetActions } from './statefulset.actions.ts';
import { storageActions } from './storage.actions.ts';

/** Every action Cairn can execute, by type. The other catalogue entries are refused as not implemented. */
export const actionDefinitions: readonly ActionDefinition[] = [
  ...deploymentActions,
  ...podActions,
  ...configActions,
  ...scalingActions,
  ...nodeActions,
  ...storageActions,
  ...networkActions,
  ...gitopsActions,
  ...statefulSetActions,
  ...daemonSetActions,
  ...jobActions,
  ...cronJobActions,
  customAction,
];

const byType = new Map(actionDefinitions.map((definition) => [definition.type, definition]));

/**
 * Implemented here but not (yet) in the API's catalogue (src/adapters/kubernetes/api/actionTypes.ts): usable by
 * the executor and the agentic loop, not by a Runbook or RemediationPlan until the catalogue lists it.
 */
export const actionsOutsideCatalog: readonly string[] = actionDefinitions
  .map((definition) => definition.type)
  .filter((type) => !isActionType(type));

export const implementedActionTypes: readonly string[] = [...byType.keys()];

export const findAction = (type: string): ActionDefinition | undefined => byType.get(type);

export const requireAction = (type: string): ActionDefinition => {
  const definition = byType.get(type);
  if (!definition) {
    throw missing(
      'type',
      isActionType(type)
        ? `action ${type} is in the catalogue but not implemented by this Cairn`
        : `there is no action type "${type}"`,
    );
  }
  return definition;
};

export type CheckOutcome = { ok: true } | { ok: false; code: string; reason: string };

/** The action's own check as a value, for callers that collect refusals instead of stopping at the first. */
export const checkAction = (type: string, params: ActionParams, target: ResourceRef): CheckOutcome => {
  try {
    requireAction(type).check(params, target);
    return { ok: true };
  } catch (error) {
    if (!isCairnError(error)) throw error;
    return {
      ok: false,
      code: error.code === ActionErrorCode.NotFound ? ActionErrorCode.Unknown : error.code,
      reason: error.message,
    };
  }
};
