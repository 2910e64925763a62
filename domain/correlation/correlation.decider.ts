import { assertNever, clip, withoutUndefined } from '../decision.ts';
import type { AnomalyDeduplicated, AnomalyDetected } from '../events/anomaly.events.ts';
import type { ResourceRef } from '../events/common.schema.ts';
import type {
  AnomalyJoinedIssue,
  CorrelationIssueClosed,
  CorrelationIssueOpened,
} from '../events/correlation.events.ts';
import type { Decider } from '../messages.ts';
import { invalid, refuse } from '../refusals.ts';
import { epochMs, isBefore, plusMs, requireInstant } from '../time.ts';
import type { CorrelationCommand } from './correlation.commands.ts';
import { DEDUP_TTL_MS, isSha256Hex } from './dedup.policy.ts';
import { severityFloorOf } from './severityFloor.policy.ts';
import { sameWorkload } from './workload.resolver.ts';

/** One correlation stream per workload: it owns the dedup window and knows the workload's open Issue. */
export type CorrelationEvent =
  | AnomalyDetected
  | AnomalyDeduplicated
  | CorrelationIssueOpened
  | AnomalyJoinedIssue
  | CorrelationIssueClosed;

export interface DedupEntry {
  readonly anomalyId: string;
  readonly expiresAt: string;
}

/**
 * Every anomaly id the stream has answered (recorded or deduplicated), newest first. A chain shared from state to
 * state rather than a set copied on every event, so folding a workload's whole history stays linear.
 */
export interface SeenAnomalies {
  readonly anomalyId: string;
  readonly earlier: SeenAnomalies | null;
}

export interface CorrelationState {
  readonly workload: ResourceRef | null;
  readonly openIssueId: string | null;
  /** By dedup key. Entries past their expiry are dropped as later events arrive. */
  readonly dedup: Readonly<Record<string, DedupEntry>>;
  readonly seen: SeenAnomalies | null;
}

export const initialCorrelationState = (): CorrelationState => ({
  workload: null,
  openIssueId: null,
  dedup: {},
  seen: null,
});

export const hasSeen = (seen: SeenAnomalies | null, anomalyId: string): boolean => {
  for (let link = seen; link !== null; link = link.earlier) if (link.anomalyId === anomalyId) return true;
  return false;
};

const activeAt = (dedup: CorrelationState['dedup'], at: string): Record<string, DedupEntry> =>
  Object.fromEntries(Object.entries(dedup).filter(([, entry]) => isBefore(at, entry.expiresAt)));

export const evolveCorrelation = (state: CorrelationState, event: CorrelationEvent): CorrelationState => {
  switch (event.type) {
    case 'AnomalyDetected': {
      const d = event.data;
      return {
        ...state,
        workload: state.workload ?? d.workload,
        dedup: {
          ...activeAt(state.dedup, event.metadata.occurredAt),
          [d.dedupKey]: { anomalyId: d.anomalyId, expiresAt: d.dedupExpiresAt },
        },
        seen: { anomalyId: d.anomalyId, earlier: state.seen },
      };
    }
    case 'AnomalyDeduplicated':
      return { ...state, seen: { anomalyId: event.data.anomalyId, earlier: state.seen } };
    case 'CorrelationIssueOpened':
      return { ...state, workload: state.workload ?? event.data.workload, openIssueId: event.data.issueId };
    case 'CorrelationIssueClosed': {
      const invalidated = new Set(event.data.invalidatedDedupKeys);
      const dedup = Object.fromEntries(Object.entries(state.dedup).filter(([key]) => !invalidated.has(key)));
      return { ...state, openIssueId: null, dedup };
    }
    default:
      return state;
  }
};

const dedupEntry = (state: CorrelationState, key: string): DedupEntry | undefined =>
  Object.hasOwn(state.dedup, key) ? state.dedup[key] : undefined;

export const decideCorrelation = (
  command: CorrelationCommand,
  state: CorrelationState,
): readonly CorrelationEvent[] => {
  const metadata = command.metadata;
  const at = requireInstant(metadata.occurredAt, 'metadata.occurredAt');

  switch (command.type) {
    case 'RecordAnomaly': {
      const d = command.data;
      if (!isSha256Hex(d.dedupKey)) {
        throw invalid('correlation.invalid_dedup_key', `dedupKey must be a lower-case SHA-256 hex digest`);
      }
      if (state.workload !== null && !sameWorkload(state.workload, d.workload)) {
        throw invalid(
          'correlation.workload_mismatch',
          `this stream correlates ${state.workload.kind}/${state.workload.name}`,
        );
      }
      // One id is one firing (an alert's fingerprint and start, a watcher's observation, an Anomaly object's uid):
      // answered once, however often it is delivered, whether its Issue has ended or its dedup window has passed
      // since. The caller reads what became of it from the stream.
      if (hasSeen(state.seen, d.anomalyId)) return [];
      const entry = dedupEntry(state, d.dedupKey);
      // An anomaly that states its own severity (an SLO pair turning from ticket to page) may raise the open Issue:
      // it joins it rather than being swallowed as a duplicate. Its sources report changes only, never a flood.
      const joinsAnyway = state.openIssueId !== null && severityFloorOf(d.signal, d.labels) !== undefined;
      if (entry !== undefined && at < epochMs(entry.expiresAt) && !joinsAnyway) {
        return [
          {
            type: 'AnomalyDeduplicated',
            data: withoutUndefined({
              anomalyId: d.anomalyId,
              dedupKey: d.dedupKey,
              signal: d.signal,
              workload: d.workload,
              duplicateOf: entry.anomalyId,
              dedupExpiresAt: entry.expiresAt,
              issueId: state.openIssueId ?? undefined,
            }),
            metadata,
          },
        ];
      }
      const detected: AnomalyDetected = {
        type: 'AnomalyDetected',
        data: withoutUndefined({
          anomalyId: d.anomalyId,
          dedupKey: d.dedupKey,
          signal: d.signal,
          source: d.source,
          resource: d.resource,
          workload: d.workload,
          message: clip(d.message),
          observedAt: d.observedAt,
          dedupExpiresAt: plusMs(metadata.occurredAt, DEDUP_TTL_MS) ?? metadata.occurredAt,
          labels: d.labels === undefined ? undefined : { ...d.labels },
          cause: d.cause === undefined ? undefined : { ...d.cause, message: clip(d.cause.message) },
        }),
        metadata,
      };
      const link = { anomalyId: d.anomalyId, signal: d.signal, workload: d.workload };
      return state.openIssueId === null
        ? [detected, { type: 'CorrelationIssueOpened', data: { issueId: d.issueIdIfNew, ...link }, metadata }]
        : [detected, { type: 'AnomalyJoinedIssue', data: { issueId: state.openIssueId, ...link }, metadata }];
    }

    case 'CloseCorrelatedIssue': {
      const { issueId, outcome } = command.data;
      if (state.openIssueId !== issueId) {
        throw refuse('correlation.issue_not_open', `Issue ${issueId} is not the open Issue of this workload`);
      }
      // A resolved Issue forgets its dedup keys, so a recurrence opens a new Issue at once. An escalated one keeps
      // them until they expire: the fault is still there and in human hands, and reopening it would only repeat
      // the remediations that already failed. A different signal on the workload still opens a new Issue.
      const invalidatedDedupKeys = outcome === 'resolved' ? Object.keys(state.dedup).sort() : [];
      return [{ type: 'CorrelationIssueClosed', data: { issueId, outcome, invalidatedDedupKeys }, metadata }];
    }

    default:
      return assertNever(command, 'Correlation command');
  }
};

export const correlationDecider: Decider<CorrelationState, CorrelationCommand, CorrelationEvent> = {
  initialState: initialCorrelationState,
  evolve: evolveCorrelation,
  decide: decideCorrelation,
};
