import type * as k8s from '@kubernetes/client-node';
import type { ResourceRef } from '../../domain/events/common.schema.ts';
import type { ActionClients, ActionParams } from './action.ts';
import { display, invalidParam, missing, unsafe } from './actionErrors.ts';
import { defineAction, nameParam, oneOfParam, requiredName } from './actionParams.ts';
import { assertNotLastSchedulable, readNode, setUnschedulable } from './node.actions.ts';
import { deletePodNow, describePod, podRef, podReplacedSince } from './pod.actions.ts';
import {
  adjustTemplateResources,
  imagesOf,
  intOrPercentParam,
  isZero,
  patchWorkload,
  type Raw,
  readWorkload,
  restartTemplate,
  revisionTarget,
  revisionTemplate,
  rollBackTemplate,
  rolledBackSince,
} from './templateWorkloads.ts';
import { createdSince, isTerminating, sickestPod, workloadPods } from './workloadPods.ts';

type DaemonSet = Raw<k8s.V1DaemonSet>;

const readSet = (clients: ActionClients, target: ResourceRef) =>
  readWorkload<k8s.V1DaemonSet>(clients, 'DaemonSet', target);

export const restartDaemonSet = restartTemplate(
  'RestartDaemonSet',
  'DaemonSet',
  "Rolling restart of the DaemonSet's pods on every node, within the set's maxUnavailable/maxSurge.",
);

export const rollbackDaemonSet = defineAction({
  type: 'RollbackDaemonSet',
  targetKinds: ['DaemonSet'],
  destructive: false,
  describe: 'Rolls the DaemonSet back to an earlier ControllerRevision (previous by default, or a revision number).',
  params: { toRevision: { description: 'previous (default) or a revision number of the ControllerRevisions' } },
  validate: (params) => void revisionTarget(params),
  async execute({ clients, target, params }) {
    const { chosen, current, left } = await rollBackTemplate(clients, 'DaemonSet', target, revisionTarget(params));
    if (current) {
      return {
        detail: `${display(target)} already runs revision ${chosen.revision}: nothing to roll back`,
        touched: [],
      };
    }
    const images = imagesOf(revisionTemplate(chosen) as { spec?: { containers?: { image?: string }[] } });
    return {
      detail: `rolled ${display(target)} back to revision ${chosen.revision} (ControllerRevision ${chosen.metadata?.name}: ${images})`,
      touched: [target],
      ...(left ? { revisionLeft: left } : {}),
    };
  },
  isDone: ({ clients, target, startedAt }) => rolledBackSince(clients, 'DaemonSet', target, startedAt),
});

export const adjustDaemonSetResources = adjustTemplateResources(
  'AdjustDaemonSetResources',
  'DaemonSet',
  "Changes the CPU and memory requests and limits of one of the DaemonSet's containers (a rolling update).",
);

/** The DaemonSet pod the params name: by pod, by node, or the sickest. A pod and a node must agree. */
async function chooseDaemonPod(clients: ActionClients, target: ResourceRef, params: ActionParams) {
  const { pods } = await workloadPods(clients, target);
  const podName = nameParam(params, 'pod');
  const node = nameParam(params, 'node');
  let pod: k8s.V1Pod | undefined;
  if (podName !== undefined) {
    pod = pods.find((p) => p.metadata?.name === podName);
    if (!pod) throw invalidParam('pod', `pod ${podName} is not a live pod of ${display(target)}`);
    if (node !== undefined && pod.spec?.nodeName !== node) {
      throw invalidParam('node', `pod ${podName} runs on node ${pod.spec?.nodeName ?? '(none)'}, not on ${node}`);
    }
  } else if (node !== undefined) {
    pod = pods.find((p) => p.spec?.nodeName === node);
    if (!pod) throw missing('node', `${display(target)} has no live pod on node ${node}`);
  } else {
    pod = sickestPod(pods);
    if (!pod) throw missing('pod', `${display(target)} has no running pod`);
  }
  return { pods, pod };
}

const assertNotLast = (pods: readonly k8s.V1Pod[], pod: k8s.V1Pod, target: ResourceRef) => {
  if (pods.length <= 1) {
    throw unsafe(
      'pod',
      `pod ${pod.metadata?.name} is the last pod of ${display(target)}: deleting it would take the set down`,
    );
  }
};

export const deleteDaemonSetPod = defineAction({
  type: 'DeleteDaemonSetPod',
  targetKinds: ['DaemonSet'],
  destructive: true,
  describe:
    "Deletes one DaemonSet pod (named, the one on a node, or the sickest); the set recreates it on the same node. Never the set's last pod.",
  params: {
    pod: { description: 'the pod to delete' },
    node: { description: 'the node whose pod of the set is deleted' },
  },
  validate(params) {
    nameParam(params, 'pod');
    nameParam(params, 'node');
  },
  async execute({ clients, target, params }) {
    const { pods, pod } = await chooseDaemonPod(clients, target, params);
    assertNotLast(pods, pod, target);
    await deletePodNow(clients, pod);
    const name = pod.metadata?.name ?? '';
    return {
      detail: `deleted pod ${name} of ${display(target)} on node ${pod.spec?.nodeName} (${describePod(pod)}); the set recreates it there`,
      touched: [podRef(target.namespace, name)],
    };
  },
  async isDone(ctx) {
    return podReplacedSince(ctx);
  },
});

// --- Update strategy and pause -------------------------------------------------------------------------------

const strategyParams = (params: ActionParams) => {
  const type = oneOfParam(params, 'type', ['RollingUpdate', 'OnDelete'] as const);
  if (type === undefined) throw invalidParam('type', 'is required (RollingUpdate or OnDelete)');
  const maxUnavailable = intOrPercentParam(params, 'maxUnavailable');
  const maxSurge = intOrPercentParam(params, 'maxSurge');
  if (type === 'OnDelete') {
    if (maxUnavailable !== undefined) throw invalidParam('maxUnavailable', 'applies only to type=RollingUpdate');
    if (maxSurge !== undefined) throw invalidParam('maxSurge', 'applies only to type=RollingUpdate');
  }
  return { type, maxUnavailable, maxSurge };
};

const describeStrategy = (strategy: k8s.V1DaemonSetUpdateStrategy | undefined): string => {
  if (strategy?.type === 'OnDelete') return 'OnDelete';
  const r = strategy?.rollingUpdate;
  return `RollingUpdate (maxUnavailable=${r?.maxUnavailable ?? 1}, maxSurge=${r?.maxSurge ?? 0})`;
};

export const updateDaemonSetStrategy = defineAction({
  type: 'UpdateDaemonSetStrategy',
  targetKinds: ['DaemonSet'],
  destructive: false,
  describe:
    'Sets the update strategy of the DaemonSet: RollingUpdate with maxUnavailable and/or maxSurge (numbers or ' +
    'percentages, not both 0), or OnDelete (pods change only when deleted).',
  params: {
    type: { description: 'RollingUpdate or OnDelete', required: true },
    maxUnavailable: { description: 'RollingUpdate: nodes whose pod may be down at once' },
    maxSurge: { description: 'RollingUpdate: nodes that may run an old and a new pod at once' },
  },
  validate(params) {
    const { maxUnavailable, maxSurge } = strategyParams(params);
    if (isZero(maxUnavailable) && (maxSurge === undefined || isZero(maxSurge))) {
      throw unsafe('maxUnavailable', 'may be 0 only with a maxSurge above 0: otherwise no pod could ever be replaced');
    }
  },
  async execute({ clients, target, params }) {
    const { type, maxUnavailable, maxSurge } = strategyParams(params);
    const set: DaemonSet = await readSet(clients, target);
    const before = describeStrategy(set.spec?.updateStrategy);
    let rollingUpdate: k8s.V1RollingUpdateDaemonSet | null = null;
    if (type === 'RollingUpdate') {
      const current = set.spec?.updateStrategy?.type === 'RollingUpdate' ? set.spec.updateStrategy.rollingUpdate : {};
      rollingUpdate = {
        maxUnavailable: maxUnavailable ?? current?.maxUnavailable ?? 1,
        maxSurge: maxSurge ?? current?.maxSurge ?? 0,
      };
      if (isZero(rollingUpdate.maxUnavailable) && isZero(rollingUpdate.maxSurge)) {
        throw unsafe(
          maxUnavailable !== undefined ? 'maxUnavailable' : 'maxSurge',
          'maxUnavailable and maxSurge would both be 0: no pod could ever be replaced',
        );
      }
    }
    await patchWorkload(clients, 'DaemonSet', target, { spec: { updateStrategy: { type, rollingUpdate } } });
    const after = describeStrategy({ type, ...(rollingUpdate ? { rollingUpdate } : {}) });
    return { detail: `update strategy of ${display(target)}: ${before} → ${after}`, touched: [target] };
  },
  async isDone({ clients, target, params }) {
    const { type, maxUnavailable, maxSurge } = strategyParams(params);
    const strategy = (await readSet(clients, target)).spec?.updateStrategy;
    const same = (want: number | string | undefined, have: unknown) =>
      want === undefined || String(want) === String(have);
    return (
      strategy?.type === type &&
      same(maxUnavailable, strategy.rollingUpdate?.maxUnavailable) &&
      same(maxSurge, strategy.rollingUpdate?.maxSurge)
    );
  },
});

export const pauseDaemonSetRollout = defineAction({
  type: 'PauseDaemonSetRollout',
  targetKinds: ['DaemonSet'],
  destructive: false,
  describe:
    'Pauses the rollout of the DaemonSet: no more pods are replaced until the strategy goes back to RollingUpdate. ' +
    'It switches the set to OnDelete, because maxUnavailable=0 is refused by the API server unless maxSurge is ' +
    'above 0, and then surge pods carry the rollout on.',
  params: {},
  async execute({ clients, target }) {
    const set: DaemonSet = await readSet(clients, target);
    const before = describeStrategy(set.spec?.updateStrategy);
    if (set.spec?.updateStrategy?.type === 'OnDelete') {
      return { detail: `${display(target)} already uses OnDelete: its rollout is paused`, touched: [] };
    }
    await patchWorkload(clients, 'DaemonSet', target, {
      spec: { updateStrategy: { type: 'OnDelete', rollingUpdate: null } },
    });
    const s = set.status;
    return {
      detail:
        `paused the rollout of ${display(target)} at ${s?.updatedNumberScheduled ?? 0} of ${s?.desiredNumberScheduled ?? 0} pods updated ` +
        `(was ${before}; resume with UpdateDaemonSetStrategy type=RollingUpdate)`,
      touched: [target],
    };
  },
  async isDone({ clients, target }) {
    return (await readSet(clients, target)).spec?.updateStrategy?.type === 'OnDelete';
  },
});

export const cordonAndDeleteDaemonSetPod = defineAction({
  type: 'CordonAndDeleteDaemonSetPod',
  targetKinds: ['DaemonSet'],
  destructive: true,
  describe:
    "Cordons a node, so nothing new is scheduled there, and deletes the DaemonSet's pod on it; DaemonSet pods " +
    'tolerate cordoned nodes, so the set recreates its pod there. Never the last schedulable node or the last pod.',
  params: { node: { description: 'the node', required: true } },
  validate: (params) => void requiredName(params, 'node'),
  async execute({ clients, target, params }) {
    const node = requiredName(params, 'node');
    const { pods, pod } = await chooseDaemonPod(clients, target, { node });
    assertNotLast(pods, pod, target);
    const wasCordoned = (await readNode(clients, node)).spec?.unschedulable === true;
    if (!wasCordoned) {
      await assertNotLastSchedulable(clients, node);
      await setUnschedulable(clients, node, true);
    }
    await deletePodNow(clients, pod);
    const name = pod.metadata?.name ?? '';
    return {
      detail:
        `${wasCordoned ? 'node was already cordoned' : `cordoned node ${node}`}; deleted pod ${name} of ${display(target)} ` +
        `(${describePod(pod)}); the set recreates it on the node`,
      touched: [{ kind: 'Node', name: node, namespace: '' }, podRef(target.namespace, name)],
    };
  },
  async isDone(ctx) {
    const node = requiredName(ctx.params, 'node');
    if ((await readNode(ctx.clients, node)).spec?.unschedulable !== true) return false;
    const { pods } = await workloadPods(ctx.clients, ctx.target, { includeTerminating: true });
    return pods.some((p) => p.spec?.nodeName === node && (isTerminating(p) || createdSince(p, ctx.startedAt)));
  },
});

export const daemonSetActions = [
  restartDaemonSet,
  rollbackDaemonSet,
  adjustDaemonSetResources,
  deleteDaemonSetPod,
  updateDaemonSetStrategy,
  pauseDaemonSetRollout,
  cordonAndDeleteDaemonSetPod,
] as const;
