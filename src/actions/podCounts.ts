import type * as k8s from '@kubernetes/client-node';
import type { ResourceRef } from '../../domain/events/common.schema.ts';
import type { ActionClients } from './action.ts';
import { display, readOptional } from './actionErrors.ts';

/** The kinds whose pod count is read from their status rather than spec.replicas, for the blast radius. */
export const runningPodKinds: ReadonlySet<string> = new Set(['DaemonSet', 'Job', 'CronJob']);

/** How many pods the workload runs now; undefined when it does not exist (the policy then refuses to guess). */
export async function runningPods(clients: ActionClients, target: ResourceRef): Promise<number | undefined> {
  const { name, namespace } = target;
  const doing = `reading ${display(target)}`;
  switch (target.kind) {
    case 'DaemonSet': {
      const set = await readOptional(doing, () => clients.apps.readNamespacedDaemonSet({ name, namespace }));
      return set === undefined ? undefined : (set.status?.currentNumberScheduled ?? 0);
    }
    case 'Job': {
      const job = await readOptional(doing, () => clients.batch.readNamespacedJob({ name, namespace }));
      return job === undefined ? undefined : (job.status?.active ?? 0);
    }
    case 'CronJob': {
      const cron = await readOptional(doing, () => clients.batch.readNamespacedCronJob({ name, namespace }));
      if (cron === undefined) return undefined;
      const jobs = await readOptional('listing Jobs', () => clients.batch.listNamespacedJob({ namespace }));
      return (jobs?.items ?? [])
        .filter((j: k8s.V1Job) => j.metadata?.ownerReferences?.some((o) => o.uid === cron.metadata?.uid))
        .reduce((sum, j) => sum + (j.status?.active ?? 0), 0);
    }
    default:
      return undefined;
  }
}
