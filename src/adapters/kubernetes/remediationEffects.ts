import type * as k8s from '@kubernetes/client-node';
import type { ResourceRef } from '../../../domain/events/common.schema.ts';
import { createActionClients } from '../../actions/action.ts';
import type { RevisionVerdicts } from '../../actions/envelopeFacts.ts';
import {
  defaultRemediationPolicy,
  evaluatePlan,
  observePlanFacts,
  type RemediationPolicy,
} from '../../actions/policy.ts';
import { requireAction } from '../../actions/registry.ts';
import { restoreSnapshot, takeSnapshot } from '../../actions/snapshot.ts';
import { countSecretValues, sealCaptured, sealedKeyIds, unsealCaptured } from '../../actions/snapshotSealing.ts';
import type { RemediationEffects } from '../../application/remediation/remediationExecutor.ts';
import { kubernetesSnapshotKeys } from './snapshotKeys.ts';
import { workloadHealth } from './workloadHealth.ts';

/**
 * The executor's effects on a real cluster: the action registry, the policy, snapshots and health checks.
 * Snapshot data keys live in Secrets of `keys.namespace` (the operator's), see snapshotKeys.ts.
 */
export function kubernetesRemediationEffects(
  config: k8s.KubeConfig,
  policy: RemediationPolicy = defaultRemediationPolicy(),
  keys: { readonly namespace: string },
  /** What Cairn recorded of the target's revisions, for the envelope's rollback rule. */
  verdicts?: RevisionVerdicts,
): RemediationEffects {
  const clients = createActionClients(config);
  const keyStore = kubernetesSnapshotKeys(config, keys.namespace);
  return {
    snapshot: async (target, plan, ids) => {
      const snapshot = await takeSnapshot(clients, target, plan);
      // Secret-bearing values are sealed before the snapshot reaches the event log; a snapshot without any
      // needs no data key.
      const captured =
        countSecretValues(snapshot.captured) > 0
          ? sealCaptured(snapshot.captured, ids.snapshotId, await keyStore.dataKeyFor({ ...ids, target }))
          : { ...snapshot.captured };
      return {
        captured,
        ...(snapshot.resourceVersion ? { resourceVersion: snapshot.resourceVersion } : {}),
      };
    },
    // Nothing is touched unless every sealed value opens: half a restore with secrets missing is worse than none.
    restore: async (target, captured) => {
      const dataKeys = new Map<string, Buffer>();
      for (const id of sealedKeyIds(captured)) dataKeys.set(id, await keyStore.dataKey(id));
      return (await restoreSnapshot(clients, { target, captured: unsealCaptured(captured, dataKeys) })).detail;
    },
    // The whole plan is judged, not the action alone: "one destructive action per plan" needs the others.
    admit: async (action, target, plan, context) => {
      const facts = await observePlanFacts(clients, target, plan, verdicts, policy);
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
