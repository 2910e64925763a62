import { RefusalCode } from '../../domain/issue/refusal.stage.ts';
import { actionFingerprint } from '../../domain/remediation/action.fingerprint.ts';
import { AgenticDecision, type AgenticStepRequest, type AgenticStepResult } from './agentic.ts';
import type { RefusedProposal } from './provider.ts';
import {
  boundRefusals,
  clampConfidence,
  extractJson,
  parseModelAction,
  UNPARSED_CONFIDENCE,
} from './response.parser.ts';

/**
 * Turns a model's answer to an agentic step into a step result. The same fallback as for analyses: an answer that
 * is not the expected JSON becomes the reasoning of an "observe" step at confidence 0.5, so nothing runs on a
 * guess and the loop's budget bounds how long that can go on. An action that cannot run here (not offered, not in
 * the catalogue, already failed) also becomes "observe", with the reason in the reasoning.
 */

const clip = (text: string, max: number) => (text.length > max ? `${text.slice(0, max - 1)}…` : text);
const Limits = { reasoning: 20_000, text: 20_000, item: 2_048, items: 50 } as const;

const decisions: readonly string[] = Object.values(AgenticDecision);

const strings = (value: unknown): string[] =>
  (Array.isArray(value) ? value : [])
    .filter((item): item is string => typeof item === 'string' && item.trim().length > 0)
    .slice(0, Limits.items)
    .map((item) => clip(item.trim(), Limits.item));

const text = (value: unknown): string => (typeof value === 'string' ? value.trim() : '');

export function parseAgenticAnswer(
  raw: string,
  request: AgenticStepRequest,
  provider: string,
  model: string,
): AgenticStepResult {
  const base = { provider, model };
  const candidate = extractJson(raw) as Record<string, unknown> | undefined;
  const decision = typeof candidate?.decision === 'string' ? candidate.decision.trim().toLowerCase() : '';
  const reasoning = text(candidate?.reasoning);
  if (!candidate || typeof candidate !== 'object' || !decisions.includes(decision) || !reasoning) {
    return {
      ...base,
      decision: AgenticDecision.Observe,
      reasoning: clip(raw.trim() || '(the model returned an empty answer)', Limits.reasoning),
      confidence: UNPARSED_CONFIDENCE,
    };
  }
  const confidence = clampConfidence(candidate.confidence);
  const because = clip(reasoning, Limits.reasoning);
  const observe = (why: string, refused: RefusedProposal) => ({
    ...base,
    decision: AgenticDecision.Observe,
    reasoning: clip(`${because}\n(${why}: observing instead.)`, Limits.reasoning),
    confidence,
    refused: boundRefusals([refused])[0]!,
  });

  switch (decision) {
    case AgenticDecision.Action: {
      const refused: RefusedProposal[] = [];
      const action = parseModelAction(candidate.action ?? candidate.nextAction, refused);
      if (!action) {
        return observe(
          `the proposed action was refused: ${refused.map((r) => r.reason).join('; ') || 'none given'}`,
          refused[0] ?? { code: RefusalCode.MalformedAction, reason: 'the step chose an action but named none' },
        );
      }
      const call = { type: action.type, params: { ...action.params } };
      if (!request.availableActions.some((a) => a.type === action.type) || action.type === 'Custom') {
        const why = `${action.type} is not among the available actions`;
        return observe(why, { action: call, code: RefusalCode.NotOffered, reason: why });
      }
      if (request.doNotRepeat.includes(actionFingerprint(action))) {
        const why = `${actionFingerprint(action)} already failed or was refused on this Issue`;
        return observe(why, { action: call, code: RefusalCode.DoNotRepeat, reason: why });
      }
      return { ...base, decision: AgenticDecision.Action, reasoning: because, confidence, action };
    }
    case AgenticDecision.Resolved: {
      const conclusion = (candidate.conclusion ?? {}) as Record<string, unknown>;
      return {
        ...base,
        decision: AgenticDecision.Resolved,
        reasoning: because,
        confidence,
        conclusion: {
          summary: clip(text(conclusion.summary) || because, Limits.text),
          rootCause: clip(text(conclusion.rootCause ?? conclusion.root_cause) || 'not stated', Limits.text),
          impact: clip(text(conclusion.impact) || 'not stated', Limits.text),
          lessonsLearned: strings(conclusion.lessonsLearned ?? conclusion.lessons_learned),
          preventionActions: strings(conclusion.preventionActions ?? conclusion.prevention_actions),
        },
      };
    }
    case AgenticDecision.GiveUp:
      return { ...base, decision: AgenticDecision.GiveUp, reasoning: because, confidence };
    default:
      return { ...base, decision: AgenticDecision.Observe, reasoning: because, confidence };
  }
}
