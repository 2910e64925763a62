import type * as k8s from '@kubernetes/client-node';

/**
 * The revision a workload has just proved healthy, or undefined: a rollout of it completed (the controller saw the
 * latest spec, every replica runs it and every replica is available) with at least one replica. A revision is named
 * by its template hash: a Deployment's ReplicaSet `pod-template-hash`, a StatefulSet's ControllerRevision name.
 * DaemonSets are judged by the pods a rollback would go to (ready now), since their status names no revision.
 */
export function provenDeploymentRevision(
  deployment: k8s.V1Deployment,
  replicaSets: readonly k8s.V1ReplicaSet[],
): string | undefined {
  const desired = deployment.spec?.replicas ?? 1;
  const s = deployment.status;
  if (desired < 1 || s === undefined) return undefined;
  if ((s.observedGeneration ?? 0) < (deployment.metadata?.generation ?? 0)) return undefined;
  const complete =
    s.replicas === desired &&
    s.updatedReplicas === desired &&
    s.availableReplicas === desired &&
    (s.unavailableReplicas ?? 0) === 0;
  if (!complete) return undefined;
  const revision = deployment.metadata?.annotations?.['deployment.kubernetes.io/revision'];
  const uid = deployment.metadata?.uid;
  const current = replicaSets.find(
    (rs) =>
      rs.metadata?.annotations?.['deployment.kubernetes.io/revision'] === revision &&
      rs.metadata?.ownerReferences?.some((o) => o.controller && o.uid === uid),
  );
  // The ReplicaSet itself must agree: its pods are the ones counted as available.
  if (current === undefined || (current.status?.availableReplicas ?? 0) < desired) return undefined;
  return current.metadata?.labels?.['pod-template-hash'];
}

export function provenStatefulSetRevision(set: k8s.V1StatefulSet): string | undefined {
  const desired = set.spec?.replicas ?? 1;
  const s = set.status;
  if (desired < 1 || s === undefined) return undefined;
  if ((s.observedGeneration ?? 0) < (set.metadata?.generation ?? 0)) return undefined;
  const complete =
    s.currentRevision !== undefined &&
    s.currentRevision === s.updateRevision &&
    s.replicas === desired &&
    s.readyReplicas === desired &&
    (s.availableReplicas ?? desired) === desired;
  return complete ? s.updateRevision : undefined;
}
