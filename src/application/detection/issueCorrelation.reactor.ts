import { correlationDecider } from '../../../domain/correlation/correlation.decider.ts';
import { FLOORED_SIGNALS, severityFloorOf } from '../../../domain/correlation/severityFloor.policy.ts';
import { isCairnError } from '../../../domain/errors.ts';
import type { AnomalyDetected } from '../../../domain/events/anomaly.events.ts';
import type { AnomalyJoinedIssue, CorrelationIssueOpened } from '../../../domain/events/correlation.events.ts';
import type { IssueDetected } from '../../../domain/events/issue.events.ts';
import { issueDecider } from '../../../domain/issue/issue.decider.ts';
import type { RecordedEvent } from '../../../domain/messages.ts';
import { StreamCategory, streamName } from '../../../domain/streams.ts';
import type { EventStore } from '../../ports/eventStore.ts';
import { createCommandHandler } from '../commandHandler.ts';
import type { Reactor } from '../reactor.ts';
import { correlationStream } from './anomalyRecorder.ts';

/** Refusals that mean "this already happened": the reactor is handling an event a second time. */
const ALREADY_DONE = new Set(['issue.already_detected', 'correlation.issue_not_open']);

/**
 * The correlation stream says which Issue an anomaly opens or joins; this tells that Issue. When the Issue ends,
 * it tells the correlation stream, which forgets the workload's dedup entries so a recurrence is seen at once. Commands carry the
 * correlation event's own time, so handling an event again yields the same decision, and the Issue decider turns a
 * repeat into nothing (an anomaly already attached) or a refusal that is expected here (an Issue already detected).
 */
export function issueCorrelationReactor(deps: {
  store: EventStore;
  /** Remediation attempts an Issue gets before it is escalated. */
  maxAttempts?: number;
  onRefused?: (reason: string) => void;
}): Reactor {
  const issues = createCommandHandler(deps.store, issueDecider);
  const correlations = createCommandHandler(deps.store, correlationDecider);

  const detectedIn = async (stream: string, anomalyId: string) => {
    const events = await deps.store.readStream(stream);
    const found = events.find(
      (e) => e.type === 'AnomalyDetected' && (e.data as { anomalyId: string }).anomalyId === anomalyId,
    );
    if (!found) throw new Error(`no AnomalyDetected for ${anomalyId} in ${stream}`);
    return found as RecordedEvent<AnomalyDetected>;
  };

  return {
    name: 'issue-correlation',
    filter: { eventTypes: ['CorrelationIssueOpened', 'AnomalyJoinedIssue', 'IssueResolved', 'IssueEscalated'] },
    async handle(event) {
      const metadata = { occurredAt: event.metadata.occurredAt, causationId: event.id, actor: 'system:correlation' };
      try {
        if (event.type === 'CorrelationIssueOpened') {
          const opened = (event as RecordedEvent<CorrelationIssueOpened>).data;
          const anomaly = (await detectedIn(event.streamId, opened.anomalyId)).data;
          const severityFloor = severityFloorOf(anomaly.signal, anomaly.labels);
          await issues(streamName(StreamCategory.Issue, opened.issueId), {
            type: 'DetectIssue',
            data: {
              issueId: opened.issueId,
              workload: anomaly.workload,
              resource: anomaly.resource,
              signal: anomaly.signal,
              source: anomaly.source,
              anomalyId: anomaly.anomalyId,
              description: anomaly.message,
              ...(deps.maxAttempts ? { maxAttempts: deps.maxAttempts } : {}),
              ...(severityFloor ? { severityFloor } : {}),
            },
            metadata,
          });
        } else if (event.type === 'IssueResolved' || event.type === 'IssueEscalated') {
          const [first] = await deps.store.readStream(event.streamId, { maxCount: 1 });
          if (first?.type !== 'IssueDetected') throw new Error(`${event.streamId} does not start with IssueDetected`);
          const { issueId, workload } = (first as RecordedEvent<IssueDetected>).data;
          await correlations(correlationStream(workload), {
            type: 'CloseCorrelatedIssue',
            data: { issueId, outcome: event.type === 'IssueResolved' ? 'resolved' : 'escalated' },
            metadata,
          });
        } else {
          const joined = (event as RecordedEvent<AnomalyJoinedIssue>).data;
          // Only a signal that can carry a floor is worth reading its anomaly for.
          const severityFloor = FLOORED_SIGNALS.has(joined.signal)
            ? severityFloorOf(joined.signal, (await detectedIn(event.streamId, joined.anomalyId)).data.labels)
            : undefined;
          await issues(streamName(StreamCategory.Issue, joined.issueId), {
            type: 'AttachAnomaly',
            data: { anomalyId: joined.anomalyId, signal: joined.signal, ...(severityFloor ? { severityFloor } : {}) },
            metadata,
          });
        }
      } catch (error) {
        if (isCairnError(error) && (ALREADY_DONE.has(error.code) || error.category === 'IllegalState')) {
          // An Issue that ended while the anomaly was on its way: the anomaly stays recorded, the Issue closed.
          if (!ALREADY_DONE.has(error.code)) deps.onRefused?.(error.message);
          return;
        }
        throw error;
      }
    },
  };
}
