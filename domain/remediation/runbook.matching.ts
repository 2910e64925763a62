import type { ActionCall } from '../events/common.schema.ts';
import { actionFingerprint } from './action.fingerprint.ts';

/** A Runbook as matching sees it: its trigger and its steps, nothing of where it is stored. */
export interface RunbookCandidate {
  readonly name: string;
  readonly trigger: { readonly severity: string; readonly signal?: string; readonly resourceKind?: string };
  readonly steps: readonly (ActionCall & { readonly name: string; readonly description?: string })[];
}

export interface RunbookQuery {
  readonly signal: string;
  readonly severity: string;
  readonly kind: string;
  /** Fingerprints of actions that already failed on the Issue: a runbook that would repeat one is passed over. */
  readonly doNotRepeat: readonly string[];
}

/**
 * Tier 1 matches signal, severity and kind; tier 2 (no signal named) matches severity and kind, or severity alone
 * when the runbook names no kind. The most specific tier wins, then the name, so the choice is deterministic.
 */
export function matchRunbook(runbooks: readonly RunbookCandidate[], query: RunbookQuery): RunbookCandidate | undefined {
  const usable = runbooks.filter(
    (r) =>
      r.trigger.severity === query.severity && !r.steps.some((s) => query.doNotRepeat.includes(actionFingerprint(s))),
  );
  const byName = (a: RunbookCandidate, b: RunbookCandidate) => a.name.localeCompare(b.name);
  const tier1 = usable.filter((r) => r.trigger.signal === query.signal && r.trigger.resourceKind === query.kind);
  const tier2 = usable.filter((r) => r.trigger.signal === undefined && r.trigger.resourceKind === query.kind);
  const anyKind = usable.filter((r) => r.trigger.signal === undefined && r.trigger.resourceKind === undefined);
  return [tier1, tier2, anyKind].map((tier) => [...tier].sort(byName)[0]).find((r) => r !== undefined);
}
