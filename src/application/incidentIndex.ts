import type { IssueDetectedData } from '../../domain/events/issue.events.ts';
import type { RecordedEvent } from '../../domain/messages.ts';
import { parseStreamName, StreamCategory, streamName } from '../../domain/streams.ts';
import type { EventStore } from '../ports/eventStore.ts';

/** An IssueDetected event, kept small: only what the recurrence count reads. */
export interface IndexedDetection {
  readonly position: bigint;
  readonly data: Pick<IssueDetectedData, 'issueId' | 'workload' | 'signal'>;
  readonly metadata: { readonly occurredAt: string };
}

/**
 * What a PostMortem needs from the whole log, kept up to date by reading only the events appended since the last
 * look: every IssueDetected (for recurrence), where each Issue ended, and which remediation streams belong to
 * which Issue (a plan names its Issue; the Issue stream does not always name its plans). Callers ask "as of
 * position P", so an answer never depends on how far the index had read: re-rendering gives the same result.
 */
export interface IncidentIndex {
  /** Reads the log up to its current end. */
  catchUp(): Promise<void>;
  /** IssueDetected events at positions before `position`. */
  detectionsBefore(position: bigint): IndexedDetection[];
  /** Ids of the Issues that ended (Resolved or Escalated) before `position`. */
  endedBefore(position: bigint): Set<string>;
  /** The Issue's own events and those of its remediations, in global order, up to `position` included. */
  incident(issueId: string, upTo: bigint): Promise<RecordedEvent[]>;
}

export function createIncidentIndex(store: EventStore, pageSize = 1000): IncidentIndex {
  const detections: IndexedDetection[] = [];
  const ended = new Map<string, bigint>();
  const plans = new Map<string, Set<string>>();
  let next: bigint | undefined;
  // One reader at a time: two concurrent catch-ups would index the same page twice.
  let reading: Promise<void> = Promise.resolve();

  const index = (event: RecordedEvent) => {
    if (event.streamId.startsWith(`${StreamCategory.Issue}-`)) {
      if (event.type === 'IssueDetected') {
        const d = event.data as IssueDetectedData;
        detections.push({
          position: event.position,
          data: { issueId: d.issueId, workload: d.workload, signal: d.signal },
          metadata: { occurredAt: event.metadata.occurredAt },
        });
      } else if (event.type === 'IssueResolved' || event.type === 'IssueEscalated') {
        ended.set(parseStreamName(event.streamId).id, event.position);
      }
    } else if (event.type === 'RemediationPlanCreated' && event.streamId.startsWith(`${StreamCategory.Remediation}-`)) {
      const { issueId } = event.data as { issueId: string };
      const streams = plans.get(issueId) ?? new Set<string>();
      streams.add(event.streamId);
      plans.set(issueId, streams);
    }
  };

  const readToEnd = async () => {
    for (;;) {
      const page = await store.readAll({ ...(next === undefined ? {} : { fromPosition: next }), maxCount: pageSize });
      for (const event of page) index(event);
      if (page.length > 0) next = page[page.length - 1]!.position + 1n;
      if (page.length < pageSize) return;
    }
  };

  return {
    catchUp() {
      reading = reading.catch(() => {}).then(readToEnd);
      return reading;
    },
    detectionsBefore: (position) => detections.filter((d) => d.position < position),
    endedBefore: (position) => new Set([...ended].filter(([, at]) => at < position).map(([id]) => id)),
    async incident(issueId, upTo) {
      const streams = [streamName(StreamCategory.Issue, issueId), ...(plans.get(issueId) ?? [])];
      const events = (await Promise.all(streams.map((s) => store.readStream(s)))).flat();
      return events.filter((e) => e.position <= upTo).sort((a, b) => (a.position < b.position ? -1 : 1));
    },
  };
}
