import type { ResourceRef } from '../../../domain/events/common.schema.ts';
import type { AnomalyIntake } from '../../application/detection/anomalyIntake.ts';
import { sha256Hex } from '../../application/detection/anomalyRecorder.ts';
import type { WorkloadLookup } from '../../ports/workloadLookup.ts';
import { signalOfAlert } from '../http/alertMapping.ts';
import { type SignalType, signalTypes } from '../kubernetes/api/signalTypes.ts';
import { isWaitingForServer } from './aiops.client.ts';
import type { WireAlertInfo } from './aiops.proto.ts';
import { AlertTypeBySignal } from './alertBuffer.ts';

/** The reference protocol's alert names, read back into Cairn's signals. */
const SignalByAlertType: Readonly<Record<string, SignalType>> = {
  OOMKilled: 'oom_kill',
  HighRestartCount: 'pod_restart',
  PodNotReady: 'pod_not_ready',
  DeploymentFailing: 'deploy_failing',
};

const isSignalType = (value: string): value is SignalType => (signalTypes as readonly string[]).includes(value);

export type AlertIntakePlan =
  | { readonly action: 'skip'; readonly reason: string }
  | {
      readonly action: 'record';
      readonly signal: SignalType;
      readonly resource: ResourceRef;
      readonly anomalyId: string;
      readonly message: string;
      readonly observedAt: string;
      readonly labels: Record<string, string>;
    };

/**
 * How an AI server's alert becomes an anomaly report. The same alert, polled again, gets the same id, so the
 * correlation stream recognises it instead of counting it twice; a new alert about the same fault is deduplicated
 * there like any other source's.
 */
export function planServerAlert(alert: WireAlertInfo, server: string, now: Date): AlertIntakePlan {
  const name = alert.resourceName || alert.deployment;
  if (!name) return { action: 'skip', reason: `${alert.alertType || 'alert'} names no workload` };
  const kind = alert.resourceKind || 'Deployment';
  if (kind !== 'Node' && !alert.namespace) return { action: 'skip', reason: `${kind} ${name} has no namespace` };
  const signal = isSignalType(alert.signal)
    ? alert.signal
    : (SignalByAlertType[alert.alertType] ??
      (() => {
        const choice = signalOfAlert({ alertname: alert.alertType });
        return choice.ok ? choice.signal : 'custom';
      })());
  const resource = { kind, name, namespace: kind === 'Node' ? '' : alert.namespace };
  const observedAt = alert.timestamp > 0 ? new Date(alert.timestamp * 1000) : now;
  const alertName = alert.alertType || AlertTypeBySignal[signal] || signal;
  return {
    action: 'record',
    signal,
    resource,
    anomalyId: `grpc-${sha256Hex(`${server}|${signal}|${kind}|${resource.namespace}|${name}|${alert.timestamp}`).slice(0, 32)}`,
    message: alert.message
      ? `${alertName}: ${alert.message}`.slice(0, 2_000)
      : `${alertName} reported by the AI server`,
    observedAt: Number.isNaN(observedAt.getTime()) ? now.toISOString() : observedAt.toISOString(),
    labels: {
      alertname: alertName.slice(0, 1_024),
      ...(alert.severity ? { severity: alert.severity.slice(0, 1_024) } : {}),
      ai_server: server.slice(0, 1_024),
    },
  };
}

export interface AlertPollerDeps {
  readonly getAlerts: (namespace: string) => Promise<readonly WireAlertInfo[]>;
  readonly server: string;
  readonly intake: AnomalyIntake;
  readonly workloads: WorkloadLookup;
  /** Only these namespaces' alerts (cluster-scoped ones always); every namespace when absent. */
  readonly namespaces?: readonly string[];
  readonly intervalMs: number;
  readonly now?: () => Date;
  readonly log?: (line: string) => void;
}

export interface PollSummary {
  readonly recorded: number;
  readonly repeated: number;
  readonly deduplicated: number;
  readonly skipped: number;
}

/** One poll: every alert is recorded through the anomaly intake with source `grpc`, or skipped with a reason. */
export async function pollServerAlerts(deps: Omit<AlertPollerDeps, 'intervalMs'>): Promise<PollSummary> {
  const now = deps.now ?? (() => new Date());
  const log = deps.log ?? (() => {});
  const only = deps.namespaces?.length === 1 ? deps.namespaces[0]! : '';
  const alerts = await deps.getAlerts(only);
  const summary = { recorded: 0, repeated: 0, deduplicated: 0, skipped: 0 };
  for (const alert of alerts) {
    if (deps.namespaces && alert.namespace && !deps.namespaces.includes(alert.namespace)) continue;
    const plan = planServerAlert(alert, deps.server, now());
    if (plan.action === 'skip') {
      summary.skipped++;
      log(`AI server alert skipped: ${plan.reason}`);
      continue;
    }
    const target = await deps.workloads.resolve(plan.resource);
    if (!target.ok) {
      summary.skipped++;
      log(`AI server alert skipped: ${target.message}`);
      continue;
    }
    const outcome = await deps.intake({
      anomalyId: plan.anomalyId,
      signal: plan.signal,
      source: 'grpc',
      resource: target.resource,
      workload: target.workload,
      message: plan.message,
      observedAt: plan.observedAt,
      labels: plan.labels,
    });
    if (outcome.repeated) summary.repeated++;
    else if (outcome.status === 'recorded') summary.recorded++;
    else summary.deduplicated++;
  }
  return summary;
}

/** Polls every `intervalMs` until stopped; a server that cannot be reached is left to the health state to report. */
export function startAlertPoller(deps: AlertPollerDeps): { stop(): Promise<void> } {
  const log = deps.log ?? (() => {});
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<unknown> = Promise.resolve();
  const tick = () => {
    running = pollServerAlerts(deps)
      .catch((error) => {
        if (!isWaitingForServer(error))
          log(`error: polling the AI server's alerts: ${error instanceof Error ? error.message : String(error)}`);
      })
      .finally(() => {
        if (!stopped) timer = setTimeout(tick, deps.intervalMs);
      });
  };
  tick();
  return {
    stop: async () => {
      stopped = true;
      clearTimeout(timer);
      await running;
    },
  };
}
