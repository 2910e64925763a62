import { describe, expect, it } from 'vitest';
import type { EscalationStartedData } from '../events/escalation.events.ts';
import { deciderSpec } from '../testing/decider.spec.ts';
import type { EscalationCommand } from './escalation.commands.ts';
import { duePages, type EscalationEvent, escalationDecider } from './escalation.decider.ts';

const spec = deciderSpec(escalationDecider);
const T0 = '2026-12-07T10:00:00.000Z';
const at = (seconds: number) => new Date(Date.parse(T0) + seconds * 1000).toISOString();
const meta = (seconds: number) => ({ occurredAt: at(seconds), actor: 'system:escalation' });

const started = (repeat?: number): EscalationStartedData => ({
  issueId: 'iss-1',
  policy: { namespace: 'cairn-system', name: 'platform', generation: 1 },
  notificationPolicy: { namespace: 'cairn-system', name: 'on-call' },
  levels: [
    {
      name: 'primary',
      channels: [
        { name: 'pager-primary', type: 'pagerduty' },
        { name: 'chat', type: 'slack' },
      ],
      escalateAfterSeconds: 300,
    },
    { name: 'secondary', channels: [{ name: 'pager-secondary', type: 'pagerduty' }], escalateAfterSeconds: 600 },
    { name: 'managers', channels: [{ name: 'chat', type: 'slack' }] },
  ],
  ...(repeat === undefined ? {} : { repeatLastLevelEverySeconds: repeat }),
  trigger: 'detected',
  issue: {
    issueId: 'iss-1',
    name: 'deployment-shop-web-iss-1',
    severity: 'critical',
    signal: 'crashloop',
    riskScore: 90,
    workload: { kind: 'Deployment', namespace: 'shop', name: 'web' },
    state: 'Detected',
    summary: 'web crash-loops',
    detectedAt: T0,
  },
});

const start = (repeat?: number): EscalationCommand => ({
  type: 'StartEscalation',
  data: started(repeat),
  metadata: meta(0),
});
const fire = (deadline: string, seconds: number): EscalationCommand => ({
  type: 'FireEscalationDeadline',
  data: { deadline },
  metadata: meta(seconds),
});
const ack = (seconds: number): EscalationCommand => ({
  type: 'AcknowledgeEscalation',
  data: { acknowledgedBy: 'alice' },
  metadata: meta(seconds),
});
const snooze = (until: number, seconds: number): EscalationCommand => ({
  type: 'SnoozeEscalation',
  data: { until: at(until) },
  metadata: meta(seconds),
});
const resolve = (seconds: number): EscalationCommand => ({
  type: 'ResolveEscalation',
  data: {},
  metadata: meta(seconds),
});

const pages = (events: readonly EscalationEvent[]) =>
  events.flatMap((e) =>
    e.type === 'EscalationLevelPaged'
      ? [{ level: e.data.level, reason: e.data.reason, channels: e.data.deliveries.map((d) => d.channel.name) }]
      : [],
  );

describe('escalation decider', () => {
  it('pages level 1 when it starts and records when level 2 is due', () => {
    const events = spec.history(start());
    expect(events.map((e) => e.type)).toEqual(['EscalationStarted', 'EscalationLevelPaged']);
    const paged = events[1];
    expect(paged?.type === 'EscalationLevelPaged' && paged.data).toMatchObject({
      level: 1,
      levelName: 'primary',
      nextDeadline: at(300),
      deliveries: [
        { channel: { name: 'pager-primary' }, action: 'trigger', status: 'firing', transition: 'detected' },
        { channel: { name: 'chat' }, status: 'firing', transition: 'detected' },
      ],
    });
  });

  it('a second start of the same escalation changes nothing', () => {
    spec
      .given(...spec.history(start()))
      .when(start())
      .expectNoEvents();
  });

  it('advances to the next level when the deadline passes, counting the next timeout from the page', () => {
    const events = spec
      .given(...spec.history(start()))
      .when(fire(at(300), 302))
      .events();
    expect(pages(events)).toEqual([{ level: 2, reason: 'timeout', channels: ['pager-secondary'] }]);
    expect(events[0]?.type === 'EscalationLevelPaged' && events[0].data.nextDeadline).toBe(at(902));
  });

  it('a due command arriving early does nothing', () => {
    spec
      .given(...spec.history(start()))
      .when(fire(at(300), 299))
      .expectNoEvents();
  });

  it('a due command arriving twice fires once', () => {
    const history = spec.history(start(), fire(at(300), 301), fire(at(300), 301), fire(at(300), 400));
    expect(pages(history).map((p) => p.level)).toEqual([1, 2]);
  });

  it('stops at the last level when the policy does not repeat', () => {
    const history = spec.history(start(), fire(at(300), 300), fire(at(900), 900));
    const state = history.reduce(escalationDecider.evolve, escalationDecider.initialState());
    expect(pages(history).map((p) => p.level)).toEqual([1, 2, 3]);
    expect(state.status).toBe('exhausted');
    expect(state.deadline).toBeNull();
    spec
      .given(...history)
      .when(fire(at(900), 5000))
      .expectNoEvents();
  });

  it('repeats the last level every repeatLastLevelEvery until acknowledged', () => {
    const history = spec.history(start(120), fire(at(300), 300), fire(at(900), 900), fire(at(1020), 1020));
    expect(pages(history)).toEqual([
      { level: 1, reason: 'started', channels: ['pager-primary', 'chat'] },
      { level: 2, reason: 'timeout', channels: ['pager-secondary'] },
      { level: 3, reason: 'timeout', channels: ['chat'] },
      { level: 3, reason: 'repeat', channels: ['chat'] },
    ]);
    const last = history.at(-1);
    expect(last?.type === 'EscalationLevelPaged' && last.data).toMatchObject({
      nextDeadline: at(1140),
      deliveries: [{ repeat: true }],
    });
    spec
      .given(
        ...history,
        ...spec
          .given(...history)
          .when(ack(1100))
          .events(),
      )
      .when(fire(at(1140), 1140))
      .expectNoEvents();
  });

  it('an acknowledgement stops advancing and tells the paging channels already paged', () => {
    const history = spec.history(start(), fire(at(300), 300));
    const events = spec
      .given(...history)
      .when(ack(310))
      .events();
    expect(events[0]?.type === 'EscalationAcknowledged' && events[0].data.deliveries).toMatchObject([
      { channel: { name: 'pager-primary' }, action: 'acknowledge' },
      { channel: { name: 'chat' }, transition: 'acknowledged', status: 'firing' },
      { channel: { name: 'pager-secondary' }, action: 'acknowledge' },
    ]);
    spec
      .given(...history, ...events)
      .when(fire(at(900), 900))
      .expectNoEvents();
  });

  it('a snooze pauses the clock and it resumes after the snooze with the time that was left', () => {
    // 100 s into level 1's 300 s, snoozed for an hour: level 2 is due 200 s after the snooze ends.
    const history = spec.history(start(), snooze(3_700, 100));
    const state = history.reduce(escalationDecider.evolve, escalationDecider.initialState());
    expect(state.status).toBe('snoozed');
    expect(state.deadline).toBe(at(3_900));
    spec
      .given(...history)
      .when(fire(at(300), 300))
      .expectNoEvents();
    spec
      .given(...history)
      .when(fire(at(3_900), 3_899))
      .expectNoEvents();
    const events = spec
      .given(...history)
      .when(fire(at(3_900), 3_900))
      .events();
    expect(pages(events)).toEqual([{ level: 2, reason: 'timeout', channels: ['pager-secondary'] }]);
  });

  it('a snooze over a snooze keeps the time left when the clock first stopped', () => {
    const history = spec.history(start(), snooze(1_000, 100), snooze(5_000, 900));
    const state = history.reduce(escalationDecider.evolve, escalationDecider.initialState());
    expect(state.deadline).toBe(at(5_200));
  });

  it('unsnoozing early starts the remaining time at once', () => {
    const history = spec.history(start(), snooze(3_700, 100), {
      type: 'UnsnoozeEscalation',
      data: {},
      metadata: meta(500),
    });
    const state = history.reduce(escalationDecider.evolve, escalationDecider.initialState());
    expect(state.status).toBe('active');
    expect(state.deadline).toBe(at(700));
  });

  it('a snooze that already ended changes nothing', () => {
    spec
      .given(...spec.history(start()))
      .when(snooze(50, 100))
      .expectNoEvents();
  });

  it('resolving ends it and tells every channel paged at any level, once each', () => {
    const history = spec.history(start(120), fire(at(300), 300), fire(at(900), 900));
    const events = spec
      .given(...history)
      .when(resolve(950))
      .events();
    expect(events.map((e) => e.type)).toEqual(['EscalationResolved']);
    expect(events[0]?.type === 'EscalationResolved' && events[0].data.deliveries).toMatchObject([
      { channel: { name: 'pager-primary' }, action: 'resolve', status: 'resolved' },
      { channel: { name: 'chat' }, status: 'resolved', transition: 'resolved' },
      { channel: { name: 'pager-secondary' }, action: 'resolve', status: 'resolved' },
    ]);
    spec
      .given(...history, ...events)
      .when(fire(at(1020), 1020))
      .expectNoEvents();
    spec
      .given(...history, ...events)
      .when(resolve(960))
      .expectNoEvents();
  });

  it('resolving after an acknowledgement still tells the levels paged', () => {
    const history = spec.history(start(), ack(10));
    const events = spec
      .given(...history)
      .when(resolve(20))
      .events();
    expect(
      events[0]?.type === 'EscalationResolved' && events[0].data.deliveries.map((d) => d.action ?? d.status),
    ).toEqual(['resolve', 'resolved']);
  });

  it('escalate-now pages the next level at once and restarts its clock', () => {
    const events = spec
      .given(...spec.history(start()))
      .when({ type: 'EscalateNow', data: { reason: 'IncidentSLA response time missed' }, metadata: meta(30) })
      .events();
    expect(events[0]?.type === 'EscalationLevelPaged' && events[0].data).toMatchObject({
      level: 2,
      reason: 'requested',
      detail: 'IncidentSLA response time missed',
      nextDeadline: at(630),
    });
  });

  it('the same escalate-now request pages once', () => {
    const request: EscalationCommand = {
      type: 'EscalateNow',
      data: { reason: 'Cairn gave up', requestId: 'evt-9' },
      metadata: meta(30),
    };
    const history = spec.history(start(), request, request);
    expect(pages(history).map((p) => p.level)).toEqual([1, 2]);
  });

  it('nothing escalates an Issue no policy took', () => {
    spec
      .given()
      .when({ type: 'EscalateNow', data: { reason: 'x' }, metadata: meta(1) })
      .expectNoEvents();
    spec.given().when(ack(1)).expectNoEvents();
    spec.given().when(resolve(1)).expectNoEvents();
  });

  it('records each delivery outcome once and retries a failure after a delay', () => {
    const history = spec.history(start());
    const state = history.reduce(escalationDecider.evolve, escalationDecider.initialState());
    const [first] = duePages(state, at(0));
    expect(first?.delivery.channel.name).toBe('pager-primary');
    const outcome = (attempt: number, seconds: number): EscalationCommand => ({
      type: 'RecordDeliveryOutcome',
      data: {
        deliveryId: first!.delivery.deliveryId,
        attempt,
        outcome: 'failed',
        statusCode: 503,
        latencyMs: 12,
        error: 'HTTP 503',
        retryable: true,
        jitter: 0,
      },
      metadata: meta(seconds),
    });
    const failed = spec
      .given(...history)
      .when(outcome(1, 1))
      .events();
    expect(failed[0]?.type === 'EscalationPageFailed' && failed[0].data.retryAt).toBe(at(2));
    spec
      .given(...history, ...failed)
      .when(outcome(1, 1))
      .expectNoEvents();
    const after = [...history, ...failed].reduce(escalationDecider.evolve, escalationDecider.initialState());
    expect(duePages(after, at(1.5)).map((d) => d.delivery.channel.name)).toEqual(['chat']);
    expect(duePages(after, at(2)).map((d) => d.delivery.channel.name)).toEqual(['pager-primary', 'chat']);
  });

  it('a level after another needs a timeout', () => {
    const data = started();
    const bad = { ...data, levels: [{ name: 'only', channels: data.levels[0]!.channels }, data.levels[2]!] };
    spec
      .given()
      .when({ type: 'StartEscalation', data: bad, metadata: meta(0) })
      .expectRefusal('escalation.timeout_required');
  });
});
