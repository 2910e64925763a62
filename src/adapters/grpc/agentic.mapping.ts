import { Type } from '@sinclair/typebox';
import { CairnError, ErrorCategory } from '../../../domain/errors.ts';
import { ShortText } from '../../../domain/events/common.schema.ts';
import { issueName } from '../../../projections/kubernetesResources.projection.ts';
import {
  AgenticActionOutcome,
  AgenticDecision,
  type AgenticHistoryEntry,
  type AgenticStepRequest,
  type AgenticStepResult,
  assertAgenticStepResult,
} from '../../analysis/agentic.ts';
import {
  factsFromWire,
  factsToWire,
  failureFromWire,
  failureToWire,
  firstProblem,
  GrpcErrorCode,
  IssueOnWire,
  refusalsFromWire,
  refusalToWire,
} from './aiops.mapping.ts';
import type { WireAgenticHistoryEntry, WireAgenticStepRequest, WireAgenticStepResponse } from './aiops.proto.ts';

/** AgenticStep between the agentic port and the wire, both ways; the server validates what it receives. */

const invalidRequest = (message: string) =>
  new CairnError(GrpcErrorCode.InvalidRequest, ErrorCategory.Validation, message);

const OUTCOMES = new Set<string>(Object.values(AgenticActionOutcome));

const AgenticStepRequestSchema = Type.Object({
  ...IssueOnWire,
  remediationId: Type.String({ minLength: 1, maxLength: 253 }),
  kubernetesContext: Type.String({ maxLength: 100_000 }),
  history: Type.Array(
    Type.Object({ step: Type.Integer({ minimum: 1 }), reasoning: Type.String({ maxLength: 20_000 }) }),
    {
      maxItems: 100,
    },
  ),
  maxSteps: Type.Integer({ minimum: 1, maximum: 100 }),
  currentStep: Type.Integer({ minimum: 1, maximum: 100 }),
  remainingSteps: Type.Integer({ minimum: 0, maximum: 100 }),
  remainingSeconds: Type.Integer({ minimum: 0 }),
  doNotRepeat: Type.Array(ShortText, { maxItems: 500 }),
  availableActions: Type.Array(Type.Object({ type: Type.String({ pattern: '^[A-Z][A-Za-z0-9]{0,62}$' }) }), {
    maxItems: 200,
  }),
  previousFailures: Type.Array(Type.Object({}), { maxItems: 50 }),
});

const historyToWire = (entry: AgenticHistoryEntry): WireAgenticHistoryEntry => ({
  step: entry.step,
  reasoning: entry.reasoning,
  action: entry.action
    ? {
        name: entry.action.type,
        action: entry.action.type,
        description: entry.action.description ?? '',
        params: { ...entry.action.params },
      }
    : null,
  observation: entry.observation ?? '',
  outcome: entry.outcome ?? '',
  result: entry.result ?? '',
});

const historyFromWire = (wire: WireAgenticHistoryEntry, index: number): AgenticHistoryEntry => {
  if (wire.outcome !== '' && !OUTCOMES.has(wire.outcome)) {
    throw invalidRequest(`history.${index}.outcome: must be one of ${[...OUTCOMES].join(', ')}`);
  }
  return {
    step: wire.step,
    reasoning: wire.reasoning,
    ...(wire.action
      ? {
          action: {
            type: wire.action.action,
            params: { ...wire.action.params },
            ...(wire.action.description ? { description: wire.action.description } : {}),
          },
        }
      : {}),
    ...(wire.outcome ? { outcome: wire.outcome as AgenticHistoryEntry['outcome'] } : {}),
    ...(wire.result ? { result: wire.result } : {}),
    ...(wire.observation ? { observation: wire.observation } : {}),
  };
};

export function agenticRequestToWire(request: AgenticStepRequest): WireAgenticStepRequest {
  return {
    issueId: request.issueId,
    issueName: issueName(request.issueId, { ...request.workload }),
    remediationId: request.remediationId,
    namespace: request.namespace,
    resourceKind: request.workload.kind,
    resourceName: request.workload.name,
    signalType: request.signal,
    signals: [...request.signals],
    severity: request.severity,
    description: request.description,
    riskScore: request.riskScore,
    provider: request.insight?.provider ?? '',
    model: request.insight?.model ?? '',
    kubernetesContext: request.context.text,
    workloadFacts: factsToWire(request.context.facts),
    history: request.history.map(historyToWire),
    maxSteps: request.budget.maxSteps,
    currentStep: request.budget.step,
    remainingSteps: request.budget.remainingSteps,
    remainingSeconds: Math.max(0, Math.floor(request.budget.remainingSeconds)),
    analysis: request.insight?.analysis ?? '',
    insight: request.insight ? { ...request.insight, recommendations: [...request.insight.recommendations] } : null,
    availableActions: request.availableActions.map((a) => ({
      type: a.type,
      description: a.description,
      destructive: a.destructive,
      params: Object.fromEntries(
        Object.entries(a.params).map(([name, p]) => [
          name,
          { description: p.description, required: p.required ?? false },
        ]),
      ),
    })),
    doNotRepeat: [...request.doNotRepeat],
    previousFailures: request.previousFailures.map(failureToWire),
  };
}

export function agenticRequestFromWire(wire: WireAgenticStepRequest): AgenticStepRequest {
  const problem = firstProblem(AgenticStepRequestSchema, wire);
  if (problem) throw invalidRequest(problem);
  const workload = { kind: wire.resourceKind, name: wire.resourceName, namespace: wire.namespace };
  return {
    issueId: wire.issueId,
    remediationId: wire.remediationId,
    namespace: wire.namespace,
    workload,
    signal: wire.signalType,
    signals: wire.signals.length > 0 ? wire.signals : [wire.signalType],
    severity: wire.severity as AgenticStepRequest['severity'],
    riskScore: wire.riskScore,
    description: wire.description || wire.signalType,
    context: { text: wire.kubernetesContext, facts: factsFromWire(wire.workloadFacts, workload) },
    ...(wire.insight ? { insight: wire.insight } : {}),
    history: wire.history.map(historyFromWire),
    budget: {
      step: wire.currentStep,
      maxSteps: wire.maxSteps,
      remainingSteps: wire.remainingSteps,
      remainingSeconds: wire.remainingSeconds,
    },
    availableActions: wire.availableActions.map((a) => ({
      type: a.type,
      description: a.description,
      destructive: a.destructive,
      params: Object.fromEntries(
        Object.entries(a.params).map(([name, p]) => [
          name,
          { description: p.description, ...(p.required ? { required: true } : {}) },
        ]),
      ),
    })),
    doNotRepeat: wire.doNotRepeat,
    previousFailures: wire.previousFailures.map(failureFromWire),
  };
}

const noConclusion = { postmortemSummary: '', rootCause: '', impact: '', lessonsLearned: [], preventionActions: [] };

export function agenticResultToWire(result: AgenticStepResult): WireAgenticStepResponse {
  const common = {
    reasoning: result.reasoning,
    decision: result.decision,
    confidence: result.confidence,
    provider: result.provider,
    model: result.model,
  };
  switch (result.decision) {
    case AgenticDecision.Action:
      return {
        ...common,
        ...noConclusion,
        resolved: false,
        nextAction: {
          name: result.action.name,
          action: result.action.type,
          description: result.action.description,
          params: { ...result.action.params },
        },
        refusedProposal: null,
      };
    case AgenticDecision.Resolved:
      return {
        ...common,
        resolved: true,
        nextAction: null,
        postmortemSummary: result.conclusion.summary,
        rootCause: result.conclusion.rootCause,
        impact: result.conclusion.impact,
        lessonsLearned: [...result.conclusion.lessonsLearned],
        preventionActions: [...result.conclusion.preventionActions],
        refusedProposal: null,
      };
    case AgenticDecision.Observe:
      return {
        ...common,
        ...noConclusion,
        resolved: false,
        nextAction: null,
        refusedProposal: result.refused ? refusalToWire(result.refused) : null,
      };
    default:
      return { ...common, ...noConclusion, resolved: false, nextAction: null, refusedProposal: null };
  }
}

/** The operator's side: the server's answer, checked like an in-process provider's. */
export function agenticResultFromWire(wire: WireAgenticStepResponse, server: string): AgenticStepResult {
  // Servers that speak only the reference protocol send no decision: it follows from resolved and next_action.
  const decision =
    wire.decision ||
    (wire.resolved ? AgenticDecision.Resolved : wire.nextAction ? AgenticDecision.Action : AgenticDecision.Observe);
  const common = {
    decision,
    reasoning: wire.reasoning,
    confidence: Math.min(1, Math.max(0, Math.round(wire.confidence * 1e6) / 1e6)),
    provider: wire.provider,
    model: wire.model,
  };
  const result =
    decision === AgenticDecision.Action && wire.nextAction
      ? {
          ...common,
          action: {
            name: wire.nextAction.name,
            type: wire.nextAction.action,
            description: wire.nextAction.description,
            params: wire.nextAction.params,
          },
        }
      : decision === AgenticDecision.Resolved
        ? {
            ...common,
            conclusion: {
              summary: wire.postmortemSummary,
              rootCause: wire.rootCause,
              impact: wire.impact,
              lessonsLearned: wire.lessonsLearned,
              preventionActions: wire.preventionActions,
            },
          }
        : decision === AgenticDecision.Observe && wire.refusedProposal
          ? { ...common, refused: refusalsFromWire([wire.refusedProposal])[0] }
          : common;
  return assertAgenticStepResult(`${wire.provider || 'unnamed'} (AI server ${server})`, result);
}
