import type { ResourceRef } from '../../domain/events/common.schema.ts';
import { apiGroup, apiVersion } from '../adapters/kubernetes/api/kindDefinition.ts';
import type { ServiceLevelObjectiveResource } from '../adapters/kubernetes/api/serviceLevelObjective.kind.ts';
import { urgencyOf } from '../slo/slo.validation.ts';
import type { ActionClients } from './action.ts';
import { kube } from './actionErrors.ts';
import { type SloFact, sloNamesTarget } from './sloGuard.ts';

/**
 * The last evaluation of every enabled ServiceLevelObjective in the target's namespace that names the target as its
 * workload, read from the SLOs' status (which the SLO evaluator alone writes).
 */
export async function observeSloFacts(clients: ActionClients, target: ResourceRef): Promise<SloFact[]> {
  if (target.namespace === '') return [];
  const list = (await kube(`listing the ServiceLevelObjectives of namespace ${target.namespace}`, () =>
    clients.custom.listNamespacedCustomObject({
      group: apiGroup,
      version: apiVersion,
      plural: 'servicelevelobjectives',
      namespace: target.namespace,
    }),
  )) as { items?: ServiceLevelObjectiveResource[] };
  return sloFactsFor(list.items ?? [], target);
}

/** The SLO facts of the objects naming the target; disabled objectives guard nothing. */
export const sloFactsFor = (items: readonly ServiceLevelObjectiveResource[], target: ResourceRef): SloFact[] =>
  items.flatMap((item) => {
    const namespace = item.metadata?.namespace ?? target.namespace;
    const spec = item.spec;
    if (spec?.enabled === false) return [];
    if (!sloNamesTarget({ namespace, ...(spec?.workload ? { workload: spec.workload } : {}) }, target)) return [];
    const status = item.status ?? {};
    return [
      {
        namespace,
        name: item.metadata?.name ?? '',
        ...(typeof status.errorBudgetRemaining === 'number' ? { budgetRemaining: status.errorBudgetRemaining } : {}),
        pageAlerts: (status.firing ?? []).filter((f) => urgencyOf(f.severity) === 'page').map((f) => f.name),
      },
    ];
  });
