import type * as k8s from '@kubernetes/client-node';
import { CairnError, ErrorCategory } from '../../domain/errors.ts';
import type { ResourceRef } from '../../domain/events/common.schema.ts';
import type { ActionClients, ActionParams } from './action.ts';
import {
  ActionErrorCode,
  display,
  illegalState,
  invalidParam,
  kube,
  missing,
  readOptional,
  unsafe,
} from './actionErrors.ts';
import { boolParam, defineAction, intParam, nameParam, oneOfParam, requiredName } from './actionParams.ts';
import { MaxReplicas, replicasParam } from './deployment.actions.ts';
import { choosePod, deletePodNow, describePod, podRef, podReplacedSince } from './pod.actions.ts';
import { hpasTargeting } from './scaling.actions.ts';
import {
  type AfterChange,
  adjustTemplateResources,
  imagesOf,
  intOrPercentParam,
  isZero,
  patchWorkload,
  type Raw,
  readWorkload,
  requiredInt,
  restartTemplate,
  revisionTarget,
  revisionTemplate,
  rollBackTemplate,
  rolledBackSince,
} from './templateWorkloads.ts';
import { createdSince, isPodReady, isTerminating, workloadPods } from './workloadPods.ts';

type StatefulSet = Raw<k8s.V1StatefulSet>;

const readSet = (clients: ActionClients, target: ResourceRef) =>
  readWorkload<k8s.V1StatefulSet>(clients, 'StatefulSet', target);

/** The label the StatefulSet controller puts on each pod: the ControllerRevision the pod was made from. */
const RevisionLabel = 'controller-revision-hash';

export const scaleStatefulSet = defineAction({
  type: 'ScaleStatefulSet',
  targetKinds: ['StatefulSet'],
  destructive: false,
  describe:
    'Sets the replica count of the StatefulSet (at least 1); pods are added or removed one ordinal at a time, ' +
    'and the claims of removed pods are kept unless the set says otherwise.',
  params: { replicas: { description: `the new replica count, 1 to ${MaxReplicas}`, required: true } },
  validate: (params) => void replicasParam(params),
  async execute({ clients, target, params }) {
    const replicas = replicasParam(params);
    const set = await readSet(clients, target);
    const before = set.spec?.replicas ?? 1;
    await patchWorkload(clients, 'StatefulSet', target, { spec: { replicas } });
    const notes: string[] = [];
    if (replicas < before) {
      const policy = set.spec?.persistentVolumeClaimRetentionPolicy?.whenScaled ?? 'Retain';
      notes.push(
        policy === 'Delete'
          ? ' The set deletes the claims of removed pods (whenScaled=Delete).'
          : ' The claims of removed pods are kept.',
      );
    }
    for (const h of await hpasTargeting(clients, target)) {
      notes.push(
        ` HorizontalPodAutoscaler ${h.metadata?.name} keeps it within ${h.spec?.minReplicas ?? 1}-${h.spec?.maxReplicas}.`,
      );
    }
    return {
      detail: `scaled ${display(target)} from ${before} to ${replicas} replicas (ordered).${notes.join('')}`,
      touched: [target],
    };
  },
  async isDone({ clients, target, params }) {
    return (await readSet(clients, target)).spec?.replicas === replicasParam(params);
  },
});

const SettleMs = 10_000;

/**
 * With ordered pod management the controller waits for every pod to be ready before it replaces any, so after a
 * template change a pod that is not ready at the old revision blocks the rollout for good (the "forced rollback"
 * of the Kubernetes docs). Once the controller has seen the new template, such pods are deleted, at or above the
 * partition only; nothing ready is touched.
 */
const replaceStrandedPods: AfterChange = async (clients, target) => {
  const deadline = Date.now() + SettleMs;
  let set: StatefulSet = await readSet(clients, target);
  const observed = () => (set.status?.observedGeneration ?? 0) >= (set.metadata.generation ?? 0);
  while (!observed() && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 200));
    set = await readSet(clients, target);
  }
  const wanted = set.status?.updateRevision;
  if (wanted === undefined || !observed()) return { note: '', touched: [] };
  const partition = set.spec?.updateStrategy?.rollingUpdate?.partition ?? 0;
  const ordinal = (pod: k8s.V1Pod) => Number((pod.metadata?.name ?? '').slice(target.name.length + 1));
  const { pods } = await workloadPods(clients, target);
  const stranded = pods.filter(
    (p) => p.metadata?.labels?.[RevisionLabel] !== wanted && !isPodReady(p) && ordinal(p) >= partition,
  );
  for (const pod of stranded) await deletePodNow(clients, pod);
  const names = stranded.map((p) => p.metadata?.name ?? '');
  return {
    note: names.length ? `; deleted ${names.length} unready pod(s) of the old revision (${names.join(', ')})` : '',
    touched: names.map((name) => podRef(target.namespace, name)),
  };
};

export const restartStatefulSet = restartTemplate(
  'RestartStatefulSet',
  'StatefulSet',
  'Rolling restart of the StatefulSet: its controller replaces the pods one at a time, highest ordinal first ' +
    '(pods that are not ready are deleted at once, as the ordered rollout would otherwise wait on them).',
  replaceStrandedPods,
);

export const rollbackStatefulSet = defineAction({
  type: 'RollbackStatefulSet',
  targetKinds: ['StatefulSet'],
  destructive: false,
  describe:
    'Rolls the StatefulSet back to an earlier ControllerRevision (previous by default, or a revision number), then ' +
    'deletes the pods of the bad revision that are not ready, which the controller would otherwise wait on forever.',
  params: { toRevision: { description: 'previous (default) or a revision number of the ControllerRevisions' } },
  validate: (params) => void revisionTarget(params),
  async execute({ clients, target, params }) {
    const { chosen, current, left } = await rollBackTemplate(clients, 'StatefulSet', target, revisionTarget(params));
    const images = imagesOf(revisionTemplate(chosen) as { spec?: { containers?: { image?: string }[] } });
    if (current) {
      return {
        detail: `${display(target)} already runs revision ${chosen.revision}: nothing to roll back`,
        touched: [],
      };
    }
    const after = await replaceStrandedPods(clients, target);
    return {
      detail: `rolled ${display(target)} back to revision ${chosen.revision} (ControllerRevision ${chosen.metadata?.name}: ${images})${after.note}`,
      touched: [target, ...after.touched],
      ...(left ? { revisionLeft: left } : {}),
    };
  },
  isDone: ({ clients, target, startedAt }) => rolledBackSince(clients, 'StatefulSet', target, startedAt),
});

export const adjustStatefulSetResources = adjustTemplateResources(
  'AdjustStatefulSetResources',
  'StatefulSet',
  "Changes the CPU and memory requests and limits of one of the StatefulSet's containers (a rolling update; " +
    'pods that are not ready are replaced at once).',
  replaceStrandedPods,
);

export const deleteStatefulSetPod = defineAction({
  type: 'DeleteStatefulSetPod',
  targetKinds: ['StatefulSet'],
  destructive: true,
  describe:
    'Deletes one StatefulSet pod, the named one or the sickest; it comes back with the same name and the same ' +
    "volumes (its claims are kept). Never the set's last pod.",
  params: { pod: { description: 'the pod to delete; by default the sickest pod of the set' } },
  validate: (params) => void nameParam(params, 'pod'),
  async execute({ clients, target, params }) {
    const { pods, pod, chosen } = await choosePod(clients, target, params);
    const name = pod.metadata?.name ?? '';
    if (pods.length <= 1) {
      throw unsafe('pod', `pod ${name} is the last pod of ${display(target)}: deleting it would take the set down`);
    }
    await deletePodNow(clients, pod);
    return {
      detail: `deleted pod ${name} of ${display(target)} (${chosen}: ${describePod(pod)}); it comes back with the same name and claims`,
      touched: [podRef(target.namespace, name)],
    };
  },
  isDone: podReplacedSince,
});

export const forceDeleteStatefulSetPod = defineAction({
  type: 'ForceDeleteStatefulSetPod',
  targetKinds: ['StatefulSet'],
  destructive: true,
  describe:
    'Force-deletes (grace period 0) a named StatefulSet pod that is stuck terminating, so the set can recreate it. ' +
    'A pod that is not terminating is refused: two pods with one identity could run at once.',
  params: { pod: { description: 'the stuck pod, by name', required: true } },
  validate: (params) => void requiredName(params, 'pod'),
  async execute({ clients, target, params }) {
    const name = requiredName(params, 'pod');
    const { pods } = await workloadPods(clients, target, { includeTerminating: true });
    const pod = pods.find((p) => p.metadata?.name === name);
    if (!pod) throw invalidParam('pod', `pod ${name} is not a pod of ${display(target)}`);
    if (!isTerminating(pod)) {
      throw unsafe(
        'pod',
        `pod ${name} is not terminating: force-deleting a live StatefulSet pod can leave two pods with one identity; use DeleteStatefulSetPod`,
      );
    }
    await kube(`force-deleting pod ${target.namespace}/${name}`, () =>
      clients.core.deleteNamespacedPod({
        name,
        namespace: target.namespace,
        gracePeriodSeconds: 0,
        body: { gracePeriodSeconds: 0, preconditions: { uid: pod.metadata?.uid } },
      }),
    );
    const after = await readOptional(`reading pod ${target.namespace}/${name}`, () =>
      clients.core.readNamespacedPod({ name, namespace: target.namespace }),
    );
    if (after && after.metadata?.uid === pod.metadata?.uid) {
      // Grace 0 ends the wait for the kubelet, not for finalizers: whoever set them has to finish first.
      throw new CairnError(
        ActionErrorCode.Incomplete,
        ErrorCategory.IllegalState,
        `force-deleted pod ${target.namespace}/${name}, but finalizers ${(after.metadata?.finalizers ?? []).join(', ')} still hold it; Cairn does not remove finalizers`,
        { details: { pod: name, finalizers: after.metadata?.finalizers ?? [] } },
      );
    }
    return {
      detail: `force-deleted pod ${name} of ${display(target)}, stuck terminating since ${new Date(pod.metadata?.deletionTimestamp ?? 0).toISOString()}; the set recreates it`,
      touched: [podRef(target.namespace, name)],
    };
  },
  async isDone({ clients, target, params, startedAt }) {
    const name = requiredName(params, 'pod');
    const pod = await readOptional('reading pod', () =>
      clients.core.readNamespacedPod({ name, namespace: target.namespace }),
    );
    return pod === undefined || createdSince(pod, startedAt);
  },
});

// --- Update strategy and partition -------------------------------------------------------------------------------

const strategyParams = (params: ActionParams) => {
  const type = oneOfParam(params, 'type', ['RollingUpdate', 'OnDelete'] as const);
  if (type === undefined) throw invalidParam('type', 'is required (RollingUpdate or OnDelete)');
  const maxUnavailable = intOrPercentParam(params, 'maxUnavailable');
  if (maxUnavailable !== undefined && type !== 'RollingUpdate') {
    throw invalidParam('maxUnavailable', 'applies only to type=RollingUpdate');
  }
  if (isZero(maxUnavailable)) throw unsafe('maxUnavailable', 'must be at least 1: 0 would stop every update');
  return { type, maxUnavailable };
};

export const updateStatefulSetStrategy = defineAction({
  type: 'UpdateStatefulSetStrategy',
  targetKinds: ['StatefulSet'],
  destructive: false,
  describe:
    'Sets the update strategy of the StatefulSet: RollingUpdate (optionally with maxUnavailable, which the API ' +
    'server keeps only where its MaxUnavailableStatefulSet feature is on) or OnDelete (pods change only when deleted).',
  params: {
    type: { description: 'RollingUpdate or OnDelete', required: true },
    maxUnavailable: { description: 'RollingUpdate only: pods updated at once, a number or a percentage' },
  },
  validate: (params) => void strategyParams(params),
  async execute({ clients, target, params }) {
    const { type, maxUnavailable } = strategyParams(params);
    const set = await readSet(clients, target);
    const before = set.spec?.updateStrategy?.type ?? 'RollingUpdate';
    const rollingUpdate = type === 'OnDelete' ? null : maxUnavailable === undefined ? undefined : { maxUnavailable };
    await patchWorkload(clients, 'StatefulSet', target, {
      spec: { updateStrategy: { type, ...(rollingUpdate === undefined ? {} : { rollingUpdate }) } },
    });
    if (maxUnavailable !== undefined) {
      const stored = (await readSet(clients, target)).spec?.updateStrategy?.rollingUpdate?.maxUnavailable;
      if (stored === undefined) {
        throw new CairnError(
          ActionErrorCode.Incomplete,
          ErrorCategory.IllegalState,
          `set the update strategy of ${display(target)} to ${type}, but the API server dropped maxUnavailable=${maxUnavailable}: ` +
            'its MaxUnavailableStatefulSet feature gate is off, so pods still update one at a time',
          { details: { param: 'maxUnavailable' } },
        );
      }
    }
    const extra = maxUnavailable === undefined ? '' : ` with maxUnavailable=${maxUnavailable}`;
    return { detail: `update strategy of ${display(target)}: ${before} → ${type}${extra}`, touched: [target] };
  },
  async isDone({ clients, target, params }) {
    const { type, maxUnavailable } = strategyParams(params);
    const strategy = (await readSet(clients, target)).spec?.updateStrategy;
    return (
      strategy?.type === type &&
      (maxUnavailable === undefined || String(strategy.rollingUpdate?.maxUnavailable) === String(maxUnavailable))
    );
  },
});

export const partitionStatefulSetUpdate = defineAction({
  type: 'PartitionStatefulSetUpdate',
  targetKinds: ['StatefulSet'],
  destructive: false,
  describe:
    'Sets the rolling-update partition of the StatefulSet: only pods with an ordinal at or above it take the new ' +
    'template (a canary); the others keep the current one. 0 rolls out to all.',
  params: { partition: { description: 'the lowest ordinal that updates, 0 up to the replica count', required: true } },
  validate: (params) => void requiredInt(intParam(params, 'partition', { min: 0, max: MaxReplicas }), 'partition'),
  async execute({ clients, target, params }) {
    const partition = requiredInt(intParam(params, 'partition', { min: 0, max: MaxReplicas }), 'partition');
    const set = await readSet(clients, target);
    if (set.spec?.updateStrategy?.type === 'OnDelete') {
      throw illegalState(`${display(target)} uses OnDelete: a partition applies only to RollingUpdate`);
    }
    const replicas = set.spec?.replicas ?? 1;
    if (partition > replicas) {
      throw invalidParam('partition', `${partition} is above the replica count ${replicas} of ${display(target)}`);
    }
    const before = set.spec?.updateStrategy?.rollingUpdate?.partition ?? 0;
    await patchWorkload(clients, 'StatefulSet', target, {
      spec: { updateStrategy: { type: 'RollingUpdate', rollingUpdate: { partition } } },
    });
    const held =
      partition === 0
        ? 'every pod takes the current template'
        : `ordinals ${partition} and up take the new template, 0 to ${partition - 1} keep theirs`;
    return { detail: `partition of ${display(target)}: ${before} → ${partition} (${held})`, touched: [target] };
  },
  async isDone({ clients, target, params }) {
    const partition = intParam(params, 'partition');
    return (await readSet(clients, target)).spec?.updateStrategy?.rollingUpdate?.partition === partition;
  },
});

// --- RecreateStatefulSetPVC ----------------------------------------------------------------------------------------

/** The claim's template and ordinal, when the claim is one the set made (`<template>-<set>-<ordinal>`). */
const claimOf = (set: StatefulSet, claim: string): { template: string; ordinal: number } | undefined => {
  for (const template of set.spec?.volumeClaimTemplates ?? []) {
    const prefix = `${template.metadata?.name}-${set.metadata.name}-`;
    const rest = claim.startsWith(prefix) ? claim.slice(prefix.length) : '';
    if (/^\d+$/.test(rest)) return { template: template.metadata?.name ?? '', ordinal: Number(rest) };
  }
  return undefined;
};

const recreateParams = (params: ActionParams) => {
  const pvc = requiredName(params, 'pvc');
  if (boolParam(params, 'confirm') !== true) {
    throw unsafe('confirm', 'must be true: recreating a claim deletes its data');
  }
  return pvc;
};

export const recreateStatefulSetPVC = defineAction({
  type: 'RecreateStatefulSetPVC',
  targetKinds: ['StatefulSet'],
  destructive: true,
  describe:
    'Deletes a stuck PersistentVolumeClaim of the StatefulSet (its data goes with it) and the pod that holds it, so ' +
    'the set recreates both with an empty claim. Needs confirm=true.',
  params: {
    pvc: { description: 'the claim, <template>-<set>-<ordinal>', required: true },
    confirm: { description: 'must be true: the claim and its data are deleted', required: true },
  },
  validate: (params) => void recreateParams(params),
  async execute({ clients, target, params }) {
    const pvc = recreateParams(params);
    const set = await readSet(clients, target);
    const owner = claimOf(set, pvc);
    if (!owner) {
      const templates = (set.spec?.volumeClaimTemplates ?? []).map((t) => t.metadata?.name).join(', ') || 'none';
      throw invalidParam('pvc', `${pvc} is not a claim of ${display(target)} (its claim templates: ${templates})`);
    }
    const claim = await readOptional(`reading PersistentVolumeClaim ${target.namespace}/${pvc}`, () =>
      clients.core.readNamespacedPersistentVolumeClaim({ name: pvc, namespace: target.namespace }),
    );
    if (!claim) throw missing('pvc', `there is no PersistentVolumeClaim ${target.namespace}/${pvc}`);
    await kube(`deleting PersistentVolumeClaim ${target.namespace}/${pvc}`, () =>
      clients.core.deleteNamespacedPersistentVolumeClaim({
        name: pvc,
        namespace: target.namespace,
        body: { preconditions: { uid: claim.metadata?.uid } },
      }),
    );
    // The claim's protection finalizer keeps it while a pod mounts it; the pod goes too, and the set recreates both.
    const podName = `${set.metadata.name}-${owner.ordinal}`;
    const pod = await readOptional(`reading pod ${target.namespace}/${podName}`, () =>
      clients.core.readNamespacedPod({ name: podName, namespace: target.namespace }),
    );
    const touched: ResourceRef[] = [{ kind: 'PersistentVolumeClaim', name: pvc, namespace: target.namespace }];
    if (pod && !isTerminating(pod)) {
      await deletePodNow(clients, pod);
      touched.push(podRef(target.namespace, podName));
    }
    return {
      detail:
        `deleted PersistentVolumeClaim ${pvc} (${claim.status?.phase ?? 'unknown phase'}, volume ${claim.spec?.volumeName ?? 'none'})` +
        `${pod ? ` and pod ${podName}` : ''} of ${display(target)}; the set recreates them with a new claim`,
      touched,
    };
  },
  async isDone({ clients, target, params, startedAt }) {
    const pvc = requiredName(params, 'pvc');
    const claim = await readOptional('reading claim', () =>
      clients.core.readNamespacedPersistentVolumeClaim({ name: pvc, namespace: target.namespace }),
    );
    if (claim === undefined || claim.metadata?.deletionTimestamp != null) return true;
    return startedAt !== undefined && new Date(claim.metadata?.creationTimestamp ?? 0) >= new Date(startedAt);
  },
});

export const statefulSetActions = [
  scaleStatefulSet,
  restartStatefulSet,
  rollbackStatefulSet,
  adjustStatefulSetResources,
  deleteStatefulSetPod,
  forceDeleteStatefulSetPod,
  updateStatefulSetStrategy,
  recreateStatefulSetPVC,
  partitionStatefulSetUpdate,
] as const;
