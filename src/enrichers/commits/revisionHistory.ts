import type { RevisionVerdict } from '../../../domain/events/revision.events.ts';
import type { TemplateLike } from './revisionRefs.ts';

/**
 * A workload's rollout history as the commits enricher compares it: ReplicaSets for a Deployment, ControllerRevisions
 * for a StatefulSet or a DaemonSet. Each revision is keyed as the revision ledger keys its verdicts (the
 * `pod-template-hash` of a ReplicaSet, the name of a ControllerRevision). Pure.
 */
export interface WorkloadRevision {
  /** The key of the revision's verdicts in the revision ledger. */
  readonly key: string;
  /** The controller's revision number: higher is newer. */
  readonly number: number;
  readonly template: TemplateLike;
}

export interface RevisionCandidates {
  /** The key of the failing revision (the one the controller rolls out now), when the history has it. */
  readonly failing?: string;
  /** Older revisions the ledger proved healthy, newest first: the healthy boundary is looked for here first. */
  readonly proven: readonly WorkloadRevision[];
  /** Every older revision not judged bad, newest first: the fallback when none proven resolves to a commit. */
  readonly previous: readonly WorkloadRevision[];
}

/**
 * Which older revisions may be the last healthy one. The failing revision is `current` when the controller names it
 * (a StatefulSet's `status.updateRevision`), else the newest. A revision the ledger judged bad (one rolled back away
 * from) is never a healthy boundary, proven or not.
 */
export function revisionCandidates(
  revisions: readonly WorkloadRevision[],
  verdicts: Readonly<Record<string, RevisionVerdict>>,
  current?: string,
): RevisionCandidates {
  const newestFirst = [...revisions].sort((a, b) => b.number - a.number);
  const failing = current !== undefined && newestFirst.some((r) => r.key === current) ? current : newestFirst[0]?.key;
  const failingNumber = newestFirst.find((r) => r.key === failing)?.number ?? Number.POSITIVE_INFINITY;
  // Older than the failing one: a revision newer than it (a rollout the controller has not started) is not history.
  const older = newestFirst.filter((r) => r.key !== failing && r.number < failingNumber && verdicts[r.key] !== 'bad');
  return {
    ...(failing !== undefined ? { failing } : {}),
    proven: older.filter((r) => verdicts[r.key] === 'healthy'),
    previous: older,
  };
}
