import { type Static, Type } from '@sinclair/typebox';
import type { Event } from '../messages.ts';
import {
  AnomalySource,
  defineEvent,
  Id,
  IsoInstant,
  ResourceRef,
  Sha256Hex,
  ShortText,
  SignalName,
  strictObject,
} from './common.schema.ts';

/**
 * Why the symptom is there, when the detector could tell: the missing ConfigMap behind a CreateContainerConfigError,
 * the scheduler's reason for a pending pod, the quota a ReplicaSet ran into. `code` is stable for code to match on.
 */
export const AnomalyCauseSchema = strictObject({
  code: Type.String({ pattern: '^[a-z][a-z0-9_]{0,62}$' }),
  message: ShortText,
  /** The object to fix, when it is not the one the symptom was seen on (the missing Secret, the exceeded quota). */
  object: Type.Optional(ResourceRef),
});
export type AnomalyCause = Static<typeof AnomalyCauseSchema>;

export const AnomalyDetectedSchema = strictObject({
  anomalyId: Id,
  dedupKey: Sha256Hex,
  signal: SignalName,
  source: Type.Enum(AnomalySource),
  /** The object the source saw (often a Pod). */
  resource: ResourceRef,
  /** What the resource resolves to through its owners; Issues are per workload. */
  workload: ResourceRef,
  message: ShortText,
  /** When the source saw it; metadata.occurredAt is when Cairn recorded it. */
  observedAt: IsoInstant,
  dedupExpiresAt: IsoInstant,
  labels: Type.Optional(Type.Record(Type.String(), Type.String({ maxLength: 1_024 }))),
  cause: Type.Optional(AnomalyCauseSchema),
});
export type AnomalyDetectedData = Static<typeof AnomalyDetectedSchema>;
export type AnomalyDetected = Event<'AnomalyDetected', AnomalyDetectedData>;

export const AnomalyDeduplicatedSchema = strictObject({
  anomalyId: Id,
  dedupKey: Sha256Hex,
  signal: SignalName,
  workload: ResourceRef,
  /** The anomaly this one repeats. */
  duplicateOf: Id,
  dedupExpiresAt: IsoInstant,
  issueId: Type.Optional(Id),
});
export type AnomalyDeduplicatedData = Static<typeof AnomalyDeduplicatedSchema>;
export type AnomalyDeduplicated = Event<'AnomalyDeduplicated', AnomalyDeduplicatedData>;

export const anomalyEventDefinitions = [
  defineEvent('AnomalyDetected', AnomalyDetectedSchema, { audited: false }),
  defineEvent('AnomalyDeduplicated', AnomalyDeduplicatedSchema, { audited: false }),
] as const;
