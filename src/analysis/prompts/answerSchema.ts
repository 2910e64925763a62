import { isActionType } from '../../adapters/kubernetes/api/actionTypes.ts';

/**
 * The JSON a model is asked to answer with, as a plain JSON Schema: sent as the structured-output format where a
 * server supports one (OpenAI `json_schema`, an Anthropic tool's input) and printed in the prompt for the others.
 * The parser (response.parser.ts) stays the judge of what is accepted; this schema only steers the model.
 */
export type JsonSchema = Readonly<Record<string, unknown>>;

const actionSchema = (actionTypes: readonly string[]): JsonSchema => ({
  type: 'object',
  properties: {
    name: { type: 'string', description: 'a short name for this step' },
    type: { type: 'string', enum: [...actionTypes], description: 'one of the available action types' },
    description: { type: 'string', description: 'what the step does and why' },
    params: {
      type: 'object',
      description: 'the parameters listed for this action type; every value is a string',
      additionalProperties: { type: 'string' },
    },
  },
  required: ['name', 'type', 'description', 'params'],
  additionalProperties: false,
});

/** The analysis answer; `actionTypes` is what the prompt lists, so a schema-following model cannot invent one. */
export const analysisAnswerSchema = (actionTypes: readonly string[]): JsonSchema => ({
  type: 'object',
  properties: {
    analysis: { type: 'string', description: 'the root cause and the evidence for it' },
    confidence: { type: 'number', minimum: 0, maximum: 1, description: '0 to 1: how sure the diagnosis is' },
    recommendations: { type: 'array', items: { type: 'string' }, description: 'advice for a person' },
    actions: {
      type: 'array',
      items: actionSchema(actionTypes.filter(isActionType)),
      description: 'remediation steps in the order to run them; empty when no action is justified',
    },
  },
  required: ['analysis', 'confidence', 'recommendations', 'actions'],
  additionalProperties: false,
});

/** The agentic step answer: one action at a time, or the verdict that the Issue is resolved. */
export const agenticAnswerSchema = (actionTypes: readonly string[]): JsonSchema => ({
  type: 'object',
  properties: {
    reasoning: { type: 'string', description: 'what the latest observation shows and why the next step follows' },
    resolved: { type: 'boolean', description: 'true when the context shows the workload healthy again' },
    nextAction: {
      anyOf: [actionSchema(actionTypes.filter(isActionType)), { type: 'null' }],
      description: 'the single next action; null to only observe, and null when resolved',
    },
    postmortemSummary: { type: 'string', description: 'when resolved: what happened, in two or three sentences' },
    rootCause: { type: 'string', description: 'when resolved: the root cause' },
    impact: { type: 'string', description: 'when resolved: who or what was affected' },
    lessonsLearned: { type: 'array', items: { type: 'string' } },
    preventionActions: { type: 'array', items: { type: 'string' } },
  },
  required: ['reasoning', 'resolved', 'nextAction'],
  additionalProperties: false,
});
