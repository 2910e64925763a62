import type { Severity } from '../events/common.schema.ts';
import type {
  ChannelType,
  NotificationGrouping,
  NotificationTransition,
  NotifiedIssue,
} from '../events/notification.events.ts';

/** What a group may be keyed on, in Alertmanager's words the labels of `group_by`. */
export const GroupLabel = {
  Namespace: 'namespace',
  Signal: 'signal',
  Severity: 'severity',
  Workload: 'workload',
  Issue: 'issue',
} as const;
export type GroupLabel = (typeof GroupLabel)[keyof typeof GroupLabel];

export interface LabelRequirement {
  readonly key: string;
  readonly operator: 'In' | 'NotIn' | 'Exists' | 'DoesNotExist';
  readonly values: readonly string[];
}

export interface LabelSelector {
  readonly matchLabels: Readonly<Record<string, string>>;
  readonly matchExpressions: readonly LabelRequirement[];
}

export interface RoutingRule {
  readonly name: string;
  readonly severities?: readonly Severity[];
  readonly signals?: readonly string[];
  readonly namespaces?: readonly string[];
  readonly resourceKinds?: readonly string[];
  /** Over the labels of the Issue's workload. */
  readonly labelSelector?: LabelSelector;
  /** Absent: every transition. */
  readonly transitions?: readonly NotificationTransition[];
  readonly channels: readonly string[];
}

/** A NotificationPolicy as Cairn runs it: validated, durations in seconds, defaults filled in. */
export interface RoutingPolicy {
  readonly namespace: string;
  readonly name: string;
  readonly generation: number;
  /** A policy in Cairn's own namespace hears of every namespace; any other only of its own. */
  readonly clusterWide: boolean;
  readonly channels: readonly { readonly name: string; readonly type: ChannelType }[];
  readonly rules: readonly RoutingRule[];
  readonly groupBy: readonly GroupLabel[];
  readonly grouping: NotificationGrouping;
}

export interface Route {
  readonly policy: RoutingPolicy;
  readonly rule: RoutingRule;
  /** `label=value` pairs, sorted by label: equal keys mean one group. */
  readonly groupKey: string;
  readonly subscribed: boolean;
}

export const selectorMatches = (selector: LabelSelector, labels: Readonly<Record<string, string>>): boolean =>
  Object.entries(selector.matchLabels).every(([key, value]) => labels[key] === value) &&
  selector.matchExpressions.every((r) => {
    const present = Object.hasOwn(labels, r.key);
    // DoesNotExist is the default branch: an operator a validated selector cannot hold falls on the safe side.
    switch (r.operator) {
      case 'In':
        return present && r.values.includes(labels[r.key]!);
      case 'NotIn':
        return !present || !r.values.includes(labels[r.key]!);
      case 'Exists':
        return present;
      default:
        return !present;
    }
  });

export const needsLabels = (policies: readonly RoutingPolicy[]): boolean =>
  policies.some((p) => p.rules.some((r) => r.labelSelector !== undefined));

const groupValue = (label: GroupLabel, issue: NotifiedIssue): string => {
  switch (label) {
    case 'namespace':
      return issue.workload.namespace;
    case 'signal':
      return issue.signal;
    case 'severity':
      return issue.severity;
    case 'workload':
      return `${issue.workload.kind}/${issue.workload.name}`;
    case 'issue':
      return issue.issueId;
  }
};

export const groupKeyOf = (groupBy: readonly GroupLabel[], issue: NotifiedIssue): string =>
  [...groupBy]
    .sort()
    .map((label) => `${label}=${groupValue(label, issue)}`)
    .join(',');

/**
 * Every rule of every policy that hears of this Issue. Resolutions and acknowledgements are routed to every rule
 * the Issue matches, asked for or not: a group that announced the Issue owes its channels the end of it.
 */
export function routesFor(
  policies: readonly RoutingPolicy[],
  issue: NotifiedIssue,
  labels: Readonly<Record<string, string>>,
  transition: NotificationTransition,
): Route[] {
  const routes: Route[] = [];
  for (const policy of policies) {
    if (!policy.clusterWide && issue.workload.namespace !== policy.namespace) continue;
    for (const rule of policy.rules) {
      if (rule.severities && !rule.severities.includes(issue.severity)) continue;
      if (rule.signals && !rule.signals.includes(issue.signal)) continue;
      if (rule.namespaces && !rule.namespaces.includes(issue.workload.namespace)) continue;
      if (rule.resourceKinds && !rule.resourceKinds.includes(issue.workload.kind)) continue;
      if (rule.labelSelector && !selectorMatches(rule.labelSelector, labels)) continue;
      const subscribed = rule.transitions === undefined || rule.transitions.includes(transition);
      const followUp = transition === 'resolved' || transition === 'acknowledged';
      if (!subscribed && !followUp) continue;
      routes.push({ policy, rule, groupKey: groupKeyOf(policy.groupBy, issue), subscribed });
    }
  }
  return routes;
}
