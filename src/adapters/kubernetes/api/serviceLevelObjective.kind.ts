import { type Static, Type } from '@sinclair/typebox';
import {
  cel,
  Duration,
  KeyName,
  MapListOf,
  patterns,
  ResourceRef,
  rules,
  Severity,
  StringEnum,
  statusBase,
  Text,
  Timestamp,
} from './common.schema.ts';
import { ageColumn, cairnCategory, customResource, type KindDefinition } from './kindDefinition.ts';

const LatencyIndicatorSchema = Type.Object({
  metric: Type.String({
    minLength: 1,
    maxLength: 200,
    pattern: '^[a-zA-Z_:][a-zA-Z0-9_:]*$',
    description:
      'The histogram, without its _bucket/_count suffix, e.g. http_request_duration_seconds (a classic histogram).',
  }),
  selector: Type.Optional(
    Text(2048, {
      pattern: '^\\{.*\\}$',
      description: 'Label matchers in braces that pick the service\'s series, e.g. {service="checkout"}; not le.',
    }),
  ),
  threshold: Type.Number({
    exclusiveMinimum: 0,
    description: 'Requests at or under this value (the unit of the histogram, often seconds) are good; a bucket bound.',
  }),
});

const IndicatorSchema = Type.Object(
  {
    type: StringEnum(['availability', 'latency', 'error_rate', 'throughput'] as const, {
      description: 'What the ratio measures, for people reading it; a latency SLI counts requests under a threshold.',
    }),
    good: Type.Optional(
      Text(4096, {
        minLength: 1,
        description:
          'PromQL counting good events over $window, e.g. sum(increase(http_requests_total{code!~"5.."}[$window])).',
      }),
    ),
    total: Type.Optional(
      Text(4096, {
        minLength: 1,
        description: 'PromQL counting all events over $window, e.g. sum(increase(http_requests_total[$window])).',
      }),
    ),
    latency: Type.Optional(LatencyIndicatorSchema),
  },
  {
    ...rules(
      cel(
        'has(self.latency) || (has(self.good) && has(self.total))',
        'give either good and total (PromQL) or latency (a histogram threshold)',
      ),
      cel(
        '!has(self.latency) || (!has(self.good) && !has(self.total))',
        'latency replaces good and total: give one form, not both',
      ),
      cel("!has(self.latency) || self.type == 'latency'", 'an indicator with latency is of type latency'),
    ),
  },
);

// Burn-rate windows are Go durations (hours, not days) so that CEL can compare them.
const BurnRateAlertSchema = Type.Object(
  {
    name: KeyName('e.g. fast-burn'),
    shortWindow: Duration('e.g. 5m'),
    longWindow: Duration('e.g. 1h'),
    factor: Type.Number({ exclusiveMinimum: 0, maximum: 1000, description: 'Fires when both windows burn faster.' }),
    severity: Severity('Severity of the Issue opened when it fires.'),
  },
  {
    ...rules(
      cel('duration(self.shortWindow) < duration(self.longWindow)', 'shortWindow must be shorter than longWindow'),
    ),
  },
);

export const ServiceLevelObjectiveSpecSchema = Type.Object({
  service: Text(253, { minLength: 1, description: 'The service the objective is about.' }),
  workload: Type.Optional(
    ResourceRef('The workload a burn-rate alert is recorded on (a slo_burn_rate Anomaly); e.g. its Deployment.'),
  ),
  description: Type.Optional(Text(4096)),
  indicator: IndicatorSchema,
  target: Type.Number({
    exclusiveMinimum: 0,
    exclusiveMaximum: 100,
    description: 'Percentage of good events, strictly between 0 and 100, e.g. 99.9.',
  }),
  window: Type.Optional(
    Type.String({ maxLength: 16, pattern: patterns.window, default: '30d', description: 'Rolling window: 30d, 4w.' }),
  ),
  alerting: Type.Optional(
    Type.Object({
      burnRates: Type.Optional(MapListOf(BurnRateAlertSchema, 'name', 8)),
    }),
  ),
  enabled: Type.Optional(Type.Boolean({ default: true })),
});

export const ServiceLevelObjectiveStatusSchema = Type.Object({
  current: Type.Optional(Type.Number({ minimum: 0, maximum: 100, description: 'The SLI over the window, percent.' })),
  targetMet: Type.Optional(Type.Boolean()),
  errorBudgetRemaining: Type.Optional(
    Type.Number({ maximum: 1, description: 'Fraction of the budget left; negative once overspent.' }),
  ),
  burnRates: Type.Optional(
    Type.Array(Type.Object({ window: Duration('The window.'), rate: Type.Optional(Type.Number({ minimum: 0 })) }), {
      maxItems: 16,
    }),
  ),
  firing: Type.Optional(
    Type.Array(Type.Object({ name: KeyName('The burn-rate alert.'), severity: Severity(), since: Timestamp() }), {
      maxItems: 8,
    }),
  ),
  lastEvaluatedAt: Type.Optional(Timestamp()),
  noData: Type.Optional(Type.Boolean({ description: 'The SLO window counted no events: there is no SLI yet.' })),
  prometheusError: Type.Optional(Text(1024, { description: 'Why the last evaluation could not query Prometheus.' })),
  activeGeneration: Type.Optional(
    Type.Integer({ minimum: 0, format: 'int64', description: 'The generation being evaluated.' }),
  ),
  activeSpec: Type.Optional(
    Type.Object(ServiceLevelObjectiveSpecSchema.properties, {
      description: 'The spec of activeGeneration, kept so a restarted Cairn evaluates it while the spec is invalid.',
    }),
  ),
  ...statusBase(),
});

export const ServiceLevelObjectiveResourceSchema = customResource(
  'ServiceLevelObjective',
  ServiceLevelObjectiveSpecSchema,
  ServiceLevelObjectiveStatusSchema,
);

export type ServiceLevelObjectiveSpec = Static<typeof ServiceLevelObjectiveSpecSchema>;
export type ServiceLevelObjectiveStatus = Static<typeof ServiceLevelObjectiveStatusSchema>;
export type ServiceLevelObjectiveResource = Static<typeof ServiceLevelObjectiveResourceSchema>;

export const serviceLevelObjectiveKind: KindDefinition = {
  kind: 'ServiceLevelObjective',
  plural: 'servicelevelobjectives',
  singular: 'servicelevelobjective',
  shortNames: ['slo'],
  categories: [cairnCategory],
  description: 'A service level objective: indicator (PromQL), target over a window, and burn-rate alerting.',
  specAuthor: 'user',
  printerColumns: [
    { name: 'Service', type: 'string', jsonPath: '.spec.service' },
    { name: 'Target', type: 'number', jsonPath: '.spec.target' },
    { name: 'Window', type: 'string', jsonPath: '.spec.window' },
    { name: 'Current', type: 'number', jsonPath: '.status.current' },
    { name: 'Budget', type: 'number', jsonPath: '.status.errorBudgetRemaining' },
    ageColumn,
  ],
  statusSubresource: true,
  spec: ServiceLevelObjectiveSpecSchema,
  status: ServiceLevelObjectiveStatusSchema,
  resource: ServiceLevelObjectiveResourceSchema,
};
