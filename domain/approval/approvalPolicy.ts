import type { Severity } from '../events/common.schema.ts';
import { type LabelSelector, selectorMatches } from '../notification/notification.routing.ts';
import { type ChangeWindows, windowAt } from './changeWindow.ts';

/** How a matching plan is let through: by itself, by one person, by N distinct people, or never. */
export const ApprovalMode = { Auto: 'auto', Single: 'single', Quorum: 'quorum', Deny: 'deny' } as const;
export type ApprovalMode = (typeof ApprovalMode)[keyof typeof ApprovalMode];

const RANK: Readonly<Record<ApprovalMode, number>> = { auto: 0, single: 1, quorum: 2, deny: 3 };

export const DEFAULT_EXPIRY_SECONDS = 1_800;

export interface PolicyMatch {
  readonly namespaces?: readonly string[];
  /** Over the labels of the Issue's workload. */
  readonly labelSelector?: LabelSelector;
  readonly severities?: readonly Severity[];
  readonly minRiskScore?: number;
  /** Matches a plan holding any of these; an agentic plan may run any allowed action, so it always matches. */
  readonly actionTypes?: readonly string[];
  /** Matches a plan that holds (true) or does not hold (false) a destructive action; agentic plans always match. */
  readonly destructive?: boolean;
}

export interface PolicyRule {
  readonly name: string;
  readonly match: PolicyMatch;
  readonly mode: ApprovalMode;
  /** 1 for single, N for quorum, 0 for auto and deny. */
  readonly requiredApprovers: number;
  /** When set, only approvers in one of these groups count. */
  readonly groups: readonly string[];
  readonly expirySeconds: number;
}

/** An ApprovalPolicy as Cairn runs it: validated, durations in seconds, clock times in minutes. */
export interface ApprovalPolicyModel {
  readonly namespace: string;
  readonly name: string;
  readonly generation: number;
  /** A policy in Cairn's own namespace covers every namespace; any other only its own. */
  readonly clusterWide: boolean;
  readonly rules: readonly PolicyRule[];
  readonly windows?: ChangeWindows;
}

/** What the policies are asked about: one plan, before it is created. */
export interface PlanSubject {
  readonly namespace: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly severity: Severity;
  readonly riskScore: number;
  readonly actionTypes: readonly string[];
  readonly destructive: boolean;
  readonly agentic: boolean;
}

export interface RuleRef {
  readonly policy: string;
  readonly rule: string;
}

export type ApprovalOutcome =
  | {
      readonly mode: 'auto';
      readonly matched?: RuleRef;
      readonly waitUntil?: { readonly opensAt: string; readonly why: string; readonly policy: string };
    }
  | {
      readonly mode: 'single' | 'quorum';
      readonly matched: RuleRef;
      readonly requiredApprovers: number;
      readonly groups: readonly string[];
      readonly expirySeconds: number;
      readonly waitUntil?: { readonly opensAt: string; readonly why: string; readonly policy: string };
      /** Why approval is asked for when it is a change window, not the rule, that asked. */
      readonly why?: string;
    }
  | { readonly mode: 'deny'; readonly matched: RuleRef; readonly why: string };

export const ruleMatches = (match: PolicyMatch, s: PlanSubject): boolean => {
  if (match.namespaces && !match.namespaces.includes(s.namespace)) return false;
  if (match.labelSelector && !selectorMatches(match.labelSelector, s.labels)) return false;
  if (match.severities && !match.severities.includes(s.severity)) return false;
  if (match.minRiskScore !== undefined && s.riskScore < match.minRiskScore) return false;
  if (match.destructive !== undefined && !s.agentic && match.destructive !== s.destructive) return false;
  if (match.actionTypes && !s.agentic && !s.actionTypes.some((t) => match.actionTypes?.includes(t))) return false;
  return true;
};

const covers = (policy: ApprovalPolicyModel, namespace: string) => policy.clusterWide || policy.namespace === namespace;

const policyName = (p: ApprovalPolicyModel) => `${p.namespace}/${p.name}`;

/** Whether `a` asks more of people than `b`: deny, then quorum, then single; more approvers; a shorter expiry. */
const stricter = (a: PolicyRule, b: PolicyRule): boolean => {
  if (RANK[a.mode] !== RANK[b.mode]) return RANK[a.mode] > RANK[b.mode];
  if (a.requiredApprovers !== b.requiredApprovers) return a.requiredApprovers > b.requiredApprovers;
  return a.expirySeconds < b.expirySeconds;
};

/**
 * What every policy covering the plan's namespace says, combined: within a policy, and across policies, the most
 * restrictive matching rule wins. A policy whose rules match and whose change windows are closed at `at` makes the
 * plan wait for the next opening (the latest of them when several do) or need approval, as it says. Pure.
 */
export function decideApproval(
  policies: readonly ApprovalPolicyModel[],
  subject: PlanSubject,
  at: string,
): ApprovalOutcome {
  let winner: { rule: PolicyRule; policy: ApprovalPolicyModel } | undefined;
  let waitUntil: { opensAt: string; why: string; policy: string } | undefined;
  let windowApproval: { policy: string; why: string } | undefined;
  let closedForGood: { policy: string; why: string } | undefined;
  const ordered = [...policies].sort((a, b) => policyName(a).localeCompare(policyName(b)));
  for (const policy of ordered) {
    if (!covers(policy, subject.namespace)) continue;
    const matching = policy.rules.filter((r) => ruleMatches(r.match, subject));
    if (matching.length === 0) continue;
    for (const rule of matching) {
      if (winner === undefined || stricter(rule, winner.rule)) winner = { rule, policy };
    }
    if (policy.windows === undefined) continue;
    const verdict = windowAt(policy.windows, at);
    if (verdict.open) continue;
    if (policy.windows.outsideWindow === 'requireApproval') {
      windowApproval ??= { policy: policyName(policy), why: verdict.why };
    } else if (verdict.opensAt === undefined) {
      closedForGood ??= { policy: policyName(policy), why: verdict.why };
    } else if (waitUntil === undefined || verdict.opensAt > waitUntil.opensAt) {
      waitUntil = { opensAt: verdict.opensAt, why: verdict.why, policy: policyName(policy) };
    }
  }
  if (winner === undefined) return { mode: 'auto' };
  const matched: RuleRef = { policy: policyName(winner.policy), rule: winner.rule.name };
  const { rule } = winner;
  if (rule.mode === 'deny') return { mode: 'deny', matched, why: `denied by rule ${rule.name} of ${matched.policy}` };
  if (closedForGood) {
    return { mode: 'deny', matched, why: `ApprovalPolicy ${closedForGood.policy}: ${closedForGood.why}` };
  }
  const wait = waitUntil ? { waitUntil } : {};
  if (rule.mode === 'auto') {
    if (windowApproval === undefined) return { mode: 'auto', matched, ...wait };
    return {
      mode: 'single',
      matched,
      requiredApprovers: 1,
      groups: [],
      expirySeconds: rule.expirySeconds,
      why: `ApprovalPolicy ${windowApproval.policy}: ${windowApproval.why}`,
      ...wait,
    };
  }
  return {
    mode: rule.mode,
    matched,
    requiredApprovers: Math.max(1, rule.requiredApprovers),
    groups: rule.groups,
    expirySeconds: rule.expirySeconds,
    ...wait,
  };
}
