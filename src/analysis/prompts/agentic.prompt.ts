import { defaultRemediationPolicy } from '../../actions/policy.ts';
import { isActionType } from '../../adapters/kubernetes/api/actionTypes.ts';
import { boundText } from '../../enrichers/enricher.ts';
import type { AgenticHistoryEntry, AgenticStepRequest } from '../agentic.ts';
import { redactSecrets } from '../redaction.ts';
import { agenticAnswerSchema } from './answerSchema.ts';
import {
  callText,
  doNotRepeatPart,
  failuresPart,
  formatActions,
  issuePart,
  joinParts,
  type Prompt,
  PromptLimits,
  type PromptOptions,
  safetyRules,
} from './promptParts.ts';

/**
 * The prompt for one step of the agentic loop: the Issue, the cluster as it is now (read again after the last
 * step), every earlier step with its outcome, the budget left, the actions the loop allows, and the JSON to answer.
 */

const AgenticLimits = {
  /** Newest steps shown in full; older ones are summarised in one line each. */
  fullSteps: 6,
  step: 1_500,
  insight: 2_000,
} as const;

const oneLine = (text: string, max: number) => {
  const flat = redactSecrets(text).replace(/\s+/g, ' ').trim();
  return flat.length > max ? `${flat.slice(0, max - 1)}…` : flat;
};

const actionText = (entry: AgenticHistoryEntry) =>
  entry.action ? callText(entry.action.type, entry.action.params) : 'no action (observed)';

const stepText = (entry: AgenticHistoryEntry, full: boolean): string => {
  if (!full) return `Step ${entry.step}: ${actionText(entry)} → ${entry.outcome ?? 'no outcome'}`;
  const lines = [
    `Step ${entry.step}`,
    `  reasoning: ${oneLine(entry.reasoning, 600)}`,
    `  action: ${actionText(entry)}`,
    ...(entry.outcome ? [`  outcome: ${entry.outcome}${entry.result ? `: ${oneLine(entry.result, 400)}` : ''}`] : []),
    ...(entry.observation ? [`  observed after: ${oneLine(entry.observation, 400)}`] : []),
  ];
  return boundText(lines.join('\n'), AgenticLimits.step);
};

export const historyPart = (history: readonly AgenticHistoryEntry[]): string => {
  if (history.length === 0) return 'None: this is the first step.';
  const cut = Math.max(0, history.length - AgenticLimits.fullSteps);
  return history.map((entry, index) => stepText(entry, index >= cut)).join('\n');
};

export function buildAgenticPrompt(request: AgenticStepRequest, options: PromptOptions = {}): Prompt {
  const policy = options.policy ?? defaultRemediationPolicy();
  const maxChars = options.maxChars ?? PromptLimits.maxChars;
  // The loop already narrowed the actions to what policy allows; Custom and types outside the catalogue can never
  // be carried out, so they are not offered.
  const actions = request.availableActions.filter((a) => a.type !== 'Custom' && isActionType(a.type));
  const types = actions.map((a) => a.type);
  const { budget } = request;

  const system = [
    'You are the remediation agent of Cairn, an operator that repairs Kubernetes workloads one step at a time.',
    'At each step you see the cluster as it is now and every earlier step. Decide the single next step.',
    '',
    safetyRules(policy),
    '- Take one action per step, then look at its effect in the next step before deciding more.',
    '- Decide "resolved" only when the Kubernetes context shows the workload healthy; decide "give-up" when nothing sensible is left, so a human takes over.',
    '',
    'Answer with one JSON object and nothing else (no prose, no code fence), following this JSON Schema:',
    JSON.stringify(agenticAnswerSchema(types)),
  ].join('\n');

  const insight = request.insight
    ? `${oneLine(request.insight.analysis, AgenticLimits.insight)} (confidence ${request.insight.confidence}, by ${oneLine(request.insight.provider, 50)})`
    : 'No analysis preceded this loop.';
  const budgetText = [
    `This is step ${budget.step} of at most ${budget.maxSteps}; ${budget.remainingSteps} step(s) left after it, and ${Math.max(0, Math.floor(budget.remainingSeconds))} s.`,
    budget.remainingSteps === 0
      ? 'This is the last step: if the workload is not healthy and one action will not fix it, give up.'
      : 'Spend steps on actions likely to help; observing costs a step too.',
  ].join('\n');
  const kubernetes = boundText(redactSecrets(request.context.text).trim(), PromptLimits.kubernetesContext);
  const user = joinParts([
    ['Issue', issuePart(request, request.previousFailures.length + 1)],
    ['Analysis before the loop', insight],
    ['Kubernetes context now', kubernetes || '(empty)'],
    ['Steps so far', historyPart(request.history)],
    ['Budget', budgetText],
    ['Previous remediations that failed', failuresPart(request.previousFailures)],
    ['Do not repeat (these failed on this Issue)', doNotRepeatPart(request.doNotRepeat)],
    [
      `Available actions (target ${request.workload.kind} ${request.workload.namespace}/${request.workload.name})`,
      formatActions(actions) || '(none: only observe, resolved or give-up are possible)',
    ],
    ['Answer', 'Reply with the JSON object described in the instructions, nothing else.'],
  ]);
  return { system, user: boundText(user, maxChars), actionTypes: types };
}
