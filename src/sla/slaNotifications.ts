import type { NotificationTransition } from '../../domain/events/notification.events.ts';
import type { SlaStartedData } from '../../domain/events/sla.events.ts';
import type { RecordedEvent } from '../../domain/messages.ts';
import { parseStreamName, StreamCategory } from '../../domain/streams.ts';
import type { EventStore } from '../ports/eventStore.ts';

/** The SLA events a NotificationPolicy rule can ask for, and the transition each one is. */
export const SLA_NOTIFIED_EVENTS = ['SlaWarned', 'SlaViolated'] as const;

export const slaTransitionOf = (event: RecordedEvent): NotificationTransition | undefined =>
  event.type === 'SlaWarned' ? 'sla_warning' : event.type === 'SlaViolated' ? 'sla_violated' : undefined;

/**
 * The policies that hear of an SLA event: only the one the IncidentSLA names in notificationPolicyRef (as copied
 * when the clock started), every policy when it names none. Other events reach every policy.
 */
export async function slaAudience<P extends { readonly namespace: string; readonly name: string }>(
  store: EventStore,
  event: RecordedEvent,
  policies: readonly P[],
): Promise<readonly P[]> {
  if (slaTransitionOf(event) === undefined || parseStreamName(event.streamId).category !== StreamCategory.Sla) {
    return policies;
  }
  const started = (await store.readStream(event.streamId, { maxCount: 1 }))[0];
  const named = (started?.data as SlaStartedData | undefined)?.notificationPolicy;
  if (named === undefined) return policies;
  return policies.filter((p) => p.namespace === named.namespace && p.name === named.name);
}
