import type { ResourceRef } from '../events/common.schema.ts';
import type { CascadeMember } from '../events/correlation.events.ts';
import { epochMs } from '../time.ts';
import { workloadKey } from './workload.resolver.ts';

/** Issues detected further apart than this are treated as separate incidents even on dependent services. */
export const CASCADE_WINDOW_MINUTES = 15;

/** `from` calls `to` (from Services, EndpointSlices, env, ConfigMaps, Ingresses, annotations). */
export interface ServiceDependency {
  readonly from: ResourceRef;
  readonly to: ResourceRef;
}

const byDetection = (a: CascadeMember, b: CascadeMember) =>
  epochMs(a.detectedAt) - epochMs(b.detectedAt) || a.issueId.localeCompare(b.issueId);

/**
 * The cascade `anchor` belongs to: the open Issues within the time window of it that are linked to it through
 * dependencies between affected workloads. Only affected workloads relay: two failing services that merely share a
 * healthy neighbour are not a cascade. The chain starts with the root, the most upstream member: one that depends on
 * no other member, and that most members depend on (see `orderCascade`). Null when the anchor stands alone.
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

  const members = inWindow.filter((issue) => reached.has(workloadKey(issue.workload)));
  return members.length >= 2 ? orderCascade(members, dependencies) : null;
};

/**
 * Orders linked Issues root first. Direction decides: following dependencies only through members, the root is a
 * member that reaches no member outside its own cycle (nothing failing further upstream), and of those the one most
 * members reach; detection time breaks ties, and decides inside a cycle. The rest follow by how close they are to
 * the root (its direct callers first), then by detection time; members that do not reach the root come last.
 */
export const orderCascade = (
  members: readonly CascadeMember[],
  dependencies: readonly ServiceDependency[],
): CascadeMember[] => {
  const keys = new Set(members.map((member) => workloadKey(member.workload)));
  const calls = new Map<string, Set<string>>();
  const calledBy = new Map<string, Set<string>>();
  for (const { from, to } of dependencies) {
    const [a, b] = [workloadKey(from), workloadKey(to)];
    if (a === b || !keys.has(a) || !keys.has(b)) continue;
    calls.set(a, (calls.get(a) ?? new Set()).add(b));
    calledBy.set(b, (calledBy.get(b) ?? new Set()).add(a));
  }
  const reach = (start: string, next: Map<string, Set<string>>): Map<string, number> => {
    const distance = new Map([[start, 0]]);
    const queue = [start];
    for (let key = queue.shift(); key !== undefined; key = queue.shift()) {
      for (const to of next.get(key) ?? []) {
        if (distance.has(to)) continue;
        distance.set(to, distance.get(key)! + 1);
        queue.push(to);
      }
    }
    return distance;
  };
  const upstream = new Map([...keys].map((key) => [key, reach(key, calls)]));
  const downstream = new Map([...keys].map((key) => [key, reach(key, calledBy)]));
  // Upstream-most: everything it depends on also depends on it (none, or its own cycle).
  const isTop = (key: string) => [...upstream.get(key)!.keys()].every((other) => upstream.get(other)!.has(key));
  const earliest = [...members].sort(byDetection);
  const root = earliest
    .filter((member) => isTop(workloadKey(member.workload)))
    .sort((a, b) => downstream.get(workloadKey(b.workload))!.size - downstream.get(workloadKey(a.workload))!.size)[0]!;
  const fromRoot = downstream.get(workloadKey(root.workload))!;
  const rest = earliest
    .filter((member) => member.issueId !== root.issueId)
    .map((member) => ({ member, distance: fromRoot.get(workloadKey(member.workload)) ?? Number.POSITIVE_INFINITY }))
    .sort((a, b) => a.distance - b.distance || byDetection(a.member, b.member))
    .map(({ member }) => member);
  return [root, ...rest];
};
