import { type TSchema, Type } from '@sinclair/typebox';

/** SLA views of the REST API; apart from the routes so api.schemas.ts can use them without an import cycle. */

const Nullable = <T extends TSchema>(schema: T) => Type.Union([schema, Type.Null()]);
const Str = Type.String();

const ClockSchema = Type.Object({
  state: Type.String({ description: 'running, met or violated' }),
  targetSeconds: Type.Number(),
  dueAt: Str,
  warnAt: Nullable(Str),
  warned: Type.Boolean(),
  elapsedSeconds: Type.Number({ description: 'Clock (business) time run, up to the end of the clock.' }),
  remainingSeconds: Nullable(Type.Number({ description: 'Clock time left; 0 once violated, null once met.' })),
  endedAt: Nullable(Str),
});

export const IncidentSlaSchema = Type.Object({
  issueId: Str,
  sla: Type.Object({ namespace: Str, name: Str, generation: Type.Integer() }),
  severity: Str,
  startedAt: Str,
  businessHours: Nullable(
    Type.Object({
      timeZone: Str,
      ranges: Type.Array(Type.Object({ days: Type.Array(Str), start: Str, end: Str })),
      holidays: Type.Array(Str),
    }),
  ),
  warningAt: Nullable(Type.Number()),
  response: ClockSchema,
  resolution: ClockSchema,
});

const Counts = Type.Object({ met: Type.Integer(), violated: Type.Integer(), running: Type.Integer() });

/** The SLA figures of GET /analytics (Issues whose clocks started in the range). */
export const SlaAnalyticsSchema = Type.Object({
  tracked: Type.Integer({ description: 'Issues measured by an IncidentSLA.' }),
  response: Counts,
  resolution: Counts,
  compliance: Nullable(Type.Number({ description: 'Met as a percentage of the targets that ended.' })),
  bySeverity: Type.Array(
    Type.Object({
      severity: Str,
      met: Type.Integer(),
      violated: Type.Integer(),
      compliance: Nullable(Type.Number()),
    }),
  ),
});
