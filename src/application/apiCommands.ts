import { CairnError, ErrorCategory } from '../../domain/errors.ts';
import { issueDecider } from '../../domain/issue/issue.decider.ts';
import type { MessageMetadata } from '../../domain/messages.ts';
import { postMortemDecider } from '../../domain/postmortem/postMortem.decider.ts';
import { remediationDecider } from '../../domain/remediation/remediation.decider.ts';
import { StreamCategory, streamName } from '../../domain/streams.ts';
import type { EventStore } from '../ports/eventStore.ts';
import { createCommandHandler } from './commandHandler.ts';

/**
 * What people do through the API, as commands to the deciders: every one becomes events in the audit trail with
 * the caller's key as the actor. The actor always comes from the authenticated identity, never from a request body.
 */
export interface ApiCommands {
  acknowledge(issueId: string, actor: string, note?: string): Promise<readonly string[]>;
  snooze(issueId: string, actor: string, until: string, reason?: string): Promise<readonly string[]>;
  unsnooze(issueId: string, actor: string): Promise<readonly string[]>;
  resolve(issueId: string, actor: string, note?: string): Promise<readonly string[]>;
  escalate(issueId: string, actor: string, detail?: string): Promise<readonly string[]>;
  /** `groups`: the approver's key groups, for requests whose rule names groups. */
  approve(
    remediationId: string,
    requestId: string,
    actor: string,
    groups?: readonly string[],
  ): Promise<readonly string[]>;
  reject(remediationId: string, requestId: string, actor: string, reason?: string): Promise<readonly string[]>;
  reviewPostMortem(issueId: string, actor: string, notes?: string): Promise<readonly string[]>;
  closePostMortem(issueId: string, actor: string, note?: string): Promise<readonly string[]>;
  postMortemFeedback(
    issueId: string,
    actor: string,
    feedback: { rating?: number; rootCauseOverride?: string; comments?: string },
  ): Promise<readonly string[]>;
}

/** The types of the events a command appended; empty when it changed nothing. */
const types = (outcome: { newEvents: readonly { type: string }[] }) => outcome.newEvents.map((e) => e.type);

const defined = <T extends Record<string, unknown>>(record: T): T =>
  Object.fromEntries(Object.entries(record).filter(([, v]) => v !== undefined)) as T;

export function createApiCommands(deps: { store: EventStore; now: () => Date }): ApiCommands {
  const issues = createCommandHandler(deps.store, issueDecider);
  const remediations = createCommandHandler(deps.store, remediationDecider);
  const postMortems = createCommandHandler(deps.store, postMortemDecider);
  const meta = (actor: string): MessageMetadata => ({ occurredAt: deps.now().toISOString(), actor });
  const issue = (id: string) => streamName(StreamCategory.Issue, id);
  const postMortem = (id: string) => streamName(StreamCategory.PostMortem, id);
  return {
    async acknowledge(issueId, actor, note) {
      return types(
        await issues(issue(issueId), { type: 'AcknowledgeIssue', data: defined({ note }), metadata: meta(actor) }),
      );
    },
    async snooze(issueId, actor, until, reason) {
      const instant = Date.parse(until);
      if (Number.isNaN(instant)) {
        throw new CairnError('issue.invalid_until', ErrorCategory.Validation, `until is not an instant: ${until}`);
      }
      return types(
        await issues(issue(issueId), {
          type: 'SnoozeIssue',
          data: defined({ until: new Date(instant).toISOString(), reason }),
          metadata: meta(actor),
        }),
      );
    },
    async unsnooze(issueId, actor) {
      return types(await issues(issue(issueId), { type: 'UnsnoozeIssue', data: {}, metadata: meta(actor) }));
    },
    async resolve(issueId, actor, note) {
      return types(
        await issues(issue(issueId), { type: 'ResolveIssue', data: defined({ note }), metadata: meta(actor) }),
      );
    },
    async escalate(issueId, actor, detail) {
      return types(
        await issues(issue(issueId), {
          type: 'EscalateIssue',
          data: defined({ reason: 'manual' as const, detail }),
          metadata: meta(actor),
        }),
      );
    },
    async approve(remediationId, requestId, actor, groups) {
      return types(
        await remediations(streamName(StreamCategory.Remediation, remediationId), {
          type: 'GrantApproval',
          data: { requestId, approver: actor, ...(groups && groups.length > 0 ? { groups } : {}) },
          metadata: meta(actor),
        }),
      );
    },
    async reject(remediationId, requestId, actor, reason) {
      return types(
        await remediations(streamName(StreamCategory.Remediation, remediationId), {
          type: 'RefuseApproval',
          data: defined({ requestId, approver: actor, reason }),
          metadata: meta(actor),
        }),
      );
    },
    async reviewPostMortem(issueId, actor, notes) {
      return types(
        await postMortems(postMortem(issueId), {
          type: 'ReviewPostMortem',
          data: defined({ issueId, notes }),
          metadata: meta(actor),
        }),
      );
    },
    async closePostMortem(issueId, actor, note) {
      return types(
        await postMortems(postMortem(issueId), {
          type: 'ClosePostMortem',
          data: defined({ issueId, note }),
          metadata: meta(actor),
        }),
      );
    },
    async postMortemFeedback(issueId, actor, feedback) {
      return types(
        await postMortems(postMortem(issueId), {
          type: 'RecordPostMortemFeedback',
          data: defined({ issueId, ...feedback }),
          metadata: meta(actor),
        }),
      );
    },
  };
}
