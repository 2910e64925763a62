import { riskScore, severityFor } from '../correlation/risk.policy.ts';
import { atLeast, isSeverity } from '../correlation/severityFloor.policy.ts';
import { actorOf, assertNever, withoutUndefined } from '../decision.ts';
import type {
  AnalysisCompleted,
  AnalysisDeferred,
  AnalysisFailed,
  AnalysisRequested,
  AnalysisWaitCause,
} from '../events/analysis.events.ts';
import {
  type AnomalySource,
  type FailureEvidence,
  RemediationSource,
  type ResourceRef,
  Severity,
} from '../events/common.schema.ts';
import type {
  CascadeMember,
  IssueCascadeCorrelated,
  IssueRecoveredWithRoot,
  IssueRecoveryCheckScheduled,
  IssueRemediationDeferred,
  IssueRemediationReleased,
} from '../events/correlation.events.ts';
import {
  type EscalationReason,
  type IssueAcknowledged,
  type IssueAnomalyAttached,
  type IssueDetected,
  type IssueEscalated,
  type IssueEscalationPaused,
  type IssueResolved,
  type IssueSnoozed,
  IssueStatus,
  type IssueUnsnoozed,
  type ProposalRefused,
  type ReanalysisRequested,
  type RemediationStarted,
} from '../events/issue.events.ts';
import type { Decider } from '../messages.ts';
import { invalid, notFound, refuse } from '../refusals.ts';
import { actionFingerprint } from '../remediation/action.fingerprint.ts';
import { isBefore, requireInstant, secondsBetween } from '../time.ts';
import { DEFAULT_MAX_ATTEMPTS, type IssueCommand, type ProposalRefusal } from './issue.commands.ts';
import { boundedAction, looksLikeActionType, refusalStage } from './refusal.stage.ts';

export type IssueEvent =
  | IssueDetected
  | IssueAnomalyAttached
  | AnalysisRequested
  | AnalysisCompleted
  | AnalysisFailed
  | AnalysisDeferred
  | RemediationStarted
  | ReanalysisRequested
  | IssueResolved
  | IssueEscalated
  | IssueAcknowledged
  | IssueSnoozed
  | IssueUnsnoozed
  | IssueEscalationPaused
  | IssueCascadeCorrelated
  | IssueRemediationDeferred
  | IssueRemediationReleased
  | IssueRecoveryCheckScheduled
  | IssueRecoveredWithRoot
  | ProposalRefused;

export const AnalysisStatus = { None: 'none', Pending: 'pending', Completed: 'completed', Failed: 'failed' } as const;
export type AnalysisStatus = (typeof AnalysisStatus)[keyof typeof AnalysisStatus];

export interface IssueState {
  readonly status: IssueStatus;
  readonly issueId: string;
  readonly workload: ResourceRef | null;
  readonly signal: string;
  readonly source: AnomalySource | null;
  /** Distinct signals seen on the Issue, first first; the risk score is computed from these. */
  readonly signals: readonly string[];
  readonly anomalyIds: readonly string[];
  readonly riskScore: number;
  readonly severity: Severity;
  readonly detectedAt: string | null;
  readonly maxAttempts: number;
  /** Remediations started so far. */
  readonly attempts: number;
  readonly analysis: AnalysisStatus;
  readonly insightId: string | null;
  readonly remediationId: string | null;
  readonly failures: readonly FailureEvidence[];
  /** Fingerprints of every action that was part of a failed remediation of this Issue, or was refused on it. */
  readonly doNotRepeat: readonly string[];
  /** Ids of the refusals recorded, so a refusal reported again is recognised. */
  readonly refusalIds: readonly string[];
  readonly acknowledgedBy: string | null;
  /** Snoozed while the current instant is before this; see isSnoozed. */
  readonly snoozedUntil: string | null;
  readonly cascade: { readonly rootIssueId: string; readonly chain: readonly string[] } | null;
  /** The cascade's members as last correlated, root first (what the Issue's status shows). */
  readonly cascadeMembers: readonly CascadeMember[];
  /** The plan waits for the root of the cascade: no remediation starts while this is set. */
  readonly remediationDeferral: {
    readonly rootIssueId: string;
    readonly insightId: string;
    readonly reason: string;
    readonly since: string;
    /** The root was resolved: the workload is checked at this instant (recovered with it, or the plan goes). */
    readonly recoveryCheckDueAt?: string;
  } | null;
  /** Resolved without a plan: its workload was healthy once the root of its cascade was fixed. */
  readonly recoveredWithRoot?: { readonly rootIssueId: string; readonly detail: string } | null;
  readonly endedAt: string | null;
  /** An automatic escalation waiting for the acknowledgement or the snooze that holds it. */
  readonly heldEscalation: {
    readonly reason: EscalationReason;
    readonly detail?: string;
    readonly heldBecause: 'acknowledged' | 'snoozed';
    readonly lastFailure?: FailureEvidence;
  } | null;
  /**
   * The last time the analysis had to wait for its server, and why. `until` is set once an answer (or a new
   * round) ended the wait; null when the Issue never waited.
   */
  readonly analysisWait: {
    readonly insightId: string;
    readonly server: string;
    readonly cause: AnalysisWaitCause;
    readonly reason: string;
    readonly since: string;
    readonly until: string | null;
  } | null;
}

export const initialIssueState = (): IssueState => ({
  status: IssueStatus.None,
  issueId: '',
  workload: null,
  signal: '',
  source: null,
  signals: [],
  anomalyIds: [],
  riskScore: 0,
  severity: Severity.Low,
  detectedAt: null,
  maxAttempts: DEFAULT_MAX_ATTEMPTS,
  attempts: 0,
  analysis: AnalysisStatus.None,
  insightId: null,
  remediationId: null,
  failures: [],
  doNotRepeat: [],
  refusalIds: [],
  acknowledgedBy: null,
  snoozedUntil: null,
  cascade: null,
  cascadeMembers: [],
  remediationDeferral: null,
  endedAt: null,
  heldEscalation: null,
  analysisWait: null,
});

/** Snooze is judged at an instant the caller supplies (a command's occurredAt, a projection's clock). */
export const isSnoozed = (state: IssueState, at: string): boolean =>
  state.snoozedUntil !== null && isBefore(at, state.snoozedUntil);

export const isTerminal = (state: IssueState): boolean =>
  state.status === IssueStatus.Resolved || state.status === IssueStatus.Escalated;

const endWait = (state: IssueState, at: string): IssueState['analysisWait'] =>
  state.analysisWait === null || state.analysisWait.until !== null
    ? state.analysisWait
    : { ...state.analysisWait, until: at };

export const evolveIssue = (state: IssueState, event: IssueEvent): IssueState => {
  switch (event.type) {
    case 'IssueDetected': {
      const d = event.data;
      return {
        ...state,
        status: IssueStatus.Detected,
        issueId: d.issueId,
        workload: d.workload,
        signal: d.signal,
        source: d.source,
        signals: d.signals,
        anomalyIds: [d.anomalyId],
        riskScore: d.riskScore,
        severity: d.severity,
        detectedAt: event.metadata.occurredAt,
        maxAttempts: d.maxAttempts,
      };
    }
    case 'IssueAnomalyAttached':
      return {
        ...state,
        anomalyIds: [...state.anomalyIds, event.data.anomalyId],
        signals: event.data.signals,
        riskScore: event.data.riskScore,
        severity: event.data.severity,
      };
    case 'AnalysisRequested':
      return {
        ...state,
        status: IssueStatus.Analyzing,
        analysis: AnalysisStatus.Pending,
        insightId: event.data.insightId,
      };
    case 'AnalysisCompleted':
      return { ...state, analysis: AnalysisStatus.Completed, analysisWait: endWait(state, event.metadata.occurredAt) };
    case 'AnalysisFailed':
      return { ...state, analysis: AnalysisStatus.Failed, analysisWait: endWait(state, event.metadata.occurredAt) };
    case 'AnalysisDeferred': {
      const d = event.data;
      const ongoing = state.analysisWait !== null && state.analysisWait.until === null;
      return {
        ...state,
        analysisWait: {
          insightId: d.insightId,
          server: d.server,
          cause: d.cause,
          reason: d.reason,
          // The wait began with the first deferral; a change of reason does not restart it.
          since: ongoing ? state.analysisWait!.since : event.metadata.occurredAt,
          until: null,
        },
      };
    }
    case 'RemediationStarted':
      return {
        ...state,
        status: IssueStatus.Remediating,
        attempts: event.data.attempt,
        remediationId: event.data.remediationId,
      };
    case 'ReanalysisRequested':
      return {
        ...state,
        status: IssueStatus.Analyzing,
        analysis: AnalysisStatus.Pending,
        insightId: event.data.insightId,
        failures: event.data.previousFailures,
        // Refusals recorded since the remediation ended stay remembered even if the event's list predates them.
        doNotRepeat: [...new Set([...event.data.doNotRepeat, ...state.doNotRepeat])],
      };
    case 'ProposalRefused': {
      const { refusalId, fingerprint } = event.data;
      return {
        ...state,
        refusalIds: state.refusalIds.includes(refusalId) ? state.refusalIds : [...state.refusalIds, refusalId],
        doNotRepeat:
          fingerprint === undefined || state.doNotRepeat.includes(fingerprint)
            ? state.doNotRepeat
            : [...state.doNotRepeat, fingerprint],
      };
    }
    case 'IssueResolved':
      return {
        ...state,
        status: IssueStatus.Resolved,
        endedAt: event.metadata.occurredAt,
        heldEscalation: null,
        remediationDeferral: null,
      };
    case 'IssueEscalationPaused':
      return {
        ...state,
        heldEscalation: withoutUndefined({
          reason: event.data.reason,
          detail: event.data.detail,
          heldBecause: event.data.heldBecause,
          lastFailure: event.data.lastFailure,
        }),
      };
    case 'IssueEscalated':
      return {
        ...state,
        heldEscalation: null,
        remediationDeferral: null,
        status: IssueStatus.Escalated,
        endedAt: event.metadata.occurredAt,
        failures: event.data.lastFailure === undefined ? state.failures : [...state.failures, event.data.lastFailure],
      };
    case 'IssueAcknowledged':
      return { ...state, acknowledgedBy: event.data.acknowledgedBy };
    case 'IssueSnoozed':
      return { ...state, snoozedUntil: event.data.until };
    case 'IssueUnsnoozed':
      return { ...state, snoozedUntil: null };
    case 'IssueCascadeCorrelated':
      return {
        ...state,
        cascade: { rootIssueId: event.data.rootIssueId, chain: event.data.chain.map((member) => member.issueId) },
        cascadeMembers: event.data.chain,
      };
    case 'IssueRemediationDeferred':
      return {
        ...state,
        remediationDeferral: {
          rootIssueId: event.data.rootIssueId,
          insightId: event.data.insightId,
          reason: event.data.reason,
          // Deferred again to a new root: the wait began with the first deferral.
          since: state.remediationDeferral?.since ?? event.metadata.occurredAt,
        },
      };
    case 'IssueRemediationReleased':
      return { ...state, remediationDeferral: null };
    case 'IssueRecoveryCheckScheduled':
      return state.remediationDeferral === null
        ? state
        : { ...state, remediationDeferral: { ...state.remediationDeferral, recoveryCheckDueAt: event.data.dueAt } };
    case 'IssueRecoveredWithRoot':
      // IssueResolved follows in the same decision and ends the Issue.
      return { ...state, recoveredWithRoot: { rootIssueId: event.data.rootIssueId, detail: event.data.detail } };
    default:
      // Events of other versions or other aggregates may share the stream's history; they change nothing here.
      return state;
  }
};

/** Why an automatic escalation must wait now, if it must: a person owns the Issue, or it is snoozed. */
export const escalationHold = (state: IssueState, at: string): 'acknowledged' | 'snoozed' | null =>
  state.acknowledgedBy !== null ? 'acknowledged' : isSnoozed(state, at) ? 'snoozed' : null;

const holdEscalation = (
  state: IssueState,
  heldBecause: 'acknowledged' | 'snoozed',
  data: { reason: EscalationReason; detail?: string; lastFailure?: FailureEvidence },
  metadata: IssueCommand['metadata'],
): IssueEvent[] => [
  {
    type: 'IssueEscalationPaused',
    data: withoutUndefined({
      reason: data.reason,
      attempts: state.attempts,
      detail: data.detail,
      heldBecause,
      until: heldBecause === 'snoozed' ? (state.snoozedUntil ?? undefined) : undefined,
      lastFailure: data.lastFailure,
    }),
    metadata,
  },
];

const requireOpen = (state: IssueState, command: IssueCommand): void => {
  if (state.status === IssueStatus.None) {
    throw notFound('issue.not_found', `${command.type}: no Issue has been detected in this stream`);
  }
  if (state.status === IssueStatus.Resolved) {
    throw refuse('issue.already_resolved', `${command.type}: Issue ${state.issueId} is already resolved`);
  }
  if (state.status === IssueStatus.Escalated) {
    throw refuse('issue.already_escalated', `${command.type}: Issue ${state.issueId} is already escalated`);
  }
};

const requirePendingAnalysis = (state: IssueState, insightId: string, command: IssueCommand): void => {
  if (state.status !== IssueStatus.Analyzing || state.analysis !== AnalysisStatus.Pending) {
    throw refuse('issue.no_analysis_pending', `${command.type}: Issue ${state.issueId} is not waiting for analysis`);
  }
  // An answer for an earlier round (a slow provider) must not stand in for the current one.
  if (insightId !== state.insightId) {
    throw refuse('issue.insight_mismatch', `${command.type}: expected insight ${state.insightId}, got ${insightId}`);
  }
};

/** The held escalation, escalated, once nothing holds it any more (`after` is the state it is judged in). */
const released = (
  state: IssueState,
  after: IssueState,
  at: string,
  metadata: IssueCommand['metadata'],
): IssueEvent[] => {
  const held = state.heldEscalation;
  if (held === null || escalationHold(after, at) !== null) return [];
  return [
    {
      type: 'IssueEscalated',
      data: withoutUndefined({
        reason: held.reason,
        attempts: state.attempts,
        detail: held.detail,
        lastFailure: held.lastFailure,
      }),
      metadata,
    },
  ];
};

/** At most this many refusals in one command: callers bound what a model can make them report. */
export const MAX_REFUSALS_PER_COMMAND = 100;

/** One ProposalRefused per refusal not recorded yet, in the order given. */
const refusalEvents = (
  state: IssueState,
  insightId: string,
  remediationId: string | undefined,
  refusals: readonly ProposalRefusal[],
  metadata: IssueCommand['metadata'],
): IssueEvent[] => {
  if (refusals.length > MAX_REFUSALS_PER_COMMAND) {
    throw invalid(
      'issue.too_many_refusals',
      `at most ${MAX_REFUSALS_PER_COMMAND} refusals can be recorded at once, got ${refusals.length}`,
    );
  }
  const seen = new Set(state.refusalIds);
  const events: IssueEvent[] = [];
  for (const refusal of refusals) {
    if (refusal.refusalId.trim() === '' || refusal.refusalId.length > 253) {
      throw invalid('issue.invalid_refusal_id', 'a refusal id must be 1 to 253 characters');
    }
    const code = refusal.code.trim();
    if (code === '' || code.length > 128) {
      throw invalid('issue.invalid_refusal_code', `refusal ${refusal.refusalId}: a code must be 1 to 128 characters`);
    }
    if (seen.has(refusal.refusalId)) continue; // reported again after a restart: already on the record
    seen.add(refusal.refusalId);
    const action = refusal.action;
    events.push({
      type: 'ProposalRefused',
      data: withoutUndefined({
        refusalId: refusal.refusalId,
        insightId,
        remediationId,
        step: refusal.step,
        stage: refusalStage(code),
        action: action === undefined ? undefined : boundedAction(action),
        code,
        reason: refusal.reason.length > 2_000 ? `${refusal.reason.slice(0, 1_999)}…` : refusal.reason,
        fingerprint:
          action === undefined || !looksLikeActionType(action.type)
            ? undefined
            : actionFingerprint({ type: action.type, params: { ...action.params } }),
      }),
      metadata,
    });
  }
  return events;
};

const requireSeverityFloor = (floor: unknown): void => {
  if (floor !== undefined && !isSeverity(floor)) {
    throw invalid(
      'issue.invalid_severity_floor',
      `severityFloor must be critical, high, medium or low, got ${String(floor).slice(0, 40)}`,
    );
  }
};

export const decideIssue = (command: IssueCommand, state: IssueState): readonly IssueEvent[] => {
  const metadata = command.metadata;
  const at = metadata.occurredAt;
  requireInstant(at, 'metadata.occurredAt');

  switch (command.type) {
    case 'DetectIssue': {
      if (state.status !== IssueStatus.None) {
        throw refuse('issue.already_detected', `Issue ${state.issueId} has already been detected`);
      }
      const d = command.data;
      const maxAttempts = d.maxAttempts ?? DEFAULT_MAX_ATTEMPTS;
      if (!Number.isInteger(maxAttempts) || maxAttempts < 1 || maxAttempts > 20) {
        throw invalid('issue.invalid_max_attempts', `maxAttempts must be an integer from 1 to 20, got ${maxAttempts}`);
      }
      requireSeverityFloor(d.severityFloor);
      const score = riskScore([d.signal]);
      return [
        {
          type: 'IssueDetected',
          data: {
            issueId: d.issueId,
            workload: d.workload,
            resource: d.resource,
            signal: d.signal,
            source: d.source,
            anomalyId: d.anomalyId,
            description: d.description,
            signals: [d.signal],
            riskScore: score,
            severity: atLeast(severityFor(score), d.severityFloor),
            maxAttempts,
          },
          metadata,
        },
      ];
    }

    case 'AttachAnomaly': {
      requireOpen(state, command);
      const { anomalyId, signal, severityFloor } = command.data;
      requireSeverityFloor(severityFloor);
      if (state.anomalyIds.includes(anomalyId)) return []; // a retried command: already counted
      const newSignal = !state.signals.includes(signal);
      const signals = newSignal ? [...state.signals, signal] : state.signals;
      const score = riskScore(signals);
      return [
        {
          type: 'IssueAnomalyAttached',
          data: {
            anomalyId,
            signal,
            newSignal,
            signals: [...signals],
            riskScore: score,
            // Never lower: a floor an earlier anomaly set stays, and the score only grows.
            severity: atLeast(atLeast(severityFor(score), state.severity), severityFloor),
            previousSeverity: state.severity,
          },
          metadata,
        },
      ];
    }

    case 'RequestAnalysis': {
      requireOpen(state, command);
      if (state.status === IssueStatus.Remediating) {
        throw refuse('issue.remediation_in_progress', `Issue ${state.issueId} is being remediated`);
      }
      // From Analyzing only to retry a failed analysis; a pending or finished one is not asked for twice.
      if (state.analysis === AnalysisStatus.Pending) {
        throw refuse('issue.analysis_in_progress', `Issue ${state.issueId} is already being analysed`);
      }
      if (state.status === IssueStatus.Analyzing && state.analysis === AnalysisStatus.Completed) {
        throw refuse('issue.analysis_already_completed', `Issue ${state.issueId} already has its analysis`);
      }
      return [
        {
          type: 'AnalysisRequested',
          data: {
            insightId: command.data.insightId,
            attempt: state.attempts + 1,
            previousFailures: [...state.failures],
            doNotRepeat: [...state.doNotRepeat],
          },
          metadata,
        },
      ];
    }

    case 'CompleteAnalysis': {
      requireOpen(state, command);
      const d = command.data;
      requirePendingAnalysis(state, d.insightId, command);
      const refused = refusalEvents(state, d.insightId, undefined, d.refusedProposals ?? [], metadata);
      return [
        {
          type: 'AnalysisCompleted',
          data: {
            insightId: d.insightId,
            attempt: state.attempts + 1,
            analysis: d.analysis,
            confidence: d.confidence,
            recommendations: [...d.recommendations],
            suggestedActions: [...d.suggestedActions],
            provider: d.provider,
            model: d.model,
            ...(d.change ? { change: d.change } : {}),
          },
          metadata,
        },
        ...refused,
      ];
    }

    case 'FailAnalysis': {
      requireOpen(state, command);
      const d = command.data;
      requirePendingAnalysis(state, d.insightId, command);
      return [
        {
          type: 'AnalysisFailed',
          data: withoutUndefined({
            insightId: d.insightId,
            attempt: state.attempts + 1,
            reason: d.reason,
            provider: d.provider,
          }),
          metadata,
        },
      ];
    }

    case 'DeferAnalysis': {
      requireOpen(state, command);
      const d = command.data;
      requirePendingAnalysis(state, d.insightId, command);
      const wait = state.analysisWait;
      // Retries while nothing changed add nothing: the Issue already says why it waits.
      if (
        wait !== null &&
        wait.until === null &&
        wait.insightId === d.insightId &&
        wait.server === d.server &&
        wait.cause === d.cause
      ) {
        return [];
      }
      return [
        {
          type: 'AnalysisDeferred',
          data: {
            insightId: d.insightId,
            attempt: state.attempts + 1,
            server: d.server,
            cause: d.cause,
            reason: d.reason,
          },
          metadata,
        },
      ];
    }

    case 'StartRemediation': {
      requireOpen(state, command);
      const d = command.data;
      if (state.status === IssueStatus.Remediating) {
        throw refuse('issue.remediation_in_progress', `Issue ${state.issueId} is already being remediated`);
      }
      if (state.status !== IssueStatus.Analyzing) {
        throw refuse('issue.not_analyzing', `Issue ${state.issueId} has not been analysed yet`);
      }
      if (state.analysis === AnalysisStatus.Pending) {
        throw refuse('issue.analysis_pending', `Issue ${state.issueId} is still being analysed`);
      }
      if (d.source === RemediationSource.AiRunbook && state.analysis !== AnalysisStatus.Completed) {
        throw refuse(
          'issue.no_analysis_for_ai_runbook',
          `Issue ${state.issueId} has no analysis to build a runbook on`,
        );
      }
      if (state.attempts >= state.maxAttempts) {
        throw refuse('issue.attempts_exhausted', `Issue ${state.issueId} has used its ${state.maxAttempts} attempts`);
      }
      if (state.remediationDeferral !== null) {
        throw refuse(
          'issue.remediation_deferred',
          `Issue ${state.issueId} waits for the root of its cascade, Issue ${state.remediationDeferral.rootIssueId}`,
        );
      }
      return [
        {
          type: 'RemediationStarted',
          data: { remediationId: d.remediationId, attempt: state.attempts + 1, source: d.source },
          metadata,
        },
      ];
    }

    case 'RecordRemediationOutcome': {
      requireOpen(state, command);
      const d = command.data;
      if (state.status !== IssueStatus.Remediating) {
        throw refuse('issue.not_remediating', `Issue ${state.issueId} has no remediation running`);
      }
      if (d.remediationId !== state.remediationId) {
        throw refuse(
          'issue.remediation_mismatch',
          `Issue ${state.issueId} is running remediation ${state.remediationId}, not ${d.remediationId}`,
        );
      }
      if (d.outcome === 'completed') {
        return [
          {
            type: 'IssueResolved',
            data: {
              resolution: 'remediated',
              remediationId: d.remediationId,
              attempts: state.attempts,
              durationSeconds: secondsBetween(state.detectedAt ?? at, at),
            },
            metadata,
          },
        ];
      }
      const failure: FailureEvidence = withoutUndefined({
        remediationId: d.remediationId,
        attempt: state.attempts,
        outcome: d.outcome,
        reason: d.reason,
        attemptedActions: [...d.attemptedActions],
        failedAction: d.failedAction,
        observations: [...d.observations],
      });
      if (state.attempts >= state.maxAttempts) {
        const detail = `${state.attempts} remediation attempts failed; the last: ${d.reason}`;
        const hold = escalationHold(state, at);
        if (hold !== null) {
          // The same outcome reported again after a restart: the hold is already recorded.
          if (state.heldEscalation !== null) return [];
          return holdEscalation(state, hold, { reason: 'attempts_exhausted', detail, lastFailure: failure }, metadata);
        }
        return [
          {
            type: 'IssueEscalated',
            data: { reason: 'attempts_exhausted', attempts: state.attempts, detail, lastFailure: failure },
            metadata,
          },
        ];
      }
      const failed = [...d.attemptedActions, ...(d.failedAction === undefined ? [] : [d.failedAction])];
      const doNotRepeat = [...new Set([...state.doNotRepeat, ...failed.map(actionFingerprint)])];
      return [
        {
          type: 'ReanalysisRequested',
          data: {
            insightId: d.insightId,
            attempt: state.attempts + 1,
            failure,
            previousFailures: [...state.failures, failure],
            doNotRepeat,
          },
          metadata,
        },
      ];
    }

    case 'ResolveIssue': {
      requireOpen(state, command);
      return [
        {
          type: 'IssueResolved',
          data: withoutUndefined({
            resolution: 'manual' as const,
            resolvedBy: actorOf(command),
            note: command.data.note,
            attempts: state.attempts,
            durationSeconds: secondsBetween(state.detectedAt ?? at, at),
          }),
          metadata,
        },
      ];
    }

    case 'EscalateIssue': {
      requireOpen(state, command);
      const hold = command.data.reason === 'manual' ? null : escalationHold(state, at);
      if (hold !== null) {
        if (state.heldEscalation !== null) return [];
        return holdEscalation(state, hold, command.data, metadata);
      }
      return [
        {
          type: 'IssueEscalated',
          data: withoutUndefined({
            reason: command.data.reason,
            attempts: state.attempts,
            detail: command.data.detail,
            escalatedBy: metadata.actor,
          }),
          metadata,
        },
      ];
    }

    case 'AcknowledgeIssue': {
      requireOpen(state, command);
      if (state.acknowledgedBy !== null) {
        throw refuse(
          'issue.already_acknowledged',
          `Issue ${state.issueId} was acknowledged by ${state.acknowledgedBy}`,
        );
      }
      return [
        {
          type: 'IssueAcknowledged',
          data: withoutUndefined({ acknowledgedBy: actorOf(command), note: command.data.note }),
          metadata,
        },
      ];
    }

    case 'SnoozeIssue': {
      requireOpen(state, command);
      const { until, reason } = command.data;
      if (requireInstant(until, 'until') <= requireInstant(at, 'metadata.occurredAt')) {
        throw invalid('issue.snooze_not_in_future', `cannot snooze until ${until}: that is not after ${at}`);
      }
      return [
        { type: 'IssueSnoozed', data: withoutUndefined({ until, snoozedBy: actorOf(command), reason }), metadata },
      ];
    }

    case 'UnsnoozeIssue': {
      requireOpen(state, command);
      if (!isSnoozed(state, at)) throw refuse('issue.not_snoozed', `Issue ${state.issueId} is not snoozed at ${at}`);
      const unsnoozed: IssueEvent = { type: 'IssueUnsnoozed', data: { unsnoozedBy: actorOf(command) }, metadata };
      return [unsnoozed, ...released(state, { ...state, snoozedUntil: null }, at, metadata)];
    }

    case 'ReleaseEscalation': {
      requireOpen(state, command);
      return released(state, state, at, metadata);
    }

    case 'CorrelateCascade': {
      requireOpen(state, command);
      const { rootIssueId, chain, windowMinutes } = command.data;
      if (chain[0]?.issueId !== rootIssueId) {
        throw invalid('issue.cascade_root_mismatch', `the cascade root ${rootIssueId} must come first in the chain`);
      }
      if (!chain.some((member) => member.issueId === state.issueId)) {
        throw invalid('issue.not_in_cascade', `Issue ${state.issueId} is not part of the cascade it is linked to`);
      }
      const ids = chain.map((member) => member.issueId);
      const unchanged =
        state.cascade !== null &&
        state.cascade.rootIssueId === rootIssueId &&
        state.cascade.chain.length === ids.length &&
        state.cascade.chain.every((id, index) => id === ids[index]);
      if (unchanged) return [];
      return [{ type: 'IssueCascadeCorrelated', data: { rootIssueId, chain: [...chain], windowMinutes }, metadata }];
    }

    case 'DeferRemediationToRoot': {
      requireOpen(state, command);
      const { rootIssueId, insightId, reason } = command.data;
      if (rootIssueId === state.issueId) {
        throw invalid('issue.defer_to_self', `Issue ${state.issueId} cannot wait for itself`);
      }
      // Only a plan about to be made waits: one under way is not stopped half-way.
      if (state.status !== IssueStatus.Analyzing || state.analysis !== AnalysisStatus.Completed) {
        throw refuse('issue.nothing_to_defer', `Issue ${state.issueId} has no analysed plan waiting to start`);
      }
      if (insightId !== state.insightId) {
        throw refuse(
          'issue.insight_mismatch',
          `${command.type}: expected insight ${state.insightId}, got ${insightId}`,
        );
      }
      const deferral = state.remediationDeferral;
      if (deferral !== null && deferral.rootIssueId === rootIssueId && deferral.insightId === insightId) return [];
      return [
        {
          type: 'IssueRemediationDeferred',
          data: { rootIssueId, insightId, reason: reason.length > 2_000 ? `${reason.slice(0, 1_999)}…` : reason },
          metadata,
        },
      ];
    }

    case 'ReleaseRemediation': {
      requireOpen(state, command);
      const { rootIssueId, reason, detail } = command.data;
      // Nothing waits, or it waits for another root now: a late release changes nothing.
      if (state.remediationDeferral?.rootIssueId !== rootIssueId) return [];
      return [
        {
          type: 'IssueRemediationReleased',
          data: withoutUndefined({ rootIssueId, reason, detail: detail?.slice(0, 2_000) }),
          metadata,
        },
      ];
    }

    case 'ScheduleRecoveryCheck': {
      requireOpen(state, command);
      const { rootIssueId, dueAt } = command.data;
      requireInstant(dueAt, 'dueAt');
      const deferral = state.remediationDeferral;
      // Nothing waits for this root any more, or its check is already on the record.
      if (deferral?.rootIssueId !== rootIssueId || deferral.recoveryCheckDueAt !== undefined) return [];
      return [{ type: 'IssueRecoveryCheckScheduled', data: { rootIssueId, dueAt }, metadata }];
    }

    case 'ResolveRecoveredWithRoot': {
      requireOpen(state, command);
      const { rootIssueId, detail } = command.data;
      // Only a dependant still waiting for this root resolves with it; a released plan is under way.
      if (state.remediationDeferral?.rootIssueId !== rootIssueId) return [];
      return [
        {
          type: 'IssueRecoveredWithRoot',
          data: { rootIssueId, detail: detail.length > 2_000 ? `${detail.slice(0, 1_999)}…` : detail },
          metadata,
        },
        {
          type: 'IssueResolved',
          data: withoutUndefined({
            resolution: 'recovered_with_root' as const,
            resolvedBy: metadata.actor,
            note: `recovered with the root of its cascade, Issue ${rootIssueId}`.slice(0, 2_000),
            attempts: state.attempts,
            durationSeconds: secondsBetween(state.detectedAt ?? at, at),
          }),
          metadata,
        },
      ];
    }

    case 'RecordProposalRefusals': {
      requireOpen(state, command);
      if (state.insightId === null) {
        throw refuse('issue.not_analysed', `Issue ${state.issueId} has no analysis whose proposals could be refused`);
      }
      return refusalEvents(state, state.insightId, command.data.remediationId, command.data.refusals, metadata);
    }

    default:
      return assertNever(command, 'Issue command');
  }
};

export const issueDecider: Decider<IssueState, IssueCommand, IssueEvent> = {
  initialState: initialIssueState,
  evolve: evolveIssue,
  decide: decideIssue,
};
