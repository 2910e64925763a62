import type { RecordedEvent } from '../../../domain/messages.ts';

/**
 * One line of plain language per event that matters to someone watching an incident unfold: what Cairn saw,
 * what it concluded, what it did, and how it ended. Everything else stays in the log, and `cairn replay` shows it.
 */
export function narrate(event: RecordedEvent): string | undefined {
  const d = event.data as Record<string, unknown>;
  const workload = (w: unknown) => {
    const r = w as { kind: string; name: string; namespace: string };
    return `${r.kind.toLowerCase()}/${r.name}${r.namespace ? ` in ${r.namespace}` : ''}`;
  };
  switch (event.type) {
    case 'AnomalyDetected':
      return `detected    ${d.signal} on ${workload(d.workload)}: ${d.message}`;
    case 'IssueDetected':
      return `incident    opened for ${workload(d.workload)}: ${d.severity}, risk ${d.riskScore}`;
    case 'IssueAnomalyAttached':
      return `correlated  ${d.signal} joined the incident: now ${d.severity}, risk ${d.riskScore}`;
    case 'AnalysisRequested':
    case 'ReanalysisRequested':
      return `analysing   attempt ${d.attempt}${event.type === 'ReanalysisRequested' ? ', with the evidence of the failed attempt' : ''}`;
    case 'AnalysisCompleted': {
      const actions = (d.suggestedActions as { type: string }[]).map((a) => a.type).join(', ') || 'no action';
      return `analysed    ${String(d.analysis).split('\n')[0]} (confidence ${d.confidence}, ${d.provider}) -> ${actions}`;
    }
    case 'RemediationPlanCreated':
      return `plan        ${(d.actions as { type: string; params: Record<string, string> }[])
        .map(
          (a) =>
            `${a.type}(${Object.entries(a.params)
              .map(([k, v]) => `${k}=${v}`)
              .join(', ')})`,
        )
        .join(', ')}`;
    case 'SnapshotTaken':
      return `snapshot    ${workload(d.target)} saved before any change`;
    case 'ActionStarted':
      return `action      ${d.type} started`;
    case 'ActionSucceeded':
      return `action      ${d.type} done: ${d.result}`;
    case 'ActionFailed':
      return `action      ${d.type} FAILED: ${d.error}`;
    case 'ActionRefusedByPolicy':
      return `refused     ${d.type} by policy ${d.policy}: ${d.reason}`;
    case 'VerificationStarted':
      return `verifying   until ${d.deadline}`;
    case 'VerificationPassed':
      return `verified    ${d.detail}`;
    case 'VerificationFailed':
      return `unverified  ${d.reason}`;
    case 'RollbackCompleted':
      return `rolled back ${d.detail}`;
    case 'IssueResolved':
      return `RESOLVED    after ${d.attempts} attempt(s) in ${Math.round(Number(d.durationSeconds))} s`;
    case 'IssueEscalated':
      return `ESCALATED   ${d.reason}: ${d.detail ?? ''}`;
    default:
      return undefined;
  }
}
