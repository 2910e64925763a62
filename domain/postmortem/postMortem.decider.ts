import { actorOf, assertNever, withoutUndefined } from '../decision.ts';
import type { PostMortemClosed, PostMortemFeedbackRecorded, PostMortemReviewed } from '../events/postmortem.events.ts';
import type { Command, Decider } from '../messages.ts';
import { invalid, refuse } from '../refusals.ts';

/**
 * The review life of a PostMortem, on its own stream (`postmortem-<issueId>`): Open → InReview → Closed, and
 * feedback while it is not closed. The PostMortem itself is written from the incident's events; whoever sends
 * these commands has checked that it exists.
 */
export const PostMortemState = { Open: 'Open', InReview: 'InReview', Closed: 'Closed' } as const;
export type PostMortemState = (typeof PostMortemState)[keyof typeof PostMortemState];

export type ReviewPostMortem = Command<'ReviewPostMortem', { readonly issueId: string; readonly notes?: string }>;
export type ClosePostMortem = Command<'ClosePostMortem', { readonly issueId: string; readonly note?: string }>;
export type RecordPostMortemFeedback = Command<
  'RecordPostMortemFeedback',
  {
    readonly issueId: string;
    readonly rating?: number;
    readonly rootCauseOverride?: string;
    readonly comments?: string;
  }
>;
export type PostMortemCommand = ReviewPostMortem | ClosePostMortem | RecordPostMortemFeedback;
export type PostMortemEvent = PostMortemReviewed | PostMortemClosed | PostMortemFeedbackRecorded;

export interface PostMortemReviewState {
  readonly state: PostMortemState;
  readonly reviewers: readonly string[];
  readonly feedbackCount: number;
}

const initialState = (): PostMortemReviewState => ({ state: PostMortemState.Open, reviewers: [], feedbackCount: 0 });

const evolve = (state: PostMortemReviewState, event: PostMortemEvent): PostMortemReviewState => {
  switch (event.type) {
    case 'PostMortemReviewed':
      return { ...state, state: PostMortemState.InReview, reviewers: [...state.reviewers, event.data.reviewer] };
    case 'PostMortemClosed':
      return { ...state, state: PostMortemState.Closed };
    case 'PostMortemFeedbackRecorded':
      return { ...state, feedbackCount: state.feedbackCount + 1 };
    default:
      return state;
  }
};

const decide = (command: PostMortemCommand, state: PostMortemReviewState): readonly PostMortemEvent[] => {
  const metadata = command.metadata;
  if (state.state === PostMortemState.Closed) {
    throw refuse('postmortem.closed', `${command.type}: the PostMortem of Issue ${command.data.issueId} is closed`);
  }
  switch (command.type) {
    case 'ReviewPostMortem': {
      if (state.state === PostMortemState.InReview) {
        throw refuse('postmortem.already_in_review', `the PostMortem of Issue ${command.data.issueId} is in review`);
      }
      const { issueId, notes } = command.data;
      return [
        {
          type: 'PostMortemReviewed',
          data: withoutUndefined({ issueId, reviewer: actorOf(command), notes }),
          metadata,
        },
      ];
    }
    case 'ClosePostMortem': {
      const { issueId, note } = command.data;
      return [
        { type: 'PostMortemClosed', data: withoutUndefined({ issueId, closedBy: actorOf(command), note }), metadata },
      ];
    }
    case 'RecordPostMortemFeedback': {
      const { issueId, rating, rootCauseOverride, comments } = command.data;
      if (rating === undefined && rootCauseOverride === undefined && comments === undefined) {
        throw invalid('postmortem.empty_feedback', 'feedback needs a rating, a root cause or comments');
      }
      if (rating !== undefined && (!Number.isInteger(rating) || rating < 1 || rating > 5)) {
        throw invalid('postmortem.invalid_rating', `rating must be a whole number from 1 to 5, got ${rating}`);
      }
      return [
        {
          type: 'PostMortemFeedbackRecorded',
          data: withoutUndefined({ issueId, by: actorOf(command), rating, rootCauseOverride, comments }),
          metadata,
        },
      ];
    }
    default:
      return assertNever(command, 'PostMortem command');
  }
};

export const postMortemDecider: Decider<PostMortemReviewState, PostMortemCommand, PostMortemEvent> = {
  initialState,
  evolve,
  decide,
};
