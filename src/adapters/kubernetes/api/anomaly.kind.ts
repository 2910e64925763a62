import { type Static, Type } from '@sinclair/typebox';
import {
  AnomalySource,
  Count,
  cel,
  LocalRef,
  patterns,
  ResourceRef,
  rules,
  Severity,
  Signal,
  StringMap,
  statusBase,
  Text,
  Timestamp,
} from './common.schema.ts';
import { ageColumn, cairnCategory, customResource, type KindDefinition } from './kindDefinition.ts';

export const AnomalySpecSchema = Type.Object(
  {
    signal: Signal(),
    source: Type.Optional(
      AnomalySource(
        'Which detector produced the signal. Cairn writes watcher, prometheus, grpc or kafka on the Anomalies it records itself; an Anomaly written by hand is manual (the default), may not say otherwise, and is recorded as manual whatever it says.',
        'manual',
      ),
    ),
    resource: ResourceRef('The object the signal is about; a Pod is resolved to its owning workload on correlation.'),
    alertName: Type.Optional(Text(253, { description: 'The alert or reason as the source named it.' })),
    severity: Type.Optional(Severity('The severity the source suggested; correlation computes its own.')),
    message: Type.Optional(Text(4096, { description: 'Human-readable detail.' })),
    value: Type.Optional(Text(128, { description: 'The observed value, e.g. 5 restarts, 12% errors.' })),
    threshold: Type.Optional(Text(128, { description: 'The value considered normal.' })),
    observedAt: Type.Optional(Timestamp('When the source saw it; defaults to creation time.')),
    cluster: Type.Optional(Text(253, { description: 'The ClusterRegistration it came from, for federation.' })),
    labels: Type.Optional(StringMap(32, 1024, 'Labels of the originating alert.')),
  },
  {
    ...rules(
      cel('self == oldSelf', 'spec is immutable: an Anomaly records what was observed'),
      cel("self.signal != 'custom' || has(self.alertName)", 'a custom signal needs spec.alertName'),
    ),
  },
);

export const AnomalyStatusSchema = Type.Object({
  correlated: Type.Optional(Type.Boolean({ description: 'True once the Anomaly joined an Issue.' })),
  issueRef: Type.Optional(LocalRef('The Issue this Anomaly was correlated into.')),
  dedupKey: Type.Optional(
    Type.String({ pattern: patterns.sha256, maxLength: 64, description: 'SHA-256 of signal|kind|name|namespace.' }),
  ),
  occurrences: Type.Optional(Count('How many times the source reported it while it was deduplicated.')),
  firstSeenAt: Type.Optional(Timestamp()),
  lastSeenAt: Type.Optional(Timestamp()),
  cause: Type.Optional(
    Type.Object(
      {
        code: Text(63, { description: 'A stable name for the cause: config_missing, unschedulable, quota_exceeded…' }),
        message: Text(2048, { description: 'The cause in words, naming the object or field to fix.' }),
        object: Type.Optional(ResourceRef('The object to fix, when it is not the one the signal was seen on.')),
      },
      { description: 'Why, when the detector could tell (Cairn writes it for its own detections).' },
    ),
  ),
  ...statusBase(),
});

export const AnomalyResourceSchema = customResource('Anomaly', AnomalySpecSchema, AnomalyStatusSchema);

export type AnomalySpec = Static<typeof AnomalySpecSchema>;
export type AnomalyStatus = Static<typeof AnomalyStatusSchema>;
export type AnomalyResource = Static<typeof AnomalyResourceSchema>;

export const anomalyKind: KindDefinition = {
  kind: 'Anomaly',
  plural: 'anomalies',
  singular: 'anomaly',
  shortNames: ['anom'],
  categories: [cairnCategory],
  description: 'A detected signal about one Kubernetes object, before correlation into an Issue.',
  specAuthor: 'user-or-cairn',
  printerColumns: [
    { name: 'Signal', type: 'string', jsonPath: '.spec.signal' },
    { name: 'Source', type: 'string', jsonPath: '.spec.source' },
    { name: 'Resource', type: 'string', jsonPath: '.spec.resource.name' },
    { name: 'Issue', type: 'string', jsonPath: '.status.issueRef.name' },
    { name: 'Kind', type: 'string', jsonPath: '.spec.resource.kind', priority: 1 },
    { name: 'Cause', type: 'string', jsonPath: '.status.cause.code', priority: 1 },
    ageColumn,
  ],
  statusSubresource: true,
  spec: AnomalySpecSchema,
  status: AnomalyStatusSchema,
  resource: AnomalyResourceSchema,
};
