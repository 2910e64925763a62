import * as k8s from '@kubernetes/client-node';
import type { ResourceRef } from '../../../domain/events/common.schema.ts';
import { jobOutcome, RetryOfAnnotation } from '../../actions/job.actions.ts';
import type { Health } from './workloadHealth.ts';

const created = (job: k8s.V1Job) => new Date(job.metadata?.creationTimestamp ?? 0).getTime();

/** A Job's health once it has finished: complete is healthy, failed is not, running is not yet. */
const judgeJob = (job: k8s.V1Job): Health => {
  const name = `Job ${job.metadata?.name}`;
  const outcome = jobOutcome(job);
  if (outcome === 'Complete')
    return { healthy: true, detail: `${name} completed (${job.status?.succeeded ?? 0} succeeded)` };
  if (outcome === 'Failed') {
    const reason = job.status?.conditions?.find((c) => c.type === 'Failed')?.reason ?? 'Failed';
    return { healthy: false, detail: `${name} failed (${reason}, ${job.status?.failed ?? 0} failed pods)` };
  }
  if (job.spec?.suspend) return { healthy: true, detail: `${name} is suspended: it runs no pod` };
  return {
    healthy: false,
    detail: `${name} is running: ${job.status?.active ?? 0} active, ${job.status?.succeeded ?? 0} of ${job.spec?.completions ?? 1} succeeded, ${job.status?.failed ?? 0} failed`,
  };
};

/**
 * Verification for Jobs and CronJobs. A Job replaced by RetryJob or AdjustJobResources no longer exists; its
 * newest replacement (annotated with its name) is judged instead. A CronJob is judged by its newest Job, or is
 * healthy while suspended (it starts none).
 */
export async function jobHealth(config: k8s.KubeConfig, target: ResourceRef): Promise<Health> {
  const batch = config.makeApiClient(k8s.BatchV1Api);
  const { name, namespace } = target;
  const jobs = (await batch.listNamespacedJob({ namespace })).items;
  if (target.kind === 'Job') {
    const job = jobs.find((j) => j.metadata?.name === name);
    if (job) return judgeJob(job);
    const replacement = jobs
      .filter((j) => j.metadata?.annotations?.[RetryOfAnnotation] === name)
      .sort((a, b) => created(b) - created(a))[0];
    if (!replacement) return { healthy: false, detail: `Job ${name} is gone and nothing replaced it` };
    const health = judgeJob(replacement);
    return { ...health, detail: `replaced by ${health.detail}` };
  }
  const cron = await batch.readNamespacedCronJob({ name, namespace });
  if (cron.spec?.suspend) return { healthy: true, detail: `CronJob ${name} is suspended: it starts no Job` };
  const newest = jobs
    .filter((j) => j.metadata?.ownerReferences?.some((o) => o.uid === cron.metadata?.uid))
    .sort((a, b) => created(b) - created(a))[0];
  if (!newest) return { healthy: true, detail: `CronJob ${name} has no Job yet` };
  const health = judgeJob(newest);
  return { ...health, detail: `newest ${health.detail}` };
}
