import type { CommitRange } from '../../../domain/change/suspectedCommits.ts';
import type { SuspectedCommit } from '../../../domain/events/analysis.events.ts';
import type { ContextSection } from '../enricher.ts';

/** The commits enricher's section name. */
export const COMMITS_ENRICHER = 'commits';

export interface RevisionPoint {
  /** The ref that resolved (a sha, a tag, a chart version) and where it came from. */
  readonly ref: string;
  readonly from: string;
  readonly commit: string;
}

export interface RepositoryFacts {
  /** `namespace/name` of the SourceRepository. */
  readonly repository: string;
  readonly matchedBy: readonly string[];
  /** Path globs of the workload in the repository; empty is the whole repository. */
  readonly paths: readonly string[];
  readonly range?: CommitRange;
  readonly failing?: RevisionPoint;
  readonly healthy?: RevisionPoint & { readonly proven: boolean };
  readonly commitsExamined?: number;
  /** Why the repository could not be read (never fetched, an unreadable mirror); the others still are. */
  readonly unreadable?: string;
}

export interface CommitsFacts {
  readonly repositories: readonly RepositoryFacts[];
  /** Most likely first, at most 5 (what AnalysisCompleted keeps). */
  readonly suspectedCommits: readonly SuspectedCommit[];
  /** Files named by the stack traces in the workload's logs. */
  readonly traceFiles: readonly string[];
  /** Sources that could not be read (the workload, its logs, a repository the annotation names), each with why. */
  readonly unreadable: readonly string[];
}

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/** The commits facts among an analysis' sections, if the commits enricher ran and could read anything. */
export function commitsFactsOf(sections: readonly ContextSection[] | undefined): CommitsFacts | undefined {
  const section = sections?.find((s) => s.enricher === COMMITS_ENRICHER && s.unavailable === undefined);
  const facts = section?.facts;
  if (!isRecord(facts) || !Array.isArray(facts.suspectedCommits) || !Array.isArray(facts.repositories))
    return undefined;
  return facts as unknown as CommitsFacts;
}
