import { IssueStatus } from '../domain/events/issue.events.ts';
import { type IssueEvent, type IssueState, issueDecider, isTerminal } from '../domain/issue/issue.decider.ts';
import type { RecordedEvent } from '../domain/messages.ts';
import { parseStreamName, StreamCategory } from '../domain/streams.ts';

/**
 * What the event log says Prometheus should count: every time an Issue enters a state, how long resolved Issues
 * took, how remediations ended, and how many Issues are open. Pure: the metrics adapter turns observations into
 * prom-client calls, so the derivation is tested without a registry.
 */
export type MetricObservation =
  | { readonly metric: 'issue_state'; readonly severity: string; readonly state: IssueStatus }
  | { readonly metric: 'issue_resolution'; readonly severity: string; readonly seconds: number }
  | { readonly metric: 'remediation_outcome'; readonly outcome: RemediationOutcome }
  | { readonly metric: 'notification_attempt'; readonly channel: string; readonly outcome: NotificationOutcome }
  | { readonly metric: 'notification_latency'; readonly channel: string; readonly seconds: number };

/** One attempt at a delivery: delivered, failed and to be tried again, or failed and given up. */
export const NotificationOutcome = { Delivered: 'delivered', Failed: 'failed', GivenUp: 'given_up' } as const;
export type NotificationOutcome = (typeof NotificationOutcome)[keyof typeof NotificationOutcome];

export const RemediationOutcome = {
  Completed: 'completed',
  RolledBack: 'rolled_back',
  Failed: 'failed',
} as const;
export type RemediationOutcome = (typeof RemediationOutcome)[keyof typeof RemediationOutcome];

const remediationOutcomes: Readonly<Record<string, RemediationOutcome>> = {
  RemediationCompleted: RemediationOutcome.Completed,
  RemediationRolledBack: RemediationOutcome.RolledBack,
  RemediationFailed: RemediationOutcome.Failed,
};

/** An attempt's outcome and how long the channel's request took. */
function notificationObservations(event: RecordedEvent): MetricObservation[] {
  if (event.type !== 'NotificationDelivered' && event.type !== 'NotificationFailed') return [];
  const d = event.data as { channel: string; latencyMs: number; retryAt?: string };
  const outcome =
    event.type === 'NotificationDelivered'
      ? NotificationOutcome.Delivered
      : d.retryAt === undefined
        ? NotificationOutcome.GivenUp
        : NotificationOutcome.Failed;
  return [
    { metric: 'notification_attempt', channel: d.channel, outcome },
    { metric: 'notification_latency', channel: d.channel, seconds: d.latencyMs / 1000 },
  ];
}

export interface IssueMetricsFold {
  /** The observations this event causes; an event at or below the last position applied causes none. */
  apply(event: RecordedEvent): MetricObservation[];
  /** Issues detected and neither resolved nor escalated. */
  activeIssues(): number;
}

/**
 * Folds the whole log from the start. Only open Issues are held (with the Issue decider's own state, so the
 * metrics never disagree with the aggregate); an Issue is forgotten when it ends, so memory follows the number of
 * open incidents, not the length of history.
 */
export function createIssueMetricsFold(): IssueMetricsFold {
  const open = new Map<string, IssueState>();
  let lastPosition = -1n;

  const applyIssueEvent = (issueId: string, event: RecordedEvent): MetricObservation[] => {
    const before = open.get(issueId) ?? issueDecider.initialState();
    // Events of an Issue that has ended (or was never detected) change no state a metric shows.
    if (before.status === IssueStatus.None && event.type !== 'IssueDetected') return [];
    const after = issueDecider.evolve(before, event as unknown as IssueEvent);
    if (isTerminal(after)) open.delete(issueId);
    else open.set(issueId, after);
    const observations: MetricObservation[] = [];
    if (after.status !== before.status) {
      observations.push({ metric: 'issue_state', severity: after.severity, state: after.status });
    }
    if (event.type === 'IssueResolved') {
      const seconds = Number((event.data as { durationSeconds: number }).durationSeconds);
      observations.push({ metric: 'issue_resolution', severity: after.severity, seconds });
    }
    return observations;
  };

  return {
    apply(event) {
      if (event.position <= lastPosition) return [];
      lastPosition = event.position;
      const { category, id } = parseStreamName(event.streamId);
      if (category === StreamCategory.Issue) return applyIssueEvent(id, event);
      const outcome = remediationOutcomes[event.type];
      if (category === StreamCategory.Remediation && outcome !== undefined) {
        return [{ metric: 'remediation_outcome', outcome }];
      }
      if (category === StreamCategory.Notification) return notificationObservations(event);
      return [];
    },
    activeIssues: () => open.size,
  };
}
