import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ResourceRef } from '../../../domain/events/common.schema.ts';
import {
  createNamespace,
  deleteNamespace,
  eventually,
  type KubeClients,
  kubeClients,
} from '../../../test/support/kube.ts';
import { cronJob, daemonSet, job, statefulSet } from '../../../test/support/workloads.ts';
import { type ActionClients, createActionClients } from '../../actions/action.ts';
import { PatchAs } from '../../actions/patchOptions.ts';
import { requireAction } from '../../actions/registry.ts';
import { markImage } from '../../cluster/faults.ts';
import { workloadHealth } from './workloadHealth.ts';

let kube: KubeClients;
let clients: ActionClients;
let namespace: string;

beforeAll(async () => {
  kube = kubeClients();
  clients = createActionClients(kube.config);
  namespace = await createNamespace(kube, 'health');
});
afterAll(() => deleteNamespace(kube, namespace));

const ref = (kind: string, name: string): ResourceRef => ({ kind, name, namespace });
const health = (target: ResourceRef) => workloadHealth(kube.config, target, ['pod_restart', 'job_failed']);
const becomes = (target: ResourceRef, healthy: boolean) =>
  eventually(`${target.kind} ${target.name} ${healthy ? 'healthy' : 'unhealthy'}`, async () => {
    const h = await health(target);
    return h.healthy === healthy ? h : undefined;
  });
const run = (type: string, target: ResourceRef, params: Record<string, string> = {}) =>
  requireAction(type).execute({ clients, target, params });
const broken = markImage('registry.local/shop/db:1.0.0', 'broken');

describe('verification of the workload kinds the remediation actions touch', () => {
  it('a StatefulSet is unhealthy while a pod crash-loops and healthy once rolled back; a partition is respected', async () => {
    await kube.apps.createNamespacedStatefulSet({ namespace, body: statefulSet('db', { replicas: 2 }) });
    const target = ref('StatefulSet', 'db');
    await becomes(target, true);
    await kube.apps.patchNamespacedStatefulSet(
      {
        name: 'db',
        namespace,
        body: [{ op: 'replace', path: '/spec/template/spec/containers/0/image', value: broken }],
      },
      PatchAs.json,
    );
    // Until the controller has observed the new template the set is unhealthy for that reason alone; wait for the
    // crash loop itself to be what makes it unhealthy.
    await eventually('StatefulSet db unhealthy because of its crash-looping pod', async () => {
      const h = await health(target);
      return !h.healthy && /ready|crash|restart/i.test(h.detail);
    });
    await run('RollbackStatefulSet', target);
    expect((await becomes(target, true)).detail).toBe('2 of 2 ready');

    await run('PartitionStatefulSetUpdate', target, { partition: '2' });
    await kube.apps.patchNamespacedStatefulSet(
      {
        name: 'db',
        namespace,
        body: [
          { op: 'replace', path: '/spec/template/spec/containers/0/image', value: 'registry.local/shop/db:1.1.0' },
        ],
      },
      PatchAs.json,
    );
    // No pod is meant to update under partition 2, so the set is healthy as it is.
    expect((await becomes(target, true)).detail).toBe('2 of 2 ready');
  });

  it('a DaemonSet is unhealthy until every pod is updated and ready', async () => {
    await kube.apps.createNamespacedDaemonSet({ namespace, body: daemonSet('agent') });
    const target = ref('DaemonSet', 'agent');
    await becomes(target, true);
    await kube.apps.patchNamespacedDaemonSet(
      {
        name: 'agent',
        namespace,
        body: [{ op: 'replace', path: '/spec/template/spec/containers/0/image', value: broken }],
      },
      PatchAs.json,
    );
    await becomes(target, false);
    await run('RollbackDaemonSet', target);
    await becomes(target, true);
  });

  it('a Job is healthy once complete, unhealthy when failed; after RetryJob its replacement is judged', async () => {
    await kube.batch.createNamespacedJob({ namespace, body: job('once', { image: broken }) });
    const target = ref('Job', 'once');
    expect((await becomes(target, false)).detail).toMatch(/^Job once (is running|failed)/);
    await eventually('failed', async () => (await health(target)).detail.includes('failed (BackoffLimitExceeded'));
    await run('AdjustJobResources', target, { memory_limit: '256Mi' });
    // The replacement still crashes: verification sees that, not the absence of the failed Job.
    expect((await becomes(target, false)).detail).toMatch(/^replaced by Job once-retry-\w+ /);

    await kube.batch.createNamespacedJob({ namespace, body: job('good') });
    expect((await becomes(ref('Job', 'good'), true)).detail).toBe('Job good completed (1 succeeded)');
  });

  it('a CronJob is judged by its newest Job, and is healthy while suspended', async () => {
    await kube.batch.createNamespacedCronJob({ namespace, body: cronJob('nightly', { image: broken }) });
    const target = ref('CronJob', 'nightly');
    expect((await health(target)).detail).toBe('CronJob nightly has no Job yet');
    await run('TriggerCronJob', target);
    await eventually('the newest Job failed', async () => (await health(target)).detail.includes('failed'));
    await run('SuspendCronJob', target);
    expect(await health(target)).toEqual({ healthy: true, detail: 'CronJob nightly is suspended: it starts no Job' });
    await run('ResumeCronJob', target);
    await kube.batch.patchNamespacedCronJob(
      {
        name: 'nightly',
        namespace,
        body: [
          {
            op: 'replace',
            path: '/spec/jobTemplate/spec/template/spec/containers/0/image',
            value: 'registry.local/shop/db:1.0.0',
          },
        ],
      },
      PatchAs.json,
    );
    await new Promise((r) => setTimeout(r, 1100));
    await run('TriggerCronJob', target);
    expect((await becomes(target, true)).detail).toMatch(/^newest Job nightly-manual-\w+ completed/);
  });
});
