import { createHash } from 'node:crypto';
import type { ResourceRef } from '../../domain/events/common.schema.ts';
import type { NotificationTransition, NotifiedIssue } from '../../domain/events/notification.events.ts';
import { type IssueEvent, issueDecider } from '../../domain/issue/issue.decider.ts';
import type { RecordedEvent } from '../../domain/messages.ts';
import { notificationDecider } from '../../domain/notification/notification.decider.ts';
import { type RoutingPolicy, routesFor } from '../../domain/notification/notification.routing.ts';
import { parseStreamName, StreamCategory, streamName } from '../../domain/streams.ts';
import { issueName } from '../../projections/kubernetesResources.projection.ts';
import { createCommandHandler } from '../application/commandHandler.ts';
import type { Reactor } from '../application/reactor.ts';
import type { EventStore } from '../ports/eventStore.ts';
import { SLA_NOTIFIED_EVENTS, slaAudience, slaTransitionOf } from '../sla/slaNotifications.ts';
import { SLO_NOTIFIED_EVENTS, sloIssueIdOf, sloTransitionOf } from '../slo/sloNotifications.ts';

export const NOTIFICATION_ROUTER = 'notification-router';

const transitionOf = (event: RecordedEvent): NotificationTransition | undefined => {
  switch (event.type) {
    case 'IssueDetected':
      return 'detected';
    case 'IssueAnomalyAttached': {
      // A severity that rose may now match a rule the Issue did not match when it was detected.
      const data = event.data as { severity: string; previousSeverity: string };
      return data.severity !== data.previousSeverity ? 'detected' : undefined;
    }
    case 'IssueEscalated':
      return 'escalated';
    case 'ApprovalRequested':
      return 'approval_needed';
    case 'ApprovalGranted':
      // Each approval is recorded; people hear once, when the quorum is reached and the plan runs.
      return (event.data as { quorumReached?: boolean }).quorumReached ? 'approval_granted' : undefined;
    case 'ApprovalExpired':
      return 'approval_expired';
    case 'IssueAcknowledged':
      return 'acknowledged';
    case 'IssueResolved':
      return 'resolved';
    default:
      return slaTransitionOf(event) ?? sloTransitionOf(event);
  }
};

/** The group's stream id: the policy, rule and group key, hashed into a short stable name. */
export const groupIdOf = (policy: RoutingPolicy, rule: string, groupKey: string): string =>
  createHash('sha256')
    .update(JSON.stringify([policy.namespace, policy.name, rule, groupKey]))
    .digest('hex')
    .slice(0, 32);

export interface NotificationRouterOptions {
  readonly store: EventStore;
  /** The valid policies, once the informer has listed them: routing against an empty cache would lose events. */
  readonly policies: () => Promise<readonly RoutingPolicy[]>;
  /** The workload's labels, asked only when some rule has a label selector. */
  readonly labelsOf: (workload: ResourceRef) => Promise<Readonly<Record<string, string>>>;
}

/**
 * Turns Issue events into transitions of the notification groups whose rules match them. Its checkpoint follows the
 * effect (see reactor.ts); a transition routed twice is recognised by the group through the source event's id.
 */
export function notificationRouterReactor(options: NotificationRouterOptions): Reactor {
  const groups = createCommandHandler(options.store, notificationDecider, { maxAttempts: 5 });

  const issueIdOf = async (event: RecordedEvent): Promise<string | undefined> => {
    const { category, id } = parseStreamName(event.streamId);
    if (category === StreamCategory.Issue || category === StreamCategory.Sla) return id;
    if (category === StreamCategory.Slo) return sloIssueIdOf(event);
    const plan = (await options.store.readStream(event.streamId)).find((e) => e.type === 'RemediationPlanCreated');
    return (plan?.data as { issueId?: string } | undefined)?.issueId;
  };

  return {
    name: NOTIFICATION_ROUTER,
    filter: {
      streamPrefixes: [
        `${StreamCategory.Issue}-`,
        `${StreamCategory.Remediation}-`,
        `${StreamCategory.Sla}-`,
        `${StreamCategory.Slo}-`,
      ],
      eventTypes: [
        'IssueDetected',
        'IssueAnomalyAttached',
        'IssueEscalated',
        'ApprovalRequested',
        'ApprovalGranted',
        'ApprovalExpired',
        'IssueAcknowledged',
        'IssueResolved',
        ...SLA_NOTIFIED_EVENTS,
        ...SLO_NOTIFIED_EVENTS,
      ],
    },
    handle: async (event) => {
      const transition = transitionOf(event);
      if (transition === undefined) return;
      const policies = await slaAudience(options.store, event, await options.policies());
      if (policies.length === 0) return;
      const issueId = await issueIdOf(event);
      if (issueId === undefined) return;
      const history = (await options.store.readStream(
        streamName(StreamCategory.Issue, issueId),
      )) as unknown as RecordedEvent<IssueEvent>[];
      const state = history.reduce(issueDecider.evolve, issueDecider.initialState());
      const detected = history.find((e) => e.type === 'IssueDetected');
      if (state.workload === null || detected?.type !== 'IssueDetected') return;
      const issue: NotifiedIssue = {
        issueId,
        name: issueName(issueId, state.workload),
        severity: state.severity,
        signal: state.signal,
        riskScore: state.riskScore,
        workload: state.workload,
        state: state.status,
        summary: detected.data.description.slice(0, 2_000),
        detectedAt: state.detectedAt ?? detected.metadata.occurredAt,
        ...(state.acknowledgedBy ? { acknowledgedBy: state.acknowledgedBy.slice(0, 2_000) } : {}),
      };
      const needsLabels = policies.some((p) => p.rules.some((r) => r.labelSelector !== undefined));
      const labels = needsLabels ? await options.labelsOf(state.workload) : {};
      for (const route of routesFor(policies, issue, labels, transition)) {
        const groupId = groupIdOf(route.policy, route.rule.name, route.groupKey);
        await groups(streamName(StreamCategory.Notification, groupId), {
          type: 'RecordTransition',
          data: {
            groupId,
            policy: { namespace: route.policy.namespace, name: route.policy.name, rule: route.rule.name },
            groupKey: route.groupKey,
            channels: route.rule.channels.map((name) => ({
              name,
              type: route.policy.channels.find((c) => c.name === name)?.type ?? 'webhook',
            })),
            grouping: route.policy.grouping,
            transition,
            subscribed: route.subscribed,
            issue,
            sourceEventId: event.id,
          },
          metadata: { occurredAt: event.metadata.occurredAt, actor: 'system:notifications' },
        });
      }
    },
  };
}
