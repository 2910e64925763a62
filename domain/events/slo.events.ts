import { type Static, Type } from '@sinclair/typebox';
import type { Event } from '../messages.ts';
import { defineEvent, Id, ResourceRef, strictObject } from './common.schema.ts';

/**
 * One ServiceLevelObjective's burn-rate alerts (`slo-<namespace>.<name>`). Only changes are recorded: an alert that
 * starts firing, and one that stops; evaluations that change nothing stay in the SLO's status.
 */

const Rate = Type.Number({ minimum: 0 });

const SloBurnAlertSchema = {
  slo: strictObject({
    namespace: Type.String({ minLength: 1, maxLength: 63 }),
    name: Id,
    generation: Type.Integer({ minimum: 0 }),
  }),
  /** The burn-rate rule's name, e.g. page-1h. */
  alert: Id,
  urgency: Type.Union([Type.Literal('page'), Type.Literal('ticket')]),
  factor: Type.Number({ exclusiveMinimum: 0 }),
  /** Seconds. */
  shortWindow: Type.Integer({ minimum: 1 }),
  longWindow: Type.Integer({ minimum: 1 }),
  shortRate: Rate,
  longRate: Rate,
  workload: ResourceRef,
};

export const SloBurnAlertFiredSchema = strictObject({
  ...SloBurnAlertSchema,
  /** The slo_burn_rate anomaly recorded on the workload, and the Issue it opened or joined. */
  anomalyId: Id,
  issueId: Type.Optional(Id),
});
export type SloBurnAlertFiredData = Static<typeof SloBurnAlertFiredSchema>;
export type SloBurnAlertFired = Event<'SloBurnAlertFired', SloBurnAlertFiredData>;

export const SloBurnAlertClearedSchema = strictObject(SloBurnAlertSchema);
export type SloBurnAlertClearedData = Static<typeof SloBurnAlertClearedSchema>;
export type SloBurnAlertCleared = Event<'SloBurnAlertCleared', SloBurnAlertClearedData>;

export type SloEvent = SloBurnAlertFired | SloBurnAlertCleared;

export const sloEventDefinitions = [
  defineEvent('SloBurnAlertFired', SloBurnAlertFiredSchema, { audited: false }),
  defineEvent('SloBurnAlertCleared', SloBurnAlertClearedSchema, { audited: false }),
] as const;
