import { CairnError, ErrorCategory } from '../../../domain/errors.ts';
import type { Event } from '../../../domain/messages.ts';
import type { EventStore } from '../../ports/eventStore.ts';
import { type AnomalyReport, correlationStream } from './anomalyRecorder.ts';

/**
 * What became of one report, for sources that answer someone (an HTTP caller, a hand-made Anomaly's status).
 * The recorder returns only the events it appended; a report it had already recorded appends nothing, and its
 * outcome is then read back from the workload's correlation stream.
 */
export type AnomalyOutcome =
  | {
      readonly status: 'recorded';
      readonly anomalyId: string;
      readonly dedupKey: string;
      readonly issueId: string;
      readonly openedIssue: boolean;
      /** True when an earlier delivery of the same anomaly (same id) had recorded it. */
      readonly repeated: boolean;
    }
  | {
      readonly status: 'deduplicated';
      readonly anomalyId: string;
      readonly dedupKey: string;
      readonly duplicateOf: string;
      readonly issueId?: string;
      readonly repeated: boolean;
    };

interface Linked {
  readonly anomalyId?: string;
  readonly issueId?: string;
  readonly dedupKey?: string;
  readonly duplicateOf?: string;
}

/** Summarises the events about one anomaly id, from a fresh decision or from the stream's history. */
export function outcomeOf(events: readonly Event[], anomalyId: string, repeated: boolean): AnomalyOutcome | undefined {
  const about = events.filter((e) => (e.data as Linked).anomalyId === anomalyId);
  const detected = about.find((e) => e.type === 'AnomalyDetected');
  const duplicate = about.findLast((e) => e.type === 'AnomalyDeduplicated');
  if (detected) {
    const link = about.find((e) => e.type === 'CorrelationIssueOpened' || e.type === 'AnomalyJoinedIssue');
    const issueId = (link?.data as Linked | undefined)?.issueId;
    if (issueId === undefined) return undefined;
    return {
      status: 'recorded',
      anomalyId,
      dedupKey: (detected.data as Linked).dedupKey ?? '',
      issueId,
      openedIssue: link?.type === 'CorrelationIssueOpened',
      repeated,
    };
  }
  if (duplicate) {
    const data = duplicate.data as Linked;
    return {
      status: 'deduplicated',
      anomalyId,
      dedupKey: data.dedupKey ?? '',
      duplicateOf: data.duplicateOf ?? '',
      ...(data.issueId ? { issueId: data.issueId } : {}),
      repeated,
    };
  }
  return undefined;
}

export type AnomalyIntake = (report: AnomalyReport & { readonly anomalyId: string }) => Promise<AnomalyOutcome>;

/** Records through the one recorder and says what happened; the caller names the anomaly, so retries are safe. */
export function createAnomalyIntake(deps: {
  readonly record: (report: AnomalyReport) => Promise<readonly Event[]>;
  readonly store: Pick<EventStore, 'readStream'>;
}): AnomalyIntake {
  return async (report) => {
    const fresh = outcomeOf(await deps.record(report), report.anomalyId, false);
    if (fresh) return fresh;
    const history = await deps.store.readStream(correlationStream(report.workload));
    const earlier = outcomeOf(history, report.anomalyId, true);
    if (earlier) return earlier;
    throw new CairnError(
      'anomaly.outcome_unknown',
      ErrorCategory.Internal,
      `anomaly ${report.anomalyId} was neither recorded now nor found in its correlation stream`,
    );
  };
}
