import { type Static, Type } from '@sinclair/typebox';
import {
  Count,
  cel,
  Duration,
  LocalRef,
  ObjectName,
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

const BusinessHoursSchema = Type.Object(
  {
    timezone: Type.Optional(Text(64, { default: 'UTC', description: 'An IANA zone, e.g. Europe/Paris.' })),
    startHour: Type.Integer({ minimum: 0, maximum: 23 }),
    endHour: Type.Integer({
      minimum: 0,
      maximum: 23,
      description: 'Exclusive; smaller than startHour wraps midnight.',
    }),
    days: Type.Optional(
      SetOf(StringEnum(weekdays), 7, { default: ['Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday'] }),
    ),
  },
  { ...rules(cel('self.startHour != self.endHour', 'business hours cannot be empty: startHour equals endHour')) },
);

export const IncidentSLASpecSchema = Type.Object(
  {
    severity: Severity('The Issue severity this SLA applies to.'),
    responseTime: Duration('Detection to first analysis, e.g. 5m.'),
    resolutionTime: Duration('Detection to Resolved, e.g. 1h.'),
    businessHours: Type.Optional(BusinessHoursSchema),
    escalationPolicyRef: Type.Optional(LocalRef('Triggered on breach.')),
    notificationPolicyRef: Type.Optional(LocalRef('Told about breaches.')),
  },
  {
    ...rules(
      cel(
        'duration(self.responseTime) <= duration(self.resolutionTime)',
        'responseTime cannot be longer than resolutionTime',
      ),
    ),
  },
);

export const IncidentSLAStatusSchema = Type.Object({
  tracked: Type.Optional(Count('Issues measured against this SLA.')),
  activeViolations: Type.Optional(Count('Open Issues past a target.')),
  totalViolations: Type.Optional(Count('Breaches so far.')),
  compliance: Type.Optional(Percentage('Percentage of tracked Issues within both targets.')),
  averageResponseTime: Type.Optional(Text(32)),
  averageResolutionTime: Type.Optional(Text(32)),
  recentViolations: Type.Optional(
    Type.Array(
      Type.Object({
        issue: ObjectName('The Issue.'),
        type: StringEnum(['response', 'resolution'] as const),
        elapsed: Text(32),
        at: Timestamp(),
      }),
      { maxItems: 50 },
    ),
  ),
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
  description: 'Response and resolution targets for Issues of one severity, optionally in business hours only.',
  specAuthor: 'user',
  printerColumns: [
    { name: 'Severity', type: 'string', jsonPath: '.spec.severity' },
    { name: 'Response', type: 'string', jsonPath: '.spec.responseTime' },
    { name: 'Resolution', type: 'string', jsonPath: '.spec.resolutionTime' },
    { name: 'Compliance', type: 'number', jsonPath: '.status.compliance' },
    { name: 'Violations', type: 'integer', jsonPath: '.status.totalViolations' },
    ageColumn,
  ],
  statusSubresource: true,
  spec: IncidentSLASpecSchema,
  status: IncidentSLAStatusSchema,
  resource: IncidentSLAResourceSchema,
};
