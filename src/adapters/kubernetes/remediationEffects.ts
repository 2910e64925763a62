import type * as k8s from '@kubernetes/client-node';
import type { ResourceRef } from '../../../domain/events/common.schema.ts';
import { createActionClients } from '../../actions/action.ts';
import {
  defaultRemediationPolicy,
  evaluatePlan,
  observePlanFacts,
  type RemediationPolicy,
} from '../../actions/policy.ts';
import type { RevisionVerdicts } from '../../actions/envelopeFacts.ts';
import { requireAction } from '../../actions/registry.ts';
import { restoreSnapshot, takeSnapshot } from '../../actions/snapshot.ts';
import type { RemediationEffects } from '../../application/remediation/remediationExecutor.ts';
import { workloadHealth } from './workloadHealth.ts';

/** The executor's effects on a real cluster: the action registry, the policy, snapshots and health checks. */
export function kubernetesRemediationEffects(
  config: k8s.KubeConfig,
  policy: RemediationPolicy = defaultRemediationPolicy(),
  /** What Cairn recorded of the target's revisions, for the envelope's rollback rule. */
  verdicts?: RevisionVerdicts,
): RemediationEffects {
  const clients = createActionClients(config);
  return {
    snapshot: async (target, plan) => {
      const snapshot = await takeSnapshot(clients, target, plan);
      return {
        captured: { ...snapshot.captured },
        ...(snapshot.resourceVersion ? { resourceVersion: snapshot.resourceVersion } : {}),
      };
    },
    restore: async (target, captured) => (await restoreSnapshot(clients, { target, captured })).detail,
    // The whole plan is judged, not the action alone: "one destructive action per plan" needs the others.
    admit: async (action, target, plan, context) => {
      const facts = await observePlanFacts(clients, target, plan, verdicts);
      const refusal = evaluatePlan(plan, target, policy, facts, context).refused.find(
        (r) => r.action.actionId === action.actionId,
      );
      return refusal ? { policy: refusal.code, reason: refusal.reason } : null;
    },
    run: async (action, target) => {
      const definition = requireAction(action.type);
      definition.check(action.params, target);
      const { detail, revisionLeft } = await definition.execute({ clients, target, params: action.params });
      return { detail, ...(revisionLeft ? { revisionLeft } : {}) };
    },
    wasApplied: async (action, target, startedAt) => {
      const definition = requireAction(action.type);
      return (await definition.isDone?.({ clients, target, params: action.params, startedAt })) ?? false;
    },
    verify: (target: ResourceRef, signals) => workloadHealth(config, target, signals),
  };
}
