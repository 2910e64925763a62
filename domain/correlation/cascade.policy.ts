import type { ResourceRef } from '../events/common.schema.ts';
import type { CascadeMember } from '../events/correlation.events.ts';
import { epochMs } from '../time.ts';
import { workloadKey } from './workload.resolver.ts';

/** Issues detected further apart than this are treated as separate incidents even on dependent services. */
export const CASCADE_WINDOW_MINUTES = 15;

/** `from` calls `to` (from Services and EndpointSlices); direction does not matter for grouping. */
export interface ServiceDependency {
  readonly from: ResourceRef;
  readonly to: ResourceRef;
}

/**
 * The cascade `anchor` belongs to: the open Issues within the time window of it that are linked to it through
 * dependencies between affected workloads, ordered by detection time, so the first is the suspected root cause.
 * Only affected workloads relay: two failing services that merely share a healthy neighbour are not a cascade.
 * Null when the anchor stands alone.
 */
export const findCascade = (
  anchor: CascadeMember,
  openIssues: readonly CascadeMember[],
  dependencies: readonly ServiceDependency[],
  windowMinutes: number = CASCADE_WINDOW_MINUTES,
): readonly CascadeMember[] | null => {
  const anchorAt = epochMs(anchor.detectedAt);
  const windowMs = windowMinutes * 60_000;
  const inWindow = [
    anchor,
    ...openIssues.filter(
      (issue) => issue.issueId !== anchor.issueId && Math.abs(epochMs(issue.detectedAt) - anchorAt) <= windowMs,
    ),
  ];

  const neighbours = new Map<string, Set<string>>();
  const link = (a: string, b: string) => neighbours.set(a, (neighbours.get(a) ?? new Set()).add(b));
  for (const { from, to } of dependencies) {
    link(workloadKey(from), workloadKey(to));
    link(workloadKey(to), workloadKey(from));
  }

  const affected = new Set(inWindow.map((issue) => workloadKey(issue.workload)));
  const reached = new Set([workloadKey(anchor.workload)]);
  const queue = [workloadKey(anchor.workload)];
  for (let key = queue.shift(); key !== undefined; key = queue.shift()) {
    for (const next of neighbours.get(key) ?? []) {
      if (affected.has(next) && !reached.has(next)) {
        reached.add(next);
        queue.push(next);
      }
    }
  }

  const chain = inWindow
    .filter((issue) => reached.has(workloadKey(issue.workload)))
    .sort((a, b) => epochMs(a.detectedAt) - epochMs(b.detectedAt) || a.issueId.localeCompare(b.issueId));
  return chain.length >= 2 ? chain : null;
};
