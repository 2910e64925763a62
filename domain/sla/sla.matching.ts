import type { Severity } from '../events/common.schema.ts';
import type { SlaTerms } from './sla.commands.ts';

/** An IncidentSLA as Cairn measures with it: validated, durations in seconds, defaults filled in. */
export interface MeasuringSla {
  readonly namespace: string;
  readonly name: string;
  readonly generation: number;
  /** When the IncidentSLA was created: it measures Issues detected from then on, never older ones. */
  readonly createdAt: string;
  /** In Cairn's own namespace an SLA measures Issues of every namespace; elsewhere only its own. */
  readonly clusterWide: boolean;
  readonly targets: ReadonlyMap<Severity, { readonly responseSeconds: number; readonly resolutionSeconds: number }>;
  readonly terms: Omit<SlaTerms, 'sla' | 'responseSeconds' | 'resolutionSeconds'>;
}

/**
 * The SLA an Issue is measured by: among those with a target for its severity, one in the Issue's own namespace
 * comes before a cluster-wide one, and between equals the first by name, so the choice never depends on the order
 * the informer saw them in. undefined when none applies.
 */
export function slaFor(
  slas: readonly MeasuringSla[],
  issue: { readonly namespace: string; readonly severity: Severity; readonly detectedAt: string },
): SlaTerms | undefined {
  const candidates = slas
    .filter((s) => s.targets.has(issue.severity))
    .filter((s) => Date.parse(s.createdAt) <= Date.parse(issue.detectedAt))
    .filter((s) => s.namespace === issue.namespace || s.clusterWide)
    .sort((a, b) => {
      const local = Number(b.namespace === issue.namespace) - Number(a.namespace === issue.namespace);
      return local !== 0 ? local : a.name < b.name ? -1 : a.name > b.name ? 1 : a.namespace < b.namespace ? -1 : 1;
    });
  const chosen = candidates[0];
  if (chosen === undefined) return undefined;
  const target = chosen.targets.get(issue.severity)!;
  return {
    ...chosen.terms,
    sla: { namespace: chosen.namespace, name: chosen.name, generation: chosen.generation },
    responseSeconds: target.responseSeconds,
    resolutionSeconds: target.resolutionSeconds,
  };
}
