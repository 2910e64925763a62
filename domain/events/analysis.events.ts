import { type Static, Type } from '@sinclair/typebox';
import type { Event } from '../messages.ts';
import {
  ActionParams,
  ActionType,
  defineEvent,
  FailureEvidence,
  Id,
  IsoInstant,
  ShortText,
  strictObject,
  Text,
} from './common.schema.ts';

export const AnalysisRequestedSchema = strictObject({
  insightId: Id,
  attempt: Type.Integer({ minimum: 1 }),
  previousFailures: Type.Array(FailureEvidence),
  doNotRepeat: Type.Array(ShortText),
});
export type AnalysisRequestedData = Static<typeof AnalysisRequestedSchema>;
export type AnalysisRequested = Event<'AnalysisRequested', AnalysisRequestedData>;

export const SuggestedAction = strictObject({
  name: ShortText,
  type: ActionType,
  description: ShortText,
  params: ActionParams,
});
export type SuggestedAction = Static<typeof SuggestedAction>;

/** A commit ranked as a likely cause: between the last healthy and the failing revision, touching what failed. */
export const SuspectedCommit = strictObject({
  /** The SourceRepository (`namespace/name`). */
  repository: Type.String({ minLength: 1, maxLength: 320 }),
  sha: Type.String({ pattern: '^[0-9a-f]{7,64}$' }),
  author: Type.Optional(Type.String({ maxLength: 253 })),
  message: Type.Optional(ShortText),
  at: Type.Optional(IsoInstant),
  /** 0 to 1: how strongly the evidence points at this commit. */
  confidence: Type.Number({ minimum: 0, maximum: 1 }),
  filesChanged: Type.Array(Type.String({ maxLength: 1_024 }), { maxItems: 64 }),
  /** Why it was ranked here, one line each (touches the chart, named in a stack trace, ...). */
  reasons: Type.Array(ShortText, { maxItems: 8 }),
});
export type SuspectedCommit = Static<typeof SuspectedCommit>;

/**
 * What changed around the workload when it was analysed, kept with the analysis so the AIInsight and the PostMortem
 * are rendered from the log: the GitOps/Helm state in a few lines and the suspected commits, most likely first.
 */
export const ChangeEvidence = strictObject({
  gitOps: Type.Optional(Type.String({ maxLength: 4_096 })),
  suspectedCommits: Type.Optional(Type.Array(SuspectedCommit, { maxItems: 5 })),
});
export type ChangeEvidence = Static<typeof ChangeEvidence>;

export const AnalysisCompletedSchema = strictObject({
  insightId: Id,
  attempt: Type.Integer({ minimum: 1 }),
  analysis: Text,
  /** Clamped to [0, 1] by the provider adapter; an out-of-range value here is a bug, so it is refused. */
  confidence: Type.Number({ minimum: 0, maximum: 1 }),
  recommendations: Type.Array(ShortText, { maxItems: 50 }),
  suggestedActions: Type.Array(SuggestedAction, { maxItems: 50 }),
  provider: Type.String({ minLength: 1, maxLength: 128 }),
  model: Type.String({ maxLength: 256 }),
  change: Type.Optional(ChangeEvidence),
});
export type AnalysisCompletedData = Static<typeof AnalysisCompletedSchema>;
export type AnalysisCompleted = Event<'AnalysisCompleted', AnalysisCompletedData>;

export const AnalysisFailedSchema = strictObject({
  insightId: Id,
  attempt: Type.Integer({ minimum: 1 }),
  reason: ShortText,
  provider: Type.Optional(Type.String({ maxLength: 128 })),
});
export type AnalysisFailedData = Static<typeof AnalysisFailedSchema>;
export type AnalysisFailed = Event<'AnalysisFailed', AnalysisFailedData>;

/** Why an analysis that depends on a remote analysis server cannot run now. */
export const AnalysisWaitCause = {
  Unreachable: 'unreachable',
  Unauthenticated: 'unauthenticated',
  Timeout: 'timeout',
  NotServing: 'not_serving',
} as const;
export type AnalysisWaitCause = (typeof AnalysisWaitCause)[keyof typeof AnalysisWaitCause];

/** The analysis is still pending and will be retried; recorded when the reason for waiting starts or changes. */
export const AnalysisDeferredSchema = strictObject({
  insightId: Id,
  attempt: Type.Integer({ minimum: 1 }),
  /** The analysis server's address (`host:port`). */
  server: Type.String({ minLength: 1, maxLength: 512 }),
  cause: Type.Enum(AnalysisWaitCause),
  reason: ShortText,
});
export type AnalysisDeferredData = Static<typeof AnalysisDeferredSchema>;
export type AnalysisDeferred = Event<'AnalysisDeferred', AnalysisDeferredData>;

export const analysisEventDefinitions = [
  defineEvent('AnalysisRequested', AnalysisRequestedSchema, { audited: false }),
  defineEvent('AnalysisCompleted', AnalysisCompletedSchema, { audited: false }),
  defineEvent('AnalysisFailed', AnalysisFailedSchema, { audited: false }),
  defineEvent('AnalysisDeferred', AnalysisDeferredSchema, { audited: false }),
] as const;
