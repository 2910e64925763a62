import { type Static, Type } from '@sinclair/typebox';
import type { Event } from '../messages.ts';
import {
  ActionParams,
  ActionType,
  Actor,
  Count,
  defineEvent,
  Id,
  IsoInstant,
  ShortText,
  strictObject,
  Text,
} from './common.schema.ts';

export const TimelineEntry = strictObject({
  at: IsoInstant,
  event: Type.String({ maxLength: 128 }),
  detail: ShortText,
});
export type TimelineEntry = Static<typeof TimelineEntry>;

export const ExecutedAction = strictObject({
  type: ActionType,
  params: ActionParams,
  outcome: Type.Enum({ Succeeded: 'succeeded', Failed: 'failed', Refused: 'refused' } as const),
  detail: ShortText,
});
export type ExecutedAction = Static<typeof ExecutedAction>;

/** Written once per resolved Issue, from a replay of its events; the PostMortem kind is its projection. */
export const PostMortemGeneratedSchema = strictObject({
  postMortemId: Id,
  issueId: Id,
  from: Type.Enum({ Standard: 'standard', Agentic: 'agentic' } as const),
  summary: Text,
  rootCause: Text,
  impact: Text,
  lessonsLearned: Type.Array(ShortText, { maxItems: 50 }),
  preventionActions: Type.Array(ShortText, { maxItems: 50 }),
  timeline: Type.Array(TimelineEntry, { maxItems: 1_000 }),
  actionsExecuted: Type.Array(ExecutedAction, { maxItems: 200 }),
  durationSeconds: Type.Number({ minimum: 0 }),
  recurrence: strictObject({ last30Days: Count, relatedPostMortems: Type.Array(Id) }),
  cascade: Type.Optional(strictObject({ rootIssueId: Id, chain: Type.Array(Id) })),
  suspectedCommit: Type.Optional(
    strictObject({
      sha: Type.String({ pattern: '^[0-9a-f]{7,64}$', description: 'a git commit hash' }),
      author: ShortText,
      message: ShortText,
      changedFiles: Type.Array(ShortText, { maxItems: 500 }),
      confidence: Type.Number({ minimum: 0, maximum: 1 }),
    }),
  ),
  gitOps: Type.Optional(Type.Record(Type.String(), Type.String({ maxLength: 2_048 }))),
});
export type PostMortemGeneratedData = Static<typeof PostMortemGeneratedSchema>;
export type PostMortemGenerated = Event<'PostMortemGenerated', PostMortemGeneratedData>;

export const postMortemEventDefinitions = [
  defineEvent('PostMortemGenerated', PostMortemGeneratedSchema, { audited: true }),
] as const;

/** A person took the PostMortem into review (Open → InReview). */
export const PostMortemReviewedSchema = strictObject({
  issueId: Id,
  reviewer: Actor,
  notes: Type.Optional(ShortText),
});
export type PostMortemReviewedData = Static<typeof PostMortemReviewedSchema>;
export type PostMortemReviewed = Event<'PostMortemReviewed', PostMortemReviewedData>;

export const PostMortemClosedSchema = strictObject({
  issueId: Id,
  closedBy: Actor,
  note: Type.Optional(ShortText),
});
export type PostMortemClosedData = Static<typeof PostMortemClosedSchema>;
export type PostMortemClosed = Event<'PostMortemClosed', PostMortemClosedData>;

/** How good the remediation was, and what a person knows better than the analysis did. */
export const PostMortemFeedbackRecordedSchema = strictObject({
  issueId: Id,
  by: Actor,
  rating: Type.Optional(Type.Integer({ minimum: 1, maximum: 5 })),
  rootCauseOverride: Type.Optional(Text),
  comments: Type.Optional(Text),
});
export type PostMortemFeedbackRecordedData = Static<typeof PostMortemFeedbackRecordedSchema>;
export type PostMortemFeedbackRecorded = Event<'PostMortemFeedbackRecorded', PostMortemFeedbackRecordedData>;

export const postMortemReviewEventDefinitions = [
  defineEvent('PostMortemReviewed', PostMortemReviewedSchema, { audited: true }),
  defineEvent('PostMortemClosed', PostMortemClosedSchema, { audited: true }),
  defineEvent('PostMortemFeedbackRecorded', PostMortemFeedbackRecordedSchema, { audited: true }),
] as const;
