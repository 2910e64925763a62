import type { ActionBlastRadius, PlanBlastRadius } from '../domain/events/remediation.events.ts';

/**
 * How a plan's recorded blast radius reads: the totals, one sentence, and per action the budgets, Services and
 * quotas it touches in words. Pure; the RemediationPlan and AIInsight statuses, the REST/GraphQL read model and the
 * dashboard all show these same numbers.
 */

export interface BlastRadiusTotals {
  /** Pods the plan's actions delete, evict, restart or scale away, summed over its actions. */
  readonly pods: number;
  readonly pdbViolations: number;
  readonly servicesEmptied: number;
  readonly quotaOverflows: number;
  readonly dependants: number;
}

export const blastRadiusTotals = (radius: PlanBlastRadius): BlastRadiusTotals => ({
  pods: radius.actions.reduce((n, a) => n + a.pods, 0),
  pdbViolations: radius.actions.reduce((n, a) => n + a.pdbViolations.length, 0),
  servicesEmptied: radius.actions.reduce((n, a) => n + a.servicesEmptied.length, 0),
  quotaOverflows: radius.actions.reduce((n, a) => n + a.quotaOverflows.length, 0),
  dependants: radius.dependants.length,
});

const cores = (v: number) => (v < 1 ? `${Math.round(v * 1000)}m` : `${Number(v.toFixed(3))}`);
const mebibytes = (v: number) => `${Number((v / 2 ** 20).toFixed(1))}Mi`;
const quantity = (resource: string, v: number) =>
  resource.endsWith('memory') || resource.endsWith('storage')
    ? mebibytes(v)
    : resource.endsWith('cpu')
      ? cores(v)
      : `${Number(v.toFixed(3))}`;

export const pdbViolationText = (v: ActionBlastRadius['pdbViolations'][number]) =>
  `${v.namespace}/${v.name}: takes ${v.podsTaken} healthy pod(s), allows ${v.disruptionsAllowed}`;
export const serviceEmptiedText = (s: ActionBlastRadius['servicesEmptied'][number]) =>
  `${s.namespace}/${s.name}: all ${s.readyEndpoints} ready endpoint(s) gone`;
export const quotaOverflowText = (q: ActionBlastRadius['quotaOverflows'][number]) =>
  `${q.namespace}/${q.name} ${q.resource}: ${quantity(q.resource, q.used)} used + ${quantity(q.resource, q.added)} > ${quantity(q.resource, q.hard)}`;

const plural = (n: number, one: string, many: string) => `${n} ${n === 1 ? one : many}`;

/** One sentence: "2 pods affected, 1 PodDisruptionBudget violated, 1 Service emptied, no quota exceeded, 3 dependants". */
export const blastRadiusSummary = (radius: PlanBlastRadius): string => {
  const t = blastRadiusTotals(radius);
  return [
    `${plural(t.pods, 'pod', 'pods')} affected`,
    `${plural(t.pdbViolations, 'PodDisruptionBudget', 'PodDisruptionBudgets')} violated`,
    `${plural(t.servicesEmptied, 'Service', 'Services')} emptied`,
    `${plural(t.quotaOverflows, 'quota', 'quotas')} exceeded`,
    plural(t.dependants, 'dependant', 'dependants'),
  ].join(', ');
};

/** The RemediationPlan's status.blastRadius (see remediationPlan.kind.ts). */
export const blastRadiusStatus = (radius: PlanBlastRadius) => ({
  summary: blastRadiusSummary(radius),
  ...blastRadiusTotals(radius),
  actions: radius.actions.slice(0, 50).map((a) => ({
    actionId: a.actionId,
    type: a.type,
    pods: a.pods,
    ...(a.replicas ? { replicas: { before: a.replicas.before, after: a.replicas.after } } : {}),
    ...(a.pdbViolations.length > 0 ? { pdbViolations: a.pdbViolations.slice(0, 32).map(pdbViolationText) } : {}),
    ...(a.servicesEmptied.length > 0
      ? { servicesEmptied: a.servicesEmptied.slice(0, 32).map(serviceEmptiedText) }
      : {}),
    ...(a.quotaOverflows.length > 0 ? { quotaOverflows: a.quotaOverflows.slice(0, 32).map(quotaOverflowText) } : {}),
  })),
  ...(radius.dependants.length > 0
    ? {
        dependantRefs: radius.dependants.slice(0, 64).map((d) => ({
          kind: d.kind,
          name: d.name,
          ...(d.namespace ? { namespace: d.namespace } : {}),
        })),
      }
    : {}),
});

/** The blast radius as an approver reads it, after the request's own description: the numbers, then the details. */
export const blastRadiusDescription = (radius: PlanBlastRadius): string => {
  const details = radius.actions.flatMap((a) => [
    ...a.pdbViolations.map((v) => `${a.type} violates PodDisruptionBudget ${pdbViolationText(v)}`),
    ...a.servicesEmptied.map((s) => `${a.type} empties Service ${serviceEmptiedText(s)}`),
    ...a.quotaOverflows.map((q) => `${a.type} exceeds ResourceQuota ${quotaOverflowText(q)}`),
  ]);
  const dependants =
    radius.dependants.length > 0
      ? [
          `dependants: ${radius.dependants
            .slice(0, 10)
            .map((d) => `${d.kind} ${d.namespace ? `${d.namespace}/` : ''}${d.name}`)
            .join(', ')}${radius.dependants.length > 10 ? `, and ${radius.dependants.length - 10} more` : ''}`,
        ]
      : [];
  return [blastRadiusSummary(radius), ...details, ...dependants].join('; ');
};

/** The REST and GraphQL remediation read model's blastRadius: the recorded numbers, their totals and the sentence. */
export const blastRadiusView = (radius: PlanBlastRadius) => ({
  summary: blastRadiusSummary(radius),
  totals: blastRadiusTotals(radius),
  actions: radius.actions,
  dependants: radius.dependants,
});
export type BlastRadiusView = ReturnType<typeof blastRadiusView>;
