import { randomBytes } from 'node:crypto';
import type * as k8s from '@kubernetes/client-node';
import { CronExpressionParser } from 'cron-parser';
import { CairnError, ErrorCategory } from '../../domain/errors.ts';
import type { ResourceRef } from '../../domain/events/common.schema.ts';
import { type ActionClients, ActionFieldManager, type ActionParams } from './action.ts';
import { ActionErrorCode, display, illegalState, invalidParam, isConflict, kube, kubeFailure } from './actionErrors.ts';
import { defineAction, intParam, oneOfParam, requiredName, requiredParam } from './actionParams.ts';
import { readConfigMapKey } from './config.actions.ts';
import { assertLimitNotBelowRequest } from './deployment.actions.ts';
import { jobOutcome } from './job.actions.ts';
import { PatchAs } from './patchOptions.ts';
import { adjustTemplateResources, patchWorkload, type Raw, readWorkload, requiredInt } from './templateWorkloads.ts';

type CronJob = Raw<k8s.V1CronJob>;

const readCron = (clients: ActionClients, target: ResourceRef) =>
  readWorkload<k8s.V1CronJob>(clients, 'CronJob', target);

/** What kubectl create job --from=cronjob writes on a Job it starts by hand. */
const InstantiateAnnotation = 'cronjob.kubernetes.io/instantiate';

/** The CronJob's Jobs (by owner), oldest first. */
export async function cronJobJobs(clients: ActionClients, cron: Raw<object>): Promise<k8s.V1Job[]> {
  const list = await kube('listing Jobs', () =>
    clients.batch.listNamespacedJob({ namespace: cron.metadata.namespace ?? '' }),
  );
  return list.items
    .filter((j) => j.metadata?.ownerReferences?.some((o) => o.uid === cron.metadata.uid))
    .sort(
      (a, b) =>
        new Date(a.metadata?.creationTimestamp ?? 0).getTime() - new Date(b.metadata?.creationTimestamp ?? 0).getTime(),
    );
}

const setSuspend = (suspend: boolean) =>
  defineAction({
    type: suspend ? 'SuspendCronJob' : 'ResumeCronJob',
    targetKinds: ['CronJob'],
    destructive: false,
    describe: suspend
      ? 'Stops the CronJob from starting new Jobs (Jobs already running go on).'
      : 'Lets a suspended CronJob start Jobs on its schedule again.',
    params: {},
    async execute({ clients, target }) {
      const cron = await readCron(clients, target);
      if ((cron.spec?.suspend ?? false) === suspend) {
        return { detail: `${display(target)} was already ${suspend ? 'suspended' : 'active'}`, touched: [] };
      }
      await patchWorkload(clients, 'CronJob', target, { spec: { suspend } });
      return {
        detail: `${suspend ? 'suspended' : 'resumed'} ${display(target)} (schedule ${cron.spec?.schedule})`,
        touched: [target],
      };
    },
    async isDone({ clients, target }) {
      return ((await readCron(clients, target)).spec?.suspend ?? false) === suspend;
    },
  });

export const suspendCronJob = setSuspend(true);
export const resumeCronJob = setSuspend(false);

export const triggerCronJob = defineAction({
  type: 'TriggerCronJob',
  targetKinds: ['CronJob'],
  destructive: false,
  describe:
    "Starts a Job from the CronJob's template now, as kubectl create job --from=cronjob does (<cronjob>-manual-<id>); " +
    'refused while the CronJob is suspended, or when its concurrencyPolicy is Forbid and a Job is running.',
  params: {},
  async execute({ clients, target }) {
    const cron = await readCron(clients, target);
    if (cron.spec?.suspend) throw illegalState(`${display(target)} is suspended: resume it before starting a Job`);
    const running = (await cronJobJobs(clients, cron)).filter((j) => jobOutcome(j) === undefined);
    if (cron.spec?.concurrencyPolicy === 'Forbid' && running.length > 0) {
      throw illegalState(`${display(target)} forbids concurrent runs and Job ${running[0]?.metadata?.name} is running`);
    }
    const template = cron.spec?.jobTemplate;
    const name = `${target.name.slice(0, 63 - 13)}-manual-${randomBytes(3).toString('hex').slice(0, 5)}`;
    const body: k8s.V1Job = {
      apiVersion: 'batch/v1',
      kind: 'Job',
      metadata: {
        name,
        namespace: target.namespace,
        labels: { ...template?.metadata?.labels },
        annotations: { ...template?.metadata?.annotations, [InstantiateAnnotation]: 'manual' },
        ownerReferences: [
          {
            apiVersion: 'batch/v1',
            kind: 'CronJob',
            name: target.name,
            uid: cron.metadata.uid ?? '',
            controller: true,
          },
        ],
      },
      spec: template?.spec as k8s.V1JobSpec,
    };
    await kube(`creating Job ${target.namespace}/${name}`, () =>
      clients.batch.createNamespacedJob({ namespace: target.namespace, body, fieldManager: ActionFieldManager }),
    );
    return {
      detail: `started Job ${name} from ${display(target)}'s template`,
      touched: [{ kind: 'Job', name, namespace: target.namespace }],
    };
  },
  /** A manual Job of the CronJob created since the start: a second one would run the work twice. */
  async isDone({ clients, target, startedAt }) {
    if (startedAt === undefined) return true;
    const jobs = await cronJobJobs(clients, await readCron(clients, target));
    const since = Math.floor(new Date(startedAt).getTime() / 1000) * 1000;
    return jobs.some(
      (j) =>
        j.metadata?.annotations?.[InstantiateAnnotation] === 'manual' &&
        new Date(j.metadata.creationTimestamp ?? 0).getTime() >= since,
    );
  },
});

export const adjustCronJobResources = adjustTemplateResources(
  'AdjustCronJobResources',
  'CronJob',
  "Changes the CPU and memory requests and limits of a container of the CronJob's job template (Jobs from now on).",
);

/** A standard five-field cron line or a descriptor (@hourly …), as the CronJob API accepts. */
export const scheduleParam = (params: ActionParams): string => {
  const schedule = requiredParam(params, 'schedule').replace(/\s+/g, ' ');
  if (/^(CRON_)?TZ=/.test(schedule)) {
    throw invalidParam(
      'schedule',
      'a time zone in the schedule is not accepted by the CronJob API (use spec.timeZone)',
    );
  }
  const descriptors = ['@yearly', '@annually', '@monthly', '@weekly', '@daily', '@midnight', '@hourly'];
  if (schedule.startsWith('@') ? !descriptors.includes(schedule) : schedule.split(' ').length !== 5) {
    throw invalidParam(
      'schedule',
      `"${schedule}" is not a five-field cron expression or one of ${descriptors.join(', ')}`,
    );
  }
  try {
    CronExpressionParser.parse(schedule);
  } catch (error) {
    throw invalidParam('schedule', `"${schedule}" is not a valid cron expression: ${(error as Error).message}`);
  }
  return schedule;
};

/** One spec field of the CronJob set to a checked value. */
const adjustCronField = <T extends string | number>(
  type: string,
  describe: string,
  params: Record<string, { description: string; required?: boolean }>,
  parse: (params: ActionParams) => Record<string, T>,
) =>
  defineAction({
    type,
    targetKinds: ['CronJob'],
    destructive: false,
    describe,
    params,
    validate: (p) => void parse(p),
    async execute({ clients, target, params: given }) {
      const wanted = parse(given);
      const cron = await readCron(clients, target);
      const spec = (cron.spec ?? {}) as unknown as Record<string, unknown>;
      await patchWorkload(clients, 'CronJob', target, { spec: wanted });
      const changes = Object.entries(wanted)
        .map(([field, value]) => `${field} ${spec[field] ?? 'unset'} → ${value}`)
        .join(', ');
      return { detail: `${display(target)}: ${changes}`, touched: [target] };
    },
    async isDone({ clients, target, params: given }) {
      const spec = ((await readCron(clients, target)).spec ?? {}) as unknown as Record<string, unknown>;
      return Object.entries(parse(given)).every(([field, value]) => spec[field] === value);
    },
  });

export const adjustCronJobSchedule = adjustCronField(
  'AdjustCronJobSchedule',
  'Sets the cron schedule of the CronJob (five fields, or @hourly, @daily …).',
  { schedule: { description: 'the cron expression', required: true } },
  (params) => ({ schedule: scheduleParam(params) }),
);

/** The CronJob controller looks every 10 s: a shorter deadline can make it skip every run. */
const MinStartingDeadline = 10;

export const adjustCronJobDeadline = adjustCronField(
  'AdjustCronJobDeadline',
  `Sets startingDeadlineSeconds: how late a missed run may still start (at least ${MinStartingDeadline} s).`,
  { startingDeadlineSeconds: { description: `seconds, at least ${MinStartingDeadline}`, required: true } },
  (params) => {
    const value = requiredInt(intParam(params, 'startingDeadlineSeconds', { max: 86_400 }), 'startingDeadlineSeconds');
    if (value < MinStartingDeadline) {
      throw invalidParam(
        'startingDeadlineSeconds',
        `must be at least ${MinStartingDeadline}: the CronJob controller checks every 10 s and could miss every run`,
      );
    }
    return { startingDeadlineSeconds: value };
  },
);

export const adjustCronJobHistory = adjustCronField(
  'AdjustCronJobHistory',
  'Sets how many finished Jobs the CronJob keeps: successful (0 to 100) and failed (1 to 100, so the evidence of a failure stays).',
  {
    successfulJobsHistoryLimit: { description: 'successful Jobs kept, 0 to 100' },
    failedJobsHistoryLimit: { description: 'failed Jobs kept, 1 to 100' },
  },
  (params) => {
    const successful = intParam(params, 'successfulJobsHistoryLimit', { min: 0, max: 100 });
    const failed = intParam(params, 'failedJobsHistoryLimit', { min: 0, max: 100 });
    if (successful === undefined && failed === undefined) {
      throw invalidParam(
        'successfulJobsHistoryLimit',
        'give successfulJobsHistoryLimit, failedJobsHistoryLimit or both',
      );
    }
    if (failed === 0) {
      throw new CairnError(
        ActionErrorCode.Unsafe,
        ErrorCategory.Validation,
        'failedJobsHistoryLimit: 0 deletes every failed Job, and with them the evidence of the failure',
        { details: { param: 'failedJobsHistoryLimit' } },
      );
    }
    return {
      ...(successful === undefined ? {} : { successfulJobsHistoryLimit: successful }),
      ...(failed === undefined ? {} : { failedJobsHistoryLimit: failed }),
    };
  },
);

export const adjustCronJobConcurrency = adjustCronField(
  'AdjustCronJobConcurrency',
  'Sets the concurrencyPolicy of the CronJob: Allow, Forbid (skip a run while one is active) or Replace.',
  { concurrencyPolicy: { description: 'Allow, Forbid or Replace', required: true } },
  (params) => {
    const policy = oneOfParam(params, 'concurrencyPolicy', ['Allow', 'Forbid', 'Replace'] as const);
    if (policy === undefined) throw invalidParam('concurrencyPolicy', 'is required');
    return { concurrencyPolicy: policy };
  },
);

export const deleteCronJobActiveJobs = defineAction({
  type: 'DeleteCronJobActiveJobs',
  targetKinds: ['CronJob'],
  destructive: true,
  describe: 'Deletes every running Job of the CronJob, with its pods; finished Jobs and the schedule are kept.',
  params: {},
  async execute({ clients, target }) {
    const cron = await readCron(clients, target);
    const running = (await cronJobJobs(clients, cron)).filter(
      (j) => jobOutcome(j) === undefined && j.metadata?.deletionTimestamp == null,
    );
    if (running.length === 0) throw illegalState(`${display(target)} has no running Job`);
    for (const job of running) {
      await kube(`deleting Job ${target.namespace}/${job.metadata?.name}`, () =>
        clients.batch.deleteNamespacedJob({
          name: job.metadata?.name ?? '',
          namespace: target.namespace,
          propagationPolicy: 'Background',
          body: { propagationPolicy: 'Background', preconditions: { uid: job.metadata?.uid } },
        }),
      );
    }
    const names = running.map((j) => j.metadata?.name ?? '').sort();
    return {
      detail: `deleted ${names.length} running Job(s) of ${display(target)} and their pods: ${names.join(', ')}`,
      touched: names.map((name) => ({ kind: 'Job', name, namespace: target.namespace })),
    };
  },
  async isDone({ clients, target }) {
    const jobs = await cronJobJobs(clients, await readCron(clients, target));
    return jobs.every((j) => jobOutcome(j) !== undefined || j.metadata?.deletionTimestamp != null);
  },
});

// --- ReplaceCronJobTemplate ------------------------------------------------------------------------------------

const invalidTemplate = (message: string) =>
  new CairnError(ActionErrorCode.InvalidParams, ErrorCategory.Validation, `jobTemplate: ${message}`, {
    details: { param: 'key' },
  });

/** A jobTemplate ({ metadata?, spec }) in JSON, vetted before the API server sees it. Pure. */
export const parseJobTemplate = (text: string): k8s.V1JobTemplateSpec => {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (error) {
    throw invalidTemplate(`not valid JSON (${(error as Error).message})`);
  }
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) throw invalidTemplate('must be one JSON object');
  const template = doc as k8s.V1JobTemplateSpec & Record<string, unknown>;
  const extra = Object.keys(template).filter((key) => key !== 'metadata' && key !== 'spec');
  if (extra.length > 0) {
    throw invalidTemplate(`has ${extra.join(', ')}: a jobTemplate holds only metadata and spec (not a whole Job)`);
  }
  const containers = template.spec?.template?.spec?.containers;
  if (!Array.isArray(containers) || containers.length === 0) {
    throw invalidTemplate('spec.template.spec.containers must list at least one container');
  }
  for (const container of containers) {
    assertLimitNotBelowRequest(container.resources ?? {}, () => 'key');
  }
  const { name: _name, namespace: _namespace, ...metadata } = template.metadata ?? {};
  return { ...(Object.keys(metadata).length ? { metadata } : {}), spec: template.spec };
};

export const replaceCronJobTemplate = defineAction({
  type: 'ReplaceCronJobTemplate',
  targetKinds: ['CronJob'],
  destructive: false,
  describe:
    "Replaces the CronJob's jobTemplate with one stored as JSON ({ metadata?, spec }) in a ConfigMap key of the " +
    'same namespace; limits below requests are refused, the rest is validated by the API server.',
  params: {
    configmap: { description: 'the ConfigMap holding the jobTemplate', required: true },
    key: { description: 'the key whose value is the JSON jobTemplate', required: true },
  },
  validate(params) {
    requiredName(params, 'configmap');
    requiredParam(params, 'key');
  },
  async execute({ clients, target, params }) {
    const text = await readConfigMapKey(clients, target.namespace, params);
    const template = parseJobTemplate(text);
    for (let attempt = 1; ; attempt++) {
      const cron: CronJob = await readCron(clients, target);
      try {
        await clients.custom.patchNamespacedCustomObject(
          {
            group: 'batch',
            version: 'v1',
            plural: 'cronjobs',
            namespace: target.namespace,
            name: target.name,
            body: [
              { op: 'replace', path: '/metadata/resourceVersion', value: cron.metadata.resourceVersion },
              { op: 'replace', path: '/spec/jobTemplate', value: template },
            ],
            fieldManager: ActionFieldManager,
          },
          PatchAs.json,
        );
      } catch (error) {
        if (isConflict(error) && attempt < 3) continue;
        throw kubeFailure(error, `replacing the jobTemplate of ${display(target)}`);
      }
      const images = (template.spec?.template.spec?.containers ?? []).map((c) => c.image).join(', ');
      return {
        detail: `replaced the jobTemplate of ${display(target)} from ConfigMap ${target.namespace}/${params.configmap} key ${params.key} (${images})`,
        touched: [target],
      };
    }
  },
});

export const cronJobActions = [
  suspendCronJob,
  resumeCronJob,
  triggerCronJob,
  adjustCronJobResources,
  adjustCronJobSchedule,
  adjustCronJobDeadline,
  adjustCronJobHistory,
  adjustCronJobConcurrency,
  deleteCronJobActiveJobs,
  replaceCronJobTemplate,
] as const;
