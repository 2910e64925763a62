import { type Static, Type } from '@sinclair/typebox';
import type { Event } from '../messages.ts';
import { defineEvent, Id, IsoInstant, ResourceRef, SeveritySchema, strictObject } from './common.schema.ts';

/**
 * One Issue measured against one IncidentSLA (`sla-<issueId>`). The SLA's terms are copied into the stream when the
 * clock starts, so editing or deleting the IncidentSLA later never rewrites how an Issue was measured.
 */

export const SlaTargetKind = { Response: 'response', Resolution: 'resolution' } as const;
export type SlaTargetKind = (typeof SlaTargetKind)[keyof typeof SlaTargetKind];

const Weekday = Type.Union(
  ['Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday', 'Sunday'].map((d) => Type.Literal(d)),
);
const LocalTime = Type.String({ pattern: '^\\d{2}:\\d{2}$' });

export const SlaCalendarSchema = strictObject({
  timeZone: Type.String({ minLength: 1, maxLength: 64 }),
  ranges: Type.Array(
    strictObject({ days: Type.Array(Weekday, { minItems: 1, maxItems: 7 }), start: LocalTime, end: LocalTime }),
    { minItems: 1, maxItems: 32 },
  ),
  holidays: Type.Array(Type.String({ pattern: '^\\d{4}-\\d{2}-\\d{2}$' }), { maxItems: 400 }),
});
export type SlaCalendarData = Static<typeof SlaCalendarSchema>;

const Seconds = Type.Number({ minimum: 0 });

export const SlaTargetSchema = strictObject({
  targetSeconds: Seconds,
  /** When the warning is due (`warningAt` of the target in clock time); absent when the SLA warns of nothing. */
  warnAt: Type.Optional(IsoInstant),
  dueAt: IsoInstant,
});
export type SlaTarget = Static<typeof SlaTargetSchema>;

export const SlaStartedSchema = strictObject({
  issueId: Id,
  severity: SeveritySchema,
  workload: ResourceRef,
  sla: strictObject({
    namespace: Type.String({ minLength: 1, maxLength: 63 }),
    name: Id,
    generation: Type.Integer({ minimum: 0 }),
  }),
  /** Absent: the clock runs around the clock. */
  calendar: Type.Optional(SlaCalendarSchema),
  /** The share of a target at which a warning is recorded; absent: no warnings. */
  warningAt: Type.Optional(Type.Number({ exclusiveMinimum: 0, exclusiveMaximum: 1 })),
  /** Violations of these kinds escalate the Issue. */
  escalateOn: Type.Array(Type.Enum(SlaTargetKind), { maxItems: 2 }),
  /** Only this NotificationPolicy is told of warnings and violations; absent: every policy whose rules match. */
  notificationPolicy: Type.Optional(
    strictObject({ namespace: Type.String({ minLength: 1, maxLength: 63 }), name: Id }),
  ),
  /** When the clocks start: the Issue's detection. */
  startedAt: IsoInstant,
  response: SlaTargetSchema,
  resolution: SlaTargetSchema,
});
export type SlaStartedData = Static<typeof SlaStartedSchema>;
export type SlaStarted = Event<'SlaStarted', SlaStartedData>;

export const SlaWarnedSchema = strictObject({
  kind: Type.Enum(SlaTargetKind),
  severity: SeveritySchema,
  targetSeconds: Seconds,
  dueAt: IsoInstant,
  /** Clock time run when the warning was recorded. */
  elapsedSeconds: Seconds,
});
export type SlaWarnedData = Static<typeof SlaWarnedSchema>;
export type SlaWarned = Event<'SlaWarned', SlaWarnedData>;

export const SlaViolatedSchema = strictObject({
  kind: Type.Enum(SlaTargetKind),
  severity: SeveritySchema,
  targetSeconds: Seconds,
  dueAt: IsoInstant,
  /** Whether the SLA asks for the Issue to be escalated on this violation. */
  escalate: Type.Boolean(),
});
export type SlaViolatedData = Static<typeof SlaViolatedSchema>;
export type SlaViolated = Event<'SlaViolated', SlaViolatedData>;

export const SlaAchievedSchema = strictObject({
  kind: Type.Enum(SlaTargetKind),
  severity: SeveritySchema,
  targetSeconds: Seconds,
  dueAt: IsoInstant,
  /** Clock time from detection to the acknowledgement or resolution. */
  elapsedSeconds: Seconds,
  by: Type.Union([Type.Literal('acknowledged'), Type.Literal('resolved')]),
});
export type SlaAchievedData = Static<typeof SlaAchievedSchema>;
export type SlaAchieved = Event<'SlaAchieved', SlaAchievedData>;

export type SlaEvent = SlaStarted | SlaWarned | SlaViolated | SlaAchieved;

export const slaEventDefinitions = [
  defineEvent('SlaStarted', SlaStartedSchema, { audited: false }),
  defineEvent('SlaWarned', SlaWarnedSchema, { audited: false }),
  defineEvent('SlaViolated', SlaViolatedSchema, { audited: true }),
  defineEvent('SlaAchieved', SlaAchievedSchema, { audited: false }),
] as const;
