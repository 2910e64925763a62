import type { AnomalyDetectedData } from '../domain/events/anomaly.events.ts';
import type { ResourceRef } from '../domain/events/common.schema.ts';
import { IssueStatus } from '../domain/events/issue.events.ts';
import type { IssueState } from '../domain/issue/issue.decider.ts';

/**
 * How the event log appears as Cairn's custom resources. Pure: the reactor that writes them to the API server
 * renders with these, so `kubectl get anomalies,issues` shows exactly what the events say, and writing the same
 * document twice changes nothing.
 */
export const ApiVersion = 'aiops.cairn.dev/v1alpha1';
export const Labels = {
  issueId: 'aiops.cairn.dev/issue-id',
  anomalyId: 'aiops.cairn.dev/anomaly-id',
  signal: 'aiops.cairn.dev/signal',
  managedBy: 'app.kubernetes.io/managed-by',
} as const;

/** A DNS-1123 label built from readable parts, cut to fit and kept unique by the id at its end. */
export const objectName = (parts: readonly string[], id: string): string => {
  const clean = (s: string) =>
    s
      .toLowerCase()
      .replace(/[^a-z0-9-]+/g, '-')
      .replace(/^-+|-+$/g, '');
  const suffix = clean(id).slice(0, 10);
  const stem = clean(parts.map(clean).filter(Boolean).join('-'))
    .slice(0, 62 - suffix.length)
    .replace(/-+$/, '');
  return stem ? `${stem}-${suffix}` : suffix;
};

/** Cluster-scoped workloads (Nodes) have no namespace of their own; their resources go to Cairn's. */
export const namespaceFor = (workload: ResourceRef, fallback: string): string => workload.namespace || fallback;

export const anomalyName = (d: Pick<AnomalyDetectedData, 'workload' | 'signal' | 'anomalyId'>) =>
  objectName([d.workload.name, d.signal.replaceAll('_', '-')], d.anomalyId);

export const issueName = (issueId: string, workload: ResourceRef) => objectName([workload.name], issueId);

const ref = (r: ResourceRef) => ({ kind: r.kind, name: r.name, ...(r.namespace ? { namespace: r.namespace } : {}) });

export function anomalyResource(d: AnomalyDetectedData, fallbackNamespace: string) {
  return {
    apiVersion: ApiVersion,
    kind: 'Anomaly',
    metadata: {
      name: anomalyName(d),
      namespace: namespaceFor(d.workload, fallbackNamespace),
      labels: { [Labels.anomalyId]: d.anomalyId, [Labels.signal]: d.signal, [Labels.managedBy]: 'cairn' },
    },
    spec: {
      signal: d.signal,
      source: d.source,
      resource: ref(d.resource),
      message: d.message,
      observedAt: d.observedAt,
      ...(d.labels && Object.keys(d.labels).length > 0 ? { labels: d.labels } : {}),
    },
  };
}

export function anomalyStatus(d: AnomalyDetectedData, correlatedAt: string, issue?: { issueId: string }) {
  return {
    correlated: issue !== undefined,
    ...(issue ? { issueRef: { name: issueName(issue.issueId, d.workload) } } : {}),
    dedupKey: d.dedupKey,
    firstSeenAt: d.observedAt,
    conditions: [
      {
        type: 'Correlated',
        status: issue ? 'True' : 'False',
        reason: issue ? 'JoinedIssue' : 'Pending',
        message: issue ? `correlated into Issue ${issueName(issue.issueId, d.workload)}` : 'waiting for correlation',
        lastTransitionTime: correlatedAt,
      },
    ],
  };
}

const STATE_REASON: Record<string, string> = {
  [IssueStatus.Detected]: 'Detected',
  [IssueStatus.Analyzing]: 'Analyzing',
  [IssueStatus.Remediating]: 'Remediating',
  [IssueStatus.Resolved]: 'Resolved',
  [IssueStatus.Escalated]: 'Escalated',
};

export function issueResource(state: IssueState, anomalyNames: readonly string[], fallbackNamespace: string) {
  const workload = state.workload!;
  return {
    apiVersion: ApiVersion,
    kind: 'Issue',
    metadata: {
      name: issueName(state.issueId, workload),
      namespace: namespaceFor(workload, fallbackNamespace),
      labels: { [Labels.issueId]: state.issueId, [Labels.signal]: state.signal, [Labels.managedBy]: 'cairn' },
    },
    spec: {
      resource: ref(workload),
      signal: state.signal,
      signals: [...state.signals],
      source: state.source ?? 'watcher',
      severity: state.severity,
      riskScore: state.riskScore,
      anomalies: [...anomalyNames],
    },
  };
}

/** `changedAt` is when the Issue last changed state: the time of the event that moved it. */
export function issueStatus(state: IssueState, changedAt: string) {
  const open = state.status !== IssueStatus.Resolved && state.status !== IssueStatus.Escalated;
  return {
    state: state.status,
    acknowledged: state.acknowledgedBy !== null,
    ...(state.acknowledgedBy ? { acknowledgedBy: state.acknowledgedBy } : {}),
    snoozedUntil: state.snoozedUntil,
    attempts: state.attempts,
    maxAttempts: state.maxAttempts,
    ...(state.detectedAt ? { detectedAt: state.detectedAt } : {}),
    ...(state.status === IssueStatus.Resolved && state.endedAt ? { resolvedAt: state.endedAt } : {}),
    ...(state.status === IssueStatus.Escalated && state.endedAt ? { escalatedAt: state.endedAt } : {}),
    conditions: [
      {
        type: 'Open',
        status: open ? 'True' : 'False',
        reason: STATE_REASON[state.status] ?? 'Unknown',
        message: open
          ? `${state.severity} incident on ${state.workload?.kind}/${state.workload?.name} (risk ${state.riskScore})`
          : `ended ${state.status.toLowerCase()}`,
        lastTransitionTime: changedAt,
      },
    ],
  };
}
