import { type Static, Type } from '@sinclair/typebox';
import type { Event } from '../messages.ts';
import { defineEvent, ResourceRef, ShortText, strictObject } from './common.schema.ts';

export const RevisionVerdict = { Healthy: 'healthy', Bad: 'bad' } as const;
export type RevisionVerdict = (typeof RevisionVerdict)[keyof typeof RevisionVerdict];

/**
 * What Cairn learnt of one revision of a workload's pod template, so a later rollback goes only where it is known
 * to work: healthy when a rollout of it completed with every replica available, bad when Cairn rolled back away
 * from it. The latest verdict on a revision wins. `revision` is the template's hash (a ReplicaSet's
 * pod-template-hash, a ControllerRevision's name): revision numbers change when an old template comes back.
 */
export const RevisionJudgedSchema = strictObject({
  workload: ResourceRef,
  revision: Type.String({ minLength: 1, maxLength: 253 }),
  verdict: Type.Enum(RevisionVerdict),
  reason: ShortText,
});
export type RevisionJudgedData = Static<typeof RevisionJudgedSchema>;
export type RevisionJudged = Event<'RevisionJudged', RevisionJudgedData>;

export const revisionEventDefinitions = [
  defineEvent('RevisionJudged', RevisionJudgedSchema, { audited: false }),
] as const;
