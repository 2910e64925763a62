import type * as k8s from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ResourceRef } from '../../domain/events/common.schema.ts';
import {
  createNamespace,
  deleteNamespace,
  eventually,
  type KubeClients,
  kubeClients,
} from '../../test/support/kube.ts';
import { refusalOf } from '../../test/support/refusal.ts';
import { cronJob, podTemplate } from '../../test/support/workloads.ts';
import { type ActionClients, createActionClients } from './action.ts';
import { jobOutcome } from './job.actions.ts';
import { PatchAs } from './patchOptions.ts';
import { requireAction } from './registry.ts';
import { restoreSnapshot, type Snapshot, takeSnapshot } from './snapshot.ts';

let kube: KubeClients;
let clients: ActionClients;
let namespace: string;

beforeAll(async () => {
  kube = kubeClients();
  clients = createActionClients(kube.config);
  namespace = await createNamespace(kube, 'actions-cron');
});
afterAll(() => deleteNamespace(kube, namespace));

const ref = (name: string): ResourceRef => ({ kind: 'CronJob', name, namespace });

const run = async (type: string, target: ResourceRef, params: Record<string, string> = {}) => {
  const action = requireAction(type);
  action.check(params, target);
  return action.execute({ clients, target, params });
};

const read = (name: string) => kube.batch.readNamespacedCronJob({ name, namespace });

const create = (name: string, options: Parameters<typeof cronJob>[1] = {}) =>
  kube.batch.createNamespacedCronJob({ namespace, body: cronJob(name, options) });

const jobsOf = async (name: string) =>
  (await kube.batch.listNamespacedJob({ namespace })).items.filter((j) =>
    j.metadata?.ownerReferences?.some((o) => o.kind === 'CronJob' && o.name === name),
  );

const outcome = (name: string, want: 'Complete' | 'Failed') =>
  eventually(`Job ${name} ${want}`, async () => {
    const j = await kube.batch.readNamespacedJob({ name, namespace });
    return jobOutcome(j) === want ? j : undefined;
  });

describe('TriggerCronJob, SuspendCronJob, ResumeCronJob', () => {
  it('starts a Job from the template now; refused while suspended, or under Forbid with a Job running', async () => {
    await create('nightly');
    const startedAt = new Date().toISOString();
    const result = await run('TriggerCronJob', ref('nightly'));
    const name = result.touched[0]?.name ?? '';
    expect(result.detail).toBe(`started Job ${name} from CronJob ${namespace}/nightly's template`);
    expect(name).toMatch(/^nightly-manual-[0-9a-f]{5}$/);
    const job = await outcome(name, 'Complete');
    expect(job.metadata?.annotations?.['cronjob.kubernetes.io/instantiate']).toBe('manual');
    expect(job.metadata?.ownerReferences?.[0]).toMatchObject({ kind: 'CronJob', name: 'nightly', controller: true });
    expect(job.metadata?.labels).toMatchObject({ app: 'nightly' });
    expect(
      await requireAction('TriggerCronJob').isDone?.({ clients, target: ref('nightly'), params: {}, startedAt }),
    ).toBe(true);

    const suspended = await run('SuspendCronJob', ref('nightly'));
    expect(suspended.detail).toBe(`suspended CronJob ${namespace}/nightly (schedule 0 3 1 1 *)`);
    expect((await read('nightly')).spec?.suspend).toBe(true);
    const refused = await refusalOf(run('TriggerCronJob', ref('nightly')));
    expect(refused.message).toBe(`CronJob ${namespace}/nightly is suspended: resume it before starting a Job`);
    await run('ResumeCronJob', ref('nightly'));
    expect((await read('nightly')).spec?.suspend).toBe(false);

    await create('exclusive', { wedged: true });
    await run('AdjustCronJobConcurrency', ref('exclusive'), { concurrencyPolicy: 'Forbid' });
    await run('TriggerCronJob', ref('exclusive'));
    const forbidden = await refusalOf(run('TriggerCronJob', ref('exclusive')));
    expect(forbidden.message).toMatch(/forbids concurrent runs and Job exclusive-manual-\w+ is running$/);
  });
});

describe('DeleteCronJobActiveJobs', () => {
  it('deletes the running Jobs and their pods', async () => {
    await create('stuck', { wedged: true });
    const a = (await run('TriggerCronJob', ref('stuck'))).touched[0]?.name;
    const b = (await run('TriggerCronJob', ref('stuck'))).touched[0]?.name;
    await eventually('pods of both Jobs', async () => {
      const pods = (await kube.core.listNamespacedPod({ namespace, labelSelector: 'app=stuck' })).items;
      return pods.filter((p) => p.status?.phase === 'Running').length === 2;
    });
    const result = await run('DeleteCronJobActiveJobs', ref('stuck'));
    // Both Jobs may be created within the same second, so the detail names them in name order.
    const names = [a, b].sort().join(', ');
    expect(result.detail).toBe(`deleted 2 running Job(s) of CronJob ${namespace}/stuck and their pods: ${names}`);
    await eventually('the Jobs and pods gone', async () => {
      const pods = (await kube.core.listNamespacedPod({ namespace, labelSelector: 'app=stuck' })).items;
      return (await jobsOf('stuck')).length === 0 && pods.length === 0;
    });
    const none = await refusalOf(run('DeleteCronJobActiveJobs', ref('stuck')));
    expect(none.message).toBe(`CronJob ${namespace}/stuck has no running Job`);
  });
});

describe('AdjustCronJobResources and ReplaceCronJobTemplate', () => {
  it('fix the template of a CronJob whose Jobs fail; the next Job completes', async () => {
    await create('billing', { memory: '128Mi', needsMemory: '300Mi' });
    const first = (await run('TriggerCronJob', ref('billing'))).touched[0]?.name ?? '';
    await outcome(first, 'Failed');
    const below = await refusalOf(run('AdjustCronJobResources', ref('billing'), { memory_request: '1Gi' }));
    expect(below.code).toBe('action.unsafe');
    const result = await run('AdjustCronJobResources', ref('billing'), { memory_limit: '512Mi' });
    expect(result.detail).toBe(`set memory_limit 128Mi → 512Mi on container app of CronJob ${namespace}/billing`);
    const second = (await run('TriggerCronJob', ref('billing'))).touched[0]?.name ?? '';
    await outcome(second, 'Complete');

    const template: k8s.V1JobTemplateSpec = {
      metadata: { labels: { app: 'billing', release: 'v2' } },
      spec: {
        backoffLimit: 1,
        template: podTemplate('billing', { restartPolicy: 'Never', image: 'registry.local/shop/billing:2.0.0' }),
      },
    };
    await kube.core.createNamespacedConfigMap({
      namespace,
      body: {
        metadata: { name: 'templates' },
        data: {
          good: JSON.stringify(template),
          whole: JSON.stringify({ apiVersion: 'batch/v1', kind: 'Job', ...template }),
          tight: JSON.stringify({
            spec: {
              template: {
                spec: {
                  containers: [
                    { name: 'app', image: 'x', resources: { limits: { memory: '1Mi' }, requests: { memory: '2Mi' } } },
                  ],
                },
              },
            },
          }),
        },
      },
    });
    const replaced = await run('ReplaceCronJobTemplate', ref('billing'), { configmap: 'templates', key: 'good' });
    expect(replaced.detail).toBe(
      `replaced the jobTemplate of CronJob ${namespace}/billing from ConfigMap ${namespace}/templates key good (registry.local/shop/billing:2.0.0)`,
    );
    const after = await read('billing');
    expect(after.spec?.jobTemplate.metadata?.labels).toEqual({ app: 'billing', release: 'v2' });
    expect(after.spec?.jobTemplate.spec?.backoffLimit).toBe(1);
    expect(after.spec?.jobTemplate.spec?.template.spec?.containers[0]?.image).toBe('registry.local/shop/billing:2.0.0');

    const whole = await refusalOf(
      run('ReplaceCronJobTemplate', ref('billing'), { configmap: 'templates', key: 'whole' }),
    );
    expect(whole.message).toBe(
      'jobTemplate: has apiVersion, kind: a jobTemplate holds only metadata and spec (not a whole Job)',
    );
    const tight = await refusalOf(
      run('ReplaceCronJobTemplate', ref('billing'), { configmap: 'templates', key: 'tight' }),
    );
    expect(tight.code).toBe('action.unsafe');
    const missingKey = await refusalOf(
      run('ReplaceCronJobTemplate', ref('billing'), { configmap: 'templates', key: 'nope' }),
    );
    expect(missingKey.message).toBe(`key: ConfigMap ${namespace}/templates has no key "nope"`);
  });
});

describe('schedule, deadline, history and concurrency', () => {
  it('set the spec fields and refuse values that would break the CronJob', async () => {
    await create('tuned');
    const schedule = await run('AdjustCronJobSchedule', ref('tuned'), { schedule: '*/15 2-4 * * MON-FRI' });
    expect(schedule.detail).toBe(`CronJob ${namespace}/tuned: schedule 0 3 1 1 * → */15 2-4 * * MON-FRI`);
    await run('AdjustCronJobDeadline', ref('tuned'), { startingDeadlineSeconds: '120' });
    await run('AdjustCronJobHistory', ref('tuned'), { successfulJobsHistoryLimit: '1', failedJobsHistoryLimit: '5' });
    await run('AdjustCronJobConcurrency', ref('tuned'), { concurrencyPolicy: 'Replace' });
    const spec = (await read('tuned')).spec;
    expect(spec).toMatchObject({
      schedule: '*/15 2-4 * * MON-FRI',
      startingDeadlineSeconds: 120,
      successfulJobsHistoryLimit: 1,
      failedJobsHistoryLimit: 5,
      concurrencyPolicy: 'Replace',
    });

    const bad = await refusalOf(run('AdjustCronJobSchedule', ref('tuned'), { schedule: '61 * * * *' }));
    expect(bad.message).toMatch(/^schedule: "61 \* \* \* \*" is not a valid cron expression/);
    const six = await refusalOf(run('AdjustCronJobSchedule', ref('tuned'), { schedule: '0 0 * * * *' }));
    expect(six.message).toMatch(/is not a five-field cron expression/);
    const zone = await refusalOf(run('AdjustCronJobSchedule', ref('tuned'), { schedule: 'TZ=UTC 0 * * * *' }));
    expect(zone.message).toMatch(/^schedule: a time zone in the schedule/);
    const short = await refusalOf(run('AdjustCronJobDeadline', ref('tuned'), { startingDeadlineSeconds: '5' }));
    expect(short.message).toMatch(/^startingDeadlineSeconds: must be at least 10/);
    const blind = await refusalOf(run('AdjustCronJobHistory', ref('tuned'), { failedJobsHistoryLimit: '0' }));
    expect(blind.code).toBe('action.unsafe');
    const policy = await refusalOf(run('AdjustCronJobConcurrency', ref('tuned'), { concurrencyPolicy: 'Never' }));
    expect(policy.message).toBe('concurrencyPolicy: must be one of Allow, Forbid, Replace, got "Never"');
    // The API server agrees with the schedule refused above: the same value written directly is rejected.
    const direct = await kube.batch
      .patchNamespacedCronJob(
        { name: 'tuned', namespace, body: [{ op: 'replace', path: '/spec/schedule', value: '61 * * * *' }] },
        PatchAs.json,
      )
      .then(
        () => 'accepted',
        (error: { code?: number }) => error.code,
      );
    expect(direct).toBe(422);
  });
});

describe('snapshot of a CronJob', () => {
  it('a failed plan puts the spec back exactly', async () => {
    await create('restored');
    const raw = async () =>
      (
        (await clients.custom.getNamespacedCustomObject({
          group: 'batch',
          version: 'v1',
          plural: 'cronjobs',
          namespace,
          name: 'restored',
        })) as { spec: unknown }
      ).spec;
    const original = await raw();
    const plan: { type: string; params: Record<string, string> }[] = [
      { type: 'SuspendCronJob', params: {} },
      { type: 'AdjustCronJobSchedule', params: { schedule: '@hourly' } },
      { type: 'AdjustCronJobResources', params: { cpu_limit: '2' } },
      { type: 'AdjustCronJobHistory', params: { successfulJobsHistoryLimit: '0' } },
      { type: 'AdjustCronJobConcurrency', params: { concurrencyPolicy: 'Forbid' } },
      { type: 'AdjustCronJobDeadline', params: { startingDeadlineSeconds: '300' } },
    ];
    const snapshot = JSON.parse(JSON.stringify(await takeSnapshot(clients, ref('restored'), plan))) as Snapshot;
    for (const step of plan) await run(step.type, ref('restored'), step.params);
    expect(await raw()).not.toEqual(original);
    await restoreSnapshot(clients, snapshot);
    expect(await raw()).toEqual(original);
  });
});
