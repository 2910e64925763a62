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

/** The agentic step answer: one decision, with an action when it acts and a conclusion when it is resolved. */
export const agenticAnswerSchema = (actionTypes: readonly string[]): JsonSchema => ({
  type: 'object',
  properties: {
    decision: {
      type: 'string',
      enum: ['action', 'observe', 'resolved', 'give-up'],
      description:
        'action: run `action` next; observe: run nothing and look again next step; resolved: the workload is healthy; give-up: nothing sensible is left to try',
    },
    reasoning: { type: 'string', description: 'what the latest observation shows and why this decision follows' },
    confidence: { type: 'number', minimum: 0, maximum: 1 },
    action: { ...actionSchema(actionTypes.filter(isActionType)), description: 'only with decision "action"' },
    conclusion: {
      type: 'object',
      description: 'only with decision "resolved": the postmortem',
      properties: {
        summary: { type: 'string' },
        rootCause: { type: 'string' },
        impact: { type: 'string' },
        lessonsLearned: { type: 'array', items: { type: 'string' } },
        preventionActions: { type: 'array', items: { type: 'string' } },
      },
      required: ['summary', 'rootCause', 'impact', 'lessonsLearned', 'preventionActions'],
      additionalProperties: false,
    },
  },
  required: ['decision', 'reasoning', 'confidence'],
  additionalProperties: false,
});
