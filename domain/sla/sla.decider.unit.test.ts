import { describe, expect, it } from 'vitest';
import type { SlaEvent } from '../events/sla.events.ts';
import { deciderSpec, metaAt, minutesAfterBase } from '../testing/decider.spec.ts';
import type { SlaCommand, SlaTerms, StartSla } from './sla.commands.ts';
import { nextDue, slaDecider } from './sla.decider.ts';

const spec = deciderSpec(slaDecider);
const workload = { kind: 'Deployment', namespace: 'shop', name: 'cart' };
const terms: SlaTerms = {
  sla: { namespace: 'cairn-system', name: 'critical', generation: 3 },
  responseSeconds: 10 * 60,
  resolutionSeconds: 60 * 60,
  warningAt: 0.8,
  escalateOn: ['response'],
};
const start = (overrides: Partial<SlaTerms> = {}): StartSla => ({
  type: 'StartSla',
  data: {
    issueId: 'i-1',
    severity: 'critical',
    workload,
    detectedAt: minutesAfterBase(0),
    terms: { ...terms, ...overrides },
  },
  metadata: metaAt(0, 'system:sla'),
});
const at = (type: Exclude<SlaCommand['type'], 'StartSla'>, minutes: number): SlaCommand =>
  ({ type, data: {}, metadata: metaAt(minutes, 'system:sla') }) as SlaCommand;

describe('SLA decider', () => {
  it('records both deadlines and their warnings when the clock starts (24x7)', () => {
    const [started] = spec.given().when(start()).events();
    expect(started?.type).toBe('SlaStarted');
    expect(started?.data).toMatchObject({
      startedAt: minutesAfterBase(0),
      response: { targetSeconds: 600, warnAt: minutesAfterBase(8), dueAt: minutesAfterBase(10) },
      resolution: { targetSeconds: 3600, warnAt: minutesAfterBase(48), dueAt: minutesAfterBase(60) },
      escalateOn: ['response'],
    });
  });

  it('starts once: a second StartSla keeps the terms the Issue was measured by', () => {
    const history = spec.history(start());
    spec
      .given(...history)
      .when(start({ responseSeconds: 5 }))
      .expectNoEvents();
  });

  it('warns at the share of the target, once, then records the violation at the deadline', () => {
    const history = spec.history(start());
    spec
      .given(...history)
      .when(at('SweepSla', 7))
      .expectNoEvents();
    const [warning] = spec
      .given(...history)
      .when(at('SweepSla', 8))
      .expectEvents([
        {
          type: 'SlaWarned',
          data: {
            kind: 'response',
            severity: 'critical',
            targetSeconds: 600,
            dueAt: minutesAfterBase(10),
            elapsedSeconds: 480,
          },
        },
      ]);
    const warned = [...history, warning!];
    spec
      .given(...warned)
      .when(at('SweepSla', 9))
      .expectNoEvents();
    spec
      .given(...warned)
      .when(at('SweepSla', 10))
      .expectEvents([
        {
          type: 'SlaViolated',
          data: {
            kind: 'response',
            severity: 'critical',
            targetSeconds: 600,
            dueAt: minutesAfterBase(10),
            escalate: true,
          },
        },
      ]);
  });

  it('a sweep long after both deadlines records both violations once, with no warnings', () => {
    const history = spec.history(start(), at('SweepSla', 500));
    expect(history.map((e) => [e.type, (e.data as { kind?: string }).kind])).toEqual([
      ['SlaStarted', undefined],
      ['SlaViolated', 'response'],
      ['SlaViolated', 'resolution'],
    ]);
    expect((history[2] as SlaEvent & { data: { escalate: boolean } }).data.escalate).toBe(false);
    spec
      .given(...history)
      .when(at('SweepSla', 600))
      .expectNoEvents();
    expect(nextDue(spec.given(...history).state())).toBeNull();
  });

  it('an acknowledgement in time meets the response target; resolution in time meets the other', () => {
    const history = spec.history(start(), at('RecordAcknowledgement', 4));
    expect(history[1]).toMatchObject({
      type: 'SlaAchieved',
      data: { kind: 'response', elapsedSeconds: 240, by: 'acknowledged' },
    });
    spec
      .given(...history)
      .when(at('SweepSla', 30))
      .expectNoEvents();
    expect(nextDue(spec.given(...history).state())).toBe(minutesAfterBase(48));
    spec
      .given(...history)
      .when(at('RecordResolution', 50))
      .expectEvents([
        {
          type: 'SlaAchieved',
          data: {
            kind: 'resolution',
            severity: 'critical',
            targetSeconds: 3600,
            dueAt: minutesAfterBase(60),
            elapsedSeconds: 3000,
            by: 'resolved',
          },
        },
      ]);
  });

  it('an acknowledgement after the deadline the sweeper has not seen yet is a violation, not a success', () => {
    const events = spec
      .given(...spec.history(start()))
      .when(at('RecordAcknowledgement', 11))
      .events();
    expect(events.map((e) => e.type)).toEqual(['SlaViolated']);
  });

  it('a resolution before anybody acknowledged meets both targets', () => {
    const events = spec
      .given(...spec.history(start()))
      .when(at('RecordResolution', 3))
      .events();
    expect(events.map((e) => [e.type, (e.data as { kind?: string }).kind])).toEqual([
      ['SlaAchieved', 'response'],
      ['SlaAchieved', 'resolution'],
    ]);
  });

  it('counts business time only: Friday 17:30 Paris, 1 hour response, due Monday 09:30', () => {
    const paris = {
      timeZone: 'Europe/Paris',
      ranges: [
        { days: ['Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday'] as const, start: '09:00', end: '18:00' },
      ],
      holidays: [],
    };
    const [started] = spec
      .given()
      .when({
        ...start({
          calendar: { ...paris, ranges: paris.ranges.map((r) => ({ ...r, days: [...r.days] })) },
          responseSeconds: 3_600,
        }),
        data: {
          ...start().data,
          detectedAt: '2026-12-11T16:30:00.000Z',
          terms: {
            ...terms,
            responseSeconds: 3_600,
            calendar: { ...paris, ranges: [{ ...paris.ranges[0]!, days: [...paris.ranges[0]!.days] }] },
          },
        },
      })
      .events();
    expect(started?.data).toMatchObject({
      response: { dueAt: '2026-12-14T08:30:00.000Z', warnAt: '2026-12-14T08:18:00.000Z' },
    });
  });

  it('refuses terms it cannot measure by', () => {
    spec
      .given()
      .when(start({ responseSeconds: 0 }))
      .expectRefusal('sla.invalid_target');
    spec
      .given()
      .when(start({ warningAt: 1 }))
      .expectRefusal('sla.invalid_warning');
    spec
      .given()
      .when(
        start({
          calendar: { timeZone: 'UTC', ranges: [{ days: ['Monday'], start: '09:00', end: '09:01' }], holidays: [] },
          resolutionSeconds: 10 * 365 * 86_400,
        }),
      )
      .expectRefusal('sla.unreachable');
  });

  it('does nothing for an Issue no SLA was started for', () => {
    spec.given().when(at('RecordAcknowledgement', 1)).expectNoEvents();
    spec.given().when(at('SweepSla', 1)).expectNoEvents();
  });
});
