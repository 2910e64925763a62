import { describe, expect, it } from 'vitest';
import type { EscalationEvent } from '../../domain/escalation/escalation.decider.ts';
import { escalationDecider } from '../../domain/escalation/escalation.decider.ts';
import { issueDecider } from '../../domain/issue/issue.decider.ts';
import type { RecordedEvent } from '../../domain/messages.ts';
import { StreamCategory, streamName } from '../../domain/streams.ts';
import { minute } from '../../test/support/incidentLog.ts';
import { openEventStore } from '../adapters/eventstore/openEventStore.ts';
import { createCommandHandler } from '../application/commandHandler.ts';
import type { EventStore } from '../ports/eventStore.ts';
import type { ValidEscalationPolicy } from './escalationPolicy.validation.ts';
import { escalationRouterReactor } from './escalationRouter.reactor.ts';

const policy: ValidEscalationPolicy = {
  namespace: 'cairn-system',
  name: 'platform',
  generation: 4,
  isDefault: true,
  clusterWide: true,
  notificationPolicy: 'on-call',
  levels: [
    { name: 'primary', channels: ['pager'], escalateAfterSeconds: 300 },
    { name: 'secondary', channels: ['chat'] },
  ],
};

async function setup(policies: ValidEscalationPolicy[] = [policy]) {
  const store: EventStore = openEventStore('memory:');
  const reactor = escalationRouterReactor({
    store,
    policies: async () => policies,
    channelType: (_ns, _policy, channel) => (channel === 'pager' ? 'pagerduty' : 'slack'),
    labelsOf: async () => ({}),
  });
  const issues = createCommandHandler(store, issueDecider);
  const issueStream = streamName(StreamCategory.Issue, 'iss-1');
  /** Sends a command to the Issue and hands each event it wrote to the router, as the reactor runner would. */
  const issue = async (command: Parameters<typeof issues>[1]) => {
    const before = (await store.readStream(issueStream)).length;
    await issues(issueStream, command);
    for (const event of (await store.readStream(issueStream)).slice(before)) await reactor.handle(event);
  };
  const escalation = async () => {
    const events = (await store.readStream(
      streamName(StreamCategory.Escalation, 'iss-1'),
    )) as unknown as RecordedEvent<EscalationEvent>[];
    return { events, state: events.reduce(escalationDecider.evolve, escalationDecider.initialState()) };
  };
  const detect = (signal = 'oom_kill') =>
    issue({
      type: 'DetectIssue',
      data: {
        issueId: 'iss-1',
        workload: { kind: 'Deployment', name: 'web', namespace: 'shop' },
        resource: { kind: 'Deployment', name: 'web', namespace: 'shop' },
        signal,
        source: 'watcher',
        anomalyId: 'a1',
        description: 'container app was OOMKilled',
      },
      metadata: { occurredAt: minute(0), actor: 'system:test' },
    });
  return { store, reactor, issue, escalation, detect, issueStream };
}

describe('the escalation router', () => {
  it('starts the escalation of a detected Issue a policy takes, with the channel types of its NotificationPolicy', async () => {
    const { escalation, detect, store, reactor, issueStream } = await setup();
    await detect('oom_kill');
    // The detection handled again (a crash before the checkpoint) starts nothing more.
    for (const event of await store.readStream(issueStream)) await reactor.handle(event);
    const { state, events } = await escalation();
    expect(events.map((e) => e.type)).toEqual(['EscalationStarted', 'EscalationLevelPaged']);
    expect(state).toMatchObject({
      status: 'active',
      level: 1,
      policy: { name: 'platform', generation: 4 },
      notificationPolicy: { namespace: 'cairn-system', name: 'on-call' },
      deadline: new Date(Date.parse(minute(0)) + 300_000).toISOString(),
    });
    expect(state.levels.map((l) => l.channels)).toEqual([
      [{ name: 'pager', type: 'pagerduty' }],
      [{ name: 'chat', type: 'slack' }],
    ]);
  });

  it('takes nothing no policy matches', async () => {
    // An OOM alone is a low-severity Issue.
    const { escalation, detect } = await setup([{ ...policy, severities: ['critical', 'high'] }]);
    await detect();
    expect((await escalation()).events).toEqual([]);
  });

  it('an escalation of the running Issue pages the next level at once, and the same event handled again pages nothing', async () => {
    const { escalation, detect, issue, reactor, store, issueStream } = await setup();
    await detect();
    await issue({
      type: 'EscalateIssue',
      data: { reason: 'manual', detail: 'paged by hand' },
      metadata: { occurredAt: minute(1), actor: 'key:alice' },
    });
    const escalated = (await store.readStream(issueStream)).find((e) => e.type === 'IssueEscalated');
    expect(escalated).toBeDefined();
    await reactor.handle(escalated!);
    const { state } = await escalation();
    expect(state.level).toBe(2);
    expect(state.pages).toBe(2);
  });

  it('an acknowledgement and then the resolution of the Issue reach its escalation', async () => {
    const { escalation, detect, issue } = await setup();
    await detect();
    await issue({ type: 'AcknowledgeIssue', data: {}, metadata: { occurredAt: minute(1), actor: 'key:alice' } });
    expect((await escalation()).state).toMatchObject({
      status: 'acknowledged',
      acknowledgedBy: 'key:alice',
      deadline: null,
    });
    await issue({ type: 'ResolveIssue', data: {}, metadata: { occurredAt: minute(2), actor: 'key:alice' } });
    const { state } = await escalation();
    expect(state.status).toBe('resolved');
    expect(
      Object.values(state.deliveries)
        .filter((d) => d.delivery.status === 'resolved')
        .map((d) => [d.delivery.channel.name, d.delivery.action]),
    ).toEqual([['pager', 'resolve']]);
  });

  it('a snooze of the Issue stops the clock of its escalation', async () => {
    const { escalation, detect, issue } = await setup();
    await detect();
    await issue({
      type: 'SnoozeIssue',
      data: { until: minute(30) },
      metadata: { occurredAt: minute(1), actor: 'key:alice' },
    });
    // 4 of level 1's 5 minutes were left, and run from the end of the snooze.
    expect((await escalation()).state).toMatchObject({ status: 'snoozed', deadline: minute(34) });
  });
});
