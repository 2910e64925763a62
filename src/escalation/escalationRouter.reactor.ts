import type { EscalationCommand } from '../../domain/escalation/escalation.commands.ts';
import { type EscalationEvent, escalationDecider } from '../../domain/escalation/escalation.decider.ts';
import { selectPolicy } from '../../domain/escalation/escalation.selection.ts';
import type { ResourceRef } from '../../domain/events/common.schema.ts';
import type { NotificationChannelRef, NotifiedIssue } from '../../domain/events/notification.events.ts';
import { type IssueEvent, type IssueState, isSnoozed, issueDecider } from '../../domain/issue/issue.decider.ts';
import type { RecordedEvent } from '../../domain/messages.ts';
import { parseStreamName, StreamCategory, streamName } from '../../domain/streams.ts';
import { issueName } from '../../projections/kubernetesResources.projection.ts';
import { createCommandHandler } from '../application/commandHandler.ts';
import type { Reactor } from '../application/reactor.ts';
import type { EventStore } from '../ports/eventStore.ts';
import type { ValidEscalationPolicy } from './escalationPolicy.validation.ts';

export const ESCALATION_ROUTER = 'escalation-router';

export interface EscalationRouterOptions {
  readonly store: EventStore;
  /** The valid, enabled policies, once the informer has listed them. */
  readonly policies: () => Promise<readonly ValidEscalationPolicy[]>;
  /** The type of a channel of a NotificationPolicy as it is now; undefined when there is no such channel. */
  readonly channelType: (
    namespace: string,
    policy: string,
    channel: string,
  ) => NotificationChannelRef['type'] | undefined;
  readonly labelsOf: (workload: ResourceRef) => Promise<Readonly<Record<string, string>>>;
  readonly log?: (line: string) => void;
}

export const notifiedIssue = (issueId: string, state: IssueState, summary: string): NotifiedIssue | undefined =>
  state.workload === null
    ? undefined
    : {
        issueId,
        name: issueName(issueId, state.workload),
        severity: state.severity,
        signal: state.signal,
        riskScore: state.riskScore,
        workload: state.workload,
        state: state.status,
        summary: summary.slice(0, 2_000),
        detectedAt: state.detectedAt ?? new Date(0).toISOString(),
        ...(state.acknowledgedBy ? { acknowledgedBy: state.acknowledgedBy.slice(0, 2_000) } : {}),
      };

/**
 * Turns Issue events into escalation commands: an Issue a policy takes starts its escalation when it is detected
 * (or its severity rises into a policy, or Cairn escalates it first); Cairn escalating a running one pages the next
 * level now; acknowledgements, snoozes and resolutions go to the escalation as they happen. Each command is decided
 * on the escalation's own stream, so an event handled twice after a crash changes nothing the second time.
 */
export function escalationRouterReactor(options: EscalationRouterOptions): Reactor {
  const escalations = createCommandHandler<
    ReturnType<typeof escalationDecider.initialState>,
    EscalationCommand,
    EscalationEvent
  >(options.store, escalationDecider, { maxAttempts: 5 });

  const start = async (
    event: RecordedEvent,
    issueId: string,
    history: RecordedEvent<IssueEvent>[],
    state: IssueState,
  ) => {
    const at = event.metadata.occurredAt;
    if (state.status === 'Resolved' || state.acknowledgedBy !== null || state.workload === null) return;
    const policies = await options.policies();
    if (policies.length === 0) return;
    const labels = policies.some((p) => p.labelSelector !== undefined) ? await options.labelsOf(state.workload) : {};
    const policy = selectPolicy(policies, { severity: state.severity, workload: state.workload }, labels);
    if (policy === undefined) return;
    const detected = history.find((e) => e.type === 'IssueDetected');
    const issue = notifiedIssue(issueId, state, detected?.type === 'IssueDetected' ? detected.data.description : '');
    if (issue === undefined) return;
    const stream = streamName(StreamCategory.Escalation, issueId);
    const outcome = await escalations(stream, {
      type: 'StartEscalation',
      data: {
        issueId,
        policy: { namespace: policy.namespace, name: policy.name, generation: policy.generation },
        notificationPolicy: { namespace: policy.namespace, name: policy.notificationPolicy },
        levels: policy.levels.map((level) => ({
          name: level.name,
          // A channel missing from the NotificationPolicy is kept by name: its page fails, on the record, visibly.
          channels: level.channels.map((name) => ({
            name,
            type: options.channelType(policy.namespace, policy.notificationPolicy, name) ?? 'webhook',
          })),
          ...(level.escalateAfterSeconds === undefined ? {} : { escalateAfterSeconds: level.escalateAfterSeconds }),
        })),
        ...(policy.repeatLastLevelEverySeconds === undefined
          ? {}
          : { repeatLastLevelEverySeconds: policy.repeatLastLevelEverySeconds }),
        trigger: event.type === 'IssueEscalated' ? 'escalated' : 'detected',
        issue,
      },
      metadata: { occurredAt: at, actor: 'system:escalation', causationId: event.id },
    });
    if (outcome.newEvents.length > 0) {
      options.log?.(`escalation: Issue ${issueId} escalates under ${policy.namespace}/${policy.name}, level 1 paged`);
    }
    // Snoozed before any policy took it: the clock starts stopped.
    if (state.snoozedUntil !== null && isSnoozed(state, at)) {
      await escalations(stream, {
        type: 'SnoozeEscalation',
        data: { until: state.snoozedUntil },
        metadata: { occurredAt: at, actor: 'system:escalation', causationId: event.id },
      });
    }
  };

  return {
    name: ESCALATION_ROUTER,
    filter: {
      streamPrefixes: [`${StreamCategory.Issue}-`],
      eventTypes: [
        'IssueDetected',
        'IssueAnomalyAttached',
        'IssueEscalated',
        'IssueAcknowledged',
        'IssueSnoozed',
        'IssueUnsnoozed',
        'IssueResolved',
      ],
    },
    handle: async (event) => {
      const { id: issueId } = parseStreamName(event.streamId);
      const stream = streamName(StreamCategory.Escalation, issueId);
      const meta = { occurredAt: event.metadata.occurredAt, actor: event.metadata.actor ?? 'system:escalation' };
      const send = (command: EscalationCommand) => escalations(stream, command);
      switch (event.type) {
        case 'IssueAcknowledged': {
          const by = (event.data as { acknowledgedBy: string }).acknowledgedBy;
          await send({ type: 'AcknowledgeEscalation', data: { acknowledgedBy: by }, metadata: meta });
          return;
        }
        case 'IssueSnoozed':
          await send({
            type: 'SnoozeEscalation',
            data: { until: (event.data as { until: string }).until },
            metadata: meta,
          });
          return;
        case 'IssueUnsnoozed':
          await send({ type: 'UnsnoozeEscalation', data: {}, metadata: meta });
          return;
        case 'IssueResolved':
          await send({ type: 'ResolveEscalation', data: {}, metadata: meta });
          return;
      }
      if (event.type === 'IssueAnomalyAttached') {
        const data = event.data as { severity: string; previousSeverity: string };
        if (data.severity === data.previousSeverity) return;
      }
      const running = (await options.store.readStream(stream)).length > 0;
      if (running) {
        if (event.type !== 'IssueEscalated') return;
        const detail = event.data as { reason?: string };
        await send({
          type: 'EscalateNow',
          data: { reason: `Issue escalated (${detail.reason ?? 'escalated'})`, requestId: event.id },
          metadata: meta,
        });
        return;
      }
      const history = (await options.store.readStream(
        streamName(StreamCategory.Issue, issueId),
      )) as unknown as RecordedEvent<IssueEvent>[];
      const state = history.reduce(issueDecider.evolve, issueDecider.initialState());
      await start(event, issueId, history, state);
    },
  };
}
