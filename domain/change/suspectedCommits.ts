import type { SuspectedCommit } from '../events/analysis.events.ts';
import { matchesTraceFile } from './stackTraceFiles.ts';

/**
 * Ranks the commits that may have broken a workload: those between the last revision known to be healthy and the
 * failing one, scored by what they touch (a file a stack trace names, the workload's manifests, its chart) and
 * explained. Deterministic: the same commits and scope always give the same ranking and confidences. Pure.
 */

export const FileChange = { Added: 'A', Modified: 'M', Deleted: 'D', Renamed: 'R', Copied: 'C', Other: 'X' } as const;
export type FileChange = (typeof FileChange)[keyof typeof FileChange];

export interface ChangedFile {
  readonly path: string;
  /** The path before a rename or copy. */
  readonly from?: string;
  readonly change: FileChange;
}

export interface CommitRecord {
  readonly sha: string;
  readonly author?: string;
  readonly message?: string;
  /** ISO time of the commit. */
  readonly at?: string;
  readonly parents: number;
  /** Against the first parent (a merge's own changes are what it brought to the branch). */
  readonly files: readonly ChangedFile[];
}

/** How the range of commits was found, which bounds how sure the ranking can be. */
export const CommitRange = {
  /** Both the failing and the last revision proven healthy were resolved to commits. */
  Exact: 'exact',
  /** The failing and the previous revision were resolved, but nothing proved the previous one healthy. */
  PreviousRevision: 'previous-revision',
  /** The healthy revision is known, the failing one is not: the commits after it up to the incident. */
  HealthyOnly: 'healthy-only',
  /** The failing revision is known, the last healthy one is not: the commits just before it. */
  FailingOnly: 'failing-only',
  /** Neither: the newest commits before the incident was detected. */
  BeforeDetection: 'before-detection',
} as const;
export type CommitRange = (typeof CommitRange)[keyof typeof CommitRange];

export interface CommitScope {
  /** Glob patterns of the workload's manifests (`deploy/web/**`); empty when the repository maps no path. */
  readonly manifests: readonly string[];
  /** Glob patterns of the workload's chart (`charts/web/**`). */
  readonly chart: readonly string[];
  /** Files named in the incident's stack traces (see stackTraceFiles). */
  readonly traceFiles: readonly string[];
}

export interface RankInput {
  /** `namespace/name` of the SourceRepository. */
  readonly repository: string;
  /** Newest first, as `git log` lists them. */
  readonly commits: readonly CommitRecord[];
  readonly scope: CommitScope;
  readonly range: CommitRange;
  /** Suspects returned. Default 5 (what AnalysisCompleted holds). */
  readonly limit?: number;
}

const Weights = { trace: 0.55, manifests: 0.3, chart: 0.3, wholeRepository: 0.15, newest: 0.1 } as const;
/** How far the range's certainty bounds the confidence. */
const RangeFactor: Readonly<Record<CommitRange, number>> = {
  [CommitRange.Exact]: 1,
  [CommitRange.PreviousRevision]: 0.85,
  [CommitRange.HealthyOnly]: 0.7,
  [CommitRange.FailingOnly]: 0.7,
  [CommitRange.BeforeDetection]: 0.5,
};
const RangeReason: Readonly<Record<CommitRange, string | undefined>> = {
  [CommitRange.Exact]: undefined,
  [CommitRange.PreviousRevision]: 'since the previous revision, which nothing proved healthy',
  [CommitRange.HealthyOnly]:
    'the failing revision did not resolve to a commit: among the commits after the healthy one, up to the incident',
  [CommitRange.FailingOnly]: 'no healthy revision resolved to a commit: among the commits just before the failing one',
  [CommitRange.BeforeDetection]: 'no revision resolved to a commit: among the newest commits before the incident',
};
const MaxFiles = 64;
const MaxReasons = 8;

/**
 * `**` spans directories, `*` stays within one, a pattern ending in `/` is everything under it, and a pattern with
 * no wildcard is the file itself or everything under it as a directory.
 */
export function globMatches(pattern: string, path: string): boolean {
  const p = pattern.replace(/^\.?\//, '');
  if (!/[*?]/.test(p)) {
    const dir = p.endsWith('/') ? p : `${p}/`;
    return path === p || path.startsWith(dir);
  }
  let source = '';
  for (let i = 0; i < p.length; i++) {
    const c = p[i]!;
    if (c === '*' && p[i + 1] === '*') {
      // `**/` matches zero or more directories.
      if (p[i + 2] === '/') {
        source += '(?:.*/)?';
        i += 2;
      } else {
        source += '.*';
        i += 1;
      }
    } else if (c === '*') source += '[^/]*';
    else if (c === '?') source += '[^/]';
    else source += c.replace(/[.+^${}()|[\]\\]/g, '\\$&');
  }
  return new RegExp(`^${source}$`).test(path);
}

const pathsOf = (file: ChangedFile) => (file.from === undefined ? [file.path] : [file.path, file.from]);
const shortLine = (text: string | undefined) => (text ?? '').split('\n')[0]!.trim().slice(0, 200);

interface Scored {
  readonly commit: CommitRecord;
  readonly index: number;
  readonly score: number;
  readonly reasons: string[];
}

const scoreCommit = (commit: CommitRecord, index: number, count: number, input: RankInput): Scored => {
  const { scope } = input;
  const reasons: string[] = [];
  let score = 0;
  const files = commit.files;
  const traced = files.filter((f) => pathsOf(f).some((p) => scope.traceFiles.some((t) => matchesTraceFile(p, t))));
  if (traced.length > 0) {
    score += Weights.trace;
    const named = traced.slice(0, 3).map((f) => f.path);
    reasons.push(`changes ${named.join(', ')}, named in the incident's stack trace`);
  }
  const manifests = files.filter((f) => pathsOf(f).some((p) => scope.manifests.some((g) => globMatches(g, p))));
  if (manifests.length > 0) {
    score += Weights.manifests;
    reasons.push(`changes the workload's manifests (${manifests.length} file(s): ${manifests[0]!.path})`);
  }
  const chart = files.filter((f) => pathsOf(f).some((p) => scope.chart.some((g) => globMatches(g, p))));
  if (chart.length > 0) {
    score += Weights.chart;
    reasons.push(`changes the workload's chart (${chart.length} file(s): ${chart[0]!.path})`);
  }
  const mapped = scope.manifests.length + scope.chart.length > 0;
  if (!mapped && files.length > 0 && traced.length === 0) {
    score += Weights.wholeRepository;
    reasons.push('changes the repository the workload is built from (no path of it is mapped to the workload)');
  }
  const renames = files.filter((f) => f.change === FileChange.Renamed && f.from !== undefined);
  if (renames.length > 0 && score > 0) {
    reasons.push(`renames ${renames[0]!.from} to ${renames[0]!.path}`);
  }
  if (score > 0) {
    // The newer of two equally suspicious commits is the likelier: it is the one that shipped with the failure.
    score += count <= 1 ? Weights.newest : Weights.newest * (1 - index / (count - 1));
    if (index === 0) reasons.push('the newest of the commits examined');
  }
  if (commit.parents > 1) {
    // A merge's changes are usually the merged commits' own, which are ranked for themselves.
    score *= 0.5;
    reasons.push(`a merge of ${commit.parents} parents: its changes are counted against the first parent`);
  }
  if (files.length === 0 && commit.parents <= 1) reasons.push('changes no file');
  else if (score === 0) reasons.push('changes nothing of the workload, its chart or its stack traces');
  return { commit, index, score, reasons };
};

const round2 = (n: number) => Math.round(n * 100) / 100;

/**
 * The suspects, most likely first: only commits that touch something in scope (or, when the repository maps no
 * path to the workload, any commit that changes a file). Ties go to the newer commit. The confidence is the score
 * bounded by how the range was found.
 */
export function rankSuspectedCommits(input: RankInput): SuspectedCommit[] {
  const limit = input.limit ?? 5;
  const count = input.commits.length;
  const scored = input.commits
    .map((commit, index) => scoreCommit(commit, index, count, input))
    .filter((s) => s.score > 0)
    .sort((a, b) => b.score - a.score || a.index - b.index);
  const factor = RangeFactor[input.range];
  const rangeReason = RangeReason[input.range];
  return scored.slice(0, limit).map((s) => {
    const c = s.commit;
    const message = shortLine(c.message);
    return {
      repository: input.repository,
      sha: c.sha,
      ...(c.author ? { author: c.author.slice(0, 253) } : {}),
      ...(message ? { message } : {}),
      ...(c.at ? { at: c.at } : {}),
      confidence: round2(Math.min(1, s.score) * factor),
      filesChanged: c.files.slice(0, MaxFiles).map((f) => f.path.slice(0, 1024)),
      reasons: [...s.reasons, ...(rangeReason ? [rangeReason] : [])].slice(0, MaxReasons).map((r) => r.slice(0, 500)),
    };
  });
}

/** Suspects of several repositories (a workload built from more than one), most likely first, at most `limit`. */
export function mergeSuspects(lists: readonly (readonly SuspectedCommit[])[], limit = 5): SuspectedCommit[] {
  return lists
    .flat()
    .map((s, order) => ({ s, order }))
    .sort((a, b) => b.s.confidence - a.s.confidence || a.order - b.order)
    .slice(0, limit)
    .map(({ s }) => s);
}
