import type { AvailableAction } from '../analysis/agentic.ts';
import { AnyKind } from './action.ts';
import type { RemediationPolicy } from './policy.ts';
import { actionDefinitions } from './registry.ts';

/**
 * The actions an agentic loop may choose from for a target kind: implemented, allowed by the policy, and able to
 * act on that kind. What the model is offered is already bounded; the policy still judges each proposal.
 */
export const availableActions = (policy: RemediationPolicy, kind: string): AvailableAction[] =>
  actionDefinitions
    .filter((d) => policy.allowedActions.includes(d.type))
    .filter((d) => d.targetKinds.includes(kind) || d.targetKinds.includes(AnyKind))
    .map((d) => ({ type: d.type, description: d.describe, destructive: d.destructive, params: d.params }));
