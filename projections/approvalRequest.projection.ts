import type { ResourceRef } from '../domain/events/common.schema.ts';
import type { PlanBlastRadius } from '../domain/events/remediation.events.ts';
import type {
  ApprovalRequestSpec,
  ApprovalRequestStatus,
} from '../src/adapters/kubernetes/api/approvalRequest.kind.ts';
import { blastRadiusDescription } from './blastRadius.view.ts';
import {
  ApiVersion,
  namespaceFor,
  type Owner,
  objectName,
  ownedBy,
  planName,
  resourceRef,
} from './kubernetesResources.projection.ts';

interface HistoryEvent {
  readonly type: string;
  readonly data: unknown;
  readonly metadata: { readonly occurredAt: string; readonly actor?: string };
}

interface PlanCreated {
  issueId: string;
  attempt: number;
  source: 'manual-runbook' | 'ai-runbook' | 'agentic';
  target: ResourceRef;
  runbook?: string;
  actions: { type: string; params: Record<string, string> }[];
  approval: { requiredApprovals: number; groups?: string[]; policy?: string; rule?: string };
  changeWindow?: { opensAt: string };
  blastRadius?: PlanBlastRadius;
}

export const approvalRequestName = (issueId: string, workload: ResourceRef, attempt: number) =>
  objectName([workload.name, 'approval', String(attempt)], issueId);

/**
 * The ApprovalRequest object of a remediation stream, or undefined while no approval was requested. Pure: the same
 * history always gives the same object, so writing it again after a restart changes nothing.
 */
export function approvalRequestResource(
  history: readonly HistoryEvent[],
  owner: Owner,
  fallbackNamespace: string,
  isDestructive: (actionType: string) => boolean,
) {
  const created = history.find((e) => e.type === 'RemediationPlanCreated');
  const requested = history.find((e) => e.type === 'ApprovalRequested');
  if (!created || !requested) return undefined;
  const plan = created.data as PlanCreated;
  const request = requested.data as { requestId: string; requiredApprovals: number; expiresAt: string };
  const namespace = namespaceFor(plan.target, fallbackNamespace);
  const decisions: ApprovalRequestStatus['decisions'] = [];
  let state: ApprovalRequestStatus['state'] = 'Pending';
  let decidedAt: string | undefined;
  for (const e of history) {
    const d = e.data as { requestId?: string; approver?: string; reason?: string; quorumReached?: boolean };
    if (d.requestId !== undefined && d.requestId !== request.requestId) continue;
    if (e.type === 'ApprovalGranted') {
      decisions.push({ approver: d.approver ?? '', decision: 'approve', at: e.metadata.occurredAt });
      if (d.quorumReached) {
        state = 'Approved';
        decidedAt = e.metadata.occurredAt;
      }
    } else if (e.type === 'ApprovalRefused') {
      decisions.push({
        approver: d.approver ?? '',
        decision: 'reject',
        ...(d.reason ? { reason: d.reason.slice(0, 2048) } : {}),
        at: e.metadata.occurredAt,
      });
      state = 'Rejected';
      decidedAt = e.metadata.occurredAt;
    } else if (e.type === 'ApprovalExpired') {
      state = 'Expired';
      decidedAt = e.metadata.occurredAt;
    } else if (e.type === 'RemediationFailed' && state === 'Pending') {
      state = 'Cancelled';
      decidedAt = e.metadata.occurredAt;
    }
  }
  const actions = plan.actions.map((a) => ({
    type: a.type as ApprovalRequestSpec['actions'][number]['type'],
    ...(Object.keys(a.params).length > 0 ? { params: a.params } : {}),
  }));
  const destructive = plan.actions.map((a) => a.type).filter(isDestructive);
  const target = `${plan.target.kind} ${plan.target.namespace ? `${plan.target.namespace}/` : ''}${plan.target.name}`;
  const description =
    plan.source === 'agentic'
      ? `agentic steps on ${target}, each within the operator policy`
      : `${actions.length} action(s) on ${target}${destructive.length > 0 ? `, destructive: ${destructive.join(', ')}` : ''}`;
  // The numbers the plan recorded when it was made: pods, budgets, Services, quotas, dependants.
  const assessed = plan.blastRadius ? `; ${blastRadiusDescription(plan.blastRadius)}` : '';
  const [policyNamespace, policyName] = plan.approval.policy?.split('/') ?? [];
  const spec: ApprovalRequestSpec = {
    requestId: request.requestId,
    issueRef: { name: owner.name },
    remediationPlanRef: { name: planName(plan.issueId, plan.target, plan.attempt) },
    ...(policyNamespace && policyName ? { policyRef: { namespace: policyNamespace, name: policyName } } : {}),
    ...(plan.approval.rule ? { reason: plan.approval.rule.slice(0, 2048) } : {}),
    mode: request.requiredApprovals > 1 ? 'quorum' : 'single',
    requiredApprovers: request.requiredApprovals,
    ...(plan.approval.groups && plan.approval.groups.length > 0 ? { groups: plan.approval.groups } : {}),
    requestedBy: {
      source: plan.source,
      ...(plan.runbook ? { runbook: plan.runbook } : {}),
      actor: created.metadata.actor ?? 'system:pipeline',
    },
    actions,
    blastRadius: {
      target: resourceRef(plan.target) as ApprovalRequestSpec['blastRadius']['target'],
      destructiveActions: destructive as ApprovalRequestSpec['blastRadius']['destructiveActions'],
      description: `${description}${assessed}`.slice(0, 4096),
    },
    requestedAt: requested.metadata.occurredAt,
    expiresAt: request.expiresAt,
    ...(plan.changeWindow ? { changeWindowOpensAt: plan.changeWindow.opensAt } : {}),
  };
  const approvals = new Set(decisions.filter((d) => d.decision === 'approve').map((d) => d.approver)).size;
  const status: ApprovalRequestStatus = {
    state,
    approvals,
    decisions: decisions.slice(-32),
    ...(decidedAt ? { decidedAt } : {}),
  };
  return {
    doc: {
      apiVersion: ApiVersion,
      kind: 'ApprovalRequest',
      metadata: {
        name: approvalRequestName(plan.issueId, plan.target, plan.attempt),
        namespace,
        labels: { 'app.kubernetes.io/managed-by': 'cairn', 'aiops.cairn.dev/issue': owner.name },
        ownerReferences: ownedBy(owner),
      },
      spec,
    },
    status,
  };
}
