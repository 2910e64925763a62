import { type Static, Type } from '@sinclair/typebox';
import {
  Count,
  cel,
  Duration,
  LocalRef,
  MapListOf,
  Percentage,
  rules,
  SetOf,
  Severity,
  StringEnum,
  statusBase,
  Text,
  Timestamp,
  weekdays,
} from './common.schema.ts';
import { ageColumn, cairnCategory, customResource, type KindDefinition } from './kindDefinition.ts';

export const slaTargetKinds = ['response', 'resolution'] as const;

const LocalTime = (description: string) => Text(5, { pattern: '^[0-9]{2}:[0-9]{2}$', description });

const TargetSchema = Type.Object(
  {
    severity: Severity('The Issue severity these targets apply to.'),
    response: Duration('Detection to acknowledgement (or resolution, if that comes first), e.g. 15m.'),
    resolution: Duration('Detection to Resolved, e.g. 4h.'),
  },
  {
    ...rules(cel('duration(self.response) <= duration(self.resolution)', 'response cannot be longer than resolution')),
  },
);

const RangeSchema = Type.Object({
  days: SetOf(StringEnum(weekdays), 7, { minItems: 1 }),
  start: LocalTime('Opening time, HH:MM in the zone.'),
  end: LocalTime('Closing time, HH:MM (24:00 for midnight), after start.'),
});

const BusinessHoursSchema = Type.Object(
  {
    timeZone: Text(64, { minLength: 1, description: 'An IANA zone, e.g. Europe/Paris.' }),
    ranges: Type.Array(RangeSchema, {
      minItems: 1,
      maxItems: 16,
      description: 'When the clock runs each week; a range over midnight is written as two.',
    }),
  },
  { description: 'Clocks run only inside these hours; around the clock when omitted.' },
);

export const IncidentSLASpecSchema = Type.Object(
  {
    targets: MapListOf(TargetSchema, 'severity', 4, {
      minItems: 1,
      description: 'One entry per severity; Issues of a severity not listed are not measured by this SLA.',
    }),
    businessHours: Type.Optional(BusinessHoursSchema),
    holidays: Type.Optional(
      SetOf(Text(10, { pattern: '^[0-9]{4}-[0-9]{2}-[0-9]{2}$' }), 366, {
        description: 'Dates (YYYY-MM-DD, in the business-hours zone) on which the clock does not run.',
      }),
    ),
    warningAt: Type.Optional(
      Type.Number({
        exclusiveMinimum: 0,
        exclusiveMaximum: 1,
        default: 0.8,
        description: 'Share of a target after which a warning is recorded.',
      }),
    ),
    escalateOn: Type.Optional(
      SetOf(StringEnum(slaTargetKinds), 2, { description: 'Violations of these targets escalate the Issue.' }),
    ),
    notificationPolicyRef: Type.Optional(
      LocalRef(
        'Only this NotificationPolicy (same namespace) hears of warnings and violations; every matching one when omitted.',
      ),
    ),
  },
  { ...rules(cel('!has(self.holidays) || has(self.businessHours)', 'holidays need businessHours (their zone)')) },
);

const WindowSchema = Type.Object({
  met: Count('Targets met in the window.'),
  violated: Count('Targets violated in the window.'),
  compliance: Type.Optional(Percentage('Met as a share of met and violated; absent when nothing ended.')),
});

export const IncidentSLAStatusSchema = Type.Object({
  /** The generation Issues are measured by: the last valid one, which may be older than observedGeneration. */
  activeGeneration: Type.Optional(
    Type.Integer({ minimum: 0, format: 'int64', description: 'The generation new Issues are measured by.' }),
  ),
  compliance: Type.Optional(
    Type.Array(
      Type.Object({
        severity: Severity(),
        last7Days: WindowSchema,
        last30Days: WindowSchema,
      }),
      { maxItems: 4, description: 'Per severity, targets (response and resolution) that ended in each window.' },
    ),
  ),
  activeSpec: Type.Optional(
    Type.Object(IncidentSLASpecSchema.properties, {
      description: 'The spec of activeGeneration, kept so a restarted Cairn measures by it while the spec is invalid.',
    }),
  ),
  activeViolations: Type.Optional(Count('Open Issues past a target.')),
  lastViolationAt: Type.Optional(Timestamp()),
  ...statusBase(),
});

export const IncidentSLAResourceSchema = customResource('IncidentSLA', IncidentSLASpecSchema, IncidentSLAStatusSchema);

export type IncidentSLASpec = Static<typeof IncidentSLASpecSchema>;
export type IncidentSLAStatus = Static<typeof IncidentSLAStatusSchema>;
export type IncidentSLAResource = Static<typeof IncidentSLAResourceSchema>;

export const incidentSlaKind: KindDefinition = {
  kind: 'IncidentSLA',
  plural: 'incidentslas',
  singular: 'incidentsla',
  shortNames: ['sla'],
  categories: [cairnCategory],
  description:
    'Response and resolution targets for Issues per severity, optionally counted in business hours only, with warnings and violations.',
  specAuthor: 'user',
  printerColumns: [
    { name: 'Zone', type: 'string', jsonPath: '.spec.businessHours.timeZone' },
    { name: 'Active', type: 'integer', jsonPath: '.status.activeGeneration' },
    { name: 'Violating', type: 'integer', jsonPath: '.status.activeViolations' },
    ageColumn,
  ],
  statusSubresource: true,
  spec: IncidentSLASpecSchema,
  status: IncidentSLAStatusSchema,
  resource: IncidentSLAResourceSchema,
};
