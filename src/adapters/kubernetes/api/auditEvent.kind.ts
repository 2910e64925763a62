import { type Static, Type } from '@sinclair/typebox';
import {
  cel,
  LocalRef,
  patterns,
  ResourceRef,
  rules,
  StringEnum,
  StringMap,
  Text,
  Timestamp,
} from './common.schema.ts';
import { ageColumn, cairnCategory, type KindDefinition, specOnlyResource } from './kindDefinition.ts';

// An AuditEvent is a bounded-retention copy of one audited event; the event store holds the full, hash-chained
// trail and `cairn audit verify` checks it. The hashes are repeated here so a copy can be checked on its own.
export const AuditEventSpecSchema = Type.Object(
  {
    sequence: Type.Integer({ minimum: 0, format: 'int64', description: 'Position in the audit chain.' }),
    eventType: Type.String({ maxLength: 128, pattern: patterns.pascalCase, description: 'e.g. ActionSucceeded.' }),
    eventId: Text(128, { minLength: 1 }),
    stream: Text(253, { minLength: 1, description: 'The event stream, e.g. remediation-….' }),
    occurredAt: Timestamp(),
    actor: Type.Object({
      type: StringEnum(['user', 'apikey', 'system'] as const),
      name: Text(253, { minLength: 1 }),
    }),
    resource: Type.Optional(ResourceRef('The Kubernetes object acted on.')),
    issueRef: Type.Optional(LocalRef('The Issue the event belongs to.')),
    correlationId: Type.Optional(Text(128)),
    summary: Type.Optional(Text(4096)),
    details: Type.Optional(StringMap(32, 4096)),
    hash: Type.String({ pattern: patterns.sha256, maxLength: 64, description: 'SHA-256 of this entry.' }),
    previousHash: Type.Optional(
      Type.String({ pattern: patterns.sha256, maxLength: 64, description: 'Absent on the first entry.' }),
    ),
  },
  { ...rules(cel('self == oldSelf', 'an AuditEvent is immutable')) },
);

export const AuditEventResourceSchema = specOnlyResource('AuditEvent', AuditEventSpecSchema);

export type AuditEventSpec = Static<typeof AuditEventSpecSchema>;
export type AuditEventResource = Static<typeof AuditEventResourceSchema>;

export const auditEventKind: KindDefinition = {
  kind: 'AuditEvent',
  plural: 'auditevents',
  singular: 'auditevent',
  shortNames: ['audit'],
  categories: [cairnCategory],
  description: 'A high-value event (action, approval, rollback) with its place in the audit hash chain (projection).',
  specAuthor: 'cairn',
  printerColumns: [
    { name: 'Seq', type: 'integer', jsonPath: '.spec.sequence' },
    { name: 'Type', type: 'string', jsonPath: '.spec.eventType' },
    { name: 'Actor', type: 'string', jsonPath: '.spec.actor.name' },
    { name: 'Resource', type: 'string', jsonPath: '.spec.resource.name' },
    { name: 'Occurred', type: 'date', jsonPath: '.spec.occurredAt', priority: 1 },
    ageColumn,
  ],
  statusSubresource: false,
  spec: AuditEventSpecSchema,
  resource: AuditEventResourceSchema,
};
