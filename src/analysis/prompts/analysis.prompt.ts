import { defaultRemediationPolicy } from '../../actions/policy.ts';
import { boundText } from '../../enrichers/enricher.ts';
import type { AnalysisRequest } from '../provider.ts';
import { redactSecrets } from '../redaction.ts';
import { analysisAnswerSchema } from './answerSchema.ts';
import {
  actionsPart,
  doNotRepeatPart,
  failuresPart,
  issuePart,
  joinParts,
  type Prompt,
  PromptLimits,
  type PromptOptions,
  safetyRules,
  sectionsPart,
} from './promptParts.ts';

/**
 * The prompt for one analysis: what happened (the Issue), what the cluster shows (the Kubernetes context and the
 * enrichers' sections), what was already tried, what may be done, and the exact JSON to answer with.
 */
export function buildAnalysisPrompt(request: AnalysisRequest, options: PromptOptions = {}): Prompt {
  const policy = options.policy ?? defaultRemediationPolicy();
  const maxChars = options.maxChars ?? PromptLimits.maxChars;
  const actions = actionsPart(request.workload, policy);
  const schema = JSON.stringify(analysisAnswerSchema(actions.types));

  const system = [
    'You are the incident analyst of Cairn, an operator that remediates Kubernetes workloads.',
    'Find the root cause of the Issue from the evidence given, and propose the remediation Cairn should carry out.',
    '',
    safetyRules(policy),
    '',
    'Answer with one JSON object and nothing else (no prose, no code fence), following this JSON Schema:',
    schema,
    'Field meanings: "analysis" is the root cause and the evidence for it; "confidence" is 0 to 1; "recommendations" are for a person; "actions" run in order and may be empty.',
  ].join('\n');

  const fixed: [string, string][] = [
    ['Issue', issuePart(request, request.previousFailures.length + 1)],
    ['Previous attempts that failed', failuresPart(request.previousFailures)],
    ['Do not repeat (these failed on this Issue)', doNotRepeatPart(request.doNotRepeat)],
    [
      `Available actions (target ${request.workload.kind} ${request.workload.namespace}/${request.workload.name})`,
      actions.text,
    ],
    ['Answer', 'Reply with the JSON object described in the instructions, nothing else.'],
  ];
  const kubernetes = boundText(redactSecrets(request.context.text).trim(), PromptLimits.kubernetesContext);
  const fixedLength = joinParts(fixed).length + kubernetes.length + 200;
  const sectionBudget = Math.max(PromptLimits.minSectionShare, maxChars - fixedLength);
  const [issue, ...rest] = fixed;
  const user = joinParts([
    issue as [string, string],
    ['Kubernetes context', kubernetes || '(empty)'],
    ['Other evidence', sectionsPart(request.sections ?? [], sectionBudget)],
    ...rest,
  ]);
  return { system, user: boundText(user, maxChars), actionTypes: actions.types };
}
