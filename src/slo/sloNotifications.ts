import type { NotificationTransition } from '../../domain/events/notification.events.ts';
import type { SloBurnAlertFiredData } from '../../domain/events/slo.events.ts';
import type { RecordedEvent } from '../../domain/messages.ts';

/** The SLO events a NotificationPolicy rule can ask for, and the transition each one is. */
export const SLO_NOTIFIED_EVENTS = ['SloBurnAlertFired'] as const;

export const sloTransitionOf = (event: RecordedEvent): NotificationTransition | undefined =>
  event.type === 'SloBurnAlertFired' ? 'slo_burn' : undefined;

/** The Issue a burn alert's slo_burn_rate anomaly opened or joined; undefined when it was deduplicated away. */
export const sloIssueIdOf = (event: RecordedEvent): string | undefined =>
  event.type === 'SloBurnAlertFired' ? (event.data as SloBurnAlertFiredData).issueId : undefined;
