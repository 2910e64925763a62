import { describe, expect, it } from 'vitest';
import type { NotificationDecidedData, NotificationTransition, NotifiedIssue } from '../events/notification.events.ts';
import { deciderSpec, metaAt, minutesAfterBase } from '../testing/decider.spec.ts';
import type { NotificationCommand, RecordDeliveryOutcome, RecordTransition } from './notification.commands.ts';
import {
  dueDeliveries,
  MAX_DELIVERY_ATTEMPTS,
  type NotificationEvent,
  notificationDecider,
} from './notification.decider.ts';

const spec = deciderSpec(notificationDecider);
const seconds = (s: number) => s / 60;

const issue = (id: string, extra: Partial<NotifiedIssue> = {}): NotifiedIssue => ({
  issueId: id,
  name: `checkout-${id}`,
  severity: 'high',
  signal: 'oom_kill',
  riskScore: 70,
  workload: { kind: 'Deployment', name: 'checkout', namespace: 'shop' },
  state: 'Detected',
  summary: 'container app was OOMKilled',
  detectedAt: minutesAfterBase(0),
  ...extra,
});

// groupWait 30 s, groupInterval 5 min, repeatInterval 4 h: Alertmanager's defaults.
const transition = (
  id: string,
  kind: NotificationTransition,
  m: number,
  options: {
    subscribed?: boolean;
    source?: string;
    issue?: Partial<NotifiedIssue>;
    channels?: RecordTransition['data']['channels'];
  } = {},
): RecordTransition => ({
  type: 'RecordTransition',
  data: {
    groupId: 'g1',
    policy: { namespace: 'cairn-system', name: 'on-call', rule: 'prod' },
    groupKey: 'namespace=shop',
    channels: options.channels ?? [
      { name: 'slack', type: 'slack' },
      { name: 'pager', type: 'pagerduty' },
    ],
    grouping: { groupWaitSeconds: 30, groupIntervalSeconds: 300, repeatIntervalSeconds: 4 * 3600 },
    transition: kind,
    subscribed: options.subscribed ?? true,
    issue: issue(id, options.issue),
    sourceEventId: options.source ?? `${id}-${kind}`,
  },
  metadata: metaAt(m, 'system:notifications'),
});
const flush = (m: number): NotificationCommand => ({
  type: 'FlushGroup',
  data: {},
  metadata: metaAt(m, 'system:notifications'),
});
const outcome = (
  deliveryId: string,
  attempt: number,
  m: number,
  result: Partial<RecordDeliveryOutcome['data']> = {},
): RecordDeliveryOutcome => ({
  type: 'RecordDeliveryOutcome',
  data: {
    deliveryId,
    attempt,
    outcome: 'failed',
    latencyMs: 12,
    error: 'HTTP 503',
    retryable: true,
    jitter: 0,
    ...result,
  },
  metadata: metaAt(m, 'system:notifications'),
});

/** The history a sequence of commands produces, each decided on the state before it. */
const history = (...commands: NotificationCommand[]): NotificationEvent[] => spec.history(...commands);
const decided = (events: readonly NotificationEvent[]): NotificationDecidedData => {
  const event = events.find((e) => e.type === 'NotificationDecided');
  if (event?.type !== 'NotificationDecided') throw new Error('nothing was decided');
  return event.data;
};
const summary = (data: NotificationDecidedData) =>
  data.deliveries.map((d) => ({
    channel: d.channel.name,
    action: d.pagingAction,
    repeat: d.repeat,
    issues: d.issues.map((i) => `${i.issue.issueId}:${i.status}${i.changed ? '*' : ''}`),
  }));

describe('notification group: grouping in Alertmanager terms', () => {
  it('waits groupWait after the first Issue before it tells anyone', () => {
    const [recorded] = spec
      .given()
      .when(transition('i1', 'detected', 0))
      .events();
    expect(recorded?.type).toBe('NotificationTransitionRecorded');
    expect(recorded?.data).toMatchObject({ flushAt: minutesAfterBase(seconds(30)) });
  });

  it('records an Issue event routed twice once', () => {
    spec
      .given(...history(transition('i1', 'detected', 0)))
      .when(transition('i1', 'detected', 0.1))
      .expectNoEvents();
  });

  it('decides nothing before the deadline, and at it one Slack message and one PagerDuty trigger per Issue', () => {
    const given = history(transition('i1', 'detected', 0), transition('i2', 'detected', seconds(10)));
    spec
      .given(...given)
      .when(flush(seconds(29)))
      .expectNoEvents();
    const data = decided(
      spec
        .given(...given)
        .when(flush(seconds(30)))
        .events(),
    );
    expect(summary(data)).toEqual([
      { channel: 'slack', action: undefined, repeat: false, issues: ['i1:firing*', 'i2:firing*'] },
      { channel: 'pager', action: 'trigger', repeat: false, issues: ['i1:firing*'] },
      { channel: 'pager', action: 'trigger', repeat: false, issues: ['i2:firing*'] },
    ]);
    expect(data.deliveries.map((d) => d.deliveryId)).toEqual(['g1-1-slack', 'g1-1-pager-i1', 'g1-1-pager-i2']);
    // Nothing new is owed: the next deadline is Slack's repeat interval.
    expect(data.flushAt).toBe(minutesAfterBase(seconds(30) + 240));
  });

  it('tells of an Issue that joins an announced group after groupInterval, not groupWait', () => {
    const given = history(transition('i1', 'detected', 0), flush(seconds(30)));
    const [recorded] = spec
      .given(...given)
      .when(transition('i2', 'detected', 1))
      .events();
    expect(recorded?.data).toMatchObject({ flushAt: minutesAfterBase(seconds(30) + 5) });
    const later = [
      ...given,
      ...spec
        .given(...given)
        .when(transition('i2', 'detected', 1))
        .events(),
    ];
    spec
      .given(...later)
      .when(flush(5))
      .expectNoEvents();
    expect(
      summary(
        decided(
          spec
            .given(...later)
            .when(flush(seconds(30) + 5))
            .events(),
        ),
      ),
    ).toEqual([
      { channel: 'slack', action: undefined, repeat: false, issues: ['i2:firing*', 'i1:firing'] },
      { channel: 'pager', action: 'trigger', repeat: false, issues: ['i2:firing*'] },
    ]);
  });

  it('sends a resolve to every channel that announced the Issue, then forgets it', () => {
    const given = history(transition('i1', 'detected', 0), flush(seconds(30)), transition('i1', 'resolved', 2));
    const state = spec.given(...given).state();
    expect(state.flushAt).toBe(minutesAfterBase(seconds(30) + 5));
    const events = spec
      .given(...given)
      .when(flush(seconds(30) + 5))
      .events();
    expect(summary(decided(events))).toEqual([
      { channel: 'slack', action: undefined, repeat: false, issues: ['i1:resolved*'] },
      { channel: 'pager', action: 'resolve', repeat: false, issues: ['i1:resolved*'] },
    ]);
    const after = spec.given(...given, ...events).state();
    expect(after.issues).toEqual({});
    expect(after.flushAt).toBeNull();
  });

  it('sends the resolve even when the rule did not ask for resolutions', () => {
    const given = history(
      transition('i1', 'detected', 0),
      flush(seconds(30)),
      transition('i1', 'resolved', 2, { subscribed: false }),
    );
    expect(
      summary(
        decided(
          spec
            .given(...given)
            .when(flush(6))
            .events(),
        ),
      ).map((d) => d.action),
    ).toEqual([undefined, 'resolve']);
  });

  it('says nothing of an Issue resolved inside groupWait unless the rule asked for resolutions', () => {
    const quiet = history(
      transition('i1', 'detected', 0),
      transition('i1', 'resolved', seconds(10), { subscribed: false }),
    );
    expect(spec.given(...quiet).state().flushAt).toBeNull();
    spec
      .given(...quiet)
      .when(flush(1))
      .expectNoEvents();

    const told = history(transition('i1', 'detected', 0), transition('i1', 'resolved', seconds(10)));
    // Slack hears that Cairn fixed it; PagerDuty never had a page open, so it gets nothing.
    expect(
      summary(
        decided(
          spec
            .given(...told)
            .when(flush(seconds(30)))
            .events(),
        ),
      ),
    ).toEqual([{ channel: 'slack', action: undefined, repeat: false, issues: ['i1:resolved*'] }]);
  });

  it('acknowledges the PagerDuty page when a person acknowledges in Cairn, without a Slack message', () => {
    const given = history(
      transition('i1', 'detected', 0),
      flush(seconds(30)),
      transition('i1', 'acknowledged', 1, { subscribed: false, issue: { acknowledgedBy: 'key:alice' } }),
    );
    expect(
      summary(
        decided(
          spec
            .given(...given)
            .when(flush(seconds(30) + 5))
            .events(),
        ),
      ),
    ).toEqual([{ channel: 'pager', action: 'acknowledge', repeat: false, issues: ['i1:firing*'] }]);
  });

  it('triggers before it acknowledges an Issue acknowledged inside groupWait', () => {
    const given = history(
      transition('i1', 'detected', 0),
      transition('i1', 'acknowledged', seconds(5), { subscribed: false, issue: { acknowledgedBy: 'key:alice' } }),
    );
    const first = spec
      .given(...given)
      .when(flush(seconds(30)))
      .events();
    expect(summary(decided(first)).map((d) => `${d.channel}:${d.action}`)).toEqual([
      'slack:undefined',
      'pager:trigger',
    ]);
    expect(decided(first).flushAt).toBe(minutesAfterBase(seconds(30) + 5));
    const second = spec
      .given(...given, ...first)
      .when(flush(seconds(30) + 5))
      .events();
    expect(summary(decided(second)).map((d) => `${d.channel}:${d.action}`)).toEqual(['pager:acknowledge']);
  });

  it('tells the channels that showed an Issue when it is escalated, but opens no second page', () => {
    const given = history(transition('i1', 'detected', 0), flush(seconds(30)), transition('i1', 'escalated', 3));
    expect(
      summary(
        decided(
          spec
            .given(...given)
            .when(flush(seconds(30) + 5))
            .events(),
        ),
      ),
    ).toEqual([{ channel: 'slack', action: undefined, repeat: false, issues: ['i1:firing*'] }]);
  });

  it('repeats an unchanged firing group to Slack after repeatInterval, never to PagerDuty', () => {
    const given = history(transition('i1', 'detected', 0), flush(seconds(30)));
    spec
      .given(...given)
      .when(flush(200))
      .expectNoEvents();
    const data = decided(
      spec
        .given(...given)
        .when(flush(seconds(30) + 240))
        .events(),
    );
    expect(summary(data)).toEqual([{ channel: 'slack', action: undefined, repeat: true, issues: ['i1:firing'] }]);
    expect(data.flushAt).toBe(minutesAfterBase(seconds(30) + 480));
  });
});

describe('notification group: the outbox', () => {
  const announced = () => history(transition('i1', 'detected', 0), flush(seconds(30)));
  const at = (m: number) => minutesAfterBase(m);

  it('records a delivery once, whatever reports it again after a crash', () => {
    const given = announced();
    const ok = outcome('g1-1-pager-i1', 1, 1, { outcome: 'delivered', statusCode: 202, error: '' });
    spec
      .given(...given)
      .when(ok)
      .expectEvents([
        {
          type: 'NotificationDelivered',
          data: { deliveryId: 'g1-1-pager-i1', channel: 'pager', attempt: 1, statusCode: 202, latencyMs: 12 },
        },
      ]);
    const after = [
      ...given,
      ...spec
        .given(...given)
        .when(ok)
        .events(),
    ];
    spec
      .given(...after)
      .when(ok)
      .expectNoEvents();
  });

  it('retries a 5xx with exponential backoff, and a 429 after its Retry-After', () => {
    const given = announced();
    const [first] = spec
      .given(...given)
      .when(outcome('g1-1-slack', 1, 1, { statusCode: 503 }))
      .events();
    expect(first?.data).toMatchObject({
      attempt: 1,
      statusCode: 503,
      retryAt: new Date(Date.parse(at(1)) + 1_000).toISOString(),
    });
    const failedOnce = [...given, first!];
    const [second] = spec
      .given(...failedOnce)
      .when(outcome('g1-1-slack', 2, 2, { statusCode: 500, jitter: 0.999 }))
      .events();
    // Attempt 2: base 4 s, half kept and half drawn.
    expect(second?.data).toMatchObject({ retryAt: new Date(Date.parse(at(2)) + 3_998).toISOString() });
    const [limited] = spec
      .given(...given)
      .when(outcome('g1-1-slack', 1, 1, { statusCode: 429, retryAfterSeconds: 30 }))
      .events();
    expect(limited?.data).toMatchObject({ retryAt: new Date(Date.parse(at(1)) + 30_000).toISOString() });
  });

  it('gives up at once on a 4xx, and after the last attempt on anything', () => {
    const given = announced();
    const [refused] = spec
      .given(...given)
      .when(outcome('g1-1-slack', 1, 1, { statusCode: 400, error: 'HTTP 400 invalid_payload' }))
      .events();
    expect(refused?.type).toBe('NotificationFailed');
    expect(refused?.data).not.toHaveProperty('retryAt');
    expect(spec.given(...given, refused!).state().deliveries['g1-1-slack']).toBeUndefined();

    let events: NotificationEvent[] = [...given];
    for (let attempt = 1; attempt <= MAX_DELIVERY_ATTEMPTS; attempt++) {
      events = [
        ...events,
        ...spec
          .given(...events)
          .when(outcome('g1-1-pager-i1', attempt, attempt))
          .events(),
      ];
    }
    const last = events.at(-1);
    expect(last?.data).toMatchObject({ attempt: MAX_DELIVERY_ATTEMPTS });
    expect(last?.data).not.toHaveProperty('retryAt');
  });

  it('keeps a PagerDuty resolve behind the trigger of the same Issue while the trigger is retried', () => {
    let events = [...announced()];
    events = [
      ...events,
      ...spec
        .given(...events)
        .when(outcome('g1-1-pager-i1', 1, 1, { statusCode: 502 }))
        .events(),
    ];
    const slackOk = outcome('g1-1-slack', 1, 1, { outcome: 'delivered', statusCode: 200, error: '' });
    events = [
      ...events,
      ...spec
        .given(...events)
        .when(slackOk)
        .events(),
    ];
    events = [
      ...events,
      ...spec
        .given(...events)
        .when(transition('i1', 'resolved', 2))
        .events(),
    ];
    events = [
      ...events,
      ...spec
        .given(...events)
        .when(flush(seconds(30) + 5))
        .events(),
    ];
    const state = spec.given(...events).state();
    const due = dueDeliveries(state, at(60)).map((d) => d.delivery.deliveryId);
    expect(due).toContain('g1-1-pager-i1');
    expect(due).not.toContain('g1-2-pager-i1');
    // The Slack messages are not held by PagerDuty's trouble.
    expect(due).toContain('g1-2-slack');
  });

  it('waits for a retry until it is due', () => {
    let events = [...announced()];
    events = [
      ...events,
      ...spec
        .given(...events)
        .when(outcome('g1-1-slack', 1, 1, { statusCode: 503 }))
        .events(),
    ];
    const state = spec.given(...events).state();
    expect(dueDeliveries(state, at(1)).map((d) => d.delivery.deliveryId)).toEqual(['g1-1-pager-i1']);
    expect(dueDeliveries(state, at(2)).map((d) => d.delivery.deliveryId)).toEqual(['g1-1-slack', 'g1-1-pager-i1']);
  });
});

describe('notification group: every channel type', () => {
  const channels: RecordTransition['data']['channels'] = [
    { name: 'chat', type: 'teams' },
    { name: 'pager', type: 'pagerduty' },
    { name: 'genie', type: 'opsgenie' },
    { name: 'mail', type: 'email' },
    { name: 'am', type: 'alertmanager' },
  ];
  const on = (id: string, kind: NotificationTransition, m: number, extra: Partial<NotifiedIssue> = {}) =>
    transition(id, kind, m, { channels, subscribed: kind !== 'acknowledged', issue: extra });
  const actions = (events: readonly NotificationEvent[]) =>
    summary(decided(events)).map((d) => `${d.channel}:${d.action ?? 'message'}:${d.issues.join(',')}`);

  it('pages Opsgenie like PagerDuty, one alert per Issue opened, acknowledged and closed; the others get messages', () => {
    const opened = history(on('i1', 'detected', 0), on('i2', 'detected', seconds(1)), flush(seconds(30)));
    expect(actions(opened)).toEqual([
      'chat:message:i1:firing*,i2:firing*',
      'pager:trigger:i1:firing*',
      'pager:trigger:i2:firing*',
      'genie:trigger:i1:firing*',
      'genie:trigger:i2:firing*',
      'mail:message:i1:firing*,i2:firing*',
      'am:message:i1:firing*,i2:firing*',
    ]);
    const acknowledged = spec
      .given(
        ...history(
          on('i1', 'detected', 0),
          on('i2', 'detected', seconds(1)),
          flush(seconds(30)),
          on('i1', 'acknowledged', 1, { acknowledgedBy: 'key:alice' }),
        ),
      )
      .when(flush(seconds(30) + 5))
      .events();
    expect(actions(acknowledged)).toEqual(['pager:acknowledge:i1:firing*', 'genie:acknowledge:i1:firing*']);
    const resolved = spec
      .given(
        ...history(
          on('i1', 'detected', 0),
          on('i2', 'detected', seconds(1)),
          flush(seconds(30)),
          on('i1', 'acknowledged', 1, { acknowledgedBy: 'key:alice' }),
          flush(seconds(30) + 5),
          on('i1', 'resolved', 6),
        ),
      )
      .when(flush(11))
      .events();
    expect(actions(resolved)).toEqual([
      'chat:message:i1:resolved*,i2:firing',
      'pager:resolve:i1:resolved*',
      'genie:resolve:i1:resolved*',
      'mail:message:i1:resolved*,i2:firing',
      'am:message:i1:resolved*,i2:firing',
    ]);
  });

  it('repeats a firing group to Teams, email and Alertmanager after repeatInterval, never to a pager', () => {
    const opened = history(on('i1', 'detected', 0), flush(seconds(30)));
    const repeat = spec
      .given(...opened)
      .when(flush(seconds(30) + 4 * 60))
      .events();
    expect(actions(repeat)).toEqual(['chat:message:i1:firing', 'mail:message:i1:firing', 'am:message:i1:firing']);
    expect(summary(decided(repeat)).every((d) => d.repeat)).toBe(true);
  });
});
