import { Value } from '@sinclair/typebox/value';
import { type ChangeEvidence, SuspectedCommit } from '../../../domain/events/analysis.events.ts';
import type { AnalysisRequest } from '../../analysis/provider.ts';
import { CHANGE_ENRICHER } from '../change/changeFacts.ts';
import type { ContextSection } from '../enricher.ts';
import { commitsFactsOf } from './commitsFacts.ts';

/** Bound of `change.gitOps` (the event's limit). */
const MaxGitOps = 4_096;

/**
 * What the analysis records of the context's change sections (AnalysisCompleted.change): the GitOps and Helm lines
 * of the `change` section (its heading and pointer to the rollout history left out), and the suspected commits of
 * the `commits` section. Both sections were redacted by runEnrichers; a suspect the event schema would refuse is
 * dropped rather than failing the analysis. Undefined when there is nothing to record.
 */
export function changeEvidence(sections: readonly ContextSection[] | undefined): ChangeEvidence | undefined {
  const change = sections?.find((s) => s.enricher === CHANGE_ENRICHER && s.unavailable === undefined);
  const lines = (change?.text ?? '')
    .split('\n')
    .slice(1)
    .filter((l) => l.trim() !== '' && !l.startsWith('Rollout history:'));
  let gitOps = '';
  for (const line of lines) {
    const next = gitOps === '' ? line : `${gitOps}\n${line}`;
    if (next.length > MaxGitOps) break;
    gitOps = next;
  }
  const suspects = (commitsFactsOf(sections)?.suspectedCommits ?? []).filter((s) => Value.Check(SuspectedCommit, s));
  if (gitOps === '' && suspects.length === 0) return undefined;
  return {
    ...(gitOps ? { gitOps } : {}),
    ...(suspects.length > 0 ? { suspectedCommits: suspects.slice(0, 5) } : {}),
  };
}

/** Asks the provider, then records with its answer the change evidence of the request's sections. */
export async function analyzeWithChange<R extends object>(
  provider: { analyze(request: AnalysisRequest): Promise<R> },
  request: AnalysisRequest,
): Promise<R & { change?: ChangeEvidence }> {
  const result = await provider.analyze(request);
  const change = changeEvidence(request.sections);
  return change ? { ...result, change } : result;
}
