import type { SuspectedCommit } from '../domain/events/analysis.events.ts';
import type { ResourceRef } from '../domain/events/common.schema.ts';
import type { CascadeMember } from '../domain/events/correlation.events.ts';
import type { IssueDetectedData } from '../domain/events/issue.events.ts';
import type { PlanBlastRadius } from '../domain/events/remediation.events.ts';
import { type IssueEvent, type IssueState, issueDecider, isTerminal } from '../domain/issue/issue.decider.ts';
import { parseStreamName, StreamCategory, streamName } from '../domain/streams.ts';
import { isActionType } from '../src/adapters/kubernetes/api/actionTypes.ts';
import type { PostMortemSpec, PostMortemStatus } from '../src/adapters/kubernetes/api/postMortem.kind.ts';
import { type SignalType, signalTypes } from '../src/adapters/kubernetes/api/signalTypes.ts';
import { pdbViolationText, quotaOverflowText, serviceEmptiedText } from './blastRadius.view.ts';
import {
  ApiVersion,
  issueName,
  Labels,
  namespaceFor,
  type Owner,
  ownedBy,
  postMortemName,
  resourceRef,
} from './kubernetesResources.projection.ts';

/**
 * The PostMortem of an ended Issue, replayed from the incident's events: the Issue stream and its remediation
 * streams, in global order, up to the event that ended the Issue. Pure and deterministic: the same events give the
 * same document, so the resource writer can render it on every replay and server-side apply changes nothing.
 * Lessons and prevention are derived from what the events say happened; nothing is invented beyond them.
 */

/** The part of a recorded event the renderer reads. */
export interface IncidentEvent {
  readonly type: string;
  readonly streamId: string;
  readonly data: unknown;
  readonly metadata: { readonly occurredAt: string };
}

/** What the recurrence count needs of an IssueDetected event. */
export interface Detection {
  readonly data: Pick<IssueDetectedData, 'issueId' | 'workload' | 'signal'>;
  readonly metadata: { readonly occurredAt: string };
}

export const RECURRENCE_WINDOW_DAYS = 30;
const DAY_MS = 24 * 3600 * 1000;

const sameWorkload = (a: ResourceRef, b: ResourceRef) =>
  a.kind === b.kind && a.name === b.name && a.namespace === b.namespace && (a.cluster ?? '') === (b.cluster ?? '');

/**
 * Earlier Issues on the same workload, opened by the same first signal, detected in the 30 days before `current`
 * (oldest first). Pure: the caller passes the IssueDetected events it knows of, `current` among them or not.
 */
export function recurrencesOf(current: Detection, detections: readonly Detection[]): Detection[] {
  const at = Date.parse(current.metadata.occurredAt);
  const from = at - RECURRENCE_WINDOW_DAYS * DAY_MS;
  return detections
    .filter((d) => {
      if (d.data.issueId === current.data.issueId) return false;
      if (d.data.signal !== current.data.signal || !sameWorkload(d.data.workload, current.data.workload)) return false;
      const when = Date.parse(d.metadata.occurredAt);
      return when >= from && when < at;
    })
    .sort((a, b) => Date.parse(a.metadata.occurredAt) - Date.parse(b.metadata.occurredAt));
}

export const recurrenceCount = (current: Detection, detections: readonly Detection[]): number =>
  recurrencesOf(current, detections).length;

export interface Recurrence {
  readonly last30Days: number;
  /** PostMortem names of the earlier occurrences that have one. */
  readonly related?: readonly string[];
}

/** `12m34s`, `1h2m`, `850ms`: what a person reads in `kubectl get pm`. */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds <= 0) return '0s';
  if (seconds < 1) return `${Math.round(seconds * 1000)}ms`;
  const total = Math.round(seconds);
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = total % 60;
  return `${h ? `${h}h` : ''}${m ? `${m}m` : ''}${s || (!h && !m) ? `${s}s` : ''}`;
}

const oneLine = (text: string, max = 400): string => {
  const line = text.replace(/\s+/g, ' ').trim();
  return line.length > max ? `${line.slice(0, max - 1)}…` : line;
};
const display = (r: ResourceRef) => `${r.kind} ${r.namespace ? `${r.namespace}/` : ''}${r.name}`;
const plural = (n: number, word: string, many = `${word}s`) => `${n} ${n === 1 ? word : many}`;
const dedupe = (lines: readonly string[], max: number) => [...new Set(lines.filter(Boolean))].slice(0, max);

const ordinal = (n: number) => {
  const tens = n % 100;
  const suffix = tens >= 11 && tens <= 13 ? 'th' : ({ 1: 'st', 2: 'nd', 3: 'rd' } as Record<number, string>)[n % 10];
  return `${n}${suffix ?? 'th'}`;
};
const shortSha = (sha: string) => sha.slice(0, 7);
const commitLine = (c: SuspectedCommit) =>
  `commit ${shortSha(c.sha)} in ${c.repository}${c.author ? ` by ${c.author}` : ''}` +
  `${c.message ? ` ("${oneLine(c.message, 120)}")` : ''}, confidence ${c.confidence}` +
  `${c.reasons?.length ? `: ${c.reasons.join('; ')}` : ''}`;

/** The top suspected commit of an AnalysisCompleted event, if its change evidence names any. */
const topCommitOf = (d: D): SuspectedCommit | undefined =>
  (d.change as { suspectedCommits?: SuspectedCommit[] } | undefined)?.suspectedCommits?.[0];

/** Where this Issue stands in a cascade chain, in words. */
function cascadeText(chain: readonly CascadeMember[], issueId: string, windowMinutes?: number): string {
  const order = chain.map((m) => display(m.workload)).join(' → ');
  const index = chain.findIndex((m) => m.issueId === issueId);
  const root = chain[0];
  const place =
    index === 0
      ? 'this Issue is the root cause'
      : index > 0 && root
        ? `this Issue is the ${ordinal(index + 1)} of ${chain.length}, downstream of the root cause ${display(root.workload)} (Issue ${root.issueId})`
        : '';
  const within = windowMinutes ? ` detected within ${windowMinutes} minutes` : '';
  return `${plural(chain.length, 'Issue')}${within}, root cause first: ${order}${place ? `; ${place}` : ''}`;
}

/** A plan's blast radius in one sentence: what it was assessed to take before it ran. */
function blastRadiusText(radius: PlanBlastRadius): string {
  const parts: string[] = [];
  const pods = radius.actions.reduce((sum, a) => sum + a.pods, 0);
  parts.push(plural(pods, 'pod'));
  for (const a of radius.actions) {
    if (a.replicas) parts.push(`${a.type} replicas ${a.replicas.before} → ${a.replicas.after}`);
    // Findings read as they do on the RemediationPlan and the dashboard.
    for (const p of a.pdbViolations) parts.push(`${a.type} breaks PodDisruptionBudget ${pdbViolationText(p)}`);
    for (const svc of a.servicesEmptied) parts.push(`${a.type} empties Service ${serviceEmptiedText(svc)}`);
    for (const q of a.quotaOverflows) parts.push(`${a.type} exceeds ResourceQuota ${quotaOverflowText(q)}`);
  }
  if (radius.dependants.length) {
    parts.push(`${plural(radius.dependants.length, 'dependant')} (${radius.dependants.map(display).join(', ')})`);
  }
  return parts.join('; ');
}

const isSignalType = (value: string): value is SignalType => (signalTypes as readonly string[]).includes(value);

/** What keeps each signal from coming back; one line per signal, chosen for the commonest cause. */
const PREVENTION_BY_SIGNAL: Readonly<Record<string, string>> = {
  oom_kill: 'Size the memory limit above the working set with headroom, and alert when usage nears the limit.',
  memory_high: 'Size the memory limit above the working set with headroom, and alert when usage nears the limit.',
  crashloop:
    'Gate releases with a readiness check and a canary, so a crashing version stops before it takes every replica.',
  pod_restart:
    'Gate releases with a readiness check and a canary, so a crashing version stops before it takes every replica.',
  image_pull: 'Check in the delivery pipeline that the image exists and can be pulled before the rollout starts.',
  pod_not_ready: 'Review the readiness probe and the dependencies it checks (databases, downstream services).',
  deploy_failing: 'Set progressDeadlineSeconds on the workload and alert on rollouts that stall.',
  statefulset_unavailable: 'Set a PodDisruptionBudget and alert on StatefulSets short of ready replicas.',
  daemonset_unavailable: 'Alert on DaemonSets short of ready pods, and roll them out with a maxUnavailable that fits.',
  pod_evicted: 'Set requests that match real usage, so the node does not evict the pods under pressure.',
  job_failed: 'Make the Job idempotent, give it a backoffLimit that fits, and alert on its failures.',
  cronjob_failing: 'Make the Job idempotent, give it a backoffLimit that fits, and alert on its failures.',
  hpa_maxed: 'Review the HPA maximum and the CPU requests against peak load.',
  cpu_high: 'Review the CPU requests and the HPA target against peak load.',
  node_not_ready: 'Spread replicas across nodes (topology spread, anti-affinity) and watch node health.',
  disk_pressure: 'Alert on node disk usage and clean up images and logs before the kubelet has to evict.',
  memory_pressure: 'Set memory requests that match real usage, so nodes are not overcommitted.',
  pvc_pending: 'Check the StorageClass provisioner and its capacity before scaling stateful workloads.',
  error_rate: 'Roll out behind a canary that watches the error rate, and alert on the SLO burn rate.',
  latency_spike: 'Roll out behind a canary that watches latency, and alert on the SLO burn rate.',
  slo_burn_rate: 'Alert on the burn rate early enough to act before the error budget is spent.',
  ingress_error: 'Test Ingress and backend Service changes in staging, and alert on 5xx at the edge.',
  certificate_expiring: 'Automate certificate renewal (cert-manager) and alert well before expiry.',
  helm_release_failed: 'Let the release tool roll back failed upgrades automatically (helm --atomic).',
  argocd_degraded: 'Review the Argo CD sync before it reaches production, and alert on Degraded applications.',
  flux_not_ready: 'Alert on Flux resources that stay not ready, and review the change that made them so.',
  config_drift: 'Change the cluster only through Git, so drift is caught in review rather than in production.',
};

const ROLLBACK_ACTIONS = new Set([
  'RollbackDeployment',
  'RollbackStatefulSet',
  'RollbackDaemonSet',
  'HelmRollback',
  'ArgoSyncApp',
]);
const RESOURCE_ACTIONS = new Set([
  'AdjustResources',
  'AdjustStatefulSetResources',
  'AdjustDaemonSetResources',
  'AdjustJobResources',
  'AdjustCronJobResources',
]);

const ESCALATION_REASON: Readonly<Record<string, string>> = {
  attempts_exhausted: 'every remediation attempt failed',
  analysis_failed: 'the analysis failed',
  no_remediation: 'the analysis proposed no action that had not already failed',
  sla_breached: 'the incident SLA was breached',
  manual: 'a person escalated it',
  approval_expired: 'nobody decided on the approval request in time',
};

interface Attempt {
  stream: string;
  attempt: number;
  source: string;
  actions: string[];
  outcome?: 'completed' | 'rolled_back' | 'failed';
  reason?: string;
  verification?: string;
  rollback?: 'completed' | 'failed';
  blastRadius?: PlanBlastRadius;
}

interface Action {
  type: string;
  params: Record<string, string>;
  startedAt: string;
  result?: 'Succeeded' | 'Failed';
  detail?: string;
  at?: string;
  stream: string;
}

type D = Record<string, unknown>;
const str = (d: D, key: string): string => (typeof d[key] === 'string' ? (d[key] as string) : '');
const num = (d: D, key: string): number => (typeof d[key] === 'number' ? (d[key] as number) : 0);

/** Who turned a proposal down, by refusal stage, as a reader of the timeline would say it. */
const REFUSED_BY: Readonly<Record<string, string>> = {
  parser: 'the answer parser',
  offered_types: 'the offered actions',
  policy: 'the policy',
  envelope: 'the parameter envelope',
  action_check: "the action's safety checks",
  do_not_repeat: 'do-not-repeat',
  approval: 'the approvers',
};

/** Why a dependant's remediation stopped waiting for the root of its cascade. */
const HOLD_RELEASED: Readonly<Record<string, string>> = {
  root_resolved: 'the root cause was fixed, so this Issue is remediated on its own if it persists',
  root_escalated: 'the root cause went to people without a fix',
  no_longer_dependant: 'this Issue is no longer downstream of another in its cascade',
};

/** One line per event that tells the story; bookkeeping events (ActionStarted, SnapshotStarted...) are left out. */
export function timelineDetail(event: IncidentEvent): string | undefined {
  const d = (event.data ?? {}) as D;
  switch (event.type) {
    case 'IssueDetected': {
      const w = d.workload as ResourceRef;
      return `${str(d, 'signal')} on ${display(w)} (${str(d, 'severity')}, risk ${num(d, 'riskScore')}): ${str(d, 'description')}`;
    }
    case 'IssueAnomalyAttached':
      return d.newSignal
        ? `signal ${str(d, 'signal')} joined: risk ${num(d, 'riskScore')}, severity ${str(d, 'previousSeverity')} → ${str(d, 'severity')}`
        : `another ${str(d, 'signal')} anomaly joined`;
    case 'AnalysisRequested':
      return `analysis for attempt ${num(d, 'attempt')} requested`;
    case 'AnalysisCompleted': {
      const actions = (d.suggestedActions as { type: string }[]).map((a) => a.type);
      const commit = topCommitOf(d);
      return (
        `${str(d, 'provider')} (confidence ${num(d, 'confidence')}): ${str(d, 'analysis')}${actions.length ? ` Suggests ${actions.join(', ')}.` : ' No action suggested.'}` +
        (commit ? ` Suspected ${commitLine(commit)}.` : '')
      );
    }
    case 'AnalysisFailed':
      return `analysis failed: ${str(d, 'reason')}`;
    case 'RemediationStarted':
      return `remediation attempt ${num(d, 'attempt')} started (${str(d, 'source')})`;
    case 'ReanalysisRequested': {
      const failure = d.failure as { attempt: number; outcome: string; reason: string };
      return `attempt ${failure.attempt} ${failure.outcome.replaceAll('_', ' ')}: ${failure.reason}; analysing again`;
    }
    case 'RemediationPlanCreated': {
      const actions = (d.actions as { type: string }[]).map((a) => a.type);
      const agentic = d.agentic as { maxSteps: number } | undefined;
      const what = actions.length
        ? actions.join(', ')
        : `agentic loop of up to ${plural(agentic?.maxSteps ?? 0, 'step')}`;
      const radius = d.blastRadius as PlanBlastRadius | undefined;
      return (
        `plan for attempt ${num(d, 'attempt')} (${str(d, 'source')}${d.runbook ? ` runbook ${str(d, 'runbook')}` : ''}): ${what}` +
        (radius ? `; blast radius: ${blastRadiusText(radius)}` : '')
      );
    }
    case 'ApprovalRequested':
      return `approval requested (${plural(num(d, 'requiredApprovals'), 'approver')}, until ${str(d, 'expiresAt')})`;
    case 'ApprovalGranted':
      return `approved by ${str(d, 'approver')}${d.quorumReached ? ' (quorum reached)' : ''}`;
    case 'ApprovalRefused':
      return `refused by ${str(d, 'approver')}${d.reason ? `: ${str(d, 'reason')}` : ''}`;
    case 'ApprovalExpired':
      return `approval expired with ${plural(num(d, 'approvals'), 'approval')}`;
    case 'SnapshotTaken':
      return `snapshot of ${display(d.target as ResourceRef)} taken before the first action`;
    case 'ActionSucceeded':
      return `${str(d, 'type')} succeeded: ${str(d, 'result')}`;
    case 'ActionFailed':
      return `${str(d, 'type')} failed: ${str(d, 'error')}`;
    case 'ActionRefusedByPolicy':
      return `${str(d, 'type')} refused by policy ${str(d, 'policy')}: ${str(d, 'reason')}`;
    case 'ProposalRefused': {
      const action = d.action as { type: string } | undefined;
      const by = REFUSED_BY[str(d, 'stage')] ?? str(d, 'stage');
      const step = d.step ? ` at agentic step ${num(d, 'step')}` : '';
      return `${action ? action.type : 'a proposal'} refused by ${by}${step} (${str(d, 'code')}): ${str(d, 'reason')}`;
    }
    case 'AgenticStepDecided': {
      const action = d.action as { type: string } | undefined;
      const what = action ? `runs ${action.type}` : d.resolved ? 'declares the problem resolved' : 'observes';
      return `agentic step ${num(d, 'step')} ${what}: ${str(d, 'reasoning')}`;
    }
    case 'VerificationPassed':
      return `verification passed: ${str(d, 'detail')}`;
    case 'VerificationFailed':
      return `verification failed${d.timedOut ? ' (timed out)' : ''}: ${str(d, 'reason')}`;
    case 'RollbackStarted':
      return `rolling back to the snapshot: ${str(d, 'reason')}`;
    case 'RollbackCompleted':
      return `rollback to the snapshot completed: ${str(d, 'detail')}`;
    case 'RollbackFailed':
      return `rollback to the snapshot failed: ${str(d, 'error')}`;
    case 'RemediationCompleted':
      return `remediation completed: ${plural(num(d, 'actionsSucceeded'), 'action')} succeeded in ${formatDuration(num(d, 'durationSeconds'))}`;
    case 'RemediationRolledBack':
      return `remediation rolled back (${str(d, 'trigger').replaceAll('_', ' ')})`;
    case 'RemediationFailed':
      return `remediation failed (${str(d, 'reason').replaceAll('_', ' ')}): ${str(d, 'detail')}`;
    case 'IssueAcknowledged':
      return `acknowledged by ${str(d, 'acknowledgedBy')}${d.note ? `: ${str(d, 'note')}` : ''}`;
    case 'IssueSnoozed':
      return `snoozed by ${str(d, 'snoozedBy')} until ${str(d, 'until')}`;
    case 'IssueUnsnoozed':
      return `unsnoozed by ${str(d, 'unsnoozedBy')}`;
    case 'IssueCascadeCorrelated':
      return `correlated into a cascade of ${cascadeText((d.chain as CascadeMember[]) ?? [], parseStreamName(event.streamId).id, num(d, 'windowMinutes'))}`;
    case 'IssueRemediationDeferred':
      return `remediation held while the root of its cascade, Issue ${str(d, 'rootIssueId')}, is fixed: ${str(d, 'reason')}`;
    case 'IssueRemediationReleased':
      return `remediation hold released: ${HOLD_RELEASED[str(d, 'reason')] ?? str(d, 'reason').replaceAll('_', ' ')}${d.detail ? ` (${str(d, 'detail')})` : ''}`;
    case 'IssueRecoveredWithRoot':
      return `recovered with the root of its cascade, Issue ${str(d, 'rootIssueId')}, without a plan of its own: ${str(d, 'detail')}`;
    case 'IssueResolved':
      if (d.resolution === 'recovered_with_root') return 'resolved: recovered with the root of its cascade';
      return d.resolution === 'remediated'
        ? `resolved by remediation after ${plural(num(d, 'attempts'), 'attempt')}`
        : `resolved by hand by ${str(d, 'resolvedBy') || 'someone'}${d.note ? `: ${str(d, 'note')}` : ''}`;
    case 'IssueEscalated':
      return `escalated (${str(d, 'reason').replaceAll('_', ' ')}) after ${plural(num(d, 'attempts'), 'attempt')}${d.detail ? `: ${str(d, 'detail')}` : ''}`;
    default:
      // Bookkeeping and unknown events stay out of the story.
      return undefined;
  }
}

const TIMELINE_MAX = 256;

/** Everything the renderer needs, read once from the events. */
function replay(events: readonly IncidentEvent[], issueStream: string) {
  let state: IssueState = issueDecider.initialState();
  const attempts: Attempt[] = [];
  const actions = new Map<string, Action>();
  const analyses: { analysis: string; provider: string; recommendations: string[] }[] = [];
  const analysisFailures: string[] = [];
  const conclusions: { rootCause: string; lessonsLearned: string[]; preventionActions: string[] }[] = [];
  let cascade: CascadeMember[] = [];
  let suspectedCommit: SuspectedCommit | undefined;
  let gitOps: string | undefined;
  let end: IncidentEvent | undefined;

  for (const event of events) {
    const d = (event.data ?? {}) as D;
    if (event.streamId === issueStream) {
      state = issueDecider.evolve(state, event as unknown as IssueEvent);
      if (event.type === 'AnalysisCompleted') {
        analyses.push({
          analysis: str(d, 'analysis'),
          provider: str(d, 'provider'),
          recommendations: (d.recommendations as string[]) ?? [],
        });
        // The last analysis that named a commit (or saw the GitOps state) speaks for the incident.
        suspectedCommit = topCommitOf(d) ?? suspectedCommit;
        const change = d.change as { gitOps?: string } | undefined;
        if (change?.gitOps) gitOps = change.gitOps;
      }
      if (event.type === 'AnalysisFailed') analysisFailures.push(str(d, 'reason'));
      if (event.type === 'IssueCascadeCorrelated') cascade = (d.chain as CascadeMember[]) ?? [];
      if (event.type === 'IssueResolved' || event.type === 'IssueEscalated') end = event;
      continue;
    }
    const attempt = attempts.find((a) => a.stream === event.streamId);
    switch (event.type) {
      case 'RemediationPlanCreated':
        attempts.push({
          stream: event.streamId,
          attempt: num(d, 'attempt'),
          source: str(d, 'source'),
          actions: (d.actions as { type: string }[]).map((a) => a.type),
          ...(d.blastRadius ? { blastRadius: d.blastRadius as PlanBlastRadius } : {}),
        });
        break;
      case 'ActionStarted':
        actions.set(`${event.streamId}/${str(d, 'actionId')}`, {
          type: str(d, 'type'),
          params: (d.params as Record<string, string>) ?? {},
          startedAt: event.metadata.occurredAt,
          stream: event.streamId,
        });
        if (attempt && !attempt.actions.includes(str(d, 'type')) && d.step !== undefined) {
          attempt.actions.push(str(d, 'type'));
        }
        break;
      case 'ActionSucceeded':
      case 'ActionFailed':
      case 'ActionRefusedByPolicy': {
        // A refusal before the start never ran, so only a started action gets a result here.
        const action = actions.get(`${event.streamId}/${str(d, 'actionId')}`);
        if (action) {
          action.result = event.type === 'ActionSucceeded' ? 'Succeeded' : 'Failed';
          action.detail =
            event.type === 'ActionSucceeded'
              ? str(d, 'result')
              : event.type === 'ActionFailed'
                ? str(d, 'error')
                : `refused by policy ${str(d, 'policy')}: ${str(d, 'reason')}`;
          action.at = event.metadata.occurredAt;
        }
        break;
      }
      case 'AgenticStepDecided': {
        const conclusion = d.conclusion as (typeof conclusions)[number] | undefined;
        if (d.resolved && conclusion) conclusions.push(conclusion);
        break;
      }
      case 'VerificationPassed':
        if (attempt) attempt.verification = str(d, 'detail');
        break;
      case 'RollbackCompleted':
      case 'RollbackFailed':
        if (attempt) attempt.rollback = event.type === 'RollbackCompleted' ? 'completed' : 'failed';
        break;
      case 'RemediationCompleted':
        if (attempt) attempt.outcome = 'completed';
        break;
      case 'RemediationRolledBack':
        if (attempt) {
          attempt.outcome = 'rolled_back';
          attempt.reason = str(d, 'reason');
        }
        break;
      case 'RemediationFailed':
        if (attempt) {
          attempt.outcome = 'failed';
          attempt.reason = str(d, 'detail');
        }
        break;
    }
  }
  return {
    state,
    attempts,
    actions: [...actions.values()],
    analyses,
    analysisFailures,
    conclusions,
    cascade,
    suspectedCommit,
    gitOps,
    end,
  };
}

type StatusOf<K extends keyof PostMortemStatus> = NonNullable<PostMortemStatus[K]>;

const suspectedCommitStatus = (c: SuspectedCommit): StatusOf<'suspectedCommit'> => ({
  repository: c.repository.slice(0, 320),
  sha: c.sha,
  ...(c.author ? { author: c.author.slice(0, 253) } : {}),
  ...(c.message ? { message: c.message.slice(0, 4096) } : {}),
  ...(c.at ? { at: c.at } : {}),
  confidence: c.confidence,
  ...(c.filesChanged.length ? { filesChanged: c.filesChanged.slice(0, 64).map((f) => f.slice(0, 1024)) } : {}),
  ...(c.reasons.length ? { reasons: c.reasons.slice(0, 8).map((line) => line.slice(0, 2048)) } : {}),
});

const named = (x: { namespace: string; name: string }) => ({
  namespace: x.namespace.slice(0, 63),
  name: x.name.slice(0, 253),
});

const blastRadiusStatus = (attempt: number, radius: PlanBlastRadius): StatusOf<'blastRadius'>[number] => ({
  attempt: Math.max(1, attempt),
  actions: radius.actions.slice(0, 50).map((a) => ({
    type: isActionType(a.type) ? a.type : 'Custom',
    pods: a.pods,
    ...(a.replicas ? { replicas: { before: a.replicas.before, after: a.replicas.after } } : {}),
    ...(a.pdbViolations.length
      ? {
          pdbViolations: a.pdbViolations.slice(0, 32).map((p) => ({
            ...named(p),
            disruptionsAllowed: p.disruptionsAllowed,
            podsTaken: p.podsTaken,
          })),
        }
      : {}),
    ...(a.servicesEmptied.length
      ? {
          servicesEmptied: a.servicesEmptied
            .slice(0, 32)
            .map((svc) => ({ ...named(svc), readyEndpoints: svc.readyEndpoints })),
        }
      : {}),
    ...(a.quotaOverflows.length
      ? {
          quotaOverflows: a.quotaOverflows.slice(0, 32).map((q) => ({
            ...named(q),
            resource: q.resource.slice(0, 253),
            used: q.used,
            added: q.added,
            hard: q.hard,
          })),
        }
      : {}),
  })),
  ...(radius.dependants.length
    ? { dependants: radius.dependants.slice(0, 64).map((w) => display(w).slice(0, 253)) }
    : {}),
});

/**
 * The object must stay well inside what the API server stores (about 1.5 MB): plans full of findings could pass it
 * within every list's maxItems, so the oldest plans give way first; the latest plan is always kept.
 */
export const BLAST_RADIUS_BUDGET_CHARS = 200_000;
function boundedBlastRadius(radii: readonly { attempt: number; blastRadius: PlanBlastRadius }[]) {
  let plans = radii.map((a) => blastRadiusStatus(a.attempt, a.blastRadius));
  while (plans.length > 1 && JSON.stringify(plans).length > BLAST_RADIUS_BUDGET_CHARS) plans = plans.slice(1);
  return plans;
}

export interface RenderedPostMortem {
  readonly doc: {
    apiVersion: string;
    kind: 'PostMortem';
    metadata: {
      name: string;
      namespace: string;
      labels: Record<string, string>;
      ownerReferences: ReturnType<typeof ownedBy>;
    };
    spec: PostMortemSpec;
  };
  readonly status: PostMortemStatus;
}

/**
 * The PostMortem of the Issue whose stream is `issueStream`, or undefined while the Issue is open. `events` are
 * the incident's events in global order; anything after the event that ended the Issue is ignored, so the
 * document never changes once written.
 */
export function postMortemResource(
  issueStream: string,
  events: readonly IncidentEvent[],
  recurrence: Recurrence,
  owner: Owner,
  fallbackNamespace: string,
): RenderedPostMortem | undefined {
  const endIndex = events.findIndex(
    (e) => e.streamId === issueStream && (e.type === 'IssueResolved' || e.type === 'IssueEscalated'),
  );
  if (endIndex < 0) return undefined;
  const incident = events.slice(0, endIndex + 1);
  const r = replay(incident, issueStream);
  const { state, end } = r;
  if (!end || !isTerminal(state) || state.workload === null || state.detectedAt === null) return undefined;
  const workload = state.workload;
  const endData = end.data as D;
  const resolved = end.type === 'IssueResolved';
  const outcome = resolved ? 'Resolved' : 'Escalated';
  const endedAt = end.metadata.occurredAt;
  const seconds = Math.max(0, (Date.parse(endedAt) - Date.parse(state.detectedAt)) / 1000);
  const duration = formatDuration(seconds);
  // The CRD knows a closed set of signals; any other alert is a `custom` one.
  const signal = isSignalType(state.signal) ? state.signal : 'custom';

  const timeline = incident.flatMap((event) => {
    const detail = timelineDetail(event);
    return detail === undefined
      ? []
      : [{ at: event.metadata.occurredAt, type: event.type, detail: oneLine(detail, 1000) }];
  });
  // A very long incident keeps its beginning and its end, the parts a reader needs most.
  const boundedTimeline =
    timeline.length > TIMELINE_MAX
      ? [...timeline.slice(0, TIMELINE_MAX / 2), ...timeline.slice(-TIMELINE_MAX / 2)]
      : timeline;

  const rolledBack = (stream: string) => r.attempts.find((a) => a.stream === stream)?.rollback === 'completed';
  const actionsExecuted = r.actions.slice(-64).map((a) => {
    const type = isActionType(a.type) ? a.type : 'Custom';
    const known = type === a.type;
    const result =
      a.result === undefined ? 'Failed' : a.result === 'Succeeded' && rolledBack(a.stream) ? 'RolledBack' : a.result;
    const detail =
      a.result === undefined
        ? 'no result was recorded before the Issue ended'
        : result === 'RolledBack'
          ? `${a.detail}; undone by the rollback to the snapshot`
          : (a.detail ?? '');
    const params = Object.entries(a.params).slice(0, 32);
    return {
      type,
      ...(params.length ? { params: Object.fromEntries(params) } : {}),
      result,
      detail: oneLine(known ? detail : `${a.type}: ${detail}`, 4000),
      at: a.at ?? a.startedAt,
    } satisfies NonNullable<PostMortemStatus['actionsExecuted']>[number];
  });

  const lastAnalysis = r.analyses.at(-1);
  const conclusion = r.conclusions.at(-1);
  const analysed = conclusion?.rootCause
    ? conclusion.rootCause
    : lastAnalysis && lastAnalysis.analysis !== 'unknown'
      ? lastAnalysis.analysis
      : lastAnalysis
        ? `Not determined: the ${lastAnalysis.provider} analysis found no cause in the workload's state.`
        : r.analysisFailures.length
          ? `Not determined: the analysis failed (${r.analysisFailures.at(-1)}).`
          : 'Not determined: the Issue ended before any analysis completed.';
  const commit = r.suspectedCommit;
  const rootCause = commit ? `${analysed} Suspected change: ${commitLine(commit)}.` : analysed;

  // The remediation the Issue names as its fix; an older event without the id falls back to the completed one.
  const fixedBy = str(endData, 'remediationId');
  const winning =
    resolved && endData.resolution === 'remediated'
      ? (r.attempts.find((a) => fixedBy && a.stream === streamName(StreamCategory.Remediation, fixedBy)) ??
        r.attempts.find((a) => a.outcome === 'completed'))
      : undefined;
  const winningActions = winning
    ? r.actions.filter((a) => a.stream === winning.stream && a.result === 'Succeeded')
    : [];
  const failedAttempts = r.attempts.filter((a) => a.outcome === 'rolled_back' || a.outcome === 'failed');

  const howItEnded = resolved
    ? endData.resolution === 'remediated'
      ? winningActions.length
        ? `${winningActions.map((a) => `${a.type}: ${a.detail}`).join('; ')}${winning?.verification ? `; ${winning.verification}` : ''}.`
        : 'Cairn remediated it.'
      : endData.resolution === 'recovered_with_root'
        ? `It recovered once the root of its cascade was fixed, with no remediation of its own${endData.note ? ` (${str(endData, 'note')})` : ''}.`
        : `Resolved by hand by ${str(endData, 'resolvedBy') || 'someone'}${endData.note ? `: ${str(endData, 'note')}` : ''}.`
    : `Escalated because ${ESCALATION_REASON[str(endData, 'reason')] ?? str(endData, 'reason')}${endData.detail ? `: ${str(endData, 'detail')}` : ''}.`;
  const summary = `${outcome} after ${duration}: ${state.signal} on ${display(workload)} (${state.severity}, risk ${state.riskScore}), ${plural(r.attempts.length, 'remediation attempt')}. ${howItEnded}`;

  // Plans recorded before blast radius was assessed (or with the guard off) have none.
  const radii = r.attempts
    .flatMap((a) => (a.blastRadius ? [{ attempt: a.attempt, blastRadius: a.blastRadius }] : []))
    .slice(-16);
  const cascadeIndex = r.cascade.findIndex((m) => m.issueId === state.issueId);
  const cascadeRoot = r.cascade[0];

  const impact =
    `${display(workload)} was affected for ${duration} from detection to ${resolved ? 'resolution' : 'escalation'}: ` +
    `severity ${state.severity} (risk ${state.riskScore}/100), signals ${state.signals.join(', ')}, ` +
    `${plural(state.anomalyIds.length, 'anomaly', 'anomalies')}.` +
    (r.cascade.length ? ` Part of a cascade of ${cascadeText(r.cascade, state.issueId)}.` : '') +
    radii
      .map((a) => ` The plan for attempt ${a.attempt} was assessed to take ${blastRadiusText(a.blastRadius)}.`)
      .join('');

  const lessons: string[] = [...(conclusion?.lessonsLearned ?? [])];
  if (winning) {
    const fix = winningActions.map((a) => `${a.type}: ${a.detail}`).join('; ');
    if (winningActions.some((a) => ROLLBACK_ACTIONS.has(a.type))) {
      lessons.push(`The release running when ${state.signal} began was at fault: going back cleared it. ${fix}.`);
    } else if (winningActions.some((a) => RESOURCE_ACTIONS.has(a.type))) {
      lessons.push(`${display(workload)} needed more resources than its limits allowed. ${fix}.`);
    } else if (fix) {
      lessons.push(`Attempt ${winning.attempt} fixed it: ${fix}.`);
    }
  }
  for (const a of failedAttempts) {
    lessons.push(
      `Attempt ${a.attempt} (${a.actions.join(', ') || a.source}) did not fix it: ${a.reason}` +
        (a.rollback === 'completed' ? '; the workload was restored from its snapshot.' : '.') +
        (a.rollback === 'failed' ? ' Restoring the snapshot failed too: check the workload by hand.' : ''),
    );
  }
  for (const reason of r.analysisFailures) lessons.push(`An analysis failed: ${reason}.`);
  if (cascadeRoot && cascadeIndex > 0) {
    lessons.push(
      `${display(workload)} failed after ${display(cascadeRoot.workload)} (Issue ${cascadeRoot.issueId}), the root cause of its cascade: the fault started there.`,
    );
  } else if (cascadeIndex === 0 && r.cascade.length > 1) {
    lessons.push(
      `The failure of ${display(workload)} spread to ${plural(r.cascade.length - 1, 'other workload')} (${r.cascade
        .slice(1)
        .map((m) => display(m.workload))
        .join(', ')}).`,
    );
  }
  if (resolved && endData.resolution === 'manual') {
    lessons.push(
      `A person resolved it${endData.note ? ` (${str(endData, 'note')})` : ''}; no Cairn remediation closed it.`,
    );
  }
  if (!resolved) {
    lessons.push(
      `Automatic remediation stopped because ${ESCALATION_REASON[str(endData, 'reason')] ?? str(endData, 'reason')}: a person has to find and fix the cause.`,
    );
  }
  if (recurrence.last30Days > 0) {
    lessons.push(
      `${state.signal} on ${display(workload)} also opened ${plural(recurrence.last30Days, 'Issue')} in the ${RECURRENCE_WINDOW_DAYS} days before this one: earlier fixes did not remove the cause.`,
    );
  }

  const prevention: string[] = [...(conclusion?.preventionActions ?? [])];
  for (const a of winningActions) {
    const memory = a.params.memory_limit;
    if (RESOURCE_ACTIONS.has(a.type) && memory) {
      prevention.push(
        `Write the memory limit of ${workload.name} (${memory}) into its manifests, or the next deployment brings the old limit back.`,
      );
    }
  }
  for (const s of state.signals) {
    const line = PREVENTION_BY_SIGNAL[s];
    if (line) prevention.push(line);
  }
  prevention.push(...(lastAnalysis?.recommendations ?? []));
  if (commit) {
    const files = commit.filesChanged.slice(0, 3).join(', ');
    prevention.push(
      `Find out how commit ${shortSha(commit.sha)} of ${commit.repository} reached the cluster unchecked, and gate its releases on checks that cover what it changed${files ? ` (${files})` : ''}.`,
    );
  }
  if (cascadeIndex === 0 && r.cascade.length > 1) {
    prevention.push(
      `Give the workloads that depend on ${display(workload)} timeouts, retries with backoff and circuit breakers, so its failure does not take them down too.`,
    );
  } else if (cascadeRoot && cascadeIndex > 0) {
    prevention.push(
      `Let ${display(workload)} degrade gracefully when ${display(cascadeRoot.workload)} fails (timeouts, retries with backoff, a circuit breaker).`,
    );
  }
  if (radii.some((a) => a.blastRadius.actions.some((x) => x.servicesEmptied.length || x.pdbViolations.length))) {
    prevention.push(
      `Run enough replicas of ${display(workload)} that a remediation can restart pods without emptying a Service or breaking a PodDisruptionBudget.`,
    );
  }
  if (!resolved)
    prevention.push('Once fixed, write a Runbook for this failure so the next one is remediated without a person.');
  if (recurrence.last30Days > 0)
    prevention.push('Track the lasting fix as a work item: this failure keeps coming back.');

  const name = postMortemName(state.issueId, workload);
  const status: PostMortemStatus = {
    state: 'Open',
    summary: summary.slice(0, 16_000),
    rootCause: rootCause.slice(0, 16_000),
    impact: impact.slice(0, 8_000),
    timeline: boundedTimeline,
    actionsExecuted,
    lessonsLearned: dedupe(
      lessons.map((l) => oneLine(l, 2000)),
      32,
    ),
    preventionActions: dedupe(
      prevention.map((l) => oneLine(l, 2000)),
      32,
    ),
    detectedAt: state.detectedAt,
    ...(resolved ? { resolvedAt: endedAt } : {}),
    duration,
    recurrence: {
      last30Days: recurrence.last30Days,
      ...(recurrence.related?.length ? { related: recurrence.related.slice(-32) } : {}),
    },
    ...(r.cascade.length
      ? {
          cascadeChain: r.cascade.slice(0, 32).map((m) => display(m.workload).slice(0, 253)),
          ...(cascadeIndex >= 0 ? { cascadePosition: Math.min(cascadeIndex + 1, 100) } : {}),
        }
      : {}),
    ...(commit ? { suspectedCommit: suspectedCommitStatus(commit) } : {}),
    ...(r.gitOps ? { gitOps: r.gitOps.slice(0, 8192) } : {}),
    ...(radii.length ? { blastRadius: boundedBlastRadius(radii) } : {}),
    conditions: [
      {
        type: 'Resolved',
        status: resolved ? 'True' : 'False',
        reason: resolved
          ? ({ manual: 'ResolvedByHand', recovered_with_root: 'RecoveredWithRoot' }[str(endData, 'resolution')] ??
            'Remediated')
          : 'Escalated',
        message: oneLine(howItEnded, 4000),
        lastTransitionTime: endedAt,
      },
    ],
  };
  return {
    doc: {
      apiVersion: ApiVersion,
      kind: 'PostMortem',
      metadata: {
        name,
        namespace: namespaceFor(workload, fallbackNamespace),
        labels: {
          [Labels.issueId]: state.issueId,
          [Labels.signal]: signal,
          [Labels.outcome]: outcome.toLowerCase(),
          [Labels.managedBy]: 'cairn',
        },
        ownerReferences: ownedBy(owner),
      },
      spec: {
        issueRef: { name: issueName(state.issueId, workload) },
        resource: resourceRef(workload),
        severity: state.severity,
        signal,
      },
    },
    status,
  };
}

/** A review event of the PostMortem's own stream (`postmortem-<issueId>`). */
export interface ReviewEvent {
  readonly type: string;
  readonly data: unknown;
  readonly metadata: { readonly occurredAt: string };
}

/**
 * The status with one review event applied: taken into review, closed, or given feedback. `feedback` is the latest
 * feedback as it was given; `rootCauseOverride` keeps the latest correction of the root cause even when later
 * feedback only rates or comments. `rootCause` itself stays what the incident's events said. Other events leave
 * the status as it is, so folding a whole stream is safe.
 */
export function withReviewEvent(status: PostMortemStatus, event: ReviewEvent): PostMortemStatus {
  const d = (event.data ?? {}) as D;
  const at = event.metadata.occurredAt;
  switch (event.type) {
    case 'PostMortemReviewed':
      return { ...status, state: 'InReview', reviewedAt: at, reviewedBy: str(d, 'reviewer').slice(0, 253) };
    case 'PostMortemClosed':
      return { ...status, state: 'Closed', closedAt: at, closedBy: str(d, 'closedBy').slice(0, 253) };
    case 'PostMortemFeedbackRecorded': {
      const by = str(d, 'by').slice(0, 253);
      const override = str(d, 'rootCauseOverride').slice(0, 16_384);
      const comments = str(d, 'comments').slice(0, 8_192);
      const rating = typeof d.rating === 'number' ? d.rating : undefined;
      return {
        ...status,
        feedback: {
          ...(rating === undefined ? {} : { rating }),
          ...(override ? { rootCauseOverride: override } : {}),
          ...(comments ? { comments } : {}),
          by,
          at,
        },
        ...(override ? { rootCauseOverride: { text: override, by, at } } : {}),
      };
    }
    default:
      return status;
  }
}

/** The status with the PostMortem's review stream folded in, oldest event first. */
export const withReview = (status: PostMortemStatus, events: readonly ReviewEvent[]): PostMortemStatus =>
  events.reduce(withReviewEvent, status);
