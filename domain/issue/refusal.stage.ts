import { RefusalStage, type RefusedAction } from '../events/issue.events.ts';

/**
 * The codes Cairn itself gives to refusals outside the policy layer. The policy's own codes (`policy.…`,
 * `envelope.…`, `action.…`) are taken as they come: only their family matters here.
 */
export const RefusalCode = {
  MalformedAction: 'parser.malformed_action',
  UnknownActionType: 'parser.unknown_action_type',
  TooManyActions: 'parser.too_many_actions',
  UnstructuredAnswer: 'parser.unstructured_answer',
  NotOffered: 'offered.not_offered',
  DoNotRepeat: 'do-not-repeat',
  ApprovalRefused: 'approval.refused',
  ApprovalExpired: 'approval.expired',
} as const;

const families: readonly (readonly [string, RefusalStage])[] = [
  ['parser.', RefusalStage.Parser],
  ['offered.', RefusalStage.OfferedTypes],
  ['envelope.', RefusalStage.Envelope],
  ['action.', RefusalStage.ActionCheck],
  ['approval.', RefusalStage.Approval],
  ['do-not-repeat', RefusalStage.DoNotRepeat],
  ['policy.', RefusalStage.Policy],
];

/** The stage a refusal code belongs to; a code of no known family came from the policy layer, which names its own. */
export const refusalStage = (code: string): RefusalStage =>
  families.find(([prefix]) => code.startsWith(prefix))?.[1] ?? RefusalStage.Policy;

const clip = (text: string, max: number) => (text.length > max ? `${text.slice(0, max - 1)}…` : text);

/** A proposal cut to the bounds of the record: a verbose or hostile model must not make the refusal unrecordable. */
export const boundedAction = (action: { type: string; params: Readonly<Record<string, string>> }): RefusedAction => ({
  type: clip(action.type.trim() || '(none)', 128),
  params: Object.fromEntries(
    Object.keys(action.params)
      .sort()
      .slice(0, 32)
      .map((key) => [clip(key, 128), clip(String(action.params[key]), 4_096)]),
  ),
});

/** Only something shaped like an action type can ever be proposed again; other text gets no fingerprint. */
export const looksLikeActionType = (type: string): boolean => /^[A-Z][A-Za-z0-9]{0,62}$/.test(type);
