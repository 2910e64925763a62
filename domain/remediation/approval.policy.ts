import type { RemediationSource, Severity } from '../events/common.schema.ts';
import { RemediationDefaults } from './remediation.commands.ts';

/**
 * Which remediation plans need people to approve them before they run. Rules are evaluated in order and the first
 * whose every listed criterion matches decides; no match means no approval is needed.
 */
export interface ApprovalRule {
  readonly name: string;
  readonly match?: {
    readonly severities?: readonly Severity[];
    /** Matches a plan containing any of these; an agentic plan may run any allowed action, so it always matches. */
    readonly actionTypes?: readonly string[];
    readonly namespaces?: readonly string[];
    readonly resourceKinds?: readonly string[];
    readonly minRiskScore?: number;
    readonly sources?: readonly RemediationSource[];
    /** Matches a plan holding at least one destructive action (pods deleted, values overwritten...). */
    readonly destructive?: boolean;
  };
  /** `auto`: approved without people when `autoApprove` holds, otherwise one person decides. */
  readonly mode: 'auto' | 'manual' | 'quorum';
  readonly requiredApprovers?: number;
  readonly timeoutSeconds?: number;
  readonly autoApprove?: { readonly minConfidence: number; readonly maxSeverity: Severity };
}

export interface ApprovalSubject {
  readonly severity: Severity;
  readonly riskScore: number;
  readonly namespace: string;
  readonly kind: string;
  readonly source: RemediationSource;
  readonly actionTypes: readonly string[];
  readonly destructive: boolean;
  readonly confidence?: number;
}

export interface ApprovalVerdict {
  readonly required: boolean;
  readonly requiredApprovals: number;
  readonly timeoutSeconds: number;
  readonly rule?: string;
}

const SEVERITY_RANK: Readonly<Record<Severity, number>> = { low: 0, medium: 1, high: 2, critical: 3 };

const matches = (rule: ApprovalRule, s: ApprovalSubject): boolean => {
  const m = rule.match ?? {};
  if (m.severities && !m.severities.includes(s.severity)) return false;
  if (m.namespaces && !m.namespaces.includes(s.namespace)) return false;
  if (m.resourceKinds && !m.resourceKinds.includes(s.kind)) return false;
  if (m.sources && !m.sources.includes(s.source)) return false;
  if (m.minRiskScore !== undefined && s.riskScore < m.minRiskScore) return false;
  if (m.destructive !== undefined && m.destructive !== s.destructive && s.source !== 'agentic') return false;
  if (m.actionTypes && s.source !== 'agentic' && !s.actionTypes.some((t) => m.actionTypes?.includes(t))) return false;
  return true;
};

const NOT_REQUIRED: ApprovalVerdict = {
  required: false,
  requiredApprovals: RemediationDefaults.requiredApprovals,
  timeoutSeconds: RemediationDefaults.approvalTimeoutSeconds,
};

export const approvalFor = (rules: readonly ApprovalRule[], subject: ApprovalSubject): ApprovalVerdict => {
  const rule = rules.find((r) => matches(r, subject));
  if (rule === undefined) return NOT_REQUIRED;
  const timeoutSeconds = rule.timeoutSeconds ?? RemediationDefaults.approvalTimeoutSeconds;
  if (rule.mode === 'auto' && rule.autoApprove !== undefined) {
    const { minConfidence, maxSeverity } = rule.autoApprove;
    const confident = subject.confidence !== undefined && subject.confidence >= minConfidence;
    if (confident && SEVERITY_RANK[subject.severity] <= SEVERITY_RANK[maxSeverity]) {
      return { ...NOT_REQUIRED, rule: rule.name };
    }
  }
  const requiredApprovals = rule.mode === 'quorum' ? Math.max(1, rule.requiredApprovers ?? 1) : 1;
  return { required: true, requiredApprovals, timeoutSeconds, rule: rule.name };
};
