import type { EscalationState } from '../../domain/escalation/escalation.decider.ts';
import { issueName } from '../../projections/kubernetesResources.projection.ts';
import type { EscalationPolicyStatus } from '../adapters/kubernetes/api/escalationPolicy.kind.ts';

export const MAX_ACTIVE_LISTED = 100;

type Active = NonNullable<EscalationPolicyStatus['active']>[number];

/**
 * What an EscalationPolicy's status says of its escalations, from their folded streams: how many it started, and
 * those still running (oldest first, at most 100), each with its current level and when the next one is due. Pure.
 */
export function escalationsOfPolicy(
  states: Iterable<EscalationState>,
  namespace: string,
  name: string,
  /** Escalations of the policy that ended and are no longer among `states`. */
  ended = 0,
): { totalEscalations: number; active: Active[] } {
  let total = ended;
  const running: EscalationState[] = [];
  for (const state of states) {
    if (state.policy?.namespace !== namespace || state.policy.name !== name) continue;
    total += 1;
    if (state.status === 'none' || state.status === 'resolved') continue;
    running.push(state);
  }
  running.sort((a, b) => (a.startedAt ?? '').localeCompare(b.startedAt ?? '') || a.issueId.localeCompare(b.issueId));
  const active = running.slice(0, MAX_ACTIVE_LISTED).flatMap((s): Active[] => {
    if (s.issue === null || s.levelSince === null || s.level < 1) return [];
    return [
      {
        issue: issueName(s.issueId, s.issue.workload),
        issueId: s.issueId,
        level: s.level,
        levelName: s.levels[s.level - 1]?.name ?? String(s.level),
        state: s.status as Active['state'],
        since: s.levelSince,
        ...(s.deadline === null ? {} : { nextDeadline: s.deadline }),
        ...(s.acknowledgedBy === null ? {} : { acknowledgedBy: s.acknowledgedBy.slice(0, 253) }),
      },
    ];
  });
  return { totalEscalations: total, active };
}
