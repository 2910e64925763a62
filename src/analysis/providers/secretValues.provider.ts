import type { AgenticProvider, AgenticStepRequest } from '../agentic.ts';
import type { AnalysisProvider, AnalysisRequest } from '../provider.ts';
import { knownValuesRedactor, redactDeep } from '../redaction.ts';
import type { WorkloadRef } from '../workloadFacts.ts';

/**
 * Wraps the providers (in process or the AI server) so that every request first loses the values of the Secrets
 * its workload references, wherever they appear: context, log and metrics sections, earlier failures, agentic
 * history. This is the one door every analysis and agentic step goes through, so nothing is missed by a part that
 * did not know the values. The rules apply to every string on the way, too, which covers the hop to the AI server.
 */

export type SecretValuesLookup = (
  workload: WorkloadRef,
  options?: { readonly signal?: AbortSignal },
) => Promise<readonly string[]>;

type Redact = (text: string) => string;

type Shared = Pick<AnalysisRequest, 'description' | 'context' | 'previousFailures' | 'doNotRepeat'>;

/**
 * The parts both requests carry. Identity fields (Issue, workload, signal) stay as they are: they name things,
 * and the AI server checks that the facts describe the Issue's own workload.
 */
const redactShared = <R extends Shared>(request: R, redact: Redact): R => ({
  ...request,
  description: redact(request.description),
  context: {
    text: redact(request.context.text),
    facts: {
      ...redactDeep(request.context.facts, redact),
      kind: request.context.facts.kind,
      name: request.context.facts.name,
      namespace: request.context.facts.namespace,
    },
  },
  previousFailures: redactDeep(request.previousFailures, redact),
  doNotRepeat: request.doNotRepeat.map(redact),
});

const redactAnalysis = (request: AnalysisRequest, redact: Redact): AnalysisRequest => ({
  ...redactShared(request, redact),
  ...(request.sections
    ? { sections: request.sections.map((s) => ({ ...redactDeep(s, redact), enricher: s.enricher })) }
    : {}),
});

/** The action catalogue and the budget are Cairn's own words and numbers, and pass as they are. */
const redactAgentic = (request: AgenticStepRequest, redact: Redact): AgenticStepRequest => ({
  ...redactShared(request, redact),
  ...(request.insight ? { insight: redactDeep(request.insight, redact) } : {}),
  history: redactDeep(request.history, redact),
});

export function withSecretValuesRedacted<P extends AnalysisProvider & AgenticProvider>(
  provider: P,
  valuesOf: SecretValuesLookup,
): AnalysisProvider & AgenticProvider {
  const redactorFor = async (workload: WorkloadRef, signal?: AbortSignal) =>
    knownValuesRedactor(await valuesOf(workload, signal ? { signal } : {}));
  return {
    name: provider.name,
    async analyze(request, options = {}) {
      const redact = await redactorFor(request.workload, options.signal);
      return provider.analyze(redactAnalysis(request, redact), options);
    },
    async agenticStep(request, options = {}) {
      const redact = await redactorFor(request.workload, options.signal);
      return provider.agenticStep(redactAgentic(request, redact), options);
    },
  };
}
