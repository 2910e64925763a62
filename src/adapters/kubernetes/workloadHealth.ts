import * as k8s from '@kubernetes/client-node';
import type { ResourceRef } from '../../../domain/events/common.schema.ts';
import { DefaultThresholds, detectNode, detectPod } from './detection/detectors.ts';
import { jobHealth } from './jobHealth.ts';

export interface Health {
  readonly healthy: boolean;
  readonly detail: string;
}

const selectorOf = (labels: Record<string, string> | undefined) =>
  Object.entries(labels ?? {})
    .map(([k, v]) => `${k}=${v}`)
    .join(',');

/**
 * Verification after a remediation: the workload has rolled out completely and is available, and none of its
 * pods still shows a signal the Issue was opened for. Both matter: a Deployment can be "available" while a new
 * pod crash-loops behind maxUnavailable, and healthy pods can hide an unfinished rollout.
 */
export async function workloadHealth(
  config: k8s.KubeConfig,
  target: ResourceRef,
  signals: readonly string[],
): Promise<Health> {
  const apps = config.makeApiClient(k8s.AppsV1Api);
  const core = config.makeApiClient(k8s.CoreV1Api);
  const { name, namespace } = target;

  const podsStillSick = async (selector: string): Promise<string | null> => {
    const pods = await core.listNamespacedPod({ namespace, labelSelector: selector });
    for (const pod of pods.items) {
      const finding = detectPod(pod, { ...DefaultThresholds, podNotReadySeconds: 0 }).find(
        (f) => signals.includes(f.signal) || f.signal === 'pod_not_ready',
      );
      if (finding) return `pod ${pod.metadata?.name}: ${finding.message}`;
    }
    return null;
  };

  switch (target.kind) {
    case 'Deployment': {
      const d = await apps.readNamespacedDeployment({ name, namespace });
      const want = d.spec?.replicas ?? 1;
      const s = d.status ?? {};
      if ((s.observedGeneration ?? 0) < (d.metadata?.generation ?? 0))
        return { healthy: false, detail: 'rollout not yet observed' };
      if ((s.updatedReplicas ?? 0) < want || (s.replicas ?? 0) > want) {
        return {
          healthy: false,
          detail: `rollout in progress: ${s.updatedReplicas ?? 0} of ${want} updated, ${s.replicas ?? 0} total`,
        };
      }
      if ((s.availableReplicas ?? 0) < want)
        return { healthy: false, detail: `${s.availableReplicas ?? 0} of ${want} available` };
      const sick = await podsStillSick(selectorOf(d.spec?.selector.matchLabels));
      return sick
        ? { healthy: false, detail: sick }
        : { healthy: true, detail: `${want} of ${want} replicas available, no pod shows ${signals.join(', ')}` };
    }
    case 'StatefulSet': {
      const set = await apps.readNamespacedStatefulSet({ name, namespace });
      const want = set.spec?.replicas ?? 1;
      const s = set.status;
      if ((s?.observedGeneration ?? 0) < (set.metadata?.generation ?? 0))
        return { healthy: false, detail: 'rollout not yet observed' };
      const ready = s?.readyReplicas ?? 0;
      // OnDelete and a partition leave some pods at the old revision on purpose.
      const strategy = set.spec?.updateStrategy;
      const toUpdate =
        strategy?.type === 'OnDelete' ? 0 : Math.max(0, want - (strategy?.rollingUpdate?.partition ?? 0));
      if (ready < want || (s?.replicas ?? 0) > want || (s?.updatedReplicas ?? 0) < toUpdate)
        return {
          healthy: false,
          detail: `${ready} of ${want} ready, ${s?.updatedReplicas ?? 0} of ${toUpdate} updated`,
        };
      const sick = await podsStillSick(selectorOf(set.spec?.selector.matchLabels));
      return sick ? { healthy: false, detail: sick } : { healthy: true, detail: `${want} of ${want} ready` };
    }
    case 'DaemonSet': {
      const set = await apps.readNamespacedDaemonSet({ name, namespace });
      const s = set.status;
      const want = s?.desiredNumberScheduled ?? 0;
      if (s === undefined || (s.observedGeneration ?? 0) < (set.metadata?.generation ?? 0))
        return { healthy: false, detail: 'rollout not yet observed' };
      const toUpdate = set.spec?.updateStrategy?.type === 'OnDelete' ? 0 : want;
      if ((s.numberUnavailable ?? 0) > 0 || (s.numberReady ?? 0) < want || (s.updatedNumberScheduled ?? 0) < toUpdate)
        return {
          healthy: false,
          detail: `${s.numberReady ?? 0} of ${want} ready, ${s.updatedNumberScheduled ?? 0} updated`,
        };
      const sick = await podsStillSick(selectorOf(set.spec?.selector.matchLabels));
      return sick ? { healthy: false, detail: sick } : { healthy: true, detail: `${want} of ${want} ready` };
    }
    case 'Job':
    case 'CronJob':
      return jobHealth(config, target);
    case 'Node': {
      const node = await core.readNode({ name });
      const findings = detectNode(node, DefaultThresholds);
      return findings.length === 0
        ? { healthy: true, detail: 'node is Ready' }
        : { healthy: false, detail: findings[0]!.message };
    }
    default:
      return { healthy: false, detail: `Cairn cannot verify a ${target.kind} yet` };
  }
}
