import type { ActionSpec } from '../events/common.schema.ts';
import { RemediationStatus } from '../events/remediation.events.ts';
import { epochMs } from '../time.ts';
import { budgetExhaustion, inFlightAction, nextAction, type RemediationState } from './remediation.decider.ts';

/**
 * What the executor should do next, read from the state alone. This is what makes a restart safe: the executor
 * never remembers where it was, it asks. An action that started but has no recorded outcome comes back as
 * `reconcile-action` (look at the cluster, then record success or failure), never as `start-action`.
 */
export type RemediationNextStep =
  | { readonly kind: 'request-approval' }
  | { readonly kind: 'await-approval'; readonly expiresAt: string }
  /** Approved or needing no approval, the plan waits for its change window; the window sweeper opens it. */
  | { readonly kind: 'await-window'; readonly opensAt: string }
  | { readonly kind: 'expire-approval'; readonly requestId: string }
  | { readonly kind: 'start-snapshot' }
  | { readonly kind: 'take-snapshot'; readonly snapshotId: string }
  | { readonly kind: 'reconcile-action'; readonly action: ActionSpec }
  | { readonly kind: 'start-action'; readonly action: ActionSpec }
  | { readonly kind: 'decide-agentic-step'; readonly step: number }
  | { readonly kind: 'observe-agentic-step'; readonly step: number }
  | { readonly kind: 'stop-agentic-loop' }
  | { readonly kind: 'start-verification' }
  | { readonly kind: 'verify'; readonly deadline: string }
  | { readonly kind: 'fail-verification' }
  | { readonly kind: 'roll-back'; readonly snapshotId: string }
  | { readonly kind: 'none' };

export const nextStep = (state: RemediationState, at: string): RemediationNextStep => {
  const now = epochMs(at);
  switch (state.status) {
    case RemediationStatus.Pending:
      if (state.approval.required && !state.approval.granted) return { kind: 'request-approval' };
      if (state.window !== null && !state.window.opened) return { kind: 'await-window', opensAt: state.window.opensAt };
      return { kind: 'start-snapshot' };
    case RemediationStatus.WaitingApproval: {
      const expiresAt = state.approval.expiresAt ?? at;
      return now >= epochMs(expiresAt)
        ? { kind: 'expire-approval', requestId: state.approval.requestId ?? '' }
        : { kind: 'await-approval', expiresAt };
    }
    case RemediationStatus.Snapshotting:
      return { kind: 'take-snapshot', snapshotId: state.snapshotId ?? '' };
    case RemediationStatus.Executing:
      return executing(state, now);
    case RemediationStatus.Verifying: {
      const deadline = state.verificationDeadline ?? at;
      return now >= epochMs(deadline) ? { kind: 'fail-verification' } : { kind: 'verify', deadline };
    }
    case RemediationStatus.RollingBack:
      return { kind: 'roll-back', snapshotId: state.snapshotId ?? '' };
    default:
      return { kind: 'none' };
  }
};

const executing = (state: RemediationState, now: number): RemediationNextStep => {
  const inFlight = inFlightAction(state);
  if (inFlight !== null) return { kind: 'reconcile-action', action: inFlight };
  const action = nextAction(state);
  if (action !== null) return { kind: 'start-action', action };
  if (state.agentic === null) return { kind: 'start-verification' };

  const last = state.agentic.steps.at(-1);
  if (last?.resolved) return { kind: 'start-verification' };
  if (last !== undefined && !last.observed) return { kind: 'observe-agentic-step', step: last.step };
  if (budgetExhaustion(state, state.agentic, now) !== null) return { kind: 'stop-agentic-loop' };
  return { kind: 'decide-agentic-step', step: state.agentic.steps.length + 1 };
};
