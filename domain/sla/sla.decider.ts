import { assertNever, withoutUndefined } from '../decision.ts';
import type { Severity } from '../events/common.schema.ts';
import {
  type SlaCalendarData,
  type SlaEvent,
  type SlaStartedData,
  type SlaTarget,
  SlaTargetKind,
} from '../events/sla.events.ts';
import type { Decider } from '../messages.ts';
import { invalid } from '../refusals.ts';
import { requireInstant } from '../time.ts';
import { type BusinessCalendar, dueAt, elapsedSeconds, type SlaCalendar } from './businessHours.ts';
import type { SlaCommand } from './sla.commands.ts';

export const ClockState = { Running: 'running', Met: 'met', Violated: 'violated' } as const;
export type ClockState = (typeof ClockState)[keyof typeof ClockState];

export interface SlaClock {
  readonly target: SlaTarget;
  readonly state: ClockState;
  readonly warned: boolean;
  /** When the clock stopped (met or violated). */
  readonly endedAt: string | null;
  /** Clock time at the moment it was met. */
  readonly elapsedSeconds: number | null;
}

export interface SlaState {
  readonly started: SlaStartedData | null;
  readonly response: SlaClock | null;
  readonly resolution: SlaClock | null;
}

export const initialSlaState = (): SlaState => ({ started: null, response: null, resolution: null });

export const calendarOf = (data: { readonly calendar?: SlaCalendarData }): SlaCalendar =>
  data.calendar === undefined ? null : (data.calendar as BusinessCalendar);

const newClock = (target: SlaTarget): SlaClock => ({
  target,
  state: ClockState.Running,
  warned: false,
  endedAt: null,
  elapsedSeconds: null,
});

const withClock = (state: SlaState, kind: SlaTargetKind, clock: SlaClock | null): SlaState =>
  kind === SlaTargetKind.Response ? { ...state, response: clock } : { ...state, resolution: clock };

export const evolveSla = (state: SlaState, event: SlaEvent): SlaState => {
  switch (event.type) {
    case 'SlaStarted':
      return {
        started: event.data,
        response: newClock(event.data.response),
        resolution: newClock(event.data.resolution),
      };
    case 'SlaWarned': {
      const clock = state[event.data.kind];
      return clock === null ? state : withClock(state, event.data.kind, { ...clock, warned: true });
    }
    case 'SlaViolated': {
      const clock = state[event.data.kind];
      if (clock === null) return state;
      return withClock(state, event.data.kind, {
        ...clock,
        state: ClockState.Violated,
        endedAt: event.data.dueAt,
      });
    }
    case 'SlaAchieved': {
      const clock = state[event.data.kind];
      if (clock === null) return state;
      return withClock(state, event.data.kind, {
        ...clock,
        state: ClockState.Met,
        endedAt: event.metadata.occurredAt,
        elapsedSeconds: event.data.elapsedSeconds,
      });
    }
    default:
      return state;
  }
};

const kinds = [SlaTargetKind.Response, SlaTargetKind.Resolution] as const;

/** The next instant at which a sweep has something to record; null once both clocks have stopped. */
export const nextDue = (state: SlaState): string | null => {
  let next: number | null = null;
  let nextIso: string | null = null;
  for (const kind of kinds) {
    const clock = state[kind];
    if (clock === null || clock.state !== ClockState.Running) continue;
    const candidate = !clock.warned && clock.target.warnAt !== undefined ? clock.target.warnAt : clock.target.dueAt;
    const ms = Date.parse(candidate);
    if (next === null || ms < next) {
      next = ms;
      nextIso = candidate;
    }
  }
  return nextIso;
};

const targetFor = (
  startedAt: string,
  seconds: number,
  warningAt: number | undefined,
  calendar: SlaCalendar,
  kind: SlaTargetKind,
): SlaTarget => {
  const due = dueAt(startedAt, seconds, calendar);
  const warn = warningAt === undefined ? undefined : dueAt(startedAt, seconds * warningAt, calendar);
  if (due === undefined || (warningAt !== undefined && warn === undefined)) {
    throw invalid('sla.unreachable', `the ${kind} target of ${seconds} s is not reached within ten years of hours`);
  }
  return withoutUndefined({ targetSeconds: seconds, warnAt: warn, dueAt: due });
};

/** The event that ends a running clock at `at`: met when `at` is not after its due instant, violated otherwise. */
const ending = (
  started: SlaStartedData,
  kind: SlaTargetKind,
  clock: SlaClock,
  at: string,
  by: 'acknowledged' | 'resolved',
  metadata: SlaCommand['metadata'],
): SlaEvent => {
  const base = { kind, severity: started.severity as Severity, targetSeconds: clock.target.targetSeconds };
  if (Date.parse(at) <= Date.parse(clock.target.dueAt)) {
    return {
      type: 'SlaAchieved',
      data: {
        ...base,
        dueAt: clock.target.dueAt,
        elapsedSeconds: elapsedSeconds(started.startedAt, at, calendarOf(started)),
        by,
      },
      metadata,
    };
  }
  return violation(started, kind, clock, metadata);
};

const violation = (
  started: SlaStartedData,
  kind: SlaTargetKind,
  clock: SlaClock,
  metadata: SlaCommand['metadata'],
): SlaEvent => ({
  type: 'SlaViolated',
  data: {
    kind,
    severity: started.severity,
    targetSeconds: clock.target.targetSeconds,
    dueAt: clock.target.dueAt,
    escalate: started.escalateOn.includes(kind),
  },
  metadata,
});

export const decideSla = (command: SlaCommand, state: SlaState): SlaEvent[] => {
  const { metadata } = command;
  const at = metadata.occurredAt;
  requireInstant(at, `${command.type} occurredAt`);
  switch (command.type) {
    case 'StartSla': {
      // Started once: the Issue detected again (a replay, a second reactor) keeps the terms it was measured by.
      if (state.started !== null) return [];
      const d = command.data;
      requireInstant(d.detectedAt, 'detectedAt');
      const t = d.terms;
      if (!(t.responseSeconds > 0 && t.resolutionSeconds > 0)) {
        throw invalid('sla.invalid_target', 'response and resolution targets must be above zero');
      }
      if (t.warningAt !== undefined && !(t.warningAt > 0 && t.warningAt < 1)) {
        throw invalid('sla.invalid_warning', 'warningAt must be between 0 and 1, both excluded');
      }
      const calendar: SlaCalendar = t.calendar === undefined ? null : (t.calendar as BusinessCalendar);
      return [
        {
          type: 'SlaStarted',
          data: withoutUndefined({
            issueId: d.issueId,
            severity: d.severity,
            workload: d.workload,
            sla: t.sla,
            calendar: t.calendar,
            warningAt: t.warningAt,
            escalateOn: [...t.escalateOn],
            notificationPolicy: t.notificationPolicy,
            startedAt: d.detectedAt,
            response: targetFor(d.detectedAt, t.responseSeconds, t.warningAt, calendar, SlaTargetKind.Response),
            resolution: targetFor(d.detectedAt, t.resolutionSeconds, t.warningAt, calendar, SlaTargetKind.Resolution),
          }),
          metadata,
        },
      ];
    }
    case 'RecordAcknowledgement': {
      const started = state.started;
      const clock = state.response;
      if (started === null || clock === null || clock.state !== ClockState.Running) return [];
      return [ending(started, SlaTargetKind.Response, clock, at, 'acknowledged', metadata)];
    }
    case 'RecordResolution': {
      const started = state.started;
      if (started === null) return [];
      // Resolved before anybody acknowledged it: the resolution is the response too.
      return kinds.flatMap((kind) => {
        const clock = state[kind];
        if (clock === null || clock.state !== ClockState.Running) return [];
        return [ending(started, kind, clock, at, 'resolved', metadata)];
      });
    }
    case 'SweepSla': {
      const started = state.started;
      if (started === null) return [];
      const now = Date.parse(at);
      return kinds.flatMap((kind): SlaEvent[] => {
        const clock = state[kind];
        if (clock === null || clock.state !== ClockState.Running) return [];
        if (now >= Date.parse(clock.target.dueAt)) return [violation(started, kind, clock, metadata)];
        if (clock.warned || clock.target.warnAt === undefined || now < Date.parse(clock.target.warnAt)) return [];
        return [
          {
            type: 'SlaWarned',
            data: {
              kind,
              severity: started.severity,
              targetSeconds: clock.target.targetSeconds,
              dueAt: clock.target.dueAt,
              elapsedSeconds: elapsedSeconds(started.startedAt, at, calendarOf(started)),
            },
            metadata,
          },
        ];
      });
    }
    default:
      return assertNever(command, 'SLA command');
  }
};

export const slaDecider: Decider<SlaState, SlaCommand, SlaEvent> = {
  initialState: initialSlaState,
  evolve: evolveSla,
  decide: decideSla,
};
