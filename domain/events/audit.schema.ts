import { type Static, Type } from '@sinclair/typebox';
import { Actor, Count, Id, IsoInstant, Sha256Hex, strictObject } from './common.schema.ts';

/**
 * Metadata every event carries (see MessageMetadata). Audited events need an actor: "who did this" is the one
 * question an audit trail must always answer, so the catalogue refuses an audited event without one.
 */
export const EventMetadataSchema = strictObject({
  occurredAt: IsoInstant,
  correlationId: Type.Optional(Id),
  causationId: Type.Optional(Id),
  actor: Type.Optional(Actor),
});
export type EventMetadataData = Static<typeof EventMetadataSchema>;

/**
 * One link of the tamper-evident audit chain. The hashes are computed outside domain/ (hashing is I/O-free but
 * needs node:crypto); the shape lives here so the projection, the exporter and `cairn audit verify` agree on it.
 */
export const AuditEntrySchema = strictObject({
  sequence: Count,
  eventId: Id,
  eventType: Type.String({ minLength: 1, maxLength: 128 }),
  schemaVersion: Type.Integer({ minimum: 1 }),
  streamId: Id,
  occurredAt: IsoInstant,
  actor: Actor,
  data: Type.Unknown(),
  /** Empty for the first entry of the chain. */
  previousHash: Type.Union([Sha256Hex, Type.Literal('')]),
  hash: Sha256Hex,
});
export type AuditEntry = Static<typeof AuditEntrySchema>;
