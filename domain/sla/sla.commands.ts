import type { ResourceRef, Severity } from '../events/common.schema.ts';
import type { SlaCalendarData, SlaTargetKind } from '../events/sla.events.ts';
import type { Command } from '../messages.ts';

/** The terms of the IncidentSLA that matched the Issue, as they were when it was detected. */
export interface SlaTerms {
  readonly sla: { readonly namespace: string; readonly name: string; readonly generation: number };
  readonly responseSeconds: number;
  readonly resolutionSeconds: number;
  readonly calendar?: SlaCalendarData;
  readonly warningAt?: number;
  readonly escalateOn: readonly SlaTargetKind[];
  readonly notificationPolicy?: { readonly namespace: string; readonly name: string };
}

export type StartSla = Command<
  'StartSla',
  {
    readonly issueId: string;
    readonly severity: Severity;
    readonly workload: ResourceRef;
    /** The Issue's detection: the clocks start there, however late this command comes. */
    readonly detectedAt: string;
    readonly terms: SlaTerms;
  }
>;

/** Somebody acknowledged the Issue (at the command's occurredAt). */
export type RecordAcknowledgement = Command<'RecordAcknowledgement', Record<string, never>>;

/** The Issue was resolved (at the command's occurredAt). */
export type RecordResolution = Command<'RecordResolution', Record<string, never>>;

/** Records whatever warning or violation is due at the command's occurredAt. */
export type SweepSla = Command<'SweepSla', Record<string, never>>;

export type SlaCommand = StartSla | RecordAcknowledgement | RecordResolution | SweepSla;
