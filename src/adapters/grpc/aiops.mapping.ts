import { type TSchema, Type } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import { CairnError, ErrorCategory } from '../../../domain/errors.ts';
import {
  ActionType,
  FailureEvidence,
  ResourceRef,
  SeveritySchema,
  ShortText,
  SignalName,
} from '../../../domain/events/common.schema.ts';
import { issueName } from '../../../projections/kubernetesResources.projection.ts';
import type { AnalysisRequest, AnalysisResult, RefusedProposal } from '../../analysis/provider.ts';
import { assertAnalysisResult } from '../../analysis/provider.ts';
import { boundRefusals } from '../../analysis/response.parser.ts';
import { absentWorkloadFacts, type WorkloadFacts } from '../../analysis/workloadFacts.ts';
import type { ContextSection } from '../../enrichers/enricher.ts';
import type {
  WireAnalyzeIssueRequest,
  WireAnalyzeIssueResponse,
  WireContextSection,
  WireFailureEvidence,
  WireRefusedProposal,
  WireWorkloadFacts,
} from './aiops.proto.ts';

/**
 * Between Cairn's analysis port and the AIOps wire messages, both ways. The server validates what it receives
 * here, so a request that would make a provider misbehave is refused with INVALID_ARGUMENT and a message naming
 * the field, before any provider sees it.
 */

export const GrpcErrorCode = {
  InvalidRequest: 'grpc.invalid_request',
  InvalidResponse: 'grpc.invalid_response',
} as const;

const invalidRequest = (message: string) =>
  new CairnError(GrpcErrorCode.InvalidRequest, ErrorCategory.Validation, message);

/** What the server accepts; fields not listed are free-form or bounded by their proto type. */
/** The Issue as both AnalyzeIssue and AgenticStep requests carry it. */
export const IssueOnWire = {
  issueId: Type.String({ minLength: 1, maxLength: 253 }),
  namespace: ResourceRef.properties.namespace,
  resourceKind: ResourceRef.properties.kind,
  resourceName: ResourceRef.properties.name,
  signalType: SignalName,
  signals: Type.Array(SignalName, { maxItems: 100 }),
  severity: SeveritySchema,
  riskScore: Type.Integer({ minimum: 0, maximum: 100 }),
  description: Type.String({ maxLength: 20_000 }),
};

const AnalyzeIssueRequestSchema = Type.Object({
  ...IssueOnWire,
  issueName: Type.String({ maxLength: 253 }),
  provider: Type.String({ maxLength: 128 }),
  model: Type.String({ maxLength: 256 }),
  kubernetesContext: Type.String({ maxLength: 100_000 }),
  previousFailureContext: Type.String({ maxLength: 100_000 }),
  doNotRepeat: Type.Array(ShortText, { maxItems: 500 }),
  sections: Type.Array(
    Type.Object({
      enricher: Type.String({ minLength: 1, maxLength: 64 }),
      title: Type.String({ maxLength: 256 }),
      text: Type.String({ maxLength: 50_000 }),
      factsJson: Type.String({ maxLength: 100_000 }),
    }),
    { maxItems: 50 },
  ),
  previousFailures: Type.Array(Type.Object({}), { maxItems: 50 }),
});

/** The first thing wrong with `value`, as `field: problem`, or undefined when it fits. */
export const firstProblem = (schema: TSchema, value: unknown, prefix = ''): string | undefined => {
  if (Value.Check(schema, value)) return undefined;
  const error = Value.Errors(schema, value).First();
  if (!error) return `${prefix || 'request'}: invalid`;
  const path = `${prefix}${error.path.replace(/^\//, '').replaceAll('/', '.')}`;
  return `${path || 'request'}: ${error.message}`;
};

export const failureFromWire = (wire: WireFailureEvidence, index: number): FailureEvidence => {
  const failure = {
    remediationId: wire.remediationId,
    attempt: wire.attempt,
    outcome: wire.outcome,
    reason: wire.reason,
    attemptedActions: wire.attemptedActions.map((a) => ({ type: a.type, params: { ...a.params } })),
    ...(wire.failedAction
      ? {
          failedAction: {
            type: wire.failedAction.type,
            params: { ...wire.failedAction.params },
            error: wire.failedAction.error,
          },
        }
      : {}),
    observations: [...wire.observations],
  };
  const problem = firstProblem(FailureEvidence, failure, `previousFailures.${index}.`);
  if (problem) throw invalidRequest(problem);
  return failure as FailureEvidence;
};

export const failureToWire = (failure: FailureEvidence): WireFailureEvidence => ({
  remediationId: failure.remediationId,
  attempt: failure.attempt,
  outcome: failure.outcome,
  reason: failure.reason,
  attemptedActions: failure.attemptedActions.map((a) => ({ type: a.type, params: { ...a.params } })),
  failedAction: failure.failedAction
    ? { type: failure.failedAction.type, params: { ...failure.failedAction.params }, error: failure.failedAction.error }
    : null,
  observations: [...failure.observations],
});

/** The previous failures as prose, for servers that only read `previous_failure_context`. */
export const describeFailures = (failures: readonly FailureEvidence[]): string =>
  failures
    .map(
      (f) =>
        `attempt ${f.attempt} (${f.remediationId}) ${f.outcome}: ${f.reason}; tried ${f.attemptedActions.map((a) => a.type).join(', ') || 'nothing'}` +
        (f.failedAction ? `; ${f.failedAction.type} failed: ${f.failedAction.error}` : '') +
        (f.observations.length > 0 ? `; observed: ${f.observations.join(' | ')}` : ''),
    )
    .join('\n');

const sectionFromWire = (wire: WireContextSection, index: number): ContextSection => {
  let facts: Record<string, unknown> | undefined;
  if (wire.factsJson !== '') {
    let parsed: unknown;
    try {
      parsed = JSON.parse(wire.factsJson);
    } catch {
      throw invalidRequest(`sections.${index}.factsJson: not JSON`);
    }
    if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
      throw invalidRequest(`sections.${index}.factsJson: must be a JSON object`);
    }
    facts = parsed as Record<string, unknown>;
  }
  return {
    enricher: wire.enricher,
    title: wire.title,
    text: wire.text,
    ...(facts ? { facts } : {}),
    ...(wire.unavailable !== undefined ? { unavailable: wire.unavailable } : {}),
  };
};

const sectionToWire = (section: ContextSection): WireContextSection => ({
  enricher: section.enricher,
  title: section.title,
  text: section.text,
  factsJson: section.facts ? JSON.stringify(section.facts) : '',
  ...(section.unavailable !== undefined ? { unavailable: section.unavailable } : {}),
});

const defined = <T extends object>(value: T): T =>
  Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T;

export const factsToWire = (facts: WorkloadFacts): WireWorkloadFacts => ({
  kind: facts.kind,
  name: facts.name,
  namespace: facts.namespace,
  found: facts.found,
  replicas: facts.replicas ? { ...facts.replicas } : null,
  containers: facts.containers.map((c) => defined({ ...c })),
  revisions: facts.revisions.map((r) => ({
    ...r,
    images: { ...r.images },
    memoryLimits: { ...r.memoryLimits },
    imageChanges: r.imageChanges.map((change) => defined({ ...change })),
  })),
  ...(facts.currentRevision !== undefined ? { currentRevision: facts.currentRevision } : {}),
  pods: facts.pods.map((p) =>
    defined({ ...p, reasons: [...p.reasons], oomKilledContainers: [...p.oomKilledContainers] }),
  ),
  podCount: facts.podCount,
  notReadyPods: facts.notReadyPods,
  maxRestarts: facts.maxRestarts,
  oomKilled: facts.oomKilled,
  oomKilledContainers: [...facts.oomKilledContainers],
  crashLooping: facts.crashLooping,
  imagePullFailing: facts.imagePullFailing,
  warningReasons: [...facts.warningReasons],
  hpa: facts.hpa ? { ...facts.hpa } : null,
  job: facts.job ? defined({ ...facts.job }) : null,
});

export const factsFromWire = (wire: WireWorkloadFacts | null, request: AnalysisRequest['workload']): WorkloadFacts => {
  if (!wire) return absentWorkloadFacts(request);
  if (wire.kind !== request.kind || wire.name !== request.name || wire.namespace !== request.namespace) {
    throw invalidRequest(
      `workloadFacts describe ${wire.kind} ${wire.namespace}/${wire.name}, not the Issue's ${request.kind} ${request.namespace}/${request.name}`,
    );
  }
  const { replicas, hpa, job, currentRevision, ...rest } = wire;
  return {
    ...rest,
    ...(replicas ? { replicas } : {}),
    ...(hpa ? { hpa } : {}),
    ...(job ? { job } : {}),
    ...(currentRevision !== undefined ? { currentRevision } : {}),
  };
};

/** The operator's side: an analysis request as the server expects it. */
export function analyzeRequestToWire(request: AnalysisRequest): WireAnalyzeIssueRequest {
  return {
    issueId: request.issueId,
    issueName: issueName(request.issueId, { ...request.workload }),
    namespace: request.namespace,
    resourceKind: request.workload.kind,
    resourceName: request.workload.name,
    signalType: request.signal,
    signals: [...request.signals],
    severity: request.severity,
    description: request.description,
    riskScore: request.riskScore,
    provider: '',
    model: '',
    kubernetesContext: request.context.text,
    workloadFacts: factsToWire(request.context.facts),
    sections: (request.sections ?? []).map(sectionToWire),
    previousFailureContext: describeFailures(request.previousFailures),
    previousFailures: request.previousFailures.map(failureToWire),
    doNotRepeat: [...request.doNotRepeat],
  };
}

/** The server's side: validates and rebuilds the request a provider reads. */
export function analyzeRequestFromWire(wire: WireAnalyzeIssueRequest): AnalysisRequest {
  if (wire === null || typeof wire !== 'object') throw invalidRequest('request: not an AnalyzeIssueRequest');
  const problem = firstProblem(AnalyzeIssueRequestSchema, wire);
  if (problem) throw invalidRequest(problem);
  const workload = { kind: wire.resourceKind, name: wire.resourceName, namespace: wire.namespace };
  const sections = wire.sections.map(sectionFromWire);
  return {
    issueId: wire.issueId,
    namespace: wire.namespace,
    workload,
    signal: wire.signalType,
    signals: wire.signals.length > 0 ? wire.signals : [wire.signalType],
    severity: wire.severity as AnalysisRequest['severity'],
    riskScore: wire.riskScore,
    description: wire.description || wire.signalType,
    context: { text: wire.kubernetesContext, facts: factsFromWire(wire.workloadFacts, workload) },
    ...(sections.length > 0 ? { sections } : {}),
    previousFailures: wire.previousFailures.map(failureFromWire),
    doNotRepeat: wire.doNotRepeat,
  };
}

export function analyzeResponseToWire(result: AnalysisResult): WireAnalyzeIssueResponse {
  return {
    analysis: result.analysis,
    confidence: result.confidence,
    recommendations: [...result.recommendations],
    provider: result.provider,
    model: result.model,
    suggestedActions: result.suggestedActions.map((a) => ({
      name: a.name,
      action: a.type,
      description: a.description,
      params: { ...a.params },
    })),
    refusedProposals: (result.refusedProposals ?? []).map(refusalToWire),
  };
}

export const refusalToWire = (r: RefusedProposal): WireRefusedProposal => ({
  action: r.action?.type ?? '',
  params: { ...(r.action?.params ?? {}) },
  code: r.code,
  reason: r.reason,
});

const clipTo = (text: string, max: number) => (text.length > max ? `${text.slice(0, max - 1)}…` : text);

/** A server's refusals, cut to what the Issue records: a server cannot make an answer unrecordable by them. */
export const refusalsFromWire = (wire: readonly WireRefusedProposal[] | undefined): RefusedProposal[] =>
  boundRefusals(
    (wire ?? []).map((r) => ({
      ...(r.action.trim()
        ? {
            action: {
              type: clipTo(r.action.trim(), 128),
              params: Object.fromEntries(
                Object.entries(r.params ?? {})
                  .slice(0, 32)
                  .map(([key, value]) => [clipTo(key, 128), clipTo(value, 4_096)]),
              ),
            },
          }
        : {}),
      code: clipTo(r.code.trim() || 'parser.unspecified', 128),
      reason: clipTo(r.reason, 2_048),
    })),
  );

const SuggestedActionWire = Type.Object({ action: ActionType });

/**
 * The operator's side: the server's answer, checked against the same schema as an in-process provider's, so a
 * server cannot put into the event log what a provider could not. Confidence travels as a float and is rounded
 * back to the precision a float holds.
 */
export function analyzeResponseFromWire(wire: WireAnalyzeIssueResponse, server: string): AnalysisResult {
  for (const [index, action] of (wire.suggestedActions ?? []).entries()) {
    const problem = firstProblem(SuggestedActionWire, action, `suggestedActions.${index}.`);
    if (problem) {
      throw new CairnError(
        GrpcErrorCode.InvalidResponse,
        ErrorCategory.Internal,
        `the AI server at ${server} answered an invalid analysis: ${problem}`,
      );
    }
  }
  return assertAnalysisResult(`${wire.provider || 'unnamed'} (AI server ${server})`, {
    analysis: wire.analysis,
    confidence: Math.min(1, Math.max(0, Math.round(wire.confidence * 1e6) / 1e6)),
    recommendations: wire.recommendations,
    suggestedActions: wire.suggestedActions.map((a) => ({
      name: a.name,
      type: a.action,
      description: a.description,
      params: a.params,
    })),
    provider: wire.provider,
    model: wire.model,
    ...(wire.refusedProposals?.length ? { refusedProposals: refusalsFromWire(wire.refusedProposals) } : {}),
  });
}
