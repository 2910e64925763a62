import { Type } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import type { SuggestedAction } from '../../domain/events/analysis.events.ts';
import { RefusalCode } from '../../domain/issue/refusal.stage.ts';
import { isActionType } from '../adapters/kubernetes/api/actionTypes.ts';
import type { AnalysisResult, RefusedProposal } from './provider.ts';

/**
 * Turns a model's answer into the fields of an analysis. Models wrap JSON in fences, add prose around it, misspell
 * fields and invent actions, so the parser is lenient about shape and strict about what reaches the executor:
 * only known action types, only string parameters, confidence within [0, 1].
 */

/** Confidence given to an answer that could not be parsed: the text may still be useful to a human. */
export const UNPARSED_CONFIDENCE = 0.5;

const Limits = { analysis: 20_000, shortText: 2_048, items: 50, param: 4_096 } as const;

// Lenient on purpose: field aliases and loose types are reconciled below; the schema only fixes the skeleton.
const ModelAction = Type.Object({
  name: Type.Optional(Type.String()),
  type: Type.Optional(Type.String()),
  action: Type.Optional(Type.String()),
  description: Type.Optional(Type.String()),
  params: Type.Optional(Type.Record(Type.String(), Type.Union([Type.String(), Type.Number(), Type.Boolean()]))),
});

const ModelAnswer = Type.Object({
  analysis: Type.String({ pattern: '\\S' }),
  confidence: Type.Optional(Type.Union([Type.Number(), Type.String()])),
  recommendations: Type.Optional(Type.Array(Type.Unknown())),
  actions: Type.Optional(Type.Array(Type.Unknown())),
  suggestedActions: Type.Optional(Type.Array(Type.Unknown())),
  suggested_actions: Type.Optional(Type.Array(Type.Unknown())),
});

export interface ParsedAnswer {
  readonly analysis: string;
  readonly confidence: number;
  readonly recommendations: string[];
  readonly suggestedActions: SuggestedAction[];
  /** False when the answer was not the expected JSON and the raw text became the analysis. */
  readonly structured: boolean;
  /** What the model suggested that could not be used, with why: recorded on the Issue, so a prompt can be fixed. */
  readonly refused: RefusedProposal[];
}

/** Refusals listed one by one; beyond this a hostile answer's flood is summed up in one more entry. */
export const MAX_LISTED_REFUSALS = 20;

const clip = (text: string, max: number) => (text.length > max ? `${text.slice(0, max - 1)}…` : text);

/** The body of the first fenced block if there is one, else the text. */
const stripFences = (text: string): string => {
  const fenced = /```[a-zA-Z0-9_-]*[ \t]*\r?\n?([\s\S]*?)```/.exec(text);
  return (fenced?.[1] ?? text).trim();
};

const parseJsonObject = (text: string): unknown => {
  const attempt = (candidate: string) => {
    try {
      return JSON.parse(candidate) as unknown;
    } catch {
      return undefined;
    }
  };
  const whole = attempt(text);
  if (whole !== undefined) return whole;
  // Prose around the object ("Here is my analysis: {...} Hope this helps"): try the outermost braces.
  const start = text.indexOf('{');
  const end = text.lastIndexOf('}');
  return start >= 0 && end > start ? attempt(text.slice(start, end + 1)) : undefined;
};

export const clampConfidence = (value: unknown): number => {
  const number = typeof value === 'string' ? Number.parseFloat(value) : typeof value === 'number' ? value : Number.NaN;
  if (!Number.isFinite(number)) return UNPARSED_CONFIDENCE;
  // "85" or "85%" on a 0..100 scale is a common slip; anything above 1 is clamped rather than rescaled, since
  // rescaling would turn a wild 7 into a confident 0.07.
  return Math.min(1, Math.max(0, number));
};

/** The type a malformed item claims, if it claims one as text: the record shows what was proposed. */
const claimedType = (raw: unknown): string | undefined => {
  const item = raw as { type?: unknown; action?: unknown } | null;
  const type = typeof item?.type === 'string' ? item.type : typeof item?.action === 'string' ? item.action : '';
  return type.trim() === '' ? undefined : clip(type.trim(), 128);
};

const paramsOf = (raw: Readonly<Record<string, unknown>>): Record<string, string> => {
  const params: Record<string, string> = {};
  for (const [key, value] of Object.entries(raw)) params[key] = clip(String(value), Limits.param);
  return params;
};

/** A short look at what the model sent; a hostile answer nested 100,000 deep must not overflow the stack here. */
const preview = (raw: unknown): string => {
  try {
    return clip(JSON.stringify(raw) ?? String(raw), 200);
  } catch {
    return '(a value nested too deeply to show)';
  }
};

const toAction = (raw: unknown, refused: RefusedProposal[]): SuggestedAction | undefined => {
  if (!Value.Check(ModelAction, raw)) {
    const type = claimedType(raw);
    refused.push({
      ...(type ? { action: { type, params: {} } } : {}),
      code: RefusalCode.MalformedAction,
      reason: `malformed action: ${preview(raw)}`,
    });
    return undefined;
  }
  const type = (raw.type ?? raw.action ?? '').trim();
  if (!isActionType(type)) {
    refused.push({
      ...(type ? { action: { type: clip(type, 128), params: limitParams(paramsOf(raw.params ?? {})) } } : {}),
      code: RefusalCode.UnknownActionType,
      reason: `unknown action type: ${clip(type || '(none)', 100)}`,
    });
    return undefined;
  }
  const params = paramsOf(raw.params ?? {});
  return {
    name: clip(raw.name?.trim() || type, Limits.shortText),
    type,
    description: clip(raw.description?.trim() ?? '', Limits.shortText),
    params,
  };
};

/** At most 32 parameters with short keys, as a refusal record holds them. */
const limitParams = (params: Record<string, string>): Record<string, string> =>
  Object.fromEntries(
    Object.entries(params)
      .slice(0, 32)
      .map(([key, value]) => [clip(key, 128), value]),
  );

const boundRefusal = (refusal: RefusedProposal): RefusedProposal => ({
  ...(refusal.action
    ? {
        action: {
          type: clip(refusal.action.type, 128),
          params: limitParams(
            Object.fromEntries(
              Object.entries(refusal.action.params).map(([key, value]) => [key, clip(value, Limits.param)]),
            ),
          ),
        },
      }
    : {}),
  code: clip(refusal.code, 128),
  reason: clip(refusal.reason, Limits.shortText),
});

/** The refusals as recorded: the first ones cut to the record's bounds, the rest counted in one entry. */
export const boundRefusals = (refused: readonly RefusedProposal[]): RefusedProposal[] =>
  refused.length <= MAX_LISTED_REFUSALS
    ? refused.map(boundRefusal)
    : [
        ...refused.slice(0, MAX_LISTED_REFUSALS).map(boundRefusal),
        {
          code: RefusalCode.TooManyActions,
          reason: `${refused.length - MAX_LISTED_REFUSALS} more unusable proposals, not listed one by one`,
        },
      ];

const unstructured = (raw: string): ParsedAnswer => ({
  analysis: clip(raw.trim() || '(the model returned an empty answer)', Limits.analysis),
  confidence: UNPARSED_CONFIDENCE,
  recommendations: [],
  suggestedActions: [],
  structured: false,
  refused: [
    {
      code: RefusalCode.UnstructuredAnswer,
      reason: raw.trim()
        ? 'the answer was not the expected JSON: its text became the analysis and no action was taken from it'
        : 'the answer was empty: no action was taken from it',
    },
  ],
});

/** The JSON object in a model's answer (fenced, wrapped in prose or bare), or undefined when there is none. */
export const extractJson = (raw: string): unknown => parseJsonObject(stripFences(raw));

/** A model's action, checked as strictly as an analysis' actions; undefined (and an entry in `refused`) if refused. */
export const parseModelAction = (raw: unknown, refused: RefusedProposal[]): SuggestedAction | undefined =>
  toAction(raw, refused);

export function parseModelAnswer(raw: string): ParsedAnswer {
  const candidate = extractJson(raw);
  if (!Value.Check(ModelAnswer, candidate)) return unstructured(raw);
  const refused: RefusedProposal[] = [];
  const rawActions = candidate.suggestedActions ?? candidate.suggested_actions ?? candidate.actions ?? [];
  const suggestedActions = rawActions
    .map((action) => toAction(action, refused))
    .filter((action): action is SuggestedAction => action !== undefined);
  if (suggestedActions.length > Limits.items) {
    refused.push({
      code: RefusalCode.TooManyActions,
      reason: `${suggestedActions.length - Limits.items} actions over the limit of ${Limits.items}: only the first ${Limits.items} were considered`,
    });
  }
  return {
    analysis: clip(candidate.analysis.trim(), Limits.analysis),
    confidence: clampConfidence(candidate.confidence),
    recommendations: (candidate.recommendations ?? [])
      .filter((r): r is string => typeof r === 'string' && r.trim().length > 0)
      .slice(0, Limits.items)
      .map((r) => clip(r.trim(), Limits.shortText)),
    suggestedActions: suggestedActions.slice(0, Limits.items),
    structured: true,
    refused: boundRefusals(refused),
  };
}

/** The parsed answer as a provider returns it. */
export const toAnalysisResult = (parsed: ParsedAnswer, provider: string, model: string): AnalysisResult => ({
  analysis: parsed.analysis,
  confidence: parsed.confidence,
  recommendations: parsed.recommendations,
  suggestedActions: parsed.suggestedActions,
  provider,
  model,
  ...(parsed.refused.length > 0 ? { refusedProposals: boundRefusals(parsed.refused) } : {}),
});
