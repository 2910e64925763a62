import { createHash } from 'node:crypto';
import type * as k8s from '@kubernetes/client-node';
import { CairnError, ErrorCategory } from '../../domain/errors.ts';
import type { ResourceRef } from '../../domain/events/common.schema.ts';
import { type ActionClients, ActionFieldManager } from './action.ts';
import { ActionErrorCode, display, illegalState, kube, readOptional, unsafe } from './actionErrors.ts';
import { defineAction, intParam } from './actionParams.ts';
import { podRef } from './pod.actions.ts';
import {
  patchWorkload,
  type Raw,
  readWorkload,
  requiredInt,
  resourceChange,
  resourceParamSpecs,
  validateResources,
} from './templateWorkloads.ts';
import { isTerminating } from './workloadPods.ts';

type Job = Raw<k8s.V1Job>;

/** On a Job that replaces a failed one: the name of the Job it replaces. */
export const RetryOfAnnotation = 'aiops.cairn.dev/retry-of';

/** Labels and annotations the Job controller writes; a new Job gets its own. */
const GeneratedLabels = [
  'batch.kubernetes.io/controller-uid',
  'controller-uid',
  'batch.kubernetes.io/job-name',
  'job-name',
];
const GeneratedAnnotations = ['batch.kubernetes.io/job-tracking'];

const readJob = (clients: ActionClients, target: ResourceRef) => readWorkload<k8s.V1Job>(clients, 'Job', target);

const condition = (job: Job, type: string) =>
  (job.status?.conditions ?? []).find((c) => c.type === type && c.status === 'True');

export const jobOutcome = (job: k8s.V1Job): 'Complete' | 'Failed' | undefined => {
  const has = (type: string) => (job.status?.conditions ?? []).some((c) => c.type === type && c.status === 'True');
  return has('Complete') ? 'Complete' : has('Failed') ? 'Failed' : undefined;
};

const assertRunning = (job: Job, target: ResourceRef, doing: string) => {
  const outcome = jobOutcome(job);
  if (outcome) {
    throw illegalState(
      `${display(target)} has ${outcome === 'Failed' ? 'failed' : 'completed'}: ${doing} does not bring a finished Job back (RetryJob does)`,
    );
  }
};

const assertFailed = (job: Job, target: ResourceRef, doing: string) => {
  const failed = condition(job, 'Failed');
  if (!failed) {
    const state = jobOutcome(job) === 'Complete' ? 'completed' : 'not failed (it is still running or suspended)';
    throw illegalState(`${display(target)} has ${state}: ${doing} applies to a failed Job`);
  }
  return failed;
};

/**
 * The name of the Job that replaces `job`: its base name and a suffix from its uid, so the same failed Job always
 * gets the same successor (a crash between create and delete finds it) and a retry of a retry does not grow.
 */
export const replacementName = (job: { metadata?: { name?: string; uid?: string } }): string => {
  const base = (job.metadata?.name ?? '').replace(/-retry-[0-9a-f]{5}$/, '').slice(0, 63 - 12);
  const suffix = createHash('sha256')
    .update(job.metadata?.uid ?? '')
    .digest('hex')
    .slice(0, 5);
  return `${base.replace(/-+$/, '')}-retry-${suffix}`;
};

const without = (map: Record<string, string> | undefined, keys: readonly string[]) =>
  Object.fromEntries(Object.entries(map ?? {}).filter(([key]) => !keys.includes(key)));

/** A new Job from a finished one's spec: fresh name, its own selector and controller labels, the same owner. */
export const replacementJob = (job: Job, podSpec?: (spec: k8s.V1PodSpec) => k8s.V1PodSpec): k8s.V1Job => {
  const spec = structuredClone(job.spec) as k8s.V1JobSpec;
  delete spec.selector;
  delete spec.manualSelector;
  spec.template.metadata = {
    ...spec.template.metadata,
    labels: without(spec.template.metadata?.labels, GeneratedLabels),
  };
  if (podSpec && spec.template.spec) spec.template.spec = podSpec(spec.template.spec);
  return {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: {
      name: replacementName(job),
      namespace: job.metadata.namespace,
      labels: without(job.metadata.labels, GeneratedLabels),
      annotations: {
        ...without(job.metadata.annotations, GeneratedAnnotations),
        [RetryOfAnnotation]: job.metadata.name ?? '',
      },
      ...(job.metadata.ownerReferences ? { ownerReferences: job.metadata.ownerReferences } : {}),
    },
    spec,
  };
};

const deleteJob = (clients: ActionClients, job: Job) =>
  kube(`deleting Job ${job.metadata.namespace}/${job.metadata.name}`, () =>
    clients.batch.deleteNamespacedJob({
      name: job.metadata.name ?? '',
      namespace: job.metadata.namespace ?? '',
      // Jobs default to orphaning their pods; the failed pods go with the Job.
      propagationPolicy: 'Background',
      body: { propagationPolicy: 'Background', preconditions: { uid: job.metadata.uid } },
    }),
  );

/** Creates the replacement (or finds it from an earlier, interrupted run), then deletes the failed Job. */
async function replaceJob(clients: ActionClients, target: ResourceRef, job: Job, replacement: k8s.V1Job) {
  const name = replacement.metadata?.name ?? '';
  const existing = await readOptional(`reading Job ${target.namespace}/${name}`, () =>
    clients.batch.readNamespacedJob({ name, namespace: target.namespace }),
  );
  if (!existing) {
    await kube(`creating Job ${target.namespace}/${name}`, () =>
      clients.batch.createNamespacedJob({
        namespace: target.namespace,
        body: replacement,
        fieldManager: ActionFieldManager,
      }),
    );
  }
  await deleteJob(clients, job);
  return { kind: 'Job', name, namespace: target.namespace } satisfies ResourceRef;
}

const replacedDone = async ({ clients, target }: { clients: ActionClients; target: ResourceRef }) =>
  (await readOptional('reading Job', () =>
    clients.batch.readNamespacedJob({ name: target.name, namespace: target.namespace }),
  )) === undefined;

export const retryJob = defineAction({
  type: 'RetryJob',
  targetKinds: ['Job'],
  destructive: true,
  describe:
    'Replaces a failed Job with a new one from the same spec (a fresh name, <job>-retry-<id>, annotated with the ' +
    'failed one) and deletes the failed Job and its pods.',
  params: {},
  async execute({ clients, target }) {
    const job = await readJob(clients, target);
    const failed = assertFailed(job, target, 'RetryJob');
    const created = await replaceJob(clients, target, job, replacementJob(job));
    return {
      detail: `replaced failed ${display(target)} (${failed.reason ?? 'Failed'}) with Job ${created.name}; deleted the failed Job and its pods`,
      touched: [target, created],
    };
  },
  isDone: replacedDone,
});

export const adjustJobResources = defineAction({
  type: 'AdjustJobResources',
  targetKinds: ['Job'],
  destructive: true,
  describe:
    "Changes the CPU and memory of a failed Job's container. A Job's pod template cannot change, so Cairn replaces " +
    'the Job with an adjusted copy (named as RetryJob names it) and deletes the failed one.',
  params: resourceParamSpecs,
  validate: validateResources,
  async execute({ clients, target, params }) {
    const job = await readJob(clients, target);
    const change = resourceChange(job.spec?.template, params, target);
    assertFailed(job, target, 'AdjustJobResources');
    const replacement = replacementJob(job, (spec) => ({
      ...spec,
      containers: spec.containers.map((c) =>
        c.name === change.container.name
          ? {
              ...c,
              resources: {
                ...c.resources,
                limits: { ...c.resources?.limits, ...change.podSpecPatch.containers[0]?.resources.limits },
                requests: { ...c.resources?.requests, ...change.podSpecPatch.containers[0]?.resources.requests },
              },
            }
          : c,
      ),
    }));
    const created = await replaceJob(clients, target, job, replacement);
    return { detail: `${change.summary}: replaced it with Job ${created.name}`, touched: [target, created] };
  },
  isDone: replacedDone,
});

export const deleteFailedJob = defineAction({
  type: 'DeleteFailedJob',
  targetKinds: ['Job'],
  destructive: true,
  describe: 'Deletes a failed Job and its pods. A Job that is running or complete is refused.',
  params: {},
  async execute({ clients, target }) {
    const job = await readJob(clients, target);
    const failed = assertFailed(job, target, 'DeleteFailedJob');
    await deleteJob(clients, job);
    return {
      detail: `deleted failed ${display(target)} (${failed.reason ?? 'Failed'}: ${job.status?.failed ?? 0} failed pods) and its pods`,
      touched: [target],
    };
  },
  isDone: replacedDone,
});

const setSuspend = (suspend: boolean) =>
  defineAction({
    type: suspend ? 'SuspendJob' : 'ResumeJob',
    targetKinds: ['Job'],
    destructive: false,
    describe: suspend
      ? 'Suspends a running Job: the Job controller stops its pods and starts none until it is resumed.'
      : 'Resumes a suspended Job: the Job controller starts its pods again.',
    params: {},
    async execute({ clients, target }) {
      const job = await readJob(clients, target);
      assertRunning(job, target, suspend ? 'suspending' : 'resuming');
      if ((job.spec?.suspend ?? false) === suspend) {
        return { detail: `${display(target)} was already ${suspend ? 'suspended' : 'running'}`, touched: [] };
      }
      await patchWorkload(clients, 'Job', target, { spec: { suspend } });
      return {
        detail: suspend
          ? `suspended ${display(target)}: its ${job.status?.active ?? 0} active pod(s) are stopped`
          : `resumed ${display(target)}`,
        touched: [target],
      };
    },
    async isDone({ clients, target }) {
      return ((await readJob(clients, target)).spec?.suspend ?? false) === suspend;
    },
  });

export const suspendJob = setSuspend(true);
export const resumeJob = setSuspend(false);

const MaxParallelism = 1_000;

const parallelismParam = (params: Readonly<Record<string, string>>) => {
  const value = requiredInt(intParam(params, 'parallelism', { min: 0, max: MaxParallelism }), 'parallelism');
  if (value === 0) throw unsafe('parallelism', 'parallelism 0 stops every pod of the Job; use SuspendJob to pause it');
  return value;
};

/** A mutable field of a running Job's spec, set to a checked value. */
const adjustJobField = (
  type: string,
  field: 'parallelism' | 'activeDeadlineSeconds' | 'backoffLimit',
  describe: string,
  param: (params: Readonly<Record<string, string>>) => number,
  guard: (job: Job, value: number, target: ResourceRef) => void,
) =>
  defineAction({
    type,
    targetKinds: ['Job'],
    destructive: false,
    describe,
    params: { [field]: { description: describe, required: true } },
    validate: (params) => void param(params),
    async execute({ clients, target, params }) {
      const value = param(params);
      const job = await readJob(clients, target);
      assertRunning(job, target, `changing ${field}`);
      guard(job, value, target);
      await patchWorkload(clients, 'Job', target, { spec: { [field]: value } });
      return {
        detail: `${field} of ${display(target)}: ${job.spec?.[field] ?? 'unset'} → ${value}`,
        touched: [target],
      };
    },
    async isDone({ clients, target, params }) {
      return (await readJob(clients, target)).spec?.[field] === param(params);
    },
  });

export const adjustJobParallelism = adjustJobField(
  'AdjustJobParallelism',
  'parallelism',
  `Sets how many pods of the Job run at once (1 to ${MaxParallelism}).`,
  parallelismParam,
  () => undefined,
);

export const adjustJobDeadline = adjustJobField(
  'AdjustJobDeadline',
  'activeDeadlineSeconds',
  'Sets how long the Job may run, in seconds from its start, before it is failed (DeadlineExceeded).',
  (params) =>
    requiredInt(intParam(params, 'activeDeadlineSeconds', { min: 1, max: 31_536_000 }), 'activeDeadlineSeconds'),
  (job, value, target) => {
    const started = job.status?.startTime ? new Date(job.status.startTime).getTime() : undefined;
    // Now comes from the API server's clock on the next write; a second's slack keeps the refusal honest.
    const elapsed = started === undefined ? 0 : Math.ceil((Date.now() - started) / 1000) + 1;
    if (value <= elapsed) {
      throw unsafe(
        'activeDeadlineSeconds',
        `${display(target)} has run for about ${elapsed} s: a deadline of ${value} s would fail it at once`,
      );
    }
  },
);

export const adjustJobBackoffLimit = adjustJobField(
  'AdjustJobBackoffLimit',
  'backoffLimit',
  'Sets how many failed pods the Job tolerates before it is failed (BackoffLimitExceeded), 0 to 100.',
  (params) => requiredInt(intParam(params, 'backoffLimit', { min: 0, max: 100 }), 'backoffLimit'),
  (job, value, target) => {
    const failed = job.status?.failed ?? 0;
    if (value < failed) {
      throw unsafe(
        'backoffLimit',
        `${display(target)} already has ${failed} failed pods: a limit of ${value} would fail it at once`,
      );
    }
  },
);

export const forceDeleteJobPods = defineAction({
  type: 'ForceDeleteJobPods',
  targetKinds: ['Job'],
  destructive: true,
  describe:
    'Force-deletes (grace period 0) every pod of the Job; a Job still running makes new pods within its backoffLimit.',
  params: {},
  async execute({ clients, target }) {
    const job = await readJob(clients, target);
    const uid = job.metadata.uid ?? '';
    const pods = (
      await kube('listing pods', () =>
        clients.core.listNamespacedPod({
          namespace: target.namespace,
          labelSelector: `batch.kubernetes.io/controller-uid=${uid}`,
        }),
      )
    ).items;
    if (pods.length === 0) throw illegalState(`${display(target)} has no pods to delete`);
    const deleted: string[] = [];
    const held: string[] = [];
    for (const pod of pods) {
      const name = pod.metadata?.name ?? '';
      await kube(`force-deleting pod ${target.namespace}/${name}`, () =>
        clients.core.deleteNamespacedPod({
          name,
          namespace: target.namespace,
          gracePeriodSeconds: 0,
          body: { gracePeriodSeconds: 0, preconditions: { uid: pod.metadata?.uid } },
        }),
      ).catch((error: unknown) => {
        // Gone already (the controller or a finished pod's cleanup got there first) is what was wanted.
        if ((error as CairnError).category !== ErrorCategory.NotFound) throw error;
      });
      if ((pod.metadata?.finalizers ?? []).some((f) => f !== 'batch.kubernetes.io/job-tracking')) held.push(name);
      else deleted.push(name);
    }
    const touched = pods.map((p) => podRef(target.namespace, p.metadata?.name ?? ''));
    if (held.length > 0) {
      throw new CairnError(
        ActionErrorCode.Incomplete,
        ErrorCategory.IllegalState,
        `force-deleted ${pods.length} pod(s) of ${display(target)}, but ${held.join(', ')} still have finalizers that hold them`,
        { details: { held, touched } },
      );
    }
    return { detail: `force-deleted ${deleted.length} pod(s) of ${display(target)}: ${deleted.join(', ')}`, touched };
  },
  async isDone({ clients, target, startedAt }) {
    const job = await readOptional('reading Job', () =>
      clients.batch.readNamespacedJob({ name: target.name, namespace: target.namespace }),
    );
    if (!job) return true;
    const pods = (
      await clients.core.listNamespacedPod({
        namespace: target.namespace,
        labelSelector: `batch.kubernetes.io/controller-uid=${job.metadata?.uid}`,
      })
    ).items;
    return (
      startedAt === undefined ||
      pods.every((p) => isTerminating(p) || new Date(p.metadata?.creationTimestamp ?? 0) >= new Date(startedAt))
    );
  },
});

export const jobActions = [
  retryJob,
  adjustJobResources,
  deleteFailedJob,
  suspendJob,
  resumeJob,
  adjustJobParallelism,
  adjustJobDeadline,
  adjustJobBackoffLimit,
  forceDeleteJobPods,
] as const;
