import { riskScore, severityFor } from '../../../domain/correlation/risk.policy.ts';
import type { AnomalyReport } from '../../application/detection/anomalyRecorder.ts';
import type { WireAlertInfo } from './aiops.proto.ts';

/** What a `cairn server` answers to GetAlerts. */
export interface AlertSource {
  list(namespace: string): readonly WireAlertInfo[];
}

/** The reference protocol's alert names, for clients that know only those; other signals keep Cairn's name. */
export const AlertTypeBySignal: Readonly<Record<string, string>> = {
  oom_kill: 'OOMKilled',
  pod_restart: 'HighRestartCount',
  crashloop: 'HighRestartCount',
  pod_not_ready: 'PodNotReady',
  deploy_failing: 'DeploymentFailing',
};

export const alertOfReport = (report: AnomalyReport): WireAlertInfo => ({
  alertType: AlertTypeBySignal[report.signal] ?? report.signal,
  deployment: report.workload.kind === 'Deployment' ? report.workload.name : '',
  namespace: report.workload.namespace,
  message: report.message,
  severity: severityFor(riskScore([report.signal])),
  timestamp: Math.floor(Date.parse(report.observedAt) / 1000),
  resourceKind: report.workload.kind,
  resourceName: report.workload.name,
  signal: report.signal,
});

/**
 * The alerts a server's own watchers raised, one per signal and workload (the latest report wins), kept for
 * `ttlMs` after they were last reported: watchers report a fault when it appears, not when it clears.
 */
export function createAlertBuffer(options: { readonly ttlMs: number; readonly now?: () => number }) {
  const now = options.now ?? Date.now;
  const alerts = new Map<string, { alert: WireAlertInfo; seenAt: number }>();
  return {
    record(report: AnomalyReport): void {
      const w = report.workload;
      alerts.set(`${report.signal}|${w.kind}|${w.namespace}|${w.name}`, {
        alert: alertOfReport(report),
        seenAt: now(),
      });
    },
    list(namespace: string): readonly WireAlertInfo[] {
      const cutoff = now() - options.ttlMs;
      for (const [key, entry] of alerts) if (entry.seenAt < cutoff) alerts.delete(key);
      return [...alerts.values()]
        .map((entry) => entry.alert)
        .filter((alert) => namespace === '' || alert.namespace === namespace);
    },
  };
}
