import { describe, expect, it } from 'vitest';
import { CairnError } from '../../domain/errors.ts';
import type { ResourceRef } from '../../domain/events/common.schema.ts';
import type { ActionParams } from './action.ts';
import { parseJobTemplate, scheduleParam } from './cronjob.actions.ts';
import { replacementName } from './job.actions.ts';
import { defaultRemediationPolicy, evaluatePlan } from './policy.ts';
import { requireAction } from './registry.ts';
import { chooseControllerRevision, revisionTemplate } from './templateWorkloads.ts';

const at = (kind: string): ResourceRef => ({ kind, name: 'x', namespace: 'shop' });

const refusal = (type: string, params: ActionParams, kind: string) => {
  try {
    requireAction(type).check(params, at(kind));
    return undefined;
  } catch (error) {
    if (!(error instanceof CairnError)) throw error;
    return `${error.code} ${error.message}`;
  }
};

describe('checks of the StatefulSet, DaemonSet, Job and CronJob actions', () => {
  it('refuse unsafe or malformed params before any call to the cluster', () => {
    expect(refusal('ScaleStatefulSet', { replicas: '0' }, 'StatefulSet')).toMatch(/^action\.unsafe replicas:/);
    expect(refusal('RecreateStatefulSetPVC', { pvc: 'data-db-0', confirm: 'yes' }, 'StatefulSet')).toBe(
      'action.invalid_params confirm: must be true or false, got "yes"',
    );
    expect(refusal('RecreateStatefulSetPVC', { pvc: 'data-db-0', confirm: 'false' }, 'StatefulSet')).toMatch(
      /^action\.unsafe confirm:/,
    );
    expect(refusal('ForceDeleteStatefulSetPod', {}, 'StatefulSet')).toBe(
      'action.invalid_params pod: is required by ForceDeleteStatefulSetPod',
    );
    expect(refusal('PartitionStatefulSetUpdate', { partition: '-1' }, 'StatefulSet')).toMatch(/at least 0/);
    expect(refusal('UpdateDaemonSetStrategy', { type: 'RollingUpdate', maxUnavailable: '0' }, 'DaemonSet')).toMatch(
      /^action\.unsafe maxUnavailable: may be 0 only with a maxSurge above 0/,
    );
    expect(refusal('UpdateDaemonSetStrategy', { type: 'RollingUpdate', maxSurge: '150%' }, 'DaemonSet')).toMatch(
      /percentage up to 100%/,
    );
    expect(refusal('AdjustJobParallelism', { parallelism: '0' }, 'Job')).toMatch(/^action\.unsafe parallelism:/);
    expect(refusal('AdjustJobBackoffLimit', { backoffLimit: '101' }, 'Job')).toMatch(/at most 100/);
    expect(refusal('AdjustCronJobHistory', {}, 'CronJob')).toMatch(/give successfulJobsHistoryLimit/);
    expect(refusal('AdjustCronJobResources', { memory_limit: '1Gi', memory_request: '2Gi' }, 'CronJob')).toMatch(
      /^action\.unsafe memory_limit: memory limit 1Gi would be below its request 2Gi/,
    );
    expect(refusal('RetryJob', {}, 'CronJob')).toMatch(/^action\.invalid_params target: RetryJob acts on Job/);
    expect(refusal('SuspendCronJob', {}, 'CronJob')).toBeUndefined();
  });

  it('accept the cron syntax of the CronJob API and nothing else', () => {
    expect(scheduleParam({ schedule: '*/5  *  * * *' })).toBe('*/5 * * * *');
    expect(scheduleParam({ schedule: '@daily' })).toBe('@daily');
    expect(() => scheduleParam({ schedule: '@every 5m' })).toThrow(/not a five-field cron expression/);
    expect(() => scheduleParam({ schedule: '* * * *' })).toThrow(/not a five-field cron expression/);
    expect(() => scheduleParam({ schedule: '0 25 * * *' })).toThrow(/not a valid cron expression/);
  });

  it('name a Job replacement after the failed Job, the same each time, without growing', () => {
    const first = replacementName({ metadata: { name: 'report', uid: 'u1' } });
    expect(first).toMatch(/^report-retry-[0-9a-f]{5}$/);
    expect(replacementName({ metadata: { name: 'report', uid: 'u1' } })).toBe(first);
    expect(replacementName({ metadata: { name: first, uid: 'u2' } })).toMatch(/^report-retry-[0-9a-f]{5}$/);
    expect(replacementName({ metadata: { name: 'a'.repeat(63), uid: 'u' } }).length).toBeLessThanOrEqual(63);
  });

  it('vet a job template: only metadata and spec, a container, limits not below requests', () => {
    expect(() => parseJobTemplate('{')).toThrow(/not valid JSON/);
    expect(() => parseJobTemplate('{"spec":{"template":{"spec":{"containers":[]}}}}')).toThrow(
      /at least one container/,
    );
    const parsed = parseJobTemplate(
      JSON.stringify({
        metadata: { name: 'x', labels: { a: 'b' } },
        spec: { template: { spec: { containers: [{ name: 'c', image: 'i' }] } } },
      }),
    );
    expect(parsed.metadata).toEqual({ labels: { a: 'b' } });
  });

  it('choose a ControllerRevision: previous is the second newest; a number must exist', () => {
    const revisions = [3, 2, 1].map((revision) => ({
      revision,
      metadata: { name: `r${revision}` },
      data: { spec: { template: { $patch: 'replace', spec: { containers: [{ image: `v${revision}` }] } } } },
    }));
    expect(chooseControllerRevision(revisions, 'previous', at('StatefulSet')).revision).toBe(2);
    expect(chooseControllerRevision(revisions, 1, at('StatefulSet')).revision).toBe(1);
    expect(() => chooseControllerRevision(revisions, 7, at('StatefulSet'))).toThrow(
      /has no revision 7 \(it has 3, 2, 1\)/,
    );
    expect(() => chooseControllerRevision(revisions.slice(0, 1), 'previous', at('DaemonSet'))).toThrow(
      /only one revision/,
    );
    expect(revisionTemplate(revisions[1] as (typeof revisions)[number])).toEqual({
      spec: { containers: [{ image: 'v2' }] },
    });
  });

  it('count the blast radius of the new families and allow one destructive action per plan', () => {
    const plan = [
      { actionId: 'a', type: 'RestartDaemonSet', params: {} },
      { actionId: 'b', type: 'DeleteFailedJob', params: {} },
      { actionId: 'c', type: 'ForceDeleteJobPods', params: {} },
    ];
    const ds = evaluatePlan(plan.slice(0, 1), at('DaemonSet'), defaultRemediationPolicy(), { replicas: 12 });
    expect(ds.refused[0]?.code).toBe('policy.blast_radius');
    const jobs = evaluatePlan(plan.slice(1), at('Job'), defaultRemediationPolicy(), { replicas: 2 });
    expect(jobs.allowed.map((a) => a.type)).toEqual(['DeleteFailedJob']);
    expect(jobs.refused.map((r) => r.code)).toEqual(['policy.too_many_destructive']);
    const guarded = evaluatePlan(
      plan.slice(0, 1),
      { ...at('DaemonSet'), namespace: 'kube-system' },
      defaultRemediationPolicy(),
      {
        replicas: 1,
      },
    );
    expect(guarded.refused[0]?.code).toBe('policy.protected_namespace');
  });
});
