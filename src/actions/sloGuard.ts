import type { ResourceRef } from '../../domain/events/common.schema.ts';

/**
 * Error-budget-aware safety: what Cairn does with a destructive action on a workload whose SLO has no budget left
 * or is burning it fast. off: nothing; approve: the plan waits for one person; refuse: the action is refused.
 */
export const SloGuard = { Off: 'off', Approve: 'approve', Refuse: 'refuse' } as const;
export type SloGuard = (typeof SloGuard)[keyof typeof SloGuard];
export const sloGuardModes: readonly SloGuard[] = Object.values(SloGuard);

/** What the last evaluation of one SLO naming the plan's workload found. */
export interface SloFact {
  readonly namespace: string;
  readonly name: string;
  /** Fraction of the error budget left (negative once overspent); undefined before any evaluation with data. */
  readonly budgetRemaining?: number;
  /** Page-urgency burn alerts firing, by name. */
  readonly pageAlerts: readonly string[];
}

const percent = (fraction: number) => `${Math.round(fraction * 1000) / 10}%`;

/** Why this SLO guards its workload (budget exhausted, a page-urgency burn firing), or undefined when it does not. */
export const sloAtRisk = (slo: SloFact): string | undefined => {
  const exhausted = slo.budgetRemaining !== undefined && slo.budgetRemaining <= 0;
  if (!exhausted && slo.pageAlerts.length === 0) return undefined;
  const budget =
    slo.budgetRemaining === undefined
      ? 'error budget remaining unknown'
      : `error budget remaining ${percent(slo.budgetRemaining)}${exhausted ? ' (exhausted)' : ''}`;
  const alerts =
    slo.pageAlerts.length === 0 ? 'no burn alert firing' : `burn alert ${slo.pageAlerts.join(', ')} firing (page)`;
  return `SLO ${slo.namespace}/${slo.name}: ${budget}, ${alerts}`;
};

/** Why destructive actions on the workload are guarded: every SLO at risk, or undefined when none is. */
export const sloGuardReason = (slos: readonly SloFact[] | undefined): string | undefined => {
  const reasons = (slos ?? []).flatMap((slo) => sloAtRisk(slo) ?? []);
  return reasons.length === 0 ? undefined : reasons.join('; ');
};

/** Whether an SLO's `spec.workload` (namespace defaulting to the SLO's own) names this target. */
export const sloNamesTarget = (
  slo: { readonly namespace: string; readonly workload?: Partial<ResourceRef> },
  target: ResourceRef,
): boolean =>
  slo.workload !== undefined &&
  slo.workload.kind === target.kind &&
  slo.workload.name === target.name &&
  (slo.workload.namespace || slo.namespace) === target.namespace;
