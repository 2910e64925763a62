import type * as k8s from '@kubernetes/client-node';
import type { ResourceRef } from '../../domain/events/common.schema.ts';
import { type ActionClients, ActionFieldManager, type ActionParams, AnyKind } from './action.ts';
import { display, invalidParam, kube, missing, readOptional, unsafe } from './actionErrors.ts';
import { defineAction, intParam, nameParam } from './actionParams.ts';
import { PatchAs } from './patchOptions.ts';

/** The HPAs whose scale target is this workload. */
export async function hpasTargeting(
  clients: ActionClients,
  target: ResourceRef,
): Promise<k8s.V2HorizontalPodAutoscaler[]> {
  if (target.namespace === '') return [];
  const list = await kube('listing HorizontalPodAutoscalers', () =>
    clients.autoscaling.listNamespacedHorizontalPodAutoscaler({ namespace: target.namespace }),
  );
  return list.items.filter(
    (h) => h.spec?.scaleTargetRef.kind === target.kind && h.spec.scaleTargetRef.name === target.name,
  );
}

interface HpaChange {
  readonly minReplicas?: number;
  readonly maxReplicas?: number;
  readonly targetCPUUtilization?: number;
}

const hpaChange = (params: ActionParams): HpaChange => {
  const minReplicas = intParam(params, 'minReplicas', { min: 0, max: 1_000 });
  const maxReplicas = intParam(params, 'maxReplicas', { min: 0, max: 1_000 });
  const targetCPUUtilization = intParam(params, 'targetCPUUtilization', { min: 1, max: 1_000 });
  if (minReplicas === 0)
    throw unsafe('minReplicas', 'must be at least 1: an HPA at 0 replicas takes the workload down');
  if (maxReplicas === 0) throw unsafe('maxReplicas', 'must be at least 1');
  if (minReplicas === undefined && maxReplicas === undefined && targetCPUUtilization === undefined) {
    throw invalidParam('minReplicas', 'give at least one of minReplicas, maxReplicas, targetCPUUtilization');
  }
  if (minReplicas !== undefined && maxReplicas !== undefined && minReplicas > maxReplicas) {
    throw unsafe('minReplicas', `minReplicas ${minReplicas} is above maxReplicas ${maxReplicas}`);
  }
  return {
    ...(minReplicas === undefined ? {} : { minReplicas }),
    ...(maxReplicas === undefined ? {} : { maxReplicas }),
    ...(targetCPUUtilization === undefined ? {} : { targetCPUUtilization }),
  };
};

/** Finds the HPA: by name, the target itself, or the one HPA that scales the target. */
async function findHpa(clients: ActionClients, target: ResourceRef, params: ActionParams) {
  const named = nameParam(params, 'hpa') ?? (target.kind === 'HorizontalPodAutoscaler' ? target.name : undefined);
  if (named !== undefined) {
    const hpa = await readOptional(`reading HorizontalPodAutoscaler ${target.namespace}/${named}`, () =>
      clients.autoscaling.readNamespacedHorizontalPodAutoscaler({ name: named, namespace: target.namespace }),
    );
    if (!hpa) throw missing('hpa', `there is no HorizontalPodAutoscaler ${target.namespace}/${named}`);
    return hpa;
  }
  const hpas = await hpasTargeting(clients, target);
  if (hpas.length === 0) throw missing('hpa', `no HorizontalPodAutoscaler scales ${display(target)}`);
  if (hpas.length > 1)
    throw invalidParam('hpa', `${hpas.length} HorizontalPodAutoscalers scale ${display(target)}: name one`);
  return hpas[0] as k8s.V2HorizontalPodAutoscaler;
}

const withCpuTarget = (metrics: readonly k8s.V2MetricSpec[], utilization: number): k8s.V2MetricSpec[] => {
  const cpu: k8s.V2MetricSpec = {
    type: 'Resource',
    resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: utilization } },
  };
  const index = metrics.findIndex((m) => m.type === 'Resource' && m.resource?.name === 'cpu');
  return index < 0 ? [...metrics, cpu] : metrics.map((m, i) => (i === index ? cpu : m));
};

const cpuTargetOf = (hpa: k8s.V2HorizontalPodAutoscaler): number | undefined =>
  hpa.spec?.metrics?.find((m) => m.type === 'Resource' && m.resource?.name === 'cpu')?.resource?.target
    .averageUtilization;

export const adjustHpa = defineAction({
  type: 'AdjustHPA',
  targetKinds: [AnyKind],
  destructive: false,
  describe: "Changes a HorizontalPodAutoscaler's minReplicas, maxReplicas or CPU utilisation target.",
  params: {
    hpa: { description: 'the HPA; optional when the target is one or exactly one HPA scales the target' },
    minReplicas: { description: 'at least 1 and at most maxReplicas' },
    maxReplicas: { description: 'at least minReplicas' },
    targetCPUUtilization: { description: 'average CPU utilisation target, in percent of the request' },
  },
  validate: (params) => void hpaChange(params),
  async execute({ clients, target, params }) {
    const change = hpaChange(params);
    const hpa = await findHpa(clients, target, params);
    const name = hpa.metadata?.name ?? '';
    const min = change.minReplicas ?? hpa.spec?.minReplicas ?? 1;
    const max = change.maxReplicas ?? hpa.spec?.maxReplicas ?? 1;
    if (min > max) {
      throw unsafe(
        change.minReplicas !== undefined ? 'minReplicas' : 'maxReplicas',
        `the HPA would have minReplicas ${min} above maxReplicas ${max}`,
      );
    }
    const spec: Record<string, unknown> = { minReplicas: min, maxReplicas: max };
    if (change.targetCPUUtilization !== undefined) {
      spec.metrics = withCpuTarget(hpa.spec?.metrics ?? [], change.targetCPUUtilization);
    }
    await kube(`patching HorizontalPodAutoscaler ${target.namespace}/${name}`, () =>
      clients.autoscaling.patchNamespacedHorizontalPodAutoscaler(
        { name, namespace: target.namespace, body: { spec }, fieldManager: ActionFieldManager },
        PatchAs.merge,
      ),
    );
    const cpu =
      change.targetCPUUtilization === undefined
        ? ''
        : `, CPU target ${cpuTargetOf(hpa) ?? 'unset'}% → ${change.targetCPUUtilization}%`;
    return {
      detail: `HorizontalPodAutoscaler ${target.namespace}/${name}: replicas ${hpa.spec?.minReplicas ?? 1}-${hpa.spec?.maxReplicas} → ${min}-${max}${cpu}`,
      touched: [{ kind: 'HorizontalPodAutoscaler', name, namespace: target.namespace }],
    };
  },
});

export const scalingActions = [adjustHpa] as const;
