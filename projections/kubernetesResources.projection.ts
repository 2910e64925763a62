import type { ChangeEvidence } from '../domain/events/analysis.events.ts';
import type { AnomalyDetectedData } from '../domain/events/anomaly.events.ts';
import type { ResourceRef } from '../domain/events/common.schema.ts';
import { IssueStatus, type ProposalRefusedData } from '../domain/events/issue.events.ts';
import type { ActionBlastRadius, PlanBlastRadius } from '../domain/events/remediation.events.ts';
import type { IssueState } from '../domain/issue/issue.decider.ts';
import { boundedAction, RefusalCode, refusalStage } from '../domain/issue/refusal.stage.ts';
import { redactedSnapshotView } from '../src/actions/snapshotSecrets.ts';
import { blastRadiusStatus, blastRadiusSummary, blastRadiusTotals } from './blastRadius.view.ts';

/**
 * How the event log appears as Cairn's custom resources. Pure: the reactor that writes them to the API server
 * renders with these, so `kubectl get anomalies,issues` shows exactly what the events say, and writing the same
 * document twice changes nothing.
 */
export const ApiVersion = 'aiops.cairn.dev/v1alpha1';
export const Labels = {
  issueId: 'aiops.cairn.dev/issue-id',
  anomalyId: 'aiops.cairn.dev/anomaly-id',
  signal: 'aiops.cairn.dev/signal',
  outcome: 'aiops.cairn.dev/outcome',
  managedBy: 'app.kubernetes.io/managed-by',
} as const;

/** A DNS-1123 label built from readable parts, cut to fit and kept unique by the id at its end. */
export const objectName = (parts: readonly string[], id: string): string => {
  const clean = (s: string) =>
    s
      .toLowerCase()
      .replace(/[^a-z0-9-]+/g, '-')
      .replace(/^-+|-+$/g, '');
  const suffix = clean(id).slice(0, 10);
  const stem = clean(parts.map(clean).filter(Boolean).join('-'))
    .slice(0, 62 - suffix.length)
    .replace(/-+$/, '');
  return stem ? `${stem}-${suffix}` : suffix;
};

/** Cluster-scoped workloads (Nodes) have no namespace of their own; their resources go to Cairn's. */
export const namespaceFor = (workload: ResourceRef, fallback: string): string => workload.namespace || fallback;

export const anomalyName = (d: Pick<AnomalyDetectedData, 'workload' | 'signal' | 'anomalyId'>) =>
  objectName([d.workload.name, d.signal.replaceAll('_', '-')], d.anomalyId);

export const issueName = (issueId: string, workload: ResourceRef) => objectName([workload.name], issueId);

/** A domain ResourceRef as the CRDs' ResourceRef: no cluster field, and no empty namespace for Nodes. */
export const resourceRef = (r: ResourceRef) => ({
  kind: r.kind,
  name: r.name,
  ...(r.namespace ? { namespace: r.namespace } : {}),
});

export function anomalyResource(d: AnomalyDetectedData, fallbackNamespace: string) {
  return {
    apiVersion: ApiVersion,
    kind: 'Anomaly',
    metadata: {
      name: anomalyName(d),
      namespace: namespaceFor(d.workload, fallbackNamespace),
      labels: { [Labels.anomalyId]: d.anomalyId, [Labels.signal]: d.signal, [Labels.managedBy]: 'cairn' },
    },
    spec: {
      signal: d.signal,
      source: d.source,
      resource: resourceRef(d.resource),
      message: d.message,
      observedAt: d.observedAt,
      // A `custom` signal is an alert Cairn has no name for; its own name must travel with it.
      ...(d.signal === 'custom' ? { alertName: d.labels?.alertname ?? 'unnamed alert' } : {}),
      ...(d.labels && Object.keys(d.labels).length > 0 ? { labels: d.labels } : {}),
    },
  };
}

export function anomalyStatus(d: AnomalyDetectedData, correlatedAt: string, issue?: { issueId: string }) {
  return {
    correlated: issue !== undefined,
    ...(issue ? { issueRef: { name: issueName(issue.issueId, d.workload) } } : {}),
    dedupKey: d.dedupKey,
    firstSeenAt: d.observedAt,
    ...(d.cause
      ? {
          cause: {
            code: d.cause.code,
            message: d.cause.message,
            ...(d.cause.object ? { object: resourceRef(d.cause.object) } : {}),
          },
        }
      : {}),
    conditions: [
      {
        type: 'Correlated',
        status: issue ? 'True' : 'False',
        reason: issue ? 'JoinedIssue' : 'Pending',
        message: issue ? `correlated into Issue ${issueName(issue.issueId, d.workload)}` : 'waiting for correlation',
        lastTransitionTime: correlatedAt,
      },
    ],
  };
}

const STATE_REASON: Record<string, string> = {
  [IssueStatus.Detected]: 'Detected',
  [IssueStatus.Analyzing]: 'Analyzing',
  [IssueStatus.Remediating]: 'Remediating',
  [IssueStatus.Resolved]: 'Resolved',
  [IssueStatus.Escalated]: 'Escalated',
};

/** The AIInsight CRD's bound on its recommendations and suggested actions. */
export const AI_INSIGHT_LIST_LIMIT = 32;

/** The Issue CRD's bound on spec.anomalies: the first ones are kept, the event log has them all. */
export const MAX_ISSUE_ANOMALIES = 256;

export function issueResource(state: IssueState, anomalyNames: readonly string[], fallbackNamespace: string) {
  const workload = state.workload!;
  return {
    apiVersion: ApiVersion,
    kind: 'Issue',
    metadata: {
      name: issueName(state.issueId, workload),
      namespace: namespaceFor(workload, fallbackNamespace),
      labels: { [Labels.issueId]: state.issueId, [Labels.signal]: state.signal, [Labels.managedBy]: 'cairn' },
    },
    spec: {
      resource: resourceRef(workload),
      signal: state.signal,
      signals: [...new Set(state.signals)],
      source: state.source ?? 'watcher',
      severity: state.severity,
      riskScore: state.riskScore,
      // A set to the API server: a name twice (one alert recorded twice by an older Cairn) fails the whole apply.
      anomalies: [...new Set(anomalyNames)].slice(0, MAX_ISSUE_ANOMALIES),
      ...(cascadeRootOf(state) ? { cascadeRootRef: { name: cascadeRootOf(state)! } } : {}),
    },
  };
}

/** The root Issue's name, for an Issue that is a dependant in a cascade. */
const cascadeRootOf = (state: IssueState): string | undefined => {
  // A state folded by an older Cairn (a read-model document) has no cascade members.
  const root = state.cascadeMembers?.[0];
  return root === undefined || root.issueId === state.issueId ? undefined : issueName(root.issueId, root.workload);
};

/** The Issue's cascade (root first) and, while its plan waits for the root, the deferral: status fields. */
export function issueCascadeStatus(state: IssueState) {
  const members = state.cascadeMembers ?? [];
  const root = members[0];
  const deferral = state.remediationDeferral ?? null;
  const rootRef = (issueId: string) => {
    const member = members.find((m) => m.issueId === issueId);
    return { name: member ? issueName(member.issueId, member.workload) : issueId };
  };
  return {
    ...(root
      ? {
          cascade: {
            role: root.issueId === state.issueId ? ('root' as const) : ('dependant' as const),
            root: rootRef(root.issueId),
            chain: members.slice(0, 100).map((m) => ({
              name: issueName(m.issueId, m.workload),
              resource: resourceRef(m.workload),
              detectedAt: m.detectedAt,
            })),
          },
        }
      : {}),
    ...(deferral
      ? { remediationDeferred: { root: rootRef(deferral.rootIssueId), since: deferral.since, reason: deferral.reason } }
      : {}),
    ...(state.recoveredWithRoot
      ? {
          recoveredWithRoot: {
            root: rootRef(state.recoveredWithRoot.rootIssueId),
            detail: state.recoveredWithRoot.detail.slice(0, 2_048),
          },
        }
      : {}),
  };
}

/** Present while the Issue's plan waits for the root of its cascade. */
function remediationDeferredCondition(state: IssueState) {
  const deferral = state.remediationDeferral ?? null;
  if (deferral !== null) {
    return [
      {
        type: 'RemediationDeferred',
        status: 'True',
        reason: 'WaitingForCascadeRoot',
        message:
          `no plan starts until Issue ${issueCascadeStatus(state).remediationDeferred?.root.name} (the root of its cascade) ends: ${deferral.reason}`.slice(
            0,
            32_768,
          ),
        lastTransitionTime: deferral.since,
      },
    ];
  }
  return [];
}

/** `changedAt` is when the Issue last changed state: the time of the event that moved it. */
/** An Issue's escalation as its status shows it (see EscalationPolicy). */
export interface IssueEscalationStatus {
  readonly policy: string;
  readonly level: number;
  readonly levelName: string;
  readonly state: 'active' | 'snoozed' | 'exhausted' | 'acknowledged' | 'resolved';
  readonly nextDeadline?: string;
}

export function issueStatus(state: IssueState, changedAt: string, escalation?: IssueEscalationStatus) {
  const open = state.status !== IssueStatus.Resolved && state.status !== IssueStatus.Escalated;
  return {
    ...(escalation ? { escalation } : {}),
    // An ended Issue always has a PostMortem: the resource writer renders it from the same event.
    ...(!open && state.workload ? { postMortemRef: { name: postMortemName(state.issueId, state.workload) } } : {}),
    state: state.status,
    acknowledged: state.acknowledgedBy !== null,
    ...(state.acknowledgedBy ? { acknowledgedBy: state.acknowledgedBy } : {}),
    snoozedUntil: state.snoozedUntil,
    attempts: state.attempts,
    maxAttempts: state.maxAttempts,
    ...(state.detectedAt ? { detectedAt: state.detectedAt } : {}),
    ...(state.status === IssueStatus.Resolved && state.endedAt ? { resolvedAt: state.endedAt } : {}),
    ...(state.status === IssueStatus.Escalated && state.endedAt ? { escalatedAt: state.endedAt } : {}),
    conditions: [
      {
        type: 'Open',
        status: open ? 'True' : 'False',
        reason: STATE_REASON[state.status] ?? 'Unknown',
        message: open
          ? `${state.severity} incident on ${state.workload?.kind}/${state.workload?.name} (risk ${state.riskScore})`
          : `ended ${state.status.toLowerCase()}`,
        lastTransitionTime: changedAt,
      },
      ...analysisWaitingCondition(state),
      ...remediationDeferredCondition(state),
    ],
    ...issueCascadeStatus(state),
  };
}

const WAIT_REASON: Record<string, string> = {
  unreachable: 'ServerUnreachable',
  unauthenticated: 'ServerRefusedToken',
  timeout: 'ServerTimedOut',
  not_serving: 'ServerNotServing',
};

/** Present once an Issue has had to wait for its analysis server: True while it waits, and why. */
export function analysisWaitingCondition(state: IssueState) {
  const wait = state.analysisWait;
  if (wait === null) return [];
  const waiting = wait.until === null && state.status === IssueStatus.Analyzing;
  return [
    {
      type: 'AnalysisWaiting',
      status: waiting ? 'True' : 'False',
      reason: waiting ? (WAIT_REASON[wait.cause] ?? 'ServerUnavailable') : 'WaitEnded',
      message: waiting
        ? `waiting for the AI server at ${wait.server} since ${wait.since}: ${wait.reason}`
        : `waited for the AI server at ${wait.server} from ${wait.since}`,
      lastTransitionTime: waiting ? wait.since : (wait.until ?? wait.since),
    },
  ];
}

export interface Owner {
  readonly name: string;
  readonly uid: string;
}

/** Children of an Issue are garbage-collected with it. */
export const ownedBy = (owner: Owner) => [
  {
    apiVersion: ApiVersion,
    kind: 'Issue',
    name: owner.name,
    uid: owner.uid,
    controller: true,
    blockOwnerDeletion: true,
  },
];

export const insightName = (issueId: string, workload: ResourceRef, attempt: number) =>
  objectName([workload.name, 'analysis', String(attempt)], issueId);

export const planName = (issueId: string, workload: ResourceRef, attempt: number) =>
  objectName([workload.name, 'plan', String(attempt)], issueId);

export const postMortemName = (issueId: string, workload: ResourceRef) =>
  objectName([workload.name, 'postmortem'], issueId);

interface AnalysisRound {
  readonly insightId: string;
  readonly attempt: number;
  readonly requestedAt: string;
  readonly previousFailures: readonly {
    attempt: number;
    outcome: string;
    reason: string;
    attemptedActions: readonly { type: string }[];
    observations: readonly string[];
  }[];
  readonly outcome?:
    | {
        kind: 'completed';
        at: string;
        analysis: string;
        confidence: number;
        recommendations: readonly string[];
        suggestedActions: readonly {
          name: string;
          type: string;
          description: string;
          params: Record<string, string>;
        }[];
        provider: string;
        model: string;
        change?: ChangeEvidence;
      }
    | { kind: 'failed'; at: string; reason: string; provider?: string };
  /** Proposals of this round turned down before they ran, oldest first. */
  readonly refusals?: readonly RefusalView[];
}

/** A refused proposal as the AIInsight and RemediationPlan statuses show it. */
export interface RefusalView {
  readonly stage: string;
  readonly action?: string;
  readonly params?: Record<string, string>;
  readonly code: string;
  readonly reason: string;
  readonly remediation?: string;
  readonly step?: number;
  readonly at: string;
}

/** The statuses keep the latest refusals; the Issue's event stream keeps them all. */
export const MAX_REFUSALS_SHOWN = 32;

const refusalView = (d: ProposalRefusedData, at: string): RefusalView => ({
  stage: d.stage,
  ...(d.action ? { action: d.action.type } : {}),
  ...(d.action && Object.keys(d.action.params).length > 0 ? { params: { ...d.action.params } } : {}),
  code: d.code,
  reason: d.reason,
  ...(d.remediationId ? { remediation: d.remediationId } : {}),
  ...(d.step === undefined ? {} : { step: d.step }),
  at,
});

/** The analysis rounds of an Issue, from its stream: one AIInsight each. */
export function analysisRounds(
  history: readonly { type: string; data: unknown; metadata: { occurredAt: string } }[],
): AnalysisRound[] {
  const rounds: AnalysisRound[] = [];
  for (const event of history) {
    const d = event.data as {
      insightId: string;
      attempt: number;
      previousFailures?: AnalysisRound['previousFailures'];
      reason?: string;
      provider?: string;
    };
    if (event.type === 'AnalysisRequested' || event.type === 'ReanalysisRequested') {
      rounds.push({
        insightId: d.insightId,
        attempt: d.attempt,
        requestedAt: event.metadata.occurredAt,
        previousFailures: d.previousFailures ?? [],
      });
    } else if (event.type === 'AnalysisCompleted' || event.type === 'AnalysisFailed') {
      const index = rounds.findIndex((r) => r.insightId === d.insightId);
      if (index < 0) continue;
      const at = event.metadata.occurredAt;
      rounds[index] = {
        ...rounds[index]!,
        outcome:
          event.type === 'AnalysisCompleted'
            ? ({ kind: 'completed', at, ...(event.data as object) } as AnalysisRound['outcome'])
            : { kind: 'failed', at, reason: d.reason ?? '', ...(d.provider ? { provider: d.provider } : {}) },
      };
    } else if (event.type === 'ProposalRefused') {
      const index = rounds.findIndex((r) => r.insightId === d.insightId);
      if (index < 0) continue;
      const round = rounds[index]!;
      const view = refusalView(event.data as ProposalRefusedData, event.metadata.occurredAt);
      rounds[index] = { ...round, refusals: [...(round.refusals ?? []), view].slice(-MAX_REFUSALS_SHOWN) };
    }
  }
  return rounds;
}

const PROVIDERS = new Set(['rules', 'openai', 'anthropic']);

/** The plan made from an analysis round, as its AIInsight names it: its attempt and the blast radius it recorded. */
export interface InsightPlan {
  readonly attempt: number;
  readonly blastRadius?: PlanBlastRadius;
}

export function insightResource(
  state: IssueState,
  round: AnalysisRound,
  owner: Owner,
  fallbackNamespace: string,
  plan?: InsightPlan,
) {
  const workload = state.workload!;
  const outcome = round.outcome;
  const provider = outcome?.kind === 'completed' ? outcome.provider : 'rules';
  const refused = round.refusals?.length ? { refusedProposals: round.refusals.map((r) => ({ ...r })) } : {};
  const radius = plan?.blastRadius
    ? {
        blastRadius: {
          planRef: { name: planName(state.issueId, workload, plan.attempt) },
          summary: blastRadiusSummary(plan.blastRadius),
          ...blastRadiusTotals(plan.blastRadius),
        },
      }
    : {};
  return {
    doc: {
      apiVersion: ApiVersion,
      kind: 'AIInsight',
      metadata: {
        name: insightName(state.issueId, workload, round.attempt),
        namespace: namespaceFor(workload, fallbackNamespace),
        labels: { [Labels.issueId]: state.issueId, [Labels.managedBy]: 'cairn' },
        ownerReferences: ownedBy(owner),
      },
      spec: {
        issueRef: { name: owner.name },
        attempt: round.attempt,
        provider: PROVIDERS.has(provider) ? provider : 'rules',
        previousFailures: round.previousFailures.map((f) => ({
          attempt: f.attempt,
          actions: f.attemptedActions.map((a) => a.type),
          evidence: [`${f.outcome}: ${f.reason}`, ...f.observations].join('\n').slice(0, 8000),
        })),
      },
    },
    status:
      outcome === undefined
        ? { phase: 'Analyzing', ...refused }
        : outcome.kind === 'failed'
          ? { phase: 'Failed', analysis: outcome.reason, generatedAt: outcome.at, ...refused }
          : {
              phase: 'Completed',
              provider: PROVIDERS.has(outcome.provider) ? outcome.provider : 'rules',
              model: outcome.model,
              analysis: outcome.analysis,
              confidence: outcome.confidence,
              // The AIInsight CRD holds 32 of each; the AnalysisCompleted event keeps all of them (up to 50).
              recommendations: outcome.recommendations.slice(0, AI_INSIGHT_LIST_LIMIT),
              suggestedActions: outcome.suggestedActions.slice(0, AI_INSIGHT_LIST_LIMIT).map((a, i) => ({
                name: `${i + 1}-${a.type.toLowerCase()}`,
                action: a.type,
                description: a.description,
                params: a.params,
              })),
              generatedAt: outcome.at,
              ...(outcome.change?.gitOps ? { gitOps: outcome.change.gitOps } : {}),
              ...(outcome.change?.suspectedCommits?.length
                ? { suspectedCommits: outcome.change.suspectedCommits.map((c) => ({ ...c })) }
                : {}),
              ...radius,
              ...refused,
            },
  };
}

/** What the executor's policy and the approvers refused inside a plan, from the remediation's stream. */
export function planRefusals(
  history: readonly { type: string; data: unknown; metadata: { occurredAt: string } }[],
): RefusalView[] {
  const stepOf = new Map<string, number>();
  const views: RefusalView[] = [];
  for (const event of history) {
    const at = event.metadata.occurredAt;
    if (event.type === 'AgenticStepDecided') {
      const d = event.data as { step: number; action?: { actionId: string } };
      if (d.action) stepOf.set(d.action.actionId, d.step);
    } else if (event.type === 'ActionRefusedByPolicy') {
      const d = event.data as {
        actionId: string;
        type: string;
        params: Record<string, string>;
        policy: string;
        reason: string;
      };
      const step = stepOf.get(d.actionId);
      views.push({
        stage: refusalStage(d.policy),
        action: d.type,
        ...(Object.keys(d.params).length > 0 ? { params: boundedAction(d).params } : {}),
        code: d.policy.slice(0, 128),
        reason: d.reason.slice(0, 2048),
        ...(step === undefined ? {} : { step }),
        at,
      });
    } else if (event.type === 'ApprovalRefused' || event.type === 'ApprovalExpired') {
      const d = event.data as { approver?: string; reason?: string; approvals?: number; expiresAt?: string };
      views.push(
        event.type === 'ApprovalRefused'
          ? {
              stage: refusalStage(RefusalCode.ApprovalRefused),
              code: RefusalCode.ApprovalRefused,
              reason: `refused by ${d.approver}${d.reason ? `: ${d.reason}` : ''}`.slice(0, 2048),
              at,
            }
          : {
              stage: refusalStage(RefusalCode.ApprovalExpired),
              code: RefusalCode.ApprovalExpired,
              reason: `no quorum before ${d.expiresAt} (${d.approvals} approval(s))`,
              at,
            },
      );
    }
  }
  return views.slice(-MAX_REFUSALS_SHOWN);
}

const PLAN_STATE: Record<string, string> = {
  Pending: 'Pending',
  WaitingApproval: 'AwaitingApproval',
  Snapshotting: 'Snapshotting',
  Executing: 'Executing',
  Verifying: 'Verifying',
  RollingBack: 'RollingBack',
  Completed: 'Completed',
  RolledBack: 'RolledBack',
  Failed: 'Failed',
};

/** Where a plan's actions come from: `manual-runbook`, `ai-runbook` or `agentic`. */
export const PlanSourceLabel = 'aiops.cairn.dev/source';

/** The `Approved` condition: Unknown while people decide, True once the quorum is reached, False if refused or expired. */
function approvalCondition(
  history: readonly { type: string; data: unknown; metadata: { occurredAt: string } }[],
  requested: { data: unknown; metadata: { occurredAt: string } },
) {
  const r = requested.data as { requestId: string; requiredApprovals: number; expiresAt: string };
  const grants = history.filter((e) => e.type === 'ApprovalGranted');
  const approvers = grants.map((e) => (e.data as { approver: string }).approver);
  const quorum = grants.find((e) => (e.data as { quorumReached: boolean }).quorumReached);
  const refused = history.find((e) => e.type === 'ApprovalRefused');
  const expired = history.find((e) => e.type === 'ApprovalExpired');
  if (quorum) {
    return {
      type: 'Approved',
      status: 'True',
      reason: 'QuorumReached',
      message: `approved by ${approvers.join(', ')}`,
      lastTransitionTime: quorum.metadata.occurredAt,
    };
  }
  if (refused) {
    const d = refused.data as { approver: string; reason?: string };
    return {
      type: 'Approved',
      status: 'False',
      reason: 'Refused',
      message: `refused by ${d.approver}${d.reason ? `: ${d.reason}` : ''}`,
      lastTransitionTime: refused.metadata.occurredAt,
    };
  }
  if (expired) {
    return {
      type: 'Approved',
      status: 'False',
      reason: 'Expired',
      message: `no quorum before ${r.expiresAt}`,
      lastTransitionTime: expired.metadata.occurredAt,
    };
  }
  return {
    type: 'Approved',
    status: 'Unknown',
    reason: 'WaitingForApproval',
    message: `request ${r.requestId}: ${approvers.length} of ${r.requiredApprovals} approval(s), expires at ${r.expiresAt}${approvers.length > 0 ? `; approved by ${approvers.join(', ')}` : ''}`,
    lastTransitionTime: requested.metadata.occurredAt,
  };
}

/** A RemediationPlan from its stream: the plan, a checkpoint per action, the snapshot, the rollback, the result. */
export function planResource(
  history: readonly { type: string; data: unknown; metadata: { occurredAt: string } }[],
  status: string,
  owner: Owner,
  fallbackNamespace: string,
) {
  const created = history.find((e) => e.type === 'RemediationPlanCreated')?.data as
    | {
        issueId: string;
        attempt: number;
        source: string;
        target: ResourceRef;
        actions: { actionId: string; type: string; params: Record<string, string> }[];
        verificationTimeoutSeconds?: number;
        runbook?: string;
        agentic?: { maxSteps: number; timeLimitSeconds: number };
        blastRadius?: PlanBlastRadius;
      }
    | undefined;
  if (!created) return undefined;
  const at = (type: string) => history.find((e) => e.type === type)?.metadata.occurredAt;
  const decided = history.filter((e) => e.type === 'AgenticStepDecided');
  const observed = history.filter((e) => e.type === 'AgenticStepObserved');
  // An agentic plan's actions are the ones its steps decided, in order.
  const actions =
    created.source === 'agentic'
      ? decided.flatMap((e) => {
          const action = (e.data as { action?: { actionId: string; type: string; params: Record<string, string> } })
            .action;
          return action ? [action] : [];
        })
      : created.actions;
  const agenticSteps = decided.slice(0, 50).map((e) => {
    const d = e.data as {
      step: number;
      reasoning: string;
      resolved: boolean;
      action?: { type: string; params: Record<string, string> };
    };
    const observation = observed.find((o) => (o.data as { step: number }).step === d.step)?.data as
      | { observation: string }
      | undefined;
    return {
      step: d.step,
      reasoning: `${d.resolved ? '[resolved] ' : ''}${d.reasoning}`.slice(0, 8192),
      ...(d.action ? { action: { type: d.action.type, params: d.action.params } } : {}),
      ...(observation ? { observation: observation.observation.slice(0, 8192) } : {}),
      at: e.metadata.occurredAt,
    };
  });
  const approvalRequested = history.find((e) => e.type === 'ApprovalRequested');
  const approvalConditions = approvalRequested ? [approvalCondition(history, approvalRequested)] : [];
  const checkpoints = actions.slice(0, 64).map((a, index) => {
    const started = history.find(
      (e) => e.type === 'ActionStarted' && (e.data as { actionId: string }).actionId === a.actionId,
    );
    const ended = history.find(
      (e) =>
        (e.type === 'ActionSucceeded' || e.type === 'ActionFailed' || e.type === 'ActionRefusedByPolicy') &&
        (e.data as { actionId: string }).actionId === a.actionId,
    );
    const endData = ended?.data as { result?: string; error?: string; reason?: string } | undefined;
    return {
      index,
      type: a.type,
      state:
        ended?.type === 'ActionSucceeded'
          ? 'Succeeded'
          : ended
            ? ended.type === 'ActionRefusedByPolicy'
              ? 'Skipped'
              : 'Failed'
            : started
              ? 'Started'
              : 'Pending',
      ...(started ? { startedAt: started.metadata.occurredAt } : {}),
      ...(ended
        ? { finishedAt: ended.metadata.occurredAt, message: endData?.result ?? endData?.error ?? endData?.reason ?? '' }
        : {}),
    };
  });
  const refusals = planRefusals(history);
  const snapshot = history.find((e) => e.type === 'SnapshotTaken');
  const rollbackStarted = history.find((e) => e.type === 'RollbackStarted');
  const rollbackEnded = history.find((e) => e.type === 'RollbackCompleted' || e.type === 'RollbackFailed');
  const end = history.find(
    (e) => e.type === 'RemediationCompleted' || e.type === 'RemediationRolledBack' || e.type === 'RemediationFailed',
  );
  const workload = created.target;
  return {
    doc: {
      apiVersion: ApiVersion,
      kind: 'RemediationPlan',
      metadata: {
        name: planName(created.issueId, workload, created.attempt),
        namespace: namespaceFor(workload, fallbackNamespace),
        labels: { [Labels.issueId]: created.issueId, [Labels.managedBy]: 'cairn', [PlanSourceLabel]: created.source },
        ownerReferences: ownedBy(owner),
      },
      spec: {
        issueRef: { name: owner.name },
        attempt: created.attempt,
        mode: created.source === 'agentic' ? 'agentic' : 'runbook',
        ...(created.agentic
          ? { agentic: { maxSteps: created.agentic.maxSteps, timeout: `${created.agentic.timeLimitSeconds}s` } }
          : {}),
        ...(created.runbook ? { runbookRef: { name: created.runbook } } : {}),
        strategy: `${created.source}: ${created.actions.map((a) => a.type).join(', ') || 'agentic steps'}`,
        actions: actions.slice(0, 32).map((a) => ({ type: a.type, params: a.params })),
        ...(created.verificationTimeoutSeconds
          ? { verificationTimeout: `${created.verificationTimeoutSeconds}s` }
          : {}),
      },
    },
    status: {
      state: PLAN_STATE[status] ?? 'Pending',
      actions: checkpoints,
      ...(agenticSteps.length > 0 ? { agenticSteps } : {}),
      ...(created.blastRadius
        ? {
            // An agentic plan's actions are assessed one by one, as its steps decide them.
            blastRadius: blastRadiusStatus({
              ...created.blastRadius,
              actions: [
                ...created.blastRadius.actions,
                ...decided.flatMap((e) => (e.data as { blastRadius?: ActionBlastRadius }).blastRadius ?? []),
              ],
            }),
          }
        : {}),
      ...(refusals.length > 0 ? { refusals } : {}),
      ...(approvalRequested
        ? { approvalRequestRef: { name: (approvalRequested.data as { requestId: string }).requestId } }
        : {}),
      ...(approvalConditions.length > 0 ? { conditions: approvalConditions } : {}),
      ...(snapshot
        ? {
            snapshot: {
              takenAt: snapshot.metadata.occurredAt,
              resource: resourceRef(workload),
              // Sealed values as a marker and their keyed hash, never ciphertext; old plain secrets as [REDACTED].
              object: redactedSnapshotView((snapshot.data as { captured: Record<string, unknown> }).captured),
            },
          }
        : {}),
      ...(rollbackStarted
        ? {
            rollback: {
              state:
                rollbackEnded === undefined
                  ? 'InProgress'
                  : rollbackEnded.type === 'RollbackCompleted'
                    ? 'Succeeded'
                    : 'Failed',
              reason: (rollbackStarted.data as { reason: string }).reason,
              at: (rollbackEnded ?? rollbackStarted).metadata.occurredAt,
            },
          }
        : {}),
      ...(at('SnapshotStarted') ? { startedAt: at('SnapshotStarted') } : {}),
      ...(end
        ? { completedAt: end.metadata.occurredAt, result: `${end.type}: ${JSON.stringify(end.data)}`.slice(0, 4000) }
        : {}),
    },
  };
}
