import type { ResourceRef, Severity } from '../events/common.schema.ts';
import { type LabelSelector, selectorMatches } from '../notification/notification.routing.ts';

/** What decides whether an EscalationPolicy takes an Issue. */
export interface SelectablePolicy {
  readonly namespace: string;
  readonly name: string;
  /** Takes what no policy without `default` takes. */
  readonly isDefault: boolean;
  /** A policy in Cairn's own namespace sees Issues of every namespace; any other only of its own. */
  readonly clusterWide: boolean;
  readonly severities?: readonly Severity[];
  readonly namespaces?: readonly string[];
  readonly labelSelector?: LabelSelector;
}

const byName = (a: SelectablePolicy, b: SelectablePolicy) =>
  a.namespace === b.namespace ? (a.name < b.name ? -1 : 1) : a.namespace < b.namespace ? -1 : 1;

/**
 * The one policy that escalates an Issue: the first by namespace and name among those without `default` that match
 * it, else the first such default one. An Issue has one escalation, so two matching policies never both page.
 */
export function selectPolicy<P extends SelectablePolicy>(
  policies: readonly P[],
  issue: { readonly severity: Severity; readonly workload: ResourceRef },
  labels: Readonly<Record<string, string>>,
): P | undefined {
  const matching = policies
    .filter((p) => p.clusterWide || p.namespace === issue.workload.namespace)
    .filter((p) => p.severities === undefined || p.severities.includes(issue.severity))
    .filter((p) => p.namespaces === undefined || p.namespaces.includes(issue.workload.namespace))
    .filter((p) => p.labelSelector === undefined || selectorMatches(p.labelSelector, labels))
    .sort(byName);
  return matching.find((p) => !p.isDefault) ?? matching.find((p) => p.isDefault);
}
