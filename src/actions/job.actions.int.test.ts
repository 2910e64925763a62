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
import { job } from '../../test/support/workloads.ts';
import { type ActionClients, createActionClients } from './action.ts';
import { jobOutcome, RetryOfAnnotation, replacementName } from './job.actions.ts';
import { requireAction } from './registry.ts';
import { restoreSnapshot, type Snapshot, takeSnapshot } from './snapshot.ts';

let kube: KubeClients;
let clients: ActionClients;
let namespace: string;

beforeAll(async () => {
  kube = kubeClients();
  clients = createActionClients(kube.config);
  namespace = await createNamespace(kube, 'actions-job');
});
afterAll(() => deleteNamespace(kube, namespace));

const ref = (name: string): ResourceRef => ({ kind: 'Job', name, namespace });

const run = async (type: string, target: ResourceRef, params: Record<string, string> = {}) => {
  const action = requireAction(type);
  action.check(params, target);
  return action.execute({ clients, target, params });
};

const read = (name: string) => kube.batch.readNamespacedJob({ name, namespace });

const jobPods = async (name: string) =>
  (await kube.core.listNamespacedPod({ namespace, labelSelector: `batch.kubernetes.io/job-name=${name}` })).items;

const livePods = async (name: string) =>
  (await jobPods(name)).filter((p) => !p.metadata?.deletionTimestamp && p.status?.phase === 'Running');

async function create(name: string, options: Parameters<typeof job>[1] = {}) {
  await kube.batch.createNamespacedJob({ namespace, body: job(name, options) });
}

const outcome = (name: string, want: 'Complete' | 'Failed') =>
  eventually(`Job ${name} ${want}`, async () => {
    const j = await read(name);
    return jobOutcome(j) === want ? j : undefined;
  });

const crashing = 'registry.local/shop/batch:1.0.0-broken';

describe('RetryJob', () => {
  it('replaces a failed Job with a fresh one that runs, and deletes the failed one; refuses a running Job', async () => {
    await create('report', { image: crashing });
    const failed = await outcome('report', 'Failed');
    // The image is the Job's own fault, so the retry fails again: what a retry of an unfixed Job does.
    const startedAt = new Date().toISOString();
    const result = await run('RetryJob', ref('report'));
    const retry = replacementName(failed);
    expect(retry).toMatch(/^report-retry-[0-9a-f]{5}$/);
    expect(result.detail).toBe(
      `replaced failed Job ${namespace}/report (BackoffLimitExceeded) with Job ${retry}; deleted the failed Job and its pods`,
    );
    const created = await read(retry);
    expect(created.metadata?.annotations?.[RetryOfAnnotation]).toBe('report');
    expect(created.metadata?.labels).toEqual({ app: 'report' });
    expect(created.spec?.template.metadata?.labels).toMatchObject({
      app: 'report',
      'batch.kubernetes.io/job-name': retry,
    });
    expect(created.spec?.selector?.matchLabels?.['batch.kubernetes.io/controller-uid']).toBe(created.metadata?.uid);
    await eventually('the failed Job gone', async () =>
      (await kube.batch.listNamespacedJob({ namespace })).items.every((j) => j.metadata?.name !== 'report'),
    );
    await eventually('the failed pods gone', async () => (await jobPods('report')).length === 0);
    expect(await requireAction('RetryJob').isDone?.({ clients, target: ref('report'), params: {}, startedAt })).toBe(
      true,
    );
    // A retry of the retry keeps the base name.
    await outcome(retry, 'Failed');
    expect(replacementName(await read(retry))).toMatch(/^report-retry-[0-9a-f]{5}$/);

    await create('busy', { wedged: true });
    const running = await refusalOf(run('RetryJob', ref('busy')));
    expect(running.code).toBe('action.illegal_state');
    expect(running.message).toMatch(
      /has not failed \(it is still running or suspended\): RetryJob applies to a failed Job$/,
    );
  });
});

describe('AdjustJobResources', () => {
  it('replaces an OOM-failed Job with a copy that has more memory, and the copy completes', async () => {
    await create('etl', { memory: '128Mi', needsMemory: '300Mi' });
    await outcome('etl', 'Failed');
    const below = await refusalOf(run('AdjustJobResources', ref('etl'), { memory_limit: '64Mi' }));
    expect(below.code).toBe('action.unsafe');
    const result = await run('AdjustJobResources', ref('etl'), { memory_limit: '512Mi' });
    const name = result.touched[1]?.name ?? '';
    expect(result.detail).toBe(
      `set memory_limit 128Mi → 512Mi on container app of Job ${namespace}/etl: replaced it with Job ${name}`,
    );
    const done = await outcome(name, 'Complete');
    expect(done.spec?.template.spec?.containers[0]?.resources).toEqual({
      limits: { memory: '512Mi' },
      requests: { cpu: '100m', memory: '128Mi' },
    });
  });
});

describe('DeleteFailedJob', () => {
  it('deletes a failed Job and its pods; refuses a complete one', async () => {
    await create('cleanup', { image: crashing });
    await outcome('cleanup', 'Failed');
    expect((await jobPods('cleanup')).length).toBeGreaterThan(0);
    const result = await run('DeleteFailedJob', ref('cleanup'));
    expect(result.detail).toBe(
      `deleted failed Job ${namespace}/cleanup (BackoffLimitExceeded: 1 failed pods) and its pods`,
    );
    await eventually('Job and pods gone', async () => (await jobPods('cleanup')).length === 0);

    await create('fine');
    await outcome('fine', 'Complete');
    const complete = await refusalOf(run('DeleteFailedJob', ref('fine')));
    expect(complete.message).toBe(`Job ${namespace}/fine has completed: DeleteFailedJob applies to a failed Job`);
  });
});

describe('SuspendJob, ResumeJob, AdjustJobParallelism', () => {
  it('suspending stops the pods, resuming starts them, parallelism sets how many run', async () => {
    await create('crunch', { wedged: true, parallelism: 2, completions: 10 });
    await eventually('2 running pods', async () => (await livePods('crunch')).length === 2);

    const suspended = await run('SuspendJob', ref('crunch'));
    expect(suspended.detail).toBe(`suspended Job ${namespace}/crunch: its 2 active pod(s) are stopped`);
    await eventually('no running pod', async () => (await livePods('crunch')).length === 0);
    expect((await read('crunch')).status?.conditions?.find((c) => c.type === 'Suspended')?.status).toBe('True');

    await run('AdjustJobParallelism', ref('crunch'), { parallelism: '3' });
    const resumed = await run('ResumeJob', ref('crunch'));
    expect(resumed.detail).toBe(`resumed Job ${namespace}/crunch`);
    await eventually('3 running pods', async () => (await livePods('crunch')).length === 3);

    const down = await run('AdjustJobParallelism', ref('crunch'), { parallelism: '1' });
    expect(down.detail).toBe(`parallelism of Job ${namespace}/crunch: 3 → 1`);
    await eventually('1 running pod', async () => (await livePods('crunch')).length === 1);

    const zero = await refusalOf(run('AdjustJobParallelism', ref('crunch'), { parallelism: '0' }));
    expect(zero.code).toBe('action.unsafe');
    expect(zero.message).toMatch(/use SuspendJob to pause it$/);

    await create('done');
    await outcome('done', 'Complete');
    const finished = await refusalOf(run('SuspendJob', ref('done')));
    expect(finished.code).toBe('action.illegal_state');
    expect(finished.message).toMatch(/has completed: suspending does not bring a finished Job back/);
  });
});

describe('AdjustJobDeadline and AdjustJobBackoffLimit', () => {
  it('a deadline fails a running Job when it passes; limits that would end it at once are refused', async () => {
    await create('slow', { wedged: true, backoffLimit: 2 });
    await eventually('a running pod', async () => (await livePods('slow')).length === 1);
    const result = await run('AdjustJobDeadline', ref('slow'), { activeDeadlineSeconds: '8' });
    expect(result.detail).toBe(`activeDeadlineSeconds of Job ${namespace}/slow: unset → 8`);
    // The Job controller marks the Job FailureTarget at once and Failed only when its pods have terminated, which
    // can take longer on a busy cluster: either condition says the deadline failed it.
    const doomed = await eventually('Job slow failed by its deadline', async () => {
      const conditions = (await read('slow')).status?.conditions ?? [];
      return conditions.find((c) => (c.type === 'Failed' || c.type === 'FailureTarget') && c.status === 'True');
    });
    expect(doomed.reason).toBe('DeadlineExceeded');

    await create('flaky', { image: crashing, backoffLimit: 6 });
    await eventually('a failed pod', async () => ((await read('flaky')).status?.failed ?? 0) >= 1);
    const failedPods = (await read('flaky')).status?.failed ?? 0;
    const tooLow = await refusalOf(
      run('AdjustJobBackoffLimit', ref('flaky'), { backoffLimit: String(failedPods - 1) }),
    );
    expect(tooLow.code).toBe('action.unsafe');
    const raised = await run('AdjustJobBackoffLimit', ref('flaky'), { backoffLimit: '10' });
    expect(raised.detail).toBe(`backoffLimit of Job ${namespace}/flaky: 6 → 10`);
    expect((await read('flaky')).spec?.backoffLimit).toBe(10);

    await create('young', { wedged: true });
    await eventually('young started', async () => (await read('young')).status?.startTime !== undefined);
    await new Promise((r) => setTimeout(r, 3000));
    const late = await refusalOf(run('AdjustJobDeadline', ref('young'), { activeDeadlineSeconds: '2' }));
    expect(late.code).toBe('action.unsafe');
    expect(late.message).toMatch(
      /^activeDeadlineSeconds: Job .* has run for about \d+ s: a deadline of 2 s would fail it at once$/,
    );
  });
});

describe('ForceDeleteJobPods', () => {
  it('force-deletes every pod of a wedged Job, which then starts new ones', async () => {
    await create('wedged', { wedged: true, parallelism: 2, completions: 2, backoffLimit: 4 });
    const before = await eventually('2 running pods', async () => {
      const pods = await livePods('wedged');
      return pods.length === 2 ? pods : undefined;
    });
    const result = await run('ForceDeleteJobPods', ref('wedged'));
    expect(result.detail).toMatch(/^force-deleted 2 pod\(s\) of Job .*\/wedged: wedged-\w+, wedged-\w+$/);
    const old = new Set(before.map((p) => p.metadata?.uid));
    // The deleted pods count as two failures, so the Job controller waits out its backoff (20 s for two) before
    // it makes new ones; a busy control plane adds to that.
    await eventually(
      '2 new running pods',
      async () => {
        const pods = await livePods('wedged');
        return pods.length === 2 && pods.every((p) => !old.has(p.metadata?.uid));
      },
      150_000,
    );
    await create('empty', { suspend: true });
    const none = await refusalOf(run('ForceDeleteJobPods', ref('empty')));
    expect(none.message).toBe(`Job ${namespace}/empty has no pods to delete`);
  }, 240_000);
});

describe('snapshot of a Job', () => {
  it('puts the mutable fields back exactly, and deletes the Job a rolled-back RetryJob created', async () => {
    await create('restored', { wedged: true, parallelism: 1, completions: 5, backoffLimit: 3 });
    const fields = (j: k8s.V1Job) => ({
      suspend: j.spec?.suspend,
      parallelism: j.spec?.parallelism,
      activeDeadlineSeconds: j.spec?.activeDeadlineSeconds,
      backoffLimit: j.spec?.backoffLimit,
    });
    const original = fields(await read('restored'));
    const plan: { type: string; params: Record<string, string> }[] = [
      { type: 'AdjustJobParallelism', params: { parallelism: '2' } },
      { type: 'AdjustJobBackoffLimit', params: { backoffLimit: '5' } },
      { type: 'AdjustJobDeadline', params: { activeDeadlineSeconds: '3600' } },
      { type: 'SuspendJob', params: {} },
    ];
    const snapshot = JSON.parse(JSON.stringify(await takeSnapshot(clients, ref('restored'), plan))) as Snapshot;
    for (const step of plan) await run(step.type, ref('restored'), step.params);
    expect(fields(await read('restored'))).not.toEqual(original);
    await restoreSnapshot(clients, snapshot);
    expect(fields(await read('restored'))).toEqual(original);

    await create('again', { image: crashing });
    const failed = await outcome('again', 'Failed');
    const retryPlan = [{ type: 'RetryJob', params: {} }];
    const before = JSON.parse(JSON.stringify(await takeSnapshot(clients, ref('again'), retryPlan))) as Snapshot;
    expect(Object.keys(before.captured).sort()).toEqual([
      `Job/${namespace}/again`,
      `Job/${namespace}/${replacementName(failed)}`,
    ]);
    await run('RetryJob', ref('again'));
    const restored = await restoreSnapshot(clients, before);
    expect(restored.detail).toMatch(/was deleted and is not recreated \(it would run again\): still absent/);
    expect(restored.detail).toMatch(
      new RegExp(`deleted Job ${namespace}/${replacementName(failed)}, which the plan created`),
    );
    await eventually('the retry gone', async () =>
      (await kube.batch.listNamespacedJob({ namespace })).items.every(
        (j) => j.metadata?.name !== replacementName(failed),
      ),
    );
  });
});
